-- members: credentials for other accounts of an organization, through a role the caller assumes there.
local credentials = require "luaws.sdk.credentials"

local M = {}

local function from_sts(c, source)
  return credentials.new { access_key = c.AccessKeyId, secret_key = c.SecretAccessKey,
                           session_token = c.SessionToken, expiration = c.Expiration, source = source }
end

--- members.assume(sts, role_arn, session_name[, before_call]) -> a credentials provider for the
--- account of role_arn. sts is a client (or anything with :AssumeRole) of the account allowed to
--- assume the role; the first AssumeRole runs now (so a role that cannot be assumed fails here),
--- later ones when the credentials near expiry. before_call() runs before each AssumeRole (a rate
--- limiter, say).
function M.assume(sts, role_arn, session_name, before_call)
  local source = "assumed " .. role_arn
  local function fetch()
    if before_call then before_call() end
    return from_sts(sts:AssumeRole { RoleArn = role_arn, RoleSessionName = session_name }.Credentials, source)
  end
  return credentials.refreshable { initial = fetch(), source = source, fetch = fetch }
end

return M
