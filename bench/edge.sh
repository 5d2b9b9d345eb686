#!/usr/bin/env bash
# bench/edge.sh measures cache hits at the edge: `mediagate edge` beside nginx
# proxy_cache and Varnish (Debian packages nginx, varnish), one after the
# other in one run, each in front of the same origin, all on 127.0.0.1, with
# wrk (Debian package wrk) as the client, and prints a Markdown report on
# stdout.
#
#   origin   `mediagate serve` (SQLite and a disk store in a new data
#            directory) holding OBJECTS (1,000) objects of 1 KiB and LARGE
#            (64) of 1 MiB, random bytes, application/octet-stream
#   nginx    proxy_cache (bench/edge/nginx.conf.in): no checks at all, keyed
#            on the full signed URI, 200s kept a day, sendfile from its
#            cache files, 2 workers (reuseport), keep-alive
#   varnish  varnishd (bench/edge/varnish.vcl.in), malloc storage
#            (VARNISH_STORAGE, malloc,1G), the same policy
#   edge     `mediagate edge --origin ... --cache-size EDGE_CACHE_SIZE`: it
#            verifies every URL's signature and meters credit on every
#            request
#
# nginx and Varnish are given the origin's signed URLs (POST
# /v1/objects/{id}/url, the longest TTL, 7 days) with their own host:port; the
# edge arm is given the URLs the origin signs for region "bench", which point
# at the edge. The caches of nginx and the edge are files under the work
# directory (BENCH_TMPDIR, on disk; after the warm-up they are in the page
# cache), Varnish's is in memory.
#
# For each arm and each size: every URL is requested once (the warm-up: all
# must be 200), two responses (first and last object) are compared byte for
# byte with the uploaded files, then `wrk -t THREADS -c CONNS -d DURATION
# --latency -s bench/edge/urls.lua` GETs the URLs round-robin (each thread
# from its own offset) for DURATION (10) s. Reported: requests/s, GB/s
# (10^9 bytes/s of response, headers included, as wrk counts them), p50/p99
# latency (wrk's, per request, no coordinated-omission correction), responses
# ≥ 400 and socket errors (any is flagged as a failure), mean bytes a response
# (flagged if under the object's size: a redirect or an error page), and the
# blob GETs the origin served during the run (/blob/ and /v1/edge/blobs/, from
# its /metrics; anything but 0 means misses). Then the ratios edge ÷ nginx
# and the issue's targets. Each cache runs only for its own two measurements
# (started before, stopped after), beside the origin.
#
# The machine's CPUs are shared: wrk runs on the same cores as the server it
# measures (on 2 cores, wrk's threads take a good part of them), so the
# figures are what one such machine does as client and server together, the
# same for every arm.
#
# Knobs (environment): OBJECTS, LARGE, DURATION, CONNS (100), THREADS (2),
# ARMS ("nginx varnish edge"), VARNISH_STORAGE, EDGE_CACHE_SIZE (4GiB), CREDIT
# (micro-credits given to the account, 10^15), MEDIAGATE (a built mediagate;
# default: built here), BENCH_TMPDIR (/var/tmp), OUT_DIR (wrk's outputs, the
# servers' logs, results.tsv, report.md), QUIET_MAX (30 s to wait for an idle
# machine before each run).
# A quick run:  OBJECTS=100 LARGE=8 DURATION=3 bash bench/edge.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OBJECTS=${OBJECTS:-1000}
LARGE=${LARGE:-64}
DURATION=${DURATION:-10}
CONNS=${CONNS:-100}
THREADS=${THREADS:-2}
ARMS=${ARMS:-nginx varnish edge}
VARNISH_STORAGE=${VARNISH_STORAGE:-malloc,1G}
EDGE_CACHE_SIZE=${EDGE_CACHE_SIZE:-4GiB}
CREDIT=${CREDIT:-1000000000000000}
BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp}
QUIET_MAX=${QUIET_MAX:-30}
OUT_DIR=${OUT_DIR:-$BENCH_TMPDIR/mediagate-edge-results-$(date -u +%Y%m%dT%H%M%SZ)}
URL_TTL=604800 # s: the longest a signed URL may live (serve's MaxURLTTL, 7 days)
SMALL_SIZE=1024
LARGE_SIZE=1048576

