-- process_test: credential_process output, failures that never echo secrets, and the refresh windows.
local T = require "testing"
local fx = require "credfix"
local credentials = fx.credentials
local tmpdir = fx.tmpdir
local write = fx.write
local env = fx.env
local chain = fx.chain

-- credential_process scripts print JSON; $1-free, they count runs in a file next to them.
local function process_profile(name, body)
  local script = write(name .. ".sh", "#!/bin/sh\n" .. body, "755")
  local cfg = write("config-" .. name, "[profile p]\ncredential_process = " .. script .. " --flag\n")
  env { AWS_CONFIG_FILE = cfg }
  return cfg
end

T.test("credential_process: Version 1 output, static when it has no Expiration", function()
  process_profile("proc-ok", [[
[ "$1" = "--flag" ] || exit 9
echo '{"Version": 1, "AccessKeyId": "AKIAPROC", "SecretAccessKey": "proc-secret", "SessionToken": "proc-token"}'
]])
  local c = chain { profile = "p" }
  T.eq(c.access_key, "AKIAPROC")
  T.eq(c.secret_key, "proc-secret")
  T.eq(c.session_token, "proc-token")
  T.eq(c.source, "process:p")
  T.eq(c.expiration, nil)
end)

T.test("credential_process failures are clear and never echo the output", function()
  local cases = {
    { "echo 'AKIA SECRETOUT' ; echo 'token expired, run login' >&2 ; exit 3",
      "exited with status 3: token expired, run login" },
    { "echo 'SECRETOUT not json'", "not a JSON object" },
    { [[echo '{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "SECRETOUT"}']], "unsupported Version \"2\"" },
    { [[echo '{"AccessKeyId": "A", "SecretAccessKey": "SECRETOUT"}']], "unsupported Version %(missing%)" },
    { [[echo '{"Version": 1, "AccessKeyId": "A", "Secret": "SECRETOUT"}']], "has no SecretAccessKey" },
    { [[echo '{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "SECRETOUT", "Expiration": "soon"}']],
      "Expiration is not an ISO 8601 time" },
    { "exec /nonexistent/helper", "exited with status 127" },
  }
  for i, case in ipairs(cases) do
    local cfg = process_profile("proc-bad" .. i, case[1] .. "\n")
    local e = T.raises(function() chain { profile = "p" } end, "case " .. i)
    T.eq(e.code, "CredentialProcessError", "case " .. i)
    T.match(e.message, case[2], "case " .. i)
    T.match(e.message, "^credential_process of profile 'p' %(" .. cfg:gsub("%p", "%%%0") .. "%)")
    T.ok(not tostring(e):find("SECRETOUT"), "case " .. i .. " echoes stdout: " .. tostring(e))
  end
end)

T.test("refresh windows: advisory failure keeps old credentials, mandatory failure raises", function()
  local counter = tmpdir .. "/count"
  local fail_flag = tmpdir .. "/fail"
  os.remove(counter)
  os.remove(fail_flag)
  local start = fx.clock
  process_profile("proc-refresh", string.format([[
[ -f %s ] && { echo 'refresh broke' >&2; exit 1; }
n=$(cat %s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s
echo "{\"Version\": 1, \"AccessKeyId\": \"AKIAGEN$n\", \"SecretAccessKey\": \"s$n\", \"Expiration\": \"%s\"}"
]], fail_flag, counter, counter, credentials.format_time(start + 3600)))
  local p = credentials.chain { profile = "p" }
  T.eq(p:get().access_key, "AKIAGEN1")
  fx.clock = start + 3600 - 16 * 60
  T.eq(p:get().access_key, "AKIAGEN1", "16 minutes left: no refresh")
  fx.clock = start + 3600 - 14 * 60
  T.eq(p:get().access_key, "AKIAGEN2", "14 minutes left: advisory refresh")
  write("fail", "")
  -- the script always prints the same expiration, so GEN2 expires at start + 3600 as well
  T.eq(p:get().access_key, "AKIAGEN2", "advisory refresh failed: old credentials kept")
  fx.clock = start + 3600 - 9 * 60
  local e = T.raises(function() p:get() end)
  T.eq(e.code, "CredentialProcessError")
  T.match(e.message, "refresh broke")
  os.remove(fail_flag)
  T.eq(p:get().access_key, "AKIAGEN3", "mandatory refresh once the process works again")
  fx.clock = start
end)

fx.finish()
T.done()
