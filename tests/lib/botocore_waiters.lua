-- botocore_waiters: test-only waiters-2 loader (botocore's data through python3), for
-- luaws.sdk.waiters.hooks.load until the generated models carry svc:waiters().
local jmespath = require "luaws.core.jmespath"

local M = {}
local cache = {}

--- load(service_name) -> botocore's waiters-2 document for the service ({version=, waiters=}),
--- or nil when botocore has none (or is not installed).
function M.load(name)
  if cache[name] ~= nil then return cache[name] or nil end
  assert(name:match("^[%w%-]+$"), "bad service name")
  local pipe = assert(io.popen("python3 -c 'import json, sys, botocore.session\n"
    .. "loader = botocore.session.get_session().get_component(\"data_loader\")\n"
    .. "try:\n  print(json.dumps(loader.load_service_model(sys.argv[1], \"waiters-2\")))\n"
    .. "except Exception:\n  print(\"null\")' " .. name .. " 2>/dev/null", "r"))
  local text = pipe:read("a")
  pipe:close()
  local ok, doc = pcall(jmespath.decode, text)
  cache[name] = ok and doc or false
  return cache[name] or nil
end

--- install(): makes luaws.sdk.waiters use botocore's definitions for services whose model has
--- no svc:waiters().
function M.install()
  local waiters = require "luaws.sdk.waiters"
  waiters.hooks.load = function(service)
    if type(service.waiters) == "function" then return nil end
    return M.load(service.name)
  end
end

return M
