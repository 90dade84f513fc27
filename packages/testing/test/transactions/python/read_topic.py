"""Reads every value of a topic from the start to its end with librdkafka, as one JSON list.

Usage: read_topic.py BOOTSTRAP TOPIC PARTITIONS read_committed|read_uncommitted
Prints one JSON line: the values in consumption order per partition, concatenated partition by
partition ({"values": [...], "byPartition": {"0": [...], ...}}). End of each partition is the
partition EOF librdkafka reports, which for read_committed is the last stable offset.
"""
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, TopicPartition


def read(bootstrap, topic, partitions, isolation, timeout_s=30):
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"read-{uuid.uuid4()}",
        "enable.auto.commit": False,
        "isolation.level": isolation,
        "enable.partition.eof": True,
        "auto.offset.reset": "earliest",
    })
    c.assign([TopicPartition(topic, p, -2) for p in range(partitions)])
    by_partition = {p: [] for p in range(partitions)}
    eof = set()
    deadline = time.time() + timeout_s
    while len(eof) < partitions and time.time() < deadline:
        msg = c.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == -191:  # _PARTITION_EOF
                eof.add(msg.partition())
            continue
        eof.discard(msg.partition())
        by_partition[msg.partition()].append(msg.value().decode())
    c.close()
    if len(eof) < partitions:
        raise SystemExit(f"no EOF on partitions {set(range(partitions)) - eof} in {timeout_s} s")
    return by_partition


def main():
    bootstrap, topic, partitions, isolation = sys.argv[1:5]
    by_partition = read(bootstrap, topic, int(partitions), isolation)
    values = [v for p in sorted(by_partition) for v in by_partition[p]]
    print(json.dumps({"values": values, "byPartition": {str(k): v for k, v in by_partition.items()}}))


if __name__ == "__main__":
    main()
