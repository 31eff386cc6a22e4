-- fanout: runs a recipe step over many rows (accounts), N at a time, under a requests-per-second limit.
local errors = require "luaws.core.errors"
local http = require "luaws.http"

local M = {}

--- fanout.bucket(rate, burst) -> {take=fn}: a token bucket; take() returns once a request may go
--- (rate per second on average, bursts of `burst`). Tasks are cooperative, so it needs no lock: a
--- task only yields inside the scheduler's sleep and re-checks the bucket when it wakes.
function M.bucket(rate, burst)
  local tokens, last = burst, http.now()
  return {
    take = function()
      while true do
        local now = http.now()
        tokens = math.min(burst, tokens + (now - last) * rate)
        last = now
        if tokens >= 1 then
          tokens = tokens - 1
          return
        end
        http.sleep((1 - tokens) / rate)
      end
    end,
  }
end

--- fanout.limited(client, bucket) -> a proxy of client whose every call first takes a token
--- (paginate takes one per call, not per page).
function M.limited(client, bucket)
  return setmetatable({}, {
    __index = function(_, key)
      local value = client[key]
      if type(value) ~= "function" then return value end
      return function(_, ...)
        bucket.take()
        return value(client, ...)
      end
    end,
  })
end

--- fanout.run(rows, handle, {concurrency=, on_done=fn(row)}) -> nothing. Calls handle(row) for every
--- row, `concurrency` at a time, with at most that many requests on the wire. A row whose handler
--- raises gets status="failed" and error=<one line>; others keep what handle set. A crash of the
--- pool itself (not of a handler) is raised after every task stopped.
function M.run(rows, handle, opts)
  local concurrency = opts.concurrency or 8
  local previous_limit = http.set_max_in_flight(concurrency)
  local next_index = 0
  local function worker()
    while true do
      next_index = next_index + 1
      local row = rows[next_index]
      if not row then return end
      local ok, e = pcall(handle, row)
      if not ok then row.status, row.error = "failed", M.one_line(e) end
      if opts.on_done then opts.on_done(row) end
    end
  end
  local workers = {}
  for i = 1, math.min(concurrency, #rows) do workers[i] = worker end
  local _, crashed = http.parallel(workers)
  http.set_max_in_flight(previous_limit)
  for _, e in pairs(crashed or {}) do error(e, 0) end
end

--- fanout.one_line(e) -> "Code: message" for an error table, tostring(e) otherwise.
M.one_line = errors.summary

return M
