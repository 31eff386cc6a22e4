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
--   op.http = {method=, path= (botocore's requestUri), status= (responseCode or nil)},
--   op.deprecated, op.idempotency_tokens ({member names}), op.host_prefix (endpoint hostPrefix),
--   op.input_traits / op.output_traits (traits on the operation's input/output reference,
--   e.g. Route 53's locationName and xmlNamespace; {} when none),
--   op.auth ("none" for unsigned calls such as AssumeRoleWithWebIdentity), op.service (svc),
--   and botocore's operation traits verbatim or nil: op.authtype, op.auth_schemes (auth list),
--   op.unsigned_payload, op.http_checksum, op.http_checksum_required, op.static_context_params,
--   op.operation_context_params, op.request_compression, op.endpoint_discovery,
--   op.endpoint_operation
-- svc:operation_names() -> sorted array;  svc:has_operation(name) -> bool
-- svc:shape(name) -> shape;  svc:paginator(opname) -> normalised paginator or nil
-- svc:error_shape(code) -> the modeled exception shape whose code is `code`, or nil
-- svc:rules() / svc:waiters() / svc:docs(): endpoint rule set, waiters-2, help text (on demand)
-- model.services() -> sorted names (shipped and user models); model.search_paths()
-- model.loaded_from[name] -> the file model.load(name) read: the source, the build's
--   precompiled <host.models_dir>/<name>.luac (only for the data dir's own, unedited models),
--   or a user model's service-2.json; loaded_from["<name>.rules"|".waiters"|".docs"] likewise
-- svc.metadata also carries clientContextParams, auth, protocols, protocolSettings, ... as in
-- botocore (see tools/gen_services.py).
--
-- Shapes: {type="structure", name=, members={ref...}, by_name={Member=ref}, required={...},
--          required_set={Member=true}, exception=, error={code=, status=, sender=}, fault=,
--          document=, union=, payload=, event=, eventstream=, retryable=, sensitive=, wrapper=,
--          locationName=, xmlNamespace=}
--         {type="list", name=, member=ref, flattened=, sparse=, sensitive=, locationName=}
--         {type="map", name=, key=ref, value=ref, flattened=, sparse=, sensitive=, locationName=}
--         primitives {type="string"|"integer"|"long"|"boolean"|"float"|"double"|"timestamp"|"blob"}
-- A ref is {name= (member name, structures only), target=, locationName=, queryName=, flattened=,
--           xmlNamespace=, timestampFormat=, idempotencyToken=, sensitive=, location=, payload=,
--           streaming=, xmlAttribute=, eventstream=, event=, eventheader=, eventpayload=,
--           jsonvalue=, hostLabel=, requiresLength=, contextParam=} and ref.shape
--           resolves (lazily) to the target shape.
local errors = require "luaws.core.errors"
local files = require "luaws.sdk.model_files"
local literal = require "luaws.literal"

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

-- A shape's data is the text of its constructor (shipped models) or the table itself (user
-- models converted at run time).
-- The table a shipped model keeps as constructor text (what: "shape" or "operation"); a table
-- (user models, or text already decoded) is returned as it is.
local function decode_text(svc, what, name, text)
  if type(text) ~= "string" then return text end
  local raw, err = literal.decode(text)
  if type(raw) ~= "table" then
    error("corrupt service model " .. svc.name .. ", " .. what .. " " .. name .. ": " .. tostring(err or "not a table"))
  end
  return raw
end

local function decode_shape(svc, name, text)
  local raw = decode_text(svc, "shape", name, text)
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
                         "event", "eventstream", "retryable", "sensitive", "wrapper",
                         "locationName", "xmlNamespace" }) do
      shape[k] = raw[k]
    end
  elseif raw.type == "list" then
    shape.member = make_ref(svc, raw.member, false)
  elseif raw.type == "map" then
    shape.key = make_ref(svc, raw.key, false)
    shape.value = make_ref(svc, raw.value, false)
  end
  if raw.type == "list" or raw.type == "map" then
    shape.flattened, shape.sparse, shape.sensitive = raw.flattened, raw.sparse, raw.sensitive
    shape.locationName = raw.locationName
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

--- svc:raw_operation(name) -> the model's own record of operation name (exact name; nil when
--- there is none): shipped models keep each as constructor text, decoded on first use.
function Service:raw_operation(name)
  local text = self._data.operations[name]
  local raw = decode_text(self, "operation", name, text)
  if raw ~= text then self._data.operations[name] = raw end
  return raw
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
    local raw = self:raw_operation(canonical)
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
      input_traits = raw.input_traits or {},
      output_traits = raw.output_traits or {},
      authtype = raw.authtype,
      auth_schemes = raw.auth_schemes,
      unsigned_payload = raw.unsigned_payload,
      http_checksum = raw.http_checksum,
      http_checksum_required = raw.http_checksum_required,
      static_context_params = raw.static_context_params,
      operation_context_params = raw.operation_context_params,
      request_compression = raw.request_compression,
      endpoint_discovery = raw.endpoint_discovery,
      endpoint_operation = raw.endpoint_operation,
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
-- more_results=string|nil, limit_key=string|nil, non_aggregate_keys={...}, raw=<botocore's
-- definition as is>} or nil when the operation does not page. Tokens and result keys are
-- always arrays (botocore allows either).
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
    raw = raw,
  }
end

