#!/usr/bin/env bash
# bench/run.sh runs mediagate's benchmarks side by side with their peers, in
# one run, on loopback, and prints the results as Markdown.
#
#   1. upload control path: bench/uploadctl against `mediagate serve` (SQLite +
#      local disk) and against bench/hello (bare net/http), same generator,
#      unpinned, pinned (server on CPU 0, generator on CPU 1) and with the data
#      directory on tmpfs (a diagnostic: the same path without the disk).
#   2. blob data path: bench/blobpath against mediagate's blob endpoint and
#      nginx (Debian package, WebDAV PUT, static GET), 1 GiB and 20,000 × 4 KiB.
#   3. in process (bench/inproc.sh): hot-account ledger debits beside a naive
#      ledger, limiter decisions, per backend (INPROC_CASE=0 skips them).
#   4. the job queue (bench/jobqueue): no-op jobs through mediagate's queue on
#      PostgreSQL and SQLite beside River on the same PostgreSQL, then through
#      the HTTP API of a `mediagate serve` on 127.0.0.1 (SQLite, PostgreSQL)
#      (JOBQ_CASE=0 skips it; JOBQ_JOBS jobs at store level, default 20000;
#      JOBQ_HTTP_JOBS through the API, default 5000, 0 to skip those rows);
#      once as fast as the producers can (throughput) and once paced at
#      JOBQ_RATE jobs/s, default 300 (latency with idle workers: the wake-up).
#   5. bulk URL fetch (bench/fetch.sh): `mediagate fetch` beside aria2c and
#      wget2 on the same URL lists: URLS (1,000,000) × 4 KiB and 1.7 MB
#      objects from nginx, 4 KiB from a Go origin adding 50 ms, against the
#      disk's measured write bandwidth (FETCH_CASE=0 skips it).
#
# Every server is a child of this script on a free 127.0.0.1 port and is
# stopped on exit; every load loop is bounded in count and time, and each
# program also runs under timeout(1). Knobs (environment): WORKERS (64),
# DURATION (10s), WARMUP (1s), LAT_WORKERS (8: a low-concurrency latency case,
# 0 to skip), BIG_MIB (1024), BIG_REPS (5), SMALL_COUNT (20000),
# SMALL_WORKERS (32), PIN (1/0), TMPFS_CASE (1/0), CREATE_CASE (1/0: the
# create-upload-only case with rate limits on), SCALE_CASE (1/0: the same on
# PostgreSQL + Redis; BENCH_REDIS, default redis://127.0.0.1:6379/0), PROFILE (1/0),
# NGINX_BODY_BUFFER (nginx client_body_buffer_size, 1m; nginx's default is
# 16k), BENCH_TMPDIR (disk for the data, default /var/tmp), OUT_DIR (where
# results are kept, default a new directory under BENCH_TMPDIR), QUIET_MAX
# (seconds to wait for an idle machine before each benchmark, default 30).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORKERS=${WORKERS:-64}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-1s}
BIG_MIB=${BIG_MIB:-1024}
BIG_REPS=${BIG_REPS:-5}
SMALL_COUNT=${SMALL_COUNT:-20000}
SMALL_WORKERS=${SMALL_WORKERS:-32}
PIN=${PIN:-1}
TMPFS_CASE=${TMPFS_CASE:-1}
CREATE_CASE=${CREATE_CASE:-1}
SCALE_CASE=${SCALE_CASE:-1}
BENCH_REDIS=${BENCH_REDIS:-redis://127.0.0.1:6379/0}
BENCH_PGDB=""
# Rate limits on, high enough never to refuse: the create-upload case measures
# the limiter's cost, not its refusals (uploadctl counts any 429).
CREATE_RATES=(--rate-write 1000000/1s,1000000 --rate-account 1000000/1s,1000000)
PROFILE=${PROFILE:-1}
BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp}
QUIET_MAX=${QUIET_MAX:-30}
LAT_WORKERS=${LAT_WORKERS:-8}
NGINX_BODY_BUFFER=${NGINX_BODY_BUFFER:-1m}
OUT_DIR=${OUT_DIR:-$BENCH_TMPDIR/mediagate-bench-results-$(date -u +%Y%m%dT%H%M%SZ)}

