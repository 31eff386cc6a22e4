-- model_convert: botocore's JSON service models (service-2, paginators-1, ...) into luaws' model data at run time.
--
-- The same transformation as tools/gen_services.py, in Lua, for models a user adds (AWS_DATA_PATH,
-- ~/.aws/models): convert.model(service2, pagination) returns the table a generated
-- <name>.lua returns, except that each shape is already a table rather than the text of one.
-- tests/py/gen_services_test.py checks that the two agree for real services.
local M = {}

local SCALARS = {
  string = true, integer = true, boolean = true, long = true, float = true, double = true,
  timestamp = true, blob = true, character = true, byte = true, short = true,
  bigInteger = true, bigDecimal = true,
}
local REF_TRAITS = {
  "locationName", "queryName", "flattened", "location", "payload", "streaming",
  "timestampFormat", "xmlNamespace", "xmlAttribute", "eventstream", "event", "eventheader",
  "eventpayload", "jsonvalue", "hostLabel", "idempotencyToken", "sensitive", "requiresLength",
  "contextParam",
}
local STRUCT_KEYS = {
  "exception", "fault", "document", "union", "payload", "event", "eventstream", "retryable",
  "sensitive", "wrapper", "locationName", "xmlNamespace",
}
local COLLECTION_KEYS = { "flattened", "sparse", "sensitive", "locationName" }
local METADATA_KEYS = {
  "apiVersion", "auth", "awsQueryCompatible", "checksumFormat", "endpointPrefix",
  "globalEndpoint", "jsonVersion", "protocol", "protocols", "protocolSettings",
  "serviceAbbreviation", "serviceFullName", "serviceId", "signatureVersion", "signingName",
  "targetPrefix", "xmlNamespace",
}
local OP_KEYS = {
  authtype = "authtype", auth = "auth_schemes", unsignedPayload = "unsigned_payload",
  httpChecksum = "http_checksum", httpChecksumRequired = "http_checksum_required",
  staticContextParams = "static_context_params",
  operationContextParams = "operation_context_params",
  requestcompression = "request_compression", endpointdiscovery = "endpoint_discovery",
  endpointoperation = "endpoint_operation",
}

------------------------------------------------------------------------------------------------
-- JSON with the key order of objects kept (structure members serialise in model order).

local ORDER = setmetatable({}, { __mode = "k" }) -- object -> array of its keys in document order

--- convert.keys(obj) -> the keys of a decoded JSON object in document order.
function M.keys(obj)
  local order = ORDER[obj]
  if order then return order end
  local keys = {}
  for k in pairs(obj) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

local ESCAPES = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

