"""kafka-python 2.0.2 driver for the client integration tests.

Runs one command (driver_protocol.py) against the broker through kafka-python (pure Python, its
own protocol code: ApiVersions v0, Produce v7, Fetch v4, Metadata v1). Every wait is bounded by
the command's timeout_ms; the TypeScript side also kills the process if it overruns.

Codecs: gzip is built in; snappy, lz4 and zstd need python3-snappy, python3-lz4 and
python3-zstandard (Debian), which .ci/run installs. "codecs" reports which are available.

Run it with /usr/bin/python3: Debian's kafka-python is installed for that interpreter only.
"""

import logging
import os
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import codec
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError, for_code

# driver_protocol.py sits beside this file; put it on the path whatever the working directory,
# and leave no __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver_protocol import serve, unb64, unb64_headers, wire_record  # noqa: E402

logging.basicConfig(level=logging.CRITICAL)


def base_config(cmd, timeout_s):
    return {
        "bootstrap_servers": cmd["bootstrap"],
        "client_id": "tributary-test-kafka-python",
        "request_timeout_ms": int(timeout_s * 1000) + 1000,
        "reconnect_backoff_max_ms": 500,
    }


def op_codecs(cmd, timeout_s):
    available = {
        "gzip": codec.has_gzip(),
        "snappy": codec.has_snappy(),
        "lz4": codec.has_lz4(),
        "zstd": codec.has_zstd(),
    }
    return sorted(name for name, present in available.items() if present)


def op_produce(cmd, timeout_s):
    config = base_config(cmd, timeout_s)
    compression = None if cmd["compression"] == "none" else cmd["compression"]
    config.update({"acks": "all", "compression_type": compression, "linger_ms": 5})
    producer = KafkaProducer(**config)
    futures = []
    try:
        for record in cmd["records"]:
            futures.append(
                producer.send(
                    cmd["topic"],
                    key=unb64(record["key"]),
                    value=unb64(record["value"]),
                    headers=unb64_headers(record["headers"]),
                    partition=record["partition"],
                    timestamp_ms=record.get("timestamp"),
                )
            )
        producer.flush(timeout=timeout_s)
        for future in futures:
            future.get(timeout=timeout_s)
    finally:
        producer.close(timeout=5)
    return {"delivered": len(futures)}


def op_consume(cmd, timeout_s):
    config = base_config(cmd, timeout_s)
    config.update({"enable_auto_commit": False, "auto_offset_reset": "earliest"})
    consumer = KafkaConsumer(**config)
    topic = cmd["topic"]
    consumer.assign([TopicPartition(topic, p) for p in range(cmd["partitions"])])
    consumer.seek_to_beginning()
    records = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(records) < cmd["expected"] and time.monotonic() < deadline:
            batches = consumer.poll(timeout_ms=500, max_records=2000)
            for messages in batches.values():
                for message in messages:
                    records.append(
                        wire_record(
                            message.partition,
                            message.offset,
                            message.key,
                            message.value,
                            message.headers,
                            message.timestamp,
                        )
                    )
    finally:
        consumer.close(autocommit=False)
    return records


def op_offsets_for_times(cmd, timeout_s):
    consumer = KafkaConsumer(**base_config(cmd, timeout_s))
    try:
        partition = TopicPartition(cmd["topic"], cmd["partition"])
        answer = consumer.offsets_for_times({partition: cmd["timestamp"]})[partition]
        return None if answer is None else answer.offset
    finally:
        consumer.close(autocommit=False)


def check_resources(response):
    for resource in response.resources:
        error_code, error_message = resource[0], resource[1]
        if error_code != 0:
            raise RuntimeError("%s: %s" % (for_code(error_code).__name__, error_message))


def with_admin(cmd, timeout_s, action):
    admin = KafkaAdminClient(**base_config(cmd, timeout_s))
    try:
        return action(admin)
    finally:
        admin.close()


def op_create_topic(cmd, timeout_s):
    topic = NewTopic(
        cmd["topic"],
        num_partitions=cmd["partitions"],
        replication_factor=1,
        topic_configs=cmd.get("configs") or {},
    )
    timeout_ms = int(timeout_s * 1000)
    with_admin(cmd, timeout_s, lambda admin: admin.create_topics([topic], timeout_ms=timeout_ms))
    return None


