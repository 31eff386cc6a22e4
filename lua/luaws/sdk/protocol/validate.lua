-- protocol.validate: checks call parameters against the input shape before anything is sent.
--
-- Every protocol's build() runs prepare(): a wrong name or type becomes one ParamValidation
-- error table whose one-line message names each path (`Tags[2].Key`, Lua's 1-based indexes),
-- like botocore's ParamValidator but raised before signing or sending.
local errors = require "luaws.core.errors"
local model = require "luaws.sdk.model"
local timestamp = require "luaws.sdk.protocol.timestamp"
local crypto = require "luaws.crypto"

local M = {}

local function is_sequence(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do
    if t[i] == nil then return false end
  end
  return true
end

local function describe(v)
  if type(v) == "string" then
    if #v > 40 then v = v:sub(1, 37) .. "..." end
    return string.format("%q", v)
  end
  if type(v) == "table" then return "a table" end
  return tostring(v)
end

local function lua_type(v)
  return math.type(v) or type(v)
end

-- math.tointeger also converts strings ("3600"): a parameter must already be a number.
local function is_integral(v)
  return type(v) == "number" and math.tointeger(v) ~= nil
end

--- is_reader(v) -> true for a body that is read in pieces: an io file or a table/userdata
-- with a read method (the hook for streaming request bodies from files).
function M.is_reader(v)
  if io.type(v) == "file" then return true end
  local t = type(v)
  if t ~= "table" and t ~= "userdata" then return false end
  local ok, read = pcall(function() return v.read end)
  return ok and type(read) == "function"
end

local function blob_check(v, ref)
  if type(v) == "string" then return true end
  if ref and ref.streaming and M.is_reader(v) then return true end
  return false, ref and ref.streaming and "string or file/reader" or "string (bytes)"
end

local SCALAR_CHECKS = {
  string = function(v) return type(v) == "string", "string" end,
  character = function(v) return type(v) == "string", "string" end,
  boolean = function(v) return type(v) == "boolean", "boolean" end,
  integer = function(v) return is_integral(v), "integer" end,
  long = function(v) return is_integral(v), "integer" end,
  short = function(v) return is_integral(v), "integer" end,
  byte = function(v) return is_integral(v), "integer" end,
  bigInteger = function(v) return is_integral(v) or type(v) == "string", "integer" end,
  float = function(v) return type(v) == "number", "number" end,
  double = function(v) return type(v) == "number", "number" end,
  bigDecimal = function(v) return type(v) == "number" or type(v) == "string", "number" end,
  timestamp = function(v)
    return timestamp.parse(v) ~= nil, "epoch number or ISO 8601 string in years 1-9999"
  end,
}

local check

local function type_problem(problems, path, v, valid)
  problems[#problems + 1] = string.format(
    "Invalid type for parameter %s, value: %s, type: %s, valid types: %s",
    path == "" and "input" or path, describe(v), lua_type(v), valid)
end

local function join(path, name)
  return path == "" and name or (path .. "." .. name)
end

local function unknown_members(shape, v, where, problems)
  local unknown = {}
  for k in pairs(v) do
    if not (type(k) == "string" and shape.by_name[k]) then unknown[#unknown + 1] = k end
  end
  if #unknown == 0 then return end
  table.sort(unknown, function(a, b) return tostring(a) < tostring(b) end)
  local names = {}
  for i, m in ipairs(shape.members) do names[i] = m.name end
  for _, k in ipairs(unknown) do
    local close = type(k) == "string" and model.suggest(k, names, 1) or {}
    if #close > 0 then
      problems[#problems + 1] = string.format('Unknown parameter in %s: "%s" (did you mean "%s"?)',
        where, tostring(k), close[1])
    else
      local list = #names > 12 and (table.concat(names, ", ", 1, 12) .. ", ...") or table.concat(names, ", ")
      problems[#problems + 1] = string.format('Unknown parameter in %s: "%s", must be one of: %s',
        where, tostring(k), list)
    end
  end
end

local function check_structure(shape, v, path, problems)
  if type(v) ~= "table" then return type_problem(problems, path, v, "table of members") end
  if shape.document then return end
  local where = path == "" and "input" or path
  if shape.union then -- a tagged union: exactly one member (botocore's ParamValidator)
    local set = 0
    for _ in pairs(v) do set = set + 1 end
    if set ~= 1 then
      local names = {}
      for i, m in ipairs(shape.members) do names[i] = m.name end
      problems[#problems + 1] = set == 0
        and string.format("Must set one of the following keys for tagged union structure %s: %s.",
                          where, table.concat(names, ", "))
        or string.format("Invalid number of parameters set for tagged union structure %s. "
                         .. "Can only set one of the following keys: %s.", where, table.concat(names, ", "))
    end
  end
  for _, name in ipairs(shape.required or {}) do
    if v[name] == nil then
      problems[#problems + 1] = string.format('Missing required parameter in %s: "%s"', where, name)
    end
  end
  for _, m in ipairs(shape.members) do
    local x = v[m.name]
    if x ~= nil then check(m.shape, m, x, join(path, m.name), problems) end
  end
  unknown_members(shape, v, where, problems)
end

check = function(shape, ref, v, path, problems)
  local kind = shape.type
  if kind == "structure" then
    return check_structure(shape, v, path, problems)
  elseif kind == "list" then
    if type(v) ~= "table" or not is_sequence(v) then
      return type_problem(problems, path, v, "list (array table)")
    end
    for i, x in ipairs(v) do check(shape.member.shape, shape.member, x, path .. "[" .. i .. "]", problems) end
  elseif kind == "map" then
    if type(v) ~= "table" then return type_problem(problems, path, v, "map (table)") end
    for k, x in pairs(v) do
      check(shape.key.shape, shape.key, k, path .. " (key " .. describe(k) .. ")", problems)
      check(shape.value.shape, shape.value, x, join(path, tostring(k)), problems)
    end
  elseif kind == "blob" then
    local ok, valid = blob_check(v, ref)
    if not ok then type_problem(problems, path, v, valid) end
  elseif (kind == "string") and ref and ref.jsonvalue then
    return -- a JSON value header takes any value cjson can encode
  else
    local checker = SCALAR_CHECKS[kind]
    if checker then
      local ok, valid = checker(v)
      if not ok then type_problem(problems, path, v, valid) end
    end
  end
end

--- problems(shape, value[, path]) -> array of one-line problem strings (empty when valid).
function M.problems(shape, value, path)
  local problems = {}
  check(shape, nil, value, path or "", problems)
  return problems
end

--- check(svc, op, params): raises ParamValidation {code=, message=, problems=} listing every
-- problem on one line, or returns nothing when params fit op's input shape.
function M.check(svc, op, params)
  local problems = {}
  if op.input then
    check(op.input, nil, params, "", problems)
  elseif params ~= nil and next(params) ~= nil then
    problems[1] = string.format("%s takes no parameters", op.name)
  end
  if #problems > 0 then
    errors.raise({ code = "ParamValidation", service = svc.service_id, operation = op.name,
      message = "Parameter validation failed: " .. table.concat(problems, "; "),
      problems = problems }, 2)
  end
end

--- prepare(svc, op, params) -> a shallow copy of params with absent idempotency tokens filled
-- (a UUID 4 each), validated with check(). Raises ParamValidation.
function M.prepare(svc, op, params)
  if params ~= nil and type(params) ~= "table" then
    errors.raise({ code = "ParamValidation", service = svc.service_id, operation = op.name,
      message = "Parameter validation failed: parameters must be a table, got " .. type(params) }, 2)
  end
  local copy = {}
  for k, v in pairs(params or {}) do copy[k] = v end
  for _, name in ipairs(op.idempotency_tokens or {}) do
    if copy[name] == nil then copy[name] = crypto.uuid4() end
  end
  M.check(svc, op, copy)
  return copy
end

return M
