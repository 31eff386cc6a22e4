-- endpoints.rules: compiles an endpoint rule set (endpoint-rule-set-1, as a plain Lua table) into
-- closures once, then evaluates it for a table of parameters the way botocore's EndpointProvider
-- does: parameter defaults and checks, conditions in order, the first endpoint or error wins.
local functions = require "luaws.sdk.endpoints.functions"

local M = {}

local fail = functions.error

-- A JSON null decoded by cjson is a light userdata; rule sets never mean anything by it.
local function is_null(v)
  return v == nil or type(v) == "userdata"
end

local compile_value

-- "{Region}.{PartitionResult#dnsSuffix}" -> a function(scope) building the string; plain
-- strings (no {name} reference) stay constants. "{{" and "}}" are literal braces.
local function compile_template(s)
  if not s:find("{[%a#]+}") then
    return function() return s end
  end
  local parts, refs = {}, {}
  local pos = 1
  local literal = {}
  while pos <= #s do
    local c = s:sub(pos, pos)
    local two = s:sub(pos, pos + 1)
    if two == "{{" or two == "}}" then
      literal[#literal + 1] = c
      pos = pos + 2
    elseif c == "{" then
      local close = s:find("}", pos, true)
      if not close then fail("unterminated template reference in " .. s) end
      parts[#parts + 1] = table.concat(literal)
      literal = {}
      local path = {}
      for name in s:sub(pos + 1, close - 1):gmatch("[^#]+") do path[#path + 1] = name end
      refs[#parts] = path
      pos = close + 1
    else
      literal[#literal + 1] = c
      pos = pos + 1
    end
  end
  parts[#parts + 1] = table.concat(literal)
  local n = #parts
  return function(scope)
    local out = {}
    for i = 1, n do
      out[#out + 1] = parts[i]
      local path = refs[i]
      if path then
        local v = scope[path[1]]
        for k = 2, #path do
          if type(v) ~= "table" then
            fail("template reference {" .. table.concat(path, "#") .. "} is not set")
          end
          v = v[path[k]]
        end
        if v == nil then fail("template reference {" .. table.concat(path, "#") .. "} is not set") end
        out[#out + 1] = tostring(v)
      end
    end
    return table.concat(out)
  end
end

-- Compiles a function call {fn=, argv=, assign=} to function(scope) -> value.
local function compile_call(node)
  local name = node.fn
  local fn = functions[name]
  if not fn then fail("unknown endpoint rule function " .. tostring(name)) end
  local argv = node.argv or {}
  local n = #argv
  local args = {}
  for i = 1, n do args[i] = compile_value(argv[i]) end
  local call
  if name == "getAttr" and type(argv[2]) == "string" then
    local a1, path = args[1], argv[2]
    call = function(scope) return fn(a1(scope), path) end
  elseif n == 1 then
    local a1 = args[1]
    call = function(scope) return fn(a1(scope)) end
  elseif n == 2 then
    local a1, a2 = args[1], args[2]
    call = function(scope) return fn(a1(scope), a2(scope)) end
  else
    call = function(scope)
      local values = {}
      for i = 1, n do values[i] = args[i](scope) end
      return fn(table.unpack(values, 1, n))
    end
  end
  local assign = node.assign
  if assign then
    return function(scope)
      local v = call(scope)
      scope[assign] = v
      return v
    end
  end
  return call
end

-- Any rule-set value: a function call, a {ref=}, a template string, or a literal.
function compile_value(v)
  if type(v) == "table" then
    if v.fn then return compile_call(v) end
    if v.ref then
      local name = v.ref
      return function(scope) return scope[name] end
    end
    return function() return v end
  elseif type(v) == "string" then
    return compile_template(v)
  end
  if is_null(v) then return function() return nil end end
  return function() return v end
end

-- properties: nested records/arrays whose strings are templates.
local function compile_properties(p)
  if type(p) == "string" then return compile_template(p) end
  if type(p) ~= "table" then return function() return p end end
  local keys, values = {}, {}
  for k, v in pairs(p) do
    keys[#keys + 1] = k
    values[#values + 1] = compile_properties(v)
  end
  return function(scope)
    local out = {}
    for i = 1, #keys do out[keys[i]] = values[i](scope) end
    return out
  end
end

local function compile_conditions(conditions)
  local conds = {}
  for i, c in ipairs(conditions or {}) do conds[i] = compile_call(c) end
  local n = #conds
  if n == 0 then return function() return true end end
  return function(scope)
    for i = 1, n do
      local v = conds[i](scope)
      if v == nil or v == false then return false end
    end
    return true
  end
end

local compile_rules

-- A rule -> function(scope) returning an endpoint table, or nil when its conditions fail;
-- error rules raise. Assignments go into the one scope table: rule sets only read a name after
-- the condition that assigns it on the same path, so siblings never see each other's values.
local function compile_rule(rule)
  local conditions = compile_conditions(rule.conditions)
  local kind = rule.type
  if kind == "tree" then
    local children = compile_rules(rule.rules or {})
    return function(scope)
      if conditions(scope) then return children(scope) end
      return nil
    end
  elseif kind == "error" then
    local message = compile_value(rule.error)
    return function(scope)
      if conditions(scope) then fail(tostring(message(scope))) end
      return nil
    end
  elseif kind == "endpoint" then
    local ep = rule.endpoint or {}
    local url = compile_value(ep.url)
    local properties = compile_properties(is_null(ep.properties) and {} or ep.properties)
    local header_names, header_values = {}, {}
    for name, list in pairs(is_null(ep.headers) and {} or ep.headers) do
      local compiled = {}
      for i, item in ipairs(list) do compiled[i] = compile_value(item) end
      header_names[#header_names + 1] = name
      header_values[#header_values + 1] = compiled
    end
    return function(scope)
      if not conditions(scope) then return nil end
      local headers = {}
      for i = 1, #header_names do
        local values = {}
        for k, f in ipairs(header_values[i]) do values[k] = f(scope) end
        headers[header_names[i]] = values
      end
      return { url = url(scope), properties = properties(scope), headers = headers }
    end
  end
  fail("unknown endpoint rule type " .. tostring(kind))
end

-- Rules are compiled when evaluation first reaches them: a call compiles only its path through
-- the tree (S3's rule set is ~130 KB; a bucket call touches a small part of it).
function compile_rules(list)
  local compiled = {}
  local n = #list
  return function(scope)
    for i = 1, n do
      local rule = compiled[i]
      if not rule then
        rule = compile_rule(list[i])
        compiled[i] = rule
      end
      local result = rule(scope)
      if result then return result end
    end
    return nil
  end
end

local TYPES = { string = "string", boolean = "boolean", stringarray = "table" }

--- rules.compile(ruleset) -> evaluate(params) for a decoded endpoint-rule-set-1 table (rules
--- are turned into closures as evaluation first reaches them; unknown functions or rule types
--- raise then).
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
  local root = compile_rules(ruleset.rules or {})
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
    local result = root(scope)
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
