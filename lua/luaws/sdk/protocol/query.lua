-- protocol.query: the AWS query protocol (STS, IAM, Auto Scaling): form-encoded POSTs, XML replies.
--
-- Serialisation follows botocore's QuerySerializer: structures "A.B", lists "A.member.N" (or the
-- member's locationName; flattened lists "A.N"), an empty list "A=" , maps "A.entry.N.key/value",
-- booleans "true"/"false", timestamps ISO 8601, blobs base64. Pairs come out in the input
-- shape's member order (botocore uses the caller's order; the server does not care).
-- Replies are unwrapped from <OpResult> and shaped like botocore's QueryParser: lists (wrapped or
-- flattened), maps, numbers as numbers, booleans, timestamps as the ISO 8601 text AWS sent,
-- blobs base64-decoded; a member absent on the wire is absent in the result, while a present but
-- empty list element gives an empty list.
local errors = require "luaws.core.errors"
local shared = require "luaws.sdk.protocol.shared"
local uri = require "luaws.core.uri"

local M = {}

---------------------------------------------------------------------------------------------
-- Requests

local function form_escape(s)
  -- Python's urlencode (quote_plus): unreserved characters stay, space becomes "+".
  return (uri.encode(s):gsub("%%20", "+"))
end

--- form_encode(pairs) -> "k=v&k=v" from an array of {key, value}.
function M.form_encode(list)
  local parts = {}
  for i, kv in ipairs(list) do parts[i] = form_escape(kv[1]) .. "=" .. form_escape(kv[2]) end
  return table.concat(parts, "&")
end

local function scalar_text(shape, ref, v)
  local kind = shape.type
  if kind == "boolean" then return v and "true" or "false" end
  if kind == "blob" then return shared.base64_encode(v) end
  if kind == "timestamp" then
    return tostring(shared.format_timestamp(shared.parse_timestamp(v), ref and ref.timestampFormat or "iso8601"))
  end
  if kind == "integer" or kind == "long" or kind == "short" or kind == "byte" then
    return string.format("%d", math.tointeger(v))
  end
  if type(v) == "number" then return shared.number_text(v) end
  return tostring(v)
end

-- A dialect decides the two places query and EC2 differ: member names and list layout.
local QUERY = {}

function QUERY.name(ref, default)
  return ref.locationName or default
end

function QUERY.list_prefix(ref, prefix)
  local member = ref.shape.member
  if ref.flattened then
    if member.locationName then
      local parent = prefix:match("^(.*)%.[^.]*$")
      local name = QUERY.name(member, "")
      return parent and (parent .. "." .. name) or name
    end
    return prefix
  end
  return prefix .. "." .. (member.locationName or "member")
end

