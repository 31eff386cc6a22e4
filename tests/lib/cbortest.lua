-- cbortest: a hand-written smithy-rpc-v2-cbor service model (no botocore service speaks only that
-- protocol) and a client for it against a local server, for the CBOR and event-stream tests.
-- luacheck: no max line length (the model is written as tools/gen_services.py writes one: a shape a line)
local M = {}

M.MODEL = [==[
return {
metadata={apiVersion="2024-01-01",awsQueryCompatible=true,endpointPrefix="cbortest",protocol="smithy-rpc-v2-cbor",protocols={"smithy-rpc-v2-cbor"},serviceId="CborTest",signatureVersion="v4",signingName="cbortest",targetPrefix="CborTest_20240101"},
operations={
Echo={errors={"Boom"},input="EchoInput",output="EchoOutput"},
Watch={input="WatchInput",output="WatchOutput"},
},
shapes={
AttrMap=[[{key="string",type="map",value="integer"}]],
Boom=[[{error={code="Boom",sender=true,status=400},exception=true,members={{"Message","string"},{"Reason","string"}},type="structure"}]],
EchoInput=[[{members={{"Name","string"},{"Data","blob"},{"When","timestamp"},{"N","integer"},{"F","float"},{"D","double"},{"Tags","TagList"},{"Attrs","AttrMap"},{"Token","string",idempotencyToken=true}},required={"Name"},type="structure"}]],
EchoOutput=[[{members={{"Name","string"},{"Data","blob"},{"When","timestamp"},{"N","long"},{"F","float"},{"Tags","TagList"}},type="structure"}]],
EventStream=[[{eventstream=true,members={{"Tick","TickEvent",event=true},{"Note","NoteEvent",event=true},{"Boom","Boom"}},type="structure"}]],
NoteEvent=[[{event=true,members={{"Text","string",eventpayload=true}},type="structure"}]],
TagList=[[{member="string",type="list"}]],
TickEvent=[[{event=true,members={{"Seq","integer"},{"At","timestamp",eventheader=true},{"Source","string",eventheader=true}},type="structure"}]],
WatchInput=[[{members={{"Topic","string"}},type="structure"}]],
WatchOutput=[[{members={{"Count","integer"},{"Events","EventStream",eventstream=true}},type="structure"}]],
},
paginators={},
}
]==]

--- client(dir, url) -> a luaws client of "cbortest" at url; the model goes to dir/luaws/sdk/services
-- and dir onto package.path.
function M.client(dir, url)
  os.execute("mkdir -p '" .. dir .. "/luaws/sdk/services'")
  local f = assert(io.open(dir .. "/luaws/sdk/services/cbortest.lua", "w"))
  f:write(M.MODEL)
  f:close()
  package.path = dir .. "/?.lua;" .. package.path
  return require("luaws.sdk.client").new("cbortest", { region = "us-west-2", endpoint_url = url,
    credentials = { access_key = "AKIDEXAMPLE", secret_key = "secret" }, max_attempts = 1 })
end

return M
