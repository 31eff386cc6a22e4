-- protocol_test: the protocol table: botocore's priority order, stand-ins skipped and reported.
local T = require "testing"
local protocol = require "luaws.sdk.protocol"

T.test("resolve follows botocore's priority over metadata.protocols, else metadata.protocol", function()
  T.eq(protocol.resolve { protocol = "json", metadata = { protocols = { "smithy-rpc-v2-cbor", "json" } } }, "json")
  T.eq(protocol.resolve { protocol = "query", metadata = { protocols = { "query", "json" } } }, "json")
  T.eq(protocol.resolve { protocol = "rest-xml", metadata = {} }, "rest-xml")
  T.same(protocol.PRIORITY, { "json", "rest-json", "rest-xml", "smithy-rpc-v2-cbor", "query", "ec2" })
end)

T.test("module_for gives each implemented module; unknown names say so", function()
  for _, name in ipairs { "json", "rest-json", "rest-xml", "query", "ec2" } do
    local mod = protocol.module_for(name)
    T.ok(mod and mod.build and mod.parse and mod.parse_error, name)
  end
  local mod, why = protocol.module_for("rest-yaml")
  T.eq(mod, nil)
  T.match(why, "unknown protocol")
end)

T.test("for_service falls back to another listed protocol when botocore's choice is a stand-in", function()
  package.loaded["luaws.sdk.protocol.rest-json"] = protocol.unsupported("rest-json")
  local svc = { name = "x", metadata = { protocols = { "rest-json", "query" } }, protocol = "rest-json" }
  T.eq(protocol.for_service(svc), require "luaws.sdk.protocol.query")
  svc.metadata.protocols = { "rest-json" }
  local ok, e = pcall(protocol.for_service, svc)
  T.ok(not ok)
  T.eq(e.code, "UnsupportedProtocol")
  T.match(e.message, "x speaks the rest%-json protocol")
  package.loaded["luaws.sdk.protocol.rest-json"] = nil
end)

T.done()
