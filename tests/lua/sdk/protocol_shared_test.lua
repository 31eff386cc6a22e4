-- protocol_shared_test: protocol.shared's helpers: timestamps through protocol.timestamp, numbers, headers, XML.
local T = require "testing"
local shared = require "luaws.sdk.protocol.shared"

T.test("timestamps: parse and format delegate to protocol.timestamp; out of range is an error table", function()
  T.eq(shared.parse_timestamp("2015-10-21T07:28:00Z"), 1445412480)
  T.eq(shared.parse_timestamp("Wed, 21 Oct 2015 07:28:00 GMT"), 1445412480)
  T.eq(shared.parse_timestamp(18e300), nil)
  T.eq(shared.format_timestamp(1445412480, "rfc822"), "Wed, 21 Oct 2015 07:28:00 GMT")
  T.eq(shared.format_timestamp(1445412480.25), "2015-10-21T07:28:00.250000Z")
  T.eq(shared.iso_timestamp(1445412480.25), "2015-10-21T07:28:00.25Z")
  local ok, e = pcall(shared.iso_timestamp, 18e300)
  T.ok(not ok)
  T.eq(e.code, "ResponseParseError")
  ok, e = pcall(shared.format_timestamp, 0 / 0)
  T.ok(not ok)
  T.eq(e.code, "ParamValidation")
end)

T.test("number_text prints as Python's str() does", function()
  T.eq(shared.number_text(3), "3")
  T.eq(shared.number_text(2.0), "2.0")
  T.eq(shared.number_text(1e20), "1e+20")
  T.eq(shared.number_text(0 / 0), "NaN")
  T.eq(shared.number_text(-math.huge), "-Infinity")
end)

T.test("header lookups ignore case; XML helpers find children", function()
  local res = { headers = { ["X-Amzn-RequestId"] = "r1" } }
  T.eq(shared.header(res, "x-amzn-requestid"), "r1")
  T.same(shared.lower_headers(res), { ["x-amzn-requestid"] = "r1" })
  local root = shared.decode_xml("<a:Root xmlns:a='u'><Child>t</Child></a:Root>")
  T.eq(shared.local_name(root), "Root")
  T.eq(shared.text(shared.child(root, "Child")), "t")
end)

T.test("prepare fills idempotency tokens and validates (protocol.validate)", function()
  local model = require "luaws.sdk.model"
  local kms = model.load("kms")
  local ok, e = pcall(shared.prepare, kms, kms:operation("CreateKey"), { Tags = { { TagKey = 1 } } })
  T.ok(not ok)
  T.match(e.message, "Tags%[1%]%.TagKey")
end)

T.done()
