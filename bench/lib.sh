# bench/lib.sh: the helpers the bench scripts (run.sh, fetch.sh, fetchsvc.sh, edge.sh)
# share. Source it with BENCH naming the script (for log lines), OUT_DIR and QUIET_MAX
# set, and a PIDS array (start_nginx adds to it).

# log prints a timestamped line to stderr; die logs an error and exits.
log() { printf '%s %s: %s\n' "$(date -u +%H:%M:%S)" "${BENCH:-bench}" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# stop_pid stops one child: TERM, up to 10 s, then KILL.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# cpu_busy_ticks prints the machine's non-idle CPU ticks so far (USER_HZ).
cpu_busy_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# wait_quiet waits (at most QUIET_MAX s) until other processes use under a
# quarter of a core over one second, and notes it in OUT_DIR/background.txt
# when they do not.
wait_quiet() {
	local start=$SECONDS a b busy
	while :; do
		a=$(cpu_busy_ticks)
		sleep 1
		b=$(cpu_busy_ticks)
		busy=$((b - a)) # ticks of 10 ms in 1 s: 100 = one core
		if ((busy < 25)); then
			log "machine quiet (${busy}% of one core busy)"
			return
		fi
		if ((SECONDS - start >= QUIET_MAX)); then
			log "machine still busy (${busy}% of one core used by other processes); going on"
			echo "- $(date -u +%H:%M:%S) other processes used ${busy}% of one core just before: $1" >>"$OUT_DIR/background.txt"
			return
		fi
	done
}

# free_port prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

# wait_port waits (at most 10 s) until something listens on 127.0.0.1:$1.
wait_port() {
	local i
	for i in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
		sleep 0.1
	done
	die "nothing listens on 127.0.0.1:$1"
}

# start_nginx DIR ROOT PORT starts nginx as a static origin of the files in
# ROOT on 127.0.0.1:PORT (sendfile, keep-alive without limit, no logs),
# with its config and temp files in DIR, adds it to PIDS and waits for the
# port. NGX_PIDS is then nginx's master and workers, comma-separated.
start_nginx() {
	local dir=$1 root=$2 port=$3
	mkdir -p "$dir/tmp" "$root"
	cat >"$dir/nginx.conf" <<NGINX
# nginx as the origin: static GET of the generated files (tmpfs), sendfile.
daemon off;
user root;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	log_not_found off;
	default_type application/octet-stream;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 100000000;
	keepalive_timeout 120s;
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	server {
		listen 127.0.0.1:$port backlog=4096;
		root $root;
	}
}
NGINX
	start_nginx_conf "$dir" "$port"
}

# stop_and_remove stops every child in PIDS, then removes each directory
# given that is set: an EXIT trap's work.
stop_and_remove() {
	local pid d
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	PIDS=()
	for d in "$@"; do
		if [[ -n $d && -d $d ]]; then timeout 600 rm -rf "$d"; fi
	done
	return 0
}

# render_template SRC DST NAME=VALUE... copies SRC to DST with every @NAME@
# replaced by VALUE (VALUE must not hold a '|').
render_template() {
	local src=$1 dst=$2 kv args=()
	shift 2
	for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
	sed "${args[@]}" "$src" >"$dst"
	! grep -q '@[A-Z_]*@' "$dst" || die "$dst: a placeholder was left: $(grep -o '@[A-Z_]*@' "$dst" | head -1)"
}

# start_nginx_conf DIR PORT starts nginx with the config DIR/nginx.conf
# (daemon off, its pid and temp files under DIR; the caller wrote it), adds it
# to PIDS and waits for 127.0.0.1:PORT. NGX_PIDS is then nginx's master and
# workers, comma-separated.
start_nginx_conf() {
	local dir=$1 port=$2
	mkdir -p "$dir/tmp"
	nginx -t -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
	nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
	local pid=$!
	PIDS+=("$pid")
	wait_port "$port"
	NGX_PIDS=$(
		echo -n "$pid"
		pgrep -P "$pid" | sed 's/^/,/' | tr -d '\n'
	)
}

# start_varnish DIR PORT VCL STORAGE starts varnishd in the foreground (-F)
# as a cache on 127.0.0.1:PORT with the VCL file VCL and storage STORAGE (e.g.
# malloc,1G), its working directory (-n: shared memory log, compiled VCL)
# DIR, adds its manager to PIDS and waits for the port. It runs as the user
# that starts it (-j none): as root, the default unix jail would switch to the
# users varnish and vcache, which cannot enter a private (0700) work
# directory. No management port (-T none); varnishstat -n DIR reads counters.
start_varnish() {
	local dir=$1 port=$2 vcl=$3 storage=$4
	mkdir -p "$dir"
	varnishd -C -n "$dir" -j none -f "$vcl" >/dev/null 2>"$dir/vcc.log" || die "varnishd rejects $vcl: $(tail -5 "$dir/vcc.log")"
	varnishd -F -n "$dir" -j none -a "127.0.0.1:$port" -T none -f "$vcl" -s "$storage" >"$dir/varnishd.log" 2>&1 &
	PIDS+=("$!")
	wait_port "$port"
}
