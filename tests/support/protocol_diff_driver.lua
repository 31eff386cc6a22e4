-- protocol_diff_driver: luaws's half of tests/py/protocol_diff_test.py: builds and parses cases.
--
-- Usage: luaws tests/support/protocol_diff_driver.lua CASES.json OUT.json
-- Each case is {kind="request", service=, operation=, params=[, protocol=]} or {kind="response"|"error",
-- service=, operation=, status=, headers=, body_b64=}. Each answer is {ok=true, ...} or
-- {ok=false, code=, message=}: a request gives method, path, query, headers, body_b64,
-- host_prefix; a response its parsed result; an error response code, message and fields.
-- Non-finite numbers travel as the strings "NaN", "Infinity", "-Infinity"; byte strings that
-- are not UTF-8 as {__b64=...}.
local cjson = require "cjson"
local crypto = require "luaws.crypto"
local model = require "luaws.sdk.model"
local protocol = require "luaws.sdk.protocol"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  return text
end

local function printable(v)
  local t = type(v)
  if t == "number" then
    if math.type(v) == "integer" and (v > 2 ^ 53 or v < -2 ^ 53) then return { __int = tostring(v) } end
    if math.type(v) == "float" and v == v and v ~= math.huge and v ~= -math.huge
        and tonumber(string.format("%.14g", v)) ~= v then
      return { __float = string.format("%.17g", v) } -- cjson writes 14 digits
    end
    if v ~= v then return "NaN" end
    if v == math.huge then return "Infinity" end
    if v == -math.huge then return "-Infinity" end
    return v
  elseif t == "string" then
    if utf8.len(v) then return v end
    return { __b64 = crypto.base64_encode(v) }
  elseif t == "table" then
    local out = {}
    for k, x in pairs(v) do out[k] = printable(x) end
    return out
  end
  return v
end

-- {__float="NaN"} marks a non-finite number (JSON has none).
local function from_wire(v)
  if type(v) ~= "table" then return v end
  if v.__float then return ({ NaN = 0 / 0, Infinity = math.huge, ["-Infinity"] = -math.huge })[v.__float] end
  if v.__int then return math.tointeger(tonumber(v.__int)) end
  for k, x in pairs(v) do v[k] = from_wire(x) end
  return v
end

local function describe_error(e)
  if type(e) == "table" then return { ok = false, code = e.code, message = tostring(e.message or e) } end
  return { ok = false, code = "LuaError", message = tostring(e) }
end

local function run(case)
  local svc = model.load(case.service)
  local op = svc:operation(case.operation)
  local name = case.protocol or protocol.resolve(svc)
  local mod, why = protocol.module_for(name)
  if not mod then return { ok = false, code = "UnsupportedProtocol", message = why, protocol = name } end
  if case.kind == "request" then
    local req = mod.build(svc, op, from_wire(case.params))
    local body = req.body
    return { ok = true, method = req.method, path = req.path, query = req.query or "",
      headers = req.headers, host_prefix = req.host_prefix or cjson.null,
      body_b64 = type(body) == "string" and crypto.base64_encode(body) or "" }
  end
  local res = { status = math.tointeger(case.status) or case.status, headers = case.headers or {},
    body = crypto.base64_decode(case.body_b64 or "") or "" }
  if case.kind == "response" then
    local result = mod.parse(svc, op, res)
    result.ResponseMetadata = nil
    return { ok = true, result = printable(result) }
  end
  local e = mod.parse_error(svc, op, res)
  return { ok = true, code = e.code, message = e.message, fields = printable(e.fields or {}) }
end

local cases = cjson.decode(read(arg[1]))
local answers = {}
for i, case in ipairs(cases) do
  local ok, answer = pcall(run, case)
  answers[i] = ok and answer or describe_error(answer)
end
local f = assert(io.open(arg[2], "wb"))
f:write(cjson.encode(answers))
f:close()
