-- diagnose-asg: finds why an Auto Scaling group cannot launch its encrypted AMI and names the fix (read-only).
local diagnosis = require "luaws.domain.diagnosis"
local launchers = require "luaws.domain.launchers"

return {
  description = [[
Finds why an Auto Scaling group cannot launch its encrypted AMI, and says which command fixes it.

Read-only. Auto Scaling launches as the group's service-linked role, not as you, so an AMI encrypted
with a customer managed KMS key (often another account's) that launches by hand can still fail in a
group ("Client.InternalError: Client error on launch", "Client.InvalidKMSKey.InvalidState", "encrypted
with an inaccessible AWS KMS key"). The doctor, in the group's account (--profile):

  * reads the group's recent scaling activities and recognises those failures;
  * follows the launch template (version included: $Latest, $Default, a number) or launch
    configuration to the AMI, its snapshots and their KMS keys, plus any KmsKeyId in the template's
    block devices and the account's default EBS encryption key, and takes the role from the group;
  * checks each key: its state, its key policy (does it let the group's account use the key and call
    kms:CreateGrant, or is the console's kms:GrantIsForAWSResource condition in the way; an
    organization-wide aws:PrincipalOrgID statement counts), the grants to the role, and the role's
    existence.

Another account's snapshots hide their KMS key, and only the key owner reads a key policy or lists
its grants: give --key-profile (the key owner's profile) for a complete diagnosis. Without it the
doctor says what it could not check and why, as it does on any AccessDenied.

Verdict: which key, which statement or grant is missing, and the `luaws run cross-account-ami-asg`
command that fixes it. With --output json the same findings are in "result" (status, problems,
unchecked, keys, role, launch, activities, fix). Exit 0: nothing stops the group launching (a
failure recorded before the fix stays in the history until Auto Scaling retries); 1: a cause was
found, or launches fail and something could not be checked; 2: bad input (unknown group).]],
  categories = { "read-only", "diagnose", "kms", "autoscaling", "cross-account" },
  args = {
    { name = "asg-name", type = "string", required = true, help = "the Auto Scaling group (in --profile's account)" },
    { name = "key-profile", type = "profile",
      help = "profile of the key owner's account: reads snapshot keys, key policies and grants there" },
    { name = "activities", type = "integer", default = "10", min = 1, max = 100,
      help = "how many recent scaling activities to read" },
  },
  examples = {
    "--profile workload --asg-name web",
    "--profile workload --asg-name web --key-profile owner --output json",
  },
  run = function(ctx)
    local a = ctx.args
    local d = diagnosis.examine(ctx, a)
    local env, f, keys, fixes, status, verdict = d.env, d.findings, d.keys, d.fixes, d.status, d.verdict
    local sources, activities, role_exists = d.sources, d.activities, d.role_exists
    local list = diagnosis.list

    ctx.log("")
    ctx.log("VERDICT: " .. verdict)
    for i, p in ipairs(f.problems) do ctx.log(string.format("  %d. [%s] %s", i, p.code, p.message)) end
    for _, u in ipairs(f.unchecked) do ctx.log("  could not check " .. u.what .. ": " .. u.why) end
    for _, n in ipairs(f.notes) do ctx.log("  note: " .. n) end
    if #fixes > 0 then
      ctx.log("fix:")
      for _, line in ipairs(fixes) do ctx.log("  " .. line) end
    end

    local key_results = list()
    for _, k in ipairs(keys) do
      key_results[#key_results + 1] = {
        arn = k.arn, account = k.account, reasons = k.reasons, state = k.state, manager = k.manager,
        cross_account = k.cross_account,
        policy = { checked = k.policy.checked, missing = list(k.policy.missing),
                   console_trap = list(k.policy.console_trap), names_role = k.policy.names_role,
                   org_statement = k.policy.org_statement },
        grant = { checked = k.grant.checked, via = k.grant.via, grant_id = k.grant.grant_id,
                  missing = list(k.grant.missing) },
      }
    end
    local problems = list()
    for _, p in ipairs(f.problems) do problems[#problems + 1] = { code = p.code, message = p.message, key = p.key } end
    local launch = list()
    for _, s in ipairs(sources) do
      launch[#launch + 1] = { source = s.source, image_id = s.image_id, template_id = s.template_id,
                              version = s.version, version_spec = s.version_spec }
    end
    local activity_list = list()
    for _, x in ipairs(activities) do
      activity_list[#activity_list + 1] = { status = x.status, message = x.message, start = x.start, kind = x.kind }
    end
    ctx.result({
      group = a.asg_name, account = env.account, status = status, healthy = status == "healthy", verdict = verdict,
      role = { arn = env.role_arn, name = launchers.role_name(env.role_arn), exists = role_exists },
      launch = launch, activities = activity_list, keys = key_results, problems = problems,
      unchecked = list(f.unchecked), notes = list(f.notes), fix = list(fixes), organization_id = env.org_id,
    }, { text = { group = a.asg_name, status = status, fix = fixes } })
    if status ~= "healthy" then ctx.fail(verdict) end
  end,
}
