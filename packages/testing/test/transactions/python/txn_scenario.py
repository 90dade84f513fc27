"""Transactional produce and read_committed/read_uncommitted consume with librdkafka.

Usage: txn_scenario.py BOOTSTRAP TOPIC
Topic TOPIC must have 2 partitions. Steps, each writing to both partitions:
  1. transaction "commit-1" committed;
  2. transaction "abort-1" aborted (after its records were flushed to the broker);
  3. a producer leaves transaction "fenced-1" open, a new producer with the same
     transactional.id starts (fencing it and aborting "fenced-1") and commits "commit-2";
  4. a producer with transaction.timeout.ms=2000 leaves "timeout-1" open and goes away; the
     broker aborts it; another transactional id commits "commit-3";
  5. send_offsets_to_transaction for group "ctp": offset 5 of partition 0 in a committed
     transaction ("commit-4"), offset 7 in an aborted one ("abort-2"); the group's committed
     offset ("groupOffset") must be 5.
Then prints one JSON line with every value a read_committed and a read_uncommitted consumer
see, and the per-step errors.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from read_topic import read


def producer(bootstrap, txn_id, timeout_ms=60000):
    return Producer({
        "bootstrap.servers": bootstrap,
        "transactional.id": txn_id,
        "transaction.timeout.ms": timeout_ms,
        "linger.ms": 2,
        "socket.timeout.ms": min(10000, timeout_ms),
        "message.timeout.ms": min(30000, timeout_ms),
    })


def send(p, topic, label, count=3):
    for i in range(count):
        p.produce(topic, value=f"{label}-{i}".encode(), partition=i % 2)
    p.flush(30)


def committed(p, topic, label):
    p.begin_transaction()
    send(p, topic, label)
    p.commit_transaction(30)


def consume(bootstrap, topic, isolation):
    by_partition = read(bootstrap, topic, 2, isolation, timeout_s=20)
    return sorted(value for values in by_partition.values() for value in values)


def offsets_step(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "ctp", "enable.auto.commit": False})
    p = producer(bootstrap, "txn-e")
    p.init_transactions(30)
    for label, offset, commit in (("commit-4", 5, True), ("abort-2", 7, False)):
        p.begin_transaction()
        send(p, topic, label)
        p.send_offsets_to_transaction([TopicPartition(topic, 0, offset)],
                                      c.consumer_group_metadata(), 30)
        if commit:
            p.commit_transaction(30)
        else:
            p.abort_transaction(30)
    [tp] = c.committed([TopicPartition(topic, 0)], 30)
    c.close()
    return tp.offset


def main():
    bootstrap, topic = sys.argv[1:3]
    errors = []
    try:
        p = producer(bootstrap, "txn-a")
        p.init_transactions(30)
        committed(p, topic, "commit-1")
        p.begin_transaction()
        send(p, topic, "abort-1")
        p.abort_transaction(30)
    except KafkaException as e:
        errors.append(f"steps 1-2: {e}")
    try:
        old = producer(bootstrap, "txn-b")
        old.init_transactions(30)
        old.begin_transaction()
        send(old, topic, "fenced-1")
        new = producer(bootstrap, "txn-b")
        new.init_transactions(30)
        committed(new, topic, "commit-2")
    except KafkaException as e:
        errors.append(f"step 3: {e}")
    try:
        gone = producer(bootstrap, "txn-c", timeout_ms=2000)
        gone.init_transactions(30)
        gone.begin_transaction()
        send(gone, topic, "timeout-1")
        time.sleep(4)
        other = producer(bootstrap, "txn-d")
        other.init_transactions(30)
        committed(other, topic, "commit-3")
    except KafkaException as e:
        errors.append(f"step 4: {e}")
    group_offset = None
    try:
        group_offset = offsets_step(bootstrap, topic)
    except KafkaException as e:
        errors.append(f"step 5: {e}")
    print(json.dumps({
        "errors": errors,
        "groupOffset": group_offset,
        "readCommitted": consume(bootstrap, topic, "read_committed"),
        "readUncommitted": consume(bootstrap, topic, "read_uncommitted"),
    }))


if __name__ == "__main__":
    main()
