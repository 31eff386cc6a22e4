-- init_test: the `aws` facade's helpers for scripts: pretty, json, args, commands.help.
local T = require "testing"

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
