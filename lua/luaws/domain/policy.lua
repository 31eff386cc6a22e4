-- policy: KMS key policy documents: lossless JSON, merge by Sid, principal/action checks, diffs.
local arn = require "luaws.core.arn"

local M = {}

local json = require "luaws.core.json"

M.MAX_SIZE = 32768   -- bytes; PutKeyPolicy refuses larger documents
M.null, M.array, M.object = json.null, json.array, json.object
local array_mt, object_mt = json.array_mt, json.object_mt
M.array_mt, M.object_mt = array_mt, object_mt
M.json_decode, M.json_encode = json.decode, json.encode
local decode_json = json.decode

-- The conventional order of policy members first, then everything else alphabetically.
local POLICY_KEY_ORDER = { "Version", "Id", "Statement", "Sid", "Effect", "Principal", "NotPrincipal",
                           "Action", "NotAction", "Resource", "NotResource", "Condition" }

local function policy_error(message)
  return { code = "MalformedPolicyDocument", message = message }
end

--- policy.decode(text) -> document. Raises {code="MalformedPolicyDocument", message=} when the text
--- is not JSON or not a policy (an object whose Statement is a statement or a list of them).
function M.decode(text)
  local ok, doc = pcall(decode_json, text)
  if not ok then
    local e = type(doc) == "table" and doc or policy_error(tostring(doc))
    e.code = "MalformedPolicyDocument"
    e.message = "key policy is not valid JSON" .. e.message:gsub("^invalid JSON", "")
    error(e, 2)
  end
  if getmetatable(doc) ~= object_mt then error(policy_error("key policy is not a JSON object"), 2) end
  local st = doc.Statement
  if type(st) ~= "table" then error(policy_error("key policy has no Statement list"), 2) end
  local list = getmetatable(st) == array_mt and st or { st }
  for i, s in ipairs(list) do
    if getmetatable(s) ~= object_mt then error(policy_error("statement " .. i .. " is not an object"), 2) end
  end
  return doc
end

--- policy.encode(doc[, {pretty=true}]) -> JSON text with policy members in their usual order.
function M.encode(doc, opts)
  return M.json_encode(doc, { indent = (opts and opts.pretty) and "  " or nil, key_order = POLICY_KEY_ORDER })
end

--- policy.copy(value) -> a deep copy that keeps the array/object marks.
M.copy = json.copy

--- policy.statements(doc) -> the statement list (a single-object Statement becomes a one-item list).
function M.statements(doc)
  local st = doc.Statement
  if st == nil then return M.array() end
  if getmetatable(st) == object_mt or st.Effect ~= nil then return M.array { st } end
  return st
end

--- policy.new([statements]) -> an empty 2012-10-17 document.
function M.new(statements)
  return M.object { Version = "2012-10-17", Statement = M.array(statements or {}) }
end

--- policy.find(doc, sid) -> statement, index (or nil).
function M.find(doc, sid)
  for i, s in ipairs(M.statements(doc)) do
    if s.Sid == sid then return s, i end
  end
  return nil
end

local function canonical(v) return M.json_encode(v) end

-- Marks plain Lua tables in a statement the way the decoder would, so that equality checks and the
-- written document treat a statement built in Lua exactly like one read from AWS.
local normalize = json.normalize
M.normalize = normalize

