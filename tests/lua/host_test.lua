-- host_test: the embedded host: preloaded modules, search path, CLI exit codes.
local T = require "testing"
local bin = assert(os.getenv("LUAWS_BIN"), "LUAWS_BIN not set")

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

T.test("aws is preloaded and cjson is linked in", function()
  T.eq(type(aws), "table")
  T.eq(require("cjson").encode({ 1, 2 }), "[1,2]")
  T.eq(require("cjson.safe").decode("{"), nil)
end)

T.test("--version names luaws, Lua, curl and OpenSSL", function()
  local out, code = run(bin .. " --version")
  T.eq(code, 0)
  T.match(out, "^luaws %d+%.%d+%.%d+, Lua 5%.4%.%d+, curl %d[%d.]*, OpenSSL %d")
end)

T.test("an uncaught error is one line and exit 1", function()
  local out, code = run(bin .. [[ -e 'error("boom")']])
  T.eq(code, 1)
  T.eq(out, "luaws: (command line):1: boom\n")
end)

T.test("--debug adds a traceback", function()
  local out, code = run(bin .. [[ --debug -e 'error("boom")']])
  T.eq(code, 1)
  T.match(out, "stack traceback:")
end)

T.test("an error table chooses its exit code", function()
  local _, code = run(bin .. [[ -e 'error(setmetatable({exit=2},{__tostring=function() return "bad" end}))']])
  T.eq(code, 2)
end)

T.test("scripts get arg like lua", function()
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write('print(arg[0], arg[1], arg[2], select("#", ...))')
  f:close()
  local out, code = run(bin .. " " .. path .. " a b")
  os.remove(path)
  T.eq(code, 0)
  T.eq(out, path .. "\ta\tb\t2\n")
end)

T.test("LUAWS_PATH folders come first in package.path", function()
  local out = run("LUAWS_PATH=/tmp/one:/tmp/two " .. bin .. [[ -e 'io.write(package.path)']])
  T.match(out, "^/tmp/one/%?%.lua;/tmp/one/%?/init%.lua;/tmp/one/lua/%?%.lua;")
  T.match(out, "/tmp/two/%?%.lua")
end)

T.done()
