"""The line driver protocol (packages/testing/DRIVER-PROTOCOL.md), shared by the Python line
drivers run from the virtualenv (confluent_line_driver.py, aiokafka_line_driver.py).

A driver prints one ready line, then answers each JSON command line on stdin with one JSON answer
line on stdout, in order. stdout carries answers only: `protocol_output()` moves the process's
file descriptor 1 to stderr, so whatever a library prints (Python or C) lands in the client log.
Every failure becomes an answer: `{"ok": false, "error": "<Type>: <message>", "code": <name>}`.
"""

import json
import os
import sys
import time
import traceback

# Records are encoded as in the older one-command protocol (driver_protocol.py, beside this file
# on the drivers' sys.path), so every Python driver carries them alike.
from driver_protocol import unb64, unb64_headers, wire_record  # noqa: F401 - re-exported

# Kafka's error names by code, -1 (UNKNOWN_SERVER_ERROR) to 133, as in Kafka's Errors enum and
# packages/protocol/src/error-codes.ts. Clients know older names for some codes (librdkafka's
# NOT_LEADER_FOR_PARTITION is Kafka's NOT_LEADER_OR_FOLLOWER); answers use Kafka's.
_KAFKA_ERROR_NAMES = """
    UNKNOWN_SERVER_ERROR NONE OFFSET_OUT_OF_RANGE CORRUPT_MESSAGE UNKNOWN_TOPIC_OR_PARTITION
    INVALID_FETCH_SIZE LEADER_NOT_AVAILABLE NOT_LEADER_OR_FOLLOWER REQUEST_TIMED_OUT
    BROKER_NOT_AVAILABLE REPLICA_NOT_AVAILABLE MESSAGE_TOO_LARGE STALE_CONTROLLER_EPOCH
    OFFSET_METADATA_TOO_LARGE NETWORK_EXCEPTION COORDINATOR_LOAD_IN_PROGRESS
    COORDINATOR_NOT_AVAILABLE NOT_COORDINATOR INVALID_TOPIC_EXCEPTION RECORD_LIST_TOO_LARGE
    NOT_ENOUGH_REPLICAS NOT_ENOUGH_REPLICAS_AFTER_APPEND INVALID_REQUIRED_ACKS
    ILLEGAL_GENERATION INCONSISTENT_GROUP_PROTOCOL INVALID_GROUP_ID UNKNOWN_MEMBER_ID
    INVALID_SESSION_TIMEOUT REBALANCE_IN_PROGRESS INVALID_COMMIT_OFFSET_SIZE
    TOPIC_AUTHORIZATION_FAILED GROUP_AUTHORIZATION_FAILED CLUSTER_AUTHORIZATION_FAILED
    INVALID_TIMESTAMP UNSUPPORTED_SASL_MECHANISM ILLEGAL_SASL_STATE UNSUPPORTED_VERSION
    TOPIC_ALREADY_EXISTS INVALID_PARTITIONS INVALID_REPLICATION_FACTOR
    INVALID_REPLICA_ASSIGNMENT INVALID_CONFIG NOT_CONTROLLER INVALID_REQUEST
    UNSUPPORTED_FOR_MESSAGE_FORMAT POLICY_VIOLATION OUT_OF_ORDER_SEQUENCE_NUMBER
    DUPLICATE_SEQUENCE_NUMBER INVALID_PRODUCER_EPOCH INVALID_TXN_STATE
    INVALID_PRODUCER_ID_MAPPING INVALID_TRANSACTION_TIMEOUT CONCURRENT_TRANSACTIONS
    TRANSACTION_COORDINATOR_FENCED TRANSACTIONAL_ID_AUTHORIZATION_FAILED SECURITY_DISABLED
    OPERATION_NOT_ATTEMPTED KAFKA_STORAGE_ERROR LOG_DIR_NOT_FOUND SASL_AUTHENTICATION_FAILED
    UNKNOWN_PRODUCER_ID REASSIGNMENT_IN_PROGRESS DELEGATION_TOKEN_AUTH_DISABLED
    DELEGATION_TOKEN_NOT_FOUND DELEGATION_TOKEN_OWNER_MISMATCH
    DELEGATION_TOKEN_REQUEST_NOT_ALLOWED DELEGATION_TOKEN_AUTHORIZATION_FAILED
    DELEGATION_TOKEN_EXPIRED INVALID_PRINCIPAL_TYPE NON_EMPTY_GROUP GROUP_ID_NOT_FOUND
    FETCH_SESSION_ID_NOT_FOUND INVALID_FETCH_SESSION_EPOCH LISTENER_NOT_FOUND
    TOPIC_DELETION_DISABLED FENCED_LEADER_EPOCH UNKNOWN_LEADER_EPOCH
    UNSUPPORTED_COMPRESSION_TYPE STALE_BROKER_EPOCH OFFSET_NOT_AVAILABLE MEMBER_ID_REQUIRED
    PREFERRED_LEADER_NOT_AVAILABLE GROUP_MAX_SIZE_REACHED FENCED_INSTANCE_ID
    ELIGIBLE_LEADERS_NOT_AVAILABLE ELECTION_NOT_NEEDED NO_REASSIGNMENT_IN_PROGRESS
    GROUP_SUBSCRIBED_TO_TOPIC INVALID_RECORD UNSTABLE_OFFSET_COMMIT THROTTLING_QUOTA_EXCEEDED
    PRODUCER_FENCED RESOURCE_NOT_FOUND DUPLICATE_RESOURCE UNACCEPTABLE_CREDENTIAL
    INCONSISTENT_VOTER_SET INVALID_UPDATE_VERSION FEATURE_UPDATE_FAILED
    PRINCIPAL_DESERIALIZATION_FAILURE SNAPSHOT_NOT_FOUND POSITION_OUT_OF_RANGE
    UNKNOWN_TOPIC_ID DUPLICATE_BROKER_REGISTRATION BROKER_ID_NOT_REGISTERED
    INCONSISTENT_TOPIC_ID INCONSISTENT_CLUSTER_ID TRANSACTIONAL_ID_NOT_FOUND
    FETCH_SESSION_TOPIC_ID_ERROR INELIGIBLE_REPLICA NEW_LEADER_ELECTED
    OFFSET_MOVED_TO_TIERED_STORAGE FENCED_MEMBER_EPOCH UNRELEASED_INSTANCE_ID
    UNSUPPORTED_ASSIGNOR STALE_MEMBER_EPOCH MISMATCHED_ENDPOINT_TYPE UNSUPPORTED_ENDPOINT_TYPE
    UNKNOWN_CONTROLLER_ID UNKNOWN_SUBSCRIPTION_ID TELEMETRY_TOO_LARGE INVALID_REGISTRATION
    TRANSACTION_ABORTABLE INVALID_RECORD_STATE SHARE_SESSION_NOT_FOUND
    INVALID_SHARE_SESSION_EPOCH FENCED_STATE_EPOCH INVALID_VOTER_KEY DUPLICATE_VOTER
    VOTER_NOT_FOUND INVALID_REGULAR_EXPRESSION REBOOTSTRAP_REQUIRED STREAMS_INVALID_TOPOLOGY
    STREAMS_INVALID_TOPOLOGY_EPOCH STREAMS_TOPOLOGY_FENCED SHARE_SESSION_LIMIT_REACHED
""".split()


