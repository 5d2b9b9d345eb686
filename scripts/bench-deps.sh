#!/usr/bin/env bash
# Installs the Debian packages bench/fetch.sh needs when they are missing:
# aria2 (aria2c) and wget2, the peers of `mediagate fetch`; nginx, the origin;
# fio, for the disk's sequential write bandwidth (dd is the fallback).
set -euo pipefail

missing=()
command -v aria2c >/dev/null 2>&1 || missing+=(aria2)
command -v wget2 >/dev/null 2>&1 || missing+=(wget2)
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
command -v fio >/dev/null 2>&1 || missing+=(fio)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench/fetch.sh needs: ${missing[*]} (install them with apt-get, as root)" >&2
    exit 1
  fi
  echo "installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
