-- services_moto_test: real operations of every service luaws needs, through aws.client, against
-- the local cloud with SigV4 checking on (moto recomputes every signature with botocore).
local T = require "testing"
local cjson = require "cjson"
local localcloud = require "localcloud"

-- The first three requests are unchecked: they create the IAM user whose keys sign the rest.
local BOOTSTRAP_REQUESTS = 3
local cloud = localcloud.start { auth = BOOTSTRAP_REQUESTS }
local REGION = "us-east-1"
local ACCOUNT = "123456789012"

local function client(service, credentials, opts)
  opts = opts or {}
  return aws.client(service, { region = REGION, endpoint_url = cloud.url, credentials = credentials,
    max_attempts = opts.max_attempts or 1 })
end

local CREDS
do
  local boot = { access_key = "AKIABOOTSTRAPEXAMPLE", secret_key = "bootstrapbootstrapbootstrapbootstrap" }
  local iam = client("iam", boot)
  iam:CreateUser { UserName = "luaws-tester" }
  iam:PutUserPolicy { UserName = "luaws-tester", PolicyName = "everything",
    PolicyDocument = cjson.encode { Version = "2012-10-17",
      Statement = { { Effect = "Allow", Action = "*", Resource = "*" } } } }
  local key = iam:CreateAccessKey { UserName = "luaws-tester" }.AccessKey
  CREDS = { access_key = key.AccessKeyId, secret_key = key.SecretAccessKey }
end

local function json(value) return cjson.encode(value) end

T.test("sts GetCallerIdentity (query protocol) with the bootstrapped user", function()
  local who = client("sts", CREDS):GetCallerIdentity {}
  T.eq(who.Account, ACCOUNT)
  T.eq(who.Arn, "arn:aws:iam::" .. ACCOUNT .. ":user/luaws-tester")
  T.ok(who.ResponseMetadata.RequestId, "request id decoded")
end)

