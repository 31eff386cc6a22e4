-- policy: KMS key policy documents: lossless JSON, merge by Sid, principal/action checks, diffs.
local arn = require "luaws.core.arn"

local M = {}

local cjson_ok, cjson = pcall(require, "cjson")
local cjson_null = cjson_ok and cjson.null or nil

M.MAX_SIZE = 32768   -- bytes; PutKeyPolicy refuses larger documents
M.null = setmetatable({}, { __name = "luaws.json.null", __tostring = function() return "null" end })

-- Arrays and objects carry these metatables after decoding so that an empty array stays an array
-- and an empty object stays an object when the document is written back.
local array_mt = { __name = "luaws.json.array" }
local object_mt = { __name = "luaws.json.object" }
M.array_mt, M.object_mt = array_mt, object_mt

--- policy.array(t) / policy.object(t) -> t, marked so the encoder keeps its JSON kind.
function M.array(t) return setmetatable(t or {}, array_mt) end
function M.object(t) return setmetatable(t or {}, object_mt) end

local function json_error(text, pos, what)
  local line = select(2, text:sub(1, pos):gsub("\n", "")) + 1
  error({ code = "MalformedPolicyDocument",
          message = string.format("invalid JSON at line %d (byte %d): %s", line, pos, what) }, 0)
end

local escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local function utf8_of(code) return utf8.char(code) end

