-- Tributary metadata store, PostgreSQL schema version 4: garbage collection of WAL objects
-- (docs/FORMATS.md, section 6a; docs/adr/0012-cluster-object-gc.md). Deletion is two-phase and
-- timed by the database's clock: an object row that no batch row references is marked
-- (marked_at = now()); only once it has stayed marked for the grace delay is the row deleted (in
-- a transaction that locks it and checks again that nothing references it) and then the object
-- deleted from the bucket. Every commit that adds a reference to an existing object (zone
-- routing's pointer batches) clears marked_at in its transaction, so a marked row has had no
-- reference since it was marked.
--
-- An object in the bucket with no row (an upload whose commit failed, was fenced, or never
-- came) is an orphan: once older than the orphan age the collector adopts it, inserting a row
-- with orphan = true, already marked. The row claims the name: a late commit of that upload
-- meets it and fails instead of committing batches into an object about to go. After the grace
-- delay the object is deleted and the row stays as a tombstone (deleted_at set), so a commit
-- arriving later still (a broker paused for hours) is refused too.
ALTER TABLE log_objects ADD COLUMN marked_at timestamptz;
ALTER TABLE log_objects ADD COLUMN orphan boolean NOT NULL DEFAULT false;
ALTER TABLE log_objects ADD COLUMN deleted_at timestamptz;
ALTER TABLE log_objects ADD CONSTRAINT log_objects_tombstone_is_orphan
  CHECK (deleted_at IS NULL OR (orphan AND marked_at IS NULL));
-- The collector finds the rows whose grace delay is over without scanning the table.
CREATE INDEX log_objects_by_marked_at ON log_objects (marked_at) WHERE marked_at IS NOT NULL;
