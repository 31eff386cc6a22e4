-- launchers_test: service-linked role names and ARNs of every launcher, and recognising them back.
local T = require "testing"
local launchers = require "luaws.domain.launchers"

T.test("role ARNs and names, with and without a custom suffix", function()
  T.eq(launchers.role_arn("444455556666", "aws", "autoscaling"),
       "arn:aws:iam::444455556666:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling")
  local suffixed = launchers.role_arn("444455556666", "aws-cn", "spot-fleet", "team")
  T.eq(suffixed, "arn:aws-cn:iam::444455556666:role/aws-service-role/spotfleet.amazonaws.com/"
                 .. "AWSServiceRoleForEC2SpotFleet_team")
  T.eq(launchers.role_name(suffixed), "AWSServiceRoleForEC2SpotFleet_team")
  T.eq(launchers.role_suffix(suffixed), "team")
  T.eq(launchers.role_suffix(launchers.role_arn("1", "aws", "spot")), nil)
  T.eq(launchers.launcher_role_name("ec2-fleet", "x"), "AWSServiceRoleForEC2Fleet_x")
end)

T.test("launcher_of recognises each launcher's role, and nothing else", function()
  for name in pairs(launchers.LAUNCHERS) do
    T.eq(launchers.launcher_of(launchers.role_arn("111122223333", "aws", name, "s")), name)
  end
  T.eq(launchers.launcher_of("arn:aws:iam::111122223333:role/AWSServiceRoleForAutoScaling"), nil)
  T.eq(launchers.launcher_of("arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/Other"), nil)
  T.eq(launchers.launcher_of(nil), nil)
end)

T.test("unique IDs of deleted principals", function()
  T.ok(launchers.is_unique_id("AROAEXAMPLEID123456"))
  T.ok(not launchers.is_unique_id("arn:aws:iam::1:role/x"))
  T.ok(not launchers.is_unique_id("AROA"))
end)

T.test("find_launcher_role: GetRole first, then a case-insensitive ListRoles", function()
  local function iam(roles, get)
    return {
      GetRole = function(_, p)
        if get then return { Role = { RoleName = p.RoleName } } end
        error(setmetatable({ code = "NoSuchEntity" }, debug.getregistry()["luaws.Error"]), 0)
      end,
      paginate = function() local done = false return function()
        if done then return nil end done = true return { Roles = roles } end end,
    }
  end
  require "luaws.core.errors"
  T.eq(launchers.find_launcher_role(iam({}, true), "autoscaling").RoleName, "AWSServiceRoleForAutoScaling")
  T.eq(launchers.find_launcher_role(iam({ { RoleName = "AWSServiceRoleForAutoscaling" } }), "autoscaling").RoleName,
       "AWSServiceRoleForAutoscaling")
  T.eq(launchers.find_launcher_role(iam({}), "autoscaling", "x"), nil)
  local denied = { GetRole = function() error({ code = "AccessDenied" }, 0) end }
  local ok, e = pcall(launchers.find_launcher_role, denied, "spot")
  T.ok(not ok)
  T.eq(e.code, "AccessDenied")
end)

T.done()
