-- endpoints.rules: evaluates an endpoint rule set (endpoint-rule-set-1, as a plain Lua table) for
-- a table of parameters the way botocore's EndpointProvider does: parameter defaults and checks,
-- conditions in order, the first endpoint or error wins.
local functions = require "luaws.sdk.endpoints.functions"

local M = {}

local fail = functions.error
local find, sub, concat, unpack = string.find, string.sub, table.concat, table.unpack

-- The rule set is walked as it is, not compiled: a process resolves a handful of endpoints (the
-- resolver caches each answer), so building closures for S3's ~130 KB of rules cost more than
-- the one walk they would have saved.

-- A JSON null decoded by cjson is a light userdata; rule sets never mean anything by it.
local function is_null(v)
  return v == nil or type(v) == "userdata"
end

-- The value of a template reference "Name" or "Name#attr#attr" in scope.
local function reference(s, scope)
  local hash = find(s, "#", 1, true)
  if not hash then
    local v = scope[s]
    if v == nil then fail("template reference {" .. s .. "} is not set") end
    return v
  end
  local v = scope[sub(s, 1, hash - 1)]
  local pos = hash + 1
  while true do
    if type(v) ~= "table" then fail("template reference {" .. s .. "} is not set") end
    local next_hash = find(s, "#", pos, true)
    v = v[sub(s, pos, (next_hash or 0) - 1)]
    if not next_hash then break end
    pos = next_hash + 1
  end
  if v == nil then fail("template reference {" .. s .. "} is not set") end
  return v
end

-- Strings of the rule sets seen to hold no {name} reference: most arguments ("aws-global",
-- "--x-s3") are read on every evaluation, and the pattern search costs more than the lookup.
local plain_strings = {}

