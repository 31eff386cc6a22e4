-- provider_test: credential objects never show their secrets; times parse; static providers.
local T = require "testing"
local fx = require "credfix"
local credentials = fx.credentials
local cjson = fx.cjson
local env = fx.env
local chain = fx.chain

T.test("credentials never print, encode or iterate their secrets", function()
  local c = credentials.new { access_key = "AKIAEXAMPLEKEY1234", secret_key = "TOPSECRET",
    session_token = "SESSIONTOKEN", source = "test", expiration = "2030-01-01T00:00:00Z" }
  T.eq(c.secret_key, "TOPSECRET")
  T.eq(c.session_token, "SESSIONTOKEN")
  T.eq(c.expiration, 1893456000)
  local printed = tostring(c)
  T.match(printed, "^Credentials%(")
  T.match(printed, "1234")
  local shown = { printed, cjson.encode(c), cjson.encode { nested = { c } } }
  local has_pretty, pretty = pcall(require, "luaws.core.pretty")
  if has_pretty then shown[#shown + 1] = pretty.format { creds = c } end
  for _, text in ipairs(shown) do
    T.ok(not text:find("TOPSECRET") and not text:find("SESSIONTOKEN"), text)
  end
  for k, v in pairs(c) do
    T.ok(v ~= "TOPSECRET" and v ~= "SESSIONTOKEN", "pairs() shows " .. tostring(k))
  end
  T.ok(not printed:find("AKIAEXAMPLEKEY1234", 1, true), "the access key id is masked")
  T.eq(getmetatable(c).__name, "luaws.Credentials")
  T.eq(T.raises(function() credentials.new { access_key = "A" } end).code, "PartialCredentials")
end)

T.test("parse_time reads ISO 8601 in UTC, with fractions and offsets", function()
  T.eq(credentials.parse_time("1970-01-01T00:00:00Z"), 0)
  T.eq(credentials.parse_time("2024-02-29T12:34:56Z"), 1709210096)
  T.eq(credentials.parse_time("2024-02-29T12:34:56.789Z"), 1709210096)
  T.eq(credentials.parse_time("2024-02-29T14:34:56+02:00"), 1709210096)
  T.eq(credentials.parse_time(1709210096), 1709210096)
  T.eq(credentials.parse_time("yesterday"), nil)
  T.eq(credentials.format_time(1709210096), "2024-02-29T12:34:56Z")
end)

T.test("static provider and an explicit credentials option", function()
  env { AWS_ACCESS_KEY_ID = "AKIAENV", AWS_SECRET_ACCESS_KEY = "env-secret" }
  local p = credentials.static { access_key = "AKIASTATIC", secret_key = "s" }
  T.eq(p:get().access_key, "AKIASTATIC")
  T.eq(p:get().source, "static")
  T.eq(chain { credentials = { access_key = "AKIAOPT", secret_key = "o" } }.access_key, "AKIAOPT")
  T.eq(chain { credentials = p }.access_key, "AKIASTATIC")
end)

fx.finish()
T.done()
