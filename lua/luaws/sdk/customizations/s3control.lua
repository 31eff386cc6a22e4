-- customizations.s3control: where S3 Control differs from its model: the rule set puts the
-- account id in the host, so the model's "{AccountId}." host prefix must not (botocore's
-- remove_accid_host_prefix_from_model).
local M = {}

--- s3control.endpoint_operation(op, static) -> a copy of op without its "{AccountId}." host
--- prefix when the operation requires an account id (static context parameter RequiresAccountId
--- in static, {Name=value}), or nil.
function M.endpoint_operation(op, static)
  if op.host_prefix ~= "{AccountId}." or static.RequiresAccountId ~= true then return nil end
  local copy = {}
  for k, v in pairs(op) do copy[k] = v end
  copy.host_prefix = nil
  return copy
end

return M
