"""Line driver (DRIVER-PROTOCOL.md) for the current confluent-kafka from PyPI, whose wheel
bundles a recent librdkafka (KIP-848 consumer groups, list_offsets, delete_records, incremental
configs). Run it with the virtualenv's python (scripts/build-python-drivers.sh); Debian's older
python3-confluent-kafka keeps its own driver (confluent_kafka_driver.py).

One process holds one AdminClient per bootstrap, one cached producer per (bootstrap, codec,
idempotence) so an idempotent producer keeps its producer id from command to command, and at most
one group consumer (`subscribe` .. `closeConsumer`).
"""

import logging
import os
import sys
import time

import confluent_kafka
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    OffsetSpec,
    ResourceType,
)

# line_protocol.py sits beside this file; find it whatever the working directory, and leave no
# __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from line_protocol import (  # noqa: E402
    CommandError,
    ProtocolOutput,
    command_deadline,
    describe,
    handler_for,
    kafka_error_name,
    parse_command,
    poll_bounds,
    timeout_ms,
    topic_partitions,
    unb64,
    unb64_headers,
    wire_record,
)

CLIENT_ID = "tributary-test-confluent-current"
CONSUME_BATCH = 500
POLL_SLICE_S = 0.2

# librdkafka's group states by ConsumerGroupState name, spelled as Kafka spells them; UNKNOWN
# (also what librdkafka makes of KIP-848's Assigning/Reconciling) becomes null.
GROUP_STATES = {
    "PREPARING_REBALANCING": "PreparingRebalance",
    "COMPLETING_REBALANCING": "CompletingRebalance",
    "STABLE": "Stable",
    "DEAD": "Dead",
    "EMPTY": "Empty",
}
GROUP_TYPES = {"CLASSIC": "classic", "CONSUMER": "consumer"}


def kafka_code(error):
    """Kafka's error name for a broker error librdkafka reports; None for its local errors."""
    if isinstance(error, KafkaException) and error.args and isinstance(error.args[0], KafkaError):
        error = error.args[0]
    if isinstance(error, KafkaError) and error.code() >= -1:
        return kafka_error_name(error.code()) or error.name()
    return None


class UnsupportedByBroker(logging.Handler):
    """Watches librdkafka's group log for the broker lacking an API.

    With group.protocol=consumer against a broker without ConsumerGroupHeartbeat (API 68),
    librdkafka only logs "ConsumerGroupHeartbeatRequest not supported by broker" at debug level
    and retries for ever: no error reaches the application. `poll` turns the log line into a
    failure so the test names the missing API instead of timing out on an empty assignment.
    """

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.missing = None

    def emit(self, record):
        message = record.getMessage()
        if self.missing is None and "not supported by broker" in message:
            self.missing = message
        if record.levelno >= logging.INFO:
            print(message, file=sys.stderr)


def base_config(command):
    return {
        "bootstrap.servers": command["bootstrap"],
        "client.id": CLIENT_ID,
        # Reconnect fast after a broker restart; the default backoff grows to 10 s.
        "reconnect.backoff.max.ms": 1000,
    }


def group_state(state):
    return None if state is None else GROUP_STATES.get(state.name)


def raise_fatal(error):
    """Message-level errors: fatal ones end the command, transient ones go to the log."""
    if error.fatal():
        raise KafkaException(error)
    print("confluent_line_driver: %s" % error, file=sys.stderr)


def record_of(message, with_topic=False):
    return wire_record(
        message.partition(),
        message.offset(),
        message.key(),
        message.value(),
        message.headers(),
        message.timestamp()[1],
        message.topic() if with_topic else None,
    )


def produce_all(producer, topic, records, deadline):
    """Produces records in order and returns [{"partition", "offset"}] once all are acked."""
    results = [None] * len(records)
    errors = []

    def on_delivery_at(index):
        def on_delivery(error, message):
            if error is not None:
                errors.append(error)
            else:
                results[index] = {"partition": message.partition(), "offset": message.offset()}

        return on_delivery

    for index, record in enumerate(records):
        kwargs = {
            "key": unb64(record.get("key")),
            "value": unb64(record.get("value")),
            "headers": unb64_headers(record.get("headers")),
            "on_delivery": on_delivery_at(index),
        }
        if record.get("partition") is not None:
            kwargs["partition"] = record["partition"]
        if record.get("timestamp") is not None:
            kwargs["timestamp"] = record["timestamp"]
        while True:
            try:
                producer.produce(topic, **kwargs)
                break
            except BufferError:
                producer.poll(0.05)
    left = producer.flush(deadline.remaining())
    if errors:
        raise KafkaException(errors[0])
    if left > 0:
        raise CommandError("%d of %d records not acknowledged in time" % (left, len(records)))
    return results


