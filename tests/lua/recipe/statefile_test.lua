-- statefile_test: state files are owner-only JSON, replaced whole, and a broken one is a clear error.
local T = require "testing"
local statefile = require "luaws.recipe.statefile"
local fs = require "luaws.fs"

local dir = T.tempdir()

T.test("save then load round-trips; a missing file is an empty state", function()
  local path = dir .. "/s.json"
  T.same(statefile.load(path), {})
  T.ok(statefile.save(path, { accounts = { ["111122223333"] = { status = "done" } }, version = 1 }))
  local state = statefile.load(path)
  T.eq(state.accounts["111122223333"].status, "done")
  T.eq(fs.stat(path).mode & 511, 384, "mode 0600")
end)

T.test("a file that is not a JSON object is refused with its path", function()
  local path = dir .. "/bad.json"
  local f = assert(io.open(path, "w")) f:write("[1,2") f:close()
  local state, message = statefile.load(path)
  T.eq(state, nil)
  T.match(message, "bad%.json")
end)

T.test("default paths live under XDG_STATE_HOME or ~/.local/state, names reduced to safe characters", function()
  T.match(statefile.default_path("org grant/../x"), "/luaws/org%-grant%-%.%.%-x%.json$")
end)

T.done()
