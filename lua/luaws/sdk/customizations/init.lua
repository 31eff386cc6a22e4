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
