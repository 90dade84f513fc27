#!/usr/bin/env bash
# The virtualenv for the current Python Kafka clients (packages/testing/.venv): confluent-kafka
# from PyPI (its wheel bundles a recent librdkafka) and aiokafka, pinned in
# packages/testing/drivers/requirements.txt. Debian's python3-confluent-kafka and kafka-python
# stay on /usr/bin/python3 for the older-client tests; this venv never touches them.
#
# Idempotent: pip runs only when requirements.txt changed since the last install (a stamp file in
# the venv holds its hash), so a second run costs a hash and a file read.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
venv="$root/packages/testing/.venv"
requirements="$root/packages/testing/drivers/requirements.txt"
stamp="$venv/.requirements.sha256"

# pyenv's python3 when it has a working venv module (ensurepip included), else Debian's.
pick_python() {
  if command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; then
    command -v python3
    return
  fi
  if ! /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  echo /usr/bin/python3
}

# A venv whose interpreter no longer runs (its base Python was removed) is rebuilt.
if [ -d "$venv" ] && ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
  rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
  python="$(pick_python)"
  echo "build-python-drivers: creating $venv with $python ($("$python" --version))"
  "$python" -m venv "$venv"
fi

want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "build-python-drivers: $venv is up to date"
  exit 0
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
"$venv/bin/python" -c 'import aiokafka, confluent_kafka, cramjam'
"$venv/bin/python" -c 'from confluent_kafka.schema_registry import avro, json_schema, protobuf'
echo "$want" >"$stamp"
echo "build-python-drivers: installed $(tr '\n' ' ' <<<"$(grep -v '^#' "$requirements")")"