-- A recursive-descent decoder. cjson 2.1 cannot tell [] from {} and turns integers into floats;
-- a key policy must come back byte-for-byte equivalent, so we decode it ourselves.
local function decode_json(text)
  local pos = 1
  local function skip()
    pos = text:find("[^ \t\r\n]", pos) or #text + 1
  end
  local value
  local function str()
    local parts = {}
    pos = pos + 1
    while true do
      local s, e, chunk = text:find('^([^"\\%c]*)', pos)
      if s then parts[#parts + 1] = chunk; pos = e + 1 end
      local c = text:sub(pos, pos)
      if c == '"' then pos = pos + 1; return table.concat(parts) end
      if c == "\\" then
        local n = text:sub(pos + 1, pos + 1)
        if escapes[n] then
          parts[#parts + 1] = escapes[n]; pos = pos + 2
        elseif n == "u" then
          local hex = text:match("^%x%x%x%x", pos + 2)
          if not hex then json_error(text, pos, "bad \\u escape") end
          local code = tonumber(hex, 16)
          pos = pos + 6
          if code >= 0xD800 and code <= 0xDBFF then
            local low = text:match("^\\u(%x%x%x%x)", pos)
            local lc = low and tonumber(low, 16)
            if not lc or lc < 0xDC00 or lc > 0xDFFF then json_error(text, pos, "lone surrogate") end
            code = 0x10000 + (code - 0xD800) * 0x400 + (lc - 0xDC00)
            pos = pos + 6
          end
          parts[#parts + 1] = utf8_of(code)
        else
          json_error(text, pos, "bad escape")
        end
      elseif c == "" then
        json_error(text, pos, "unterminated string")
      else
        json_error(text, pos, "control character in string")
      end
    end
  end
  function value()
    skip()
    local c = text:sub(pos, pos)
    if c == "{" then
      local obj = setmetatable({}, object_mt)
      pos = pos + 1
      skip()
      if text:sub(pos, pos) == "}" then pos = pos + 1; return obj end
      while true do
        skip()
        if text:sub(pos, pos) ~= '"' then json_error(text, pos, "expected a string key") end
        local k = str()
        skip()
        if text:sub(pos, pos) ~= ":" then json_error(text, pos, "expected ':'") end
        pos = pos + 1
        obj[k] = value()
        skip()
        local d = text:sub(pos, pos)
        pos = pos + 1
        if d == "}" then return obj end
        if d ~= "," then json_error(text, pos - 1, "expected ',' or '}'") end
      end
    elseif c == "[" then
      local arr = setmetatable({}, array_mt)
      pos = pos + 1
      skip()
      if text:sub(pos, pos) == "]" then pos = pos + 1; return arr end
      while true do
        arr[#arr + 1] = value()
        skip()
        local d = text:sub(pos, pos)
        pos = pos + 1
        if d == "]" then return arr end
        if d ~= "," then json_error(text, pos - 1, "expected ',' or ']'") end
      end
    elseif c == '"' then
      return str()
    elseif text:find("^true", pos) then pos = pos + 4; return true
    elseif text:find("^false", pos) then pos = pos + 5; return false
    elseif text:find("^null", pos) then pos = pos + 4; return M.null
    else
      local num = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if not num or num == "" or num == "-" then json_error(text, pos, "unexpected character") end
      pos = pos + #num
      local n = tonumber(num)
      if not n then json_error(text, pos, "malformed number") end
      -- 1e999 would decode to inf, which no JSON (and so no write-back) can hold.
      if n == math.huge or n == -math.huge then json_error(text, pos, "number out of range") end
      if num:find("^-?%d+$") then return math.tointeger(n) or n end
      return n + 0.0
    end
  end
  local ok, result = pcall(value)
  if not ok then error(result, 0) end
  skip()
  if pos <= #text then json_error(text, pos, "trailing characters") end
  return result
end

--- policy.json_decode(text) -> value; raises {code="MalformedPolicyDocument", message=} on bad JSON.
--- Arrays/objects are marked (policy.array_mt/object_mt), integers stay integers, null is policy.null.
function M.json_decode(text)
  if type(text) ~= "string" then
    error({ code = "MalformedPolicyDocument", message = "policy text must be a string" }, 2)
  end
  return decode_json(text)
end

local function is_sequence(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do if t[i] == nil then return false end end
  return n > 0, n
end

local function format_number(n)
  if math.type(n) == "integer" then return string.format("%d", n) end
  if n ~= n or n == math.huge or n == -math.huge then error("cannot encode " .. tostring(n) .. " in JSON", 0) end
  if n == math.floor(n) and math.abs(n) < 2 ^ 53 then return string.format("%.1f", n) end
  for digits = 15, 17 do
    local s = string.format("%." .. digits .. "g", n)
    if tonumber(s) == n then return s end
  end
  return string.format("%.17g", n)
end

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
                    ["\b"] = "\\b", ["\f"] = "\\f" }
    return named[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

-- The conventional order of policy members first, then everything else alphabetically.
local POLICY_KEY_ORDER = { "Version", "Id", "Statement", "Sid", "Effect", "Principal", "NotPrincipal",
                           "Action", "NotAction", "Resource", "NotResource", "Condition" }

local function key_sorter(order)
  local rank = {}
  for i, k in ipairs(order or {}) do rank[k] = i end
  return function(a, b)
    local ra, rb = rank[a], rank[b]
    if ra and rb then return ra < rb end
    if ra or rb then return ra ~= nil end
    return a < b
  end
end

--- policy.json_encode(value[, {indent=" "|nil, key_order={...}}]) -> string. Deterministic: object
--- keys sorted (key_order first), marked arrays/objects keep their kind, plain empty tables are {}.
function M.json_encode(value, opts)
  opts = opts or {}
  local indent = opts.indent
  local sorter = key_sorter(opts.key_order)
  local out = {}
  local function emit(v, depth, seen)
    local t = type(v)
    if v == M.null or (cjson_null ~= nil and v == cjson_null) then
      out[#out + 1] = "null"
    elseif t == "string" then out[#out + 1] = quote(v)
    elseif t == "number" then out[#out + 1] = format_number(v)
    elseif t == "boolean" then out[#out + 1] = tostring(v)
    elseif t == "table" then
      if seen[v] then error("cannot encode a cyclic table in JSON", 0) end
      seen[v] = true
      local mt = getmetatable(v)
      local seq, n = is_sequence(v)
      local nl = indent and ("\n" .. indent:rep(depth + 1)) or ""
      local close_nl = indent and ("\n" .. indent:rep(depth)) or ""
      if mt == array_mt or (mt ~= object_mt and seq) then
        if (n or 0) == 0 and mt == array_mt then n = #v end
        if n == 0 then out[#out + 1] = "[]"
        else
          out[#out + 1] = "["
          for i = 1, n do
            out[#out + 1] = (i > 1 and "," or "") .. nl
            emit(v[i], depth + 1, seen)
          end
          out[#out + 1] = close_nl .. "]"
        end
      else
        local keys = {}
        for k in pairs(v) do
          if type(k) ~= "string" then
            if type(k) ~= "number" then error("cannot encode a " .. type(k) .. " key in JSON", 0) end
            k = tostring(k)
          end
          keys[#keys + 1] = k
        end
        table.sort(keys, sorter)
        if #keys == 0 then out[#out + 1] = "{}"
        else
          out[#out + 1] = "{"
          for i, k in ipairs(keys) do
            out[#out + 1] = (i > 1 and "," or "") .. nl .. quote(k) .. (indent and ": " or ":")
            local item = v[k]
            if item == nil then item = v[tonumber(k)] end
            emit(item, depth + 1, seen)
          end
          out[#out + 1] = close_nl .. "}"
        end
      end
      seen[v] = nil
    else
      error("cannot encode a " .. t .. " in JSON", 0)
    end
  end
  emit(value, 0, {})
  return table.concat(out)
end

local function policy_error(message)
  return { code = "MalformedPolicyDocument", message = message }
end

--- policy.decode(text) -> document. Raises {code="MalformedPolicyDocument", message=} when the text
--- is not JSON or not a policy (an object whose Statement is a statement or a list of them).
function M.decode(text)
  local ok, doc = pcall(decode_json, text)
  if not ok then
    local e = type(doc) == "table" and doc or policy_error(tostring(doc))
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
function M.copy(v)
  if type(v) ~= "table" or v == M.null then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = M.copy(x) end
  return setmetatable(c, getmetatable(v))
end

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
local function normalize(v)
  if type(v) ~= "table" or v == M.null then return v end
  local mt = getmetatable(v)
  local out = {}
  for k, x in pairs(v) do out[k] = normalize(x) end
  if mt == array_mt or mt == object_mt then return setmetatable(out, mt) end
  return setmetatable(out, is_sequence(v) and array_mt or object_mt)
end
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
