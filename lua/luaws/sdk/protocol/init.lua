-- protocol: picks the module that speaks a service's AWS protocol, in botocore's priority order.
local errors = require "luaws.core.errors"

local M = {}

--- PRIORITY: protocol names in the order botocore prefers them when a model lists several
-- (metadata.protocols); each is the module luaws.sdk.protocol.<name>. A module that is a
-- stand-in (unsupported = true) is skipped, and reported when nothing else fits.
M.PRIORITY = { "json", "rest-json", "rest-xml", "smithy-rpc-v2-cbor", "query", "ec2" }
local KNOWN = {}
for _, p in ipairs(M.PRIORITY) do KNOWN[p] = "luaws.sdk.protocol." .. p end

local function raise_unsupported(svc, protocol, level)
  errors.raise({ code = "UnsupportedProtocol", service = svc and svc.service_id,
    message = string.format("%s speaks the %s protocol, which luaws does not implement yet",
      svc and svc.name or "this service", tostring(protocol)) }, level + 1)
end

--- module_for(name) -> the protocol module called name, or nil, reason ("unknown protocol" or
-- "not implemented" for a stand-in).
function M.module_for(name)
  local path = KNOWN[name]
  if not path then return nil, "unknown protocol " .. tostring(name) end
  local ok, mod = pcall(require, path)
  if not ok then return nil, tostring(mod) end
  if type(mod) ~= "table" or mod.unsupported then return nil, "not implemented" end
  return mod
end

--- resolve(svc) -> the protocol name botocore would use for svc: the first of PRIORITY in
-- metadata.protocols, else metadata.protocol.
function M.resolve(svc)
  local listed = svc.metadata and svc.metadata.protocols
  if type(listed) == "table" and #listed > 0 then
    local set = {}
    for _, p in ipairs(listed) do set[p] = true end
    for _, p in ipairs(M.PRIORITY) do
      if set[p] then return p end
    end
  end
  return svc.protocol
end

--- for_service(svc) -> the protocol module {build=, parse=, parse_error=} for svc, or raises
-- UnsupportedProtocol when neither botocore's choice nor any other listed protocol is implemented.
function M.for_service(svc)
  local chosen = M.resolve(svc)
  local mod = M.module_for(chosen)
  if mod then return mod end
  for _, p in ipairs(svc.metadata and svc.metadata.protocols or {}) do
    mod = M.module_for(p)
    if mod then return mod end
  end
  raise_unsupported(svc, chosen, 2)
end

--- unsupported(protocol) -> a stand-in module (unsupported = true) whose build/parse/parse_error
-- raise UnsupportedProtocol, so require("luaws.sdk.protocol.X") fails clearly, not with "not found".
function M.unsupported(protocol)
  local function raise(svc) raise_unsupported(svc, protocol, 3) end
  return { build = raise, parse = raise, parse_error = raise, unsupported = true }
end

return M
