-- core.jmespath: JMESPath (jmespath.org) over Lua tables, as botocore's jmespath.py evaluates it.
--
-- jmespath.search(expr, data) -> result     (nil for null; compiled ASTs cached per expression)
-- jmespath.compile(expr) -> c; c:search(data) -> result;  c.ast, c.expression
-- jmespath.parse(expr) -> AST (see luaws.core.jmespath.parser)
-- jmespath.decode(json) / jmespath.encode(v): JSON text <-> values that keep [] vs {} and nulls
-- jmespath.array(t) / jmespath.object(t, keys) / jmespath.NULL / jmespath.type_of(v)
-- Errors are luaws error tables: JMESPathLexerError, JMESPathParseError (with expression and
-- position), JMESPathTypeError, JMESPathArityError, JMESPathUnknownFunction, JMESPathValueError.
-- Data: unmarked Lua tables are arrays when empty or when t[1] ~= nil, else objects (see
-- luaws.core.jmespath.value); arrays and objects the expression builds are marked.
local errors = require "luaws.core.errors"
local value = require "luaws.core.jmespath.value"
local parser = require "luaws.core.jmespath.parser"
local functions = require "luaws.core.jmespath.functions"

local M = {}

local NULL, type_of, from_null, is_false = value.NULL, value.type_of, value.from_null, value.is_false
local array, len = value.array, value.len

local EXPREF_MT = { __name = "jmespath.expref", __jmespath = "expref" }

local function to_null(v) if v == nil then return NULL end return v end

local visit

local function field(v, name)
  if type_of(v) ~= "object" then return nil end
  return from_null(v[name])
end

