-- Tributary metadata store, PostgreSQL schema version 2: cluster mode (docs/FORMATS.md, section
-- 6a, "Cluster tables"). The ClusterCatalog (storage/src/cluster/postgres-cluster-catalog.ts)
-- reads and writes these; every lease or heartbeat comparison uses the database's now().

-- Brokers of the cluster by node id. A broker counts as alive while `alive` and its heartbeat is
-- younger than the lease the reader passes; incarnation (a uuid per process start) tells two
-- processes claiming one node id apart.
CREATE TABLE cluster_brokers (
  node_id integer PRIMARY KEY CHECK (node_id >= 0),
  rack text,
  host text NOT NULL,
  port integer NOT NULL,
  incarnation text NOT NULL,
  heartbeat_at timestamptz NOT NULL,
  alive boolean NOT NULL
);

-- Who leads each partition, under which epoch, and its committed end. leader_epoch only grows
-- (each claim adds one); a commit is conditional on leader_epoch and next_offset, so a deposed
-- leader is fenced whatever the clock says. lease_expires_at is a liveness hint only. The row
-- goes with its partition (and so with its topic).
CREATE TABLE partition_leases (
  topic_id text NOT NULL,
  partition integer NOT NULL,
  leader_node integer,
  leader_epoch integer NOT NULL CHECK (leader_epoch >= 0),
  lease_expires_at timestamptz,
  next_offset bigint NOT NULL CHECK (next_offset >= 0),
  PRIMARY KEY (topic_id, partition),
  FOREIGN KEY (topic_id, partition) REFERENCES partitions (topic_id, partition) ON DELETE CASCADE
);
CREATE INDEX partition_leases_by_leader ON partition_leases (leader_node);

-- WAL objects whose batches are (or were) part of the log. The name is unique so a commit
-- retried after a lost reply finds the first attempt's row. An uploaded object with no row here
-- is an orphan, collected by age.
CREATE TABLE log_objects (
  object_id bigint PRIMARY KEY,
  name text NOT NULL UNIQUE,
  size_bytes bigint NOT NULL,
  node_id integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The index of committed batches: where each one's bytes are. A partition's rows never overlap
-- and leave no gap between its log start and partition_leases.next_offset. No reference to
-- partitions: the rows of a deleted topic stay until deleteBatchesBelowLogStart removes them
-- (with the rows below each log start), so deleting a topic never waits on a large delete.
-- transactional, control and control_type are null for a batch written without them.
CREATE TABLE log_batches (
  topic_id text NOT NULL,
  partition integer NOT NULL,
  base_offset bigint NOT NULL,
  last_offset bigint NOT NULL,
  max_timestamp bigint NOT NULL,
  record_count integer NOT NULL,
  producer_id bigint NOT NULL,
  producer_epoch smallint NOT NULL,
  base_sequence integer NOT NULL,
  transactional boolean,
  control boolean,
  control_type smallint,
  entry_version smallint NOT NULL,
  object_id bigint NOT NULL REFERENCES log_objects (object_id),
  position bigint NOT NULL,
  size_bytes bigint NOT NULL,
  PRIMARY KEY (topic_id, partition, base_offset),
  CHECK (last_offset >= base_offset)
);
-- batchesFrom finds the first batch ending at or past an offset without scanning from the start.
CREATE INDEX log_batches_by_last_offset ON log_batches (topic_id, partition, last_offset);
CREATE INDEX log_batches_by_object ON log_batches (object_id);

-- The next WAL object id never handed out; one row, advanced by one UPDATE per block.
CREATE TABLE log_object_ids (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  next_object_id bigint NOT NULL CHECK (next_object_id >= 1)
);
INSERT INTO log_object_ids (next_object_id) VALUES (1);
