-- shaped_test: luaws.sdk.shaped marks parsed results by their model shape, so JMESPath tells an
-- empty structure from an empty list as botocore does.
local T = require "testing"
local jmespath = require "luaws.core.jmespath"
local model = require "luaws.sdk.model"
local shaped = require "luaws.sdk.shaped"

local ec2 = model.load("ec2")

T.test("an empty reservation is a structure once marked (a waiter's length() counts it)", function()
  local expr = "length(Reservations[]) > `0`"
  T.eq(jmespath.search(expr, { Reservations = { {} } }), false, "unmarked, {} looks like a list")
  local result = shaped.mark_output(ec2, "DescribeInstances", { Reservations = { {} } })
  T.eq(jmespath.search(expr, result), true)
  T.eq(jmespath.type_of(result.Reservations), "array")
  T.eq(jmespath.type_of(result.Reservations[1]), "object")
end)

T.test("lists, maps and nested structures are marked; values and unknown members untouched", function()
  local result = shaped.mark_output(ec2, "DescribeInstances", { Reservations = { { Instances = {},
    Groups = { { GroupId = "sg-1" } } } }, NextToken = "t", Extra = {} })
  local r = result.Reservations[1]
  T.eq(jmespath.type_of(r.Instances), "array")
  T.eq(jmespath.type_of(r.Groups[1]), "object")
  T.eq(r.Groups[1].GroupId, "sg-1")
  T.eq(getmetatable(result.Extra), nil, "a member the shape does not describe stays as it is")
  T.eq(result.NextToken, "t")
  T.eq(jmespath.search("Reservations[].Instances[]", result)[1], nil)
end)

T.test("an unknown operation leaves the result alone", function()
  local plain = { A = {} }
  T.ok(shaped.mark_output(ec2, "NoSuchOperation", plain) == plain)
  T.eq(getmetatable(plain.A), nil)
end)

T.done()