COPY_ERRORS_MAX = 50
COPY_ERROR_TEXT_MAX = 200
COPY_PAUSE_S = 0.1
PRODUCER_CALL_MAX_S = 10.0


class TransactionalCopy:
    """`transactionalCopy`: the exactly-once consume-transform-produce loop. A read_committed
    group consumer reads `from`; a transactional producer writes each batch to `to` (same
    partition, key, value, headers, timestamp) and commits it with the batch's offsets.

    A failed transaction is aborted and the consumer rewound to the group's committed offsets;
    a producer that cannot abort (fatal error, fenced, an abort that fails) is replaced by one
    with the same transactional.id, whose init_transactions fences the old one. A commit that
    failed may still have landed: its batch is counted by the committed offsets the next rewind
    reads, so `copied` stays exact.
    """

    def __init__(self, command, deadline):
        self.command = command
        self.deadline = deadline
        self.consumer = None
        self.producer = None
        self.uncertain = None
        self.rewinding = False
        self.copied = 0
        self.transactions = 0
        self.aborted = 0
        self.errors = []

    def run(self):
        try:
            while self.copied < self.command["expectedCount"] and not self.deadline.passed():
                try:
                    self.step()
                except Exception as error:  # noqa: BLE001 - every error is noted and survived
                    self.note(error)
                    # Not from a transaction (init, poll, a rewind): start the consumer afresh.
                    self.close_consumer()
                    time.sleep(min(COPY_PAUSE_S, self.deadline.remaining()))
        finally:
            self.close_consumer()
            self.producer = None
        return {
            "copied": self.copied,
            "transactions": self.transactions,
            "aborted": self.aborted,
            "errors": self.errors,
        }

    def step(self):
        if self.producer is None:
            self.producer = self.new_producer()
        if self.consumer is None:
            self.consumer = self.new_consumer()
            self.rewinding = self.uncertain is not None
        if self.rewinding:
            self.rewind()
        per_transaction = self.command.get("maxRecordsPerTransaction") or 50
        batch = []
        for message in self.consumer.consume(
            per_transaction, timeout=min(POLL_SLICE_S, self.deadline.remaining())
        ):
            if message.error() is not None:
                raise_fatal(message.error())
            else:
                batch.append(message)
        if batch:
            self.transact(batch)

    def call_s(self):
        return min(PRODUCER_CALL_MAX_S, self.deadline.remaining())

    def transact(self, batch):
        producer = self.producer
        committing = False
        try:
            producer.begin_transaction()
            offsets = {}
            for message in batch:
                produce_copy(producer, self.command["to"], message)
                offsets[(message.topic(), message.partition())] = message.offset() + 1
            positions = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
            metadata = self.consumer.consumer_group_metadata()
            producer.send_offsets_to_transaction(positions, metadata, self.call_s())
            committing = True
            self.commit(producer)
            self.copied += len(batch)
            self.transactions += 1
        except Exception as error:  # noqa: BLE001 - any failure ends the transaction
            self.note(error)
            self.rewinding = True
            # Before commit_transaction nothing can land; after it failed, the offsets tell.
            if committing:
                self.uncertain = batch
            else:
                self.aborted += 1
            if fatal_error(error) or not self.abort(producer):
                self.producer = None

    def commit(self, producer):
        """commit_transaction, retried while librdkafka calls the failure retriable."""
        while True:
            try:
                producer.commit_transaction(self.call_s())
                return
            except KafkaException as error:
                kafka = error.args[0] if error.args else None
                retriable = isinstance(kafka, KafkaError) and kafka.retriable()
                if not retriable or self.deadline.passed():
                    raise
                self.note(error)

    def abort(self, producer):
        """Aborts the open transaction; False when the producer cannot and must be replaced."""
        try:
            producer.abort_transaction(self.call_s())
        except KafkaException as error:
            self.note(error)
            return False
        # An abort that worked settles a failed commit: nothing of it landed.
        if self.uncertain is not None:
            self.uncertain = None
            self.aborted += 1
        return True

    def rewind(self):
        """Seeks each assigned partition to the group's committed offset (the beginning when
        it has none) and counts what of an uncertain batch those offsets show committed."""
        assigned = {(tp.topic, tp.partition) for tp in self.consumer.assignment()}
        wanted = set(assigned)
        for message in self.uncertain or []:
            wanted.add((message.topic(), message.partition()))
        committed = {}
        if wanted:
            asked = [TopicPartition(t, p) for t, p in sorted(wanted)]
            for tp in self.consumer.committed(asked, timeout=self.deadline.remaining()):
                if tp.error is not None:
                    raise KafkaException(tp.error)
                if tp.offset >= 0:
                    committed[(tp.topic, tp.partition)] = tp.offset
        if self.uncertain is not None:
            landed = sum(
                1
                for m in self.uncertain
                if m.offset() < committed.get((m.topic(), m.partition()), 0)
            )
            self.copied += landed
            if landed > 0:
                self.transactions += 1
            else:
                self.aborted += 1
            self.uncertain = None
        for topic, partition in sorted(assigned):
            offset = committed.get((topic, partition), OFFSET_BEGINNING)
            self.consumer.seek(TopicPartition(topic, partition, offset))
        self.rewinding = False

    def new_producer(self):
        config = base_config(self.command)
        config.update(
            {
                "transactional.id": self.command["transactionalId"],
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
            }
        )
        producer = Producer(config)
        producer.init_transactions(self.call_s())
        return producer

    def new_consumer(self):
        config = base_config(self.command)
        config.update(
            {
                "group.id": self.command["groupId"],
                "group.protocol": "classic",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "session.timeout.ms": 10000,
                "heartbeat.interval.ms": 1000,
            }
        )
        consumer = Consumer(config)
        consumer.subscribe([self.command["from"]])
        return consumer

    def note(self, error):
        if len(self.errors) < COPY_ERRORS_MAX:
            self.errors.append(describe(error)[:COPY_ERROR_TEXT_MAX])

    def close_consumer(self):
        consumer, self.consumer = self.consumer, None
        if consumer is not None:
            try:
                consumer.close()
            except Exception as error:  # noqa: BLE001 - a failed close is noted, not raised
                self.note(error)


