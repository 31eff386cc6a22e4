-- testing: the tiny assertion library every Lua test uses; ends with "N passed, N failed".
local M = {}

local passed, failed = 0, 0
local current = "?"

local function describe(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

local function deep_equal(a, b, seen)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  seen = seen or {}
  if seen[a] == b then return true end
  seen[a] = b
  for k, v in pairs(a) do
    if not deep_equal(v, b[k], seen) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end
M.deep_equal = deep_equal

local function fail(msg, level)
  error({ assertion = true, message = msg }, (level or 1) + 1)
end

--- Runs one named test case; failures are counted, not fatal.
function M.test(name, fn)
  current = name
  local ok, err = xpcall(fn, function(e)
    if type(e) == "table" and e.assertion then return e.message .. "\n" .. debug.traceback("", 2) end
    return tostring(e) .. "\n" .. debug.traceback("", 2)
  end)
  if ok then
    passed = passed + 1
    io.stdout:write("ok   ", name, "\n")
  else
    failed = failed + 1
    io.stdout:write("FAIL ", name, ": ", err, "\n")
  end
  io.stdout:flush()
end

function M.ok(v, msg) if not v then fail(msg or "expected a true value", 2) end return v end

function M.eq(actual, expected, msg)
  if actual ~= expected then
    fail(string.format("%sexpected %s, got %s", msg and (msg .. ": ") or "", describe(expected), describe(actual)), 2)
  end
end

function M.same(actual, expected, msg)
  if not deep_equal(actual, expected) then
    local cjson = require "cjson"
    local function enc(v) local ok, s = pcall(cjson.encode, v) return ok and s or tostring(v) end
    fail(string.format("%sexpected %s, got %s", msg and (msg .. ": ") or "", enc(expected), enc(actual)), 2)
  end
end

function M.match(s, pattern, msg)
  if type(s) ~= "string" or not s:find(pattern) then
    fail(string.format("%sexpected %s to match %q", msg and (msg .. ": ") or "", describe(s), pattern), 2)
  end
end

--- Calls fn and expects it to raise; returns the error value.
function M.raises(fn, msg)
  local ok, err = pcall(fn)
  if ok then fail(msg or "expected an error", 2) end
  return err
end

--- Skips the whole file with a reason (only for missing optional data, never for coverage).
function M.skip_all(reason)
  io.stdout:write("skip: ", reason, "\n0 passed, 0 failed, 1 skipped\n")
  os.exit(0)
end

--- Prints the summary and exits non-zero when anything failed or nothing ran.
function M.done()
  io.stdout:write(string.format("%d passed, %d failed\n", passed, failed))
  io.stdout:flush()
  os.exit((failed == 0 and passed > 0) and 0 or 1)
end

M.current = function() return current end
return M
