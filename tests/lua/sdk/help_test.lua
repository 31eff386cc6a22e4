-- help_test: aws.help lists a service's operations and an operation's members with docs, types and enums.
local T = require "testing"
local aws = require "luaws"
local errors = require "luaws.core.errors"

T.test("a service: its operations with their first sentences", function()
  local text = aws.help("sts")
  T.match(text, "^sts %(STS, API 2011%-06%-15%): %d+ operations\n")
  T.match(text, "\n  AssumeRole: Returns a set of temporary security credentials")
  T.ok(not text:find("<", 1, true), "no HTML")
end)

T.test("an operation: required members, types, docs and enum values", function()
  local text = aws.help("kms", "create_grant")
  T.match(text, "^kms CreateGrant: Adds a grant to a KMS key%.\n")
  T.match(text, "\n  KeyId%* %(string%): Identifies the KMS key")
  T.match(text, "\n  Operations%* %(list of string%): [^\n]*\n      one of: Decrypt, Encrypt,")
  T.match(text, "\n  Constraints %(GrantConstraints%)")
  T.match(text, "\nOutput:\n  GrantToken %(string%)")
  local spec = aws.help("kms", "CreateKey")
  T.match(spec, "\n  KeySpec %(string%)[^\n]*\n      one of: [^\n]*SYMMETRIC_DEFAULT")
  T.match(aws.help("s3", "ListObjectsV2"), "\nPages: client:paginate%(\"ListObjectsV2\", params%)")
  T.match(aws.help("ec2", "DescribeImages"), "Filters %(list of Filter%)")
end)

T.test("unknown names are the model's errors", function()
  T.ok(errors.is(T.raises(function() aws.help("kmz") end), "UnknownService"))
  local e = T.raises(function() aws.help("kms", "CreateGrnt") end)
  T.match(e.message, "did you mean CreateGrant")
end)

T.done()