BENCH=bench
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# --- children and clean-up -------------------------------------------------

PIDS=()
WORK=""
SHM=""

forget_pid() {
	local pid=$1 p keep=()
	for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	PIDS=()
	[[ -n $WORK && -d $WORK ]] && rm -rf "$WORK"
	[[ -n $SHM && -d $SHM ]] && rm -rf "$SHM"
	if [[ -n $BENCH_PGDB ]]; then
		psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $BENCH_PGDB WITH (FORCE)" || true
		redis-cli -h 127.0.0.1 --scan --pattern "mgbench:$$:*" | xargs -r redis-cli -h 127.0.0.1 unlink >/dev/null || true
	fi
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- prerequisites -----------------------------------------------------------

command -v go >/dev/null || die "go is not on PATH"
if ! command -v nginx >/dev/null; then
	log "installing nginx (Debian) ..."
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
fi
nginx -V 2>&1 | grep -q -- --with-http_dav_module || die "this nginx lacks the WebDAV module (http_dav_module)"
command -v taskset >/dev/null || PIN=0

mkdir -p "$BENCH_TMPDIR" "$OUT_DIR"
WORK=$(mktemp -d "$BENCH_TMPDIR/mediagate-bench.XXXXXX")
BIN=$WORK/bin
RESULTS=$OUT_DIR/results.jsonl
: >"$RESULTS"

log "building into $BIN ..."
(cd "$ROOT" && for p in cmd/mediagate bench/hello bench/uploadctl bench/blobpath bench/report; do
	go build -o "$BIN/$(basename "$p")" "./$p"
done)

# --- helpers -------------------------------------------------------------------

# start_mediagate NAME DATADIR [CPU] starts `mediagate serve` on 127.0.0.1:0
# and sets MG_PID, MG_URL and MG_KEY (the admin key of the first start).
# MG_LIMITS=on starts it with the rate limits of CREATE_RATES instead of
# --limits off.
start_mediagate() {
	local name=$1 data=$2 cpu=${3:-} out=$WORK/$1.out i
	# Rate limits off: this measures the upload path itself, not the limiter.
	local limits=(--limits off)
	if [[ ${MG_LIMITS:-} == on ]]; then limits=("${CREATE_RATES[@]}"); fi
	if [[ ${MG_LIMITS:-} == redis ]]; then limits=(--limits "$BENCH_REDIS?prefix=mgbench:$$:" "${CREATE_RATES[@]}"); fi
	local cmd=("$BIN/mediagate" serve --data "$data" --listen 127.0.0.1:0 --log-level warn "${limits[@]}")
	if [[ -n ${MG_DB:-} ]]; then cmd+=(--db "$MG_DB"); fi
	if [[ -n ${MG_PPROF:-} ]]; then cmd+=(--pprof "$MG_PPROF"); fi
	if [[ -n $cpu ]]; then cmd=(taskset -c "$cpu" "${cmd[@]}"); fi
	"${cmd[@]}" >"$out" 2>"$WORK/$name.err" &
	MG_PID=$!
	PIDS+=("$MG_PID")
	for i in $(seq 1 150); do
		grep -q 'serving on http://' "$out" && break
		kill -0 "$MG_PID" 2>/dev/null || die "mediagate ($name) exited: $(tail -3 "$WORK/$name.err")"
		sleep 0.1
	done
	MG_URL=$(grep -o 'serving on http://[0-9.:]*' "$out" | head -1 | awk '{print $3}')
	MG_KEY=$(grep -o 'mg_[A-Za-z0-9_-]*' "$out" | head -1)
	[[ $MG_URL == http://127.0.0.1:* && $MG_KEY == mg_* ]] || die "mediagate ($name) did not print its URL and admin key"
}

# start_hello [CPU] starts bench/hello on 127.0.0.1:0 and sets HELLO_PID, HELLO_URL.
start_hello() {
	local cpu=${1:-} out=$WORK/hello.out i
	local cmd=("$BIN/hello" --listen 127.0.0.1:0)
	if [[ -n $cpu ]]; then cmd=(taskset -c "$cpu" "${cmd[@]}"); fi
	"${cmd[@]}" >"$out" 2>&1 &
	HELLO_PID=$!
	PIDS+=("$HELLO_PID")
	for i in $(seq 1 100); do
		grep -q 'serving on' "$out" && break
		sleep 0.1
	done
	HELLO_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$out" | head -1)
	[[ -n $HELLO_URL ]] || die "hello did not start: $(cat "$out")"
}

stop() { stop_pid "$1"; forget_pid "$1"; }

# uploadctl_case CASE CPU-SERVER CPU-GEN DATADIR [WORKERS [STEPS]] runs the
# control-path benchmark against mediagate and then hello with the same
# generator settings; STEPS is uploadctl's --steps (full or create).
uploadctl_case() {
	local case=$1 scpu=$2 gcpu=$3 data=$4 workers=${5:-$WORKERS} steps=${6:-full} gen=()
	if [[ -n $gcpu ]]; then gen=(taskset -c "$gcpu"); fi
	local limit=600
	if [[ $DURATION =~ ^[0-9]+s$ && $WARMUP =~ ^[0-9]+s$ ]]; then limit=$((${DURATION%s} + ${WARMUP%s} + 60)); fi
	wait_quiet "upload control path, $case"
	log "upload control path, $case: mediagate ..."
	start_mediagate "ctl-$RANDOM" "$data" "$scpu"
	timeout --kill-after=5 "$limit" "${gen[@]}" "$BIN/uploadctl" --target mediagate --url "$MG_URL" --key "$MG_KEY" \
		--steps "$steps" --workers "$workers" --duration "$DURATION" --warmup "$WARMUP" --server-pid "$MG_PID" \
		--case "$case" --out "$RESULTS" | tee -a "$OUT_DIR/uploadctl.txt"
	stop "$MG_PID"
	log "upload control path, $case: hello ..."
	start_hello "$scpu"
	timeout --kill-after=5 "$limit" "${gen[@]}" "$BIN/uploadctl" --target hello --url "$HELLO_URL" \
		--steps "$steps" --workers "$workers" --duration "$DURATION" --warmup "$WARMUP" --server-pid "$HELLO_PID" \
		--case "$case" --out "$RESULTS" | tee -a "$OUT_DIR/uploadctl.txt"
	stop "$HELLO_PID"
}

# --- the run -----------------------------------------------------------------

{
	echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "- machine: $(nproc) CPUs, $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }'), $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2/1048576 }' /proc/meminfo), kernel $(uname -r)"
	echo "- data disk: $(df -T "$WORK" | awk 'NR==2 { print $1 " (" $2 ") mounted on " $7 }') (BENCH_TMPDIR)"
	echo "- $(go version), $(nginx -v 2>&1)"
	echo "- mediagate tree: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?') + $(cd "$ROOT" && git status --porcelain 2>/dev/null | grep -vc '^?? bench/' || true) changed/untracked paths outside bench/"
	echo "- settings: WORKERS=$WORKERS DURATION=$DURATION WARMUP=$WARMUP LAT_WORKERS=$LAT_WORKERS BIG_MIB=$BIG_MIB BIG_REPS=$BIG_REPS SMALL_COUNT=$SMALL_COUNT SMALL_WORKERS=$SMALL_WORKERS PIN=$PIN TMPFS_CASE=$TMPFS_CASE CREATE_CASE=$CREATE_CASE NGINX_BODY_BUFFER=$NGINX_BODY_BUFFER"
} >"$OUT_DIR/machine.md"
cat "$OUT_DIR/machine.md" >&2

# 1. Upload control path.
uploadctl_case "$WORKERS workers, unpinned: server and generator share 2 CPUs" "" "" "$WORK/ctl-unpinned"
if [[ $PIN == 1 ]]; then
	uploadctl_case "$WORKERS workers, pinned: server on CPU 0, generator on CPU 1" 0 1 "$WORK/ctl-pinned"
fi
if ((LAT_WORKERS > 0)); then
	uploadctl_case "$LAT_WORKERS workers, unpinned (latency at lower load)" "" "" "$WORK/ctl-lat" "$LAT_WORKERS"
fi
if [[ $TMPFS_CASE == 1 && $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs ]]; then
	SHM=$(mktemp -d /dev/shm/mediagate-bench.XXXXXX)
	uploadctl_case "$WORKERS workers, unpinned, data on tmpfs (diagnostic)" "" "" "$SHM/data"
fi
if [[ $CREATE_CASE == 1 ]]; then
	# Create-upload only (auth + rate limit + credit hold), limits on.
	MG_LIMITS=on uploadctl_case "$WORKERS workers, unpinned, rate limits on (${CREATE_RATES[*]})" "" "" "$WORK/ctl-create" "$WORKERS" create
fi
if [[ $SCALE_CASE == 1 ]]; then
	# The same on the scale-out backends: PostgreSQL (a database of its own,
	# dropped at exit) and Redis for the limits.
	bash "$ROOT/scripts/services.sh"
	BENCH_PGDB=mgbench_$$
	psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $BENCH_PGDB" || die "cannot create database $BENCH_PGDB"
	MG_DB="postgres://postgres@127.0.0.1:5432/$BENCH_PGDB?sslmode=disable" MG_LIMITS=redis \
		uploadctl_case "$WORKERS workers, unpinned, PostgreSQL + Redis, rate limits on" "" "" "$WORK/ctl-scale" "$WORKERS" create
fi

# Optional: a CPU profile of the server under the control-path load (not a
# measured run), when this build of mediagate serves pprof.
serve_help=$("$BIN/mediagate" serve --help 2>&1 || true)
if [[ $PROFILE == 1 && $serve_help == *-pprof* ]]; then
	log "profiling the server under the control-path load ..."
	MG_PPROF=127.0.0.1:$(free_port)
	start_mediagate "ctl-profile" "$WORK/ctl-profile"
	timeout --kill-after=5 60 "$BIN/uploadctl" --target mediagate --url "$MG_URL" --key "$MG_KEY" \
		--workers "$WORKERS" --duration 8s --warmup 1s --case profile >/dev/null &
	gen=$!
	PIDS+=("$gen")
	sleep 2
	curl -s --max-time 20 -o "$OUT_DIR/uploadctl.cpu.pprof" "http://$MG_PPROF/debug/pprof/profile?seconds=5" || true
	wait "$gen" || true
	forget_pid "$gen"
	stop "$MG_PID"
	unset MG_PPROF
	if [[ -s $OUT_DIR/uploadctl.cpu.pprof ]]; then
		(cd "$ROOT" && go tool pprof -top -cum -nodecount=40 "$BIN/mediagate" "$OUT_DIR/uploadctl.cpu.pprof" >"$OUT_DIR/uploadctl.cpu.top.txt" 2>/dev/null) || true
	fi
fi

# 2. Blob data path.
log "blob data path: making the ${BIG_MIB} MiB source file ..."
timeout 300 "$BIN/blobpath" --gen-only --file "$WORK/src/big.mp4" --big-mib "$BIG_MIB"

NGX=$WORK/nginx
NGX_PORT=$(free_port)
mkdir -p "$NGX/root" "$NGX/body" "$NGX/tmp"
cat >"$NGX/nginx.conf" <<EOF
# nginx as the blob-path peer: WebDAV PUT, static GET with sendfile.
daemon off;
user root;
worker_processes 2;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	log_not_found off;
	default_type application/octet-stream;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	keepalive_timeout 120s;
	client_max_body_size 0;
	client_body_buffer_size $NGINX_BODY_BUFFER;
	client_body_temp_path $NGX/body;
	proxy_temp_path $NGX/tmp/proxy;
	fastcgi_temp_path $NGX/tmp/fastcgi;
	uwsgi_temp_path $NGX/tmp/uwsgi;
	scgi_temp_path $NGX/tmp/scgi;
	server {
		listen 127.0.0.1:$NGX_PORT;
		root $NGX/root;
		location / {
			dav_methods PUT DELETE;
			create_full_put_path on;
			dav_access user:rw group:r all:r;
		}
	}
}
EOF
nginx -t -q -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log"
wait_quiet "blob data path"
log "blob data path: starting mediagate and nginx (127.0.0.1:$NGX_PORT) ..."
start_mediagate "blob" "$WORK/blob"
nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log" &
NGX_PID=$!
PIDS+=("$NGX_PID")
for i in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$NGX_PORT") 2>/dev/null && break
	sleep 0.1
done
NGX_PIDS=$(
	echo -n "$NGX_PID"
	pgrep -P "$NGX_PID" | sed 's/^/,/' | tr -d '\n'
)
timeout --kill-after=5 900 "$BIN/blobpath" --mediagate "$MG_URL" --key "$MG_KEY" --mediagate-pids "$MG_PID" \
	--nginx "http://127.0.0.1:$NGX_PORT" --nginx-pids "$NGX_PIDS" --nginx-root "$NGX/root" \
	--file "$WORK/src/big.mp4" --big-mib "$BIG_MIB" --big-reps "$BIG_REPS" \
	--small-count "$SMALL_COUNT" --workers "$SMALL_WORKERS" --phase-timeout 60s \
	--out "$RESULTS" | tee "$OUT_DIR/blobpath.txt"
stop "$MG_PID"
stop "$NGX_PID"

# 3. In-process benchmarks (ledger debits, limiter decisions), each beside
# its baseline in the same go test run.
if [[ ${INPROC_CASE:-1} == 1 ]]; then
	wait_quiet "in-process benchmarks"
	log "in-process: ledger and limiter ..."
	OUT_DIR=$OUT_DIR bash "$ROOT/bench/inproc.sh" >"$OUT_DIR/inproc.md"
fi

# 4. The job queue beside River (bench/jobqueue), on the same PostgreSQL.
if [[ ${JOBQ_CASE:-1} == 1 ]]; then
	bash "$ROOT/scripts/services.sh"
	wait_quiet "job queue"
	log "job queue: mediagate (PostgreSQL, SQLite, HTTP API) and River ..."
	(cd "$ROOT" && timeout --kill-after=10 1200 go run ./bench/jobqueue -jobs "${JOBQ_JOBS:-20000}" \
		-http-jobs "${JOBQ_HTTP_JOBS:-5000}" -mediagate "$BIN/mediagate") >"$OUT_DIR/jobqueue.md"
	log "job queue, paced at ${JOBQ_RATE:-300} jobs/s ..."
	(cd "$ROOT" && timeout --kill-after=10 600 go run ./bench/jobqueue -jobs 3000 -http-jobs 3000 \
		-rate "${JOBQ_RATE:-300}" -mediagate "$BIN/mediagate") >"$OUT_DIR/jobqueue-paced.md"
fi

# 5. Bulk URL fetch (bench/fetch.sh): mediagate fetch beside aria2c and wget2
# on the same URL lists from nginx and a latency-adding origin on 127.0.0.1
# (FETCH_CASE=0 skips it; URLS, default 1,000,000, and its other knobs pass
# through). It keeps its own results under $OUT_DIR/fetch.
if [[ ${FETCH_CASE:-1} == 1 ]]; then
	wait_quiet "bulk URL fetch"
	log "bulk URL fetch: mediagate fetch, aria2c, wget2 ..."
	MEDIAGATE=$BIN/mediagate OUT_DIR=$OUT_DIR/fetch BENCH_TMPDIR=$BENCH_TMPDIR QUIET_MAX=$QUIET_MAX \
		timeout --kill-after=30 7200 bash "$ROOT/bench/fetch.sh" >"$OUT_DIR/fetch.md" || log "bulk URL fetch failed (see above)"
fi

# 6. The table.
{
	echo "## Benchmark run"
	echo
	cat "$OUT_DIR/machine.md"
	echo
	"$BIN/report" "$RESULTS"
	for f in inproc.md jobqueue.md jobqueue-paced.md fetch.md; do
		if [[ -s $OUT_DIR/$f ]]; then
			cat "$OUT_DIR/$f"
			echo
		fi
	done
	if [[ -s $OUT_DIR/background.txt ]]; then
		echo "Background load seen before benchmarks (other processes on this shared machine):"
		echo
		cat "$OUT_DIR/background.txt"
		echo
	fi
} >"$OUT_DIR/table.md"
cat "$OUT_DIR/table.md"
log "results kept in $OUT_DIR (results.jsonl, table.md, raw outputs, CPU profile)"
