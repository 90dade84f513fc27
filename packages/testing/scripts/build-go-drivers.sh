#!/usr/bin/env bash
# Builds the Go test drivers (franz-go and IBM/sarama) that packages/testing/test/clients drives
# through the line protocol. Idempotent: the build is skipped while the Go sources, go.mod and
# go.sum hash to the value the last build stamped. Modules come from the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")/../go"

required_minor=26
# The Go tarball's usual home, for shells whose PATH does not list it.
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
  export PATH="$PATH:/usr/local/go/bin"
fi
if ! command -v go >/dev/null; then
  echo "build-go-drivers: no go on PATH; install Go 1.${required_minor}+ (go.mod asks for it)" >&2
  exit 1
fi
minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
if ((minor < required_minor)); then
  echo "build-go-drivers: $(go env GOVERSION) is older than go1.${required_minor}" >&2
  exit 1
fi

stamp=bin/.build-stamp
hash=$( (
  go env GOVERSION
  find . -path ./bin -prune -o -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print |
    LC_ALL=C sort | xargs sha256sum
) | sha256sum | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] &&
  [ -x bin/franz-driver ] && [ -x bin/sarama-driver ] && [ -x bin/franz-security ]; then
  echo "build-go-drivers: drivers up to date"
  exit 0
fi

mkdir -p bin
start=$(date +%s)
go build -o bin/ ./cmd/...
echo "$hash" >"$stamp"
echo "build-go-drivers: built bin/franz-driver, bin/franz-security and bin/sarama-driver in $(($(date +%s) - start)) s"
