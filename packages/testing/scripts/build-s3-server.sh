#!/usr/bin/env bash
# Builds the S3-compatible test server (SeaweedFS's `weed`, Apache-2.0) that the object-store
# tests start on loopback (packages/testing/src/s3-server.ts; docs/adr/0009-s3-test-server.md).
# Idempotent: skipped while .tools/bin/weed exists and the stamp names the pinned version.
# The module comes from the Go module proxy; a cold build takes minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

# SeaweedFS publishes no semver tags the proxy lists, so the version is a pinned pseudo-version.
version=v0.0.0-20261109003541-7506e5f91cd6
# SeaweedFS's go.mod asks for go 1.26.6.
required_minor=26

# The Go tarball's usual home, for shells whose PATH does not list it.
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
  export PATH="$PATH:/usr/local/go/bin"
fi
if ! command -v go >/dev/null; then
  echo "build-s3-server: no go on PATH; install Go 1.${required_minor}+ to build SeaweedFS" >&2
  exit 1
fi
minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
if ((minor < required_minor)); then
  echo "build-s3-server: $(go env GOVERSION) is older than go1.${required_minor}" >&2
  exit 1
fi

bin_dir="$PWD/.tools/bin"
stamp="$bin_dir/.weed-version"
if [ -x "$bin_dir/weed" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ]; then
  echo "build-s3-server: weed $version up to date"
  exit 0
fi

mkdir -p "$bin_dir"
start=$(date +%s)
# `go install module@version` refuses this module: its go.mod has a replace directive (for a
# deleted dependency). So fetch the module source and build it as the main module, where the
# replace applies. Two parallel compiles: two cores, and other work runs beside the build.
source_dir=$(go mod download -json "github.com/seaweedfs/seaweedfs@$version" |
  sed -n -E 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')
if [ -z "$source_dir" ] || [ ! -d "$source_dir" ]; then
  echo "build-s3-server: go mod download of seaweedfs@$version gave no source directory" >&2
  exit 1
fi
(cd "$source_dir" && GOFLAGS="${GOFLAGS:--p=2}" go build -o "$bin_dir/weed" ./weed)
echo "$version" >"$stamp"
echo "build-s3-server: built .tools/bin/weed ($version) in $(($(date +%s) - start)) s"
