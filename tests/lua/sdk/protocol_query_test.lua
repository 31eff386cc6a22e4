-- protocol_query_test: the query protocol's corners (flattened lists, maps, renamed members, scalars)
-- luacheck: no max line length (fixtures: AWS bodies, ARNs and expected messages read best unbroken)
-- on a synthetic model, checked against botocore's serializer and parser; plus IAM/STS specifics.
--
-- The real services here use none of flattened lists or query maps on input, so a small model in
-- botocore's JSON format goes through tools/gen_services.py (for luaws) and botocore (for truth).
local T = require "testing"
local cjson = require "cjson"
local model = require "luaws.sdk.model"
local query = require "luaws.sdk.protocol.query"
local shared = require "luaws.sdk.protocol.shared"

if require("xml_lite").install() then
  print("note: luaws.xml has no decode yet; using the test reader luaws.protocol.xml_lite")
end

local SOURCE = os.getenv("LUAWS_SOURCE_DIR") or "."

local MODEL = [[{
 "metadata": {"apiVersion": "2020-01-01", "endpointPrefix": "qt", "protocol": "query", "serviceId": "QT",
              "signatureVersion": "v4", "xmlNamespace": "https://qt.example.com/doc/2020-01-01/"},
 "operations": {
  "Put": {"name": "Put", "http": {"method": "POST", "requestUri": "/"}, "input": {"shape": "PutRequest"},
          "output": {"shape": "PutResponse", "resultWrapper": "PutResult"}}
 },
 "shapes": {
  "PutRequest": {"type": "structure", "required": ["Renamed"], "members": {
    "Flat": {"shape": "FlatList"}, "FlatNoName": {"shape": "FlatList2"}, "Wrapped": {"shape": "WrappedList"},
    "Attrs": {"shape": "AttrMap"}, "FlatAttrs": {"shape": "FlatMap"},
    "Renamed": {"shape": "Str", "locationName": "renamedMember"}, "Nested": {"shape": "Inner"},
    "NestedList": {"shape": "InnerList"},
    "When": {"shape": "Time"}, "WhenEpoch": {"shape": "EpochTime"}, "Data": {"shape": "Blob"},
    "Flag": {"shape": "Bool"}, "Ratio": {"shape": "Dbl"}, "Count": {"shape": "Long"}}},
  "PutResponse": {"type": "structure", "members": {
    "Flat": {"shape": "FlatList"}, "FlatNoName": {"shape": "FlatList2"}, "Wrapped": {"shape": "WrappedList"},
    "Attrs": {"shape": "AttrMap"}, "FlatAttrs": {"shape": "FlatMap"},
    "Renamed": {"shape": "Str", "locationName": "renamedMember"}, "Nested": {"shape": "Inner"},
    "NestedList": {"shape": "InnerList"},
    "When": {"shape": "Time"}, "Data": {"shape": "Blob"}, "Flag": {"shape": "Bool"}, "Ratio": {"shape": "Dbl"},
    "Count": {"shape": "Long"}, "Missing": {"shape": "WrappedList"}}},
  "Inner": {"type": "structure", "members": {"Deep": {"shape": "Str", "locationName": "deep"},
                                             "Items": {"shape": "WrappedList"}}},
  "InnerList": {"type": "list", "member": {"shape": "Inner"}},
  "FlatList": {"type": "list", "member": {"shape": "Str", "locationName": "Entry"}, "flattened": true},
  "FlatList2": {"type": "list", "member": {"shape": "Str"}, "flattened": true},
  "WrappedList": {"type": "list", "member": {"shape": "Str", "locationName": "item"}},
  "AttrMap": {"type": "map", "key": {"shape": "Str", "locationName": "Name"},
              "value": {"shape": "Str", "locationName": "Value"}},
  "FlatMap": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Long"}, "flattened": true},
  "Str": {"type": "string"}, "Time": {"type": "timestamp"},
  "EpochTime": {"type": "timestamp", "timestampFormat": "unixTimestamp"},
  "Blob": {"type": "blob"}, "Bool": {"type": "boolean"}, "Dbl": {"type": "double"}, "Long": {"type": "long"}
 }
}]]

