-- protocol_json_test: AWS JSON requests (headers, [] vs {}, exact integers, blobs, timestamps) and replies.
-- luacheck: no max line length (fixtures: AWS bodies, ARNs and expected messages read best unbroken)
local T = require "testing"
local cjson = require "cjson"
local model = require "luaws.sdk.model"
local json = require "luaws.sdk.protocol.json"

local kms = model.load("kms")
local orgs = model.load("organizations")

local function header_map(req)
  local out = {}
  for _, h in ipairs(req.headers) do out[h[1]] = h[2] end
  return out
end

T.test("KMS request: POST /, JSON 1.1 content type, X-Amz-Target", function()
  local req = json.build(kms, kms:operation("ListKeys"), {})
  T.eq(req.method, "POST")
  T.eq(req.path, "/")
  T.eq(req.query, nil)
  T.same(header_map(req), { ["Content-Type"] = "application/x-amz-json-1.1", ["X-Amz-Target"] = "TrentService.ListKeys" })
  T.eq(req.body, "{}")
  T.eq(json.build(kms, kms:operation("ListKeys"), nil).body, "{}", "no params at all is {}")
  local o = json.build(orgs, orgs:operation("DescribeOrganization"), nil)
  T.eq(header_map(o)["X-Amz-Target"], "AWSOrganizationsV20161128.DescribeOrganization")
end)

T.test("empty lists are [] and empty maps are {} (decided by the shape, not cjson)", function()
  local req = json.build(kms, kms:operation("CreateGrant"), { KeyId = "k", GranteePrincipal = "p",
    Operations = {}, GrantTokens = {}, Constraints = { EncryptionContextSubset = {} } })
  T.eq(req.body, '{"KeyId":"k","GranteePrincipal":"p","Operations":[],"Constraints":{"EncryptionContextSubset":{}},"GrantTokens":[]}')
end)

T.test("members in model order; map keys sorted; the caller's table is not changed", function()
  local params = { Name = "g", Operations = { "Decrypt" }, GranteePrincipal = "p", KeyId = "k",
    Constraints = { EncryptionContextEquals = { z = "1", a = "2" } } }
  local req = json.build(kms, kms:operation("CreateGrant"), params)
  T.eq(req.body, '{"KeyId":"k","GranteePrincipal":"p","Operations":["Decrypt"],'
    .. '"Constraints":{"EncryptionContextEquals":{"a":"2","z":"1"}},"Name":"g"}')
  T.eq(params.DryRun, nil)
end)

T.test("integers are exact beyond 2^53 and floats integral values become integers", function()
  local long = { type = "long" }
  T.eq(json.encode_value(long, nil, 9007199254740993), "9007199254740993")
  T.eq(json.encode_value(long, nil, 7.0), "7")
  local req = json.build(kms, kms:operation("ScheduleKeyDeletion"), { KeyId = "k", PendingWindowInDays = 7.0 })
  T.eq(req.body, '{"KeyId":"k","PendingWindowInDays":7}')
  T.eq(json.encode_value({ type = "double" }, nil, 0.1), "0.1")
  T.eq(json.encode_value({ type = "double" }, nil, 1 / 0), '"Infinity"')
end)

T.test("blobs are base64, timestamps epoch seconds", function()
  local req = json.build(kms, kms:operation("Encrypt"), { KeyId = "k", Plaintext = "hello\0\255" })
  T.eq(cjson.decode(req.body).Plaintext, "aGVsbG8A/w==")
  local imp = json.build(kms, kms:operation("ImportKeyMaterial"), { KeyId = "k", ImportToken = "t",
    EncryptedKeyMaterial = "m", ValidTo = "2024-01-02T03:04:05Z" })
  T.match(imp.body, '"ValidTo":1704164645[,}]')
  local imp2 = json.build(kms, kms:operation("ImportKeyMaterial"), { KeyId = "k", ImportToken = "t",
    EncryptedKeyMaterial = "m", ValidTo = 1704164645 })
  T.match(imp2.body, '"ValidTo":1704164645[,}]')
end)

T.test("strings are escaped as JSON", function()
  local policy = '{"Statement":[{"Sid":"a\\b"}]}\n\t\1 é'
  local req = json.build(kms, kms:operation("PutKeyPolicy"), { KeyId = "k", PolicyName = "default", Policy = policy })
  T.eq(cjson.decode(req.body).Policy, policy)
end)

T.test("validation reaches into lists, maps and nested structures", function()
  local e = T.raises(function()
    json.build(kms, kms:operation("CreateGrant"), { KeyId = "k", GranteePrincipal = "p",
      Operations = { "Decrypt", 5 }, Constraints = { EncryptionContextSubset = { a = true }, Bogus = 1 },
      DryRun = "yes" })
  end)
  T.eq(e.code, "ParamValidation")
  T.match(e.message, "Invalid type for parameter Operations%[2%], value: 5, type: integer, valid types: string")
  T.match(e.message, "Invalid type for parameter Constraints%.EncryptionContextSubset%.a, value: true")
  T.match(e.message, 'Unknown parameter in Constraints: "Bogus", must be one of: EncryptionContextSubset, EncryptionContextEquals')
  T.match(e.message, 'Invalid type for parameter DryRun, value: "yes", type: string, valid types: boolean')
  local e2 = T.raises(function()
    json.build(kms, kms:operation("ScheduleKeyDeletion"), { KeyId = "k", PendingWindowInDays = 7.5 })
  end)
  T.match(e2.message, "PendingWindowInDays, value: 7.5, type: float, valid types: integer")
  local e3 = T.raises(function()
    json.build(kms, kms:operation("CreateKey"), { Tags = { { TagKey = "a" } } })
  end)
  T.match(e3.message, 'Missing required parameter in Tags%[1%]: "TagValue"')
end)

T.test("replies: integers are integers, unknown fields ignored, nulls absent", function()
  local op = kms:operation("ListKeys")
  local r = json.parse(kms, op, { status = 200, headers = { ["x-amzn-requestid"] = "r" },
    body = '{"Keys":[{"KeyId":"k1","KeyArn":"a1","Extra":1}],"Truncated":true,"NextMarker":"m","Unmodelled":{"x":1}}' })
  T.same(r.Keys, { { KeyId = "k1", KeyArn = "a1" } })
  T.eq(r.Truncated, true)
  T.eq(r.NextMarker, "m")
  T.eq(r.Unmodelled, nil)
  local g = json.parse(kms, kms:operation("GenerateRandom"), { status = 200, headers = {},
    body = '{"Plaintext":"AAEC"}' })
  T.eq(g.Plaintext, "\0\1\2")
  local k = json.parse(kms, kms:operation("GetKeyRotationStatus"), { status = 200, headers = {},
    body = '{"KeyRotationEnabled":false,"RotationPeriodInDays":365,"NextRotationDate":null}' })
  T.eq(k.KeyRotationEnabled, false)
  T.eq(k.RotationPeriodInDays, 365)
  T.eq(math.type(k.RotationPeriodInDays), "integer")
  T.eq(k.NextRotationDate, nil)
end)

T.test("a 200 with broken JSON is a ResponseParseError", function()
  local e = T.raises(function()
    json.parse(kms, kms:operation("ListKeys"), { status = 200, headers = {}, body = "{oops" })
  end)
  T.eq(e.code, "ResponseParseError")
  T.eq(e.operation, "ListKeys")
end)

T.done()
