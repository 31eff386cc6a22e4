-- c_module_test: luaws links Lua in statically, and a C module built the Debian way (not linked
-- to liblua) still loads, taking the Lua API from the luaws executable; libedit waits for the REPL.
local T = require "testing"

local dir = assert(os.getenv("LUAWS_TEST_C_MODULES"), "LUAWS_TEST_C_MODULES not set")

T.test("a C module without liblua loads and calls the Lua API", function()
  package.cpath = dir .. "/?.so;" .. package.cpath
  local m = require "luaws_test_c_module"
  T.eq(m.add(40, 2), 42)
  local ok, e = pcall(m.add, "x", 1)
  T.ok(not ok)
  T.match(tostring(e), "bad argument #1 to '[%w_.]*add' %(number expected")
end)

T.test("the executable exports the Lua API and does not load liblua5.4.so (nor libedit)", function()
  local maps = assert(io.open("/proc/self/maps")):read("a")
  T.ok(not maps:find("liblua5%.4%.so"), "liblua5.4.so is mapped")
  T.ok(not maps:find("libedit"), "libedit is mapped outside the REPL")
end)

T.done()
