-- args: recipe argument types: declaration checks, value conversion, and one-line usage errors.
local arn = require "luaws.core.arn"

local M = {}

local usage_mt = { __tostring = function(e) return e.message end, __name = "luaws.UsageError" }

--- args.usage_error(message) -> error table {code="InvalidArgument", message=, exit=2}.
function M.usage_error(message, code)
  return setmetatable({ code = code or "InvalidArgument", message = message, exit = 2 }, usage_mt)
end

local function quoted(v) return "'" .. tostring(v) .. "'" end

local function split_list(s)
  local items = {}
  for item in (s .. ","):gmatch("([^,]*),") do
    item = item:match("^%s*(.-)%s*$")
    if item ~= "" then items[#items + 1] = item end
  end
  return items
end

-- Each type: check(value, spec) -> converted value, or nil and a reason that completes
-- "--name: '<value>' <reason>"; example(spec) -> a value shown in generated examples.
M.types = {}

M.types.string = {
  describe = "text",
  check = function(v) return v end,
  example = function() return "VALUE" end,
}

M.types.integer = {
  describe = "whole number",
  check = function(v, spec)
    local n = math.tointeger(tonumber(v))
    if not n or not tostring(v):find("^%s*[-+]?%d+%s*$") then return nil, "is not a whole number" end
    if spec.min and n < spec.min then return nil, "is less than " .. spec.min end
    if spec.max and n > spec.max then return nil, "is more than " .. spec.max end
    return n
  end,
  example = function(spec) return tostring(spec.min or 1) end,
}

local TRUE = { ["true"] = true, yes = true, ["1"] = true, on = true }
local FALSE = { ["false"] = true, no = true, ["0"] = true, off = true }

M.types.boolean = {
  describe = "flag",
  flag = true,
  check = function(v)
    if type(v) == "boolean" then return v end
    local s = tostring(v):lower()
    if TRUE[s] then return true end
    if FALSE[s] then return false end
    return nil, "is not true or false"
  end,
  example = function() return nil end,
}

M.types.list = {
  describe = "comma-separated list",
  check = function(v, spec)
    local items = type(v) == "table" and v or split_list(tostring(v))
    if #items == 0 and spec.required then return nil, "is an empty list" end
    if spec.items then
      local item_type = M.types[spec.items]
      for i, item in ipairs(items) do
        local converted, why = item_type.check(item, spec)
        if converted == nil then return nil, string.format("has item %s that %s", quoted(item), why) end
        items[i] = converted
      end
    end
    if spec.values then
      for _, item in ipairs(items) do
        local ok = false
        for _, allowed in ipairs(spec.values) do if item == allowed then ok = true end end
        if not ok then
          return nil, string.format("has item %s, not one of %s", quoted(item), table.concat(spec.values, ", "))
        end
      end
    end
    return items
  end,
  example = function(spec)
    if spec.values then return spec.values[1] .. "," .. (spec.values[2] or spec.values[1]) end
    local item = spec.items and M.types[spec.items].example(spec) or "A"
    return item .. "," .. (spec.items and item or "B")
  end,
}

M.types.account_id = {
  describe = "12-digit account ID",
  check = function(v)
    if arn.is_account_id(v) then return v end
    return nil, "is not a 12-digit AWS account ID"
  end,
  example = function() return "111122223333" end,
}

M.types.arn = {
  describe = "ARN",
  check = function(v, spec)
    local parsed, why = arn.parse(v)
    if not parsed then
      return nil, "is not a valid ARN" .. (why:find("unknown partition") and " (unknown partition)" or "")
    end
    if spec.service and parsed.service ~= spec.service then
      return nil, string.format("is not a %s ARN", spec.service)
    end
    if spec.resource_type and parsed.resource_type ~= spec.resource_type then
      return nil, string.format("is not a %s %s ARN", spec.service or "", spec.resource_type):gsub("  ", " ")
    end
    return v
  end,
  example = function(spec)
    local service = spec.service or "iam"
    if service == "kms" then return "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" end
    if service == "iam" then return "arn:aws:iam::111122223333:" .. (spec.resource_type or "role") .. "/NAME" end
    return string.format("arn:aws:%s:us-east-1:111122223333:%s/NAME", service, spec.resource_type or "RESOURCE")
  end,
}

M.types.kms_key = {
  describe = "KMS key ID, alias or ARN",
  check = function(v, spec)
    local key = arn.kms_key(v)
    if not key then return nil, "is not a KMS key ID, alias name or key ARN" end
    if spec.arn_only and key.kind ~= "key_arn" then
      return nil, "is not a KMS key ARN (a key in another account needs its full ARN)"
    end
    return v
  end,
  example = function() return "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" end,
}

M.types.ami_id = {
  describe = "AMI ID",
  check = function(v)
    if arn.is_ami_id(v) then return v end
    return nil, "is not an AMI ID (ami- and 8 or 17 hex digits)"
  end,
  example = function() return "ami-0123456789abcdef0" end,
}

M.types.region = {
  describe = "AWS region",
  check = function(v)
    local partition, why = arn.region_partition(v)
    if partition then return v end
    return nil, why:gsub("^'[^']*' ", "")
  end,
  example = function() return "us-east-1" end,
}

M.types.profile = {
  describe = "AWS profile name",
  check = function(v)
    if not tostring(v):find("^[%w%._%-@+=,/]+$") then return nil, "is not a profile name" end
    return v
  end,
  example = function(spec) return spec.name and spec.name:gsub("%-profile$", ""):upper() or "PROFILE" end,
}

M.types.path = {
  describe = "file path",
  check = function(v, spec)
    if v == "" then return nil, "is an empty path" end
    if spec.must_exist then
      local f = io.open(v, "r")
      if not f then return nil, "does not exist or cannot be read" end
      f:close()
    end
    return v
  end,
  example = function() return "FILE" end,
}

M.types.enum = {
  describe = "one of",
  check = function(v, spec)
    for _, allowed in ipairs(spec.values) do
      if v == allowed then return v end
    end
    return nil, "is not one of " .. table.concat(spec.values, ", ")
  end,
  example = function(spec) return spec.values[1] end,
}

--- args.describe_type(spec) -> a short type name for help tables, e.g. "enum(text|json)".
function M.describe_type(spec)
  if spec.type == "enum" then return "enum(" .. table.concat(spec.values, "|") .. ")" end
  if spec.type == "list" and spec.items then return "list of " .. spec.items end
  if spec.type == "boolean" then return "flag" end
  if spec.type == "arn" and (spec.service or spec.resource_type) then
    return "arn(" .. (spec.service or "*") .. (spec.resource_type and (":" .. spec.resource_type) or "") .. ")"
  end
  return spec.type
end

-- Names the CLI keeps for itself; a recipe argument with one of these would never be reached.
M.RESERVED = { profile = true, region = true, debug = true, output = true, apply = true, help = true,
               ["endpoint-url"] = true }

local SPEC_FIELDS = { name = "string", type = "string", help = "string", required = "boolean",
                      values = "table", service = "string", resource_type = "string", items = "string",
                      min = "number", max = "number", must_exist = "boolean", arn_only = "boolean",
                      example = "string", default = true }

--- args.check_spec(spec, where) -> spec, normalised (enum(a,b) shorthand expanded). Raises a
--- message "<where>: ..." naming the field that is missing or badly typed.
function M.check_spec(spec, where)
  if type(spec) ~= "table" then error(where .. " must be a table", 0) end
  local label = where .. (type(spec.name) == "string" and (" ('" .. spec.name .. "')") or "")
  for k, v in pairs(spec) do
    local want = SPEC_FIELDS[k]
    if not want then error(string.format("%s: unknown field '%s'", label, tostring(k)), 0) end
    if want ~= true and type(v) ~= want then
      error(string.format("%s: field '%s' must be a %s (got %s)", label, k, want, type(v)), 0)
    end
  end
  if type(spec.name) ~= "string" then error(where .. ": missing field 'name' (a string)", 0) end
  if not spec.name:find("^[a-z][a-z0-9%-]*$") then
    error(string.format("%s: name must be lowercase words joined by '-'", label), 0)
  end
  if M.RESERVED[spec.name] then
    error(string.format("%s: name clashes with the global option --%s", label, spec.name), 0)
  end
  if type(spec.help) ~= "string" or spec.help == "" then
    error(label .. ": missing field 'help' (a string)", 0)
  end
  if type(spec.type) ~= "string" then error(label .. ": missing field 'type' (a string)", 0) end
  local enum_values = spec.type:match("^enum%((.*)%)$")
  if enum_values then
    spec.type, spec.values = "enum", split_list(enum_values:gsub("|", ","))
  end
  if not M.types[spec.type] then
    error(string.format("%s: unknown type '%s'", label, spec.type), 0)
  end
  if spec.type == "enum" then
    if type(spec.values) ~= "table" or #spec.values == 0 then
      error(label .. ": an enum needs field 'values' (a list of strings)", 0)
    end
  end
  if spec.items and (not M.types[spec.items] or spec.items == "list" or spec.items == "boolean") then
    error(string.format("%s: field 'items' names unusable type '%s'", label, spec.items), 0)
  end
  if spec.required and spec.default ~= nil then
    error(label .. ": a required argument cannot have a default", 0)
  end
  if spec.default ~= nil then
    local raw = spec.default
    if type(raw) == "table" then raw = table.concat(raw, ",") end
    local ok, why = M.types[spec.type].check(raw, spec)
    if ok == nil then
      error(string.format("%s: default %s %s", label, quoted(raw), why), 0)
    end
  end
  return spec
end

--- args.convert(spec, raw) -> value; raises a usage error "--name: 'raw' <reason>" (exit 2).
function M.convert(spec, raw)
  local value, why = M.types[spec.type].check(raw, spec)
  if value == nil then
    error(M.usage_error(string.format("--%s: %s %s", spec.name, quoted(raw), why)), 0)
  end
  return value
end

--- args.resolve(specs, given) -> values keyed by argument name (and the same values under
--- snake_case names). given maps names to raw strings (or true for bare flags, lists for repeats).
--- Applies defaults; a missing required argument raises a usage error.
function M.resolve(specs, given, recipe_name)
  local values = {}
  for _, spec in ipairs(specs) do
    local raw = given[spec.name]
    local value
    if raw ~= nil then
      value = M.convert(spec, raw)
    elseif spec.default ~= nil then
      local d = spec.default
      if type(d) == "table" then d = table.concat(d, ",") end
      value = M.convert(spec, d)
    elseif spec.required then
      error(M.usage_error(string.format("%s needs --%s (%s)", recipe_name or "this recipe", spec.name, spec.help),
                          "MissingArgument"), 0)
    elseif spec.type == "boolean" then
      value = false
    end
    values[spec.name] = value
    values[(spec.name:gsub("%-", "_"))] = value
  end
  return values
end

--- args.distance(a, b) -> Levenshtein edit distance, for "did you mean" suggestions.
function M.distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

--- args.suggest(word, candidates) -> list of close candidates, best first (at most three).
function M.suggest(word, candidates)
  local scored = {}
  for _, c in ipairs(candidates) do
    local d = M.distance(word:lower(), c:lower())
    local limit = math.max(2, #word // 3)
    if d <= limit or (#word >= 3 and (c:find(word, 1, true) or word:find(c, 1, true))) then
      scored[#scored + 1] = { c = c, d = d }
    end
  end
  table.sort(scored, function(x, y) if x.d ~= y.d then return x.d < y.d end return x.c < y.c end)
  local out = {}
  for i = 1, math.min(3, #scored) do out[i] = scored[i].c end
  return out
end

--- args.did_you_mean(word, candidates, prefix) -> " (did you mean X?)" or "".
function M.did_you_mean(word, candidates, prefix)
  local s = M.suggest(word, candidates)
  if #s == 0 then return "" end
  for i, c in ipairs(s) do s[i] = (prefix or "") .. c end
  return " (did you mean " .. table.concat(s, " or ") .. "?)"
end

return M
