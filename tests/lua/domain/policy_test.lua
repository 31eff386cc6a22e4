-- policy_test: key policy JSON round trips, merge/remove by Sid, principal and action checks, diffs.
local T = require "testing"
local policy = require "luaws.domain.policy"

local A, B = "111122223333", "444455556666"

-- The console's default key policy for a key in A shared with B, including its GrantIsForAWSResource
-- statement, plus members luaws does not know about.
local CONSOLE = [[
{
  "Version": "2012-10-17",
  "Id": "key-consolepolicy-3",
  "Statement": [
    {
      "Sid": "Enable IAM User Permissions",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
      "Action": "kms:*",
      "Resource": "*"
    },
    {
      "Sid": "Allow use of the key",
      "Effect": "Allow",
      "Principal": {"AWS": ["arn:aws:iam::444455556666:root"]},
      "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      "Resource": "*"
    },
    {
      "Sid": "Allow attachment of persistent resources",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
      "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
      "Resource": "*",
      "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    },
    {
      "Effect": "Deny",
      "Principal": "*",
      "Action": "kms:ScheduleKeyDeletion",
      "Resource": [],
      "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": 3600}, "StringEquals": {}},
      "XFutureField": {"nested": [1, 2.5, -3e2, true, false, null, "\u00e9\ud83d\ude00 \"q\" \\ /"]}
    }
  ]
}]]

local USE = { "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
              "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey" }

