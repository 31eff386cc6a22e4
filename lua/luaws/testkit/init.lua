-- testkit: test cases, assertions and a seeded local cloud for testing recipes (`luaws test`).
-- One implementation for everything: tests/lib/testing.lua (the project's own Lua tests) returns
-- this module, and `luaws test FILE|DIR` runs teams' recipe tests with it.
local cloudkit = require "luaws.testkit.cloud"

local M = {}

---------------------------------------------------------------------------------------------------
-- Cases and assertions
---------------------------------------------------------------------------------------------------

local passed, failed = 0, 0
local current = "?"
-- Under `luaws test` the runner prints the summary; done() must not end the process early.
local runner_active = false

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

--- testkit.test(name, fn) / testkit.case(name, fn): runs one named case; a failure (assertion or
--- any error) is counted and printed with a traceback, and the next case still runs.
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
M.case = M.test

--- testkit.ok(v[, msg]) -> v; fails unless v is truthy.
function M.ok(v, msg) if not v then fail(msg or "expected a true value", 2) end return v end

--- testkit.eq(actual, expected[, msg]): fails unless actual == expected.
function M.eq(actual, expected, msg)
  if actual ~= expected then
    fail(string.format("%sexpected %s, got %s", msg and (msg .. ": ") or "", describe(expected), describe(actual)), 2)
  end
end

--- testkit.same(actual, expected[, msg]): fails unless the two are deeply equal (tables by content).
function M.same(actual, expected, msg)
  if not deep_equal(actual, expected) then
    local cjson = require "cjson"
    local function enc(v) local ok, s = pcall(cjson.encode, v) return ok and s or tostring(v) end
    fail(string.format("%sexpected %s, got %s", msg and (msg .. ": ") or "", enc(expected), enc(actual)), 2)
  end
end

--- testkit.match(s, pattern[, msg]): fails unless string s matches the Lua pattern.
function M.match(s, pattern, msg)
  if type(s) ~= "string" or not s:find(pattern) then
    fail(string.format("%sexpected %s to match %q", msg and (msg .. ": ") or "", describe(s), pattern), 2)
  end
end

--- testkit.raises(fn[, msg]) -> the error value; fails unless fn raises.
function M.raises(fn, msg)
  local ok, err = pcall(fn)
  if ok then fail(msg or "expected an error", 2) end
  return err
end

--- testkit.skip_all(reason): skips the whole file (only for missing optional data, never for coverage).
function M.skip_all(reason)
  io.stdout:write("skip: ", reason, "\n0 passed, 0 failed, 1 skipped\n")
  io.stdout:flush()
  os.exit(0)
end

--- testkit.counts() -> passed, failed so far.
function M.counts() return passed, failed end

--- testkit.done(): prints "N passed, N failed" and exits non-zero when anything failed or nothing
--- ran. Under `luaws test` it does nothing: the runner prints the summary after the file.
function M.done()
  if runner_active then return end
  io.stdout:write(string.format("%d passed, %d failed\n", passed, failed))
  io.stdout:flush()
  os.exit((failed == 0 and passed > 0) and 0 or 1)
end

M.current = function() return current end

--- testkit.tempdir() -> path, write: a new empty folder, and write(name, text) -> path, which
--- creates or replaces a file in it.
function M.tempdir()
  local path = os.tmpname()
  os.remove(path)
  assert(os.execute("mkdir -p '" .. path .. "'"), "cannot create " .. path)
  local function write(name, text)
    local file_path = path .. "/" .. name
    local f = assert(io.open(file_path, "w"))
    f:write(text)
    f:close()
    return file_path
  end
  return path, write
end


local shell_quote, make_temp_dir = cloudkit.shell_quote, cloudkit.make_temp_dir

local function folder_of(path) return path:match("^(.*)/[^/]*$") or "." end

--- testkit.cloud(opts) -> a seeded local cloud (see luaws.testkit.cloud).
function M.cloud(opts) return cloudkit.new(opts) end

---------------------------------------------------------------------------------------------------
-- The runner: `luaws test FILE|DIR ...`
---------------------------------------------------------------------------------------------------

--- testkit.run_file(path) -> passed, failed. Runs one test file in this process with globals
--- `testkit` and `aws`; an error outside any case counts as one failure. Clouds stop afterwards.
function M.run_file(path)
  passed, failed, current = 0, 0, "?"
  runner_active = true
  cloudkit.set_test_dir(folder_of(path))
  local env = setmetatable({ testkit = M }, { __index = _G })
  local chunk, load_err = loadfile(path, "t", env)
  if not chunk then
    failed = failed + 1
    io.stdout:write("FAIL ", path, ": ", tostring(load_err), "\n")
  else
    local ok, err = xpcall(chunk, function(e) return tostring(e) .. "\n" .. debug.traceback("", 2) end)
    if not ok then
      failed = failed + 1
      io.stdout:write("FAIL ", path, " (outside any case): ", err, "\n")
    end
  end
  cloudkit.stop_all()
  runner_active = false
  io.stdout:flush()
  return passed, failed
end

-- The *_test.lua files of a folder, sorted; a file is itself.
local function expand(path)
  local fs = require "luaws.fs"
  local st = fs.stat(path)
  if not st then return nil, "no such file or folder: " .. path end
  if st.type ~= "directory" then return { path } end
  local files = {}
  for _, name in ipairs(fs.list(path) or {}) do
    if name:find("_test%.lua$") then files[#files + 1] = path:gsub("/+$", "") .. "/" .. name end
  end
  if #files == 0 then return nil, "no *_test.lua files in " .. path end
  return files
end

local function usage(message) return require("luaws.recipe.args").usage_error(message, "Usage") end

-- The luaws binary running now, so each file runs in the same build (plain or sanitized).
local function self_executable()
  local fs = require "luaws.fs"
  return fs.realpath("/proc/self/exe") or "luaws"
end

-- Runs one file in a child luaws with its own temporary folder for backups and state files (a
-- rerun of a resumable recipe must not find the previous test's state). Echoes the child's output
-- but its summary line, and returns passed, failed.
local function run_child(exe, file)
  local dir, cleanup = make_temp_dir("luaws-test")
  local settle = os.getenv("LUAWS_POLICY_SETTLE")
  local env = {
    "LUAWS_TEST_TMPDIR=" .. shell_quote(dir),
    "LUAWS_BACKUP_DIR=" .. shell_quote(dir .. "/backups"),
    "XDG_STATE_HOME=" .. shell_quote(dir .. "/state"),
    -- moto applies a key policy at once; the settle pause for real KMS only slows tests down.
    "LUAWS_POLICY_SETTLE=" .. shell_quote((settle and settle ~= "") and settle or "0.05"),
  }
  local command = string.format("%s %s test --in-process %s", table.concat(env, " "), shell_quote(exe),
                                shell_quote(file))
  local pipe = assert(io.popen(command, "r"))
  -- Only the child's last line is its summary; a case may print such a line earlier.
  local p, f, skipped, held
  for line in pipe:lines() do
    if held then io.stdout:write(held, "\n") end
    held, p, f = nil, nil, nil
    local sp, sf = line:match("^(%d+) passed, (%d+) failed")
    if sp then
      held, p, f = line, tonumber(sp), tonumber(sf)
    else
      if line:find("^skip: ") then skipped = true end
      io.stdout:write(line, "\n")
    end
    io.stdout:flush()
  end
  local _, _, code = pipe:close()
  cleanup()
  if skipped and code == 0 then return 0, 0, true end
  if not p then
    io.stdout:write(string.format("FAIL %s: exited with status %s before its summary\n", file, tostring(code)))
    return 0, 1
  end
  if code ~= 0 and f == 0 then
    io.stdout:write(string.format("FAIL %s: exited with status %s\n", file, tostring(code)))
    f = 1
  end
  return p, f
end

--- testkit.command(tokens, globals) -> exit code: the `luaws test FILE|DIR ... [--in-process]`
--- command. Prints each case, "FILE: N passed, N failed" per file, then the totals as the last
--- line "N passed, N failed". Exit 0 when every case passed (and at least one ran), 1 otherwise.
--- testkit.aws() -> the `aws` library tests and recipes run with: the one `luaws test` was handed,
--- else the `aws` global the host gives every script (testkit never requires the facade, which
--- hands it the test command).
local handed_aws
function M.aws()
  return handed_aws or rawget(_G, "aws") or error("testkit: no aws library (run under luaws)", 2)
end
cloudkit.aws = M.aws

--- testkit.command(tokens, globals, aws) -> exit code of `luaws test ...` (aws: the facade).
function M.command(tokens, globals, aws)
  handed_aws = aws or handed_aws
  for _, name in ipairs { "profile", "region", "endpoint-url", "apply" } do
    if globals[name] then
      error(usage("--" .. name .. " is not an option of luaws test (a test chooses its own)"), 0)
    end
  end
  local in_process, paths = false, {}
  for _, token in ipairs(tokens) do
    if token == "--in-process" then in_process = true
    elseif token:find("^%-%-") then error(usage("unknown option " .. token .. " for luaws test"), 0)
    else paths[#paths + 1] = token end
  end
  if #paths == 0 then error(usage("luaws test needs a test file or folder (luaws help test)"), 0) end
  local files = {}
  for _, path in ipairs(paths) do
    local found, err = expand(path)
    if not found then error(usage(err), 0) end
    for _, file in ipairs(found) do files[#files + 1] = file end
  end
  if in_process then
    if #files ~= 1 then error(usage("--in-process runs exactly one file"), 0) end
    local p, f = M.run_file(files[1])
    io.stdout:write(string.format("%d passed, %d failed\n", p, f))
    io.stdout:flush()
    return (f == 0 and p > 0) and 0 or 1
  end
  local exe = self_executable()
  local total_passed, total_failed, failed_files = 0, 0, {}
  for _, file in ipairs(files) do
    if #files > 1 then io.stdout:write("== ", file, "\n") end
    local p, f, skipped = run_child(exe, file)
    if #files > 1 then io.stdout:write(string.format("%s: %d passed, %d failed\n", file, p, f)) end
    if f > 0 or (p == 0 and not skipped) then failed_files[#failed_files + 1] = file end
    total_passed, total_failed = total_passed + p, total_failed + f
  end
  if #files > 1 and #failed_files > 0 then
    io.stdout:write("failed files: ", table.concat(failed_files, " "), "\n")
  end
  io.stdout:write(string.format("%d passed, %d failed\n", total_passed, total_failed))
  io.stdout:flush()
  return (#failed_files == 0) and 0 or 1
end

return M
