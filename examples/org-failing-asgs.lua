-- org-failing-asgs: lists every Auto Scaling group in the organization whose latest launch failed with the KMS trap.
--
--   luaws --profile management examples/org-failing-asgs.lua [--role-name NAME] [--concurrency N]
--
-- Reads only. From the management account it lists the active member accounts, assumes
-- --role-name (OrganizationAccountAccessRole) in each, a few accounts at a time, and looks at
-- the newest scaling activity of every group. Prints one line per failing group (account, group,
-- the service-linked role it launches as, the message) and exits 1 when it found any, so it can
-- run from cron or CI. The fix for what it finds: `luaws run org-grant-rollout`.
local launch_sources = require "luaws.domain.launch_sources"
local progress = require "luaws.recipe.progress"

local options = { ["role-name"] = "OrganizationAccountAccessRole", concurrency = "8" }
local i = 1
while arg[i] do
  local name, value = arg[i]:match("^%-%-([%w%-]+)=?(.*)$")
  if not name or options[name] == nil then
    io.stderr:write("usage: luaws [--profile P] org-failing-asgs.lua [--role-name NAME] [--concurrency N]\n")
    os.exit(2)
  end
  if value == "" then i = i + 1; value = arg[i] end
  options[name] = value
  i = i + 1
end
local concurrency = math.tointeger(tonumber(options.concurrency)) or 8

local sts = aws.client("sts")
local me = sts:GetCallerIdentity {}
local partition = me.Arn:match("^arn:([^:]+):") or "aws"
local accounts = {}
for page in aws.client("organizations"):paginate("ListAccounts", {}) do
  for _, account in ipairs(page.Accounts or {}) do
    if account.Status == "ACTIVE" then accounts[#accounts + 1] = account.Id end
  end
end
table.sort(accounts)

-- The management account reads its own groups with its own credentials; members through the role.
local function autoscaling_for(account)
  if account == me.Account then return aws.client("autoscaling") end
  local role = string.format("arn:%s:iam::%s:role/%s", partition, account, options["role-name"])
  local c = sts:AssumeRole { RoleArn = role, RoleSessionName = "luaws-org-failing-asgs" }.Credentials
  return aws.client("autoscaling", { credentials = {
    access_key = c.AccessKeyId, secret_key = c.SecretAccessKey, session_token = c.SessionToken } })
end

local failing, unreadable, groups_seen = {}, {}, 0
local function inspect(account)
  local autoscaling = autoscaling_for(account)
  for page in autoscaling:paginate("DescribeAutoScalingGroups", {}) do
    for _, group in ipairs(page.AutoScalingGroups or {}) do
      groups_seen = groups_seen + 1
      local latest = autoscaling:DescribeScalingActivities {
        AutoScalingGroupName = group.AutoScalingGroupName, MaxRecords = 1 }.Activities or {}
      if #launch_sources.failed_launches(latest) > 0 then
        failing[#failing + 1] = { account = account, group = group.AutoScalingGroupName,
                                  role = group.ServiceLinkedRoleARN or "", message = latest[1].StatusMessage or "" }
      end
    end
  end
end

local next_index = 0
local function worker()
  while true do
    next_index = next_index + 1
    local account = accounts[next_index]
    if not account then return end
    local ok, e = pcall(inspect, account)
    if not ok then
      local why = type(e) == "table" and (e.code or e.message) or tostring(e)
      unreadable[#unreadable + 1] = { account = account, error = why }
    end
  end
end
local workers = {}
for w = 1, math.min(concurrency, #accounts) do workers[w] = worker end
aws.parallel(workers)

table.sort(failing, function(x, y) return x.account .. x.group < y.account .. y.group end)
print(string.format("%d groups in %d accounts; %d failing with the KMS trap", groups_seen, #accounts, #failing))
if #failing > 0 then
  print(progress.table(failing, { { key = "account", title = "account" }, { key = "group", title = "group" },
                                  { key = "role", title = "launches as", max = 100 },
                                  { key = "message", title = "latest activity" } }))
end
for _, u in ipairs(unreadable) do io.stderr:write("could not read account ", u.account, ": ", u.error, "\n") end
os.exit(#failing > 0 and 1 or 0)
