#!/usr/bin/env bash
# Makes sure the services the tests use are up on loopback: PostgreSQL at
# 127.0.0.1:5432 and Redis at 127.0.0.1:6379. A service that does not answer
# is started (its Debian package installed first if missing, as root), then
# waited for up to 20 s. Exits non-zero, saying which service and why, if one
# cannot be brought up. Run by `make test`.
set -euo pipefail

wait_secs=20

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 ping 2>/dev/null)" = PONG ]; }

# install PACKAGE...: apt-get install, as root only.
install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "services: the tests need $* (install with apt-get, as root)" >&2
    exit 1
  fi
  echo "services: installing $*" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# ensure NAME UP_FUNCTION START_FUNCTION LOG: start NAME unless it answers,
# then wait for it.
ensure() {
  local name=$1 up=$2 start=$3 log=$4 out
  if "$up"; then
    return 0
  fi
  echo "services: $name is not answering; starting it" >&2
  # Starting may fail because the service is already starting; waiting tells.
  out=$("$start" 2>&1) || true
  for _ in $(seq $((wait_secs * 4))); do
    if "$up"; then
      echo "services: $name is up" >&2
      return 0
    fi
    sleep 0.25
  done
  echo "services: $name did not come up within ${wait_secs}s (see $log)${out:+; its start said:}" >&2
  [ -z "$out" ] || printf '%s\n' "$out" >&2
  exit 1
}

start_pg() {
  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
}

start_redis() {
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
}

missing=()
if ! command -v pg_isready >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null 2>&1 ||
  [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  missing+=(postgresql)
fi
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  missing+=(redis-server)
fi
if [ ${#missing[@]} -gt 0 ]; then
  install "${missing[@]}"
fi

ensure PostgreSQL pg_up start_pg /var/log/postgresql
ensure Redis redis_up start_redis /var/log/redis/ci.log
