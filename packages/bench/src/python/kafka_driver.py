"""librdkafka load for the `npm run bench` workloads beyond plain produce (run with /usr/bin/python3).

Subcommands, each printing JSON lines on stdout and ending with {"type":"summary", ...}:
  create     create a topic with N partitions and time it
  metadata   time Metadata requests for one topic (and the full cluster)
  paced      produce at a fixed rate; each value starts with its INTENDED send time
             (CLOCK_MONOTONIC ns, system-wide on Linux), and ack latency is measured from that
             intended time, so a stalled broker cannot hide its stall (no coordinated omission);
             with --spread N, record i goes to partition i % N (every partition gets data)
  consume    read a topic until --expect records or --seconds; with --latency, each record's
             end-to-end latency is now minus the intended time in its value; the summary counts
             the Fetch requests librdkafka sent (its statistics) with --stats
Consumers use a consumer group (--group) when given, otherwise assign every partition from the
start (or, with --latest, from the end): both go through the broker's Fetch path the same way.
"""

import argparse
import json
import struct
import sys
import time

from confluent_kafka import OFFSET_END, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def percentiles(values):
    values.sort()
    def at(fraction):
        if not values:
            return 0
        return values[min(len(values) - 1, int(round(fraction * (len(values) - 1))))]
    return {
        "samples": len(values),
        "p50": at(0.5),
        "p99": at(0.99),
        "p999": at(0.999),
        "max": values[-1] if values else 0,
    }


def cmd_create(args):
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    start = time.perf_counter()
    futures = admin.create_topics(
        [NewTopic(args.topic, args.partitions, 1)], request_timeout=args.timeout
    )
    error = None
    try:
        futures[args.topic].result(args.timeout)
    except KafkaException as exc:
        error = str(exc)
    emit({"type": "summary", "seconds": time.perf_counter() - start, "error": error})


def cmd_metadata(args):
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    admin.list_topics(timeout=30)
    single, full = [], []
    for _ in range(args.iterations):
        start = time.perf_counter()
        meta = admin.list_topics(args.topic, timeout=30)
        single.append((time.perf_counter() - start) * 1000)
    partitions = len(meta.topics[args.topic].partitions) if args.topic in meta.topics else 0
    for _ in range(max(1, args.iterations // 4)):
        start = time.perf_counter()
        admin.list_topics(timeout=30)
        full.append((time.perf_counter() - start) * 1000)
    emit(
        {
            "type": "summary",
            "partitions": partitions,
            "topic_ms": percentiles(single),
            "all_ms": percentiles(full),
        }
    )


def cmd_paced(args):
    producer = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "acks": "all",
            "enable.idempotence": False,
            "linger.ms": args.linger_ms,
            "message.timeout.ms": 60000,
        }
    )
    producer.list_topics(args.topic, timeout=10)
    latencies = []
    samples = []
    state = {"acked": 0, "errors": 0, "first_error": None}

    def on_delivery(err, msg):
        if err is not None:
            state["errors"] += 1
            state["first_error"] = state["first_error"] or str(err)
            return
        state["acked"] += 1
        intended = struct.unpack_from(">q", msg.value())[0]
        latency = (time.monotonic_ns() - intended) / 1e6
        latencies.append(latency)
        if args.dump:
            samples.append([intended, round(latency, 3)])

    padding = b"p" * max(0, args.value_bytes - 8)
    interval_ns = int(1e9 / args.rate)
    start = time.monotonic_ns()
    end = start + int(args.seconds * 1e9)
    emit({"type": "started"})
    sent = 0
    while True:
        intended = start + sent * interval_ns
        if intended >= end:
            break
        now = time.monotonic_ns()
        if now < intended:
            producer.poll(min((intended - now) / 1e9, 0.005))
            continue
        # librdkafka's sticky partitioner would leave most partitions empty at a modest rate.
        where = {} if args.spread <= 0 else {"partition": sent % args.spread}
        try:
            producer.produce(
                args.topic,
                value=struct.pack(">q", intended) + padding,
                on_delivery=on_delivery,
                **where,
            )
        except BufferError:
            producer.poll(0.001)
            continue
        sent += 1
        producer.poll(0)
    producer.flush(60)
    emit({"type": "finished"})
    emit(
        {
            "type": "summary",
            "sent": sent,
            "acked": state["acked"],
            "errors": state["errors"],
            "first_error": state["first_error"],
            "elapsed_s": (time.monotonic_ns() - start) / 1e9,
            "ack_ms": percentiles(latencies),
            "samples": samples,
        }
    )


