-- arn_test: ARN parsing and building, account IDs, regions, role names, KMS key references, AMI IDs.
local T = require "testing"
local arn = require "luaws.core.arn"

T.test("parses a KMS key ARN into its parts", function()
  local p = assert(arn.parse("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"))
  T.eq(p.partition, "aws")
  T.eq(p.service, "kms")
  T.eq(p.region, "us-east-1")
  T.eq(p.account, "111122223333")
  T.eq(p.resource_type, "key")
  T.eq(p.resource_id, "1234abcd-12ab-34cd-56ef-1234567890ab")
end)

T.test("service-linked role ARN keeps its path in the id", function()
  local s = "arn:aws:iam::222233334444:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
  local p = assert(arn.parse(s))
  T.eq(p.region, "")
  T.eq(p.resource_type, "role")
  T.eq(p.resource_id, "aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling")
  local name, path = arn.role_name(s)
  T.eq(name, "AWSServiceRoleForAutoScaling")
  T.eq(path, "/aws-service-role/autoscaling.amazonaws.com/")
  T.eq(arn.autoscaling_role("222233334444"), s)
  T.eq(arn.autoscaling_role("222233334444", "blue"), s .. "_blue")
  T.eq(arn.role("222233334444", name, path), s)
end)

T.test("colon-separated resources and resources without a type", function()
  local p = assert(arn.parse(
    "arn:aws:autoscaling:eu-west-1:111122223333:autoScalingGroup:uuid-1:autoScalingGroupName/g"))
  T.eq(p.resource_type, "autoScalingGroup")
  T.eq(p.separator, ":")
  T.eq(p.resource_id, "uuid-1:autoScalingGroupName/g")
  local root = assert(arn.parse("arn:aws:iam::111122223333:root"))
  T.eq(root.resource_type, nil)
  T.eq(root.resource_id, "root")
  T.eq(assert(arn.parse("arn:aws:iam::aws:policy/AdministratorAccess")).account, "aws")
end)

T.test("other partitions and their regions", function()
  local cn = "arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  T.eq(assert(arn.parse(cn)).partition, "aws-cn")
  T.eq(assert(arn.parse("arn:aws-us-gov:iam::111122223333:role/x")).partition, "aws-us-gov")
  T.eq(arn.region_partition("us-gov-west-1"), "aws-us-gov")
  T.eq(arn.region_partition("cn-northwest-1"), "aws-cn")
  T.eq(arn.region_partition("ap-southeast-2"), "aws")
  T.eq(arn.region_partition("il-central-1"), "aws")
end)

T.test("malformed ARNs are refused with a reason", function()
  local cases = {
    { "arn:aws:kms:us-east-1:111122223333", "is not an ARN" },
    { "not-an-arn", "is not an ARN" },
    { "arn:aws-xx:kms:us-east-1:111122223333:key/x", "unknown partition" },
    { "arn:aws:kms:us-east-1:12345:key/x", "12%-digit" },
    { "arn:aws:kms:us-east-1x:111122223333:key/x", "region" },
    { "arn:aws:kms:cn-north-1:111122223333:key/x", "not in partition aws" },
    { "arn:aws:KMS:us-east-1:111122223333:key/x", "malformed service" },
  }
  for _, c in ipairs(cases) do
    local p, err = arn.parse(c[1])
    T.eq(p, nil, c[1])
    T.match(err, c[2])
  end
  T.eq(arn.is_arn(42), false)
end)

T.test("build round-trips parse", function()
  local s = "arn:aws:kms:us-west-2:111122223333:alias/my-key"
  T.eq(arn.build(assert(arn.parse(s))), s)
  T.eq(arn.build { service = "kms", region = "us-west-2", account = "111122223333",
                   resource_type = "key", resource_id = "k" }, "arn:aws:kms:us-west-2:111122223333:key/k")
  T.eq(arn.key_arn("111122223333", "us-east-1", "abc"), "arn:aws:kms:us-east-1:111122223333:key/abc")
  T.eq(arn.root("111122223333"), "arn:aws:iam::111122223333:root")
  T.eq(arn.root("111122223333", "aws-cn"), "arn:aws-cn:iam::111122223333:root")
end)

T.test("account IDs are exactly twelve digits, kept as strings", function()
  T.ok(arn.is_account_id("012345678901"))
  T.ok(not arn.is_account_id("12345678901"))
  T.ok(not arn.is_account_id("1234567890123"))
  T.ok(not arn.is_account_id("12345678901a"))
  T.ok(not arn.is_account_id(123456789012))
  local ok, err = arn.check_account_id("12345")
  T.eq(ok, nil)
  T.eq(err, "'12345' is not a 12-digit AWS account ID")
end)

T.test("root principals in both spellings", function()
  T.eq(arn.is_root("111122223333"), "111122223333")
  T.eq(arn.is_root("arn:aws:iam::111122223333:root"), "111122223333")
  T.eq(arn.is_root("arn:aws:iam::111122223333:role/x"), nil)
  T.eq(arn.account_of("arn:aws:iam::111122223333:role/x"), "111122223333")
  T.eq(arn.account_of("*"), nil)
end)

T.test("role_name rejects what is not a role", function()
  T.eq(arn.role_name("arn:aws:iam::111122223333:user/bob"), nil)
  T.eq(arn.role_name("arn:aws:iam::111122223333:role/ops/deploy"), "deploy")
  T.eq(select(2, arn.role_name("arn:aws:iam::111122223333:role/ops/deploy")), "/ops/")
end)

T.test("regions: shape and known partitions", function()
  for _, r in ipairs { "us-east-1", "eu-central-2", "ca-west-1", "me-south-1", "af-south-1", "sa-east-1" } do
    T.ok(arn.is_region(r), r)
  end
  for _, r in ipairs { "us-east", "US-EAST-1", "useast1", "us-east-1a", "xx-east-1", "us-east-123", "" } do
    T.ok(not arn.is_region(r), r)
  end
  T.match(select(2, arn.region_partition("xx-east-1")), "known partition")
end)

T.test("KMS key references are classified", function()
  local id = "1234abcd-12ab-34cd-56ef-1234567890ab"
  T.eq(arn.kms_key(id).kind, "key_id")
  T.eq(arn.kms_key("mrk-1234abcd12ab34cd56ef1234567890ab").kind, "key_id")
  T.eq(arn.kms_key("alias/aws/ebs").kind, "alias")
  local k = arn.kms_key("arn:aws:kms:us-east-1:111122223333:key/" .. id)
  T.eq(k.kind, "key_arn")
  T.eq(k.key_id, id)
  T.eq(k.account, "111122223333")
  local a = arn.kms_key("arn:aws:kms:us-east-1:111122223333:alias/shared")
  T.eq(a.kind, "alias_arn")
  T.eq(a.alias, "alias/shared")
  for _, bad in ipairs { "1234", "alias/", "alias/bad name", "arn:aws:kms:us-east-1:111122223333:key/nope",
                         "arn:aws:iam::111122223333:role/x", "" } do
    T.eq(arn.kms_key(bad), nil, bad)
  end
end)

T.test("AMI IDs: ami- and 8 or 17 lowercase hex digits", function()
  T.ok(arn.is_ami_id("ami-12345678"))
  T.ok(arn.is_ami_id("ami-0123456789abcdef0"))
  T.ok(not arn.is_ami_id("ami-123"))
  T.ok(not arn.is_ami_id("ami-0123456789ABCDEF0"))
  T.ok(not arn.is_ami_id("ami-0123456789abcdefg"))
  T.ok(not arn.is_ami_id("snap-12345678"))
end)

T.done()
