"""librdkafka (python3-confluent-kafka) driver for the fault tests.

The tests need a client that shares no code with the broker, so this script speaks Kafka through
librdkafka and talks to the TypeScript test over JSON lines on stdout. Subcommands:

  produce      produce forever (or --count records) and print one line per delivery report:
               {"type":"ack","p":..,"o":..,"k":..,"v":..} or {"type":"error","k":..,"err":..}
               Stops (after a bounded flush) when stdin closes or on SIGTERM.
  consume      read every partition of a topic from offset 0 to the high watermark in assign
               mode and print {"type":"record","p":..,"o":..,"k":..,"v":..}, then {"type":"end"}.
  create-topic create a topic with --partitions and print {"type":"created"}.
  metadata     print {"type":"metadata","cluster_id":..,"broker_ids":[..],"controller_id":..}.

Run it with /usr/bin/python3 (Debian's confluent-kafka lives there, not in pyenv).
"""

import argparse
import json
import signal
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def common_config(args):
    return {
        "bootstrap.servers": args.bootstrap,
        "client.id": "tributary-fault-driver",
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "socket.connection.setup.timeout.ms": 5000,
        "topic.metadata.refresh.interval.ms": 1000,
    }


def cmd_produce(args):
    config = common_config(args)
    config.update(
        {
            "acks": "all",
            "enable.idempotence": args.idempotent,
            "linger.ms": args.linger_ms,
            "message.timeout.ms": args.message_timeout_ms,
            "retry.backoff.ms": 100,
            "max.in.flight.requests.per.connection": 5,
        }
    )
    producer = Producer(config)
    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)

    def watch_stdin():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()

    def report(err, msg):
        key = msg.key().decode()
        if err is not None:
            emit({"type": "error", "k": key, "err": str(err)})
            return
        emit(
            {
                "type": "ack",
                "p": msg.partition(),
                "o": msg.offset(),
                "k": key,
                "v": msg.value().decode(),
            }
        )

    interval = 1.0 / args.rate if args.rate > 0 else 0.0
    padding = "x" * max(0, args.value_bytes)
    seq = 0
    next_send = time.monotonic()
    emit({"type": "started"})
    while not stop.is_set() and (args.count == 0 or seq < args.count):
        key = "%s-%d" % (args.prefix, seq)
        value = "%s|%s" % (key, padding)
        partition = seq % args.partitions
        try:
            producer.produce(args.topic, value=value, key=key, partition=partition, on_delivery=report)
        except BufferError:
            producer.poll(0.05)
            continue
        seq += 1
        producer.poll(0)
        if interval > 0:
            next_send += interval
            delay = next_send - time.monotonic()
            if delay > 0:
                producer.poll(delay)
    remaining = producer.flush(args.flush_timeout_s)
    emit({"type": "done", "sent": seq, "unflushed": remaining})


def until_answered(call, deadline):
    """call(), asked again while it times out (the proxy cuts and delays the connections a
    metadata or offsets request travels on) until `deadline` (time.monotonic())."""
    while True:
        try:
            return call()
        except KafkaException as error:
            timed_out = error.args[0].code() == KafkaError._TIMED_OUT
            if not timed_out or time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def cmd_consume(args):
    config = common_config(args)
    config.update(
        {
            "group.id": "tributary-fault-reader",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
        }
    )
    consumer = Consumer(config)
    setup_deadline = time.monotonic() + args.timeout_s
    metadata = until_answered(
        lambda: consumer.list_topics(args.topic, timeout=10), setup_deadline
    )
    topic = metadata.topics.get(args.topic)
    if topic is None or topic.error is not None:
        raise SystemExit("topic %s unavailable: %s" % (args.topic, topic and topic.error))
    partitions = sorted(topic.partitions.keys())
    ends = {}
    for p in partitions:
        tp = TopicPartition(args.topic, p)
        _low, high = until_answered(
            lambda tp=tp: consumer.get_watermark_offsets(tp, timeout=10), setup_deadline
        )
        ends[p] = high
    emit({"type": "watermarks", "high": {str(p): ends[p] for p in partitions}})
    pending = {p for p in partitions if ends[p] > 0}
    consumer.assign([TopicPartition(args.topic, p, 0) for p in pending])
    deadline = time.monotonic() + args.timeout_s
    while pending and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() == -191:  # _PARTITION_EOF
                if msg.offset() >= ends.get(msg.partition(), 0):
                    pending.discard(msg.partition())
                continue
            emit({"type": "error", "err": str(msg.error())})
            continue
        emit(
            {
                "type": "record",
                "p": msg.partition(),
                "o": msg.offset(),
                "k": msg.key().decode() if msg.key() is not None else None,
                "v": msg.value().decode() if msg.value() is not None else None,
            }
        )
        if msg.offset() + 1 >= ends[msg.partition()]:
            pending.discard(msg.partition())
    consumer.close()
    emit({"type": "end", "incomplete": sorted(pending)})


def cmd_create_topic(args):
    admin = AdminClient(common_config(args))
    futures = admin.create_topics([NewTopic(args.topic, args.partitions, 1)], operation_timeout=10)
    for future in futures.values():
        future.result(timeout=15)
    emit({"type": "created"})


def cmd_metadata(args):
    admin = AdminClient(common_config(args))
    metadata = admin.list_topics(timeout=10)
    emit(
        {
            "type": "metadata",
            "cluster_id": metadata.cluster_id,
            "controller_id": metadata.controller_id,
            "broker_ids": sorted(metadata.brokers.keys()),
        }
    )


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("produce", "consume", "create-topic", "metadata"):
        p = sub.add_parser(name)
        p.add_argument("--bootstrap", required=True)
        if name != "metadata":
            p.add_argument("--topic", required=True)
        if name in ("produce", "create-topic"):
            p.add_argument("--partitions", type=int, default=1)
        if name == "produce":
            p.add_argument("--prefix", default="r")
            p.add_argument("--rate", type=float, default=200.0)
            p.add_argument("--count", type=int, default=0)
            p.add_argument("--value-bytes", type=int, default=16)
            p.add_argument("--linger-ms", type=int, default=2)
            p.add_argument("--message-timeout-ms", type=int, default=60000)
            p.add_argument("--flush-timeout-s", type=float, default=20.0)
            p.add_argument("--idempotent", action="store_true")
        if name == "consume":
            p.add_argument("--timeout-s", type=float, default=60.0)
    args = parser.parse_args()
    try:
        {
            "produce": cmd_produce,
            "consume": cmd_consume,
            "create-topic": cmd_create_topic,
            "metadata": cmd_metadata,
        }[args.command](args)
    except KafkaException as error:
        emit({"type": "fatal", "err": str(error)})
        sys.exit(1)


if __name__ == "__main__":
    main()
