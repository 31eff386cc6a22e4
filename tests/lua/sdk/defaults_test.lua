-- defaults_test: aws.defaults reach every new client, and an explicit option still wins.
local T = require "testing"
local defaults = require "luaws.sdk.defaults"

T.test("a client takes region and endpoint from the defaults unless given its own", function()
  defaults.region, defaults.endpoint_url = "eu-west-3", "http://127.0.0.1:9"
  local c = aws.client("sts", { credentials = { access_key = "AKID", secret_key = "s" } })
  T.eq(c.region, "eu-west-3")
  T.eq(c.endpoint.url, "http://127.0.0.1:9")
  local own = aws.client("sts", { region = "us-west-2", credentials = { access_key = "AKID", secret_key = "s" } })
  T.eq(own.region, "us-west-2")
  defaults.region, defaults.endpoint_url = nil, nil
end)

T.done()
