-- load: moto's capacity, measured with a trivial call (sts GetCallerIdentity) kept at a fixed
-- number of requests in flight by a pool of tasks.
-- usage: luaws bench/load.lua REQUESTS CONCURRENCY   (AWS_ENDPOINT_URL and keys from the environment)
-- prints one JSON object: {requests=, concurrency=, seconds=, per_second=, errors=, max_in_flight_seen=}
local cjson = require "cjson"
local http = require "luaws.http"

local total = tonumber(arg[1]) or 1000
local concurrency = tonumber(arg[2]) or 64
http.set_max_in_flight(concurrency)

local sts = aws.client("sts", { max_attempts = 1 })
local issued, errors = 0, 0
local function worker()
  while issued < total do
    issued = issued + 1
    local ok = pcall(sts.GetCallerIdentity, sts, {})
    if not ok then errors = errors + 1 end
  end
end

local workers = {}
for i = 1, concurrency do workers[i] = worker end
local before = http.stats().requests
local started = aws.now()
aws.parallel(workers)
local seconds = aws.now() - started
io.write(cjson.encode {
  requests = http.stats().requests - before, concurrency = concurrency, seconds = seconds,
  per_second = total / seconds, errors = errors, max_in_flight_seen = http.stats().max_in_flight_seen,
}, "\n")
