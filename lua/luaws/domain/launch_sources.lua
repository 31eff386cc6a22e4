-- launch_sources: what an AMI or an Auto Scaling group launches, its KMS keys, and why a launch failed.
local errors = require "luaws.core.errors"


local M = {}

local function kms_key_arn_or_id(v)
  return type(v) == "string" and v ~= "" and v or nil
end

--- launch_sources.describe_image(ec2, image_id) -> the image as its owner's account sees it, or nil.
function M.describe_image(ec2, image_id)
  local images = ec2:DescribeImages { ImageIds = { image_id } }.Images or {}
  return images[1]
end

--- launch_sources.image_keys(ec2, image) -> keys: the KMS keys of the image's EBS snapshots, read with a
--- client of the account that owns the snapshots (only it sees their KmsKeyId). keys is a list of
--- {key=<id or ARN as EC2 reports it>, snapshots={...}}, in first-seen order.
function M.image_keys(ec2, image)
  local snapshot_ids, by_snapshot = {}, {}
  for _, mapping in ipairs(image.BlockDeviceMappings or {}) do
    local ebs = mapping.Ebs
    if ebs and ebs.SnapshotId then
      snapshot_ids[#snapshot_ids + 1] = ebs.SnapshotId
      by_snapshot[ebs.SnapshotId] = kms_key_arn_or_id(ebs.KmsKeyId)
    end
  end
  if #snapshot_ids > 0 then
    for _, snap in ipairs(ec2:DescribeSnapshots { SnapshotIds = snapshot_ids }.Snapshots or {}) do
      if snap.Encrypted and snap.KmsKeyId then by_snapshot[snap.SnapshotId] = snap.KmsKeyId end
    end
  end
  local keys, index = {}, {}
  for _, id in ipairs(snapshot_ids) do
    local key = by_snapshot[id]
    if key then
      if not index[key] then
        index[key] = { key = key, snapshots = {} }
        keys[#keys + 1] = index[key]
      end
      table.insert(index[key].snapshots, id)
    end
  end
  return keys
end

--- launch_sources.group_launch(autoscaling, ec2, group_name) -> group, launch: the group and what it
--- launches: {image_id=, key_ids={KmsKeyId in its block device mappings}, source="launch template
--- lt-... version N" | "launch configuration NAME"}. Raises a plain error table when the group is
--- missing.
function M.group_launch(autoscaling, ec2, group_name)
  local groups = autoscaling:DescribeAutoScalingGroups { AutoScalingGroupNames = { group_name } }.AutoScalingGroups
  local group = groups and groups[1]
  if not group then
    error(errors.new { code = "GroupNotFound", message = "Auto Scaling group '" .. group_name .. "' not found",
                       exit = 1 }, 0)
  end
  local launch = { key_ids = {} }
  local spec = group.LaunchTemplate
  if not spec and group.MixedInstancesPolicy then
    spec = group.MixedInstancesPolicy.LaunchTemplate and
           group.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification
  end
  local mappings
  if spec then
    local version = spec.Version or "$Default"
    local request = { Versions = { version } }
    if spec.LaunchTemplateId then request.LaunchTemplateId = spec.LaunchTemplateId
    else request.LaunchTemplateName = spec.LaunchTemplateName end
    local versions = ec2:DescribeLaunchTemplateVersions(request).LaunchTemplateVersions or {}
    local data = versions[1] and versions[1].LaunchTemplateData or {}
    launch.image_id = data.ImageId
    mappings = data.BlockDeviceMappings
    launch.source = string.format("launch template %s version %s",
                                  spec.LaunchTemplateId or spec.LaunchTemplateName,
                                  versions[1] and tostring(versions[1].VersionNumber) or version)
  elseif group.LaunchConfigurationName then
    local configs = autoscaling:DescribeLaunchConfigurations {
      LaunchConfigurationNames = { group.LaunchConfigurationName } }.LaunchConfigurations or {}
    launch.image_id = configs[1] and configs[1].ImageId
    mappings = configs[1] and configs[1].BlockDeviceMappings
    launch.source = "launch configuration " .. group.LaunchConfigurationName
  end
  for _, mapping in ipairs(mappings or {}) do
    local key = mapping.Ebs and kms_key_arn_or_id(mapping.Ebs.KmsKeyId)
    if key then launch.key_ids[#launch.key_ids + 1] = key end
  end
  return group, launch
end

--- launch_sources.failed_launches(activities) -> the activities whose failure is the KMS trap.
local TRAP_PATTERNS = { "Client%.InternalError", "InvalidKMSKey", "inaccessible AWS KMS key", "KMS" }
function M.failed_launches(activities)
  local out = {}
  for _, a in ipairs(activities or {}) do
    if a.StatusCode == "Failed" then
      local text = (a.StatusMessage or "") .. " " .. (a.Description or "")
      for _, p in ipairs(TRAP_PATTERNS) do
        if text:find(p) then out[#out + 1] = a break end
      end
    end
  end
  return out
end

-- Scaling activity messages, most specific first. kind: "kms-access" (the role cannot use a key),
-- "kms-key-state" (a key is disabled, pending deletion or gone), "role" (the service-linked role
-- cannot be assumed), "image" (the AMI is not visible). Real AWS also reports the KMS cases as an
-- instance that "became unhealthy" with the same reason, so the patterns match anywhere in the text.
local FAILURE_PATTERNS = {
  { pattern = "InvalidKMSKey%.InvalidState", kind = "kms-key-state" },
  { pattern = "KMS key provided is in an incorrect state", kind = "kms-key-state" },
  { pattern = "[Kk][Mm][Ss] key .-pending deletion", kind = "kms-key-state" },
  { pattern = "[Kk][Mm][Ss] key .-disabled", kind = "kms-key-state" },
  { pattern = "inaccessible AWS KMS key", kind = "kms-access" },
  { pattern = "inaccessible KMS key", kind = "kms-access" },
  { pattern = "Client%.InternalError", kind = "kms-access" },
  { pattern = "Client error on launch", kind = "kms-access" },
  { pattern = "KMSKeyNotAccessible", kind = "kms-access" },
  { pattern = "InvalidKMSKey", kind = "kms-access" },
  { pattern = "[Aa]ccess denied when attempting to assume role", kind = "role" },
  { pattern = "AWSServiceRoleForAutoScaling.-not .-exist", kind = "role" },
  { pattern = "image id '%[?ami%-[%x]+%]?' does not exist", kind = "image" },
  { pattern = "InvalidAMIID", kind = "image" },
}

--- launch_sources.classify_failure(activity) -> kind, matched_text: why a failed scaling activity failed
--- as far as the launcher-and-KMS trap goes ("kms-access", "kms-key-state", "role", "image"), or nil
--- for an activity that did not fail or failed for another reason.
function M.classify_failure(activity)
  if type(activity) ~= "table" or activity.StatusCode ~= "Failed" then return nil end
  local text = (activity.StatusMessage or "") .. " " .. (activity.Description or "")
  for _, p in ipairs(FAILURE_PATTERNS) do
    local found = text:match(p.pattern)
    if found then return p.kind, found end
  end
  return nil
end

-- Error codes that mean "these credentials may not look at that".
local DENIED_CODES = { "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthFailure",
                       "UnauthorizedAccess" }

local function try(client, operation, params)
  return pcall(function() return client[operation](client, params) end)
end

-- One line for an AWS error: "Code: message".
local why = errors.summary

-- A launch template version -> a launch source {source=, image_id=, mappings=, ...}, or nil.
local function template_source(ec2, spec, f)
  local version = spec.Version or "$Default"
  local request = { Versions = { version } }
  if spec.LaunchTemplateId then request.LaunchTemplateId = spec.LaunchTemplateId
  else request.LaunchTemplateName = spec.LaunchTemplateName end
  local name = spec.LaunchTemplateId or spec.LaunchTemplateName
  local ok, out = try(ec2, "DescribeLaunchTemplateVersions", request)
  local found = ok and out.LaunchTemplateVersions and out.LaunchTemplateVersions[1]
  if not found then
    local reason = ok and "no such version" or why(out)
    if ok or not errors.is(out, table.unpack(DENIED_CODES)) then
      f.problem("LaunchTemplateMissing", string.format("launch template %s version %s cannot be read: %s",
                                                       name, version, reason))
    else
      f.cannot("launch template " .. name, out)
    end
    return nil
  end
  local data = found.LaunchTemplateData or {}
  local resolved = tostring(found.VersionNumber)
  local source = string.format("launch template %s (%s) version %s", found.LaunchTemplateId or name,
                               found.LaunchTemplateName or "?", resolved)
  if version:sub(1, 1) == "$" then source = source .. " (" .. version .. ")" end
  return { source = source, image_id = data.ImageId, mappings = data.BlockDeviceMappings,
           template_id = found.LaunchTemplateId, version = resolved, version_spec = version }
end

--- launch_sources.group_sources(autoscaling, ec2, group, findings) -> list of {source=, image_id=,
--- mappings=, template_id=, version=, version_spec=}: every launch template version (mixed-instances
--- overrides included) or launch configuration the group launches from. findings.problem(code,
--- message) records what is broken, findings.cannot(what, error) what could not be read.
function M.group_sources(autoscaling, ec2, group, f)
  local sources = {}
  local function add(s) if s then sources[#sources + 1] = s end end
  if group.LaunchTemplate then
    add(template_source(ec2, group.LaunchTemplate, f))
  elseif group.MixedInstancesPolicy and group.MixedInstancesPolicy.LaunchTemplate then
    local lt = group.MixedInstancesPolicy.LaunchTemplate
    local seen = {}
    local specs = { lt.LaunchTemplateSpecification }
    for _, o in ipairs(lt.Overrides or {}) do specs[#specs + 1] = o.LaunchTemplateSpecification end
    for _, spec in ipairs(specs) do
      local id = (spec.LaunchTemplateId or spec.LaunchTemplateName or "") .. "@" .. (spec.Version or "")
      if not seen[id] then seen[id] = true add(template_source(ec2, spec, f)) end
    end
  elseif group.LaunchConfigurationName then
    local ok, out = try(autoscaling, "DescribeLaunchConfigurations",
                        { LaunchConfigurationNames = { group.LaunchConfigurationName } })
    local config = ok and out.LaunchConfigurations and out.LaunchConfigurations[1]
    if config then
      add { source = "launch configuration " .. group.LaunchConfigurationName, image_id = config.ImageId,
            mappings = config.BlockDeviceMappings }
    elseif ok then
      f.problem("LaunchConfigurationMissing", "launch configuration " .. group.LaunchConfigurationName ..
                " does not exist")
    else
      f.cannot("launch configuration " .. group.LaunchConfigurationName, out)
    end
  else
    f.cannot("the group's launch template", "the group names neither a launch template nor a configuration")
  end
  return sources
end

return M