BENCH=edge
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# --- children and clean-up -------------------------------------------------

PIDS=()
WORK=""
cleanup() { stop_and_remove "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- prerequisites -----------------------------------------------------------

command -v go >/dev/null || die "go is not on PATH"
bash "$ROOT/scripts/bench-deps.sh"
for c in curl jq wrk nginx varnishd; do command -v "$c" >/dev/null || die "$c is not on PATH"; done
((OBJECTS > 0 && OBJECTS <= 200000 && LARGE > 0 && LARGE <= 2048)) || die "OBJECTS must be 1..200,000, LARGE 1..2048"
((DURATION > 0 && DURATION <= 600 && CONNS > 0 && CONNS <= 10000 && THREADS > 0 && THREADS <= CONNS)) ||
	die "DURATION must be 1..600 s, CONNS 1..10,000, THREADS 1..CONNS"
for a in $ARMS; do [[ $a == nginx || $a == varnish || $a == edge ]] || die "unknown arm $a in ARMS"; done

# What is kept twice or three times (upload files, origin store, nginx and edge caches), with slack.
need=$(((OBJECTS * (SMALL_SIZE + 4096) + LARGE * LARGE_SIZE) / 1024 * 5))
mkdir -p "$BENCH_TMPDIR" "$OUT_DIR"
(($(df -k --output=avail "$BENCH_TMPDIR" | tail -1) > need)) || die "$BENCH_TMPDIR has too little room ($((need / 1024)) MiB needed)"
WORK=$(mktemp -d "$BENCH_TMPDIR/mediagate-edge.XXXXXX")

log "building ..."
if [[ -z ${MEDIAGATE:-} ]]; then
	(cd "$ROOT" && go build -o "$WORK/bin/mediagate" ./cmd/mediagate)
	MEDIAGATE=$WORK/bin/mediagate
fi
EDGE_NOTE=""
has_arm() { [[ " $ARMS " == *" $1 "* ]]; }

# --- the origin and its objects ----------------------------------------------

log "generating $OBJECTS × 1 KiB and $LARGE × 1 MiB objects ..."
mkdir -p "$WORK/files/small" "$WORK/files/large"
head -c $((OBJECTS * SMALL_SIZE)) /dev/urandom | split -b "$SMALL_SIZE" -a 7 -d - "$WORK/files/small/s"
head -c $((LARGE * LARGE_SIZE)) /dev/urandom | split -b "$LARGE_SIZE" -a 7 -d - "$WORK/files/large/l"
# Random bytes now and then start with a known magic number (zlib's is two
# bytes) and would be sniffed as that type: each file starts with 8 bytes of
# no type instead.
for f in "$WORK"/files/small/s* "$WORK"/files/large/l*; do
	printf '\0MGBENCH' | dd of="$f" bs=8 count=1 conv=notrunc status=none
done

ORIGIN_PORT=$(free_port)
ORIGIN=http://127.0.0.1:$ORIGIN_PORT
# The objects are bytes of no known type: application/octet-stream. No rate
# limits: the set-up signs thousands of URLs in a few seconds.
"$MEDIAGATE" serve --listen "127.0.0.1:$ORIGIN_PORT" --data "$WORK/data" --allowed-types application/octet-stream \
	--limits off --log-level warn >"$OUT_DIR/serve.log" 2>&1 &
PIDS+=("$!")
wait_port "$ORIGIN_PORT"
KEY=""
for _ in $(seq 1 100); do
	KEY=$(grep -o 'Admin API key (shown only now, keep it safe): [^ ]*' "$OUT_DIR/serve.log" | awk '{ print $NF }') && [[ -n $KEY ]] && break
	sleep 0.1
done
[[ -n $KEY ]] || die "serve printed no admin key: $(tail -3 "$OUT_DIR/serve.log")"
ACCOUNT=$(grep -o 'created the admin account acct_[A-Za-z0-9]*' "$OUT_DIR/serve.log" | awk '{ print $NF }')
[[ -n $ACCOUNT ]] || die "serve named no admin account: $(tail -3 "$OUT_DIR/serve.log")"
sed -i 's/\(Admin API key (shown only now, keep it safe): \).*/\1[removed]/; s/Bearer [^ "]*/Bearer [removed]/' "$OUT_DIR/serve.log"
curl -fsS -o /dev/null --max-time 5 "$ORIGIN/healthz" || die "origin /healthz does not answer"
"$MEDIAGATE" admin credit --data "$WORK/data" "$ACCOUNT" "$CREDIT" >/dev/null

# The key goes in a curl config file, not on command lines.
printf 'header = "Authorization: Bearer %s"\n' "$KEY" >"$WORK/auth.curl"
chmod 600 "$WORK/auth.curl"

# upload SIZE uploads files/SIZE/* and writes WORK/SIZE.objects: id, file, a line each.
upload() {
	local size=$1 n
	find "$WORK/files/$size" -type f | sort | MEDIAGATE_KEY=$KEY timeout 1800 xargs -n 2000 "$MEDIAGATE" upload --server "$ORIGIN" \
		--type application/octet-stream --json --quiet --state-dir "" >"$WORK/$size.upload.json" 2>"$OUT_DIR/upload-$size.log" ||
		die "upload of the $size objects failed: $(tail -3 "$OUT_DIR/upload-$size.log")"
	jq -r 'select(.state == "ready") | [.id, .filename] | @tsv' "$WORK/$size.upload.json" >"$WORK/$size.objects"
	n=$(wc -l <"$WORK/$size.objects")
	((n == $(find "$WORK/files/$size" -type f | wc -l))) || die "$size: $n objects ready after the upload"
}
log "uploading ..."
upload small
upload large

# sign SIZE BODY OUT signs a download URL for every object of SIZE with the
# JSON BODY (one curl, one connection) and writes the URLs to OUT, in order.
sign() {
	local size=$1 body=$2 out=$3
	awk -v o="$ORIGIN" '{ printf "url = \"%s/v1/objects/%s/url\"\n", o, $1 }' "$WORK/$size.objects" >"$WORK/sign.curl"
	timeout 900 curl -sS -K "$WORK/auth.curl" -K "$WORK/sign.curl" -H 'Content-Type: application/json' -d "$body" -w '\n' \
		>"$WORK/sign.out" || die "signing URLs failed"
	jq -r 'if .url then .url else error("\(.status) \(.detail)") end' "$WORK/sign.out" >"$out" 2>"$WORK/sign.err" ||
		die "signing URLs failed: $(head -c 300 "$WORK/sign.err")"
	# Each URL names its object.
	paste "$WORK/$size.objects" "$out" | awk -F'\t' 'index($3, "/" $1 "?") == 0 { bad++ } END { exit bad > 0 }' ||
		die "$size: a signed URL does not name its object"
}
# paths URLS prints each URL's path and query (what wrk requests).
paths() { sed -E 's|^https?://[^/]+||' "$1"; }

log "signing URLs ..."
for size in small large; do
	sign "$size" "{\"expires_in\": $URL_TTL}" "$WORK/$size.origin.urls"
	paths "$WORK/$size.origin.urls" >"$WORK/$size.origin.paths"
done

# origin_blob_gets prints how many blob GETs the origin has served: GET
# /blob/ (signed URLs: what nginx and Varnish fill from) and GET
# /v1/edge/blobs/ (what the edge fills from).
origin_blob_gets() {
	curl -fsS --max-time 10 "$ORIGIN/metrics" |
		awk '/^mediagate_http_request_duration_seconds_count\{route="GET \/(blob|v1\/edge\/blobs)\// { n += $NF } END { printf "%d\n", n }'
}

# --- the caches ---------------------------------------------------------------
# Each runs only for its own measurements: start_arm before, stop_arm after.

declare -A ARM_PORT ARM_PID ARM_PATHS
# start_arm ARM starts ARM's cache in front of the origin and sets its
# ARM_PORT, ARM_PID and ARM_PATHS (which signed paths it is given).
start_arm() {
	local arm=$1 port first u size
	port=$(free_port)
	case $arm in
	nginx)
		mkdir -p "$WORK/nginx"
		render_template "$ROOT/bench/edge/nginx.conf.in" "$WORK/nginx/nginx.conf" DIR="$WORK/nginx" PORT="$port" ORIGIN_PORT="$ORIGIN_PORT"
		start_nginx_conf "$WORK/nginx" "$port"
		ARM_PATHS[nginx]=origin
		;;
	varnish)
		mkdir -p "$WORK/varnish"
		render_template "$ROOT/bench/edge/varnish.vcl.in" "$WORK/varnish.vcl" ORIGIN_PORT="$ORIGIN_PORT"
		start_varnish "$WORK/varnish" "$port" "$WORK/varnish.vcl" "$VARNISH_STORAGE"
		ARM_PATHS[varnish]=origin
		;;
	edge)
		EDGE_KEY=$("$MEDIAGATE" admin create-key --data "$WORK/data" --scope edge "$ACCOUNT" edge-bench 2>/dev/null | grep -o '^mg_[A-Za-z0-9]*' | head -1) ||
			die "admin create-key --scope edge failed"
		"$MEDIAGATE" edge --origin "$ORIGIN" --key "$EDGE_KEY" --cache-dir "$WORK/edge-cache" --cache-size "$EDGE_CACHE_SIZE" \
			--region bench --listen "127.0.0.1:$port" --public-url "http://127.0.0.1:$port" >"$OUT_DIR/edge.log" 2>&1 &
		PIDS+=("$!")
		wait_port "$port"
		for _ in $(seq 1 100); do
			curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz" 2>/dev/null && break
			sleep 0.1
		done
		curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$port/healthz" || die "edge /healthz does not answer: $(tail -3 "$OUT_DIR/edge.log")"
		# The origin sends clients of region bench to the edge once it has registered.
		first=$(head -1 "$WORK/small.objects" | cut -f1)
		for _ in $(seq 1 200); do
			u=$(curl -fsS -K "$WORK/auth.curl" -H 'Content-Type: application/json' -d "{\"expires_in\": 60, \"region\": \"bench\"}" \
				"$ORIGIN/v1/objects/$first/url" | jq -r .url) || true
			[[ $u == "http://127.0.0.1:$port/"* ]] && break
			sleep 0.1
		done
		[[ $u == "http://127.0.0.1:$port/"* ]] ||
			die "after 20 s the origin still signs region bench's URLs for ${u%%/blob/*}, not the edge: $(tail -3 "$OUT_DIR/edge.log")"
		for size in small large; do
			sign "$size" "{\"expires_in\": $URL_TTL, \"region\": \"bench\"}" "$WORK/$size.edge.urls"
			! grep -qv "^http://127.0.0.1:$port/" "$WORK/$size.edge.urls" ||
				die "the origin's URLs for region bench do not all point at the edge: $(grep -v "^http://127.0.0.1:$port/" "$WORK/$size.edge.urls" | head -1)"
			paths "$WORK/$size.edge.urls" >"$WORK/$size.edge.paths"
		done
		ARM_PATHS[edge]=edge
		;;
	esac
	ARM_PORT[$arm]=$port
	ARM_PID[$arm]=${PIDS[-1]}
}

