-- cloud_test: testkit.cloud starts a seeded local cloud, gives clients per profile, checks signatures,
-- runs recipes as `luaws run` does, and stops when the file ends.
local testkit = require "luaws.testkit"

local cloud = testkit.cloud {}

testkit.case("the seed gives two accounts, a key in the source and a group in the target", function()
  testkit.ok(cloud.source_account:match("^%d+$") and cloud.target_account:match("^%d+$"))
  testkit.ok(cloud.source_account ~= cloud.target_account)
  testkit.match(cloud.summary.key_arn, "^arn:aws:kms:")
  testkit.match(cloud.url, "^http://127%.0%.0%.1:%d+$")
end)

testkit.case("clients act as their profile's account, signed and checked", function()
  local sts = cloud:client("sts", "target")
  testkit.eq(sts:GetCallerIdentity {}.Account, cloud.target_account)
  local key = cloud:client("kms", "source"):DescribeKey { KeyId = cloud.summary.key_arn }.KeyMetadata
  testkit.eq(key.AWSAccountId, cloud.source_account)
  local forged = testkit.aws().client("sts", { endpoint_url = cloud.url, region = cloud.region, max_attempts = 1,
    credentials = { access_key = "AKIAFORGEDFORGED0000", secret_key = "wrong" } })
  local ok, e = pcall(forged.GetCallerIdentity, forged, {})
  testkit.ok(not ok)
  testkit.ok(e.code == "InvalidClientTokenId" or e.code == "SignatureDoesNotMatch", tostring(e))
end)

testkit.case("recipes run through the CLI path and report as `luaws run`", function()
  local report = cloud:run("whoami", {}, { profile = "source" })
  testkit.eq(report.exit, 0)
  testkit.eq(report.result.account, cloud.source_account)
  local missing = cloud:run("no-such-recipe", {}, { profile = "source" })
  testkit.eq(missing.status, "failed")
  testkit.ok(missing.exit ~= 0)
end)

testkit.done()
