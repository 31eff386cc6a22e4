-- diagnosis_test: the doctor's verdicts from fake accounts: an invisible AMI, a healthy group, denied reads.
local T = require "testing"
local diagnosis = require "luaws.domain.diagnosis"
local errors = require "luaws.core.errors"

local ACCOUNT = "444455556666"

-- A ctx whose clients answer from `answers` ({["service:Operation"] = result or function}); any
-- other call is refused with AccessDenied, as a caller without that permission would be.
local function fake_ctx(answers)
  local ctx = { region = "us-east-1", args = {}, logged = {} }
  function ctx.client(service)
    return setmetatable({}, { __index = function(_, op)
      return function(_, params)
        local answer = answers[service .. ":" .. op]
        if type(answer) == "function" then return answer(params) end
        if answer ~= nil then return answer end
        error(errors.new { code = "AccessDenied", message = "not allowed", service = service, operation = op }, 0)
      end
    end })
  end
  function ctx.log(line) ctx.logged[#ctx.logged + 1] = line end
  return ctx
end

local function group_answers(image_answer)
  return {
    ["sts:GetCallerIdentity"] = { Account = ACCOUNT, Arn = "arn:aws:iam::" .. ACCOUNT .. ":user/me" },
    ["autoscaling:DescribeAutoScalingGroups"] = { AutoScalingGroups = { {
      AutoScalingGroupName = "web", LaunchTemplate = { LaunchTemplateId = "lt-1", Version = "1" } } } },
    ["autoscaling:DescribeScalingActivities"] = { Activities = { { StatusCode = "Failed",
      StatusMessage = "Client.InternalError: Client error on launch", StartTime = "2026-12-01T00:00:00Z" } } },
    ["ec2:DescribeLaunchTemplateVersions"] = { LaunchTemplateVersions = { { LaunchTemplateId = "lt-1",
      LaunchTemplateName = "web", VersionNumber = 1, LaunchTemplateData = { ImageId = "ami-0abc" } } } },
    ["ec2:DescribeImages"] = image_answer,
    ["ec2:GetEbsEncryptionByDefault"] = { EbsEncryptionByDefault = false },
    ["iam:GetRole"] = { Role = { RoleName = "AWSServiceRoleForAutoScaling" } },
  }
end

T.test("an AMI the group's account cannot see is the problem, whatever else was denied", function()
  local ctx = fake_ctx(group_answers { Images = {} })
  local d = diagnosis.examine(ctx, { asg_name = "web", activities = 5 })
  T.eq(d.status, "broken")
  T.eq(d.findings.problems[1].code, "ImageNotVisible")
  T.match(d.verdict, "group web cannot launch")
  T.eq(d.latest.kind, "kms-access")
  T.eq(d.env.account, ACCOUNT)
end)

T.test("an unencrypted, visible image and no failed activity is healthy", function()
  local answers = group_answers { Images = { { ImageId = "ami-0abc", BlockDeviceMappings = {} } } }
  answers["autoscaling:DescribeScalingActivities"] = { Activities = {} }
  local d = diagnosis.examine(fake_ctx(answers), { asg_name = "web", activities = 5 })
  T.eq(d.status, "healthy")
  T.same(d.findings.problems, {})
  T.match(d.verdict, "nothing stops group web")
end)

T.test("a missing group is bad input naming the account", function()
  local answers = group_answers { Images = {} }
  answers["autoscaling:DescribeAutoScalingGroups"] = { AutoScalingGroups = {} }
  local ok, e = pcall(diagnosis.examine, fake_ctx(answers), { asg_name = "nope", activities = 5 })
  T.ok(not ok)
  T.eq(e.code, "GroupNotFound")
  T.eq(e.exit, 2)
  T.match(e.message, ACCOUNT)
  T.ok(diagnosis.FAILURE_KINDS["kms-access"] ~= nil)
end)

T.done()
