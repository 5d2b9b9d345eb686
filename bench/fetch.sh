#!/usr/bin/env bash
# bench/fetch.sh measures bulk URL download: `mediagate fetch` beside aria2c
# and wget2 (Debian packages aria2, wget2), one after the other in one run, on
# the same URL lists, from origins on 127.0.0.1 only, and prints a Markdown
# report on stdout.
#
#   small    URLS (1,000,000) objects of 4 KiB from nginx
#   big      BIG_URLS (1,000) objects of 1.7 MB (BIG_SIZE) from nginx
#   latency  LAT_URLS (20,000) objects of 4 KiB from a Go origin that holds
#            every response LAT_MS (50) ms; bound = LAT_CONC ÷ LAT_MS
#
# Every URL has bytes of its own (bench/fetch gen: a header naming the object,
# then a ChaCha8 stream seeded by it), so deduplication by hash gains nothing.
# nginx serves them from a tmpfs directory (SHM_DIR, /dev/shm); the tools
# store on BENCH_TMPDIR (/var/tmp), whose sequential write bandwidth is
# measured first (fio, else dd). Each tool's run is timed to its exit plus a
# `sync -f` of what it stored, its peak RSS and CPU come from wait4, and what
# it stored is verified (count, sizes, sha256 of a sample; for mediagate its
# NDJSON results too) before its output is deleted.
#
# Knobs (environment): URLS, BIG_URLS, BIG_SIZE, LAT_URLS, LAT_MS, CONC (64:
# every tool's concurrency for small and big), LAT_CONC (64), CASES ("small
# big latency"), TOOLS ("aria2c wget2 mediagate"), TOOL_TIMEOUT (s per tool
# run, default 1800), DISK_MIB (2048), SAMPLE (1000 files hashed per run),
# MEDIAGATE (a built mediagate; default: built here), BENCH_TMPDIR, SHM_DIR,
# OUT_DIR (where results.jsonl, the tools' logs and report.md are kept),
# QUIET_MAX (30 s to wait for an idle machine before each run).
# A quick run:  URLS=50000 BIG_URLS=300 LAT_URLS=10000 bash bench/fetch.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
URLS=${URLS:-1000000}
BIG_URLS=${BIG_URLS:-1000}
BIG_SIZE=${BIG_SIZE:-1700000}
LAT_URLS=${LAT_URLS:-20000}
LAT_MS=${LAT_MS:-50}
CONC=${CONC:-64}
LAT_CONC=${LAT_CONC:-64}
CASES=${CASES:-small big latency}
TOOLS=${TOOLS:-aria2c wget2 mediagate}
TOOL_TIMEOUT=${TOOL_TIMEOUT:-1800}
DISK_MIB=${DISK_MIB:-2048}
SAMPLE=${SAMPLE:-1000}
BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp}
SHM_DIR=${SHM_DIR:-/dev/shm}
QUIET_MAX=${QUIET_MAX:-30}
OUT_DIR=${OUT_DIR:-$BENCH_TMPDIR/mediagate-fetch-results-$(date -u +%Y%m%dT%H%M%SZ)}
SMALL_SIZE=4096

BENCH=fetch
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# --- children and clean-up -------------------------------------------------

PIDS=()
WORK=""
ORIG=""

