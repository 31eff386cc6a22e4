-- harness/json: the JSON boundary under fuzz: cjson.safe, the KMS JSON protocol parser (replies
-- and error replies) and the key-policy decoder with its merge, which must never lose a statement.
local cjson = require "cjson.safe"
local json_protocol = require "luaws.sdk.protocol.json"
local shared = require "luaws.sdk.protocol.shared"
local policy = require "luaws.domain.policy"
local model = require "luaws.sdk.model"
local oracle = require "oracle"

local kms = model.load("kms")
-- The operations whose replies the flagship recipe reads.
local operations = {}
for _, name in ipairs { "GetKeyPolicy", "DescribeKey", "ListGrants", "ListRetirableGrants",
                        "CreateGrant", "ListAliases" } do
  operations[#operations + 1] = kms:operation(name)
end

-- What the flagship recipe merges into a key policy.
local FUZZ_SID = "LuawsFuzzGrant"
local fuzz_statement = {
  Sid = FUZZ_SID, Effect = "Allow",
  Principal = { AWS = "arn:aws:iam::111122223333:root" },
  Action = { "kms:CreateGrant", "kms:Decrypt" },
  Resource = "*",
}

local function check_protocol(data)
  local op = operations[(data:byte(1) or 0) % #operations + 1]
  local ok, result = pcall(json_protocol.parse, kms, op, { status = 200, headers = {}, body = data })
  if ok then
    if type(result) ~= "table" or type(result.ResponseMetadata) ~= "table" then
      oracle.fail("protocol.json.parse(%s) returned %s without ResponseMetadata", op.name, type(result))
    end
  else
    oracle.expect_error("protocol.json.parse(" .. op.name .. ")", result, { "ResponseParseError" })
  end
  -- The client calls parse_error under pcall, but a reader of error replies that raises hides the
  -- server's answer behind a generic one: it must always return {code=, message=}.
  local eok, decoded = pcall(shared.parse_error, kms, op, { status = 400, headers = {}, body = data })
  if not eok then oracle.fail("parse_error raised: %s", tostring(decoded)) end
  if type(decoded) ~= "table" or type(decoded.code) ~= "string" or decoded.code == "" then
    oracle.fail("parse_error returned no code")
  end
end

local function count_by_text(statements)
  local counts = {}
  for _, s in ipairs(statements) do
    local text = policy.json_encode(s)
    counts[text] = (counts[text] or 0) + 1
  end
  return counts
end

local function check_policy(data)
  local ok, doc = pcall(policy.decode, data)
  if not ok then
    oracle.expect_error("policy.decode", doc, { "MalformedPolicyDocument" })
    return
  end
  -- Round trip: what we would write back reads as the same document.
  local text = policy.encode(doc)
  local ok2, again = pcall(policy.decode, text)
  if not ok2 then oracle.fail("policy.decode rejects policy.encode's output: %s", tostring(again.message)) end
  if policy.encode(again) ~= text then oracle.fail("encode(decode(encode(doc))) differs from encode(doc)") end
  policy.check_size(doc)

  -- Merge by Sid keeps every statement that was there (the mission's first rule).
  local merged = policy.merge(doc, { fuzz_statement })
  local before = {}
  for _, s in ipairs(policy.statements(doc)) do
    if s.Sid ~= FUZZ_SID then before[#before + 1] = s end
  end
  local merged_text = policy.encode(merged)
  local after = policy.statements(policy.decode(merged_text))
  local after_counts = count_by_text(after)
  for stmt_text, n in pairs(count_by_text(before)) do
    if (after_counts[stmt_text] or 0) < n then
      oracle.fail("policy.merge lost a statement: %s", stmt_text)
    end
  end
  local _, index = policy.find(merged, FUZZ_SID)
  if not index then oracle.fail("policy.merge did not add %s", FUZZ_SID) end
  local diff = policy.diff(doc, merged)
  if #diff.removed > 0 then oracle.fail("policy.diff reports %d removed statements after a merge", #diff.removed) end
end

return {
  run = function(data)
    local ok, value, err = pcall(cjson.decode, data)
    if not ok then oracle.fail("cjson.safe.decode raised: %s", tostring(value)) end
    if value == nil and type(err) ~= "string" then oracle.fail("cjson.safe.decode gave nil without a reason") end
    check_protocol(data)
    check_policy(data)
  end,
}
