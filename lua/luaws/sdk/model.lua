-- model: service models (operations, shapes, paginators) loaded lazily from luaws/sdk/services/<name>.lua.
--
-- svc = model.load("kms")                      cached per name
--   svc.name, svc.protocol, svc.signing_name, svc.endpoint_prefix, svc.api_version,
--   svc.service_id, svc.target_prefix, svc.json_version, svc.xml_namespace,
--   svc.global_endpoint (e.g. "sts.amazonaws.com" or nil),
--   svc.partition_endpoints ({aws={name=, hostname=, region=}, ...} for IAM/Organizations or nil),
--   svc.metadata (the raw metadata table)
-- svc:operation("CreateGrant") -> op          also "create_grant", "creategrant"; else UnknownOperation
--   op.name, op.input / op.output (structure shapes or nil), op.result_wrapper, op.errors ({names}),
--   op.http = {method=, path=}, op.deprecated, op.idempotency_tokens ({member names}),
--   op.auth ("none" for unsigned calls such as AssumeRoleWithWebIdentity), op.service (svc)
-- svc:operation_names() -> sorted array;  svc:has_operation(name) -> bool
-- svc:shape(name) -> shape;  svc:paginator(opname) -> normalised paginator or nil
-- svc:error_shape(code) -> the modeled exception shape whose code is `code`, or nil
-- model.loaded_from[name] -> the file model.load(name) read: the source, or the build's
--   precompiled <host.models_dir>/<name>.luac (only for the data dir's own, unedited models)
--
-- Shapes: {type="structure", name=, members={ref...}, by_name={Member=ref}, required={...},
--          required_set={Member=true}, exception=, error={code=, status=, sender=}}
--         {type="list", name=, member=ref};  {type="map", name=, key=ref, value=ref}
--         primitives {type="string"|"integer"|"long"|"boolean"|"float"|"double"|"timestamp"|"blob"}
-- A ref is {name= (member name, structures only), target=, locationName=, queryName=, flattened=,
--           xmlNamespace=, timestampFormat=, idempotencyToken=, sensitive=, ...} and ref.shape
--           resolves (lazily) to the target shape.
local errors = require "luaws.core.errors"
local fs = require "luaws.fs"
local host = require "luaws.host"

local M = {}

local PRIMITIVES = {
  string = true, integer = true, long = true, boolean = true, float = true, double = true,
  timestamp = true, blob = true, character = true, byte = true, short = true,
  bigInteger = true, bigDecimal = true,
}

local cache = {}

local function levenshtein(a, b)
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local prev, cur = {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local ca = a:byte(i)
    for j = 1, lb do
      local cost = (ca == b:byte(j)) and 0 or 1
      local best = prev[j] + 1
      if cur[j - 1] + 1 < best then best = cur[j - 1] + 1 end
      if prev[j - 1] + cost < best then best = prev[j - 1] + cost end
      cur[j] = best
    end
    prev, cur = cur, prev
  end
  return prev[lb]
end
M.levenshtein = levenshtein

-- Folds "create_grant", "CREATEGRANT" and "CreateGrant" to one spelling.
local function fold(name)
  return (name:lower():gsub("[_%-]", ""))
end

--- model.suggest(name, candidates, limit) -> up to `limit` (default 3) candidates close to name:
-- by edit distance on folded spellings first, then those containing name.
function M.suggest(name, candidates, limit)
  limit = limit or 3
  local wanted = fold(name)
  local scored = {}
  local threshold = math.max(2, math.floor(#wanted / 4))
  for _, c in ipairs(candidates) do
    local d = levenshtein(wanted, fold(c))
    if d <= threshold then scored[#scored + 1] = { c, d } end
  end
  if #scored == 0 and #wanted >= 3 then
    for _, c in ipairs(candidates) do
      if fold(c):find(wanted, 1, true) then scored[#scored + 1] = { c, #c } end
    end
  end
  table.sort(scored, function(x, y)
    if x[2] ~= y[2] then return x[2] < y[2] end
    return x[1] < y[1]
  end)
  local out = {}
  for i = 1, math.min(limit, #scored) do out[i] = scored[i][1] end
  return out
end

local Service = {}
Service.__index = Service

-- Turns a compact reference ("Target" or {[name,] target, traits...}) into a ref table whose
-- .shape resolves on first use.
local function make_ref(svc, raw, with_name)
  local ref = {}
  if type(raw) == "string" then
    ref.target = raw
  else
    for k, v in pairs(raw) do
      if type(k) == "string" then ref[k] = v end
    end
    if with_name then
      ref.name, ref.target = raw[1], raw[2]
    else
      ref.target = raw[1]
    end
  end
  return setmetatable(ref, svc._ref_mt)
end

local function decode_shape(svc, name, text)
  local chunk, err = load("return " .. text, "=" .. svc.name .. ".shapes." .. name, "t", {})
  if not chunk then error("corrupt service model " .. svc.name .. ": " .. err) end
  local raw = chunk()
  local shape = { type = raw.type, name = name }
  if raw.type == "structure" then
    shape.members, shape.by_name = {}, {}
    for i, m in ipairs(raw.members or {}) do
      local ref = make_ref(svc, m, true)
      shape.members[i] = ref
      shape.by_name[ref.name] = ref
    end
    shape.required = raw.required or {}
    shape.required_set = {}
    for _, r in ipairs(shape.required) do shape.required_set[r] = true end
    for _, k in ipairs({ "exception", "fault", "error", "document", "union", "payload",
                         "event", "eventstream", "retryable" }) do
      shape[k] = raw[k]
    end
  elseif raw.type == "list" then
    shape.member = make_ref(svc, raw.member, false)
  elseif raw.type == "map" then
    shape.key = make_ref(svc, raw.key, false)
    shape.value = make_ref(svc, raw.value, false)
  end
  return shape
end

--- svc:shape(name) -> the decoded shape (cached); primitives by their type name.
function Service:shape(name)
  local shape = self._shapes[name]
  if shape then return shape end
  if PRIMITIVES[name] then
    shape = { type = name, name = name }
  else
    local text = self._data.shapes[name]
    if not text then error(self.name .. " model has no shape " .. tostring(name), 2) end
    shape = decode_shape(self, name, text)
  end
  self._shapes[name] = shape
  return shape
end

local function op_names(svc)
  if not svc._op_names then
    local names = {}
    for n in pairs(svc._data.operations) do names[#names + 1] = n end
    table.sort(names)
    svc._op_names = names
  end
  return svc._op_names
end

--- svc:operation_names() -> sorted array of the service's operation names.
function Service:operation_names()
  local copy = {}
  for i, n in ipairs(op_names(self)) do copy[i] = n end
  return copy
end

-- Exact name, else a unique case/underscore-insensitive match, else nil.
local function canonical_op_name(svc, name)
  if svc._data.operations[name] then return name end
  if not svc._folded then
    svc._folded = {}
    for _, n in ipairs(op_names(svc)) do svc._folded[fold(n)] = n end
  end
  return svc._folded[fold(name)]
end

--- svc:has_operation(name) -> true when svc:operation(name) would succeed.
function Service:has_operation(name)
  return type(name) == "string" and canonical_op_name(self, name) ~= nil
end

--- svc:operation(name) -> operation (cached), or raises UnknownOperation naming close matches.
function Service:operation(name)
  local op = self._ops[name]
  if op then return op end
  local canonical = type(name) == "string" and canonical_op_name(self, name)
  if not canonical then
    local msg = string.format("%s has no operation '%s'", self.name, tostring(name))
    local close = type(name) == "string" and M.suggest(name, op_names(self)) or {}
    if #close > 0 then msg = msg .. " (did you mean " .. table.concat(close, ", ") .. "?)" end
    errors.raise({ code = "UnknownOperation", message = msg, service = self.service_id,
                   suggestions = close }, 2)
  end
  op = self._ops[canonical]
  if not op then
    local raw = self._data.operations[canonical]
    local http = raw.http or {}
    op = {
      name = canonical,
      service = self,
      input = raw.input and self:shape(raw.input) or nil,
      output = raw.output and self:shape(raw.output) or nil,
      result_wrapper = raw.result_wrapper,
      errors = raw.errors or {},
      http = { method = http.method or "POST", path = http.path or "/", status = http.status },
      deprecated = raw.deprecated or false,
      idempotency_tokens = raw.idempotency_tokens or {},
      auth = raw.auth,
      host_prefix = raw.host_prefix,
    }
    self._ops[canonical] = op
  end
  self._ops[name] = op
  return op
end

local function as_list(v)
  if v == nil then return {} end
  if type(v) == "table" then return v end
  return { v }
end

--- svc:paginator(opname) -> {input_token={...}, output_token={...}, result_key={...},
-- more_results=string|nil, limit_key=string|nil, non_aggregate_keys={...}} or nil when the
-- operation does not page. Tokens and result keys are always arrays (botocore allows either).
function Service:paginator(opname)
  local canonical = canonical_op_name(self, opname) or opname
  local raw = self._data.paginators and self._data.paginators[canonical]
  if not raw then return nil end
  return {
    operation = canonical,
    input_token = as_list(raw.input_token),
    output_token = as_list(raw.output_token),
    result_key = as_list(raw.result_key),
    more_results = raw.more_results,
    limit_key = raw.limit_key,
    non_aggregate_keys = as_list(raw.non_aggregate_keys),
  }
end

--- svc:error_shape(code) -> the modeled exception shape with that error code, or nil.
function Service:error_shape(code)
  if not self._error_codes then
    local by_code = {}
    for _, raw in pairs(self._data.operations) do
      for _, shape_name in ipairs(raw.errors or {}) do
        local shape = self:shape(shape_name)
        by_code[(shape.error and shape.error.code) or shape_name] = shape
      end
    end
    self._error_codes = by_code
  end
  return self._error_codes[code]
end

local function find_model_file(name)
  if type(name) ~= "string" or not name:match("^[%w][%w%-_]*$") then return nil end
  return package.searchpath("luaws.sdk.services." .. name, package.path)
end

--- model.service_names() -> sorted array of the shipped service models.
function M.service_names()
  local path = package.searchpath("luaws.sdk.services.index", package.path)
  if not path then return {} end
  local names = assert(loadfile(path, "t", {}))()
  local copy = {}
  for i, n in ipairs(names) do copy[i] = n end
  return copy
end

M.loaded_from = {}

-- The build's stripped bytecode for a model, when it may stand in for the source at `path`:
-- parsing ec2.lua's 844 KB costs ~10 ms per process, loading its bytecode ~1 ms. Only for the
-- data dir's own services/<name>.lua (a model overridden through LUAWS_PATH must never be
-- shadowed by bytecode made from another file), and only when the bytecode is at least as new
-- as that source (an edited, not yet rebuilt model wins). Bytecode is read from models_dir and
-- nowhere else. Returns the loaded chunk and its path, or nil to fall back to the source.
local function load_compiled(name, path)
  local data_dir, models_dir = host.data_dir, host.models_dir
  if not (data_dir and models_dir) then return nil end
  if path ~= data_dir .. "/lua/luaws/sdk/services/" .. name .. ".lua" then return nil end
  local compiled = models_dir .. "/" .. name .. ".luac"
  local compiled_stat = fs.stat(compiled)
  if not compiled_stat or compiled_stat.type ~= "file" then return nil end
  local source_stat = fs.stat(path)
  if not source_stat or compiled_stat.mtime_ns < source_stat.mtime_ns then return nil end
  -- Unreadable or foreign bytecode (another Lua build) is not an error: the source still works.
  local chunk = loadfile(compiled, "b", {})
  if not chunk then return nil end
  return chunk, compiled, compiled_stat.size
end

-- Once a big model's chunk has run, its code and constant arrays (~250 KB for EC2) are garbage;
-- collecting them at once lets the allocations that follow reuse that memory rather than grow
-- the heap (flagship recipe: peak RSS -0.2 MB for ~0.2 ms). Small models are not worth a full
-- collection each.
local BIG_MODEL_BYTES = 256 * 1024

--- model.load(name) -> service model (cached), or raises UnknownService with close names.
function M.load(name)
  local svc = cache[name]
  if svc then return svc end
  local path = find_model_file(name)
  if not path then
    local msg = string.format("no service model named '%s'", tostring(name))
    local close = type(name) == "string" and M.suggest(name, M.service_names()) or {}
    if #close > 0 then msg = msg .. " (did you mean " .. table.concat(close, ", ") .. "?)" end
    errors.raise({ code = "UnknownService", message = msg }, 2)
  end
  local chunk, loaded_path, size = load_compiled(name, path)
  if not chunk then
    chunk, loaded_path = assert(loadfile(path, "t", {})), path
    local st = fs.stat(path)
    size = st and st.size or 0
  end
  M.loaded_from[name] = loaded_path
  local data = chunk()
  -- Dropped, or the collection below would keep it alive through this stack slot.
  chunk = nil -- luacheck: ignore 311
  if size >= BIG_MODEL_BYTES then collectgarbage() end
  local md = data.metadata
  svc = setmetatable({
    name = name,
    metadata = md,
    protocol = md.protocol,
    api_version = md.apiVersion,
    endpoint_prefix = md.endpointPrefix,
    signing_name = md.signingName or md.endpointPrefix,
    service_id = md.serviceId,
    target_prefix = md.targetPrefix,
    json_version = md.jsonVersion,
    xml_namespace = md.xmlNamespace,
    global_endpoint = md.globalEndpoint,
    partition_endpoints = md.partitionEndpoints,
    query_compatible = md.awsQueryCompatible or false,
    _data = data,
    _shapes = {},
    _ops = {},
  }, Service)
  svc._ref_mt = {
    __index = function(ref, key)
      if key == "shape" then
        local shape = svc:shape(ref.target)
        rawset(ref, "shape", shape)
        return shape
      end
      return nil
    end,
  }
  cache[name] = svc
  return svc
end

return M
