-- wrk script: POSTs one JSON body with the headers given in the environment and
-- prints a JSON summary line (requests, errors, latency percentiles in µs).
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
-- BENCH_HEADERS: extra headers, "Name: value" separated by "|".
local extra = os.getenv("BENCH_HEADERS")
if extra and extra ~= "" then
  for pair in string.gmatch(extra, "[^|]+") do
    local name, value = string.match(pair, "^%s*([^:]+):%s*(.*)$")
    if name then wrk.headers[name] = value end
  end
end

-- BENCH_DELAY_MS: think time before each request on a connection, so that the
-- offered load is below saturation (32 connections, 2 ms: about 14k calls/s).
local think = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if think and think > 0 then
  function delay() return think end
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status  -- wrk counts statuses > 399 here
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_s": %.3f, "rps": %.1f, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "socket_errors": %d, "non_2xx": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, non2xx))
end
