#!/usr/bin/env bash
# Debian's openssl command line, which the security tests use to make their CA, server and client
# certificates (packages/testing/src/test-certificates.ts). Idempotent: returns at once when
# openssl is installed.
set -euo pipefail

if command -v openssl >/dev/null; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends openssl >/dev/null
openssl version
