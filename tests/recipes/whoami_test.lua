-- whoami_test: the whoami recipe names the account behind each seeded profile on the local cloud.
local testkit = require "luaws.testkit"

local cloud = testkit.cloud {}

testkit.case("each profile belongs to its own account", function()
  local source = cloud:run("whoami", {}, { profile = "source" })
  testkit.eq(source.status, "ok", source.error and source.error.message)
  testkit.eq(source.exit, 0)
  testkit.eq(source.result.account, cloud.source_account)
  testkit.eq(source.result.principal_type, "user")
  local target = cloud:run("whoami", {}, { profile = "target" })
  testkit.eq(target.result.account, cloud.target_account)
  testkit.ok(cloud.source_account ~= cloud.target_account, "two different accounts")
end)

testkit.case("--expect-account fails (exit 1) for the other account", function()
  local report = cloud:run("whoami", { ["expect-account"] = cloud.source_account }, { profile = "target" })
  testkit.eq(report.status, "failed")
  testkit.eq(report.exit, 1)
  testkit.match(report.error.message, "belong to account " .. cloud.target_account)
  local fine = cloud:run("whoami", { ["expect-account"] = cloud.target_account }, { profile = "target" })
  testkit.eq(fine.exit, 0)
end)

testkit.case("bad input is exit 2, as on the command line", function()
  local report = cloud:run("whoami", { ["expect-account"] = "12345" }, { profile = "target" })
  testkit.eq(report.exit, 2)
  testkit.match(report.error.message, "12%-digit")
  local unknown = cloud:run("whoami", { ["expect-acount"] = "x" }, { profile = "target" })
  testkit.eq(unknown.exit, 2)
  testkit.match(unknown.error.message, "did you mean")
end)

testkit.case("the JSON report is what `luaws run --output json` prints", function()
  local report = cloud:run("whoami", {}, { profile = "source", output = "json" })
  local decoded = require("cjson").decode(report.json)
  testkit.eq(decoded.status, "ok")
  testkit.eq(decoded.result.account, cloud.source_account)
end)

testkit.case("signatures are checked: the right key id with a wrong secret is refused", function()
  local f = assert(io.open(cloud.credentials_file))
  local key_id = f:read("a"):match("%[target%]%s*aws_access_key_id = (%S+)")
  f:close()
  testkit.ok(key_id, "the target profile's access key id")
  local sts = cloud:client("sts", "target", { credentials = { access_key = key_id, secret_key = "wrong" } })
  local err = testkit.raises(function() return sts:GetCallerIdentity {} end)
  testkit.eq(type(err) == "table" and err.code, "SignatureDoesNotMatch", tostring(err))
  testkit.eq(cloud:client("sts", "target"):GetCallerIdentity {}.Account, cloud.target_account)
end)

testkit.done()
