-- credentials.process: the profile's credential_process, run and read as JSON Version 1 output.
-- Its stdout holds secrets, so no error message ever quotes it; stderr is quoted (one line).
local config = require "luaws.sdk.config"
local credentials = require "luaws.sdk.credentials.provider"
local cjson = require "cjson.safe"

local M = {}

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function first_line(text)
  local line = (text or ""):match("[^\r\n]*%S[^\r\n]*") or ""
  line = line:gsub("^%s+", ""):gsub("%s+$", "")
  if #line > 200 then line = line:sub(1, 200) .. "..." end
  return line
end

--- process.run(command, label, source) -> credentials object (its source field = source) from
--- the command's JSON output ({Version=1, AccessKeyId=, SecretAccessKey=, SessionToken=, Expiration=}). Raises
--- CredentialProcessError, naming label, for a non-zero exit, output that is not JSON, an
--- unsupported Version or a missing key.
function M.run(command, label, source)
  local function fail(fmt, ...)
    credentials.raise { code = "CredentialProcessError", message = label .. ": " .. string.format(fmt, ...) }
  end
  local stderr_path = os.tmpname()
  -- The command goes through /bin/sh (botocore splits it shell-style and runs it directly).
  local pipe = io.popen(command .. " 2>" .. shell_quote(stderr_path), "r")
  if not pipe then
    os.remove(stderr_path)
    fail("cannot start the command")
  end
  local output = pipe:read("a")
  local _, how, status = pipe:close()
  local f = io.open(stderr_path, "r")
  local stderr = f and f:read("a") or ""
  if f then f:close() end
  os.remove(stderr_path)
  if how ~= "exit" or status ~= 0 then
    local why = first_line(stderr)
    fail("the command %s %s%s", how == "signal" and "was killed by signal" or "exited with status",
      tostring(status), why ~= "" and (": " .. why) or "")
  end
  local parsed = cjson.decode(output or "")
  if type(parsed) ~= "table" then
    fail("the command's output is not a JSON object (expected the Version 1 credential format)")
  end
  if parsed.Version ~= 1 then
    fail("unsupported Version %s in the command's output: only 1 is supported",
      parsed.Version == nil and "(missing)"
        or string.format("%q", tostring(math.tointeger(parsed.Version) or parsed.Version)))
  end
  for _, key in ipairs { "AccessKeyId", "SecretAccessKey" } do
    if type(parsed[key]) ~= "string" or parsed[key] == "" then
      fail("the command's output has no %s", key)
    end
  end
  local expiration
  if parsed.Expiration ~= nil and parsed.Expiration ~= cjson.null then
    expiration = credentials.parse_time(parsed.Expiration)
    if not expiration then fail("the command's Expiration is not an ISO 8601 time") end
  end
  local token = parsed.SessionToken
  if token == cjson.null then token = nil end
  return credentials.new { access_key = parsed.AccessKeyId, secret_key = parsed.SecretAccessKey,
    session_token = token, expiration = expiration, source = source or label,
    account_id = type(parsed.AccountId) == "string" and parsed.AccountId or nil }
end

--- process.provider(name, settings) -> provider for profile name's credential_process: runs it
--- now (the chain resolves lazily already) and again before the credentials expire, if they do.
function M.provider(name, settings)
  local label = string.format("credential_process of profile '%s' (%s)", name,
    config.origin(settings, "credential_process") or "the config file")
  local command = settings.credential_process
  local source = "process:" .. name
  local function fetch() return M.run(command, label, source) end
  local first = fetch()
  if not first.expiration then return credentials.static(first) end
  return credentials.refreshable { initial = first, fetch = fetch, source = source }
end

return M
