-- host_gc_test: the host starts Lua's collector only after 1 MB of allocation (a one-call
-- process never pays for a collection), then paces it as usual; lua_gc(LUA_GCSTEP, -n) granting
-- that credit is lapi.c behaviour this test pins down.
local T = require "testing"

local bin = assert(os.getenv("LUAWS_BIN"), "LUAWS_BIN not set")

local SCRIPT = [[
local finalized = false
setmetatable({}, { __gc = function() finalized = true end })
local keep, start = {}, collectgarbage("count")
while collectgarbage("count") - start < 600 do keep[#keep + 1] = ("x"):rep(90) .. #keep end
local before = finalized
for i = 1, 200000 do local _ = { i, i, i } end
io.write(tostring(before), " ", tostring(finalized), " ", collectgarbage("isrunning") and "running" or "stopped")
]]

T.test("no collection in the first megabyte, then the collector runs", function()
  local p = io.popen(bin .. " -e '" .. SCRIPT .. "' 2>&1")
  local out = p:read("a")
  p:close()
  T.eq(out, "false true running")
end)

T.done()
