"""Consume-transform-produce exactly once with librdkafka (Kafka's transactions_test copier).

Usage:
  eos_copy.py seed BOOTSTRAP INPUT OUTPUT COUNT
      creates INPUT (2 partitions) and OUTPUT (3 partitions) and writes COUNT unique values
      "v-<n>" to INPUT with an idempotent producer (acks=all).
  eos_copy.py copy BOOTSTRAP INPUT OUTPUT GROUP TXN_ID BATCH PACE_MS
      one copier: a read_committed group member of GROUP subscribed to INPUT, and a
      transactional producer TXN_ID. Per BATCH records: begin, produce "copy:<value>" to
      OUTPUT, send the consumer's positions with its group metadata, commit. PACE_MS sleeps
      between transactions so that a run lasts long enough to be interrupted.
      Exit 0 and a last line {"done": true, ...} once the group's committed offsets reach the
      input's end on every partition. Abortable errors abort and rewind to the committed
      offsets; anything else exits 3 and the caller starts a new copier (whose
      init_transactions fences this one and aborts what it left open).
Progress lines go to stderr.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def seed(bootstrap, input_topic, output_topic, count):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics = [NewTopic(input_topic, 2, 1), NewTopic(output_topic, 3, 1)]
    for future in admin.create_topics(topics).values():
        future.result(30)
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    failures = []
    for n in range(count):
        p.produce(input_topic, value=f"v-{n}".encode(), partition=n % 2,
                  on_delivery=lambda err, _msg: err and failures.append(str(err)))
        p.poll(0)
    remaining = p.flush(60)
    if remaining or failures:
        raise SystemExit(f"seed: {remaining} undelivered, errors {failures[:3]}")
    print(json.dumps({"seeded": count}))


def input_partitions(input_topic):
    return [TopicPartition(input_topic, p) for p in (0, 1)]


def ends(consumer, input_topic):
    return {tp.partition: consumer.get_watermark_offsets(tp, timeout=30)[1]
            for tp in input_partitions(input_topic)}


def committed_offsets(consumer, input_topic):
    return {tp.partition: tp.offset
            for tp in consumer.committed(input_partitions(input_topic), timeout=30)}


def finished(consumer, input_topic, end):
    committed = committed_offsets(consumer, input_topic)
    return all(committed[p] >= end[p] for p in end), committed


def rewind(consumer, input_topic):
    """After an abort: continue from what the group has committed, as Kafka's examples do."""
    assignment = consumer.assignment()
    for tp in consumer.committed(assignment, timeout=30):
        consumer.seek(TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else 0))


def copy_batch(consumer, producer, output_topic, batch):
    records = [m for m in consumer.consume(batch, timeout=1.0) if not m.error()]
    if not records:
        return 0
    producer.begin_transaction()
    for m in records:
        producer.produce(output_topic, key=m.value(), value=b"copy:" + m.value())
    # A partition not fetched yet has no position (negative); it has nothing to commit.
    positions = [tp for tp in consumer.position(consumer.assignment()) if tp.offset >= 0]
    producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 30)
    commit_with_retry(producer)
    return len(records)


def commit_with_retry(producer):
    while True:
        try:
            producer.commit_transaction(30)
            return
        except KafkaException as e:
            if e.args[0].retriable():
                log("commit retriable:", e.args[0])
                continue
            raise


def copy(bootstrap, input_topic, output_topic, group, txn_id, batch, pace_ms):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
    })
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "transactional.id": txn_id,
        "transaction.timeout.ms": 10000,
        "message.timeout.ms": 8000,
        "linger.ms": 5,
    })
    producer.init_transactions(30)
    end = ends(consumer, input_topic)
    consumer.subscribe([input_topic])
    copied = 0
    try:
        while True:
            done, committed = finished(consumer, input_topic, end)
            if done:
                print(json.dumps({"done": True, "copied": copied, "committed": committed}))
                return 0
            try:
                copied += copy_batch(consumer, producer, output_topic, batch)
            except KafkaException as e:
                error = e.args[0]
                if not error.txn_requires_abort():
                    raise
                log("abortable:", error)
                producer.abort_transaction(30)
                rewind(consumer, input_topic)
            time.sleep(pace_ms / 1000)
    finally:
        consumer.close()


def main():
    mode = sys.argv[1]
    if mode == "seed":
        bootstrap, input_topic, output_topic, count = sys.argv[2:6]
        seed(bootstrap, input_topic, output_topic, int(count))
        return 0
    bootstrap, input_topic, output_topic, group, txn_id, batch, pace_ms = sys.argv[2:9]
    try:
        return copy(bootstrap, input_topic, output_topic, group, txn_id, int(batch),
                    int(pace_ms))
    except KafkaException as e:
        log("copier gives up:", e.args[0])
        return 3


if __name__ == "__main__":
    sys.exit(main())
