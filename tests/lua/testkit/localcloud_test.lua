-- localcloud_test: the local cloud launcher starts, answers, seeds the blog scenario, and stops.
local T = require "testing"
local localcloud = require "localcloud"

T.test("starts on a free loopback port and stops", function()
  local server = localcloud.start()
  T.match(server.url, "^http://127%.0%.0%.1:%d+$")
  local p = io.popen("curl -s -o /dev/null -w '%{http_code}' " .. server.url .. "/moto-api/data.json")
  T.eq(p:read("a"), "200")
  p:close()
  local pid = server.pid
  server.stop()
  os.execute("sleep 0.5")
  T.ok(not os.execute("kill -0 " .. pid .. " 2>/dev/null"), "server still running after stop")
end)

T.test("seeds the blog scenario: profiles written, the group's launch failed", function()
  local server = localcloud.start { asg_retry = 0 }
  local ok, err = pcall(function()
    local dir = os.tmpname()
    os.remove(dir)
    local s = localcloud.seed(server, { dir = dir, role_suffix = "blue" })
    T.eq(s.source_account, "111111111111")
    T.eq(s.target_account, "222222222222")
    T.match(s.key_arn, "^arn:aws:kms:us%-east%-1:111111111111:key/")
    T.match(s.image_id, "^ami%-")
    T.match(s.service_linked_role_arn, "AWSServiceRoleForAutoScaling_blue$")
    T.eq(s.group_status_message, "Client.InternalError: Client error on launch")
    T.eq(s.credentials_file, dir .. "/credentials")
    local file = assert(io.open(s.credentials_file))
    local text = file:read("a")
    file:close()
    T.match(text, "%[target%]\naws_access_key_id = " .. s.access_key_ids.target)
    local groups = localcloud.reconcile(server).groups
    T.eq(#groups, 1)
    T.eq(groups[1].in_service, 0)
    T.match(groups[1].reason, "may not use")
  end)
  server.stop()
  if not ok then error(err, 0) end
end)

T.done()