T.test("decode keeps arrays, objects, integers and unknown fields; encode is stable", function()
  local doc = policy.decode(CONSOLE)
  local s4 = doc.Statement[4]
  T.eq(getmetatable(s4.Resource), policy.array_mt)
  T.eq(#s4.Resource, 0)
  T.eq(getmetatable(s4.Condition.StringEquals), policy.object_mt)
  T.eq(math.type(s4.Condition.NumericLessThan["aws:MultiFactorAuthAge"]), "integer")
  local nested = s4.XFutureField.nested
  T.eq(nested[6], policy.null)
  T.eq(nested[7], "\u{e9}\u{1F600} \"q\" \\ /")
  local text = policy.encode(doc)
  T.match(text, '"Resource":%[%]')
  T.match(text, '"StringEquals":{}')
  T.match(text, '"aws:MultiFactorAuthAge":3600')
  T.match(text, '%[1,2%.5,%-300%.0,true,false,null,')
  T.match(text, '"XFutureField"')
  -- Deterministic: encoding the decoded encoding gives the same bytes, and Sid/Effect lead.
  T.eq(policy.encode(policy.decode(text)), text)
  T.match(text, '^{"Version":"2012%-10%-17","Id":"key%-consolepolicy%-3","Statement":%[{"Sid":')
  T.eq(policy.encode(policy.decode(policy.encode(doc, { pretty = true }))), text)
end)

T.test("malformed JSON is a clear MalformedPolicyDocument error", function()
  for _, bad in ipairs { '{"Statement": [}', '{"Statement": []', '[1]', '{"Version": "x"}', '',
                         '{"Statement": [1]}', '{"a": tru}', '{"Statement": []} x' } do
    local e = T.raises(function() policy.decode(bad) end, bad)
    T.eq(e.code, "MalformedPolicyDocument", bad)
    T.eq(type(e.message), "string")
  end
  local e = T.raises(function() policy.decode('{\n"Statement": [\n}') end)
  T.match(e.message, "not valid JSON at line 3")
end)

T.test("a single-object Statement is read as a list of one", function()
  local doc = policy.decode('{"Version":"2012-10-17","Statement":'
    .. '{"Sid":"One","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}')
  T.eq(#policy.statements(doc), 1)
  T.eq(policy.find(doc, "One").Effect, "Allow")
end)

T.test("merge adds and replaces by Sid and keeps every other statement untouched", function()
  local doc = policy.decode(CONSOLE)
  local before = policy.encode(doc)
  local ours = { Sid = "LuawsUse", Effect = "Allow", Principal = { AWS = "arn:aws:iam::" .. B .. ":root" },
                 Action = { "kms:Decrypt" }, Resource = "*" }
  local merged, changes = policy.merge(doc, { ours })
  T.same(changes, { { sid = "LuawsUse", change = "added" } })
  T.eq(policy.encode(doc), before, "input document must not change")
  T.eq(#merged.Statement, 5)
  for i = 1, 4 do T.eq(policy.encode(merged.Statement[i]), policy.encode(doc.Statement[i])) end
  local again, changes2 = policy.merge(merged, { ours })
  T.same(changes2, { { sid = "LuawsUse", change = "unchanged" } })
  T.eq(policy.encode(again), policy.encode(merged))
  local replaced, changes3 = policy.merge(again, { { Sid = "LuawsUse", Effect = "Allow", Principal = ours.Principal,
                                                     Action = { "kms:Decrypt", "kms:Encrypt" }, Resource = "*" } })
  T.same(changes3, { { sid = "LuawsUse", change = "replaced" } })
  T.eq(#replaced.Statement, 5)
  T.eq(#policy.find(replaced, "LuawsUse").Action, 2)
  -- An empty Action list written by Lua stays a list once normalised.
  local with_empty = policy.merge(policy.new(), { { Sid = "E", Effect = "Allow", Principal = "*",
                                                    Action = policy.array(),
                                                    Resource = "*" } })
  T.match(policy.encode(with_empty), '"Action":%[%]')
  T.raises(function() policy.merge(doc, { { Effect = "Allow" } }) end)
end)

T.test("remove drops only the named statements", function()
  local doc = policy.merge(policy.decode(CONSOLE), { { Sid = "LuawsUse", Effect = "Allow", Principal = "*",
                                                       Action = "kms:Decrypt", Resource = "*" } })
  local out, removed = policy.remove(doc, { "LuawsUse", "NotThere" })
  T.same(removed, { "LuawsUse" })
  T.eq(policy.encode(out), policy.encode(policy.decode(CONSOLE)))
end)

T.test("principal matching: root spellings, lists, wildcards, delegation", function()
  local root_arn = { AWS = "arn:aws:iam::" .. B .. ":root" }
  T.ok(policy.principal_matches(root_arn, B))
  T.ok(policy.principal_matches(root_arn, "arn:aws:iam::" .. B .. ":root"))
  T.ok(policy.principal_matches({ AWS = B }, "arn:aws:iam::" .. B .. ":root"))
  T.ok(policy.principal_matches({ AWS = { "arn:aws:iam::" .. A .. ":root", B } }, B))
  T.ok(policy.principal_matches("*", B))
  T.ok(policy.principal_matches({ AWS = "*" }, B))
  T.ok(not policy.principal_matches(root_arn, A))
  T.ok(not policy.principal_matches({ Service = "autoscaling.amazonaws.com" }, B))
  local role = "arn:aws:iam::" .. B .. ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
  T.ok(not policy.principal_matches(root_arn, role))
  T.ok(policy.principal_matches(root_arn, role, { delegate = true }))
  T.ok(policy.principal_matches({ AWS = role }, role))
end)

T.test("action matching is IAM-style", function()
  T.ok(policy.action_matches("kms:*", "kms:CreateGrant"))
  T.ok(policy.action_matches("kms:ReEncrypt*", "kms:ReEncryptFrom"))
  T.ok(policy.action_matches("KMS:generatedatakey*", "kms:GenerateDataKeyWithoutPlaintext"))
  T.ok(policy.action_matches("kms:Describe?ey", "kms:DescribeKey"))
  T.ok(policy.action_matches("*", "kms:Decrypt"))
  T.ok(not policy.action_matches("kms:Re*", "kms:Decrypt"))
  T.ok(not policy.action_matches("kms:Decrypt", "kms:DecryptX"))
  T.ok(not policy.action_matches("kms:Create.rant", "kms:CreateGrant"), "dots are literal")
  T.ok(policy.statement_covers({ NotAction = "kms:Delete*" }, "kms:Decrypt"))
  T.ok(not policy.statement_covers({ NotAction = { "kms:Delete*" } }, "kms:DeleteAlias"))
end)

T.test("allows: unconditional Allow needed, any matching Deny spoils it", function()
  local doc = policy.decode(CONSOLE)
  local ok, missing = policy.allows(doc, B, USE)
  T.ok(ok, table.concat(missing, ","))
  ok, missing = policy.allows(doc, B, { "kms:CreateGrant", "kms:Decrypt" })
  T.ok(not ok)
  T.same(missing, { "kms:CreateGrant" }, "the conditional CreateGrant does not count")
  T.ok(policy.allows(doc, A, { "kms:CreateGrant", "kms:PutKeyPolicy" }))
  T.ok(policy.allows(doc, A, { "kms:ScheduleKeyDeletion" }), "a Deny with an empty Resource list denies nothing")
  local denied = policy.merge(doc, { { Sid = "NoDelete", Effect = "Deny", Principal = "*", Action = "kms:Schedule*",
    Resource = "*", Condition = { NumericLessThan = { ["aws:MultiFactorAuthAge"] = 3600 } } } })
  T.ok(not policy.allows(denied, A, { "kms:ScheduleKeyDeletion" }), "a conditional Deny spoils the Allow")
  T.ok(policy.allows(denied, A, { "kms:PutKeyPolicy" }))
  T.ok(not policy.allows(doc, "999999999999", { "kms:Decrypt" }))
  local role = "arn:aws:iam::" .. B .. ":role/r"
  T.ok(not policy.allows(doc, role, { "kms:Decrypt" }))
  T.ok(policy.allows(doc, role, { "kms:Decrypt" }, { delegate = true }))
end)

T.test("detects the console's GrantIsForAWSResource statement", function()
  local doc = policy.decode(CONSOLE)
  local found = policy.grant_for_aws_resource_only(doc, B)
  T.eq(#found, 1)
  T.eq(found[1].sid, "Allow attachment of persistent resources")
  T.eq(found[1].index, 3)
  T.eq(#policy.grant_for_aws_resource_only(doc, A), 0)
  local bool_true = policy.decode([[{"Statement":[{"Effect":"Allow","Principal":{"AWS":"444455556666"},
    "Action":"kms:*","Resource":"*","Condition":{"Bool":{"KMS:GrantIsForAWSResource":[true]}}}]}]])
  T.eq(#policy.grant_for_aws_resource_only(bool_true, B), 1)
  local fixed = policy.merge(doc, { { Sid = "LuawsGrant", Effect = "Allow", Principal = { AWS = B },
                                      Action = "kms:CreateGrant", Resource = "*" } })
  T.ok(policy.allows(fixed, B, { "kms:CreateGrant" }))
end)

T.test("size check at 32 KB", function()
  T.ok(policy.check_size(policy.decode(CONSOLE)))
  local big = policy.new()
  for i = 1, 400 do
    big.Statement[i] = policy.object { Sid = "S" .. i, Effect = "Allow", Principal = { AWS = B },
                                       Action = "kms:Decrypt", Resource = "*" }
  end
  local ok, err = policy.check_size(big)
  T.eq(ok, nil)
  T.match(err, "at most 32768")
  T.eq(policy.check_size(string.rep("x", 32768)), 32768)
  T.eq(policy.check_size(string.rep("x", 32769)), nil)
end)

T.test("owner administration must survive", function()
  local doc = policy.decode(CONSOLE)
  local added = policy.merge(doc, { { Sid = "X", Effect = "Allow", Principal = { AWS = B }, Action = "kms:Decrypt",
                                      Resource = "*" } })
  T.ok(policy.check_owner_admin(doc, added, A))
  local without_admin = policy.remove(doc, { "Enable IAM User Permissions" })
  local ok, err = policy.check_owner_admin(doc, without_admin, A)
  T.eq(ok, nil)
  T.match(err, "removes administration of the key from account " .. A)
  T.match(err, "kms:PutKeyPolicy")
  -- Conditioning the owner's statement is as bad as removing it.
  local conditioned = policy.merge(doc, { { Sid = "Enable IAM User Permissions", Effect = "Allow",
    Principal = { AWS = A }, Action = "kms:*", Resource = "*",
    Condition = { Bool = { ["aws:SecureTransport"] = "true" } } } })
  T.eq(policy.check_owner_admin(doc, conditioned, A), nil)
  -- A policy whose admin is a role, not root: keeping the role keeps it administrable.
  local role_admin = policy.decode([[{"Statement":[{"Sid":"Admin","Effect":"Allow",
    "Principal":{"AWS":"arn:aws:iam::111122223333:role/KeyAdmin"},"Action":"kms:*","Resource":"*"}]}]])
  T.ok(policy.check_owner_admin(role_admin, role_admin, A))
  local ok2, err2 = policy.check_owner_admin(role_admin, policy.new(), A)
  T.eq(ok2, nil)
  T.match(err2, "lets nobody change it")
end)

T.test("diff names added, removed and changed statements by Sid", function()
  local old = policy.decode(CONSOLE)
  T.eq(policy.diff(old, old).text, "")
  T.eq(policy.diff(old, old).unchanged, 4)
  local new = policy.merge(old, {
    { Sid = "LuawsGrant", Effect = "Allow", Principal = { AWS = B }, Action = "kms:CreateGrant", Resource = "*" },
    { Sid = "Allow use of the key", Effect = "Allow", Principal = { AWS = { "arn:aws:iam::" .. B .. ":root" } },
      Action = { "kms:Decrypt" }, Resource = "*" },
  })
  new = policy.remove(new, { "Allow attachment of persistent resources" })
  local d = policy.diff(old, new)
  T.eq(#d.added, 1)
  T.eq(#d.removed, 1)
  T.eq(#d.changed, 1)
  T.eq(d.changed[1].sid, "Allow use of the key")
  T.eq(d.unchanged, 2)
  T.match(d.text, "%+ added Sid LuawsGrant")
  T.match(d.text, "%- removed Sid Allow attachment of persistent resources")
  T.match(d.text, "~ changed Sid Allow use of the key")
  T.match(d.text, '\n%-%s+"kms:Encrypt",')
  T.match(d.text, '\n%+%s+"Action": "kms:CreateGrant"')
  -- From nothing: everything is added.
  T.eq(#policy.diff(nil, new).added, #new.Statement)
end)

T.test("json_encode: plain tables, sorted keys, number forms", function()
  T.eq(policy.json_encode({ b = 1, a = { 1, 2 }, c = {} }), '{"a":[1,2],"b":1,"c":{}}')
  T.eq(policy.json_encode(policy.array()), "[]")
  T.eq(policy.json_encode(1.0), "1.0")
  T.eq(policy.json_encode(0.1), "0.1")
  T.eq(policy.json_encode(123456789012), "123456789012")
  T.eq(policy.json_encode("a\nb\1"), '"a\\nb\\u0001"')
  T.eq(policy.json_encode(require("cjson").null), "null")
  T.raises(function() policy.json_encode({ f = print }) end)
  local cyclic = {}
  cyclic.self = cyclic
  T.raises(function() policy.json_encode(cyclic) end)
end)

T.done()