# stop_arm ARM keeps what ARM's cache logged and counted, stops it and drops
# it from PIDS.
stop_arm() {
	local arm=$1 p keep=()
	case $arm in
	nginx) cp "$WORK/nginx/error.log" "$OUT_DIR/nginx-error.log" ;;
	varnish)
		varnishstat -n "$WORK/varnish" -1 -f MAIN.cache_hit -f MAIN.cache_miss >"$OUT_DIR/varnishstat.txt" 2>&1 || true
		cp "$WORK/varnish/varnishd.log" "$OUT_DIR/varnishd.log"
		;;
	esac
	stop_pid "${ARM_PID[$arm]}"
	for p in "${PIDS[@]}"; do [[ $p == "${ARM_PID[$arm]}" ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# --- the runs -------------------------------------------------------------------

# warm ARM SIZE requests every URL once (all must be 200), then compares the
# first and the last object's bytes, now served from the cache, with the files.
warm() {
	local arm=$1 size=$2 base=http://127.0.0.1:${ARM_PORT[$1]} list=$WORK/$2.${ARM_PATHS[$1]}.paths codes ok
	awk -v b="$base" '{ printf "url = \"%s%s\"\noutput = \"/dev/null\"\n", b, $0 }' "$list" >"$WORK/warm.curl"
	codes=$(timeout 900 curl -sS -K "$WORK/warm.curl" -w '%{http_code}\n') || die "$arm, $size: the warm-up failed"
	ok=$(grep -c '^200$' <<<"$codes" || true)
	(($(wc -l <"$list") == ok)) || die "$arm, $size: $ok of $(wc -l <"$list") warm-up requests answered 200 ($(sort <<<"$codes" | uniq -c | tr -s ' \n' ' '))"
	local n f
	for n in 1 "$ok"; do
		f=$(sed -n "${n}p" "$WORK/$size.objects" | cut -f2)
		curl -fsS --max-time 30 -o "$WORK/check" "$base$(sed -n "${n}p" "$list")" || die "$arm, $size: GET of $f failed"
		cmp -s "$WORK/check" "$WORK/files/$size/$f" || die "$arm, $size: the bytes of $f differ from the upload"
	done
	rm -f "$WORK/check"
}

RESULTS=$OUT_DIR/results.tsv
printf 'arm\tsize\treq_s\tgb_s\tp50_ms\tp99_ms\tstatus_errors\tsocket_errors\tbytes_per_resp\torigin_gets\tbytes\n' >"$RESULTS"

# bench ARM SIZE OBJSIZE warms ARM's cache with SIZE's URLs, runs wrk and
# appends a line to RESULTS.
bench() {
	local arm=$1 size=$2 objsize=$3 base=http://127.0.0.1:${ARM_PORT[$1]} o0 o1 line
	log "$arm, $size: warm-up ..."
	warm "$arm" "$size"
	wait_quiet "$arm, $size"
	log "$arm, $size: wrk -t$THREADS -c$CONNS -d${DURATION}s ..."
	o0=$(origin_blob_gets)
	timeout --kill-after=10 $((DURATION + 120)) wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency \
		-s "$ROOT/bench/edge/urls.lua" "$base" -- "$WORK/$size.${ARM_PATHS[$arm]}.paths" "$THREADS" \
		>"$OUT_DIR/wrk-$arm-$size.txt" 2>&1 || die "$arm, $size: wrk failed: $(tail -3 "$OUT_DIR/wrk-$arm-$size.txt")"
	o1=$(origin_blob_gets)
	line=$(grep '^EDGEBENCH ' "$OUT_DIR/wrk-$arm-$size.txt") || die "$arm, $size: no figures in wrk's output"
	awk -v arm="$arm" -v size="$size" -v og=$((o1 - o0)) -v objsize="$objsize" '{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		s = v["duration_us"] / 1e6
		printf "%s\t%s\t%.0f\t%.3f\t%.3f\t%.3f\t%d\t%d\t%.0f\t%d\t%d\n", arm, size, v["requests"] / s, v["bytes"] / s / 1e9,
			v["p50_us"] / 1000, v["p99_us"] / 1000, v["status"], v["connect"] + v["read"] + v["write"] + v["timeout"],
			v["requests"] ? v["bytes"] / v["requests"] : 0, og, v["bytes"]
	}' <<<"$line" >>"$RESULTS"
	tail -1 "$RESULTS" | awk -F'\t' '{ printf "%s, %s: %s req/s, %s GB/s, p50 %s ms, p99 %s ms\n", $1, $2, $3, $4, $5, $6 }' | while read -r l; do log "$l"; done
}

# available_credit prints the account's available micro-credits (balance − held).
available_credit() { curl -fsS --max-time 10 -K "$WORK/auth.curl" "$ORIGIN/v1/account" | jq -r .available; }

EDGE_DRAWN=""
for arm in nginx varnish edge; do
	has_arm "$arm" || continue
	log "$arm: starting ..."
	credit0=$(available_credit)
	start_arm "$arm"
	bench "$arm" small "$SMALL_SIZE"
	bench "$arm" large "$LARGE_SIZE"
	stop_arm "$arm"
	# What the edge metered: held for its leases or charged; it closes them as it stops.
	[[ $arm != edge ]] || EDGE_DRAWN=$((credit0 - $(available_credit)))
done

# --- the report -------------------------------------------------------------------

# field ARM SIZE COLUMN prints one figure of RESULTS ("" if the arm did not run).
field() { awk -F'\t' -v a="$1" -v s="$2" -v c="$3" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next } $1 == a && $2 == s { print $col[c] }' "$RESULTS"; }
# ratio A B prints A ÷ B, 2 decimals ("—" if either is missing).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "—"; else printf "%.2f", a / b }'; }
# verdict OK prints met / missed (— when the edge did not run).
verdict() { if ! has_arm edge; then echo "—"; elif [[ $1 == 1 ]]; then echo met; else echo "**missed**"; fi; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { print (a != "" && b != "" && a + 0 >= b + 0) ? 1 : 0 }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { print (a != "" && b != "" && a + 0 <= b + 0) ? 1 : 0 }'; }

{
	echo "### Edge cache hits beside nginx proxy_cache and Varnish (bench/edge.sh)"
	echo
	echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "- machine: $(nproc) CPUs, $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }'), $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2/1048576 }' /proc/meminfo), kernel $(uname -r); caches of nginx and the edge on $(df -T "$WORK" | awk 'NR==2 { print $2 }') (page cache), Varnish's in memory"
	echo "- wrk runs on the same $(nproc) CPUs as the server it measures: the figures are client and server together on one machine"
	echo "- $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(varnishd -V 2>&1 | head -1 | sed 's/ revision.*//; s/[()]//g'), $(go version | cut -d' ' -f3)"
	echo "- mediagate tree: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "- settings: OBJECTS=$OBJECTS LARGE=$LARGE DURATION=$DURATION CONNS=$CONNS THREADS=$THREADS VARNISH_STORAGE=$VARNISH_STORAGE EDGE_CACHE_SIZE=$EDGE_CACHE_SIZE"
	[[ -z $EDGE_NOTE ]] || echo "- **$EDGE_NOTE**"
	echo
	echo "| arm | objects | requests/s | GB/s | p50 ms | p99 ms | responses ≥ 400 | socket errors | bytes/response | origin GETs in run |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	awk -F'\t' -v small="$OBJECTS × 1 KiB" -v large="$LARGE × 1 MiB" -v ss="$SMALL_SIZE" -v ls="$LARGE_SIZE" '
		NR == 1 { next }
		{
			names["nginx"] = "nginx proxy_cache (no checks)"; names["varnish"] = "Varnish (no checks)"
			names["edge"] = "mediagate edge (signature, metering)"
			objsize = $2 == "small" ? ss : ls
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", names[$1], $2 == "small" ? small : large,
				$3, $4, $5, $6, ($7 > 0 ? "**" $7 " FAILED**" : $7), ($8 > 0 ? "**" $8 " FAILED**" : $8),
				($9 < objsize ? "**" $9 " too few**" : $9), ($10 > 0 ? "**" $10 " (misses)**" : $10)
		}' "$RESULTS"
	echo
	n_small=$(field nginx small req_s)
	n_large=$(field nginx large gb_s)
	e_small=$(field edge small req_s)
	e_large=$(field edge large gb_s)
	e_p99=$(field edge small p99_ms)
	echo "Targets (the edge; ratios to nginx):"
	echo
	echo "| target | measured | |"
	echo "| --- | --- | --- |"
	echo "| 1 KiB hits: edge ≥ 1.0 × nginx requests/s | edge ÷ nginx = $(ratio "$e_small" "$n_small") (Varnish ÷ nginx = $(ratio "$(field varnish small req_s)" "$n_small")) | $(verdict "$(ge "$(ratio "$e_small" "$n_small")" 1.0)") |"
	echo "| 1 MiB hits: edge ≥ 4 GB/s | ${e_large:-—} GB/s (nginx ${n_large:-—}, Varnish $(field varnish large gb_s)) | $(verdict "$(ge "$e_large" 4)") |"
	echo "| 1 MiB hits: edge ≥ nginx | edge ÷ nginx = $(ratio "$e_large" "$n_large") | $(verdict "$(ge "$(ratio "$e_large" "$n_large")" 1.0)") |"
	echo "| p99 ≤ 2 ms at $CONNS connections (1 KiB hits) | ${e_p99:-—} ms (nginx $(field nginx small p99_ms), Varnish $(field varnish small p99_ms)) | $(verdict "$(le "$e_p99" 2)") |"
	echo
	echo "- each arm: warm-up (every URL once, all 200; the first and last object compared byte for byte with the upload), then \`wrk -t$THREADS -c$CONNS -d${DURATION}s --latency --timeout 10s -s bench/edge/urls.lua\` over every URL round-robin"
	echo "- p99 of 1 MiB hits is bound by throughput: $CONNS connections × 1 MiB in flight take $CONNS × 1.05 MB ÷ (GB/s) on average (26 ms at 4 GB/s), so the 2 ms target is judged on 1 KiB hits"
	echo "- GB/s: 10^9 bytes a second as wrk counts them (headers included); p50/p99: wrk's per-request latency; origin GETs in run: GET /blob/ and /v1/edge/blobs/ the origin served during wrk (from its /metrics), 0 for pure hits"
	if [[ -n $EDGE_DRAWN ]]; then
		echo "- metering: the account's available credit fell by $EDGE_DRAWN micro-credits over the edge arm (held for the edge's leases or charged; at $(awk -F'\t' '$1 == "edge" { n += $11 } END { printf "%.1f", n / 1e9 }' "$RESULTS") GB served in the wrk runs)$( ((EDGE_DRAWN > 0)) || echo ' **— nothing metered**')"
	fi
	if [[ -s $OUT_DIR/varnishstat.txt ]]; then
		echo "- Varnish's counters at the end: $(awk '/^MAIN\.cache_(hit|miss) / { printf "%s%s %s", sep, substr($1, 6), $2; sep = ", " }' "$OUT_DIR/varnishstat.txt")"
	fi
	if [[ -s $OUT_DIR/background.txt ]]; then
		echo
		echo "Background load seen before runs (other processes on this shared machine):"
		echo
		cat "$OUT_DIR/background.txt"
	fi
} >"$OUT_DIR/report.md"
cat "$OUT_DIR/report.md"
log "results kept in $OUT_DIR (results.tsv, report.md, wrk's outputs, the servers' logs)"
