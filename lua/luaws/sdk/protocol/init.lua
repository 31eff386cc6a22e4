-- protocol: picks the module that speaks a service's AWS protocol (json, query, ec2, smithy-rpc-v2-cbor).
local errors = require "luaws.core.errors"

local M = {}

local SUPPORTED = {
  json = "luaws.sdk.protocol.json", query = "luaws.sdk.protocol.query", ec2 = "luaws.sdk.protocol.ec2",
  ["smithy-rpc-v2-cbor"] = "luaws.sdk.protocol.smithy-rpc-v2-cbor",
}
-- botocore's PRIORITY_ORDERED_SUPPORTED_PROTOCOLS: a model listing several `protocols` speaks the
-- first of these it lists (CloudWatch lists smithy-rpc-v2-cbor, json, query: botocore sends json).
local PRIORITY = { "json", "rest-json", "rest-xml", "smithy-rpc-v2-cbor", "query", "ec2" }

local function raise_unsupported(svc, protocol, level)
  errors.raise({ code = "UnsupportedProtocol", service = svc and svc.service_id,
    message = string.format("%s speaks the %s protocol, which luaws does not implement yet"
      .. " (supported: json, query, ec2, smithy-rpc-v2-cbor)", svc and svc.name or "this service",
      tostring(protocol)) },
    level + 1)
end

--- for_service(svc) -> the protocol module {build=, parse=, parse_error=} for svc, or raises
-- UnsupportedProtocol (rest-json and rest-xml are not implemented yet).
function M.for_service(svc)
  local candidates = { svc.protocol }
  local listed = svc.metadata and svc.metadata.protocols
  if type(listed) == "table" and #listed > 0 then
    local set = {}
    for _, p in ipairs(listed) do set[p] = true end
    candidates = {}
    for _, p in ipairs(PRIORITY) do
      if set[p] then candidates[#candidates + 1] = p end
    end
  end
  for _, p in ipairs(candidates) do
    if SUPPORTED[p] then return require(SUPPORTED[p]) end
  end
  raise_unsupported(svc, svc.protocol, 2)
end

--- unsupported(protocol) -> a stand-in module whose build/parse/parse_error raise
-- UnsupportedProtocol, so require("luaws.sdk.protocol.rest-json") fails clearly, not with "not found".
function M.unsupported(protocol)
  local function raise(svc) raise_unsupported(svc, protocol, 3) end
  return { build = raise, parse = raise, parse_error = raise }
end

return M
