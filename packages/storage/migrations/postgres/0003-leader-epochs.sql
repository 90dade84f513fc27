-- Tributary metadata store, PostgreSQL schema version 3: the leader epoch history of each
-- partition (docs/FORMATS.md, section 6a), as Kafka's leader-epoch-checkpoint file keeps it. A
-- row is written by the same statement that claims a lease (epoch + 1): the epoch and the offset
-- its leader starts appending at, the partition's committed end at that moment. OffsetForLeaderEpoch
-- answers from it: the end offset of epoch E is the start of the first later epoch, or the log end
-- for the current one. The rows go with their partition.
CREATE TABLE partition_epochs (
  topic_id text NOT NULL,
  partition integer NOT NULL,
  leader_epoch integer NOT NULL CHECK (leader_epoch >= 0),
  start_offset bigint NOT NULL CHECK (start_offset >= 0),
  PRIMARY KEY (topic_id, partition, leader_epoch),
  FOREIGN KEY (topic_id, partition) REFERENCES partitions (topic_id, partition) ON DELETE CASCADE
);
