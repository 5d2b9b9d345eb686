#!/usr/bin/env bash
# Builds the pinned MinIO server that the s3 tests start, into .tools/bin
# (git-ignored), unless it is there already. The first build takes about five
# minutes; later runs return at once. Run from anywhere; `make test` runs it.
set -euo pipefail

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin/minio"
if [ -x "$bin" ]; then
  exit 0
fi
echo "building MinIO $MINIO_VERSION into .tools/bin (about five minutes, once)" >&2
mkdir -p "$root/.tools/bin"
cd "$root"
GOBIN="$root/.tools/bin" go install "github.com/minio/minio@$MINIO_VERSION"
