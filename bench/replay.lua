-- wrk replays a list of request paths, each once, then stops: the load generator of
-- bench/query_bench.py's `replay_wrk`, used when wrk is installed. A C client takes a
-- small share of the two cores, where eight Python processes took about half.
--
--   wrk -t T -c C -d BOUND --timeout 30s -s bench/replay.lua URL -- PATHS_FILE T
--
-- Thread k of T asks every T-th path from the k-th, in order, over its C/T connections
-- (query_bench uses T = 1). When a thread has its share answered it prints "done" and
-- stops; the caller interrupts wrk (SIGINT) once every thread has, since wrk itself waits
-- out -d. A thread's last connections may ask a few paths of its share again; their
-- answers are not counted. At the end one line of JSON: requests, seconds, latency
-- percentiles in ms (wrk's, which add its correction for coordinated omission), and the
-- count of 5xx answers and of socket errors.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(args[2])
  share = {}
  local k = 0
  for line in io.lines(args[1]) do
    if k % nthreads == id then share[#share + 1] = line end
    k = k + 1
  end
  sent, answered, server_errors = 0, 0, 0
end

function request()
  sent = sent + 1
  return wrk.format("GET", share[(sent - 1) % #share + 1])
end

function response(status, headers, body)
  answered = answered + 1
  if status >= 500 then server_errors = server_errors + 1 end
  if answered == #share then
    io.write("done\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local errors = 0
  for _, t in ipairs(threads) do errors = errors + t:get("server_errors") end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.6f, "p50": %.3f, "p95": %.3f, "p99": %.3f, ' ..
    '"server_errors": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, latency:percentile(99) / 1e3,
    errors, e.connect + e.read + e.write + e.timeout))
end
