"""python3-confluent-kafka (librdkafka 2.0.2) driver for the client integration tests.

Runs one command (driver_protocol.py) against the broker through confluent-kafka. Every wait is
bounded by the command's timeout_ms; the TypeScript side also kills the process if it overruns.

Run it with /usr/bin/python3: Debian's confluent-kafka is installed for that interpreter only.
"""

import os
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

# driver_protocol.py sits beside this file; put it on the path whatever the working directory,
# and leave no __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver_protocol import serve, unb64, unb64_headers, wire_record  # noqa: E402


def base_config(cmd):
    return {
        "bootstrap.servers": cmd["bootstrap"],
        "client.id": "tributary-test-confluent",
        "socket.connection.setup.timeout.ms": 5000,
        "reconnect.backoff.max.ms": 500,
    }


def wait_futures(futures, timeout_s):
    for key, future in futures.items():
        error = future.exception(timeout=timeout_s)
        if error is not None:
            raise RuntimeError("%s: %s" % (key, error))


def op_produce(cmd, timeout_s):
    config = base_config(cmd)
    config.update(
        {
            "acks": "all",
            "compression.type": cmd["compression"],
            # One produce command is one batch per partition: flush() below sends at once, and a
            # long linger keeps a slow (loaded) interpreter from splitting the records into
            # batches, which tests of whole-batch refusal (compacted topics) depend on.
            "linger.ms": 1000,
            "message.timeout.ms": int(timeout_s * 1000),
        }
    )
    producer = Producer(config)
    # Learn the topic's partitions before the first produce(). Records produced while librdkafka
    # does not know them wait in its unassigned queue, and when the metadata arrives they are moved
    # to the partition one at a time; under flush() (which overrides linger.ms) the broker thread
    # may send the first one before the next is moved, so one produce command became two batches
    # (seen in librdkafka's debug log: "Partitioning 2 unassigned messages", then two "Produce
    # MessageSet with 1 message(s)"), and a compacted topic stored the keyed half of a batch that
    # the test meant to be refused as a whole.
    producer.list_topics(cmd["topic"], timeout=timeout_s)
    errors = []
    offsets = []

    def on_delivery(error, message):
        if error is not None:
            errors.append(str(error))
        else:
            offsets.append([message.partition(), message.offset()])

    for record in cmd["records"]:
        kwargs = {
            "partition": record["partition"],
            "key": unb64(record["key"]),
            "value": unb64(record["value"]),
            "headers": unb64_headers(record["headers"]),
            "on_delivery": on_delivery,
        }
        if record.get("timestamp") is not None:
            kwargs["timestamp"] = record["timestamp"]
        while True:
            try:
                producer.produce(cmd["topic"], **kwargs)
                break
            except BufferError:
                producer.poll(0.1)
    remaining = producer.flush(timeout_s)
    if remaining > 0:
        raise RuntimeError("%d messages not delivered within the timeout" % remaining)
    if errors:
        # The count tells a refused batch (0 delivered) from records the client sent apart.
        delivered = "%d of %d records delivered" % (len(offsets), len(cmd["records"]))
        raise RuntimeError("delivery failed (%s): %s" % (delivered, errors[:5]))
    return {"delivered": len(offsets)}


def op_consume(cmd, timeout_s):
    config = base_config(cmd)
    # group.id is required by the binding, but assign() never joins the group.
    config.update(
        {
            "group.id": "tributary-test-unused",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer = Consumer(config)
    topic = cmd["topic"]
    consumer.assign([TopicPartition(topic, p, 0) for p in range(cmd["partitions"])])
    records = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(records) < cmd["expected"] and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                if message.error() is not None:
                    raise RuntimeError(str(message.error()))
                records.append(
                    wire_record(
                        message.partition(),
                        message.offset(),
                        message.key(),
                        message.value(),
                        message.headers(),
                        message.timestamp()[1],
                    )
                )
    finally:
        consumer.close()
    return records


def op_offsets_for_times(cmd, timeout_s):
    config = base_config(cmd)
    config.update({"group.id": "tributary-test-unused", "enable.auto.commit": False})
    consumer = Consumer(config)
    try:
        query = [TopicPartition(cmd["topic"], cmd["partition"], cmd["timestamp"])]
        (answer,) = consumer.offsets_for_times(query, timeout=timeout_s)
        if answer.error is not None:
            raise RuntimeError(str(answer.error))
        return None if answer.offset < 0 else answer.offset
    finally:
        consumer.close()


def op_create_topic(cmd, timeout_s):
    admin = AdminClient(base_config(cmd))
    topic = NewTopic(cmd["topic"], num_partitions=cmd["partitions"], replication_factor=1)
    wait_futures(admin.create_topics([topic], request_timeout=timeout_s), timeout_s)
    return None


def op_delete_topic(cmd, timeout_s):
    admin = AdminClient(base_config(cmd))
    wait_futures(admin.delete_topics([cmd["topic"]], request_timeout=timeout_s), timeout_s)
    return None


def op_describe_configs(cmd, timeout_s):
    admin = AdminClient(base_config(cmd))
    resource = ConfigResource("topic", cmd["topic"])
    futures = admin.describe_configs([resource], request_timeout=timeout_s)
    entries = futures[resource].result(timeout=timeout_s)
    return {name: entry.value for name, entry in entries.items()}


def op_alter_configs(cmd, timeout_s):
    # confluent-kafka 1.7 only has the non-incremental AlterConfigs: it replaces the whole set.
    admin = AdminClient(base_config(cmd))
    resource = ConfigResource("topic", cmd["topic"], set_config=cmd["configs"])
    wait_futures(admin.alter_configs([resource], request_timeout=timeout_s), timeout_s)
    return None


def op_list_topics(cmd, timeout_s):
    admin = AdminClient(base_config(cmd))
    metadata = admin.list_topics(timeout=timeout_s)
    return sorted(metadata.topics.keys())


OPS = {
    "produce": op_produce,
    "consume": op_consume,
    "offsets_for_times": op_offsets_for_times,
    "create_topic": op_create_topic,
    "delete_topic": op_delete_topic,
    "describe_configs": op_describe_configs,
    "alter_configs": op_alter_configs,
    "list_topics": op_list_topics,
}


if __name__ == "__main__":
    serve(OPS, (KafkaException,))
