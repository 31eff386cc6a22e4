-- protocol.rest-json: REST with JSON bodies (Lambda, API Gateway, EFS, ...): HTTP bindings + JSON.
--
-- Requests: httpbinding places members in the URI, query, headers; the rest (or the payload
-- member) is JSON written from the shape (luaws.sdk.protocol.json's encoder: [] vs {}, exact
-- integers, base64 blobs, epoch-second timestamps, "NaN"/"Infinity" strings).
-- Replies: members shaped like botocore's RestJSONParser, timestamps as ISO 8601 UTC strings,
-- blobs decoded; wrong JSON types and out-of-range values are ResponseParseError tables.
local httpbinding = require "luaws.sdk.protocol.httpbinding"
local json = require "luaws.sdk.protocol.json"
local jsondoc = require "luaws.sdk.protocol.jsondoc"

local M = {}

local parse_value, decode_body = jsondoc.parse, jsondoc.decode
M.parse_value, M.decode_body = parse_value, decode_body

local codec = {
  empty_payload = "{}",
  content_type = "application/json",
}

function codec.encode_body(input, _, params)
  return json.encode_value(input, nil, params)
end

function codec.encode_payload(shape, ref, value)
  return json.encode_value(shape, ref, value)
end

function codec.requires_empty_body(input)
  for _, m in ipairs(input.members) do
    if not m.location then return true end
  end
  return false
end

function codec.decode(_, _, res)
  return M.decode_body(res.body)
end

function codec.parse_shape(shape, _, doc, body_only)
  return parse_value(shape, doc, "response", body_only)
end

function codec.read_bytes(_, _, _, shape, bytes)
  return jsondoc.parse(shape, jsondoc.decode(bytes), "event")
end

M.codec = codec

--- event_streams: parse takes a streamed res for event-stream payloads (Bedrock ConverseStream).
M.event_streams = true

--- build(svc, op, params) -> {method=, path=, query=, headers={{name, value}, ...}, body=,
-- host_prefix=, streaming=}. Validates params (ParamValidation) and fills idempotency tokens.
function M.build(svc, op, params)
  return httpbinding.build(svc, op, params, codec)
end

--- parse(svc, op, res) -> result shaped by op.output with ResponseMetadata.
-- res = {status=, headers=, body=}. Raises ResponseParseError tables.
function M.parse(svc, op, res)
  return httpbinding.parse(svc, op, res, codec)
end

--- parse_error(svc, op, res) -> {code=, message=, request_id=, type=, status=, fields=}.
function M.parse_error(svc, op, res)
  return require("luaws.sdk.protocol.errors").parse(svc, op, res, "rest-json")
end

return M
