-- whoami: shows the AWS account and principal behind a profile (sts GetCallerIdentity); read-only.
local arn = require "luaws.core.arn"

return {
  description = [[
Shows the AWS account and principal that a profile's credentials belong to.

Calls STS GetCallerIdentity, which every principal may call and which changes nothing, with the
credentials chosen by --profile and --region (or AWS_PROFILE, AWS_REGION and the rest of the usual
resolution). With --expect-account it fails (exit 1) when the credentials belong to another account:
a cheap guard before running a recipe that changes things.]],
  categories = { "read-only", "identity" },
  args = {
    { name = "expect-account", type = "account_id",
      help = "fail unless the credentials belong to this account" },
  },
  examples = { "--profile prod --expect-account 111122223333" },
  run = function(ctx)
    local identity = ctx.client("sts"):GetCallerIdentity {}
    local parsed = arn.parse(identity.Arn)
    ctx.result {
      account = identity.Account,
      arn = identity.Arn,
      user_id = identity.UserId,
      -- "user", "assumed-role", "root", "federated-user": what kind of principal is calling.
      principal_type = parsed and (parsed.resource_type or parsed.resource) or nil,
      profile = ctx.profile,
    }
    local expected = ctx.args.expect_account
    if expected and identity.Account ~= expected then
      ctx.fail(string.format("credentials belong to account %s, not %s", identity.Account, expected))
    end
  end,
}
