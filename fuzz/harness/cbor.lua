-- harness/cbor: the CBOR boundary under fuzz: luaws.cbor.decode (error tables, decode(encode(v)) == v)
-- and the smithy-rpc-v2-cbor reply and error parsers over a small model with every shape kind.
-- luacheck: no max line length (the model is written as gen_services.py writes one: a shape a line)
local cbor = require "luaws.cbor"
local oracle = require "oracle"

local MODEL = [==[
return {
metadata={apiVersion="2024-01-01",endpointPrefix="fuzzcbor",protocol="smithy-rpc-v2-cbor",protocols={"smithy-rpc-v2-cbor"},serviceId="FuzzCbor",signingName="fuzzcbor",targetPrefix="FuzzCbor"},
operations={Get={errors={"Boom"},input="In",output="Out"}},
shapes={
Boom=[[{error={code="Boom",sender=true,status=400},exception=true,members={{"Message","string"},{"Count","integer"}},type="structure"}]],
In=[[{members={{"Name","string"}},type="structure"}]],
Item=[[{members={{"Id","string"},{"Size","long"},{"Ratio","float"},{"Seen","timestamp"},{"Raw","blob"},{"On","boolean"},{"Kids","Items"}},type="structure"}]],
Items=[[{member="Item",type="list"}]],
Counts=[[{key="string",type="map",value="double"}]],
Out=[[{members={{"Name","string"},{"Items","Items"},{"Counts","Counts"},{"When","timestamp"},{"N","integer"},{"Blob","blob"},{"Doc","Item"}},type="structure"}]],
},
paginators={},
}
]==]

local svc, op, proto, cleanup_dir

local function same(a, b)
  if type(a) == "number" and type(b) == "number" then
    if a ~= a then return b ~= b end
    return math.type(a) == math.type(b) and a == b
  end
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  for k, v in pairs(a) do
    if not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

local function check_codec(data)
  local v, err = cbor.decode(data)
  if v == nil then
    oracle.expect_error("cbor.decode", err, { "CBORError" })
    if math.type(err.offset) ~= "integer" or err.offset < 0 or err.offset > #data then
      oracle.fail("cbor.decode error offset %s outside the input (%d bytes)", tostring(err.offset), #data)
    end
    return
  end
  local ok, bytes = pcall(cbor.encode, v)
  if not ok then oracle.fail("cbor.encode of a decoded value raised: %s", tostring(bytes)) end
  local back, berr = cbor.decode(bytes)
  if back == nil then oracle.fail("decode(encode(v)) failed: %s", tostring(berr)) end
  if not same(back, v) then oracle.fail("decode(encode(v)) differs from v") end
end

local function check_protocol(data)
  local ok, result = pcall(proto.parse, svc, op, { status = 200, headers = {}, body = data })
  if ok then
    if type(result) ~= "table" or type(result.ResponseMetadata) ~= "table" then
      oracle.fail("rpc-v2-cbor parse returned %s without ResponseMetadata", type(result))
    end
  else
    oracle.expect_error("rpc-v2-cbor parse", result, { "ResponseParseError" })
  end
  local eok, decoded = pcall(proto.parse_error, svc, op, { status = 400, headers = {}, body = data })
  if not eok then oracle.fail("rpc-v2-cbor parse_error raised: %s", tostring(decoded)) end
  if type(decoded) ~= "table" or type(decoded.code) ~= "string" or decoded.code == "" then
    oracle.fail("rpc-v2-cbor parse_error returned no code")
  end
end

return {
  --- setup(dir): writes the model under dir and puts dir on package.path.
  setup = function(dir)
    os.execute("mkdir -p '" .. dir .. "/luaws/sdk/services'")
    local f = assert(io.open(dir .. "/luaws/sdk/services/fuzzcbor.lua", "w"))
    f:write(MODEL)
    f:close()
    package.path = dir .. "/?.lua;" .. package.path
    cleanup_dir = dir
    svc = require("luaws.sdk.model").load("fuzzcbor")
    op = svc:operation("Get")
    proto = require "luaws.sdk.protocol.smithy-rpc-v2-cbor"
  end,
  run = function(data)
    check_codec(data)
    check_protocol(data)
  end,
  cleanup = function()
    if not cleanup_dir then return end
    os.remove(cleanup_dir .. "/luaws/sdk/services/fuzzcbor.lua")
    for _, sub in ipairs { "/luaws/sdk/services", "/luaws/sdk", "/luaws", "" } do os.remove(cleanup_dir .. sub) end
  end,
}
