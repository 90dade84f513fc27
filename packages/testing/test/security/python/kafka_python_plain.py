"""SASL/PLAIN through kafka-python 2.0.2 (Debian's python3-kafka), which sends SaslHandshake v0
and then the PLAIN token as a raw frame (no SaslAuthenticate). Prints one JSON line:
{"ok": true, "topics": [...]} or {"ok": false, "error": "..."}."""
import json
import sys

from kafka import KafkaAdminClient

bootstrap, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_plain_username=user,
        sasl_plain_password=password,
        api_version_auto_timeout_ms=10000,
        request_timeout_ms=10000,
    )
    topics = admin.list_topics()
    admin.close()
    print(json.dumps({"ok": True, "topics": sorted(topics)}))
except Exception as error:  # the driver reports every failure as a JSON answer
    print(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}))
