"""The two halves of a broker-SIGKILL transaction check, run around a kill and a restart.

Usage: kill_scenario.py BOOTSTRAP TOPIC before|after
  before: creates TOPIC (2 partitions), commits "k-commit" with transactional.id "txn-k", then
          leaves "k-open" in an open transaction (flushed to the broker) and exits.
  after:  a new "txn-k" producer starts (which must abort "k-open") and commits "k-after"; then
          prints one JSON line with what read_committed and read_uncommitted consumers see.
"""
import json
import sys

from confluent_kafka.admin import AdminClient, NewTopic

from txn_scenario import committed, consume, producer, send


def main():
    bootstrap, topic, phase = sys.argv[1:4]
    if phase == "before":
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for future in admin.create_topics([NewTopic(topic, 2, 1)]).values():
            future.result(30)
        p = producer(bootstrap, "txn-k")
        p.init_transactions(30)
        committed(p, topic, "k-commit")
        p.begin_transaction()
        send(p, topic, "k-open")
        print(json.dumps({"ok": True}))
        return
    p = producer(bootstrap, "txn-k")
    p.init_transactions(30)
    committed(p, topic, "k-after")
    print(json.dumps({
        "readCommitted": consume(bootstrap, topic, "read_committed"),
        "readUncommitted": consume(bootstrap, topic, "read_uncommitted"),
    }))


if __name__ == "__main__":
    main()