local REQUESTS = {
  [[{"Renamed": "r", "Flat": ["a", "b c"], "FlatNoName": ["x"], "Wrapped": ["1", "2"],
     "Attrs": {"k1": "v1", "k2": "v2"}, "FlatAttrs": {"a": 1, "b": 2},
     "Nested": {"Deep": "d", "Items": []}, "NestedList": [{"Deep": "e", "Items": ["i"]}, {"Deep": "f"}],
     "When": "2024-01-02T03:04:05Z", "WhenEpoch": "2024-01-02T03:04:05Z", "Data": "hi\u00e9",
     "Flag": false, "Ratio": 0.25, "Count": 12}]],
  [[{"Renamed": "only", "Wrapped": [], "Flat": []}]],
}

local RESPONSE = [[<PutResponse xmlns="https://qt.example.com/doc/2020-01-01/"><PutResult>
  <Entry>a</Entry><Entry>b</Entry>
  <FlatNoName>x</FlatNoName>
  <Wrapped><item>1</item><item>2</item></Wrapped>
  <Attrs><entry><Name>k1</Name><Value>v1</Value></entry><entry><Name>k2</Name><Value>v2</Value></entry></Attrs>
  <FlatAttrs><key>a</key><value>1</value></FlatAttrs><FlatAttrs><key>b</key><value>2</value></FlatAttrs>
  <renamedMember>r</renamedMember>
  <Nested><deep>d</deep><Items/></Nested>
  <NestedList><member><deep>e</deep></member><member><deep>f</deep><Items><item>z</item></Items></member></NestedList>
  <When>2024-01-01T00:00:00.250Z</When><Data>aGk=</Data><Flag>true</Flag><Ratio>1.5</Ratio><Count>42</Count>
</PutResult><ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata></PutResponse>]]

local HELPER = [[
import base64, datetime, importlib.util, json, os, sys
tool, model_path, out_dir, cases_path = sys.argv[1:5]
spec = importlib.util.spec_from_file_location("gen_services", tool)
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)
model = json.load(open(model_path))

class Loader:
    def load_service_model(self, name, kind):
        if kind == "service-2":
            return model
        raise KeyError(kind)

os.makedirs(os.path.join(out_dir, "luaws", "sdk", "services"))
with open(os.path.join(out_dir, "luaws", "sdk", "services", "querytest.lua"), "w") as f:
    f.write(gen.generate("querytest", Loader(), {"partitions": []}, "test"))
try:
    from botocore.model import ServiceModel
    from botocore import serialize, parsers
    from botocore.awsrequest import prepare_request_dict, create_request_object
except ImportError:
    print("NO-BOTOCORE")
    sys.exit(0)
service = ServiceModel(model, "querytest")
op = service.operation_model("Put")
cases = json.load(open(cases_path))
bodies = []
for params in cases["requests"]:
    request = serialize.create_serializer("query").serialize_to_request(params, op)
    prepare_request_dict(request, endpoint_url="https://example.com")
    bodies.append(create_request_object(request).prepare().body)

def plain(v):
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, datetime.datetime):
        return v.timestamp()
    if isinstance(v, (bytes, bytearray)):
        return {"base64": base64.b64encode(v).decode()}
    return v

parsed = parsers.create_parser("query").parse({"body": cases["response"].encode(), "headers": {},
                                               "status_code": 200}, op.output_shape)
print(json.dumps({"bodies": bodies, "parsed": plain(parsed)}))
]]

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute("mkdir -p " .. tmp))
write(tmp .. "/helper.py", HELPER)
write(tmp .. "/model.json", MODEL)
write(tmp .. "/cases.json", string.format('{"requests":[%s],"response":%s}', table.concat(REQUESTS, ","),
  cjson.encode(RESPONSE)))