-- Python's slice(start, stop, step).indices(n), then the elements.
local function slice(v, start, stop, step)
  step = step or 1
  if step == 0 then
    error(errors.new { code = "JMESPathValueError", message = "slice step cannot be 0" }, 0)
  end
  local n = len(v)
  local lower, upper = 0, n
  if step < 0 then lower, upper = -1, n - 1 end
  local function clamp(x, default)
    if x == nil then return default end
    if x < 0 then return math.max(x + n, lower) end
    return math.min(x, upper)
  end
  local i = clamp(start, step < 0 and upper or lower)
  local stop_at = clamp(stop, step < 0 and lower or upper)
  local out = array()
  while (step > 0 and i < stop_at) or (step < 0 and i > stop_at) do
    out[#out + 1] = v[i + 1]
    i = i + step
  end
  return out
end

local function is_number(v) return math.type(v) ~= nil end

local COMPARE = {
  lt = function(a, b) return a < b end, lte = function(a, b) return a <= b end,
  gt = function(a, b) return a > b end, gte = function(a, b) return a >= b end,
}

local function equals(a, b)
  -- python: 0 or 1 compared with a boolean is not equal (though 1 == True in python)
  if (is_number(a) and type(b) == "boolean") or (is_number(b) and type(a) == "boolean") then return false end
  return value.equal(a, b)
end

-- Collects right(element) for each element, skipping nulls (a projection).
local function project(elements, n, right)
  local out = array()
  for i = 1, n do
    local r = visit(right, from_null(elements[i]))
    if r ~= nil then out[#out + 1] = r end
  end
  return out
end

local V = {}

function V.subexpression(node, v)
  for _, child in ipairs(node.children) do
    v = visit(child, v)
    if v == nil then return nil end
  end
  return v
end
function V.field(node, v) return field(v, node.value) end
function V.comparator(node, v)
  local a, b = visit(node.children[1], v), visit(node.children[2], v)
  local op = node.value
  if op == "eq" then return equals(a, b) end
  if op == "ne" then return not equals(a, b) end
  local ta, tb = type_of(a), type_of(b)
  if (ta == "number" or ta == "string") and (tb == "number" or tb == "string") and ta ~= tb then
    error(errors.new { code = "JMESPathValueError",  -- python: '<' not supported between ...
      message = string.format("cannot order a %s and a %s", ta, tb) }, 0)
  end
  if not ((ta == "number" and tb == "number") or (ta == "string" and tb == "string")) then return nil end
  return COMPARE[op](a, b)
end
function V.current(_, v) return v end
function V.identity(_, v) return v end
function V.expref(node) return setmetatable({ node = node.children[1] }, EXPREF_MT) end
function V.function_expression(node, v)
  local args, n = {}, #node.children
  for i, child in ipairs(node.children) do args[i] = visit(child, v) end
  return from_null(functions.call(node.value, args, n, function(ref, x) return visit(ref.node, x) end))
end
function V.filter_projection(node, v)
  local base = visit(node.children[1], v)
  if type_of(base) ~= "array" then return nil end
  local out, cond, right = array(), node.children[3], node.children[2]
  for i = 1, len(base) do
    local el = from_null(base[i])
    if not is_false(visit(cond, el)) then
      local r = visit(right, el)
      if r ~= nil then out[#out + 1] = r end
    end
  end
  return out
end
function V.flatten(node, v)
  local base = visit(node.children[1], v)
  if type_of(base) ~= "array" then return nil end
  local out = array()
  for i = 1, len(base) do
    local el = base[i]
    if type_of(el) == "array" then
      for j = 1, len(el) do out[#out + 1] = el[j] end
    else
      out[#out + 1] = el
    end
  end
  return out
end
function V.index(node, v)
  if type_of(v) ~= "array" then return nil end
  local i = node.value
  if i < 0 then i = i + len(v) end
  if i < 0 or i >= len(v) then return nil end
  return from_null(v[i + 1])
end
function V.index_expression(node, v)
  for _, child in ipairs(node.children) do v = visit(child, v) end
  return v
end
function V.slice(node, v)
  if type_of(v) ~= "array" then return nil end
  return slice(v, node.start, node.stop, node.step)
end
function V.key_val_pair(node, v) return visit(node.children[1], v) end
function V.literal(node) return node.value end
function V.multi_select_dict(node, v)
  if v == nil then return nil end
  local out, keys = {}, {}
  for _, pair in ipairs(node.children) do
    if out[pair.value] == nil then keys[#keys + 1] = pair.value end
    out[pair.value] = to_null(visit(pair, v))
  end
  return value.object(out, keys)
end
function V.multi_select_list(node, v)
  if v == nil then return nil end
  local out = array()
  for i, child in ipairs(node.children) do out[i] = to_null(visit(child, v)) end
  return out
end
function V.or_expression(node, v)
  local r = visit(node.children[1], v)
  if is_false(r) then r = visit(node.children[2], v) end
  return r
end
function V.and_expression(node, v)
  local r = visit(node.children[1], v)
  if is_false(r) then return r end
  return visit(node.children[2], v)
end
function V.not_expression(node, v)
  local r = visit(node.children[1], v)
  if is_number(r) then return false end  -- numbers are true, 0 included (as jmespath.py)
  return is_false(r)
end
function V.pipe(node, v)
  for _, child in ipairs(node.children) do v = visit(child, v) end
  return v
end
function V.projection(node, v)
  local base = visit(node.children[1], v)
  if type_of(base) ~= "array" then return nil end
  return project(base, len(base), node.children[2])
end
function V.value_projection(node, v)
  local base = visit(node.children[1], v)
  if type_of(base) ~= "object" then return nil end
  local vals = {}
  for i, k in ipairs(value.keys(base)) do vals[i] = base[k] end
  return project(vals, #vals, node.children[2])
end

function visit(node, v)
  return V[node.type](node, v)
end

---------------------------------------------------------------------------------------------------
-- API
---------------------------------------------------------------------------------------------------

local Compiled = {}
Compiled.__index = Compiled

--- c:search(data) -> the expression's value over data (nil for null).
function Compiled:search(data)
  return from_null(visit(self.ast, data))
end

local cache, cache_size = {}, 0
local CACHE_MAX = 512

--- compile(expr) -> a compiled expression (cached: compiling the same text twice is free).
function M.compile(expr)
  local c = cache[expr]
  if c then return c end
  c = setmetatable({ expression = expr, ast = parser.parse(expr) }, Compiled)
  if cache_size >= CACHE_MAX then cache, cache_size = {}, 0 end
  cache[expr], cache_size = c, cache_size + 1
  return c
end

--- search(expr, data) -> jmespath.search(expr, data) as python's jmespath returns it.
function M.search(expr, data)
  return M.compile(expr):search(data)
end

M.parse = parser.parse
M.tokenize = parser.tokenize
M.decode = value.decode
M.encode = value.encode
M.array = value.array
M.object = value.object
M.NULL = NULL
M.type_of = value.type_of
M.is_false = value.is_false
M.equal = value.equal
M.function_names = functions.names

return M
