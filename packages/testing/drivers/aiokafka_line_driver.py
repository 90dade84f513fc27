"""Line driver (DRIVER-PROTOCOL.md) for aiokafka, the asyncio client with its own protocol code
(no librdkafka). Run it with the virtualenv's python (scripts/build-python-drivers.sh).

Commands run one at a time on one event loop; stdin is read in a worker thread so the loop stays
free between commands, and a group consumer keeps heartbeating while the test is busy elsewhere.
One process holds one admin client per bootstrap, one cached producer per (bootstrap, codec,
idempotence) and at most one group consumer.

What aiokafka lacks is answered "Unsupported: ...": KIP-848 consumer groups (it speaks only the
classic protocol) and DeleteGroups (its admin client has no delete_consumer_groups).
"""

import asyncio
import os
import sys

import aiokafka
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka import errors as kafka_errors
from aiokafka.admin import AIOKafkaAdminClient, NewTopic, RecordsToDelete
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

# line_protocol.py sits beside this file; find it whatever the working directory, and leave no
# __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from line_protocol import (  # noqa: E402
    CommandError,
    ProtocolOutput,
    command_deadline,
    handler_for,
    Unsupported,
    kafka_error_name,
    parse_command,
    poll_bounds,
    timeout_ms,
    topic_partitions,
    unb64,
    unb64_headers,
    wire_record,
)

CLIENT_ID = "tributary-test-aiokafka"
POLL_SLICE_MS = 200
# DescribeConfigs v1+ config_source of a value set on the topic itself.
DYNAMIC_TOPIC_CONFIG = 1


def kafka_code(error):
    """Kafka's name for aiokafka's broker errors, found by their error code (errno)."""
    if isinstance(error, kafka_errors.BrokerResponseError):
        return kafka_error_name(error.errno)
    if isinstance(error, type) and issubclass(error, kafka_errors.BrokerResponseError):
        return kafka_error_name(error.errno)
    return None


def broker_error(code, message):
    """aiokafka's exception for a broker error code; codes it does not know keep their name."""
    error_class = kafka_errors.for_code(code)
    if error_class is kafka_errors.UnknownError and code != -1:
        return CommandError("%s (error %d)" % (message, code), kafka_error_name(code))
    return error_class(message)


def check_codes(entries, what):
    """Raises for the first (name, error_code, [message]) entry of a response with an error."""
    for entry in entries:
        name, code = entry[0], entry[1]
        if code:
            detail = entry[2] if len(entry) > 2 and isinstance(entry[2], str) else None
            raise broker_error(code, "%s %s: %s" % (what, name, detail or "failed"))


def record_of(message, with_topic=False):
    return wire_record(
        message.partition,
        message.offset,
        message.key,
        message.value,
        message.headers,
        message.timestamp,
        message.topic if with_topic else None,
    )


def member_assignment(data):
    """The partitions in a member's ConsumerProtocol assignment bytes (empty before sync)."""
    if not data:
        return []
    decoded = ConsumerProtocolMemberAssignment.decode(data)
    return [
        {"topic": topic, "partition": partition}
        for topic, partitions in decoded.assignment
        for partition in partitions
    ]


async def send_all(producer, topic, records):
    """Sends records in order and returns [{"partition", "offset"}] once all are acked."""
    futures = []
    for record in records:
        futures.append(
            await producer.send(
                topic,
                value=unb64(record.get("value")),
                key=unb64(record.get("key")),
                partition=record.get("partition"),
                timestamp_ms=record.get("timestamp"),
                headers=unb64_headers(record.get("headers")),
            )
        )
    sent = await asyncio.gather(*futures)
    return [{"partition": meta.partition, "offset": meta.offset} for meta in sent]