def make_consumer(args):
    config = {
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group or "bench-assign",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": args.fetch_wait_ms,
        "queued.max.messages.kbytes": 65536,
    }
    if args.stats:
        config["statistics.interval.ms"] = 1000
        config["stats_cb"] = lambda text: record_fetches(args, text)
    consumer = Consumer(config)
    if args.group:
        consumer.subscribe([args.topic])
        return consumer, "group"
    meta = consumer.list_topics(args.topic, timeout=30)
    parts = meta.topics[args.topic].partitions
    start = OFFSET_END if args.latest else 0
    consumer.assign([TopicPartition(args.topic, p, start) for p in parts])
    return consumer, "assign"


def record_fetches(args, text):
    """Keeps the Fetch requests sent so far (the statistics are cumulative per broker)."""
    brokers = json.loads(text).get("brokers", {}).values()
    args.fetches = sum(broker.get("req", {}).get("Fetch", 0) for broker in brokers)


def cmd_consume(args):
    args.fetches = 0
    consumer, mode = make_consumer(args)
    emit({"type": "ready", "mode": mode})
    start_ns = time.monotonic_ns()
    count = 0
    byte_count = 0
    latencies = []
    first_ns = None
    last_ns = None
    deadline = time.monotonic() + args.seconds
    while count < args.expect and time.monotonic() < deadline:
        if args.latency:
            # consume() waits for a full batch or its timeout; poll() returns at the first record.
            one = consumer.poll(0.1)
            batch = [] if one is None else [one]
        else:
            batch = consumer.consume(num_messages=10000, timeout=0.2)
        now = time.monotonic_ns()
        for msg in batch:
            if msg.error() is not None:
                continue
            value = msg.value()
            count += 1
            byte_count += len(value)
            if args.latency:
                latencies.append((now - struct.unpack_from(">q", value)[0]) / 1e6)
        if batch:
            first_ns = first_ns or now
            last_ns = now
    if args.stats:
        # One more statistics callback, so the Fetch count covers the whole run.
        extra = consumer.poll(1.1)
        if extra is not None and extra.error() is None:
            count += 1
            byte_count += len(extra.value())
    consumer.close()
    emit(
        {
            "type": "summary",
            "mode": mode,
            "fetches": args.fetches,
            "count": count,
            "bytes": byte_count,
            "start_ns": start_ns,
            "first_ns": first_ns or 0,
            "last_ns": last_ns or 0,
            "e2e_ms": percentiles(latencies),
        }
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["create", "metadata", "paced", "consume"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--rate", type=float, default=5000.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--value-bytes", type=int, default=1024)
    parser.add_argument("--linger-ms", type=int, default=1)
    parser.add_argument("--spread", type=int, default=0)
    parser.add_argument("--stats", action="store_true", help="consume: count Fetch requests")
    parser.add_argument("--latest", action="store_true", help="consume: assign from the end")
    parser.add_argument("--group", default="")
    parser.add_argument("--expect", type=int, default=1 << 62)
    parser.add_argument("--fetch-wait-ms", type=int, default=100)
    parser.add_argument("--latency", action="store_true")
    parser.add_argument("--dump", action="store_true", help="paced: print [intended_ns, ms] pairs")
    args = parser.parse_args()
    {"create": cmd_create, "metadata": cmd_metadata, "paced": cmd_paced, "consume": cmd_consume}[
        args.command
    ](args)


if __name__ == "__main__":
    main()
