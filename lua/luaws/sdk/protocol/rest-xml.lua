-- protocol.rest-xml: REST with XML bodies (S3, Route 53, CloudFront): HTTP bindings + XML.
--
-- Requests: httpbinding places members in the URI, query and headers; the payload member or the
-- remaining members become one XML document written like botocore's RestXMLSerializer (root
-- element from the operation's input locationName and xmlNamespace; wrapped lists use
-- <member> unless named; maps <entry><key/><value/></entry>; xmlAttribute members as
-- attributes; timestamps ISO 8601; blobs base64). Replies are read with the query protocol's
-- XML shape reader (luaws.sdk.protocol.query.parse_shape) from the root element.
local errors = require "luaws.core.errors"
local httpbinding = require "luaws.sdk.protocol.httpbinding"
local query = require "luaws.sdk.protocol.query"
local shared = require "luaws.sdk.protocol.shared"
local timestamp = require "luaws.sdk.protocol.timestamp"
local crypto = require "luaws.crypto"

local M = {}

local TEXT_ESCAPES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ["\r"] = "&#13;" }
local ATTR_ESCAPES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;",
  ["\n"] = "&#10;", ["\r"] = "&#13;", ["\t"] = "&#09;" }

local function esc(s) return (tostring(s):gsub("[&<>\r]", TEXT_ESCAPES)) end
local function esc_attr(s) return (tostring(s):gsub("[&<>\"\n\r\t]", ATTR_ESCAPES)) end

local INTEGERS = { integer = true, long = true, short = true, byte = true, bigInteger = true }

local function namespace_attr(ref)
  local ns = ref and ref.xmlNamespace
  if ns == nil then return "" end
  if type(ns) == "string" then return ' xmlns="' .. esc_attr(ns) .. '"' end
  local name = ns.prefix and ("xmlns:" .. ns.prefix) or "xmlns"
  return " " .. name .. '="' .. esc_attr(ns.uri or "") .. '"'
end

local function scalar_text(shape, ref, v)
  local kind = shape.type
  if kind == "boolean" then return v and "true" or "false" end
  if kind == "blob" then return crypto.base64_encode(v) end
  if kind == "timestamp" then return tostring(timestamp.format(v, ref and ref.timestampFormat or "iso8601")) end
  if INTEGERS[kind] then return math.tointeger(v) and string.format("%d", math.tointeger(v)) or tostring(v) end
  if kind == "float" or kind == "double" then return httpbinding.number_text(v) end
  return tostring(v)
end

local encode

local sorted_keys = shared.sorted_keys

local function encode_structure(shape, ref, v, name, out)
  local attrs = { namespace_attr(ref) }
  local children = {}
  for _, m in ipairs(shape.members) do
    local x = v[m.name]
    if x ~= nil then
      if m.xmlAttribute then
        attrs[#attrs + 1] = " " .. (m.locationName or m.name) .. '="' .. esc_attr(scalar_text(m.shape, m, x)) .. '"'
      else
        children[#children + 1] = m
      end
    end
  end
  out[#out + 1] = "<" .. name .. table.concat(attrs) .. ">"
  for _, m in ipairs(children) do encode(m.shape, m, v[m.name], m.locationName or m.name, out) end
  out[#out + 1] = "</" .. name .. ">"
end

encode = function(shape, ref, v, name, out)
  local kind = shape.type
  if kind == "structure" then
    return encode_structure(shape, ref, v, name, out)
  elseif kind == "list" then
    local member = shape.member
    if ref and ref.flattened then
      for _, x in ipairs(v) do encode(member.shape, member, x, name, out) end
    else
      out[#out + 1] = "<" .. name .. namespace_attr(ref) .. ">"
      for _, x in ipairs(v) do encode(member.shape, member, x, member.locationName or "member", out) end
      out[#out + 1] = "</" .. name .. ">"
    end
  elseif kind == "map" then
    local flat = ref and ref.flattened
    if not flat then out[#out + 1] = "<" .. name .. namespace_attr(ref) .. ">" end
    local key_name, value_name = shape.key.locationName or "key", shape.value.locationName or "value"
    for _, k in ipairs(sorted_keys(v)) do
      out[#out + 1] = flat and ("<" .. name .. ">") or "<entry>"
      encode(shape.key.shape, shape.key, k, key_name, out)
      encode(shape.value.shape, shape.value, v[k], value_name, out)
      out[#out + 1] = flat and ("</" .. name .. ">") or "</entry>"
    end
    if not flat then out[#out + 1] = "</" .. name .. ">" end
  else
    out[#out + 1] = "<" .. name .. namespace_attr(ref) .. ">" .. esc(scalar_text(shape, ref, v)) .. "</" .. name .. ">"
  end
end

--- encode_value(shape, ref, value, name) -> XML text of value as element `name`.
function M.encode_value(shape, ref, value, name)
  local out = {}
  encode(shape, ref, value, name, out)
  return table.concat(out)
end

local codec = { empty_payload = "", content_type = nil }

function codec.encode_body(input, op, params)
  local root = op.input_traits or {}
  return M.encode_value(input, root, params, root.locationName or input.name)
end

function codec.encode_payload(shape, ref, value)
  return M.encode_value(shape, ref, value, ref.locationName or ref.name or shape.name)
end

function codec.requires_empty_body() return false end

function codec.decode(svc, op, res)
  local body = res.body or ""
  if not body:match("%S") then return { name = "" } end
  local root, err = shared.decode_xml(body)
  if not root then
    error(errors.new { code = "ResponseParseError", service = svc.service_id, operation = op.name,
      status = res.status, message = "invalid XML in response: " .. tostring(err) }, 0)
  end
  return root
end

function codec.parse_shape(shape, _, root)
  return query.parse_shape(shape, root)
end

function codec.read_bytes(svc, op, res, shape, bytes)
  return query.parse_shape(shape, codec.decode(svc, op, { status = res.status, body = bytes }))
end

M.codec = codec

--- event_streams: parse takes a streamed res for event-stream payloads (S3 SelectObjectContent).
M.event_streams = true

--- build(svc, op, params) -> {method=, path=, query=, headers={{name, value}, ...}, body=,
-- host_prefix=, streaming=}. Validates params (ParamValidation) and fills idempotency tokens.
function M.build(svc, op, params)
  return httpbinding.build(svc, op, params, codec)
end

--- parse(svc, op, res) -> result shaped by op.output with ResponseMetadata.
function M.parse(svc, op, res)
  return httpbinding.parse(svc, op, res, codec)
end

--- parse_error(svc, op, res) -> {code=, message=, request_id=, type=, status=, fields=}.
function M.parse_error(svc, op, res)
  return require("luaws.sdk.protocol.errors").parse(svc, op, res, "rest-xml", query.parse_shape)
end

return M