class AiokafkaDriver:
    def __init__(self):
        self.admins = {}
        self.producers = {}
        self.consumer = None

    async def admin(self, command):
        bootstrap = command["bootstrap"]
        if bootstrap not in self.admins:
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id=CLIENT_ID)
            await admin.start()
            self.admins[bootstrap] = admin
        return self.admins[bootstrap]

    async def plain_consumer(self, command, isolation_level="read_uncommitted"):
        consumer = AIOKafkaConsumer(
            bootstrap_servers=command["bootstrap"],
            client_id=CLIENT_ID,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level=isolation_level,
        )
        await consumer.start()
        return consumer

    async def close(self):
        closing = [producer.stop() for producer in self.producers.values()]
        closing += [admin.close() for admin in self.admins.values()]
        if self.consumer is not None:
            closing.append(self.consumer.stop())
        await asyncio.gather(*closing, return_exceptions=True)

    # --- topics and configs

    async def op_createTopic(self, command, deadline):
        topic = NewTopic(
            command["topic"],
            num_partitions=command["partitions"],
            replication_factor=1,
            topic_configs=command.get("configs") or {},
        )
        admin = await self.admin(command)
        response = await admin.create_topics([topic], timeout_ms=timeout_ms(command))
        check_codes(response.topic_errors, "create topic")
        return None

    async def op_deleteTopic(self, command, deadline):
        admin = await self.admin(command)
        response = await admin.delete_topics([command["topic"]], timeout_ms=timeout_ms(command))
        check_codes(response.topic_error_codes, "delete topic")
        return None

    async def op_listTopics(self, command, deadline):
        return sorted(await (await self.admin(command)).list_topics())

    async def topic_config_entries(self, command):
        """(DescribeConfigs version, the topic's config entries) for command["topic"]."""
        admin = await self.admin(command)
        resource = ConfigResource(ConfigResourceType.TOPIC, command["topic"])
        (response,) = await admin.describe_configs([resource])
        (found,) = response.resources
        if found[0]:
            raise broker_error(found[0], "describe configs %s: %s" % (command["topic"], found[1]))
        return response.API_VERSION, found[4]

    async def op_describeConfigs(self, command, deadline):
        _, entries = await self.topic_config_entries(command)
        return {entry[0]: entry[1] for entry in entries}

    async def op_alterConfigs(self, command, deadline):
        # aiokafka has only the non-incremental AlterConfigs, which replaces the topic's whole
        # set of overrides. The protocol's op is an incremental SET, so the overrides the topic
        # has now are read first and sent back with the new values on top.
        version, entries = await self.topic_config_entries(command)
        if version == 0:
            overrides = {entry[0]: entry[1] for entry in entries if not entry[3]}
        else:
            overrides = {e[0]: e[1] for e in entries if e[3] == DYNAMIC_TOPIC_CONFIG}
        overrides.update(command["configs"])
        resource = ConfigResource(ConfigResourceType.TOPIC, command["topic"], configs=overrides)
        admin = await self.admin(command)
        for response in await admin.alter_configs([resource]):
            for error_code, message, _, name in response.resources:
                if error_code:
                    raise broker_error(error_code, "alter configs %s: %s" % (name, message))
        return None

    # --- produce and read

    async def op_produce(self, command, deadline):
        compression = command.get("compression") or "none"
        idempotent = bool(command.get("idempotent"))
        key = (command["bootstrap"], compression, idempotent)
        producer = self.producers.get(key)
        if producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=command["bootstrap"],
                client_id=CLIENT_ID,
                acks="all",
                compression_type=None if compression == "none" else compression,
                enable_idempotence=idempotent,
                linger_ms=5,
            )
            await producer.start()
            self.producers[key] = producer
        try:
            return await send_all(producer, command["topic"], command["records"])
        except BaseException:
            # A producer that failed (or was cancelled at the timeout) is not reused.
            del self.producers[key]
            await producer.stop()
            raise

    async def op_consumeAll(self, command, deadline):
        isolation = command.get("isolationLevel") or "read_committed"
        consumer = await self.plain_consumer(command, isolation)
        records = []
        try:
            partitions = [TopicPartition(command["topic"], p) for p in range(command["partitions"])]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            while len(records) < command["expectedCount"] and not deadline.passed():
                wait_ms = int(min(500, deadline.remaining() * 1000))
                batches = await consumer.getmany(timeout_ms=wait_ms)
                for messages in batches.values():
                    records.extend(record_of(message) for message in messages)
        finally:
            await consumer.stop()
        return records

    async def op_listOffsets(self, command, deadline):
        partition = TopicPartition(command["topic"], command["partition"])
        spec = command["spec"]
        consumer = await self.plain_consumer(command)
        try:
            if spec == "earliest":
                return (await consumer.beginning_offsets([partition]))[partition]
            if spec == "latest":
                return (await consumer.end_offsets([partition]))[partition]
            found = (await consumer.offsets_for_times({partition: int(spec)}))[partition]
            return None if found is None else found.offset
        finally:
            await consumer.stop()

    async def op_deleteRecords(self, command, deadline):
        partition = TopicPartition(command["topic"], command["partition"])
        admin = await self.admin(command)
        deleted = await admin.delete_records(
            {partition: RecordsToDelete(command["beforeOffset"])}, timeout_ms=timeout_ms(command)
        )
        return deleted[partition]

    # --- groups through the admin client

    async def op_listGroups(self, command, deadline):
        # ListGroups v0-v2 carry neither the state nor the group type.
        groups = await (await self.admin(command)).list_consumer_groups()
        return [{"groupId": group[0], "state": None, "type": None} for group in groups]

    async def op_describeGroup(self, command, deadline):
        group_id = command["groupId"]
        admin = await self.admin(command)
        for response in await admin.describe_consumer_groups([group_id]):
            for group in response.groups:
                error_code, name, state, _, _, members = group[:6]
                if name != group_id:
                    continue
                if error_code:
                    raise broker_error(error_code, "describe group %s" % name)
                described = [
                    {
                        "memberId": member[0],
                        "clientId": member[1],
                        "assignment": member_assignment(member[4]),
                    }
                    for member in members
                ]
                return {"groupId": name, "state": state, "members": described}
        raise CommandError("describe group %s: not in the response" % group_id)

    async def op_groupOffsets(self, command, deadline):
        offsets = await (await self.admin(command)).list_consumer_group_offsets(command["groupId"])
        return [
            {"topic": tp.topic, "partition": tp.partition, "offset": committed.offset}
            for tp, committed in offsets.items()
            if committed.offset >= 0
        ]

    async def op_deleteGroup(self, command, deadline):
        raise Unsupported("aiokafka's admin client has no delete_consumer_groups (DeleteGroups)")

    # --- the group consumer

    async def op_subscribe(self, command, deadline):
        if self.consumer is not None:
            raise CommandError("this process already has a group consumer; closeConsumer first")
        protocol = command.get("groupProtocol") or "classic"
        if protocol != "classic":
            raise Unsupported("aiokafka has no KIP-848 consumer (group.protocol=%s)" % protocol)
        consumer = AIOKafkaConsumer(
            *command["topics"],
            bootstrap_servers=command["bootstrap"],
            client_id=CLIENT_ID,
            group_id=command["groupId"],
            group_instance_id=command.get("instanceId"),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level=command.get("isolationLevel") or "read_committed",
            session_timeout_ms=10000,
            heartbeat_interval_ms=1000,
        )
        await consumer.start()
        self.consumer = consumer
        return None

    def group_consumer(self):
        if self.consumer is None:
            raise CommandError("no group consumer: subscribe first")
        return self.consumer

    async def op_poll(self, command, deadline):
        consumer = self.group_consumer()
        until, max_records = poll_bounds(command)
        records = []
        while len(records) < max_records and not until.passed():
            wait_ms = int(min(POLL_SLICE_MS, until.remaining() * 1000))
            batches = await consumer.getmany(
                timeout_ms=wait_ms, max_records=max_records - len(records)
            )
            for messages in batches.values():
                records.extend(record_of(message, with_topic=True) for message in messages)
        return {"records": records, "assignment": topic_partitions(consumer.assignment())}

    async def op_commit(self, command, deadline):
        await self.group_consumer().commit()
        return None

    async def op_closeConsumer(self, command, deadline):
        consumer, self.consumer = self.consumer, None
        if consumer is not None:
            await consumer.stop()
        return None

    # --- transactions

    async def op_transactionalProduce(self, command, deadline):
        producer = AIOKafkaProducer(
            bootstrap_servers=command["bootstrap"],
            client_id=CLIENT_ID,
            transactional_id=command["transactionalId"],
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
        )
        await producer.start()
        try:
            for transaction in command["transactions"]:
                await producer.begin_transaction()
                await send_all(producer, command["topic"], transaction["records"])
                if transaction.get("commit", True):
                    await producer.commit_transaction()
                else:
                    await producer.abort_transaction()
        finally:
            await producer.stop()
        return None


async def run_command(driver, output, line):
    command_id = None
    try:
        command_id, op, command = parse_command(line)
        handler = handler_for(driver, op, "aiokafka")
        bound_ms = timeout_ms(command)
        running = handler(command, command_deadline(command))
        try:
            result = await asyncio.wait_for(running, bound_ms / 1000)
        except asyncio.TimeoutError:
            raise CommandError("%s: no result within %d ms" % (op, bound_ms)) from None
        output.answer(command_id, result)
    except Exception as error:  # noqa: BLE001 - a failed command is an answer, never a crash
        output.fail(command_id, error, kafka_code)


async def main():
    output = ProtocolOutput()
    output.ready("aiokafka", aiokafka.__version__)
    driver = AiokafkaDriver()
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        if line.strip():
            await run_command(driver, output, line)
    await driver.close()


if __name__ == "__main__":
    asyncio.run(main())
