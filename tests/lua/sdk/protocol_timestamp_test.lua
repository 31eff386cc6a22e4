-- protocol_timestamp_test: ISO 8601, epoch and RFC 822 both ways; out-of-range values never raise.
-- luacheck: no max line length (fixtures: wire forms read best unbroken)
local T = require "testing"
local timestamp = require "luaws.sdk.protocol.timestamp"

T.test("timestamps: ISO 8601, epoch, RFC 822 both ways; never raise", function()
  T.eq(timestamp.parse("2015-10-21T07:28:00Z"), 1445412480)
  T.eq(timestamp.parse("Wed, 21 Oct 2015 07:28:00 GMT"), 1445412480)
  T.eq(timestamp.parse("1445412480"), 1445412480)
  T.eq(timestamp.parse("2015-10-21T09:28:00+02:00"), 1445412480)
  T.eq(timestamp.format(1445412480.5, "iso8601"), "2015-10-21T07:28:00.500000Z")
  T.eq(timestamp.format(1445412480, "rfc822"), "Wed, 21 Oct 2015 07:28:00 GMT")
  T.eq(timestamp.format("2015-10-21T07:28:00Z", "unixTimestamp"), 1445412480)
  T.eq(timestamp.format(-62135596800), "0001-01-01T00:00:00Z")
  for _, bad in ipairs { 18e300, 0 / 0, math.huge, "2015-13-01", "soon", {} } do
    local ok, v, err = pcall(timestamp.iso, bad)
    T.ok(ok, "never raises")
    T.eq(v, nil)
    T.ok(type(err) == "string")
  end
end)

T.done()
