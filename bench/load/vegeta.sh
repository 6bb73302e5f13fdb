#!/usr/bin/env bash
# Installs the vegeta load generator (a Go module) under .cache/go once, and prints its path.
#   bench/load/vegeta.sh
# Needs Go (https://go.dev/dl/, or apt-get install golang-go); nothing is installed outside .cache/.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VERSION=v12.13.0
export GOPATH="$ROOT/.cache/go" GOBIN="$ROOT/.cache/go/bin" GOCACHE="$ROOT/.cache/go/build" GOFLAGS=-modcacherw
bin="$GOBIN/vegeta"
if [ -x "$bin" ] && [ "$(cat "$GOBIN/.vegeta-version" 2>/dev/null)" = "$VERSION" ]; then
  echo "$bin"; exit 0
fi
command -v go >/dev/null || {
  echo "bench-load: Go is needed to install vegeta (go install github.com/tsenart/vegeta/v12@$VERSION); install Go (https://go.dev/dl/ or apt-get install golang-go) and run again" >&2
  exit 1
}
echo "bench-load: installing vegeta $VERSION into .cache/go/bin (first use only)..." >&2
go install "github.com/tsenart/vegeta/v12@$VERSION" >&2
echo "$VERSION" > "$GOBIN/.vegeta-version"
echo "$bin"
