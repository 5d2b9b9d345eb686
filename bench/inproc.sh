#!/usr/bin/env bash
# bench/inproc.sh runs the in-process benchmarks, each beside its baseline in
# the same `go test` run, and prints a Markdown table of their rates:
#
#   - hot-account debits per second through the ledger (one account, many
#     goroutines, durable), beside a naive one-transaction-per-debit ledger on
#     the same database engine: SQLite always, PostgreSQL when ./postgres has
#     the benchmarks (it needs the server of DESIGN.md);
#   - rate-limiter decisions per second across 100k keys: in process always,
#     Redis when ./redis has the benchmark;
#   - 4 KiB and 64 MiB uploads straight to MinIO through mediagate's
#     pre-signed PUT URLs beside minio-go's PutObject (./s3; it starts the
#     pinned MinIO that scripts/minio.sh builds).
#
# Knobs (environment): COUNT (runs of each, 3), BENCHTIME (per run, 2s),
# OUT_DIR (where the raw output is kept; default: not kept).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNT=${COUNT:-3}
BENCHTIME=${BENCHTIME:-2s}
cd "$ROOT"

pkgs=(./sqlite ./ratelimit)
for p in postgres redis s3; do
	if grep -qs '^func Benchmark\(Ledger\|Allow\|PresignedPut\|MinioPut\)' "$p"/*_test.go; then pkgs+=("./$p"); fi
done

raw=$(timeout --kill-after=10 1800 go test -run '^$' -bench 'Ledger|Allow|PresignedPut|MinioPut' \
	-benchtime "$BENCHTIME" -count "$COUNT" "${pkgs[@]}")
if [[ -n ${OUT_DIR:-} ]]; then
	mkdir -p "$OUT_DIR"
	printf '%s\n' "$raw" >"$OUT_DIR/inproc.txt"
fi

echo "### In process: ledger debits, limiter decisions, uploads to S3 ($COUNT runs of $BENCHTIME each)"
echo
echo "| package | benchmark | median | runs |"
echo "| --- | --- | --- | --- |"
printf '%s\n' "$raw" | awk '
	/^pkg: / { pkg = $2; sub(/^mediagate\//, "", pkg) }
	/^Benchmark/ {
		name = $1; sub(/-[0-9]+$/, "", name)
		for (i = 3; i < NF; i++) if ($(i + 1) ~ /\/s$/) { unit = $(i + 1); v = $i }
		key = pkg "\t" name "\t" unit
		if (!(key in n)) order[++k] = key
		vals[key, ++n[key]] = v
	}
	# num prints a rate whole, or to three significant digits when small.
	function num(v) { return v >= 100 ? sprintf("%.0f", v) : sprintf("%.3g", v) }
	END {
		for (j = 1; j <= k; j++) {
			key = order[j]; m = n[key]
			for (a = 1; a <= m; a++) s[a] = vals[key, a] + 0
			for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (s[b] < s[a]) { t = s[a]; s[a] = s[b]; s[b] = t }
			med = (m % 2) ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
			runs = ""
			for (a = 1; a <= m; a++) runs = runs (a > 1 ? ", " : "") num(vals[key, a])
			split(key, f, "\t")
			printf "| %s | %s | **%s %s** | %s |\n", f[1], f[2], num(med), f[3], runs
		}
	}'
