-- fakeserver: starts tests/lib/fakeserver.py (scriptable local HTTP server) for a Lua test.
-- local s = fakeserver.start{routes = {["/"] = {status = 200, body = "hi"}}}
-- s.url, s.port; s.log() -> requests seen; s.reset(); s.script{...}; s.stop()
-- opts.tls = {cert, key} serves HTTPS; opts.blackhole = true gives a port where connects hang.
-- See fakeserver.py for the script format.
local cjson = require "cjson"
local http = require "luaws.http"

local M = {}

local source_dir = os.getenv("LUAWS_SOURCE_DIR") or "."

local function control(server, method, path, body)
  local res, err = http.request{ method = method, url = server.url .. path, body = body,
                                 headers = { ["Content-Type"] = "application/json" }, timeout = 10 }
  if not res then error("fakeserver " .. path .. ": " .. tostring(err), 3) end
  if res.status ~= 200 then error("fakeserver " .. path .. ": HTTP " .. res.status, 3) end
  return cjson.decode(res.body)
end

--- Starts a server running `script` (a table, see fakeserver.py). opts.tls = {cert, key}.
function M.start(script, opts)
  opts = opts or {}
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(cjson.encode(script or {}))
  f:close()
  local cmd = { "exec python3", source_dir .. "/tests/lib/fakeserver.py" }
  if opts.tls then cmd[#cmd + 1] = "--tls " .. opts.tls[1] .. " " .. opts.tls[2] end
  cmd[#cmd + 1] = opts.blackhole and "--blackhole" or path
  local pipe = assert(io.popen(table.concat(cmd, " "), "r"))
  local line = pipe:read("l") or ""
  os.remove(path)
  local port = line:match("^FAKESERVER READY (%d+)")
  if not port then
    pipe:close()
    error("fakeserver did not start: " .. line, 2)
  end
  local scheme = opts.tls and "https" or "http"
  local server = { port = tonumber(port), url = scheme .. "://127.0.0.1:" .. port }
  function server.log() return control(server, "GET", "/_log") end
  function server.reset() control(server, "POST", "/_reset", "") end
  function server.script(new_script) control(server, "POST", "/_script", cjson.encode(new_script)) end
  function server.stop()
    if not pipe then return end
    if not opts.tls and not opts.blackhole then
      pcall(http.request, { method = "POST", url = server.url .. "/_shutdown", timeout = 2 })
    end
    pipe:close()
    pipe = nil
  end
  return server
end

return M
