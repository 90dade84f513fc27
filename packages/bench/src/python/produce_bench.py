"""librdkafka producer load for `npm run bench -- produce` (run with /usr/bin/python3).

Produces fixed-size records with acks=all for --seconds, either as fast as the client queue
allows (--rate 0) or at a fixed rate, and measures each record's ack latency from the moment
produce() was called to its delivery callback. Prints JSON lines on stdout:
  {"type":"started"}            when the first record is handed to librdkafka
  {"type":"finished", ...}      after the final flush: counts, bytes, elapsed, latency percentiles
The TypeScript side samples the broker's CPU time at those two lines.
"""

import argparse
import json
import sys
import time

from confluent_kafka import Producer


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def percentile(sorted_values, fraction):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, int(round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--value-bytes", type=int, default=1024)
    parser.add_argument("--linger-ms", type=int, default=2)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--queue-max-kbytes", type=int, default=8192)
    parser.add_argument("--max-records", type=int, default=1 << 62)
    args = parser.parse_args()

    send_times = {}
    latencies = []
    state = {"acked": 0, "errors": 0, "first_error": None}

    def on_delivery(err, msg):
        sent = send_times.pop(msg.key(), None)
        if err is not None:
            state["errors"] += 1
            if state["first_error"] is None:
                state["first_error"] = str(err)
            return
        state["acked"] += 1
        if sent is not None:
            latencies.append(time.perf_counter() - sent)

    producer = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "client.id": "tributary-bench",
            "acks": "all",
            "enable.idempotence": False,
            "linger.ms": args.linger_ms,
            "queue.buffering.max.kbytes": args.queue_max_kbytes,
            "message.timeout.ms": 60000,
            "compression.type": "none",
        }
    )
    # Warm up: fetch metadata and open the connection before the clock starts.
    producer.list_topics(args.topic, timeout=10)

    value = b"v" * args.value_bytes
    interval = 1.0 / args.rate if args.rate > 0 else 0.0
    seq = 0
    start = time.perf_counter()
    end = start + args.seconds
    next_send = start
    emit({"type": "started"})
    while True:
        now = time.perf_counter()
        if now >= end or seq >= args.max_records:
            break
        if interval > 0 and now < next_send:
            producer.poll(min(next_send - now, 0.01))
            continue
        key = b"%d" % seq
        try:
            send_times[key] = time.perf_counter()
            producer.produce(args.topic, value=value, key=key, on_delivery=on_delivery)
        except BufferError:
            send_times.pop(key, None)
            producer.poll(0.001)
            continue
        seq += 1
        next_send += interval
        producer.poll(0)
    unflushed = producer.flush(60)
    elapsed = time.perf_counter() - start
    emit({"type": "finished"})
    latencies.sort()
    emit(
        {
            "type": "summary",
            "sent": seq,
            "acked": state["acked"],
            "errors": state["errors"],
            "first_error": state["first_error"],
            "unflushed": unflushed,
            "elapsed_s": elapsed,
            "value_bytes": args.value_bytes,
            "latency_ms": {
                "p50": (percentile(latencies, 0.5) or 0) * 1000,
                "p99": (percentile(latencies, 0.99) or 0) * 1000,
                "max": (latencies[-1] if latencies else 0) * 1000,
            },
        }
    )


if __name__ == "__main__":
    main()
