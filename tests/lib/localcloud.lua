-- localcloud: starts localcloud/serve.py on a free 127.0.0.1 port for a Lua test.
local M = {}

local source_dir = os.getenv("LUAWS_SOURCE_DIR") or "."

--- Starts a server. opts.auth = N turns signature checking on after N requests;
--- opts.stock = true runs plain moto. Returns {url=, pid=, stop=function}.
function M.start(opts)
  opts = opts or {}
  local cmd = { "python3", source_dir .. "/localcloud/serve.py" }
  if opts.auth then cmd[#cmd + 1] = "--auth " .. tostring(opts.auth) end
  if opts.stock then cmd[#cmd + 1] = "--stock" end
  local pipe = assert(io.popen(table.concat(cmd, " ") .. " 2>/dev/null", "r"))
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

return M