-- One pass over the escapes of a JSON string body (surrogate pairs joined).
local function unescape(s)
  if not s:find("\\", 1, true) then return s end
  local out, i = {}, 1
  while true do
    local j = s:find("\\", i, true)
    if not j then out[#out + 1] = s:sub(i); break end
    out[#out + 1] = s:sub(i, j - 1)
    local c = s:sub(j + 1, j + 1)
    if c == "u" then
      local code = tonumber(s:sub(j + 2, j + 5), 16)
      if not code or not s:sub(j + 2, j + 5):match("^%x%x%x%x$") then error("bad \\u escape", 0) end
      i = j + 6
      local lo = s:match("^\\u([dD][c-fC-F]%x%x)", i)
      if code >= 0xD800 and code < 0xDC00 and lo then
        code = 0x10000 + ((code - 0xD800) << 10) + (tonumber(lo, 16) - 0xDC00)
        i = i + 6
      end
      out[#out + 1] = utf8.char(code)
    else
      out[#out + 1] = ESCAPES[c] or error("bad escape \\" .. c, 0)
      i = j + 2
    end
  end
  return table.concat(out)
end

local decode_value

local function skip(text, pos)
  return text:find("[^ \t\r\n]", pos) or #text + 1
end

local function decode_string(text, pos)
  -- pos is at the opening quote
  local i = pos + 1
  while true do
    local q = text:find('["\\]', i)
    if not q then error("unterminated string at byte " .. pos, 0) end
    if text:byte(q) == 34 then return unescape(text:sub(pos + 1, q - 1)), q + 1 end
    i = q + 2
  end
end

function decode_value(text, pos)
  pos = skip(text, pos)
  local c = text:sub(pos, pos)
  if c == "{" then
    local obj, order = {}, {}
    pos = skip(text, pos + 1)
    if text:sub(pos, pos) == "}" then ORDER[obj] = order; return obj, pos + 1 end
    while true do
      if text:sub(pos, pos) ~= '"' then error("expected a key at byte " .. pos, 0) end
      local key
      key, pos = decode_string(text, pos)
      pos = skip(text, pos)
      if text:sub(pos, pos) ~= ":" then error("expected ':' at byte " .. pos, 0) end
      local value
      value, pos = decode_value(text, pos + 1)
      if obj[key] == nil then order[#order + 1] = key end
      obj[key] = value
      pos = skip(text, pos)
      c = text:sub(pos, pos)
      if c == "}" then ORDER[obj] = order; return obj, pos + 1 end
      if c ~= "," then error("expected ',' or '}' at byte " .. pos, 0) end
      pos = skip(text, pos + 1)
    end
  elseif c == "[" then
    local arr, n = {}, 0
    pos = skip(text, pos + 1)
    if text:sub(pos, pos) == "]" then return arr, pos + 1 end
    while true do
      local value
      value, pos = decode_value(text, pos)
      n = n + 1
      arr[n] = value
      pos = skip(text, pos)
      c = text:sub(pos, pos)
      if c == "]" then return arr, pos + 1 end
      if c ~= "," then error("expected ',' or ']' at byte " .. pos, 0) end
      pos = pos + 1
    end
  elseif c == '"' then
    return decode_string(text, pos)
  end
  local literal = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
  local n = literal and tonumber(literal)
  if n then return math.tointeger(n) or n, pos + #literal end
  if text:sub(pos, pos + 3) == "true" then return true, pos + 4 end
  if text:sub(pos, pos + 4) == "false" then return false, pos + 5 end
  if text:sub(pos, pos + 3) == "null" then return nil, pos + 4 end
  error(pos > #text and "unexpected end of input" or ("unexpected character at byte " .. pos), 0)
end

--- convert.decode_json(text) -> value, or nil and a message. Objects remember their key order
--- (convert.keys); null becomes nil (the key is absent).
function M.decode_json(text)
  local ok, value, pos = pcall(decode_value, text, 1)
  if not ok then return nil, value end
  if skip(text, pos) <= #text then return nil, "trailing data at byte " .. pos end
  return value
end

------------------------------------------------------------------------------------------------
-- service-2 -> model data (mirrors tools/gen_services.py)

local function copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x) end
  return out
end

local function ref_traits(shapes, shape_ref)
  local shape = shapes[shape_ref.shape]
  if type(shape) ~= "table" then error("unknown shape " .. tostring(shape_ref.shape), 0) end
  local traits, any = {}, false
  for _, key in ipairs(REF_TRAITS) do
    if shape[key] ~= nil then traits[key] = copy(shape[key]); any = true end
  end
  for _, key in ipairs(REF_TRAITS) do
    if shape_ref[key] ~= nil then traits[key] = copy(shape_ref[key]); any = true end
  end
  return traits, any
end

local function make_ref(shapes, used, shape_ref, name)
  local target = shape_ref.shape
  local shape = shapes[target]
  local traits, any = ref_traits(shapes, shape_ref)
  if SCALARS[shape.type] and not shape.document then
    target = shape.type
  else
    used[shape_ref.shape] = true
  end
  if not any and name == nil then return target end
  if name ~= nil then
    traits[1], traits[2] = name, target
  else
    traits[1] = target
  end
  return traits
end

local function reduce_shape(shapes, used, name)
  local shape = shapes[name]
  local kind = shape.type
  local out = { type = kind }
  if kind == "structure" then
    local members = {}
    local raw = shape.members or {}
    for i, member in ipairs(M.keys(raw)) do
      members[i] = make_ref(shapes, used, raw[member], member)
    end
    out.members = members
    if shape.required and #shape.required > 0 then out.required = copy(shape.required) end
    for _, key in ipairs(STRUCT_KEYS) do
      if shape[key] ~= nil then out[key] = copy(shape[key]) end
    end
    if shape.exception then
      local err = shape.error or {}
      out.error = { code = err.code or name, status = err.httpStatusCode,
                    sender = err.senderFault and true or nil }
    end
  elseif kind == "list" or kind == "map" then
    if kind == "list" then
      out.member = make_ref(shapes, used, shape.member)
    else
      out.key = make_ref(shapes, used, shape.key)
      out.value = make_ref(shapes, used, shape.value)
    end
    for _, key in ipairs(COLLECTION_KEYS) do
      if shape[key] ~= nil then out[key] = copy(shape[key]) end
    end
  elseif shape.document then
    out = { type = "structure", document = true, members = {} }
  else
    error("scalar shape " .. name .. " cannot be a target", 0)
  end
  return out
end

local function reduce_operation(op, shapes, used)
  local out = {}
  local http = op.http or {}
  local method, path = http.method or "POST", http.requestUri or "/"
  if method ~= "POST" or path ~= "/" or http.responseCode ~= nil then
    out.http = { method = method, path = path, status = http.responseCode }
  end
  for _, key in ipairs({ "input", "output" }) do
    if op[key] then
      out[key] = op[key].shape
      used[out[key]] = true
      local traits, any = ref_traits(shapes, op[key])
      if any then out[key .. "_traits"] = traits end
    end
  end
  if op.input then
    local members = shapes[out.input].members or {}
    local tokens = {}
    for _, n in ipairs(M.keys(members)) do
      local m = members[n]
      if m.idempotencyToken or (shapes[m.shape] or {}).idempotencyToken then tokens[#tokens + 1] = n end
    end
    if #tokens > 0 then out.idempotency_tokens = tokens end
  end
  if op.output and op.output.resultWrapper then out.result_wrapper = op.output.resultWrapper end
  if op.errors and #op.errors > 0 then
    out.errors = {}
    for i, e in ipairs(op.errors) do
      out.errors[i] = e.shape
      used[e.shape] = true
    end
  end
  if op.deprecated then out.deprecated = true end
  local auth = op.auth
  if op.authtype == "none" or (type(auth) == "table" and #auth == 1 and auth[1] == "smithy.api#noAuth") then
    out.auth = "none"
  end
  for key, name in pairs(OP_KEYS) do
    if op[key] ~= nil then out[name] = copy(op[key]) end
  end
  if op.endpoint and op.endpoint.hostPrefix then out.host_prefix = op.endpoint.hostPrefix end
  return out
end

--- convert.model(service2, pagination) -> the model data of a generated <name>.lua (shapes as
--- tables). service2 is decoded service-2 JSON, pagination the "pagination" object of
--- paginators-1 or nil. Raises a message string when the model is inconsistent.
function M.model(service2, pagination)
  if type(service2) ~= "table" or type(service2.metadata) ~= "table"
     or type(service2.operations) ~= "table" or type(service2.shapes) ~= "table" then
    error("not a botocore service-2 model (metadata, operations and shapes expected)", 0)
  end
  local md = service2.metadata
  local meta = {}
  for _, k in ipairs(METADATA_KEYS) do meta[k] = copy(md[k]) end
  if meta.awsQueryCompatible ~= nil then meta.awsQueryCompatible = true end
  meta.signingName = meta.signingName or md.endpointPrefix
  if type(service2.clientContextParams) == "table" and next(service2.clientContextParams) then
    local params = {}
    for name, p in pairs(service2.clientContextParams) do
      params[name] = copy(p)
      params[name].documentation = nil
    end
    meta.clientContextParams = params
  end
  local shapes, used = service2.shapes, {}
  local ops = {}
  for name, op in pairs(service2.operations) do
    local ok, result = pcall(reduce_operation, op, shapes, used)
    if not ok then error("operation " .. name .. ": " .. tostring(result), 0) end
    ops[name] = result
  end
  local out_shapes = {}
  local pending = next(used) ~= nil
  while pending do
    pending = false
    for name in pairs(used) do
      if not out_shapes[name] then
        if SCALARS[name] then error("shape name " .. name .. " collides with a primitive type", 0) end
        if type(shapes[name]) ~= "table" then error("unknown shape " .. name, 0) end
        local ok, result = pcall(reduce_shape, shapes, used, name)
        if not ok then error("shape " .. name .. ": " .. tostring(result), 0) end
        out_shapes[name] = result
        pending = true
      end
    end
  end
  return { metadata = meta, operations = ops, shapes = out_shapes, paginators = copy(pagination or {}) }
end

------------------------------------------------------------------------------------------------
-- documentation -> <name>.docs data

local ENTITIES = { amp = "&", lt = "<", gt = ">", quot = '"', apos = "'", nbsp = " " }

local function first_sentence(doc)
  if type(doc) ~= "string" or doc == "" then return nil end
  local function plain(s)
    s = s:gsub("<[^>]*>", " ")
    s = s:gsub("&(#?%w+);", function(e)
      if e:sub(1, 1) == "#" then
        local n = tonumber(e:sub(2):gsub("^x", "0x"), nil)
        return n and utf8.char(n) or nil
      end
      return ENTITIES[e]
    end)
    -- ASCII whitespace and the no-break space, as tools/gen_services.py
    return (s:gsub("\u{a0}", " "):gsub("[ \t\n\r\f\v]+", " "):gsub("^ ", ""):gsub(" $", ""))
  end
  local text = plain(doc:gsub("<important>.-</important>", " "):gsub("<note>.-</note>", " "))
  if text == "" then text = plain(doc) end
  text = text:gsub(" ([.,;:!?)])", "%1"):gsub("%( ", "(")
  local cut = text:find("[.!?] +[A-Z(\"'<]")
  if cut then text = text:sub(1, cut) end
  if (utf8.len(text) or #text) > 300 then -- characters, as the generator counts them
    text = text:sub(1, (utf8.offset(text, 298) or 298) - 1):gsub(" +$", "") .. "..."
  end
  if text == "" then return nil end
  return text
end
M.first_sentence = first_sentence

-- Whether a scalar shape has an entry of its own in the docs (a sentence, enum or limit).
local function documented_scalar(shape)
  return type(shape) == "table" and SCALARS[shape.type] ~= nil
    and (shape.enum ~= nil or shape.min ~= nil or shape.max ~= nil or first_sentence(shape.documentation) ~= nil)
end

--- convert.docs(service2) -> {operations={Op=sentence}, shapes={Shape={doc=, members=, enum=, min=,
--- max=, targets={Member=<scalar shape>, member=<a list's scalar shape>}}}} (as <name>.docs.lua)
function M.docs(service2)
  local ops, shapes = {}, {}
  for name, op in pairs(service2.operations or {}) do ops[name] = first_sentence(op.documentation) end
  for name, shape in pairs(service2.shapes or {}) do
    local entry = { doc = first_sentence(shape.documentation), enum = copy(shape.enum),
                    min = shape.min, max = shape.max }
    for m, ref in pairs(shape.members or {}) do
      local s = first_sentence(ref.documentation)
      if s then
        entry.members = entry.members or {}
        entry.members[m] = s
      end
      -- The model inlines scalar shapes ("string"): name the documented scalar shape a member
      -- (or a list's member, as "member") points at, unless it has the member's own name.
      if ref.shape ~= m and documented_scalar(service2.shapes[ref.shape]) then
        entry.targets = entry.targets or {}
        entry.targets[m] = ref.shape
      end
    end
    if shape.member and documented_scalar(service2.shapes[shape.member.shape]) then
      entry.targets = entry.targets or {}
      entry.targets.member = shape.member.shape
    end
    if next(entry) then shapes[name] = entry end
  end
  return { operations = ops, shapes = shapes }
end

return M
