-- testkit.sso: testkit.cloud{sso = true}: the seeded profiles as signed-in IAM Identity Center profiles.
local M = {}

--- sso.write_profiles(cloud): profiles "source" and "target" become IAM Identity Center profiles
--- (sso-session "localcloud", role "Admin" assigned in the local cloud's SSO emulator) in place of
--- access keys; the credentials file is emptied. Returns true.
function M.write_profiles(cloud)
  local fs = require "luaws.fs"
  cloud:api("/localcloud-api/sso/seed", { assignments = {
    { account = cloud.source_account, role_name = "Admin" },
    { account = cloud.target_account, role_name = "Admin" } } })
  local lines = {}
  for _, p in ipairs { { "source", cloud.source_account }, { "target", cloud.target_account } } do
    lines[#lines + 1] = string.format("[profile %s]\nsso_session = localcloud\nsso_account_id = %s\n"
      .. "sso_role_name = Admin\nregion = %s\n", p[1], p[2], cloud.region)
  end
  lines[#lines + 1] = string.format("[sso-session localcloud]\nsso_start_url = https://localcloud.awsapps.com/start\n"
    .. "sso_region = %s\nsso_registration_scopes = sso:account:access\n", cloud.region)
  os.remove(cloud.config_file)
  os.remove(cloud.credentials_file)
  assert(fs.write_private(cloud.config_file, table.concat(lines, "\n")))
  assert(fs.write_private(cloud.credentials_file, ""))
  return true
end

--- sso.sign_in(cloud): signs the "localcloud" sso-session in as `luaws sso login
--- --use-device-code` would, the user's approval played here; the token lands in the cloud's own
--- ~/.aws/sso/cache (the environment must already point HOME at cloud.dir).
function M.sign_in(cloud)
  local cfg = require("luaws.sdk.credentials.sso").session_config("localcloud", {})
  local wire = require "luaws.sdk.credentials.sso_wire"
  local credentials = require "luaws.sdk.credentials"
  local reg = wire.oidc(cfg, "RegisterClient", { clientName = "luaws-testkit", clientType = "public" })
  local auth = wire.oidc(cfg, "StartDeviceAuthorization", { clientId = reg.clientId,
    clientSecret = reg.clientSecret, startUrl = cfg.sso_start_url })
  cloud:api("/localcloud-api/sso/approve", { user_code = auth.userCode })
  local token = wire.oidc(cfg, "CreateToken", { clientId = reg.clientId, clientSecret = reg.clientSecret,
    grantType = "urn:ietf:params:oauth:grant-type:device_code", deviceCode = auth.deviceCode })
  require("luaws.sdk.credentials.sso_token").write(cfg, { startUrl = cfg.sso_start_url, region = cfg.sso_region,
    accessToken = token.accessToken, refreshToken = token.refreshToken, clientId = reg.clientId,
    clientSecret = reg.clientSecret, expiresAt = credentials.format_time(credentials.now() + token.expiresIn),
    registrationExpiresAt = credentials.format_time(reg.clientSecretExpiresAt) })
end

return M