def op_delete_topic(cmd, timeout_s):
    timeout_ms = int(timeout_s * 1000)
    with_admin(cmd, timeout_s, lambda admin: admin.delete_topics([cmd["topic"]], timeout_ms))
    return None


def op_describe_configs(cmd, timeout_s):
    resource = ConfigResource(ConfigResourceType.TOPIC, cmd["topic"])
    responses = with_admin(cmd, timeout_s, lambda admin: admin.describe_configs([resource]))
    configs = {}
    for response in responses:
        check_resources(response)
        for resource_answer in response.resources:
            # (name, value, read_only, is_default | config_source, is_sensitive[, synonyms])
            for entry in resource_answer[4]:
                configs[entry[0]] = entry[1]
    return configs


def op_alter_configs(cmd, timeout_s):
    # kafka-python only has the non-incremental AlterConfigs: it replaces the whole set.
    resource = ConfigResource(ConfigResourceType.TOPIC, cmd["topic"], configs=cmd["configs"])
    response = with_admin(cmd, timeout_s, lambda admin: admin.alter_configs([resource]))
    check_resources(response)
    return None


def op_list_topics(cmd, timeout_s):
    return sorted(with_admin(cmd, timeout_s, lambda admin: admin.list_topics()))


def op_list_offsets(cmd, timeout_s):
    # KafkaAdminClient 2.0.2 has no list_offsets: the consumer's beginning_offsets/end_offsets
    # send ListOffsets (earliest -2 / latest -1) for it.
    consumer = KafkaConsumer(**base_config(cmd, timeout_s))
    try:
        partition = TopicPartition(cmd["topic"], cmd["partition"])
        if cmd["spec"] == "earliest":
            return consumer.beginning_offsets([partition])[partition]
        return consumer.end_offsets([partition])[partition]
    finally:
        consumer.close(autocommit=False)


def op_list_groups(cmd, timeout_s):
    groups = with_admin(cmd, timeout_s, lambda admin: admin.list_consumer_groups())
    return [{"group_id": group_id, "protocol_type": kind} for group_id, kind in sorted(groups)]


def op_describe_group(cmd, timeout_s):
    described = with_admin(
        cmd, timeout_s, lambda admin: admin.describe_consumer_groups([cmd["group"]])
    )
    group = described[0]
    members = [
        {
            "member_id": member.member_id,
            "client_id": member.client_id,
            "partitions": sorted(
                partition
                for topic, partitions in member.member_assignment.assignment
                for partition in partitions
            )
            if member.member_assignment
            else [],
        }
        for member in group.members
    ]
    return {"group_id": group.group, "state": group.state, "members": members}


def op_group_offsets(cmd, timeout_s):
    offsets = with_admin(
        cmd, timeout_s, lambda admin: admin.list_consumer_group_offsets(cmd["group"])
    )
    return [
        {"topic": tp.topic, "partition": tp.partition, "offset": answer.offset}
        for tp, answer in sorted(offsets.items())
    ]


def op_delete_group(cmd, timeout_s):
    # delete_consumer_groups returns (group_id, error class) pairs instead of raising.
    results = with_admin(
        cmd, timeout_s, lambda admin: admin.delete_consumer_groups([cmd["group"]])
    )
    for group_id, error_type in results:
        if error_type is not for_code(0):
            raise RuntimeError("%s: DeleteGroups %s" % (error_type.__name__, group_id))
    return None


OPS = {
    "codecs": op_codecs,
    "produce": op_produce,
    "consume": op_consume,
    "offsets_for_times": op_offsets_for_times,
    "create_topic": op_create_topic,
    "delete_topic": op_delete_topic,
    "describe_configs": op_describe_configs,
    "alter_configs": op_alter_configs,
    "list_topics": op_list_topics,
    "list_offsets": op_list_offsets,
    "list_groups": op_list_groups,
    "describe_group": op_describe_group,
    "group_offsets": op_group_offsets,
    "delete_group": op_delete_group,
}


if __name__ == "__main__":
    serve(OPS, (KafkaError, AssertionError))
