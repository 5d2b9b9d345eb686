# bench/lib.sh: the helpers bench/run.sh and bench/fetch.sh share. Source it
# after defining log and die, with OUT_DIR and QUIET_MAX set.

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
