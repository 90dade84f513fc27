-- The schema registry (packages/schema-registry, docs/adr/0019-schema-registry.md): schemas by
-- global id, subject versions, references between schemas, and per-subject configs and modes.
-- Subject '' in registry_configs and registry_modes is the global setting.
CREATE TABLE registry_schemas (
  id bigserial PRIMARY KEY,
  schema_type text NOT NULL,
  schema text NOT NULL,
  fingerprint text NOT NULL UNIQUE
);
CREATE TABLE registry_references (
  schema_id bigint NOT NULL REFERENCES registry_schemas (id),
  position integer NOT NULL,
  name text NOT NULL,
  subject text NOT NULL,
  version integer NOT NULL,
  PRIMARY KEY (schema_id, position)
);
CREATE INDEX registry_references_by_target ON registry_references (subject, version);
CREATE TABLE registry_versions (
  subject text NOT NULL,
  version integer NOT NULL,
  schema_id bigint NOT NULL REFERENCES registry_schemas (id),
  deleted boolean NOT NULL,
  PRIMARY KEY (subject, version)
);
CREATE INDEX registry_versions_by_schema ON registry_versions (schema_id);
CREATE TABLE registry_configs (subject text PRIMARY KEY, config jsonb NOT NULL);
CREATE TABLE registry_modes (subject text PRIMARY KEY, mode text NOT NULL);
