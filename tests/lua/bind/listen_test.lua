-- listen_test: luaws.http.listen, the one-shot 127.0.0.1 listener behind `luaws sso login`'s
-- browser redirect: free port, timeout, one request read and answered, close.
local T = require "testing"
local http = require "luaws.http"

T.case("listens on a free 127.0.0.1 port and times out when nobody comes", function()
  local listener = assert(http.listen())
  T.ok(listener:port() > 0 and listener:port() < 65536)
  local started = http.now()
  local request, why = listener:accept(0.2)
  T.eq(request, nil)
  T.eq(why, "timeout")
  T.ok(http.now() - started >= 0.19, "returned before the timeout")
  listener:close()
end)

T.case("reads one request's method and target and answers it", function()
  local listener <close> = assert(http.listen())
  local out = os.tmpname()
  os.execute(string.format("curl -s --max-time 20 -o %s 'http://127.0.0.1:%d/oauth/callback?code=abc&state=x%%20y'"
    .. " </dev/null 2>/dev/null &", out, listener:port()))
  local request = assert(listener:accept(10))
  T.eq(request.method, "GET")
  T.eq(request.target, "/oauth/callback?code=abc&state=x%20y")
  T.ok(listener:reply(200, "<p>signed in</p>"))
  local body
  for _ = 1, 100 do -- curl writes its output once the reply arrives
    local f = io.open(out)
    body = f and f:read("a")
    if f then f:close() end
    if body and body ~= "" then break end
    http.sleep(0.02)
  end
  os.remove(out)
  T.eq(body, "<p>signed in</p>")
  T.raises(function() listener:reply(200, "again") end)
end)

T.case("a closed listener refuses to accept", function()
  local listener = assert(http.listen())
  listener:close()
  listener:close() -- twice is fine
  T.raises(function() listener:accept(0.1) end)
end)

T.done()
