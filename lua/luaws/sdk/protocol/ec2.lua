-- protocol.ec2: the EC2 dialect of the query protocol: capitalised names, "A.N" lists, bare replies.
--
-- Differences from luaws.sdk.protocol.query, as in botocore's EC2Serializer / EC2QueryParser:
-- a member's wire name is its queryName, else its locationName with the first letter
-- capitalised, else its own name; lists are always "Name.N" and an empty list sends nothing;
-- replies are not wrapped in <OpResult>, lists use <item> elements, and the request id is
-- <requestId>. Errors are <Response><Errors><Error> (decoded by protocol.shared.parse_error).
local query = require "luaws.sdk.protocol.query"
local shared = require "luaws.sdk.protocol.shared"

local M = {}

local EC2 = {}

function EC2.name(ref, default)
  if ref.queryName then return ref.queryName end
  local name = ref.locationName
  if name then return name:sub(1, 1):upper() .. name:sub(2) end
  return default
end

function EC2.list_prefix(_, prefix)
  return prefix
end

function EC2.empty_list()
end

--- build(svc, op, params) -> {method=, path=, query=nil, headers={{name, value}, ...}, body=}
-- Validates params against the input shape (raises ParamValidation) and fills idempotency tokens.
M.build = query.build_with(EC2)

--- parse(svc, op, res) -> result shaped by the output shape with ResponseMetadata
-- {RequestId=, HTTPStatusCode=, HTTPHeaders=}. res = {status=, headers=, body=}.
M.parse = query.parse_with(function(_, root)
  return root
end, function(root)
  local rid = shared.child(root, "requestId") or shared.child(root, "RequestId")
  return rid and shared.text(rid) or nil
end)

--- parse_error(svc, op, res) -> {code=, message=, request_id=, type=, status=, fields=}.
function M.parse_error(svc, op, res)
  return require("luaws.sdk.protocol.errors").parse(svc, op, res, "ec2", query.parse_shape)
end

M.EC2 = EC2
return M
