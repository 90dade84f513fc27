"""A long-lived python3-confluent-kafka (librdkafka 2.0.2) group member that reports as it goes.

Unlike group_consumer_driver.py (one answer at the end), this member streams one JSON object per
line on stdout as things happen, so a test can watch it and SIGKILL it at a chosen moment:
  {"event": "assigned", "partitions": [...], "t": ...}   partitions added by a rebalance
  {"event": "revoked", "partitions": [...], "t": ...}    partitions taken away
  {"event": "record", "partition": p, "offset": o, "value": "..."}
  {"event": "closed"}                                    after SIGTERM: committed and left
For the cooperative-sticky strategy the assigned/revoked lists are the incremental changes; for
eager strategies librdkafka revokes everything and assigns the full new set, so in both cases the
current assignment is "all assigned minus all revoked so far".
The configuration is one JSON object on stdin: bootstrap, group, topic, name, and optionally
strategy (partition.assignment.strategy) and session_timeout_ms. Run it with /usr/bin/python3.
"""

import json
import signal
import sys
import time

from confluent_kafka import Consumer

running = True


def stop(_signum, _frame):
    global running
    running = False


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main():
    cmd = json.loads(sys.stdin.readline())
    signal.signal(signal.SIGTERM, stop)
    config = {
        "bootstrap.servers": cmd["bootstrap"],
        "group.id": cmd["group"],
        "client.id": cmd.get("name", "tributary-group-member"),
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 200,
        "session.timeout.ms": cmd.get("session_timeout_ms", 6000),
        "heartbeat.interval.ms": 500,
        "reconnect.backoff.max.ms": 500,
    }
    if cmd.get("strategy"):
        config["partition.assignment.strategy"] = cmd["strategy"]
    consumer = Consumer(config)

    def on_assign(_consumer, partitions):
        emit({"event": "assigned", "partitions": sorted(p.partition for p in partitions),
              "t": time.time()})

    def on_revoke(_consumer, partitions):
        emit({"event": "revoked", "partitions": sorted(p.partition for p in partitions),
              "t": time.time()})

    # Neither callback assigns: confluent-kafka then applies the (incremental) assignment itself.
    consumer.subscribe([cmd["topic"]], on_assign=on_assign, on_revoke=on_revoke)
    while running:
        message = consumer.poll(0.1)
        if message is None or message.error() is not None:
            continue
        value = message.value()
        emit({"event": "record", "partition": message.partition(), "offset": message.offset(),
              "value": None if value is None else value.decode("utf-8")})
    consumer.close()
    emit({"event": "closed"})


if __name__ == "__main__":
    main()