-- "{Region}.{PartitionResult#dnsSuffix}" expanded in scope; a string with no {name} reference
-- is used as it is. "{{" and "}}" are literal braces.
local function expand(s, scope)
  if plain_strings[s] then return s end
  if not find(s, "{[%a#]+}") then
    plain_strings[s] = true
    return s
  end
  local out, pos = {}, 1
  while true do
    local brace = find(s, "[{}]", pos)
    if not brace then
      out[#out + 1] = sub(s, pos)
      break
    end
    out[#out + 1] = sub(s, pos, brace - 1)
    local c = sub(s, brace, brace)
    if sub(s, brace + 1, brace + 1) == c then      -- "{{" or "}}"
      out[#out + 1] = c
      pos = brace + 2
    elseif c == "{" then
      local close = find(s, "}", brace, true)
      if not close then fail("unterminated template reference in " .. s) end
      out[#out + 1] = tostring(reference(sub(s, brace + 1, close - 1), scope))
      pos = close + 1
    else
      out[#out + 1] = c
      pos = brace + 1
    end
  end
  return concat(out)
end

local value_of

-- A function call {fn=, argv=, assign=}: its value, also stored in scope under assign.
local function call(node, scope)
  local name = node.fn
  local fn = functions[name]
  if not fn then fail("unknown endpoint rule function " .. tostring(name)) end
  local argv = node.argv or {}
  local n = #argv
  local v
  if name == "getAttr" and type(argv[2]) == "string" then
    v = fn(value_of(argv[1], scope), argv[2])    -- the path is not a template
  elseif n == 1 then
    v = fn(value_of(argv[1], scope))
  elseif n == 2 then
    v = fn(value_of(argv[1], scope), value_of(argv[2], scope))
  else
    local values = {}
    for i = 1, n do values[i] = value_of(argv[i], scope) end
    v = fn(unpack(values, 1, n))
  end
  local assign = node.assign
  if assign then scope[assign] = v end
  return v
end

-- Any rule-set value: a function call, a {ref=}, a template string, or a literal.
function value_of(v, scope)
  local kind = type(v)
  if kind == "string" then return expand(v, scope) end
  if kind == "table" then
    if v.fn then return call(v, scope) end
    if v.ref then return scope[v.ref] end
    return v
  end
  if is_null(v) then return nil end
  return v
end

-- properties: nested records/arrays whose strings are templates.
local function properties_of(p, scope)
  if type(p) == "string" then return expand(p, scope) end
  if type(p) ~= "table" then return p end
  local out = {}
  for k, v in pairs(p) do out[k] = properties_of(v, scope) end
  return out
end

local function conditions_hold(conditions, scope)
  if not conditions then return true end
  for i = 1, #conditions do
    local v = call(conditions[i], scope)
    if v == nil or v == false then return false end
  end
  return true
end

local function endpoint_of(ep, scope)
  local headers = {}
  for name, list in pairs(is_null(ep.headers) and {} or ep.headers) do
    local values = {}
    for k, item in ipairs(list) do values[k] = value_of(item, scope) end
    headers[name] = values
  end
  local properties = is_null(ep.properties) and {} or ep.properties
  return { url = value_of(ep.url, scope), properties = properties_of(properties, scope), headers = headers }
end

-- The first rule of list that yields an endpoint (nil when none does); error rules raise.
-- Assignments go into the one scope table: rule sets only read a name after the condition that
-- assigns it on the same path, so siblings never see each other's values.
local function first_match(list, scope)
  for i = 1, #list do
    local rule = list[i]
    local kind = rule.type
    if kind ~= "tree" and kind ~= "error" and kind ~= "endpoint" then
      fail("unknown endpoint rule type " .. tostring(kind))
    end
    if conditions_hold(rule.conditions, scope) then
      local result
      if kind == "tree" then
        result = first_match(rule.rules or {}, scope)
      elseif kind == "error" then
        fail(tostring(value_of(rule.error, scope)))
      else
        result = endpoint_of(rule.endpoint or {}, scope)
      end
      if result then return result end
    end
  end
  return nil
end

local TYPES = { string = "string", boolean = "boolean", stringarray = "table" }

--- rules.compile(ruleset) -> evaluate(params) for a decoded endpoint-rule-set-1 table (the
--- parameter declarations are checked now; rules when evaluation reaches them, so unknown
--- functions or rule types raise then).
--- evaluate(params) -> {url=, properties=, headers={name={values}}} for params (a name -> value
--- table; not modified). Applies the rule set's defaults, checks types and required parameters,
--- and raises an error table {code="EndpointResolutionError", message=} when an error rule
--- matches or no rule does.
function M.compile(ruleset)
  local specs = {}
  for name, spec in pairs(ruleset.parameters or {}) do
    local expected = TYPES[tostring(spec.type):lower()]
    if not expected then fail("unknown endpoint parameter type " .. tostring(spec.type)) end
    local default = spec.default
    if is_null(default) then default = nil end  -- (a default of false is kept)
    specs[#specs + 1] = { name = name, type = expected, default = default, required = spec.required == true }
  end
  table.sort(specs, function(a, b) return a.name < b.name end)
  local rules = ruleset.rules or {}
  return function(params)
    local scope = {}
    for _, spec in ipairs(specs) do
      local v = params[spec.name]
      if v == nil then
        v = spec.default
        if v == nil and spec.required then
          fail("Cannot find value for required parameter " .. spec.name)
        end
      elseif type(v) ~= spec.type then
        fail(string.format("Value (%s) is the wrong type. Must be %s.", spec.name, spec.type))
      end
      scope[spec.name] = v
    end
    local result = first_match(rules, scope)
    if not result then
      local lines = {}
      for _, spec in ipairs(specs) do
        if scope[spec.name] ~= nil then
          lines[#lines + 1] = spec.name .. ": " .. tostring(scope[spec.name])
        end
      end
      fail("No endpoint found for parameters:\n" .. table.concat(lines, "\n"))
    end
    return result
  end
end

return M
