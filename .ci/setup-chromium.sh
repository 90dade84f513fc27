#!/usr/bin/env bash
# Debian's chromium for the console's browser tests (packages/console/test), driven by
# playwright-core at /usr/bin/chromium. Idempotent: returns at once when it is installed.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
