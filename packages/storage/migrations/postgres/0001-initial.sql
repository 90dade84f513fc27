-- Tributary metadata store, PostgreSQL schema version 1 (docs/FORMATS.md, "PostgreSQL metadata
-- store"). Applied once, in one transaction, by PostgresMetadataStore when it opens; never edit
-- a migration that has shipped: add the next numbered file instead.

-- The cluster's identity: at most one row.
CREATE TABLE cluster (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  cluster_id text NOT NULL,
  node_id integer NOT NULL
);

-- The next producer id never handed out; one row, advanced by one UPDATE per block.
CREATE TABLE producer_ids (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  next_producer_id bigint NOT NULL CHECK (next_producer_id >= 0)
);
INSERT INTO producer_ids (next_producer_id) VALUES (0);

-- Topics by name; configs holds only explicit overrides, Kafka config name to text value.
CREATE TABLE topics (
  name text PRIMARY KEY,
  topic_id text NOT NULL UNIQUE,
  partition_count integer NOT NULL CHECK (partition_count >= 0),
  configs jsonb NOT NULL
);

CREATE TABLE partitions (
  topic_id text NOT NULL REFERENCES topics (topic_id) ON DELETE CASCADE,
  partition integer NOT NULL CHECK (partition >= 0),
  log_start_offset bigint NOT NULL,
  PRIMARY KEY (topic_id, partition)
);

-- Objects in the object store that hold log data; an object not listed here is garbage.
CREATE TABLE objects (
  name text PRIMARY KEY,
  segment_id bigint NOT NULL,
  size_bytes bigint NOT NULL
);
CREATE INDEX objects_by_segment ON objects (segment_id, name);

-- One partition's offsets inside an object; ordinal keeps the object's order of ranges.
-- No reference to partitions: an object's index outlives a deleted topic until cleanup.
CREATE TABLE object_ranges (
  object_name text NOT NULL REFERENCES objects (name) ON DELETE CASCADE,
  ordinal integer NOT NULL,
  topic_id text NOT NULL,
  partition integer NOT NULL,
  base_offset bigint NOT NULL,
  last_offset bigint NOT NULL,
  position bigint NOT NULL,
  size_bytes bigint NOT NULL,
  max_timestamp bigint NOT NULL,
  PRIMARY KEY (object_name, ordinal)
);
CREATE INDEX object_ranges_by_partition ON object_ranges (topic_id, partition, base_offset);

-- ACL bindings as Kafka's codes; a binding is its seven fields, stored once.
CREATE TABLE acls (
  resource_type integer NOT NULL,
  resource_name text NOT NULL,
  pattern_type integer NOT NULL,
  principal text NOT NULL,
  host text NOT NULL,
  operation integer NOT NULL,
  permission_type integer NOT NULL,
  PRIMARY KEY (resource_type, resource_name, pattern_type, principal, host, operation,
    permission_type)
);

-- SCRAM credentials (RFC 5802 StoredKey and ServerKey, never a password), by user and mechanism.
CREATE TABLE scram_credentials (
  user_name text NOT NULL,
  mechanism integer NOT NULL,
  salt bytea NOT NULL,
  stored_key bytea NOT NULL,
  server_key bytea NOT NULL,
  iterations integer NOT NULL,
  PRIMARY KEY (user_name, mechanism)
);

-- Dynamic broker settings: scope '' is the cluster-wide default, any other scope a node id.
CREATE TABLE broker_configs (
  scope text PRIMARY KEY,
  configs jsonb NOT NULL
);
