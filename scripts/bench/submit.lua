-- wrk script of the submit benchmark (scripts/bench/submit.py).
--
-- BENCH_DATA names a Lua chunk returning {{path, cookie, body}, ...}. Each wrk thread takes every
-- n-th entry (BENCH_THREADS threads), so no two requests use the same prepared draft. With
-- BENCH_WRAP=1 (the baseline, one entry) entries are reused; otherwise a thread that has used all
-- of its entries asks for a path that does not exist, which counts as an error instead of quietly
-- re-submitting a draft. A response counts as a success only if it is the redirect the app answers
-- a successful submit with (302 to a Location matching BENCH_EXPECT); everything else is an error.
-- done() prints one JSON line that the Python side reads.

local data_path = os.getenv("BENCH_DATA")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local wrap = os.getenv("BENCH_WRAP") == "1"
local expect = os.getenv("BENCH_EXPECT") or ""

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local all = dofile(data_path)
  mine = {}
  for index = id + 1, #all, nthreads do
    table.insert(mine, all[index])
  end
  position = 0
  errors = 0
  ok = 0
end

function request()
  position = position + 1
  if position > #mine then
    if not wrap then
      return wrk.format("GET", "/bench-ran-out-of-prepared-drafts")
    end
    position = 1
  end
  local entry = mine[position]
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  if entry[2] ~= "" then
    headers["Cookie"] = entry[2]
  end
  return wrk.format("POST", entry[1], headers, entry[3])
end

function response(status, headers, body)
  local location = headers["Location"] or headers["location"] or ""
  if status == 302 and string.find(location, expect) then
    ok = ok + 1
  else
    errors = errors + 1
    if errors <= 3 then
      io.stderr:write("bench: unexpected response " .. status .. " " .. location .. "\n")
    end
  end
end

function done(summary, latency, requests)
  local total_errors, total_ok = 0, 0
  for _, thread in ipairs(threads) do
    total_errors = total_errors + thread:get("errors")
    total_ok = total_ok + thread:get("ok")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "ok": %d, "bad": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, total_ok, total_errors,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
