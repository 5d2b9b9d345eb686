#!/usr/bin/env bash
# Installs the Debian packages the benchmarks in bench/ need when they are
# missing: aria2 (aria2c) and wget2, the peers of `mediagate fetch`
# (bench/fetch.sh); nginx, the origin of the fetch benchmarks and the
# proxy_cache peer of bench/edge.sh; fio, for the disk's sequential write
# bandwidth (dd is the fallback); wrk, bench/edge.sh's load generator; varnish
# (varnishd), its other caching peer.
set -euo pipefail

missing=()
command -v aria2c >/dev/null 2>&1 || missing+=(aria2)
command -v wget2 >/dev/null 2>&1 || missing+=(wget2)
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
command -v fio >/dev/null 2>&1 || missing+=(fio)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v varnishd >/dev/null 2>&1 || [ -x /usr/sbin/varnishd ] || missing+=(varnish)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench/ needs: ${missing[*]} (install them with apt-get, as root)" >&2
    exit 1
  fi
  echo "installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
