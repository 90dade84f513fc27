"""python3-confluent-kafka (librdkafka 2.0.2) consumer-group driver for the group tests.

One JSON command on stdin, one JSON answer on stdout ({"ok": true, "result": ...} or
{"ok": false, "error": "..."}), like confluent_kafka_driver.py. The one operation, "consume",
subscribes a consumer to a topic in a group and polls until:
  - at least min_run_ms have passed, then it records its assignment ("snapshot"),
  - if barrier_dir is set, it writes <barrier_dir>/<name> and keeps polling until `members`
    files exist there, so every member is still in the group when each takes its snapshot,
  - then until no record arrived for idle_ms (or max_records were read),
and closes (commit + LeaveGroup), unless "crash" is set: then it exits without closing.
Values are returned as UTF-8 strings. Run it with /usr/bin/python3.

With "client": "kafka-python" the same loop runs on kafka-python 2.0.2 (JoinGroup v2, SyncGroup v1,
OffsetCommit v2, OffsetFetch v1) instead of librdkafka.
"""

import json
import os
import sys
import time
import traceback

from confluent_kafka import Consumer


def consume(cmd):
    deadline = time.time() + cmd["timeout_ms"] / 1000.0
    config = {
        "bootstrap.servers": cmd["bootstrap"],
        "group.id": cmd["group"],
        "client.id": cmd.get("name", "tributary-group-test"),
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 200,
        "session.timeout.ms": cmd.get("session_timeout_ms", 6000),
        "heartbeat.interval.ms": 500,
        "reconnect.backoff.max.ms": 500,
    }
    if cmd.get("instance_id"):
        config["group.instance.id"] = cmd["instance_id"]
    if cmd.get("client") == "kafka-python":
        consumer = KafkaPythonConsumer(cmd)
    else:
        consumer = Consumer(config)
    history = []

    def on_assign(_consumer, partitions):
        history.append(
            {"t": time.time(), "assigned": sorted(p.partition for p in partitions)}
        )

    consumer.subscribe([cmd["topic"]], on_assign=on_assign)
    started = time.time()
    last_record = time.time()
    records = []
    snapshot = None
    barrier = cmd.get("barrier_dir")
    max_records = cmd.get("max_records")
    while time.time() < deadline:
        message = consumer.poll(0.1)
        if message is not None and message.error() is None:
            value = message.value()
            records.append(
                {
                    "partition": message.partition(),
                    "offset": message.offset(),
                    "value": None if value is None else value.decode("utf-8"),
                }
            )
            last_record = time.time()
            if max_records is not None and len(records) >= max_records:
                break
        if snapshot is None:
            if (time.time() - started) * 1000 < cmd.get("min_run_ms", 0) or not history:
                continue
            snapshot = sorted(p.partition for p in consumer.assignment())
            if barrier:
                open(os.path.join(barrier, cmd.get("name", "member")), "w").close()
        if barrier and len(os.listdir(barrier)) < cmd.get("members", 1):
            continue
        if (time.time() - last_record) * 1000 >= cmd.get("idle_ms", 2000):
            break
    final = sorted(p.partition for p in consumer.assignment())
    if cmd.get("crash"):
        print(json.dumps({"ok": True, "result": {"records": records, "snapshot": snapshot,
                                                  "final": final, "history": history}}))
        sys.stdout.flush()
        os._exit(0)
    consumer.close()
    return {"records": records, "snapshot": snapshot, "final": final, "history": history}


class KafkaPythonConsumer:
    """Just enough of confluent_kafka.Consumer's interface on top of kafka-python."""

    def __init__(self, cmd):
        from kafka import KafkaConsumer

        self._consumer = KafkaConsumer(
            bootstrap_servers=cmd["bootstrap"],
            group_id=cmd["group"],
            client_id=cmd.get("name", "tributary-group-test"),
            auto_offset_reset="earliest",
            enable_auto_commit=True,
            auto_commit_interval_ms=200,
            session_timeout_ms=cmd.get("session_timeout_ms", 6000),
            heartbeat_interval_ms=500,
        )
        self._buffer = []

    def subscribe(self, topics, on_assign):
        from kafka import ConsumerRebalanceListener

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                pass

            def on_partitions_assigned(self, assigned):
                on_assign(None, list(assigned))

        self._consumer.subscribe(topics, listener=Listener())

    def poll(self, timeout_s):
        if not self._buffer:
            batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000))
            for records in batches.values():
                self._buffer.extend(records)
        if not self._buffer:
            return None
        return KafkaPythonMessage(self._buffer.pop(0))

    def assignment(self):
        return list(self._consumer.assignment())

    def close(self):
        self._consumer.close(autocommit=True)


class KafkaPythonMessage:
    def __init__(self, record):
        self._record = record

    def error(self):
        return None

    def value(self):
        return self._record.value

    def partition(self):
        return self._record.partition

    def offset(self):
        return self._record.offset


def main():
    cmd = json.loads(sys.stdin.read())
    try:
        if cmd["op"] != "consume":
            raise ValueError("unknown op %s" % cmd["op"])
        result = consume(cmd)
        print(json.dumps({"ok": True, "result": result}))
    except Exception as error:  # noqa: BLE001 - reported to the test as data
        traceback.print_exc()
        print(json.dumps({"ok": False, "error": "%s: %s" % (type(error).__name__, error)}))


if __name__ == "__main__":
    main()
