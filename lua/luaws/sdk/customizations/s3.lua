-- customizations.s3: where S3 differs from its model: endpoint built-ins per call (botocore's
-- customize_endpoint_resolver_builtins) and request URIs without the bucket, which the rule
-- set's endpoint holds (botocore's remove_bucket_from_url_paths_from_model).
local M = {}

-- "arn:partition:service:region:account:resource" (botocore's ArnParser.is_arn).
local function is_arn(s)
  if type(s) ~= "string" or s:sub(1, 4) ~= "arn:" then return false end
  local _, colons = s:gsub(":", "")
  return colons >= 5
end

--- s3.endpoint_builtins(builtins, op, params) -> builtins for this call (a copy when changed):
--- GetBucketLocation always uses path style (the bucket's region is unknown to the caller and
--- a virtual host could answer AuthorizationHeaderMalformed); an ARN bucket never does.
function M.endpoint_builtins(builtins, op, params)
  local force
  if op.name == "GetBucketLocation" then
    force = true
  elseif is_arn(params.Bucket) then
    force = false
  end
  if force == nil or builtins["AWS::S3::ForcePathStyle"] == force then return builtins end
  local copy = {}
  for k, v in pairs(builtins) do copy[k] = v end
  copy["AWS::S3::ForcePathStyle"] = force
  return copy
end

--- s3.endpoint_operation(op, static) -> a copy of op whose request URI lacks its leading "/{Bucket}"
--- ("/{Bucket}/{Key+}" -> "/{Key+}", "/{Bucket}?uploads" -> "?uploads"), or nil when it has none.
function M.endpoint_operation(op)
  local path = op.http and op.http.path
  if type(path) ~= "string" or path:sub(1, 9) ~= "/{Bucket}" then return nil end
  local copy, http = {}, {}
  for k, v in pairs(op) do copy[k] = v end
  for k, v in pairs(op.http) do http[k] = v end
  http.path = path:sub(10)
  copy.http = http
  return copy
end

return M
