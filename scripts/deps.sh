#!/usr/bin/env bash
# Installs the Debian packages the build needs when they are missing: a C
# compiler for the cgo SQLite driver. Run by `make test` and `make run`.
set -euo pipefail

missing=()
command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "mediagate needs: ${missing[*]} (install them with apt-get, as root)" >&2
    exit 1
  fi
  echo "installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
