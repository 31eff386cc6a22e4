-- init_test: the `aws` facade: what scripts get, loaded lazily, forwarding to the floors below.
local T = require "testing"

T.test("the facade is the global `aws`, cheap to load: no client, model or SDK module up front", function()
  T.eq(aws, require "luaws")
  T.eq(type(aws.version), "string")
  T.eq(package.loaded["luaws.sdk.model"], nil)
  T.eq(package.loaded["luaws.sdk.client"], nil)
end)

T.test("aws.defaults is the table every client reads", function()
  T.eq(aws.defaults, require "luaws.sdk.defaults")
end)

T.test("classification and profiles come from the SDK floor", function()
  T.ok(aws.is_read_only("kms", "Decrypt"))
  T.ok(not aws.is_read_only("kms", "CreateGrant"))
  local ok, e = pcall(aws.profile, "no-such-profile-anywhere")
  T.ok(not ok)
  T.match(tostring(e), "no%-such%-profile%-anywhere")
end)

T.test("concurrency forwards to the scheduler", function()
  local t = aws.spawn(function() aws.sleep(0.01) return "done" end)
  T.eq(aws.wait(t), "done")
  T.same(aws.parallel { function() return 1 end, function() return 2 end }, { 1, 2 })
  local before = aws.set_max_in_flight(3)
  T.eq(aws.set_max_in_flight(before), 3)
  T.eq(type(aws.http_stats().requests), "number")
  T.eq(type(aws.commands.test), "function")
end)

T.test("aws.pretty and aws.json load on first use and are the core modules", function()
  T.eq(rawget(aws, "pretty"), nil)
  T.ok(aws.pretty == require("luaws.core.pretty"))
  T.ok(rawget(aws, "pretty") ~= nil, "cached on the facade")
  T.eq(aws.pretty.format({ b = 1, a = { 1, 2 } }), "{ a = { 1, 2 }, b = 1 }")
  T.ok(aws.json == require("luaws.core.json"))
  T.eq(aws.json.encode({ b = 1, a = "x" }), '{"a":"x","b":1}')
  T.eq(aws.no_such_field, nil)
end)

T.test("aws.args parses a script's arguments", function()
  local a = aws.args({ { name = "bucket", required = true }, { name = "n", type = "integer", default = 1 } },
                     { "--bucket", "b" })
  T.eq(a.bucket, "b")
  T.eq(a.n, 1)
end)

T.test("aws.commands.help renders a service, an operation, the services", function()
  T.match(aws.commands.help("kms"), "^kms: ")
  T.match(aws.commands.help("kms", "CreateGrant"), "^kms CreateGrant")
  T.match(aws.commands.help("services"), "\nkms\n")
end)

T.done()
