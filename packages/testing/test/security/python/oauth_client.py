"""OAUTHBEARER through python3-confluent-kafka (librdkafka 2.0.2): oauth_cb hands librdkafka the
JWT read from argv, which it sends as RFC 7628's client first message. Prints one JSON line:
{"ok": true, "topics": [...]} or {"ok": false, "error": "..."}, from list_topics."""
import json
import sys
import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

bootstrap, token, timeout_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
errors = []


def oauth_cb(_config):
    return token, time.time() + 3600


admin = AdminClient({
    "bootstrap.servers": bootstrap,
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanisms": "OAUTHBEARER",
    "oauth_cb": oauth_cb,
    "error_cb": lambda error: errors.append(str(error)),
})
try:
    # oauth_cb runs from poll(): without it librdkafka has no token to send.
    admin.poll(1.0)
    metadata = admin.list_topics(timeout=timeout_s)
    print(json.dumps({"ok": True, "topics": sorted(metadata.topics)}))
except KafkaException as error:
    print(json.dumps({"ok": False, "error": str(error), "errors": errors}))
