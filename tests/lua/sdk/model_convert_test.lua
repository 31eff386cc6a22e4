-- model_convert_test: botocore JSON becomes the same model data the generator writes: key order,
-- inlined scalars, serialisation traits, paginators, docs; broken JSON is a message, not a crash.
local T = require "testing"
local convert = require "luaws.sdk.model_convert"

local SERVICE2 = [[{
  "metadata": {"apiVersion": "2026-01-01", "protocol": "json", "jsonVersion": "1.1",
               "targetPrefix": "Tiny", "signingName": "tiny", "endpointPrefix": "tiny", "serviceId": "Tiny"},
  "operations": {
    "ListThings": {"name": "ListThings", "http": {"method": "POST", "requestUri": "/"},
                   "input": {"shape": "ListThingsRequest"}, "output": {"shape": "ListThingsResponse"},
                   "documentation": "<p>Lists the things. More text.</p>"}
  },
  "shapes": {
    "ListThingsRequest": {"type": "structure", "required": ["Zone"],
      "members": {"Zone": {"shape": "Name", "documentation": "<p>The zone.</p>"},
                  "NextToken": {"shape": "Name"}, "Limit": {"shape": "Count"}}},
    "ListThingsResponse": {"type": "structure", "members": {"Things": {"shape": "Things"},
                                                             "NextToken": {"shape": "Name"}}},
    "Things": {"type": "list", "member": {"shape": "Name"}},
    "Name": {"type": "string", "enum": ["a", "b"]},
    "Count": {"type": "integer", "min": 1, "max": 50}
  }
}]]

T.test("decode_json keeps document order and reports broken text", function()
  local doc = assert(convert.decode_json('{"b": 1, "a": {"z": null, "y": [true]}}'))
  T.same(convert.keys(doc), { "b", "a" })
  T.eq(doc.a.z, nil)
  local none, message = convert.decode_json('{"a": ')
  T.eq(none, nil)
  T.eq(type(message), "string")
end)

T.test("a service-2 document becomes model data: operations, structures in member order, paginators", function()
  local service2 = assert(convert.decode_json(SERVICE2))
  local data = convert.model(service2, { ListThings = { input_token = "NextToken", output_token = "NextToken",
                                                        result_key = "Things", limit_key = "Limit" } })
  T.eq(data.metadata.targetPrefix, "Tiny")
  T.eq(data.operations.ListThings.input, "ListThingsRequest")
  local request = data.shapes.ListThingsRequest
  request = type(request) == "string" and load("return " .. request, "=shape", "t", {})() or request
  T.eq(request.members[1][1], "Zone", "members keep the model's order")
  T.eq(request.members[1][2], "string", "scalar shapes are inlined by type")
  T.same(request.required, { "Zone" })
  T.eq(data.paginators.ListThings.result_key, "Things")
end)

T.test("docs: first sentences without HTML, enums and limits", function()
  local docs = convert.docs(assert(convert.decode_json(SERVICE2)))
  T.eq(docs.operations.ListThings, "Lists the things.")
  T.eq(docs.shapes.ListThingsRequest.members.Zone, "The zone.")
  T.same(docs.shapes.Name.enum, { "a", "b" })
  T.eq(docs.shapes.Count.min, 1)
end)

T.done()