--- policy.merge(doc, statements) -> new_doc, changes. Adds or replaces each given statement by its
--- Sid (required) and keeps every other statement, in place and untouched. changes is a list of
--- {sid=, change="added"|"replaced"|"unchanged"}. The input document is not modified.
function M.merge(doc, statements)
  local out = M.copy(doc)
  local list = M.copy(M.statements(doc))
  out.Statement = list
  local changes = {}
  for _, s in ipairs(statements) do
    assert(type(s.Sid) == "string" and s.Sid ~= "", "policy.merge: every statement needs a Sid")
    local mine = normalize(s)
    local existing, i = M.find(out, s.Sid)
    if not existing then
      list[#list + 1] = mine
      changes[#changes + 1] = { sid = s.Sid, change = "added" }
    elseif canonical(existing) == canonical(mine) then
      changes[#changes + 1] = { sid = s.Sid, change = "unchanged" }
    else
      list[i] = mine
      changes[#changes + 1] = { sid = s.Sid, change = "replaced" }
    end
  end
  return out, changes
end

--- policy.remove(doc, sids) -> new_doc, removed_sids: drops the statements with these Sids only.
function M.remove(doc, sids)
  local drop = {}
  for _, sid in ipairs(sids) do drop[sid] = true end
  local out = M.copy(doc)
  local kept, removed = M.array(), {}
  for _, s in ipairs(M.statements(doc)) do
    if s.Sid and drop[s.Sid] then removed[#removed + 1] = s.Sid else kept[#kept + 1] = M.copy(s) end
  end
  out.Statement = kept
  return out, removed
end

local function as_list(v)
  if v == nil then return {} end
  if type(v) == "table" then return v end
  return { v }
end

-- Canonical principal: an account's root in any of its spellings becomes "root:<account>".
local function principal_key(p)
  if p == "*" then return "*" end
  local root = arn.is_root(p)
  if root then return "root:" .. root end
  return p
end

--- policy.principal_matches(principal_field, who[, {delegate=bool}]) -> boolean.
--- principal_field is a statement's Principal ("*", {AWS="..."|{...}}, {Service=...}); who is an
--- account ID, a root ARN, or any IAM principal ARN. "B" and arn:aws:iam::B:root are the same
--- principal. With delegate, an account root in the policy also matches that account's roles and
--- users (what a key policy's root principal means in effect, given IAM permissions in that account).
function M.principal_matches(field, who, opts)
  if field == nil then return false end
  if field == "*" then return true end
  if type(field) ~= "table" then return false end
  local want = principal_key(who)
  local want_account = arn.account_of(who)
  for _, entry in ipairs(as_list(field.AWS)) do
    local have = principal_key(entry)
    if have == "*" or have == want then return true end
    if opts and opts.delegate and have:find("^root:") and have:sub(6) == want_account then return true end
  end
  return false
end

local function wildcard_pattern(glob)
  return "^" .. glob:lower():gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".") .. "$"
end

--- policy.action_matches(pattern, action) -> boolean: IAM-style, case-insensitive, * and ? wildcards.
function M.action_matches(pattern, action)
  if type(pattern) ~= "string" or type(action) ~= "string" then return false end
  return action:lower():find(wildcard_pattern(pattern)) ~= nil
end

--- policy.statement_covers(stmt, action) -> boolean: Action (or NotAction) includes the action.
function M.statement_covers(stmt, action)
  if stmt.NotAction ~= nil then
    for _, p in ipairs(as_list(stmt.NotAction)) do
      if M.action_matches(p, action) then return false end
    end
    return true
  end
  for _, p in ipairs(as_list(stmt.Action)) do
    if M.action_matches(p, action) then return true end
  end
  return false
end

local function has_condition(stmt)
  return type(stmt.Condition) == "table" and next(stmt.Condition) ~= nil
end

local function resource_covers(stmt, resource)
  if stmt.NotResource ~= nil then
    for _, r in ipairs(as_list(stmt.NotResource)) do
      if M.action_matches(r, resource or "*") then return false end
    end
    return true
  end
  for _, r in ipairs(as_list(stmt.Resource)) do
    if r == "*" or (resource and M.action_matches(r, resource)) then return true end
  end
  return false
end

local function principal_of(stmt, who, opts)
  if stmt.NotPrincipal ~= nil then return not M.principal_matches(stmt.NotPrincipal, who, opts) end
  return M.principal_matches(stmt.Principal, who, opts)
end

--- policy.allows(doc, who, actions[, {resource=, delegate=}]) -> ok, missing.
--- ok when every action is allowed to `who` by a statement without conditions and no Deny statement
--- (conditional or not, to stay on the safe side) names it. missing lists the actions that are not.
function M.allows(doc, who, actions, opts)
  opts = opts or {}
  local missing = {}
  for _, action in ipairs(actions) do
    local allowed, denied = false, false
    for _, s in ipairs(M.statements(doc)) do
      if principal_of(s, who, opts) and M.statement_covers(s, action) and resource_covers(s, opts.resource) then
        if s.Effect == "Deny" then denied = true
        elseif s.Effect == "Allow" and not has_condition(s) then allowed = true end
      end
    end
    if denied or not allowed then missing[#missing + 1] = action end
  end
  return #missing == 0, missing
end

-- Reads a Bool condition value the way IAM does: true, "true", or a list containing one.
local function condition_is_true(v)
  for _, x in ipairs(as_list(v)) do
    if x == true or (type(x) == "string" and x:lower() == "true") then return true end
  end
  return false
end

--- policy.grant_for_aws_resource_only(doc, who) -> list of {sid=, index=}: Allow statements that give
--- `who` kms:CreateGrant only under Bool kms:GrantIsForAWSResource = true, the condition the KMS console
--- adds. Such a statement lets AWS services create grants for the caller, but a direct CreateGrant call
--- (what the Auto Scaling fix needs) is refused.
function M.grant_for_aws_resource_only(doc, who)
  local found = {}
  for i, s in ipairs(M.statements(doc)) do
    if s.Effect == "Allow" and principal_of(s, who, {}) and M.statement_covers(s, "kms:CreateGrant")
       and type(s.Condition) == "table" then
      for op, block in pairs(s.Condition) do
        if type(op) == "string" and op:lower():find("bool$") and type(block) == "table" then
          for key, v in pairs(block) do
            if type(key) == "string" and key:lower() == "kms:grantisforawsresource" and condition_is_true(v) then
              found[#found + 1] = { sid = s.Sid, index = i }
            end
          end
        end
      end
    end
  end
  return found
end

--- policy.check_size(doc_or_text) -> bytes, or nil and a message when over policy.MAX_SIZE.
function M.check_size(doc)
  local text = type(doc) == "string" and doc or M.encode(doc)
  if #text > M.MAX_SIZE then
    return nil, string.format("key policy would be %d bytes; KMS allows at most %d", #text, M.MAX_SIZE)
  end
  return #text
end

-- What a key's owner needs to keep administering the key (the console's default administrator set).
M.ADMIN_ACTIONS = {
  "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
  "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
  "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
}

-- Concrete actions whose availability stands for each admin group in the check below.
local ADMIN_PROBES = {
  "kms:CreateGrant", "kms:DescribeKey", "kms:EnableKey", "kms:ListGrants", "kms:PutKeyPolicy",
  "kms:UpdateKeyDescription", "kms:RevokeGrant", "kms:DisableKey", "kms:GetKeyPolicy",
  "kms:DeleteAlias", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
}

--- policy.check_owner_admin(old_doc, new_doc, owner_account) -> true, or nil and a message.
--- Refuses a new policy that takes from the owner account's root any administrative action the old
--- policy gave it unconditionally, and one that leaves the root without kms:PutKeyPolicy at all
--- (the lockout the KMS safety check guards against).
function M.check_owner_admin(old_doc, new_doc, owner_account)
  local lost = {}
  for _, action in ipairs(ADMIN_PROBES) do
    local had = M.allows(old_doc, owner_account, { action })
    local has = M.allows(new_doc, owner_account, { action })
    if had and not has then lost[#lost + 1] = action end
  end
  if #lost > 0 then
    return nil, string.format("the new key policy removes administration of the key from account %s's root (%s)",
                              owner_account, table.concat(lost, ", "))
  end
  if not M.allows(new_doc, owner_account, { "kms:PutKeyPolicy" }) then
    local admins = {}
    for _, s in ipairs(M.statements(new_doc)) do
      if s.Effect == "Allow" and M.statement_covers(s, "kms:PutKeyPolicy") and not has_condition(s) then
        admins[#admins + 1] = s
      end
    end
    if #admins == 0 then
      return nil, "the new key policy lets nobody change it again (no unconditional kms:PutKeyPolicy)"
    end
  end
  return true
end

local function statement_key(s, i)
  if type(s.Sid) == "string" and s.Sid ~= "" then return "Sid " .. s.Sid end
  return "statement #" .. i .. " (no Sid)", canonical(s)
end

local function lines_of(s)
  local lines = {}
  for line in (s .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = line end
  return lines
end

--- policy.diff(old_doc, new_doc) -> {added={stmt...}, removed={stmt...}, changed={{sid=, old=, new=}},
--- unchanged=N, text=<readable lines with +/- prefixes, "" when equal>}. Statements pair up by Sid;
--- statements without a Sid pair up by their exact content.
function M.diff(old_doc, new_doc)
  local result = { added = {}, removed = {}, changed = {}, unchanged = 0 }
  local old_by, new_by = {}, {}
  local function index(doc, by)
    local order = {}
    for i, s in ipairs(doc and M.statements(doc) or {}) do
      local label, content = statement_key(s, i)
      local key = content and ("content " .. content) or label
      by[key] = { stmt = s, label = label }
      order[#order + 1] = key
    end
    return order
  end
  local old_order = index(old_doc, old_by)
  local new_order = index(new_doc, new_by)
  local text = {}
  local function show(prefix, stmt)
    for _, line in ipairs(lines_of(M.encode(stmt, { pretty = true }))) do text[#text + 1] = prefix .. line end
  end
  for _, key in ipairs(old_order) do
    local o, n = old_by[key], new_by[key]
    if not n then
      result.removed[#result.removed + 1] = o.stmt
      text[#text + 1] = "- removed " .. o.label
      show("-   ", o.stmt)
    elseif canonical(o.stmt) ~= canonical(n.stmt) then
      result.changed[#result.changed + 1] = { sid = o.stmt.Sid, old = o.stmt, new = n.stmt }
      text[#text + 1] = "~ changed " .. o.label
      local ol, nl = lines_of(M.encode(o.stmt, { pretty = true })), lines_of(M.encode(n.stmt, { pretty = true }))
      local seen_new = {}
      for _, l in ipairs(nl) do seen_new[l] = (seen_new[l] or 0) + 1 end
      local seen_old = {}
      for _, l in ipairs(ol) do seen_old[l] = (seen_old[l] or 0) + 1 end
      for _, l in ipairs(ol) do if not seen_new[l] then text[#text + 1] = "-   " .. l end end
      for _, l in ipairs(nl) do if not seen_old[l] then text[#text + 1] = "+   " .. l end end
    else
      result.unchanged = result.unchanged + 1
    end
  end
  for _, key in ipairs(new_order) do
    if not old_by[key] then
      local n = new_by[key]
      result.added[#result.added + 1] = n.stmt
      text[#text + 1] = "+ added " .. n.label
      show("+   ", n.stmt)
    end
  end
  result.text = table.concat(text, "\n")
  return result
end

return M
