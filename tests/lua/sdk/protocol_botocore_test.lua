-- protocol_botocore_test: requests serialised by luaws equal botocore's own, for every protocol.
-- luacheck: no max line length (fixtures: AWS bodies, ARNs and expected messages read best unbroken)
--
-- Each case's parameters are JSON text handed unchanged to both sides: luaws decodes it with
-- cjson (so integers arrive as floats and empty lists as empty tables, the hard cases), a small
-- python helper feeds it to botocore's serializer and request preparer. JSON bodies are compared
-- in canonical form (python's json, which tells [] from {} and 1 from 1.0); form bodies are
-- compared pair by pair in their encoded form, so escaping has to match byte for byte.
local T = require "testing"
local cjson = require "cjson"
local model = require "luaws.sdk.model"
local protocol = require "luaws.sdk.protocol"

local HELPER = [[
import json, sys
try:
    import botocore.session
    from botocore import serialize
    from botocore.awsrequest import prepare_request_dict, create_request_object
except ImportError:
    print("NO-BOTOCORE")
    sys.exit(0)
session = botocore.session.get_session()
cases = json.load(open(sys.argv[1]))

def canonical(text):
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

out = []
for case in cases:
    service = session.get_service_model(case["service"])
    op = service.operation_model(case["operation"])
    serializer = serialize.create_serializer(service.metadata["protocol"], include_validation=True)
    try:
        request = serializer.serialize_to_request(case["params"], op)
    except Exception as e:
        out.append({"error": str(e).replace("\n", " ")})
        continue
    prepare_request_dict(request, endpoint_url="https://example.amazonaws.com")
    prepared = create_request_object(request).prepare()
    body = prepared.body or b""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    entry = {"method": prepared.method, "url": prepared.url, "body": body,
             "content_type": prepared.headers.get("Content-Type"),
             "target": prepared.headers.get("X-Amz-Target")}
    if service.metadata["protocol"] == "json":
        entry["canonical"] = canonical(body)
        entry["ours_canonical"] = canonical(case["ours"])
    out.append(entry)
print(json.dumps(out))
]]

-- service, operation, params as JSON text.
local CASES = {
  { "kms", "CreateGrant", [[{"KeyId": "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      "GranteePrincipal": "arn:aws:iam::222222222222:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
      "Operations": ["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
                     "GenerateDataKeyWithoutPlaintext", "DescribeKey", "CreateGrant"],
      "Constraints": {"EncryptionContextSubset": {"aws:ebs:id": "vol-1", "b": "x y"}},
      "GrantTokens": [], "Name": "asg-slr-grant"}]] },
  { "kms", "ListKeys", [[{}]] },
  { "kms", "ListGrants", [[{"KeyId": "k", "Limit": 100, "Marker": "m/+="}]] },
  { "kms", "Encrypt", [[{"KeyId": "alias/a", "Plaintext": "hello \u00e9 world", "EncryptionContext": {"k": "v"}}]] },
  { "kms", "PutKeyPolicy", [[{"KeyId": "k", "PolicyName": "default",
      "Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"A/B\",\"Effect\":\"Allow\"}]} \u3042"}]] },
  { "kms", "ImportKeyMaterial", [[{"KeyId": "k", "ImportToken": "tok", "EncryptedKeyMaterial": "\u0001\u0002bin",
      "ValidTo": "2030-01-02T03:04:05Z", "ExpirationModel": "KEY_MATERIAL_EXPIRES"}]] },
  { "kms", "ScheduleKeyDeletion", [[{"KeyId": "k", "PendingWindowInDays": 7}]] },
  { "organizations", "ListAccounts", [[{"MaxResults": 20, "NextToken": "abc"}]] },
  { "organizations", "CreatePolicy", [[{"Content": "{}", "Description": "d", "Name": "n",
      "Type": "SERVICE_CONTROL_POLICY", "Tags": [{"Key": "k", "Value": "v"}]}]] },
  { "sts", "AssumeRole", [[{"RoleArn": "arn:aws:iam::222222222222:role/Admin", "RoleSessionName": "luaws session",
      "DurationSeconds": 900, "ExternalId": "ext+id=1&2", "SerialNumber": "arn:aws:iam::1:mfa/u", "TokenCode": "123456",
      "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
      "Tags": [{"Key": "team", "Value": "ops"}, {"Key": "k2", "Value": "v~2"}], "TransitiveTagKeys": ["team"]}]] },
  { "sts", "GetCallerIdentity", [[{}]] },
  { "iam", "CreateRole", [[{"RoleName": "r", "Path": "/svc/",
      "AssumeRolePolicyDocument": "{\"Statement\": [{\"Principal\": {\"Service\": \"ec2.amazonaws.com\"}}]} *!'()",
      "MaxSessionDuration": 3600, "Tags": [{"Key": "a", "Value": "b"}]}]] },
  { "iam", "ListRoles", [[{"PathPrefix": "/a b/", "MaxItems": 5}]] },
  { "iam", "CreateServiceLinkedRole", [[{"AWSServiceName": "autoscaling.amazonaws.com", "CustomSuffix": "web"}]] },
  { "iam", "SimulatePrincipalPolicy", [[{"PolicySourceArn": "arn:aws:iam::1:role/r", "ActionNames": ["kms:CreateGrant"],
      "ContextEntries": [{"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": ["x"], "ContextKeyType": "date"}],
      "ResourceArns": []}]] },
  { "autoscaling", "CreateAutoScalingGroup", [[{"AutoScalingGroupName": "web", "MinSize": 0, "MaxSize": 2,
      "DesiredCapacity": 1, "ServiceLinkedRoleARN": "arn:aws:iam::2:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling_web",
      "AvailabilityZones": ["us-east-1a", "us-east-1b"], "TargetGroupARNs": [],
      "MixedInstancesPolicy": {"LaunchTemplate": {"LaunchTemplateSpecification": {"LaunchTemplateName": "web-lt", "Version": "$Latest"},
        "Overrides": [{"InstanceType": "t3.micro", "WeightedCapacity": "1"}, {"InstanceType": "t3.small"}]},
        "InstancesDistribution": {"OnDemandBaseCapacity": 0, "SpotAllocationStrategy": "capacity-optimized"}},
      "Tags": [{"Key": "Name", "Value": "web", "PropagateAtLaunch": true}], "NewInstancesProtectedFromScaleIn": false}]] },
  { "autoscaling", "DescribeScalingActivities", [[{"AutoScalingGroupName": "web", "MaxRecords": 10, "IncludeDeletedGroups": true}]] },
  { "autoscaling", "PutScheduledUpdateGroupAction", [[{"AutoScalingGroupName": "web", "ScheduledActionName": "s",
      "StartTime": "2030-01-02T03:04:05Z", "EndTime": "2030-01-02T03:04:05.5Z", "DesiredCapacity": 3}]] },
  { "autoscaling", "PutScalingPolicy", [[{"AutoScalingGroupName": "web", "PolicyName": "p", "PolicyType": "StepScaling",
      "StepAdjustments": [{"MetricIntervalLowerBound": 0.5, "ScalingAdjustment": 2}],
      "TargetTrackingConfiguration": {"TargetValue": 50.25, "DisableScaleIn": true,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"}}}]] },
  { "ec2", "DescribeImages", [[{"ImageIds": ["ami-0123456789abcdef0", "ami-2"], "Owners": ["self", "111111111111"],
      "ExecutableUsers": ["all"], "IncludeDeprecated": true,
      "Filters": [{"Name": "block-device-mapping.encrypted", "Values": ["true"]}, {"Name": "name", "Values": ["a*", "b c"]}]}]] },
  { "ec2", "DescribeInstances", [[{"Filters": [], "MaxResults": 5, "InstanceIds": []}]] },
  { "ec2", "RunInstances", [[{"ImageId": "ami-1", "MinCount": 1, "MaxCount": 2, "InstanceType": "t3.micro",
      "ClientToken": "token-1", "SecurityGroupIds": ["sg-1", "sg-2"], "UserData": "IyEvYmluL3NoCg==",
      "IamInstanceProfile": {"Name": "prof"}, "DisableApiTermination": false,
      "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "Encrypted": true,
        "KmsKeyId": "arn:aws:kms:us-east-1:1:key/k", "DeleteOnTermination": true, "VolumeType": "gp3"}}],
      "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "x"}]}],
      "NetworkInterfaces": [{"DeviceIndex": 0, "AssociatePublicIpAddress": true, "Groups": ["sg-3"]}]}]] },
  { "ec2", "CreateLaunchTemplate", [[{"LaunchTemplateName": "web-lt", "ClientToken": "t2", "VersionDescription": "v1",
      "LaunchTemplateData": {"ImageId": "ami-1", "InstanceType": "t3.micro",
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": true, "KmsKeyId": "k"}}],
        "TagSpecifications": [{"ResourceType": "volume", "Tags": [{"Key": "a", "Value": "b"}]}],
        "SecurityGroupIds": ["sg-1"]}}]] },
  { "ec2", "ModifyImageAttribute", [[{"ImageId": "ami-1", "LaunchPermission": {"Add": [{"UserId": "222222222222"}]}}]] },
  { "ec2", "CopySnapshot", [[{"SourceRegion": "us-east-1", "SourceSnapshotId": "snap-1", "Encrypted": true,
      "KmsKeyId": "arn:aws:kms:us-east-1:1:key/k", "Description": "copy of snap-1", "DryRun": true}]] },
  { "ec2", "DescribeSnapshots", [[{"OwnerIds": ["self"], "RestorableByUserIds": ["222222222222"], "SnapshotIds": ["snap-1"]}]] },
  { "ec2", "CreateTags", [[{"Resources": ["ami-1", "snap-1"], "Tags": [{"Key": "k", "Value": ""}]}]] },
}

local function run_helper(cases_json)
  local script = os.tmpname()
  local data = os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(HELPER)
  f:close()
  f = assert(io.open(data, "w"))
  f:write(cases_json)
  f:close()
  local p = assert(io.popen("python3 " .. script .. " " .. data .. " 2>&1"))
  local out = p:read("a")
  p:close()
  os.remove(script)
  os.remove(data)
  return out
end

local function sorted_pairs(body)
  local list = {}
  for part in (body .. "&"):gmatch("([^&]*)&") do
    if part ~= "" then list[#list + 1] = part end
  end
  table.sort(list)
  return list
end

-- Build ours first; botocore's helper needs our JSON bodies to canonicalise them alike.
local built = {}
local entries = {}
for i, case in ipairs(CASES) do
  local svc = model.load(case[1])
  local op = svc:operation(case[2])
  local params = cjson.decode(case[3])
  local ok, req = pcall(protocol.for_service(svc).build, svc, op, params)
  built[i] = { ok = ok, req = req }
  entries[i] = string.format('{"service":%s,"operation":%s,"params":%s,"ours":%s}', cjson.encode(case[1]),
    cjson.encode(case[2]), case[3], cjson.encode(ok and req.body or ""))
end

local output = run_helper("[" .. table.concat(entries, ",") .. "]")
if output:match("^NO%-BOTOCORE") then T.skip_all("botocore is not importable here") end
local ok_decode, expected = pcall(cjson.decode, output)
if not ok_decode then
  io.stderr:write(output)
  error("botocore helper failed")
end

for i, case in ipairs(CASES) do
  T.test(string.format("%s %s serialises like botocore", case[1], case[2]), function()
    local b = built[i]
    T.ok(b.ok, "build failed: " .. tostring(b.req))
    local want = expected[i]
    T.eq(want.error, nil, "botocore rejected the case")
    local req = b.req
    T.eq(req.method, want.method)
    T.eq("https://example.amazonaws.com" .. req.path .. (req.query and ("?" .. req.query) or ""), want.url)
    local headers = {}
    for _, h in ipairs(req.headers) do headers[h[1]] = h[2] end
    T.eq(headers["Content-Type"], want.content_type, "Content-Type")
    if want.target ~= cjson.null and want.target ~= nil then T.eq(headers["X-Amz-Target"], want.target) end
    if want.canonical then
      T.eq(want.ours_canonical, want.canonical, "JSON body")
    else
      T.same(sorted_pairs(req.body), sorted_pairs(want.body), "form body")
      -- Action and Version lead, as in botocore.
      T.match(req.body, "^Action=" .. case[2] .. "&Version=")
    end
  end)
end

T.done()