--- svc:error_shape(code) -> the modeled exception shape with that error code (or, failing
--- that, that shape name), or nil.
function Service:error_shape(code)
  if not self._error_codes then
    local by_code = {}
    for _, name in ipairs(op_names(self)) do
      for _, shape_name in ipairs(self:raw_operation(name).errors or {}) do
        local shape = self:shape(shape_name)
        local modeled = (shape.error and shape.error.code) or shape_name
        -- Two shapes with one code (CloudWatch's ResourceNotFound): the one named so wins.
        if by_code[modeled] == nil or shape_name == modeled then by_code[modeled] = shape end
      end
    end
    -- awsQueryCompatible services name errors by shape in JSON (__type) and by their query
    -- code elsewhere: both find the shape, the modeled code first.
    for _, name in ipairs(op_names(self)) do
      for _, shape_name in ipairs(self:raw_operation(name).errors or {}) do
        if by_code[shape_name] == nil then by_code[shape_name] = self:shape(shape_name) end
      end
    end
    self._error_codes = by_code
  end
  return self._error_codes[code]
end

-- Sibling data of a service (kind: "rules", "waiters", "docs"), loaded on first use and cached;
-- false when the service has none. `user_file` is the botocore file of a user model.
local function sibling(svc, kind, user_file, from_json)
  local cached = svc._siblings[kind]
  if cached ~= nil then return cached or nil end
  local value, from
  local shipped = svc._shipped
  if svc._user then
    local path = files.user_sibling(svc, user_file)
    if path then
      value, from = from_json(files.read_json(path), path), path
    elseif kind ~= "docs" and (files.read_index().api_versions or {})[svc.name] == svc.api_version then
      shipped = files.find_shipped(svc.name) -- botocore falls back to the shipped file of that version
    end
  end
  if value == nil and shipped then
    local path = shipped:gsub("%.lua$", "." .. kind .. ".lua")
    if files.is_file(path) then value, from = files.run_shipped(svc.name .. "." .. kind, path) end
  end
  files.loaded_from[svc.name .. "." .. kind] = from
  svc._siblings[kind] = value or false
  return value
end

local function identity(v) return v end

--- svc:rules() -> the service's endpoint rule set (endpoint-rule-set-1 as a table: version=,
--- parameters=, rules=) or nil when it has none. Loaded on first use.
function Service:rules()
  return sibling(self, "rules", "endpoint-rule-set-1.json", identity)
end

--- svc:waiters() -> waiters-2 as a table ({version=2, waiters={Name={operation=, delay=,
--- maxAttempts=, acceptors={...}}}}) or nil when the service has none. Loaded on first use.
function Service:waiters()
  return sibling(self, "waiters", "waiters-2.json", identity)
end

--- svc:docs() -> {operations={Op="first sentence"}, shapes={Shape={doc=, members={M="..."},
--- enum={...}, min=, max=, targets={M=<scalar shape>, member=<a list's scalar shape>}}}}: help
--- text, loaded on first use (never by a call). Models inline scalar shapes (a member's target
--- is "string"); `targets` names the documented scalar shape of a member whose name differs.
function Service:docs()
  return sibling(self, "docs", "service-2.json", function(service2)
    return require("luaws.sdk.model_convert").docs(service2)
  end) or { operations = {}, shapes = {} }
end

-- Once a big model's chunk has run, its code and constant arrays (~250 KB for EC2) are garbage;
-- collecting them at once lets the allocations that follow reuse that memory rather than grow
-- the heap (flagship recipe: peak RSS -0.2 MB for ~0.2 ms). Small models are not worth a full
-- collection each.
local BIG_MODEL_BYTES = 256 * 1024

local function unknown_service(name)
  local msg = string.format("no service model named '%s'", tostring(name))
  local close = type(name) == "string" and M.suggest(name, files.services()) or {}
  if #close > 0 then msg = msg .. " (did you mean " .. table.concat(close, ", ") .. "?)" end
  errors.raise({ code = "UnknownService", message = msg, suggestions = close }, 3)
end

--- model.load(name) -> service model (cached), or raises UnknownService with close names.
--- A model in the user's search paths (model.search_paths(): AWS_DATA_PATH, ~/.aws/models)
--- wins over the shipped one when its api version is the same or newer, as in botocore; a
--- broken model file raises InvalidModel naming the file.
function M.load(name)
  local svc = cache[name]
  if svc then return svc end
  if not files.valid_name(name) then unknown_service(name) end
  local path = files.find_shipped(name)
  local paths = M.search_paths()
  local user, gz = files.find_user(name, paths)
  if user and path then
    local shipped_version = (files.read_index().api_versions or {})[name]
    if shipped_version and shipped_version > user.version then user = nil end
  end
  if not user and not path then
    if gz then files.model_error(gz, "compressed models are not supported; gunzip it to service-2.json") end
    unknown_service(name)
  end
  local data, size
  if user then
    user.paths = paths
    data = files.load_user(name, user)
    files.loaded_from[name] = user.file
    size = 0
  else
    data, files.loaded_from[name], size = files.run_shipped(name, path)
    if type(data.metadata) ~= "table" or type(data.operations) ~= "table" or type(data.shapes) ~= "table" then
      files.model_error(files.loaded_from[name], "not a service model (metadata, operations and shapes expected)")
    end
  end
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
    _user = user,
    _shipped = (not user) and path or nil,
    _shapes = {},
    _ops = {},
    _siblings = {},
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

M.search_paths, M.services, M.service_names = files.search_paths, files.services, files.services
M.loaded_from = files.loaded_from

return M
