-- arn: parse, validate and build ARNs, account IDs, region names, role names and KMS key references.
local M = {}

-- The partitions luaws knows, with the region-name prefixes that belong to each. A region outside
-- these is refused rather than guessed, because a typo'd region silently sends calls nowhere useful.
M.partitions = {
  ["aws"] = { name = "aws", dns_suffix = "amazonaws.com",
              geos = { "us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx" } },
  ["aws-cn"] = { name = "aws-cn", dns_suffix = "amazonaws.com.cn", geos = { "cn" } },
  ["aws-us-gov"] = { name = "aws-us-gov", dns_suffix = "amazonaws.com", geos = { "us-gov" } },
}

--- arn.is_account_id(s) -> boolean: exactly twelve decimal digits (leading zeros are real).
function M.is_account_id(s)
  return type(s) == "string" and #s == 12 and s:find("^%d+$") ~= nil
end

--- arn.check_account_id(s) -> s, or nil and a message saying what is wrong.
function M.check_account_id(s)
  if M.is_account_id(s) then return s end
  return nil, string.format("'%s' is not a 12-digit AWS account ID", tostring(s))
end

--- arn.region_partition(region) -> partition name ("aws", "aws-cn", "aws-us-gov") or nil, message.
--- Checks the shape (geo-area-N) and that the geography belongs to a known partition.
function M.region_partition(region)
  if type(region) ~= "string" then return nil, "region must be a string" end
  local geo, rest = region:match("^(%l%l)%-([%l%-]+%-%d%d?)$")
  if not geo then
    return nil, string.format("'%s' is not an AWS region name (like us-east-1)", region)
  end
  if geo == "us" and rest:find("^gov%-") then geo = "us-gov" end
  if not rest:find("^%l+%-%d%d?$") and geo ~= "us-gov" then
    return nil, string.format("'%s' is not an AWS region name (like us-east-1)", region)
  end
  for name, p in pairs(M.partitions) do
    for _, g in ipairs(p.geos) do
      if g == geo then return name end
    end
  end
  return nil, string.format("'%s' is not a region of a known partition (aws, aws-cn, aws-us-gov)", region)
end

--- arn.is_region(s) -> boolean.
function M.is_region(s)
  return M.region_partition(s) ~= nil
end

-- Splits a resource into type and id at the first "/" or ":"; IAM paths stay inside the id.
local function split_resource(resource)
  local rtype, sep, id = resource:match("^([%w%-_%.]+)([/:])(.+)$")
  if rtype then return rtype, id, sep end
  return nil, resource, nil
end

--- arn.parse(s) -> {partition=, service=, region=, account=, resource=, resource_type=,
--- resource_id=, separator=} or nil, message. Region and account may be "" (IAM, S3).
function M.parse(s)
  if type(s) ~= "string" then return nil, "an ARN must be a string" end
  local partition, service, region, account, resource =
    s:match("^arn:([^:]*):([^:]*):([^:]*):([^:]*):(.+)$")
  if not partition then
    return nil, string.format("'%s' is not an ARN (arn:partition:service:region:account:resource)", s)
  end
  if not M.partitions[partition] then
    return nil, string.format("'%s' has unknown partition '%s' (aws, aws-cn, aws-us-gov)", s, partition)
  end
  if not service:find("^[%l%d%-]+$") then
    return nil, string.format("'%s' has a malformed service '%s'", s, service)
  end
  if region ~= "" then
    local region_partition, why = M.region_partition(region)
    if not region_partition then return nil, string.format("ARN '%s': %s", s, why) end
    if region_partition ~= partition then
      return nil, string.format("ARN '%s': region %s is not in partition %s", s, region, partition)
    end
  end
  if account ~= "" and not M.is_account_id(account) and account ~= "aws" then
    return nil, string.format("ARN '%s': '%s' is not a 12-digit AWS account ID", s, account)
  end
  local rtype, id, sep = split_resource(resource)
  return {
    arn = s, partition = partition, service = service, region = region, account = account,
    resource = resource, resource_type = rtype, resource_id = id, separator = sep,
  }
end

--- arn.is_arn(s) -> boolean.
function M.is_arn(s)
  return M.parse(s) ~= nil
end

--- arn.build{partition="aws", service=, region="", account="", resource=} -> string.
--- resource may instead be given as resource_type + resource_id (joined with "/").
function M.build(parts)
  local resource = parts.resource
  if not resource then
    assert(parts.resource_type and parts.resource_id, "arn.build needs resource or resource_type+resource_id")
    resource = parts.resource_type .. (parts.separator or "/") .. parts.resource_id
  end
  assert(parts.service, "arn.build needs a service")
  return table.concat({ "arn", parts.partition or "aws", parts.service, parts.region or "",
                        parts.account or "", resource }, ":")
end

