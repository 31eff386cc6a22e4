-- testkit.cloud: a seeded local cloud (moto plus luaws's extensions) for recipe tests, and running
-- recipes on it as `luaws run` does.
local M = {}

--- cloud.aws() -> the `aws` library clients come from; luaws.testkit sets it (it is handed the facade).
M.aws = nil

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
function M.new(opts)
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

M.shell_quote, M.make_temp_dir = shell_quote, make_temp_dir

--- cloud.stop_all(): stops every cloud this process started (the runner calls it after each file).
M.stop_all = stop_clouds

--- cloud.set_test_dir(dir): the folder of the test file being run, for recipe paths relative to it.
function M.set_test_dir(dir) test_file_dir = dir end

return M
