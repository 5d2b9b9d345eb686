#!/usr/bin/env bash
# bench/fetchsvc.sh measures the fetch service beside the engine it runs on:
# the same list of URLS (100,000) generated 4 KiB files, from nginx on
# 127.0.0.1 serving them from tmpfs, fetched
#
#   standalone  by `mediagate fetch LIST -o DIR` (the engine, no server), and
#   service     by `mediagate serve` (SQLite and a disk store in a new data
#               directory, WORKERS built-in fetch workers) after
#               `mediagate fetch --server URL LIST`, which submits the list and
#               follows the fetch's events until it has finished.
#
# The service's time runs from the submit to the end of the follow, so it
# includes cutting the list into shards, the reports that turn the bodies
# into objects, and the manifest. What each stored is checked: every URL
# ok in the standalone results; for the service, the summary's counts and
# the manifest's lines. Peak RSS and CPU are the standalone run's (wait4)
# and the server's over the fetch (/proc). It prints a Markdown report.
#
# Knobs (environment): URLS, SHARD (10,000 URLs a shard), WORKERS (2), CONC
# (64: URLs in flight per shard run, and in the standalone run), MEDIAGATE
# (a built mediagate; default: built here), BENCH_TMPDIR (/var/tmp), SHM_DIR
# (/dev/shm), OUT_DIR, QUIET_MAX (30 s to wait for an idle machine).
# A quick run:  URLS=20000 bash bench/fetchsvc.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
URLS=${URLS:-100000}
SHARD=${SHARD:-10000}
WORKERS=${WORKERS:-2}
CONC=${CONC:-64}
BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp}
SHM_DIR=${SHM_DIR:-/dev/shm}
QUIET_MAX=${QUIET_MAX:-30}
OUT_DIR=${OUT_DIR:-$BENCH_TMPDIR/mediagate-fetchsvc-results-$(date -u +%Y%m%dT%H%M%SZ)}
SIZE=4096

BENCH=fetchsvc
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