QUERY.empty_list = function(prefix, out) out[#out + 1] = { prefix, "" } end

local sorted_keys = shared.sorted_keys

local function serialize(dialect, shape, ref, v, prefix, out)
  local kind = shape.type
  if kind == "structure" then
    for _, m in ipairs(shape.members) do
      local x = v[m.name]
      if x ~= nil then
        local name = dialect.name(m, m.name)
        serialize(dialect, m.shape, m, x, prefix ~= "" and (prefix .. "." .. name) or name, out)
      end
    end
  elseif kind == "list" then
    if #v == 0 then return dialect.empty_list(prefix, out) end
    local list_prefix = dialect.list_prefix(ref, prefix)
    for i, x in ipairs(v) do
      serialize(dialect, shape.member.shape, shape.member, x, list_prefix .. "." .. i, out)
    end
  elseif kind == "map" then
    local base = (ref and ref.flattened) and prefix or (prefix .. ".entry")
    local key_name = dialect.name(shape.key, "key")
    local value_name = dialect.name(shape.value, "value")
    for i, k in ipairs(sorted_keys(v)) do
      serialize(dialect, shape.key.shape, shape.key, k, base .. "." .. i .. "." .. key_name, out)
      serialize(dialect, shape.value.shape, shape.value, v[k], base .. "." .. i .. "." .. value_name, out)
    end
  else
    out[#out + 1] = { prefix, scalar_text(shape, ref, v) }
  end
end

--- serialize_pairs(svc, op, params, dialect) -> array of {key, value}, Action and Version first
-- (params already validated).
function M.serialize_pairs(svc, op, params, dialect)
  local out = { { "Action", op.name }, { "Version", svc.api_version } }
  if op.input then serialize(dialect or QUERY, op.input, nil, params, "", out) end
  return out
end

function M.build_with(dialect)
  return function(svc, op, params)
    params = shared.prepare(svc, op, params)
    local body = M.form_encode(M.serialize_pairs(svc, op, params, dialect))
    return {
      -- botocore sends every query call to "/" whatever the model's requestUri says.
      method = op.http.method, path = "/", query = nil,
      host_prefix = require("luaws.sdk.protocol.httpbinding").host_prefix(svc, op, params),
      headers = { { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" } },
      body = body,
    }
  end
end

--- build(svc, op, params) -> {method=, path=, query=nil, headers={{name, value}, ...}, body=}
-- Validates params against the input shape (raises ParamValidation) and fills idempotency tokens.
M.build = M.build_with(QUERY)
M.QUERY = QUERY

---------------------------------------------------------------------------------------------
-- Replies

local local_name, text_of = shared.local_name, shared.text

-- {tag = element} for the children of el; repeated tags collect into {many = {...}}.
local function children_by_name(el)
  local map = {}
  for _, c in ipairs(el) do
    if type(c) == "table" then
      local name = local_name(c)
      local seen = map[name]
      if seen == nil then
        map[name] = c
      elseif seen.many then
        seen.many[#seen.many + 1] = c
      else
        map[name] = { many = { seen, c } }
      end
    end
  end
  return map
end

local function first(node)
  if node.many then return node.many[1] end
  return node
end

local function all(node)
  if node.many then return node.many end
  return { node }
end

local parse_node

local function parse_scalar(shape, el)
  local text = text_of(first(el))
  local kind = shape.type
  if kind == "integer" or kind == "long" or kind == "short" or kind == "byte" then
    local n = tonumber(text)
    return n and (math.tointeger(n) or n) or nil
  elseif kind == "float" or kind == "double" then
    if text == "NaN" then return 0 / 0 end
    if text == "Infinity" then return math.huge end
    if text == "-Infinity" then return -math.huge end
    return tonumber(text)
  elseif kind == "boolean" then
    return text == "true"
  elseif kind == "blob" then
    return shared.base64_decode(text) or text
  end
  return text
end

-- The tag a member has on the wire (botocore's _member_key_name).
local function member_tag(m)
  local shape = m.shape
  if shape.type == "list" and m.flattened and shape.member.locationName then
    return shape.member.locationName
  end
  return m.locationName or m.name
end

local function parse_structure(shape, el)
  el = first(el)
  local out = {}
  local by_tag = children_by_name(el)
  for _, m in ipairs(shape.members) do
    local node = by_tag[member_tag(m)]
    if node ~= nil then
      out[m.name] = parse_node(m.shape, m, node)
    elseif m.xmlAttribute and el.attrs then
      out[m.name] = el.attrs[m.locationName or m.name]
    end
  end
  return out
end

-- The element nodes of a list or map: a flattened one repeats its own tag in the parent (node
-- holds all the repeats); a wrapped one puts them inside its single element (member/item/entry).
local function collection_elements(ref, node)
  if ref and ref.flattened then return all(node) end
  local elements = {}
  for _, c in ipairs(first(node)) do
    if type(c) == "table" then elements[#elements + 1] = c end
  end
  return elements
end

parse_node = function(shape, ref, node)
  local kind = shape.type
  if kind == "structure" then
    return parse_structure(shape, node)
  elseif kind == "list" then
    local items = {}
    for _, c in ipairs(collection_elements(ref, node)) do
      items[#items + 1] = parse_node(shape.member.shape, shape.member, c)
    end
    return items
  elseif kind == "map" then
    local out = {}
    local entries = collection_elements(ref, node)
    local key_tag = shape.key.locationName or "key"
    local value_tag = shape.value.locationName or "value"
    for _, entry in ipairs(entries) do
      local k, v
      for _, c in ipairs(entry) do
        if type(c) == "table" then
          local tag = local_name(c)
          if tag == key_tag then
            k = parse_node(shape.key.shape, shape.key, c)
          elseif tag == value_tag then
            v = parse_node(shape.value.shape, shape.value, c)
          end
        end
      end
      if k ~= nil then out[k] = v end
    end
    return out
  end
  return parse_scalar(shape, node)
end

--- parse_shape(shape, element) -> Lua value shaped by shape (for tests and other protocols).
function M.parse_shape(shape, el)
  return parse_node(shape, nil, el)
end

local function decode_or_raise(svc, op, res)
  local root, err = shared.decode_xml(res.body or "")
  if not root then
    error(errors.new { code = "ResponseParseError", service = svc.service_id, operation = op.name,
      status = res.status, message = "invalid XML in response: " .. tostring(err) }, 0)
  end
  return root
end

--- parse_with(find_start, request_id_of) -> a parse(svc, op, res) function.
function M.parse_with(find_start, request_id_of)
  return function(svc, op, res)
    local result = {}
    local body = res.body or ""
    local request_id
    if op.output and not body:match("%S") then
      error(errors.new { code = "ResponseParseError", service = svc.service_id, operation = op.name,
        status = res.status, message = "empty response where <" .. op.name .. "Response> was expected" }, 0)
    end
    if body:match("%S") then
      local root = decode_or_raise(svc, op, res)
      -- Well-formed XML that is no AWS reply (a proxy's or captive portal's HTML page) must not
      -- pass for a reply with every member absent.
      if op.output and not tostring(root.name):find("Response$") then
        error(errors.new { code = "ResponseParseError", service = svc.service_id, operation = op.name,
          status = res.status, message = string.format("unexpected <%s> document where <%sResponse> was expected",
            tostring(root.name):sub(1, 40), op.name) }, 0)
      end
      if op.output then
        local start = find_start(op, root)
        if start then result = parse_structure(op.output, start) end
      end
      request_id = request_id_of(root)
    end
    result.ResponseMetadata = shared.response_metadata(res, request_id)
    return result
  end
end

--- parse(svc, op, res) -> result shaped by the output shape, unwrapped from <OpResult>, with
-- ResponseMetadata {RequestId=, HTTPStatusCode=, HTTPHeaders=}. res = {status=, headers=, body=}.
M.parse = M.parse_with(function(op, root)
  if op.result_wrapper then return shared.child(root, op.result_wrapper) end
  return root
end, function(root)
  local meta = shared.child(root, "ResponseMetadata")
  local rid = meta and shared.child(meta, "RequestId")
  return rid and text_of(rid) or nil
end)

--- parse_error(svc, op, res) -> {code=, message=, request_id=, type=, status=, fields=}.
function M.parse_error(svc, op, res)
  return require("luaws.sdk.protocol.errors").parse(svc, op, res, "query", M.parse_shape)
end

return M
