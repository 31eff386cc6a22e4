-- localcloud: starts localcloud/serve.py on a free 127.0.0.1 port for a Lua test.
local M = {}

local source_dir = os.getenv("LUAWS_SOURCE_DIR") or "."

--- Starts a server. opts.auth = N turns signature checking on after N requests;
--- opts.stock = true runs plain moto; opts.asg_retry = seconds between Auto Scaling launch
--- retries (default 5, 0 = only on demand). Returns {url=, pid=, stop=function}.
function M.start(opts)
  opts = opts or {}
  local cmd = { "python3", source_dir .. "/localcloud/serve.py" }
  if opts.auth then cmd[#cmd + 1] = "--auth " .. tostring(opts.auth) end
  if opts.stock then cmd[#cmd + 1] = "--stock" end
  if opts.asg_retry then cmd[#cmd + 1] = "--asg-retry " .. tostring(tonumber(opts.asg_retry)) end
  local pipe = assert(io.popen("exec " .. table.concat(cmd, " ") .. " 2>/dev/null", "r"))
  local line = pipe:read("l") or ""
  local url, pid = line:match("^LOCALCLOUD READY (%S+) pid=(%d+)")
  if not url then
    pipe:close()
    error("local cloud did not start: " .. line)
  end
  local server = { url = url, pid = tonumber(pid) }
  function server.stop()
    if server.pid then
      os.execute("kill " .. server.pid .. " 2>/dev/null")
      pipe:close()
      server.pid = nil
    end
  end
  return server
end

--- Switches signature checking on (0) or off ("inf") at run time.
function M.set_auth(server, count)
  os.execute(string.format(
    "curl -s -o /dev/null -X POST -H 'Content-Type: text/plain' --data '%s' %s/moto-api/reset-auth",
    tostring(count), server.url))
end

local function shell_quote(text)
  return "'" .. tostring(text):gsub("'", "'\\''") .. "'"
end

local function run_json(command)
  local pipe = assert(io.popen(command .. " 2>&1", "r"))
  local output = pipe:read("a")
  local ok = pipe:close()
  local decoded = ok and require("cjson.safe").decode(output)
  if not decoded then error("localcloud: " .. command .. " failed: " .. output, 3) end
  return decoded
end

local SEED_FLAGS = { role_suffix = "--role-suffix", group_name = "--group-name",
                     region = "--region", dir = "--dir" }
local SEED_SWITCHES = { no_role = "--no-role", two_keys = "--two-keys",
                        console_policy = "--console-policy", org = "--org" }

--- Seeds the blog scenario (localcloud/scenario.py seed) into a started server.
--- opts: dir (profiles folder; default a new temp dir), role_suffix, no_role, two_keys,
--- console_policy, org, group_name, region. Returns the decoded summary: source_account,
--- target_account, key_arn, key_arns, image_id, snapshot_ids, group_name,
--- service_linked_role_arn, config_file, credentials_file (profiles "source" and "target").
function M.seed(server, opts)
  opts = opts or {}
  local cmd = { "python3", shell_quote(source_dir .. "/localcloud/scenario.py"), "seed",
                "--url", shell_quote(server.url) }
  for name, flag in pairs(SEED_FLAGS) do
    if opts[name] then cmd[#cmd + 1] = flag .. " " .. shell_quote(opts[name]) end
  end
  for name, flag in pairs(SEED_SWITCHES) do
    if opts[name] then cmd[#cmd + 1] = flag end
  end
  return run_json(table.concat(cmd, " "))
end

--- Retries Auto Scaling launches now (test-only endpoint); returns {groups = {...}} where each
--- group has group, desired, in_service, attempted, reason.
function M.reconcile(server)
  return run_json("python3 " .. shell_quote(source_dir .. "/localcloud/scenario.py")
    .. " reconcile --url " .. shell_quote(server.url))
end

return M