def fatal_error(error):
    """An error after which the producer cannot even abort; anything not from librdkafka too."""
    if not (isinstance(error, KafkaException) and isinstance(error.args[0], KafkaError)):
        return True
    return error.args[0].fatal()


def produce_copy(producer, topic, message):
    """Produces a copy of a consumed message: delivery errors surface at commit_transaction."""
    kwargs = {
        "key": message.key(),
        "value": message.value(),
        "headers": message.headers(),
        "partition": message.partition(),
        "timestamp": message.timestamp()[1],
    }
    while True:
        try:
            producer.produce(topic, **kwargs)
            return
        except BufferError:
            producer.poll(0.05)


class ConfluentDriver:
    def __init__(self):
        self.admins = {}
        self.producers = {}
        self.consumer = None
        self.group_log = None

    def admin(self, command):
        bootstrap = command["bootstrap"]
        if bootstrap not in self.admins:
            config = base_config(command)
            # librdkafka >= 2.10 re-bootstraps when every known broker is down, as when the
            # test's single broker restarts. In 2.16 a long-lived AdminClient then keeps sending
            # its coordinator requests (DescribeGroups, OffsetFetch, DeleteGroups) to the
            # decommissioned handle of node 0 until they time out, while a new AdminClient on the
            # same broker succeeds. Without re-bootstrap the handle simply reconnects.
            config["metadata.recovery.strategy"] = "none"
            self.admins[bootstrap] = AdminClient(config)
        return self.admins[bootstrap]

    def close(self):
        for producer in self.producers.values():
            producer.flush(5)
        if self.consumer is not None:
            self.consumer.close()

    # --- topics and configs

    def op_createTopic(self, command, deadline):
        topic = NewTopic(
            command["topic"],
            num_partitions=command["partitions"],
            replication_factor=1,
            config=command.get("configs") or {},
        )
        futures = self.admin(command).create_topics(
            [topic], request_timeout=deadline.remaining(), operation_timeout=deadline.remaining()
        )
        futures[command["topic"]].result(timeout=deadline.remaining())
        return None

    def op_deleteTopic(self, command, deadline):
        futures = self.admin(command).delete_topics(
            [command["topic"]],
            request_timeout=deadline.remaining(),
            operation_timeout=deadline.remaining(),
        )
        futures[command["topic"]].result(timeout=deadline.remaining())
        return None

    def op_listTopics(self, command, deadline):
        metadata = self.admin(command).list_topics(timeout=deadline.remaining())
        return sorted(metadata.topics.keys())

    def op_describeConfigs(self, command, deadline):
        resource = ConfigResource(ResourceType.TOPIC, command["topic"])
        futures = self.admin(command).describe_configs(
            [resource], request_timeout=deadline.remaining()
        )
        entries = futures[resource].result(timeout=deadline.remaining())
        return {name: entry.value for name, entry in entries.items()}

    def op_alterConfigs(self, command, deadline):
        entries = [
            ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
            for name, value in command["configs"].items()
        ]
        resource = ConfigResource(
            ResourceType.TOPIC, command["topic"], incremental_configs=entries
        )
        futures = self.admin(command).incremental_alter_configs(
            [resource], request_timeout=deadline.remaining()
        )
        futures[resource].result(timeout=deadline.remaining())
        return None

    # --- produce and read

    def op_produce(self, command, deadline):
        compression = command.get("compression") or "none"
        idempotent = bool(command.get("idempotent"))
        key = (command["bootstrap"], compression, idempotent)
        producer = self.producers.get(key)
        if producer is None:
            config = base_config(command)
            config.update(
                {
                    "acks": "all",
                    "compression.type": compression,
                    "enable.idempotence": idempotent,
                    "linger.ms": 5,
                    "message.timeout.ms": timeout_ms(command),
                }
            )
            producer = self.producers[key] = Producer(config)
        try:
            return produce_all(producer, command["topic"], command["records"], deadline)
        except Exception:
            # A producer that failed (an idempotent one may be in a fatal state) is not reused.
            del self.producers[key]
            producer.flush(0)
            raise

    def op_consumeAll(self, command, deadline):
        config = base_config(command)
        # The binding insists on a group.id; assign() never joins the group.
        config.update(
            {
                "group.id": "tributary-test-assign-only",
                "enable.auto.commit": False,
                "isolation.level": command.get("isolationLevel") or "read_committed",
            }
        )
        consumer = Consumer(config)
        topic = command["topic"]
        consumer.assign(
            [TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(command["partitions"])]
        )
        records = []
        try:
            while len(records) < command["expectedCount"] and not deadline.passed():
                batch = consumer.consume(CONSUME_BATCH, timeout=min(0.5, deadline.remaining()))
                for message in batch:
                    if message.error() is not None:
                        raise_fatal(message.error())
                    else:
                        records.append(record_of(message))
        finally:
            consumer.close()
        return records

    def op_listOffsets(self, command, deadline):
        spec = command["spec"]
        if spec == "earliest":
            offset_spec = OffsetSpec.earliest()
        elif spec == "latest":
            offset_spec = OffsetSpec.latest()
        else:
            offset_spec = OffsetSpec.for_timestamp(int(spec))
        partition = TopicPartition(command["topic"], command["partition"])
        futures = self.admin(command).list_offsets(
            {partition: offset_spec}, request_timeout=deadline.remaining()
        )
        info = futures[partition].result(timeout=deadline.remaining())
        return None if info.offset < 0 else info.offset

    def op_deleteRecords(self, command, deadline):
        partition = TopicPartition(command["topic"], command["partition"], command["beforeOffset"])
        futures = self.admin(command).delete_records(
            [partition],
            request_timeout=deadline.remaining(),
            operation_timeout=deadline.remaining(),
        )
        return futures[partition].result(timeout=deadline.remaining()).low_watermark

    # --- groups through the admin client

    def op_listGroups(self, command, deadline):
        future = self.admin(command).list_consumer_groups(request_timeout=deadline.remaining())
        listed = future.result(timeout=deadline.remaining())
        if listed.errors and not listed.valid:
            raise KafkaException(listed.errors[0])
        return [
            {
                "groupId": group.group_id,
                "state": group_state(group.state),
                "type": None if group.type is None else GROUP_TYPES.get(group.type.name),
            }
            for group in listed.valid
        ]

    def op_describeGroup(self, command, deadline):
        group_id = command["groupId"]
        futures = self.admin(command).describe_consumer_groups(
            [group_id], request_timeout=deadline.remaining()
        )
        group = futures[group_id].result(timeout=deadline.remaining())
        members = [
            {
                "memberId": member.member_id,
                "clientId": member.client_id,
                "assignment": topic_partitions(
                    member.assignment.topic_partitions if member.assignment else []
                ),
            }
            for member in group.members
        ]
        return {"groupId": group.group_id, "state": group_state(group.state), "members": members}

    def op_groupOffsets(self, command, deadline):
        group_id = command["groupId"]
        futures = self.admin(command).list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group_id)], request_timeout=deadline.remaining()
        )
        offsets = futures[group_id].result(timeout=deadline.remaining())
        for tp in offsets.topic_partitions:
            if tp.error is not None:
                raise KafkaException(tp.error)
        return [
            {"topic": tp.topic, "partition": tp.partition, "offset": tp.offset}
            for tp in offsets.topic_partitions
            if tp.offset >= 0
        ]

    def op_deleteGroup(self, command, deadline):
        group_id = command["groupId"]
        futures = self.admin(command).delete_consumer_groups(
            [group_id], request_timeout=deadline.remaining()
        )
        futures[group_id].result(timeout=deadline.remaining())
        return None

    # --- the group consumer

    def op_subscribe(self, command, deadline):
        if self.consumer is not None:
            raise CommandError("this process already has a group consumer; closeConsumer first")
        config = base_config(command)
        config.update(
            {
                "group.id": command["groupId"],
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": command.get("isolationLevel") or "read_committed",
            }
        )
        protocol = command.get("groupProtocol") or "classic"
        if protocol == "consumer":
            # KIP-848: the broker owns session timeout, heartbeats and assignment, and librdkafka
            # refuses the classic-only settings, so none of them is set.
            config["group.protocol"] = "consumer"
            watch = UnsupportedByBroker()
            logger = logging.getLogger("confluent_line_driver.group")
            logger.setLevel(logging.DEBUG)
            logger.propagate = False
            logger.handlers = [watch]
            config.update({"debug": "cgrp", "logger": logger})
            self.group_log = watch
        elif protocol == "classic":
            config.update({"session.timeout.ms": 10000, "heartbeat.interval.ms": 1000})
            self.group_log = None
        else:
            raise CommandError("unknown groupProtocol %r" % protocol)
        if command.get("instanceId"):
            config["group.instance.id"] = command["instanceId"]
        consumer = Consumer(config)
        consumer.subscribe(list(command["topics"]))
        self.consumer = consumer
        return None

    def group_consumer(self):
        if self.consumer is None:
            raise CommandError("no group consumer: subscribe first")
        return self.consumer

    def op_poll(self, command, deadline):
        consumer = self.group_consumer()
        until, max_records = poll_bounds(command)
        records = []
        while len(records) < max_records and not until.passed():
            want = min(CONSUME_BATCH, max_records - len(records))
            for message in consumer.consume(want, timeout=min(POLL_SLICE_S, until.remaining())):
                if message.error() is not None:
                    raise_fatal(message.error())
                else:
                    records.append(record_of(message, with_topic=True))
            if self.group_log is not None and self.group_log.missing is not None:
                reason = self.group_log.missing
                raise KafkaException(KafkaError(KafkaError._UNSUPPORTED_FEATURE, reason))
        return {"records": records, "assignment": topic_partitions(consumer.assignment())}

    def op_commit(self, command, deadline):
        try:
            self.group_consumer().commit(asynchronous=False)
        except KafkaException as error:
            # Nothing consumed since the last commit: there is nothing to commit.
            if error.args[0].code() != KafkaError._NO_OFFSET:
                raise
        return None

    def op_closeConsumer(self, command, deadline):
        consumer, self.consumer = self.consumer, None
        if consumer is not None:
            consumer.close()
        return None

    # --- transactions

    def op_transactionalProduce(self, command, deadline):
        config = base_config(command)
        config.update(
            {
                "transactional.id": command["transactionalId"],
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
            }
        )
        producer = Producer(config)
        try:
            producer.init_transactions(deadline.remaining())
            for transaction in command["transactions"]:
                producer.begin_transaction()
                produce_all(producer, command["topic"], transaction["records"], deadline)
                if transaction.get("commit", True):
                    producer.commit_transaction(deadline.remaining())
                else:
                    producer.abort_transaction(deadline.remaining())
        finally:
            producer.flush(0)
        return None

    def op_transactionalCopy(self, command, deadline):
        return TransactionalCopy(command, deadline).run()


def main():
    output = ProtocolOutput()
    # version() is a bare string in current releases and a (string, int) pair in older ones.
    version = confluent_kafka.version()
    version = version[0] if isinstance(version, tuple) else version
    librdkafka = confluent_kafka.libversion()[0]
    output.ready(
        "confluent-kafka", "%s, librdkafka %s" % (version, librdkafka), librdkafka=librdkafka
    )
    driver = ConfluentDriver()
    for line in sys.stdin:
        if not line.strip():
            continue
        command_id = None
        try:
            command_id, op, command = parse_command(line)
            handler = handler_for(driver, op, "confluent-kafka")
            deadline = command_deadline(command)
            output.answer(command_id, handler(command, deadline))
        except Exception as error:  # noqa: BLE001 - a failed command is an answer, never a crash
            output.fail(command_id, error, kafka_code)
    driver.close()


if __name__ == "__main__":
    main()
