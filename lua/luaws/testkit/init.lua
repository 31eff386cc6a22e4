-- testkit: test cases, assertions and a seeded local cloud for testing recipes (`luaws test`).
-- One implementation for everything: tests/lib/testing.lua (the project's own Lua tests) returns
-- this module, and `luaws test FILE|DIR` runs teams' recipe tests with it.
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

---------------------------------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------------------------------

local function shell_quote(text)
  return "'" .. tostring(text):gsub("'", "'\\''") .. "'"
end

local function file_exists(path)
  local f = io.open(path, "r")
  if f then f:close() return true end
  return false
end

local function read_file(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

-- A new owner-only folder; the name os.tmpname reserved stays taken until the folder is removed.
local function make_temp_dir(prefix)
  local fs = require "luaws.fs"
  local reserved = os.tmpname()
  local dir = reserved .. "." .. prefix
  assert(fs.mkdir_private(dir))
  return dir, function()
    os.execute("rm -rf " .. shell_quote(dir))
    os.remove(reserved)
  end
end

local function folder_of(path) return path:match("^(.*)/[^/]*$") or "." end

---------------------------------------------------------------------------------------------------
-- The local cloud
---------------------------------------------------------------------------------------------------

local clouds = {}      -- running clouds, stopped when the file ends
local clouds_started = 0
local test_file_dir    -- the folder of the file being run, for recipe paths relative to it
local Cloud = {}
Cloud.__index = Cloud
Cloud.__name = "luaws.TestCloud"

-- Where localcloud/serve.py lives: next to the Lua library (source tree or <prefix>/share/luaws).
local function localcloud_dir()
  local override = os.getenv("LUAWS_LOCALCLOUD_DIR")
  if override and override ~= "" then return override end
  return require("luaws.host").data_dir .. "/localcloud"
end

-- POSTs to the local cloud; returns the decoded JSON answer or raises naming the path.
local function post(url, path, body, content_type)
  local http = require "luaws.http"
  local res, err = http.request {
    method = "POST", url = url .. path, body = body, timeout = 120,
    headers = { ["Content-Type"] = content_type or "application/json" },
  }
  if not res then error(string.format("local cloud %s: %s", path, tostring(err)), 0) end
  if res.status ~= 200 then
    error(string.format("local cloud %s: HTTP %d: %s", path, res.status, res.body:sub(1, 300)), 0)
  end
  return res.body
end

local function post_json(url, path, payload)
  local cjson = require "cjson"
  local body = post(url, path, cjson.encode(payload or {}))
  local ok, decoded = pcall(cjson.decode, body)
  if not ok then error(string.format("local cloud %s: not JSON: %s", path, body:sub(1, 200)), 0) end
  return decoded
end

local SEED_OPTIONS = { role_suffix = true, no_role = true, two_keys = true, console_policy = true,
                       org = true, group_name = true, region = true, source_account = true,
                       target_account = true }

-- Writes profiles "source" and "target" (region only; keys in an owner-only credentials file).
local function write_profiles(dir, region, credentials)
  local fs = require "luaws.fs"
  local config, creds = {}, {}
  for _, profile in ipairs { "source", "target" } do
    config[#config + 1] = string.format("[profile %s]\nregion = %s\n", profile, region)
    local entry = credentials[profile]
    creds[#creds + 1] = string.format("[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
                                      profile, entry.access_key_id, entry.secret_access_key)
  end
  local config_file, credentials_file = dir .. "/config", dir .. "/credentials"
  assert(fs.write_private(config_file, table.concat(config, "\n")))
  assert(fs.write_private(credentials_file, table.concat(creds, "\n")))
  return config_file, credentials_file
end

-- Makes every luaws module see the cloud's config files, endpoint and region, and none of the
-- caller's own AWS_* settings (a real profile or key must never reach a test); HOME too with sso.
local function point_environment_at(cloud)
  local config = require "luaws.sdk.config"
  local overrides = {
    AWS_CONFIG_FILE = cloud.config_file, AWS_SHARED_CREDENTIALS_FILE = cloud.credentials_file,
    AWS_ENDPOINT_URL = cloud.url, AWS_REGION = cloud.region, AWS_EC2_METADATA_DISABLED = "true",
    AWS_MAX_ATTEMPTS = tostring(cloud.max_attempts), HOME = cloud.sso and cloud.dir or nil,
  }
  config.set_env(setmetatable(overrides, { __index = function(_, name)
    if type(name) == "string" and name:find("^AWS_") then return nil end
    return os.getenv(name)
  end }))
  local ok, credentials = pcall(require, "luaws.sdk.credentials")
  if ok and type(credentials.clear_cache) == "function" then credentials.clear_cache() end
end

--- testkit.cloud{seed=true|{...}|false, auth=true, region="us-east-1", max_attempts=1, sso=false} -> cloud.
--- Starts the local cloud (localcloud/serve.py, moto; Auto Scaling retries only on cloud:reconcile),
--- seeds the blog scenario unless seed == false (seed options: role_suffix, no_role, two_keys,
--- console_policy, org, group_name, source_account, target_account), writes profiles "source"
--- (account A: key, AMI) and "target" (account B: group) into a temporary folder, points the AWS
--- config of this process at them, then turns signature checking on (auth = false leaves it off).
--- sso = true: "source" and "target" are signed-in IAM Identity Center profiles (luaws.testkit.sso).
--- Fields: url, region, dir, config_file, credentials_file, summary (the seed's ids and ARNs:
--- source_account, target_account, key_arn, key_arns, image_id, snapshot_ids, group_name,
--- service_linked_role_arn, ...), source_account, target_account. Stopped when the file ends.
function M.cloud(opts)
  opts = opts or {}
  local dir_root = os.getenv("LUAWS_TEST_TMPDIR")
  local dir, cleanup
  if dir_root and dir_root ~= "" then
    clouds_started = clouds_started + 1
    dir = string.format("%s/cloud-%d", dir_root, clouds_started)
    assert(require("luaws.fs").mkdir_private(dir))
    cleanup = function() end -- the runner removes its whole folder
  else
    dir, cleanup = make_temp_dir("luaws-cloud")
  end
  local serve = localcloud_dir() .. "/serve.py"
  if not file_exists(serve) then
    cleanup()
    error("testkit.cloud: the local cloud is not installed (no " .. serve .. ")", 2)
  end
  local python = os.getenv("LUAWS_PYTHON")
  if not python or python == "" then python = "python3" end
  local log_file = dir .. "/localcloud.log"
  -- exec: the server's parent is this process, and serve.py exits when its parent goes away.
  local command = string.format("MOTO_EC2_LOAD_DEFAULT_AMIS=false exec %s %s --asg-retry 0 2>%s",
                                shell_quote(python), shell_quote(serve), shell_quote(log_file))
  local pipe = assert(io.popen(command, "r"))
  local line = pipe:read("l") or ""
  local url, pid = line:match("^LOCALCLOUD READY (%S+) pid=(%d+)")
  if not url then
    pipe:close()
    local log = (read_file(log_file) or ""):gsub("%s+$", "")
    cleanup()
    error(string.format("testkit.cloud: the local cloud did not start (%s needs python3 with moto[server]):" ..
                        " %s%s", serve, line, log ~= "" and ("\n" .. log:sub(-2000)) or ""), 2)
  end
  local cloud = setmetatable({
    url = url, pid = math.tointeger(tonumber(pid)), pipe = pipe, dir = dir, cleanup = cleanup,
    region = opts.region or (type(opts.seed) == "table" and opts.seed.region) or "us-east-1",
    max_attempts = opts.max_attempts or 1,
  }, Cloud)
  clouds[#clouds + 1] = cloud
  if opts.seed ~= false then
    local ok, err = pcall(function()
      local options = { region = cloud.region }
      for name, value in pairs(type(opts.seed) == "table" and opts.seed or {}) do
        if not SEED_OPTIONS[name] then error("testkit.cloud: unknown seed option '" .. tostring(name) .. "'", 0) end
        options[name] = value
      end
      local summary = post_json(url, "/localcloud-api/seed", options)
      local credentials = summary.credentials
      summary.credentials = nil -- secrets stay in the credentials file only
      cloud.summary = summary
      cloud.source_account, cloud.target_account = summary.source_account, summary.target_account
      cloud.config_file, cloud.credentials_file = write_profiles(dir, cloud.region, credentials)
      cloud.sso = opts.sso and require("luaws.testkit.sso").write_profiles(cloud)
    end)
    if not ok then cloud:stop() error(err, 2) end
  end
  if cloud.config_file then point_environment_at(cloud) end
  if cloud.sso then
    local signed, why = pcall(require("luaws.testkit.sso").sign_in, cloud)
    if not signed then cloud:stop() error(why, 2) end
  end
  if opts.auth ~= false then cloud:set_auth(0) end
  return cloud
end

--- cloud:set_auth(n): signature and IAM checking from the (n+1)th request on (0: at once,
--- "inf": never), as the server's --auth option.
function Cloud:set_auth(count)
  post(self.url, "/moto-api/reset-auth", tostring(count), "text/plain")
end

--- cloud:api(path, payload) -> decoded answer of a /localcloud-api/ endpoint (POST, JSON).
function Cloud:api(path, payload)
  return post_json(self.url, path, payload)
end

--- cloud:reconcile([group]) -> {groups = {{group=, desired=, in_service=, attempted=, reason=}}}:
--- makes Auto Scaling retry failed launches now (all groups, or the named one).
function Cloud:reconcile(group)
  return post_json(self.url, "/localcloud-api/asg/reconcile", { group = group })
end

--- cloud:client(service[, profile][, opts]) -> an aws client acting as profile ("source",
--- "target"; default "target") against this cloud; opts as for aws.client.
function Cloud:client(service, profile, opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.profile = o.profile or profile or "target"
  o.endpoint_url = o.endpoint_url or self.url
  o.region = o.region or self.region
  o.max_attempts = o.max_attempts or self.max_attempts
  return M.aws().client(service, o)
end

-- Recipe arguments as `luaws run` tokens: a list is used as it is; a map {name = value} becomes
-- --name value (true: --name, false: --no-name, a list: comma-separated).
local function argument_tokens(recipe_args)
  recipe_args = recipe_args or {}
  if #recipe_args > 0 then return recipe_args end
  local names = {}
  for name in pairs(recipe_args) do names[#names + 1] = name end
  table.sort(names)
  local tokens = {}
  for _, name in ipairs(names) do
    local value = recipe_args[name]
    local flag = "--" .. name:gsub("_", "-")
    if value == true then tokens[#tokens + 1] = flag
    elseif value == false then tokens[#tokens + 1] = "--no-" .. flag:sub(3)
    else
      if type(value) == "table" then value = table.concat(value, ",") end
      tokens[#tokens + 1] = flag .. "=" .. tostring(value)
    end
  end
  return tokens
end

-- A recipe name, a path, or a path relative to the test file's folder.
local function find_recipe(name)
  local recipe = require "luaws.recipe"
  if (name:find("/") or name:find("%.lua$")) and not file_exists(name) and not name:find("^/")
      and test_file_dir and file_exists(test_file_dir .. "/" .. name) then
    name = test_file_dir .. "/" .. name
  end
  return recipe.load(recipe.find(name))
end

--- cloud:run(recipe, args[, {apply=, output="text"|"json", profile=, region=, debug=}]) -> report.
--- Runs a recipe (a name `luaws list` knows, or a path, also relative to the test file) in this
--- process through the same code as `luaws run` against this cloud. args: {name = value} or a
--- token list {"--name", "value"}. report: status ("ok", "planned", "applied", "nothing-to-do",
--- "failed"), exit (0, 1, 2), plan (steps {action=, target=, detail=, diff=, status=}), result,
--- error ({code=, message=} when failed), text (the plan as `luaws run` prints it), json (with
--- output = "json": the stdout line), log (the recipe's progress lines). Bad usage (unknown
--- argument, bad value) gives status "failed" and exit 2 rather than raising.
function Cloud:run(name, recipe_args, opts)
  opts = opts or {}
  local plan = require "luaws.recipe.plan"
  local log = {}
  local globals = { apply = opts.apply and true or false, output = opts.output or "text",
                    profile = opts.profile, region = opts.region or self.region,
                    ["endpoint-url"] = self.url, debug = opts.debug }
  local report
  local ok, err = pcall(function()
    local r = find_recipe(name)
    report = require("luaws.recipe.cli").execute(r, argument_tokens(recipe_args), globals,
                                          function(line) log[#log + 1] = line end, M.aws())
  end)
  if not ok then
    local fields = type(err) == "table" and err or { message = tostring(err) }
    report = { recipe = name, status = "failed", exit = math.type(fields.exit) == "integer" and fields.exit or 1,
               plan = {}, raw_error = err,
               error = { code = fields.code or "Error", message = tostring(fields.message or err) } }
  end
  report.log = log
  report.text = plan.render(report)
  if globals.output == "json" then report.json = plan.report_json(report) end
  if os.getenv("LUAWS_TEST_VERBOSE") == "1" then
    io.stderr:write(table.concat(log, "\n"), #log > 0 and "\n" or "", report.text, "\n")
  end
  return report
end

--- cloud:stop(): stops the server, removes the cloud's temporary folder and gives the process its
--- own AWS environment back. Safe to call twice.
function Cloud:stop()
  if not self.pid then return end
  os.execute("kill " .. self.pid .. " 2>/dev/null")
  self.pipe:close()
  self.pid = nil
  if self.config_file then require("luaws.sdk.config").set_env(nil) end
  self.cleanup()
end

local function stop_clouds()
  for i = #clouds, 1, -1 do
    pcall(clouds[i].stop, clouds[i])
    clouds[i] = nil
  end
end

---------------------------------------------------------------------------------------------------
-- The runner: `luaws test FILE|DIR ...`
---------------------------------------------------------------------------------------------------

--- testkit.run_file(path) -> passed, failed. Runs one test file in this process with globals
--- `testkit` and `aws`; an error outside any case counts as one failure. Clouds stop afterwards.
function M.run_file(path)
  passed, failed, current = 0, 0, "?"
  runner_active = true
  test_file_dir = folder_of(path)
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
  stop_clouds()
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
