-- localcloud_test: the local cloud launcher starts, answers, and stops.
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

T.done()
