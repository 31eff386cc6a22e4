-- customizations: per-service deltas from the generic SDK, one module per service, loaded on first use.
--
-- A service's module (luaws.sdk.customizations.<model name>) returns a table of optional fields;
-- each consumer documents the fields it reads:
--   read_only = {Op=true}                  operations that change nothing though not named so
--                                          (luaws.sdk.operations)
--   idempotent_writes = {Op=true|fn(params)} writes harmless to repeat (luaws.sdk.operations)
--   endpoint_builtins = fn(builtins, op, params) -> the endpoint rule-set built-ins for one call
--                                          (luaws.sdk.endpoints.resolver; return builtins or a copy)
--   endpoint_operation = fn(op, static) -> a copy of op for rule-set endpoints, or nil
--                                          (static: {Name=value} context params; same consumer)
-- and hooks luaws.sdk.client calls with ctx = {client=, service= (model), service_name=,
-- op= (model operation), op_name=, params= (the call's own shallow copy), region=, call_opts=},
-- one table per call, so a hook may leave notes in it for a later hook (fields prefixed with the
-- service name):
--   prepare(ctx)                      before the protocol builds the request: edit ctx.params
--   request(ctx, request)             after building: request = {method=, url=, headers= (list
--                                     of {name, value}), body= (string | luaws.FileBody | nil)}
--   sign_options(ctx, request, opts)  edit each attempt's luaws.sigv4.sign options
--                                     (normalize_path, double_encode, sign_body, payload_hash)
--   response(ctx, res)                every HTTP response, before it is judged: may change
--                                     res.status (S3's 200 with an <Error> body becomes 500)
--   error(ctx, res, decoded)          after the protocol decoded an error response: may fill
--                                     decoded.code / decoded.message (bodiless HEAD errors)
--   result(ctx, result, res)          after a 2xx response parsed: edit result in place
-- Services without a module get an empty table, so callers never test for nil.
local M = {}

local EMPTY = setmetatable({}, { __newindex = function() error("customizations are read-only", 2) end })
local cache = {}

--- customizations.for_service(name) -> the customization table of service `name` (never nil).
function M.for_service(name)
  local found = cache[name]
  if found ~= nil then return found end
  found = EMPTY
  if type(name) == "string" and name ~= "init" and name:match("^[%w][%w%-_]*$") then
    local module = "luaws.sdk.customizations." .. name
    if package.searchpath(module, package.path) then found = require(module) end
  end
  cache[name] = found
  return found
end

return M
