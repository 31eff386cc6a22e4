-- launchers: services that launch instances with a service-linked role (Auto Scaling, EC2 Fleet, Spot).
local errors = require "luaws.core.errors"

local M = {}

M.LAUNCHERS = {
  autoscaling = { service = "autoscaling.amazonaws.com", role = "AWSServiceRoleForAutoScaling" },
  ["ec2-fleet"] = { service = "ec2fleet.amazonaws.com", role = "AWSServiceRoleForEC2Fleet" },
  ["spot-fleet"] = { service = "spotfleet.amazonaws.com", role = "AWSServiceRoleForEC2SpotFleet" },
  spot = { service = "spot.amazonaws.com", role = "AWSServiceRoleForEC2Spot" },
}

--- launchers.role_arn(account, partition, launcher, suffix) -> the service-linked role's ARN.
function M.role_arn(account, partition, launcher, suffix)
  local l = assert(M.LAUNCHERS[launcher or "autoscaling"], "unknown launcher")
  local name = l.role .. ((suffix and suffix ~= "") and ("_" .. suffix) or "")
  return string.format("arn:%s:iam::%s:role/aws-service-role/%s/%s", partition or "aws", account, l.service, name)
end

--- launchers.role_name(role_arn) -> the role's name (the last path segment).
function M.role_name(role_arn)
  return role_arn:match("([^/]+)$")
end

--- launchers.role_suffix(role_arn) -> the custom suffix of a service-linked role name, or nil.
function M.role_suffix(role_arn)
  return M.role_name(role_arn):match("^AWSServiceRoleFor[%w]+_(.+)$")
end

--- launchers.is_unique_id(principal) -> true for an IAM unique ID (AROA... role, AIDA... user, and
--- the other 4-letter prefixes): what a key policy or grant shows once its principal was deleted.
function M.is_unique_id(principal)
  return type(principal) == "string" and principal:match("^A[A-Z][A-Z][A-Z][A-Z0-9]+$") ~= nil
    and #principal >= 16 and #principal <= 128
end

--- launchers.launcher_of(role_arn) -> launcher name ("autoscaling", "spot", ...) when role_arn is a
--- launcher's service-linked role (any suffix), else nil.
function M.launcher_of(role_arn)
  if type(role_arn) ~= "string" then return nil end
  local service, name = role_arn:match("^arn:[%w%-]+:iam::%d+:role/aws%-service%-role/([^/]+)/([^/]+)$")
  if not service then return nil end
  for launcher, l in pairs(M.LAUNCHERS) do
    if l.service == service and (name == l.role or name:sub(1, #l.role + 1) == l.role .. "_") then
      return launcher
    end
  end
  return nil
end

--- launchers.launcher_role_name(launcher, suffix) -> the role name AWS gives the launcher's
--- service-linked role (with "_suffix" when a custom suffix is given).
function M.launcher_role_name(launcher, suffix)
  local l = assert(M.LAUNCHERS[launcher or "autoscaling"], "unknown launcher")
  return l.role .. ((suffix and suffix ~= "") and ("_" .. suffix) or "")
end

--- launchers.find_launcher_role(iam, launcher, suffix) -> role {Arn=, RoleName=, Path=} or nil.
--- Asks IAM instead of assuming the ARN: GetRole by the documented name, then ListRoles under
--- /aws-service-role/<service>/ matching the name case-insensitively (IAM role names are unique
--- regardless of case, and older accounts hold roles whose case differs from today's docs).
function M.find_launcher_role(iam, launcher, suffix)
  local l = assert(M.LAUNCHERS[launcher or "autoscaling"], "unknown launcher")
  local name = M.launcher_role_name(launcher, suffix)
  local ok, got = pcall(function() return iam:GetRole { RoleName = name } end)
  if ok and got and got.Role then return got.Role end
  if not ok and not errors.is(got, "NoSuchEntity") then error(got, 0) end
  local wanted = name:lower()
  local unsuffixed = {}
  for page in iam:paginate("ListRoles", { PathPrefix = "/aws-service-role/" .. l.service .. "/" }) do
    for _, role in ipairs(page.Roles or {}) do
      if type(role.RoleName) == "string" and role.RoleName:lower() == wanted then return role end
      if type(role.RoleName) == "string" and not role.RoleName:find("_", 1, true) then
        unsuffixed[#unsuffixed + 1] = role
      end
    end
  end
  -- A service's path holds only its service-linked roles: the one without a custom suffix is the
  -- default role, whatever its exact name.
  if (suffix == nil or suffix == "") and #unsuffixed == 1 then return unsuffixed[1] end
  return nil
end

return M