cleanup() { stop_and_remove "$WORK" "$ORIG"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- prerequisites -----------------------------------------------------------

command -v go >/dev/null || die "go is not on PATH"
bash "$ROOT/scripts/bench-deps.sh"
[[ $(stat -f -c %T "$SHM_DIR") == tmpfs ]] || die "SHM_DIR $SHM_DIR is not tmpfs"
((URLS > 0 && URLS <= 9999999 && BIG_URLS > 0 && LAT_URLS > 0)) || die "URLS, BIG_URLS, LAT_URLS must be 1..9,999,999"

need_shm=$(((URLS * (SMALL_SIZE + 512) + BIG_URLS * BIG_SIZE) / 1024 * 11 / 10)) # KiB, with inode slack
have_shm=$(df -k --output=avail "$SHM_DIR" | tail -1)
((have_shm > need_shm)) || die "$SHM_DIR has $((have_shm / 1024)) MiB free, the origin's files need $((need_shm / 1024)) MiB (lower URLS)"
need_disk=$(((URLS * (SMALL_SIZE + 512) > BIG_URLS * BIG_SIZE ? URLS * (SMALL_SIZE + 512) : BIG_URLS * BIG_SIZE) / 1024 * 12 / 10 + DISK_MIB * 1024))
mkdir -p "$BENCH_TMPDIR" "$OUT_DIR"
have_disk=$(df -k --output=avail "$BENCH_TMPDIR" | tail -1)
((have_disk > need_disk)) || die "$BENCH_TMPDIR has $((have_disk / 1024)) MiB free, one tool's output needs $((need_disk / 1024)) MiB"

WORK=$(mktemp -d "$BENCH_TMPDIR/mediagate-fetch.XXXXXX")
ORIG=$(mktemp -d "$SHM_DIR/mediagate-fetch.XXXXXX")
RESULTS=$OUT_DIR/results.jsonl
: >"$RESULTS"
log "building ..."
(cd "$ROOT" && go build -o "$WORK/bin/fetch" ./bench/fetch)
FB=$WORK/bin/fetch
if [[ -z ${MEDIAGATE:-} ]]; then
	(cd "$ROOT" && go build -o "$WORK/bin/mediagate" ./cmd/mediagate)
	MEDIAGATE=$WORK/bin/mediagate
fi
# mediagate fetch is there if `fetch -h` succeeds or at least documents its flags.
MG_NOTE=""
if mg_help=$("$MEDIAGATE" fetch -h 2>&1) || [[ $mg_help == *allow-private* ]]; then :; else
	MG_NOTE="this build has no \`mediagate fetch\`"
fi

# --- origins -----------------------------------------------------------------

NGX_PORT=$(free_port)
start_nginx "$WORK/nginx" "$ORIG/root" "$NGX_PORT"
NGX_URL=http://127.0.0.1:$NGX_PORT

has_case() { [[ " $CASES " == *" $1 "* ]]; }

if has_case small; then
	log "generating $URLS × 4 KiB objects ..."
	timeout 900 "$FB" gen -tag s -count "$URLS" -size "$SMALL_SIZE" -root "$ORIG/root" -base "$NGX_URL" \
		-urls "$WORK/small.urls" -hashes "$WORK/small.sha256"
fi
if has_case big; then
	log "generating $BIG_URLS × $BIG_SIZE B objects ..."
	timeout 900 "$FB" gen -tag b -count "$BIG_URLS" -size "$BIG_SIZE" -root "$ORIG/root" -base "$NGX_URL" \
		-urls "$WORK/big.urls" -hashes "$WORK/big.sha256"
fi

if has_case latency; then
	"$FB" origin -listen 127.0.0.1:0 -tag l -count "$LAT_URLS" -size "$SMALL_SIZE" -delay "${LAT_MS}ms" \
		-timeout 3h >"$WORK/origin.out" 2>&1 &
	LAT_PID=$!
	PIDS+=("$LAT_PID")
	for i in $(seq 1 100); do
		grep -q 'serving on' "$WORK/origin.out" && break
		sleep 0.1
	done
	LAT_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/origin.out" | head -1)
	[[ -n $LAT_URL ]] || die "latency origin did not start: $(cat "$WORK/origin.out")"
	timeout 300 "$FB" gen -tag l -count "$LAT_URLS" -size "$SMALL_SIZE" -base "$LAT_URL" \
		-urls "$WORK/latency.urls" -hashes "$WORK/latency.sha256"
fi

# --- the disk ----------------------------------------------------------------

wait_quiet "disk bandwidth"
log "disk: sequential write bandwidth where the tools store ..."
timeout 600 "$FB" disk -dir "$WORK" -mib "$DISK_MIB" -results "$RESULTS"

# --- the tools ----------------------------------------------------------------

# tool_cmd TOOL LIST DIR CONC prints the tool's command line, one word a line.
# The flags are each tool's tuning for many small files on one host; see
# bench/README.md for why each is there.
tool_cmd() {
	local tool=$1 list=$2 dir=$3 conc=$4
	case $tool in
	aria2c)
		printf '%s\n' aria2c --no-conf -i "$list" -d "$dir" -j "$conc" -x 1 -s 1 \
			--deferred-input=true --auto-save-interval=0 --file-allocation=none \
			--auto-file-renaming=false --allow-overwrite=true --max-download-result=100 \
			--http-accept-gzip=false --remote-time=false --follow-metalink=false \
			--follow-torrent=false --no-netrc=true --summary-interval=0 \
			--console-log-level=error -q
		;;
	wget2)
		printf '%s\n' wget2 --no-config -q --input-file="$list" -P "$dir" --max-threads="$conc" \
			--http2=off --no-robots --no-xattr --no-hsts --no-hpkp --no-cookies --no-netrc \
			--compression=identity --progress=none --tries=3
		;;
	mediagate)
		printf '%s\n' "$MEDIAGATE" fetch "$list" -o "$dir" --concurrency "$conc" --per-host "$conc" \
			--allow-private --results "$WORK/mediagate-results.ndjson" --no-progress
		;;
	esac
}