local key_id, key_arn
T.test("kms CreateKey, ListKeys, GetKeyPolicy, PutKeyPolicy (JSON 1.1)", function()
  local kms = client("kms", CREDS)
  local created = kms:CreateKey { Description = "luaws services test", Tags = {
    { TagKey = "purpose", TagValue = "test" } } }
  key_id, key_arn = created.KeyMetadata.KeyId, created.KeyMetadata.Arn
  T.match(key_arn, "^arn:aws:kms:us%-east%-1:" .. ACCOUNT .. ":key/")
  T.eq(created.KeyMetadata.Enabled, true)
  T.eq(type(created.KeyMetadata.CreationDate), "string")

  local found = false
  for _, k in ipairs(kms:ListKeys {}.Keys) do found = found or k.KeyId == key_id end
  T.ok(found, "the new key is listed")

  local policy = cjson.decode(kms:GetKeyPolicy { KeyId = key_id, PolicyName = "default" }.Policy)
  T.eq(type(policy.Statement), "table")
  policy.Statement[#policy.Statement + 1] = { Sid = "luaws-test", Effect = "Allow",
    Principal = { AWS = "arn:aws:iam::" .. ACCOUNT .. ":root" }, Action = "kms:Decrypt", Resource = "*" }
  kms:PutKeyPolicy { KeyId = key_id, PolicyName = "default", Policy = json(policy) }
  local again = cjson.decode(kms:GetKeyPolicy { KeyId = key_id, PolicyName = "default" }.Policy)
  T.eq(again.Statement[#again.Statement].Sid, "luaws-test")
end)

local role_arn
T.test("iam CreateRole, GetRole, CreateServiceLinkedRole", function()
  local iam = client("iam", CREDS)
  local trust = json { Version = "2012-10-17", Statement = { { Effect = "Allow",
    Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" } } }
  role_arn = iam:CreateRole { RoleName = "luaws-app", AssumeRolePolicyDocument = trust, Path = "/app/" }.Role.Arn
  T.eq(role_arn, "arn:aws:iam::" .. ACCOUNT .. ":role/app/luaws-app")
  local got = iam:GetRole { RoleName = "luaws-app" }.Role
  T.eq(got.RoleName, "luaws-app")
  T.eq(got.Path, "/app/")
  local slr = iam:CreateServiceLinkedRole { AWSServiceName = "autoscaling.amazonaws.com" }.Role
  T.eq(slr.Arn, "arn:aws:iam::" .. ACCOUNT
    .. ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling")
end)

T.test("kms CreateGrant and ListGrants, paged one grant at a time", function()
  local kms = client("kms", CREDS)
  local grants = {}
  for i = 1, 3 do
    local g = kms:CreateGrant { KeyId = key_id, GranteePrincipal = role_arn,
      Operations = { "Decrypt", "GenerateDataKeyWithoutPlaintext" }, Name = "luaws-" .. i }
    T.ok(g.GrantId and g.GrantId ~= "", "grant id")
    grants[g.GrantId] = true
  end
  local listed = kms:ListGrants { KeyId = key_id }.Grants
  T.ok(#listed >= 3, "grants listed")
  local pages, items = 0, {}
  for page in kms:paginate("ListGrants", { KeyId = key_id }, { page_size = 1 }) do
    pages = pages + 1
    for _, g in ipairs(page.Grants) do items[#items + 1] = g.GrantId end
  end
  T.ok(pages >= 3, "more than one page: " .. pages)
  for _, id in ipairs(items) do grants[id] = nil end
  T.eq(next(grants), nil, "every created grant came back through the pages")
  T.eq(items[1] ~= items[2], true)
end)

local image_id
T.test("ec2 RegisterImage, DescribeImages, RunInstances (EC2 protocol)", function()
  local ec2 = client("ec2", CREDS)
  image_id = ec2:RegisterImage { Name = "luaws-test-ami", RootDeviceName = "/dev/xvda",
    Architecture = "x86_64", VirtualizationType = "hvm" }.ImageId
  T.match(image_id, "^ami%-%x+$")
  local images = ec2:DescribeImages { Owners = { "self" } }.Images
  T.eq(#images, 1)
  T.eq(images[1].ImageId, image_id)
  T.eq(images[1].Name, "luaws-test-ami")
  local run = ec2:RunInstances { ImageId = image_id, MinCount = 2, MaxCount = 2, InstanceType = "t3.micro",
    TagSpecifications = { { ResourceType = "instance", Tags = { { Key = "Name", Value = "luaws" } } } } }
  T.eq(#run.Instances, 2)
  T.eq(run.Instances[1].ImageId, image_id)
  T.eq(run.Instances[1].State.Name, "pending")
  T.eq(math.type(run.Instances[1].AmiLaunchIndex), "integer")
end)

T.test("ec2 CreateLaunchTemplate and DescribeLaunchTemplateVersions", function()
  local ec2 = client("ec2", CREDS)
  local lt = ec2:CreateLaunchTemplate { LaunchTemplateName = "luaws-lt",
    LaunchTemplateData = { ImageId = image_id, InstanceType = "t3.micro" } }.LaunchTemplate
  T.match(lt.LaunchTemplateId, "^lt%-")
  local versions = ec2:DescribeLaunchTemplateVersions { LaunchTemplateName = "luaws-lt" }.LaunchTemplateVersions
  T.eq(#versions, 1)
  T.eq(versions[1].LaunchTemplateData.ImageId, image_id)
  T.eq(versions[1].VersionNumber, 1)
end)

T.test("autoscaling launch configuration, group, describe, scaling activities", function()
  local asg = client("autoscaling", CREDS)
  asg:CreateLaunchConfiguration { LaunchConfigurationName = "luaws-lc", ImageId = image_id,
    InstanceType = "t3.micro" }
  asg:CreateAutoScalingGroup { AutoScalingGroupName = "luaws-asg",
    LaunchTemplate = { LaunchTemplateName = "luaws-lt", Version = "$Latest" },
    MinSize = 0, MaxSize = 2, DesiredCapacity = 0, AvailabilityZones = { "us-east-1a" } }
  asg:CreateAutoScalingGroup { AutoScalingGroupName = "luaws-asg-lc", LaunchConfigurationName = "luaws-lc",
    MinSize = 0, MaxSize = 1, AvailabilityZones = { "us-east-1a" } }
  local groups = asg:DescribeAutoScalingGroups { AutoScalingGroupNames = { "luaws-asg" } }.AutoScalingGroups
  T.eq(#groups, 1)
  T.eq(groups[1].AutoScalingGroupName, "luaws-asg")
  T.eq(groups[1].MaxSize, 2)
  T.eq(groups[1].LaunchTemplate.LaunchTemplateName, "luaws-lt")
  local activities = asg:DescribeScalingActivities { AutoScalingGroupName = "luaws-asg" }.Activities
  T.eq(type(activities), "table", "a list, even when empty")
end)

T.test("paginate over more than one page: iam ListRoles (Marker) and autoscaling (NextToken)", function()
  local iam = client("iam", CREDS)
  local names, pages = {}, 0
  for page in iam:paginate("ListRoles", {}, { page_size = 1 }) do
    pages = pages + 1
    T.eq(#page.Roles, 1, "page size honoured")
    names[page.Roles[1].RoleName] = true
  end
  T.ok(pages >= 2, "pages: " .. pages)
  T.ok(names["luaws-app"] and names["AWSServiceRoleForAutoScaling"], "both roles through Marker pages")

  local asg = client("autoscaling", CREDS)
  local groups = {}
  for group in asg:paginate("DescribeAutoScalingGroups", {}, { items = true, page_size = 1 }) do
    groups[#groups + 1] = group.AutoScalingGroupName
  end
  table.sort(groups)
  T.same(groups, { "luaws-asg", "luaws-asg-lc" })
end)

T.test("organizations CreateOrganization and ListAccounts (JSON 1.1)", function()
  local org = client("organizations", CREDS)
  local created = org:CreateOrganization { FeatureSet = "ALL" }.Organization
  T.eq(created.MasterAccountId, ACCOUNT)
  T.match(created.Id, "^o%-")
  local accounts = org:ListAccounts {}.Accounts
  T.ok(#accounts >= 1)
  local ids = {}
  for _, a in ipairs(accounts) do ids[a.Id] = true end
  T.ok(ids[ACCOUNT], "the management account is listed")
end)

T.test("a wrong secret is rejected by the local cloud and raised cleanly", function()
  local wrong = { access_key = CREDS.access_key, secret_key = "not-the-secret-not-the-secret-xx" }
  local e = T.raises(function() return client("kms", wrong):ListKeys {} end)
  T.eq(e.code, "SignatureDoesNotMatch", "KMS answers XML with 403: " .. tostring(e))
  T.eq(e.status, 403)
  T.eq(e.service, "kms")
  T.eq(e.attempts, 1)
  T.ok(not tostring(e):find(wrong.secret_key, 1, true), "the secret is not in the message")
  e = T.raises(function() return client("sts", wrong):GetCallerIdentity {} end)
  T.eq(e.code, "SignatureDoesNotMatch")
  e = T.raises(function() return client("ec2", wrong):DescribeImages { Owners = { "self" } } end)
  T.eq(e.code, "AuthFailure")
  T.eq(e.status, 401)
end)

T.test("default retries on: a client error is still raised after one attempt", function()
  local iam = client("iam", CREDS, { max_attempts = 3 })
  local e = T.raises(function() return iam:GetRole { RoleName = "does-not-exist" } end)
  T.eq(e.code, "NoSuchEntity")
  T.eq(e.status, 404)
  T.eq(e.attempts, 1)
end)

cloud.stop()
T.done()
