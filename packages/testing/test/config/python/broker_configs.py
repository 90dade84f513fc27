"""AlterConfigs and DescribeConfigs on a BROKER resource with python3-confluent-kafka's AdminClient.

Reads one JSON command on stdin: {"bootstrap", "op": "alter" | "describe", "broker": "0",
"configs": {name: value}}; prints one JSON answer on stdout: {"ok": true, "configs": {name:
[value, source, read_only]}} or {"ok": false, "code": <Kafka error code>, "error": "..."}.
"""
import json
import sys

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource


def main():
    command = json.load(sys.stdin)
    admin = AdminClient({"bootstrap.servers": command["bootstrap"]})
    broker = command.get("broker", "0")
    try:
        if command["op"] == "alter":
            resource = ConfigResource("broker", broker, set_config=command["configs"])
            admin.alter_configs([resource], request_timeout=15)[resource].result()
            print(json.dumps({"ok": True}))
            return
        resource = ConfigResource("broker", broker)
        entries = admin.describe_configs([resource], request_timeout=15)[resource].result()
        configs = {
            name: [entry.value, int(entry.source), bool(entry.is_read_only)]
            for name, entry in entries.items()
        }
        print(json.dumps({"ok": True, "configs": configs}))
    except KafkaException as error:
        kafka_error = error.args[0]
        print(json.dumps({"ok": False, "code": kafka_error.code(), "error": kafka_error.str()}))


main()