local p = assert(io.popen(string.format("python3 %s/helper.py %s/tools/gen_services.py %s/model.json %s/out %s/cases.json 2>&1",
  tmp, SOURCE, tmp, tmp, tmp)))
local output = p:read("a")
p:close()
package.path = tmp .. "/out/?.lua;" .. package.path
local have_botocore = not output:match("^NO%-BOTOCORE")
local truth = have_botocore and cjson.decode(output) or nil
local svc = model.load("querytest")
local op = svc:operation("Put")

local function sorted_pairs(body)
  local list = {}
  for part in (body .. "&"):gmatch("([^&]*)&") do
    if part ~= "" then list[#list + 1] = part end
  end
  table.sort(list)
  return list
end

T.test("synthetic model: the generator output loads", function()
  T.eq(svc.protocol, "query")
  T.eq(op.result_wrapper, "PutResult")
  T.eq(op.input.by_name.Flat.flattened, true)
  T.eq(op.input.by_name.Flat.shape.member.locationName, "Entry")
end)

T.test("flattened lists, maps, renamed and nested members serialise as documented", function()
  local req = query.build(svc, op, cjson.decode(REQUESTS[1]))
  local body = req.body
  T.match(body, "^Action=Put&Version=2020%-01%-01&")
  local has = {}
  for _, kv in ipairs(sorted_pairs(body)) do has[kv] = true end
  for _, want in ipairs({ "Entry.1=a", "Entry.2=b+c", "FlatNoName.1=x", "Wrapped.item.1=1", "Wrapped.item.2=2",
    "Attrs.entry.1.Name=k1", "Attrs.entry.1.Value=v1", "FlatAttrs.1.key=a", "FlatAttrs.1.value=1",
    "renamedMember=r", "Nested.deep=d", "Nested.Items=", "NestedList.member.1.deep=e",
    "NestedList.member.1.Items.item.1=i", "When=2024-01-02T03%3A04%3A05Z", "WhenEpoch=1704164645",
    "Data=aGnDqQ%3D%3D", "Flag=false", "Ratio=0.25", "Count=12" }) do
    T.ok(has[want], "missing " .. want .. " in " .. body)
  end
end)

T.test("empty lists are sent as empty values", function()
  local req = query.build(svc, op, cjson.decode(REQUESTS[2]))
  T.same(sorted_pairs(req.body), sorted_pairs("Action=Put&Version=2020-01-01&renamedMember=only&Wrapped=&Flat="))
end)

if have_botocore then
  for i, params in ipairs(REQUESTS) do
    T.test("synthetic request " .. i .. " equals botocore's", function()
      local req = query.build(svc, op, cjson.decode(params))
      T.same(sorted_pairs(req.body), sorted_pairs(truth.bodies[i]))
    end)
  end
else
  print("note: botocore is not importable; skipping the cross-checks")
end

T.test("replies: flattened lists and maps, wrapped lists, renamed members, scalars", function()
  local r = query.parse(svc, op, { status = 200, headers = {}, body = RESPONSE })
  T.same(r.Flat, { "a", "b" })
  T.same(r.FlatNoName, { "x" }, "one flattened element is still a list")
  T.same(r.Wrapped, { "1", "2" })
  T.same(r.Attrs, { k1 = "v1", k2 = "v2" })
  T.same(r.FlatAttrs, { a = 1, b = 2 })
  T.eq(math.type(r.FlatAttrs.a), "integer")
  T.eq(r.Renamed, "r")
  T.same(r.Nested, { Deep = "d", Items = {} })
  T.same(r.NestedList, { { Deep = "e" }, { Deep = "f", Items = { "z" } } })
  T.eq(r.When, "2024-01-01T00:00:00.250Z")
  T.eq(r.Data, "hi")
  T.eq(r.Flag, true)
  T.eq(r.Ratio, 1.5)
  T.eq(r.Count, 42)
  T.eq(r.Missing, nil, "absent lists are absent, not empty")
  T.eq(r.ResponseMetadata.RequestId, "rid-1")
end)

if have_botocore then
  T.test("synthetic reply equals botocore's parse", function()
    local r = query.parse(svc, op, { status = 200, headers = {}, body = RESPONSE })
    r.ResponseMetadata = nil
    r.When = shared.parse_timestamp(r.When)
    r.Data = { base64 = shared.base64_encode(r.Data) }
    local want = truth.parsed
    want.ResponseMetadata = nil
    T.same(r, want)
  end)
end

T.test("large integers stay exact", function()
  local r = query.parse(svc, op, { status = 200, headers = {},
    body = "<PutResponse><PutResult><Count>9007199254740993</Count></PutResult></PutResponse>" })
  T.eq(r.Count, 9007199254740993)
  local req = query.build(svc, op, { Renamed = "r", Count = 9007199254740993 })
  T.match(req.body, "Count=9007199254740993")
end)

os.execute("rm -rf " .. tmp)

---------------------------------------------------------------------------------------------
-- Real services

T.test("request shape: POST / with a form body and the query content type", function()
  local sts = model.load("sts")
  local req = query.build(sts, sts:operation("GetCallerIdentity"), nil)
  T.eq(req.method, "POST")
  T.eq(req.path, "/")
  T.eq(req.query, nil)
  T.same(req.headers, { { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" } })
  T.eq(req.body, "Action=GetCallerIdentity&Version=2011-06-15")
end)

T.test("validation: every problem in one ParamValidation error", function()
  local iam = model.load("iam")
  local e = T.raises(function()
    query.build(iam, iam:operation("CreateRole"), { RoleNmae = "x", MaxSessionDuration = "3600", Tags = { { Key = 1 } } })
  end)
  T.eq(e.code, "ParamValidation")
  T.eq(e.operation, "CreateRole")
  T.eq(e.message, 'Parameter validation failed: Missing required parameter in input: "RoleName"; '
    .. 'Missing required parameter in input: "AssumeRolePolicyDocument"; '
    .. 'Invalid type for parameter MaxSessionDuration, value: "3600", type: string, valid types: integer; '
    .. 'Missing required parameter in Tags[1]: "Value"; '
    .. 'Invalid type for parameter Tags[1].Key, value: 1, type: integer, valid types: string; '
    .. 'Unknown parameter in input: "RoleNmae" (did you mean "RoleName"?)')
  T.eq(#e.problems, 6)
  T.ok(not tostring(e):find("\n"), "one line")
end)

T.test("validation: lists must be arrays, structures tables, timestamps parseable", function()
  local asg = model.load("autoscaling")
  local op2 = asg:operation("PutScheduledUpdateGroupAction")
  local e = T.raises(function()
    query.build(asg, op2, { AutoScalingGroupName = "g", ScheduledActionName = "s", StartTime = "tomorrow" })
  end)
  T.match(e.message, "Invalid type for parameter StartTime, value: \"tomorrow\"")
  local e2 = T.raises(function()
    query.build(asg, asg:operation("DescribeAutoScalingGroups"), { AutoScalingGroupNames = { a = "x" } })
  end)
  T.match(e2.message, "Invalid type for parameter AutoScalingGroupNames, value: a table, type: table, valid types: list")
  local e3 = T.raises(function() query.build(asg, asg:operation("DescribeAutoScalingGroups"), "web") end)
  T.eq(e3.code, "ParamValidation")
end)

T.test("timestamps accept epoch numbers and offsets", function()
  local asg = model.load("autoscaling")
  local op2 = asg:operation("PutScheduledUpdateGroupAction")
  local req = query.build(asg, op2, { AutoScalingGroupName = "g", ScheduledActionName = "s",
    StartTime = 1704164645, EndTime = "2024-01-02T12:04:05+09:00" })
  T.match(req.body, "StartTime=2024%-01%-02T03%%3A04%%3A05Z")
  T.match(req.body, "EndTime=2024%-01%-02T03%%3A04%%3A05Z")
end)

T.done()