PIDS=()
WORK=""
ORIG=""
cleanup() { stop_and_remove "$WORK" "$ORIG"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v go >/dev/null || die "go is not on PATH"
bash "$ROOT/scripts/bench-deps.sh"
((URLS > 0 && URLS <= 2000000 && SHARD > 0 && WORKERS > 0 && CONC > 0)) || die "URLS must be 1..2,000,000; SHARD, WORKERS, CONC positive"
need=$((URLS * (SIZE + 512) / 1024 * 12 / 10))
(($(df -k --output=avail "$SHM_DIR" | tail -1) > need)) || die "$SHM_DIR has too little room for $URLS files"
mkdir -p "$BENCH_TMPDIR" "$OUT_DIR"
(($(df -k --output=avail "$BENCH_TMPDIR" | tail -1) > need * 3)) || die "$BENCH_TMPDIR has too little room"
WORK=$(mktemp -d "$BENCH_TMPDIR/mediagate-fetchsvc.XXXXXX")
ORIG=$(mktemp -d "$SHM_DIR/mediagate-fetchsvc.XXXXXX")

log "building ..."
(cd "$ROOT" && go build -o "$WORK/bin/fetch" ./bench/fetch)
if [[ -z ${MEDIAGATE:-} ]]; then
	(cd "$ROOT" && go build -o "$WORK/bin/mediagate" ./cmd/mediagate)
	MEDIAGATE=$WORK/bin/mediagate
fi

NGX_PORT=$(free_port)
start_nginx "$WORK/nginx" "$ORIG/root" "$NGX_PORT"
log "generating $URLS × 4 KiB objects ..."
timeout 900 "$WORK/bin/fetch" gen -tag s -count "$URLS" -size "$SIZE" -root "$ORIG/root" \
	-base "http://127.0.0.1:$NGX_PORT" -urls "$WORK/urls" -hashes "$WORK/sha256"

# now prints seconds since the epoch, to the nanosecond.
now() { date +%s.%N; }
# proc_cpu PID prints the process's CPU seconds so far (user + system).
proc_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
# elapsed START END prints END − START in seconds, 2 decimals.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

# --- standalone ----------------------------------------------------------------

wait_quiet "standalone"
log "standalone: mediagate fetch -o ..."
t0=$(now)
/usr/bin/time -f '%M %U %S' -o "$WORK/standalone.time" timeout 1800 "$MEDIAGATE" fetch "$WORK/urls" -o "$WORK/standalone" \
	--concurrency "$CONC" --per-host "$CONC" --allow-private --no-progress >"$OUT_DIR/standalone.log" 2>&1 ||
	die "standalone run failed: $(tail -3 "$OUT_DIR/standalone.log")"
sync -f "$WORK/standalone"
t1=$(now)
sa_s=$(elapsed "$t0" "$t1")
read -r sa_rss sa_user sa_sys <"$WORK/standalone.time"
sa_ok=$(grep -c '"status":"ok"' "$WORK/standalone/results.ndjson" || true)
((sa_ok == URLS)) || die "standalone: $sa_ok of $URLS URLs ok"
timeout 600 rm -rf "$WORK/standalone"

# --- service -------------------------------------------------------------------

SVC_PORT=$(free_port)
log "service: mediagate serve, $WORKERS fetch workers, shards of $SHARD ..."
# The generated files are bytes of no known type: application/octet-stream.
"$MEDIAGATE" serve --listen "127.0.0.1:$SVC_PORT" --data "$WORK/data" --fetch-private \
	--fetch-workers "$WORKERS" --fetch-shard-size "$SHARD" --allowed-types application/octet-stream --log-level warn >"$OUT_DIR/serve.log" 2>&1 &
SVC_PID=$!
PIDS+=("$SVC_PID")
wait_port "$SVC_PORT"
KEY=""
for _ in $(seq 1 100); do
	KEY=$(grep -o 'Admin API key (shown only now, keep it safe): [^ ]*' "$OUT_DIR/serve.log" | awk '{ print $NF }') && [[ -n $KEY ]] && break
	sleep 0.1
done
[[ -n $KEY ]] || die "serve printed no admin key: $(tail -3 "$OUT_DIR/serve.log")"
sed -i 's/\(Admin API key (shown only now, keep it safe): \).*/\1[removed]/; s/Bearer [^ "]*/Bearer [removed]/' "$OUT_DIR/serve.log"

wait_quiet "service"
log "service: mediagate fetch --server ..."
cpu0=$(proc_cpu "$SVC_PID")
t0=$(now)
timeout 1800 "$MEDIAGATE" fetch --server "http://127.0.0.1:$SVC_PORT" --key "$KEY" --concurrency "$CONC" --per-host "$CONC" \
	--max-size 64KiB --no-progress "$WORK/urls" >"$OUT_DIR/service.log" 2>&1 || die "service run failed: $(tail -3 "$OUT_DIR/service.log")"
t1=$(now)
cpu1=$(proc_cpu "$SVC_PID")
svc_rss=$(awk '/VmHWM/ { print $2 }' "/proc/$SVC_PID/status")
svc_s=$(elapsed "$t0" "$t1")
svc_cpu=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.1f", b - a }')
summary=$(grep -E '^[0-9]+ URLs in ' "$OUT_DIR/service.log" | tail -1)
svc_ok=$(sed -E 's/.*: ([0-9]+) stored.*/\1/' <<<"$summary")
((svc_ok == URLS)) || die "service: the summary says ${svc_ok:-?} of $URLS stored ($summary)"
manifest=$(grep -o 'manifest obj_[A-Za-z0-9]*' "$OUT_DIR/service.log" | awk '{ print $2 }' | head -1)
[[ -n $manifest ]] || die "service: no manifest in its log"
lines=$(curl -fsSL -H "Authorization: Bearer $KEY" "http://127.0.0.1:$SVC_PORT/v1/objects/$manifest/content" | grep -c '"status":"ok"' || true)
((lines == URLS)) || die "service: the manifest has $lines ok lines, want $URLS"

cat <<EOF
### Fetch service beside the standalone engine (bench/fetchsvc.sh)

- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)
- machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2/1048576 }' /proc/meminfo), kernel $(uname -r); stores on $(df -T "$WORK" | awk 'NR==2 { print $2 }'), origin files on tmpfs
- mediagate tree: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?'), $(go version | cut -d' ' -f3), $(nginx -v 2>&1 | sed 's/^nginx version: //')
- settings: URLS=$URLS SHARD=$SHARD WORKERS=$WORKERS CONC=$CONC

| run | URLs/s | wall s | peak RSS MB | CPU s | verified |
| --- | ---: | ---: | ---: | ---: | --- |
| standalone \`mediagate fetch -o\` | $(rate "$URLS" "$sa_s") | $sa_s | $((sa_rss / 1024)) | $(awk -v u="$sa_user" -v s="$sa_sys" 'BEGIN { printf "%.1f", u + s }') | $sa_ok/$URLS results ok |
| service: \`serve\`, $WORKERS workers, shards of $SHARD | $(rate "$URLS" "$svc_s") | $svc_s | $((svc_rss / 1024)) (server) | $svc_cpu (server) | $svc_ok/$URLS stored; manifest $lines/$URLS ok |

- standalone: \`mediagate fetch LIST -o DIR --concurrency $CONC --per-host $CONC --allow-private --no-progress\`, timed to its exit plus \`sync -f\`
- service: \`mediagate serve --data DIR --fetch-private --fetch-workers $WORKERS --fetch-shard-size $SHARD --allowed-types application/octet-stream\`; \`mediagate fetch --server URL --key KEY --concurrency $CONC --per-host $CONC --max-size 64KiB LIST\`, timed from the submit to the end of the follow (the fetch finished, its manifest written)
EOF
log "logs kept in $OUT_DIR"
