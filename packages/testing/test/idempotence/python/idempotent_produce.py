"""Produces COUNT records with librdkafka's idempotent producer (enable.idempotence=true).

Usage: idempotent_produce.py BOOTSTRAP TOPIC PARTITIONS COUNT PREFIX
Record i goes to partition i % PARTITIONS with value PREFIX-i, sent in order. Prints one JSON
line: {"delivered": n, "errors": [...]} once every delivery report arrived.
"""
import json
import sys

from confluent_kafka import Producer


def main() -> None:
    bootstrap, topic, partitions, count, prefix = sys.argv[1:6]
    partitions, count = int(partitions), int(count)
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        "batch.num.messages": 20,
        "max.in.flight.requests.per.connection": 5,
        "socket.timeout.ms": 5000,
        "reconnect.backoff.ms": 20,
        "retry.backoff.ms": 20,
        "message.timeout.ms": 120000,
    })
    delivered = 0
    errors = []

    def report(err, _msg):
        nonlocal delivered
        if err is None:
            delivered += 1
        else:
            errors.append(str(err))

    for i in range(count):
        while True:
            try:
                producer.produce(topic, value=f"{prefix}-{i}".encode(), partition=i % partitions,
                                 on_delivery=report)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    remaining = producer.flush(120)
    print(json.dumps({"delivered": delivered, "errors": errors, "remaining": remaining}))


if __name__ == "__main__":
    main()
