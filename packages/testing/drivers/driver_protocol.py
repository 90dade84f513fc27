"""The stdin/stdout protocol shared by the client driver scripts (confluent_kafka_driver.py,
kafka_python_driver.py) and src/python-client-driver.ts.

One JSON command on stdin ({"op": ..., "bootstrap": ..., "timeout_ms": ..., ...}), one JSON answer
on stdout: {"ok": true, "result": ...} or {"ok": false, "error": "<ExceptionType>: <message>"}.
Keys, values and header values are base64 strings (null for a null field), so binary data
survives the JSON hop. Only the errors a driver names become answers; anything else is a driver
bug and ends the process with a traceback and no answer.
"""

import base64
import json
import sys
import traceback


def b64(data):
    return None if data is None else base64.b64encode(data).decode("ascii")


def unb64(text):
    return None if text is None else base64.b64decode(text)


def wire_record(partition, offset, key, value, headers, timestamp, topic=None):
    """A consumed record as the TypeScript side reads it; headers are (name, bytes|None) pairs.
    The topic is carried only when given (the line protocol's poll answers name it)."""
    record = {
        "partition": partition,
        "offset": offset,
        "key": b64(key),
        "value": b64(value),
        "headers": [[name, b64(data)] for name, data in (headers or [])],
        "timestamp": timestamp,
    }
    if topic is not None:
        record["topic"] = topic
    return record


def unb64_headers(headers):
    """A record's wire headers ([name, base64|null] pairs, or null) as (name, bytes|None)."""
    return [(name, unb64(data)) for name, data in headers or []]


def serve(ops, client_errors):
    """Runs the command on stdin with ops[command["op"]](command, timeout_s) and answers it.

    client_errors: the exception types the client raises for a failed request, besides the
    RuntimeError, ValueError, KeyError and TypeError that every driver reports.
    """
    cmd = json.loads(sys.stdin.read())
    timeout_s = cmd.get("timeout_ms", 30000) / 1000.0
    reported = (RuntimeError, ValueError, KeyError, TypeError) + tuple(client_errors)
    try:
        answer = {"ok": True, "result": ops[cmd["op"]](cmd, timeout_s)}
    except reported as error:
        traceback.print_exc(file=sys.stderr)
        answer = {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()
