-- members_test: a member account's credentials come from AssumeRole now and again near expiry.
local T = require "testing"
local members = require "luaws.domain.members"

local function fake_sts(calls, expiration)
  return { AssumeRole = function(_, params)
    calls[#calls + 1] = params.RoleArn .. " " .. params.RoleSessionName
    return { Credentials = { AccessKeyId = "ASIA" .. #calls, SecretAccessKey = "s" .. #calls,
                             SessionToken = "t", Expiration = expiration } }
  end }
end

T.test("the role is assumed at once, and the credentials hide their secret", function()
  local calls, limited = {}, 0
  local provider = members.assume(fake_sts(calls, os.time() + 3600), "arn:aws:iam::111122223333:role/r", "luaws",
                                  function() limited = limited + 1 end)
  T.same(calls, { "arn:aws:iam::111122223333:role/r luaws" })
  T.eq(limited, 1)
  local c = provider:get()
  T.eq(c.access_key, "ASIA1")
  T.ok(not tostring(c):find("s1", 1, true), tostring(c))
  provider:get()
  T.eq(#calls, 1, "fresh credentials are reused")
end)

T.test("credentials near expiry are fetched again", function()
  local calls = {}
  local provider = members.assume(fake_sts(calls, os.time() + 5), "arn:aws:iam::111122223333:role/r", "s")
  T.eq(provider:get().access_key, "ASIA2")
  T.eq(#calls, 2)
end)

T.test("a role that cannot be assumed fails at once", function()
  local sts = { AssumeRole = function() error({ code = "AccessDenied" }, 0) end }
  local ok, e = pcall(members.assume, sts, "arn:aws:iam::1:role/x", "s")
  T.ok(not ok)
  T.eq(e.code, "AccessDenied")
end)

T.done()