--- arn.root(account[, partition]) -> "arn:aws:iam::ACCOUNT:root".
function M.root(account, partition)
  assert(M.is_account_id(account), "arn.root needs a 12-digit account ID")
  return M.build { partition = partition, service = "iam", account = account, resource = "root" }
end

--- arn.account_of(s) -> the account of an ARN, or of an account ID itself, or nil.
function M.account_of(s)
  if M.is_account_id(s) then return s end
  local p = M.parse(s)
  if p and p.account ~= "" then return p.account end
  return nil
end

--- arn.is_root(s) -> account or nil: whether s names an account's root ("B" or arn:...:iam::B:root).
function M.is_root(s)
  if M.is_account_id(s) then return s end
  local p = M.parse(s)
  if p and p.service == "iam" and p.resource == "root" then return p.account end
  return nil
end

--- arn.role(account, name[, path[, partition]]) -> role ARN. path is "/" or "/a/b/".
function M.role(account, name, path, partition)
  path = path or "/"
  assert(path:sub(1, 1) == "/" and path:sub(-1) == "/", "a role path starts and ends with '/'")
  return M.build { partition = partition, service = "iam", account = account,
                   resource = "role" .. path .. name }
end

--- arn.role_name(role_arn) -> name, path (e.g. "AWSServiceRoleForAutoScaling",
--- "/aws-service-role/autoscaling.amazonaws.com/") or nil, message.
function M.role_name(role_arn)
  local p, err = M.parse(role_arn)
  if not p then return nil, err end
  if p.service ~= "iam" or p.resource_type ~= "role" or p.separator ~= "/" then
    return nil, string.format("'%s' is not an IAM role ARN", role_arn)
  end
  local path, name = ("/" .. p.resource_id):match("^(.*/)([^/]+)$")
  if not name then return nil, string.format("'%s' has no role name", role_arn) end
  return name, path
end

M.AUTOSCALING_ROLE = "AWSServiceRoleForAutoScaling"
M.AUTOSCALING_PATH = "/aws-service-role/autoscaling.amazonaws.com/"

--- arn.autoscaling_role(account[, suffix[, partition]]) -> the Auto Scaling service-linked role ARN,
--- with "_suffix" for a custom-suffix role.
function M.autoscaling_role(account, suffix, partition)
  local name = M.AUTOSCALING_ROLE
  if suffix and suffix ~= "" then name = name .. "_" .. suffix end
  return M.role(account, name, M.AUTOSCALING_PATH, partition)
end

local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

--- arn.is_key_id(s) -> boolean: a KMS key ID (UUID, or "mrk-" + 32 hex for multi-Region keys).
function M.is_key_id(s)
  if type(s) ~= "string" then return false end
  return s:find(UUID) ~= nil or (#s == 36 and s:find("^mrk%-%x+$") ~= nil)
end

--- arn.kms_key(s) -> {kind=, key_id=, alias=, arn=, account=, region=, partition=} or nil, message.
--- kind is "key_id", "alias", "key_arn" or "alias_arn"; only the ARN kinds name an account, and only
--- they can reach a key in another account.
function M.kms_key(s)
  if type(s) ~= "string" or s == "" then return nil, "a KMS key must be a non-empty string" end
  if M.is_key_id(s) then return { kind = "key_id", key_id = s } end
  if s:find("^alias/") then
    if not s:find("^alias/[%w/_%-]+$") or s == "alias/" then
      return nil, string.format("'%s' is not a valid KMS alias name", s)
    end
    return { kind = "alias", alias = s }
  end
  if s:find("^arn:") then
    local p, err = M.parse(s)
    if not p then return nil, err end
    if p.service ~= "kms" or p.region == "" or p.account == "" then
      return nil, string.format("'%s' is not a KMS key or alias ARN", s)
    end
    local base = { arn = s, account = p.account, region = p.region, partition = p.partition }
    if p.resource_type == "key" and p.separator == "/" and M.is_key_id(p.resource_id) then
      base.kind, base.key_id = "key_arn", p.resource_id
      return base
    elseif p.resource_type == "alias" and p.separator == "/" then
      base.kind, base.alias = "alias_arn", "alias/" .. p.resource_id
      return base
    end
    return nil, string.format("'%s' is not a KMS key or alias ARN", s)
  end
  return nil, string.format("'%s' is not a KMS key ID, alias name or key ARN", s)
end

--- arn.key_arn(account, region, key_id[, partition]) -> "arn:aws:kms:REGION:ACCOUNT:key/KEY_ID".
function M.key_arn(account, region, key_id, partition)
  return M.build { partition = partition, service = "kms", region = region, account = account,
                   resource = "key/" .. key_id }
end

--- arn.is_ami_id(s) -> boolean: "ami-" and 8 or 17 lowercase hex digits.
function M.is_ami_id(s)
  return type(s) == "string" and (s:find("^ami%-%x+$") ~= nil) and (#s == 12 or #s == 21)
    and not s:find("%u")
end

return M
