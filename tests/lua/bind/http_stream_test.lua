-- http_stream_test: luaws.http request{stream=true}: head first, body chunks while they arrive,
-- bounded buffering with pause/resume, tasks that yield, failures midway, early close.
local T = require "testing"
local http = require "luaws.http"
local fakeserver = require "fakeserver"

local server = fakeserver.start {}

local function chunks(n, delay, size)
  local list = {}
  for i = 1, n do list[i] = { text = string.rep(string.char(96 + i), size or 10), delay = delay } end
  return list
end

T.test("the head comes back before the body; chunks arrive while the response goes on", function()
  server.script { routes = { ["/slow"] = { headers = { ["x-a"] = "1" }, chunks = chunks(4, 0.25) } } }
  local started = http.now()
  local res = assert(http.request { url = server.url .. "/slow", stream = true })
  local head_at = http.now() - started
  T.eq(res.status, 200)
  T.eq(res.headers["x-a"], "1")
  T.eq(type(res.body), "function")
  T.ok(head_at < 0.2, "head after " .. head_at .. " s, before the first chunk's delay")
  local got, times = {}, {}
  for chunk in res.body do
    got[#got + 1] = chunk
    times[#times + 1] = http.now() - started
  end
  T.eq(table.concat(got), "aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd")
  T.ok(#got >= 3, "pieces arrive separately")
  T.ok(times[1] < 0.45, "first piece at " .. times[1] .. " s")
  T.ok(times[#times] >= 0.9, "the last at " .. times[#times] .. " s")
  T.eq(res.body(), nil, "the end stays the end")
end)

T.test("in a task the stream yields: other tasks run while it waits", function()
  server.script { routes = { ["/slow"] = { chunks = chunks(3, 0.2) } } }
  local ticks = 0
  local ticker = http.spawn(function()
    for _ = 1, 20 do
      http.sleep(0.03)
      ticks = ticks + 1
    end
  end)
  local reader = http.spawn(function()
    local res = assert(http.request { url = server.url .. "/slow", stream = true })
    local n, ticks_at_first = 0, nil
    for chunk in res.body do
      n = n + #chunk
      ticks_at_first = ticks_at_first or ticks
    end
    return n, ticks_at_first
  end)
  local n, ticks_at_first = http.wait(reader)
  http.wait(ticker)
  T.eq(n, 30)
  T.ok(ticks_at_first >= 3, "the ticker ran while the reader waited (" .. tostring(ticks_at_first) .. ")")
end)

T.test("a slow reader pauses the download: chunks stay near the buffer size", function()
  local size = 4 * 1024 * 1024
  server.script { routes = { ["/big"] = { body_size = size } } }
  local started = http.now()
  local res = assert(http.request { url = server.url .. "/big", stream = true, buffer = 65536 })
  local first = res.body()
  http.sleep(0.3)  -- meanwhile the server could send everything; the buffer must not take it all
  local second = res.body()
  T.ok(#second <= 65536 + 65536, "after a pause the next piece is " .. #second .. " bytes")
  local total, biggest, pieces = #first + #second, 0, 2
  for chunk in res.body do
    total = total + #chunk
    pieces = pieces + 1
    if #chunk > biggest then biggest = #chunk end
    if pieces % 8 == 0 then http.sleep(0.002) end
  end
  T.eq(total, size)
  -- each resume goes on at once (not at the event loop's next 100 ms tick): 64+ pauses in well
  -- under the 6 s that ticks would cost
  T.ok(http.now() - started < 2.5, "4 MB through a 64 KB buffer took " .. (http.now() - started) .. " s")
  T.ok(biggest <= 65536 + 65536, "largest piece " .. biggest .. " bytes")
  T.ok(pieces >= 32, pieces .. " pieces")
end)

T.test("a connection reset midway raises a TransportError table from the iterator", function()
  server.script { routes = { ["/abort"] = { chunks = chunks(2, 0.05), abort = true } } }
  local res = assert(http.request { url = server.url .. "/abort", stream = true })
  local got = {}
  local ok, err = pcall(function() for chunk in res.body do got[#got + 1] = chunk end end)
  T.eq(ok, false)
  T.eq(type(err), "table")
  T.eq(err.code, "ConnectionReset")
  T.eq(math.type(err.curl_code), "integer")
  T.match(tostring(err), "^ConnectionReset: ")
end)

T.test("close() stops a stream early; errors and statuses come back as usual", function()
  server.script { routes = { ["/long"] = { chunks = chunks(5, 0.3) },
    ["/missing"] = { status = 404, body = "nope" } } }
  local res = assert(http.request { url = server.url .. "/long", stream = true })
  local started = http.now()
  T.eq(res.body(), string.rep("a", 10))
  res.close()
  T.eq(res.body(), nil)
  res.close()
  T.ok(http.now() - started < 0.5, "closing does not wait for the rest")
  local missing = assert(http.request { url = server.url .. "/missing", stream = true })
  T.eq(missing.status, 404)
  T.eq(missing.body(), "nope")
  T.eq(missing.body(), nil)
  local nothing, err = http.request { url = "http://127.0.0.1:1/", stream = true, connect_timeout = 2 }
  T.eq(nothing, nil)
  T.eq(err.code, "ConnectionRefused")
  T.eq(http.stats().in_flight, 0)
end)

server.stop()
T.done()
