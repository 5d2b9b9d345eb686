-- bench/edge/urls.lua: wrk's script for bench/edge.sh.
--   wrk ... -s bench/edge/urls.lua http://127.0.0.1:PORT -- PATHS THREADS
-- Each thread reads PATHS (request paths with their query, one a line) and
-- GETs them round-robin, forever, thread k starting at k/THREADS of the list
-- so that the threads do not walk in step. The requests are formatted once.
-- done() prints one line for the script to parse:
--   EDGEBENCH requests=N bytes=N duration_us=N p50_us=X p99_us=X max_us=X
--             status=N connect=N read=N write=N timeout=N
-- (status: responses ≥ 400, what wrk prints as "Non-2xx or 3xx responses").

local counter = 0

function setup(thread)
	thread:set("tid", counter)
	counter = counter + 1
end

function init(args)
	local file, threads = args[1], tonumber(args[2] or "1")
	if not file then
		error("urls.lua: give the file of paths after --")
	end
	reqs = {}
	for line in io.lines(file) do
		if line ~= "" then
			reqs[#reqs + 1] = wrk.format("GET", line)
		end
	end
	if #reqs == 0 then
		error("urls.lua: no paths in " .. file)
	end
	i = math.floor(#reqs * (tid or 0) / threads) % #reqs
end

function request()
	i = i % #reqs + 1
	return reqs[i]
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"EDGEBENCH requests=%d bytes=%d duration_us=%d p50_us=%.1f p99_us=%.1f max_us=%.1f status=%d connect=%d read=%d write=%d timeout=%d\n",
		summary.requests, summary.bytes, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
		e.status, e.connect, e.read, e.write, e.timeout))
end