def kafka_error_name(code):
    """Kafka's name for a broker error code, None for a code outside the table."""
    if code is None or not -1 <= code < len(_KAFKA_ERROR_NAMES) - 1:
        return None
    return _KAFKA_ERROR_NAMES[code + 1]


class Unsupported(Exception):
    """An op the client cannot do; answered as "Unsupported: <why>"."""


class CommandError(Exception):
    """A failed command the driver itself detected, with Kafka's error name when there is one."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def topic_partitions(partitions):
    """An assignment as the protocol carries it: [{"topic", "partition"}]."""
    return [{"topic": tp.topic, "partition": tp.partition} for tp in partitions or []]


CLOSE_MARGIN_MS = 2000


class Deadline:
    """`timeoutMs` bounds the whole command: each wait inside it gets what is left."""

    def __init__(self, timeout_ms):
        self.end = time.monotonic() + timeout_ms / 1000.0

    def remaining(self, floor=0.001):
        return max(floor, self.end - time.monotonic())

    def passed(self):
        return time.monotonic() >= self.end


class ProtocolOutput:
    """Writes protocol lines to the real stdout, which no one else can reach any more."""

    def __init__(self):
        sys.stdout.flush()
        self._out = os.fdopen(os.dup(1), "w", encoding="utf-8")
        os.dup2(2, 1)
        sys.stdout = sys.stderr

    def write(self, message):
        self._out.write(json.dumps(message, separators=(",", ":")) + "\n")
        self._out.flush()

    def ready(self, client, version, **extra):
        self.write({"ready": True, "client": client, "version": version, **extra})

    def answer(self, command_id, result):
        self.write({"id": command_id, "ok": True, "result": result})

    def fail(self, command_id, error, code_of):
        """Answers a failed command; code_of(error) gives Kafka's error name or None."""
        if not isinstance(error, Unsupported):
            traceback.print_exception(error, file=sys.stderr)
        answer = {"id": command_id, "ok": False, "error": describe(error)}
        code = error.code if isinstance(error, CommandError) else code_of(error)
        if code is not None:
            answer["code"] = code
        self.write(answer)


def describe(error):
    message = str(error) or repr(error)
    return "%s: %s" % (type(error).__name__, message)


def parse_command(line):
    """The command on one stdin line: (id, op, command); a bad line raises CommandError."""
    try:
        command = json.loads(line)
    except ValueError as error:
        raise CommandError("not a JSON command: %s" % error) from None
    if not isinstance(command, dict) or not isinstance(command.get("op"), str):
        raise CommandError("a command is a JSON object with an op")
    return command.get("id"), command["op"], command


def handler_for(driver, op, client):
    """The driver's op_<op> method; an op it lacks is answered "Unsupported"."""
    handler = getattr(driver, "op_" + op, None)
    if handler is None:
        raise Unsupported("%s driver has no op %r" % (client, op))
    return handler


def poll_bounds(command):
    """poll's bounds: a Deadline after durationMs (at most timeoutMs) and the most records."""
    until = Deadline(min(command.get("durationMs", 1000), timeout_ms(command)))
    return until, command.get("maxRecords") or 1_000_000


def timeout_ms(command, default_ms=60000):
    value = command.get("timeoutMs")
    return default_ms if value is None else int(value)


def command_deadline(command):
    """The deadline a command's waits share: a little before `timeoutMs`, so that a command
    ending by time (consumeAll with too few records) still closes its clients and answers
    within the bound."""
    bound_ms = timeout_ms(command)
    return Deadline(bound_ms - min(CLOSE_MARGIN_MS, bound_ms // 10))
