-- core.jmespath.functions: the JMESPath built-in functions, type-checked as jmespath.py checks them.
local errors = require "luaws.core.errors"
local value = require "luaws.core.jmespath.value"

local M = {}

local NULL, type_of, from_null = value.NULL, value.type_of, value.from_null
local array, len = value.array, value.len

local function raise(code, message)
  error(errors.new { code = code, message = message }, 0)
end

local function to_null(v) if v == nil then return NULL end return v end

local function type_error(name, v, expected)
  raise("JMESPathTypeError", string.format(
    "in function %s(), invalid type for value: %s, expected one of: %s, received: %q", name,
    value.encode(v), table.concat(expected, ", "), type_of(v)))
end

-- Checks one argument against jmespath.py's signature types ("array-number" = an array whose
-- elements are numbers; with several array subtypes the first element picks one).
local function check(name, v, types)
  if #types == 0 then return end
  local actual = type_of(v)
  local subtypes, allowed = {}, false
  for _, t in ipairs(types) do
    local base, sub = t:match("^(%a+)%-(%a+)$")
    base = base or t
    if sub then subtypes[#subtypes + 1] = sub end
    if base == actual then allowed = true end
  end
  if not allowed then type_error(name, v, types) end
  if actual ~= "array" or #subtypes == 0 then return end
  local n = len(v)
  if #subtypes == 1 then
    for i = 1, n do if type_of(v[i]) ~= subtypes[1] then type_error(name, v[i], types) end end
  elseif n > 0 then
    local first = type_of(v[1])
    local want
    for _, s in ipairs(subtypes) do if s == first then want = s end end
    if not want then type_error(name, v[1], types) end
    for i = 1, n do if type_of(v[i]) ~= want then type_error(name, v[i], types) end end
  end
end

local function list(v)  -- the elements of an array, NULL placeholders as nil, plus the count
  return v, len(v)
end

local function ulen(s) return utf8.len(s) or #s end

local function key_func(name, call, expref)
  return function(x)
    local r = from_null(call(expref, x))
    local t = type_of(r)
    if t ~= "number" and t ~= "string" then type_error(name, r, { "number", "string" }) end
    return r
  end
end

local function extreme(name, arr, expref, call, better)
  local a, n = list(arr)
  if n == 0 then return nil end
  local key = key_func(name, call, expref)
  local best, best_key = a[1], key(a[1])
  for i = 2, n do
    local k = key(a[i])
    if better(k, best_key) then best, best_key = a[i], k end
  end
  return from_null(best)
end

-- name -> {fn=function(call, args...), sig={types lists...}, variadic=bool}; `call(expref, v)`
-- evaluates an expression reference against v.
local F = {}

F.abs = { sig = { { "number" } }, fn = function(_, n) return math.abs(n) end }
F.avg = { sig = { { "array-number" } }, fn = function(_, a)
  local n = len(a)
  if n == 0 then return nil end
  local s = 0
  for i = 1, n do s = s + a[i] end
  return s / n
end }
F.ceil = { sig = { { "number" } }, fn = function(_, n) return math.ceil(n) end }
F.floor = { sig = { { "number" } }, fn = function(_, n) return math.floor(n) end }
F.contains = { sig = { { "array", "string" }, {} }, fn = function(_, subject, search)
  if type(subject) == "string" then
    if type(search) ~= "string" then type_error("contains", search, { "string" }) end
    return subject:find(search, 1, true) ~= nil
  end
  for i = 1, len(subject) do if value.equal(subject[i], search) then return true end end
  return false
end }
F.ends_with = { sig = { { "string" }, { "string" } }, fn = function(_, s, suffix)
  return suffix == "" or s:sub(-#suffix) == suffix
end }
F.starts_with = { sig = { { "string" }, { "string" } }, fn = function(_, s, prefix)
  return s:sub(1, #prefix) == prefix
end }
F.join = { sig = { { "string" }, { "array-string" } }, fn = function(_, sep, a)
  return table.concat(a, sep, 1, len(a))
end }
F.keys = { sig = { { "object" } }, fn = function(_, o) return array(value.keys(o)) end }
F.values = { sig = { { "object" } }, fn = function(_, o)
  local out = array()
  for i, k in ipairs(value.keys(o)) do out[i] = o[k] end
  return out
end }
F.length = { sig = { { "string", "array", "object" } }, fn = function(_, v)
  if type(v) == "string" then return ulen(v) end
  if type_of(v) == "array" then return len(v) end
  return #value.keys(v)
end }
F.map = { sig = { { "expref" }, { "array" } }, fn = function(call, expref, a)
  local out = array()
  for i = 1, len(a) do out[i] = to_null(call(expref, from_null(a[i]))) end
  return out
end }
local function minmax(less)
  return function(_, a)
    local n = len(a)
    if n == 0 then return nil end
    local best = a[1]
    for i = 2, n do if less(a[i], best) then best = a[i] end end
    return best
  end
end
F.max = { sig = { { "array-number", "array-string" } }, fn = minmax(function(x, y) return x > y end) }
F.min = { sig = { { "array-number", "array-string" } }, fn = minmax(function(x, y) return x < y end) }
F.max_by = { sig = { { "array" }, { "expref" } }, fn = function(call, a, e)
  return extreme("max_by", a, e, call, function(x, y) return x > y end)
end }
F.min_by = { sig = { { "array" }, { "expref" } }, fn = function(call, a, e)
  return extreme("min_by", a, e, call, function(x, y) return x < y end)
end }
F.merge = { sig = { { "object" } }, variadic = true, fn = function(_, ...)
  local out, keys, seen = {}, {}, {}
  for i = 1, select("#", ...) do
    local o = select(i, ...)
    for _, k in ipairs(value.keys(o)) do
      if not seen[k] then seen[k], keys[#keys + 1] = true, k end
      out[k] = o[k]
    end
  end
  return value.object(out, keys)
end }
F.not_null = { sig = { {} }, variadic = true, fn = function(_, ...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type_of(v) ~= "null" then return v end
  end
  return nil
end }
F.reverse = { sig = { { "array", "string" } }, fn = function(_, v)
  if type(v) == "string" then
    local cps = {}
    if not utf8.len(v) then return v:reverse() end
    for _, c in utf8.codes(v) do table.insert(cps, 1, utf8.char(c)) end
    return table.concat(cps)
  end
  local n, out = len(v), array()
  for i = 1, n do out[i] = v[n + 1 - i] end
  return out
end }
F.sort = { sig = { { "array-string", "array-number" } }, fn = function(_, a)
  local out = array()
  for i = 1, len(a) do out[i] = a[i] end
  table.sort(out)
  return out
end }
F.sort_by = { sig = { { "array" }, { "expref" } }, fn = function(call, a, e)
  local n = len(a)
  if n == 0 then return a end
  local first = from_null(call(e, from_null(a[1])))
  local required = type_of(first)
  if required ~= "number" and required ~= "string" then type_error("sort_by", a[1], { "string", "number" }) end
  local decorated = {}
  for i = 1, n do
    local k = from_null(call(e, from_null(a[i])))
    if type_of(k) ~= required then type_error("sort_by", k, { required }) end
    decorated[i] = { k = k, i = i, v = a[i] }
  end
  table.sort(decorated, function(x, y)
    if x.k ~= y.k then return x.k < y.k end
    return x.i < y.i  -- stable, as python's sorted
  end)
  local out = array()
  for i, d in ipairs(decorated) do out[i] = d.v end
  return out
end }
F.sum = { sig = { { "array-number" } }, fn = function(_, a)
  local s = 0
  for i = 1, len(a) do s = s + a[i] end
  return s
end }
F.to_array = { sig = { {} }, fn = function(_, v)
  if type_of(v) == "array" then return v end
  return array { to_null(v) }
end }
F.to_string = { sig = { {} }, fn = function(_, v)
  if type(v) == "string" then return v end
  return value.encode(v)
end }

-- python's int(s) then float(s): surrounding blanks allowed, no hex, inf/nan accepted.
local function parse_number(s)
  s = s:match("^%s*(.-)%s*$")
  local digits = s:gsub("_", "")
  if digits:match("^[-+]?%d+$") and not s:match("__") and not s:match("^[-+]?_") and not s:match("_$") then
    return math.tointeger(tonumber(digits)) or tonumber(digits)
  end
  if s:match("^[-+]?%d*%.?%d*[eE][-+]?%d+$") or s:match("^[-+]?%d*%.?%d*$") then
    if s:match("%d") then return tonumber(s) * 1.0 end
  end
  local lower = s:lower():gsub("^[-+]", "")
  if lower == "inf" or lower == "infinity" then return s:sub(1, 1) == "-" and -math.huge or math.huge end
  if lower == "nan" then return 0 / 0 end
  return nil
end
M.parse_number = parse_number

F.to_number = { sig = { {} }, fn = function(_, v)
  local t = type_of(v)
  if t == "number" then return v end
  if t == "string" then return parse_number(v) end
  return nil
end }
F.type = { sig = { {} }, fn = function(_, v)
  local t = type_of(v)
  if t ~= "expref" then return t end  -- jmespath.py knows no name for it: null
end }

--- call(name, args, n, eval) -> the function's result: checks arity and argument types first,
-- raising JMESPathUnknownFunction, JMESPathArityError or JMESPathTypeError error tables.
function M.call(name, args, n, eval)
  local f = F[name]
  if not f then raise("JMESPathUnknownFunction", string.format("unknown function: %s()", name)) end
  local want = #f.sig
  if (f.variadic and n < want) or (not f.variadic and n ~= want) then
    raise("JMESPathArityError", string.format("expected %s%d argument%s for function %s(), received %d",
      f.variadic and "at least " or "", want, want == 1 and "" or "s", name, n))
  end
  for i = 1, n do check(name, from_null(args[i]), f.sig[i] or f.sig[#f.sig]) end
  return f.fn(eval, table.unpack(args, 1, n))
end

M.names = {}
for name in pairs(F) do M.names[#M.names + 1] = name end
table.sort(M.names)

return M
