-- protocol_ec2_test: the EC2 dialect: capitalised names, queryName, ".N" lists, tokens, bare replies.
-- luacheck: no max line length (fixtures: AWS bodies, ARNs and expected messages read best unbroken)
local T = require "testing"
local model = require "luaws.sdk.model"
local ec2p = require "luaws.sdk.protocol.ec2"

if require("xml_lite").install() then
  print("note: luaws.xml has no decode yet; using the test reader luaws.protocol.xml_lite")
end

local ec2 = model.load("ec2")

local function form(body)
  local out = {}
  for k, v in body:gmatch("([^&=]+)=([^&]*)") do out[k] = v end
  return out
end

T.test("queryName wins over the capitalised locationName (botocore's examples)", function()
  local req = ec2p.build(ec2, ec2:operation("RunInstances"), { ImageId = "ami-1", MinCount = 1, MaxCount = 1,
    ClientToken = "t", DryRun = true,
    NetworkInterfaces = { { DeviceIndex = 0, PrivateIpAddresses = { { PrivateIpAddress = "10.0.0.5", Primary = true } } } } })
  T.same(form(req.body), { Action = "RunInstances", Version = "2016-11-15", ImageId = "ami-1", MinCount = "1",
    MaxCount = "1", ClientToken = "t", DryRun = "true", ["NetworkInterface.1.DeviceIndex"] = "0",
    ["NetworkInterface.1.PrivateIpAddresses.1.PrivateIpAddress"] = "10.0.0.5",
    ["NetworkInterface.1.PrivateIpAddresses.1.Primary"] = "true" })
end)

T.test("a list shape's own locationName names it (AllowedInstanceType.N)", function()
  local req = ec2p.build(ec2, ec2:operation("CreateLaunchTemplate"), { LaunchTemplateName = "abc", ClientToken = "x",
    LaunchTemplateData = { InstanceRequirements = { VCpuCount = { Min = 1 }, MemoryMiB = { Min = 512 },
      AllowedInstanceTypes = { "t3.*" } } } })
  local f = form(req.body)
  T.eq(f["LaunchTemplateData.InstanceRequirements.AllowedInstanceType.1"], "t3.%2A")
  T.eq(f["LaunchTemplateData.InstanceRequirements.VCpuCount.Min"], "1")
end)

T.test("empty lists send nothing", function()
  local req = ec2p.build(ec2, ec2:operation("DescribeImages"), { ImageIds = {}, Owners = { "self" } })
  T.eq(req.body, "Action=DescribeImages&Version=2016-11-15&Owner.1=self")
end)

T.test("idempotency tokens are filled with a UUID, without touching the caller's table", function()
  local params = { ImageId = "ami-1", MinCount = 1, MaxCount = 1 }
  local one = form(ec2p.build(ec2, ec2:operation("RunInstances"), params).body)
  local two = form(ec2p.build(ec2, ec2:operation("RunInstances"), params).body)
  T.match(one.ClientToken, "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$")
  T.ok(one.ClientToken ~= two.ClientToken)
  T.eq(params.ClientToken, nil)
  local given = form(ec2p.build(ec2, ec2:operation("RunInstances"), { ImageId = "ami-1", MinCount = 1,
    MaxCount = 1, ClientToken = "mine" }).body)
  T.eq(given.ClientToken, "mine")
end)

T.test("sharing an AMI: ModifyImageAttribute LaunchPermission.Add.N.UserId", function()
  local req = ec2p.build(ec2, ec2:operation("ModifyImageAttribute"), { ImageId = "ami-1",
    LaunchPermission = { Add = { { UserId = "222222222222" } } } })
  T.eq(req.body, "Action=ModifyImageAttribute&Version=2016-11-15&ImageId=ami-1&LaunchPermission.Add.1.UserId=222222222222")
end)

T.test("replies: no wrapper, item lists, requestId, absent vs empty", function()
  local body = [[<DescribeSnapshotsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>req-snap</requestId>
    <snapshotSet>
      <item><snapshotId>snap-1</snapshotId><volumeSize>8</volumeSize><encrypted>true</encrypted>
        <kmsKeyId>arn:aws:kms:us-east-1:1:key/k</kmsKeyId><startTime>2024-01-01T00:00:00.000Z</startTime>
        <tagSet/></item>
      <item><snapshotId>snap-2</snapshotId><encrypted>false</encrypted></item>
    </snapshotSet>
  </DescribeSnapshotsResponse>]]
  local r = ec2p.parse(ec2, ec2:operation("DescribeSnapshots"), { status = 200, headers = {}, body = body })
  T.eq(r.ResponseMetadata.RequestId, "req-snap")
  T.eq(#r.Snapshots, 2)
  T.eq(r.Snapshots[1].VolumeSize, 8)
  T.eq(r.Snapshots[1].Encrypted, true)
  T.same(r.Snapshots[1].Tags, {})
  T.eq(r.Snapshots[2].Tags, nil)
  T.eq(r.Snapshots[2].Encrypted, false)
  T.eq(r.NextToken, nil)
end)

T.test("replies: booleans-only responses and return values", function()
  local r = ec2p.parse(ec2, ec2:operation("ModifyImageAttribute"), { status = 200, headers = {},
    body = "<ModifyImageAttributeResponse><requestId>x</requestId><return>true</return></ModifyImageAttributeResponse>" })
  T.same(r, { ResponseMetadata = { RequestId = "x", HTTPStatusCode = 200, HTTPHeaders = {} } })
  local d = ec2p.parse(ec2, ec2:operation("DeleteSnapshot"), { status = 200, headers = {},
    body = "<DeleteSnapshotResponse><requestId>y</requestId><return>true</return></DeleteSnapshotResponse>" })
  T.eq(d.ResponseMetadata.RequestId, "y")
end)

T.test("a 200 with broken XML is a ResponseParseError", function()
  local e = T.raises(function()
    ec2p.parse(ec2, ec2:operation("DescribeImages"), { status = 200, headers = {}, body = "<DescribeImagesResponse>" })
  end)
  T.eq(e.code, "ResponseParseError")
end)

T.done()