# run_case CASE TAG SIZE CONC ORIGIN_PIDS DELAY_MS runs every tool on the case's list.
run_case() {
	local c=$1 tag=$2 size=$3 conc=$4 opids=$5 delay=$6 tool dir cmd manifest
	for tool in $TOOLS; do
		local common=(-case "$c" -tool "$tool" -size "$size" -conc "$conc" -delay-ms "$delay" -results "$RESULTS")
		if [[ $tool == mediagate && -n $MG_NOTE ]]; then
			"$FB" run "${common[@]}" -unavailable "$MG_NOTE"
			continue
		fi
		dir=$WORK/out-$c-$tool
		manifest=""
		if [[ $tool == mediagate ]]; then
			manifest=$WORK/mediagate-results.ndjson
			rm -f "$manifest"
		fi
		mapfile -t cmd < <(tool_cmd "$tool" "$WORK/$c.urls" "$dir" "$conc")
		wait_quiet "$c, $tool"
		log "$c: $tool ..."
		timeout --kill-after=10 $((TOOL_TIMEOUT + 900)) "$FB" run "${common[@]}" \
			-urls "$WORK/$c.urls" -hashes "$WORK/$c.sha256" -tag "$tag" -out "$dir" -manifest "$manifest" \
			-origin-pids "$opids" -log "$OUT_DIR/$c-$tool.log" -sample "$SAMPLE" -timeout "${TOOL_TIMEOUT}s" \
			-- "${cmd[@]}" || log "$c: $tool: the measurement failed (see above)"
		timeout 900 rm -rf "$dir"
	done
}

{
	echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "- machine: $(nproc) CPUs, $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }'), $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2/1048576 }' /proc/meminfo), kernel $(uname -r)"
	echo "- tools store on: $(df -T "$WORK" | awk 'NR==2 { print $1 " (" $2 ")" }'); origin files on tmpfs"
	echo "- $(aria2c --version | head -1), $(wget2 --version 2>/dev/null | head -1 | cut -d' ' -f1-3), $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(go version | cut -d' ' -f3)"
	echo "- mediagate tree: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "- settings: URLS=$URLS BIG_URLS=$BIG_URLS BIG_SIZE=$BIG_SIZE LAT_URLS=$LAT_URLS LAT_MS=$LAT_MS CONC=$CONC LAT_CONC=$LAT_CONC SAMPLE=$SAMPLE"
} >"$OUT_DIR/machine.md"

has_case small && run_case small s "$SMALL_SIZE" "$CONC" "$NGX_PIDS" 0
has_case big && run_case big b "$BIG_SIZE" "$CONC" "$NGX_PIDS" 0
has_case latency && run_case latency l "$SMALL_SIZE" "$LAT_CONC" "$LAT_PID" "$LAT_MS"

{
	echo "### Bulk URL fetch (bench/fetch.sh)"
	echo
	cat "$OUT_DIR/machine.md"
	echo
	"$FB" report -results "$RESULTS"
	if [[ -s $OUT_DIR/background.txt ]]; then
		echo "Background load seen before runs (other processes on this shared machine):"
		echo
		cat "$OUT_DIR/background.txt"
		echo
	fi
} >"$OUT_DIR/report.md"
cat "$OUT_DIR/report.md"
log "results kept in $OUT_DIR (results.jsonl, report.md, the tools' logs)"
