-- fanout_test: rows handled N at a time, a failing row fails alone, the rate limit paces requests.
local T = require "testing"
local fanout = require "luaws.recipe.fanout"
local http = require "luaws.http"

T.test("every row is handled, at most `concurrency` at once; a failing row fails alone", function()
  local rows, running, peak, done = {}, 0, 0, {}
  for i = 1, 9 do rows[i] = { n = i } end
  fanout.run(rows, function(row)
    running = running + 1
    peak = math.max(peak, running)
    http.sleep(0.01)
    running = running - 1
    if row.n == 5 then error({ code = "AccessDenied", message = "no\nway" }, 0) end
    row.status = "ok"
  end, { concurrency = 3, on_done = function(row) done[#done + 1] = row.n end })
  T.eq(peak, 3)
  T.eq(#done, 9)
  T.eq(rows[5].status, "failed")
  T.eq(rows[5].error, "AccessDenied: no way")
  T.eq(rows[4].status, "ok")
end)

T.test("the bucket lets a burst through, then paces to the rate", function()
  local bucket = fanout.bucket(50, 2)
  local started = http.now()
  for _ = 1, 7 do bucket.take() end
  local elapsed = http.now() - started
  T.ok(elapsed >= 0.08 and elapsed < 1, "5 tokens past the burst at 50/s take ~0.1 s, took " .. elapsed)
end)

T.test("a limited client takes a token per call and passes plain fields through", function()
  local taken = 0
  local client = fanout.limited({ region = "r", Ping = function(self, x) return self, x end },
                                { take = function() taken = taken + 1 end })
  local _, x = client:Ping(4)
  T.eq(x, 4)
  T.eq(client.region, "r")
  T.eq(taken, 1)
  T.eq(fanout.one_line("a\nb"), "a b")
end)

T.done()
