-- progress_test: the progress bar draws only where asked, counts statuses; tables pad and cut cells.
local T = require "testing"
local progress = require "luaws.recipe.progress"

local function sink()
  local out = {}
  return { write = function(_, ...) for _, s in ipairs { ... } do out[#out + 1] = s end end,
           flush = function() end, text = function() return table.concat(out) end }
end

T.test("an enabled bar counts statuses and finishes the line; a disabled one writes nothing", function()
  local stream = sink()
  local clock = 0
  local bar = progress.bar { total = 4, label = "accounts", stream = stream, enabled = true, interval = 0,
                             clock = function() clock = clock + 1 return clock end }
  bar:advance("fixed") bar:advance("fixed") bar:advance("failed")
  T.match(bar:render(), "3/4 accounts")
  T.match(bar:render(), "fixed 2")
  bar:finish()
  T.match(stream.text(), "\n$")
  local quiet = sink()
  local off = progress.bar { total = 2, stream = quiet, enabled = false }
  off:advance("x") off:finish()
  T.eq(quiet.text(), "")
end)

T.test("tables pad to the widest cell and cut at max", function()
  local text = progress.table({ { a = "1", b = "short" }, { a = "22", b = string.rep("x", 20) } },
                              { { key = "a", title = "A" }, { key = "b", title = "B", max = 10 } })
  local lines = {}
  for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
  T.eq(#lines >= 3, true)
  for _, line in ipairs(lines) do T.ok(#line <= 2 + 2 + 10 + 2, line) end
end)

T.done()
