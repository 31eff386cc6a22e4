-- testkit_test: `luaws test` itself: counting, folders, exit codes, isolation and help, on throwaway test files.
local testkit = require "luaws.testkit"
local fs = require "luaws.fs"

local exe = fs.realpath("/proc/self/exe")
local reserved = os.tmpname()
local dir = reserved .. ".d"
assert(fs.mkdir_private(dir))

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function write(name, text)
  local f = assert(io.open(dir .. "/" .. name, "w"))
  f:write(text)
  f:close()
end

-- Runs `luaws ARGS` -> stdout, exit code (stderr joins stdout).
local function luaws(args)
  local pipe = assert(io.popen(quote(exe) .. " " .. args .. " 2>&1", "r"))
  local out = pipe:read("a")
  local _, _, code = pipe:close()
  return out, code
end

write("good_test.lua", [[
testkit.case("adds", function() testkit.eq(1 + 1, 2) end)
print("7 passed, 0 failed") -- looks like a summary, but is not the last line
testkit.case("state is private", function()
  testkit.match(os.getenv("XDG_STATE_HOME"), "luaws%-test")
  testkit.match(os.getenv("LUAWS_BACKUP_DIR"), "luaws%-test")
end)
testkit.done()
]])
write("bad_test.lua", [[
local testkit = require "luaws.testkit"
testkit.case("passes", function() testkit.ok(true) end)
testkit.case("compares", function() testkit.same({ a = 1 }, { a = 2 }) end)
error("boom outside any case")
]])
write("crash_test.lua", "os.exit(3)\n")
write("helper.lua", "error('not a test file: never run')\n")

testkit.case("one passing file: its cases, then the summary last; exit 0", function()
  local out, code = luaws("test " .. quote(dir .. "/good_test.lua"))
  testkit.eq(code, 0, out)
  testkit.match(out, "ok   adds\n")
  testkit.match(out, "ok   state is private\n")
  testkit.match(out, "7 passed, 0 failed\n")
  testkit.match(out, "\n2 passed, 0 failed\n$")
end)

testkit.case("a folder runs every *_test.lua, totals the cases and fails", function()
  local out, code = luaws("test " .. quote(dir))
  testkit.eq(code, 1, out)
  testkit.match(out, "FAIL compares: expected {\"a\":2}, got {\"a\":1}")
  testkit.match(out, "boom outside any case")
  testkit.match(out, "crash_test.lua: exited with status 3")
  testkit.ok(not out:find("not a test file"), "helper.lua is not run")
  testkit.match(out, "failed files: .*bad_test.lua .*crash_test.lua")
  testkit.match(out, "\n3 passed, 3 failed\n$")
end)

testkit.case("bad usage exits 2", function()
  local out, code = luaws("test")
  testkit.eq(code, 2, out)
  testkit.match(out, "needs a test file")
  out, code = luaws("test " .. quote(dir .. "/missing_test.lua"))
  testkit.eq(code, 2, out)
  testkit.match(out, "no such file")
  out, code = luaws("test --apply " .. quote(dir))
  testkit.eq(code, 2, out)
end)

testkit.case("help explains the kit", function()
  local out, code = luaws("help test")
  testkit.eq(code, 0)
  testkit.match(out, "testkit%.cloud")
  testkit.match(out, "cloud:run%(recipe")
  local again = luaws("test --help")
  testkit.eq(again, out)
  testkit.match(luaws("--help"), "luaws test FILE|DIR")
end)

os.execute("rm -rf " .. quote(dir))
os.remove(reserved)
testkit.done()
