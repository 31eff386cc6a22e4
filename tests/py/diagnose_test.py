#!/usr/bin/env python3
"""diagnose_test: `luaws run diagnose-asg` (the doctor) on the local cloud, signature checking on.

The broken blog scenario names the missing grant and the fixing command (exit 1); after the
flagship's --apply the group is healthy (exit 0); a disabled key, a missing custom-suffix role and
the console's conditional CreateGrant statement are each pinpointed; without --key-profile or
without IAM permissions the doctor says what it could not check; an unknown group is bad input
(exit 2); a pinned launch template version is followed. boto3 sets the scene and observes.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("LUAWS_SOURCE_DIR", "."), "localcloud"))

import scenario  # noqa: E402
import testkit  # noqa: E402

LUAWS = os.environ.get("LUAWS_BIN", "build/luaws")
RECIPE = "diagnose-asg"

checks = testkit.Checks()
cloud = testkit.Cloud()


class Run:
    """One luaws process: exit code, stdout, stderr, and the JSON report when --output json."""

    def __init__(self, env, *args, recipe=RECIPE):
        process = subprocess.run([LUAWS, "run", recipe, *args], env=env, capture_output=True,
                                 text=True, timeout=120)
        self.code, self.out, self.err = process.returncode, process.stdout, process.stderr
        self.report = None
        if "--output" in args and self.out.strip():
            self.report = json.loads(self.out)

    @property
    def result(self):
        return (self.report or {}).get("result") or {}

    def codes(self):
        return [p["code"] for p in self.result.get("problems", [])]

    def __repr__(self):
        return f"exit {self.code}\nstdout: {self.out}\nstderr: {self.err}"


def write_profiles(summary, extra=None):
    """AWS config/credentials for the seeded accounts (plus `extra` profiles) and luaws's env."""
    directory = testkit.temp_dir()
    creds = dict(cloud.credentials, **(extra or {}))
    config, credentials = scenario.write_profiles(directory, dict(summary, credentials=creds))
    with open(config, "a", encoding="utf-8") as c, open(credentials, "a", encoding="utf-8") as k:
        for name, entry in (extra or {}).items():
            c.write(f"[profile {name}]\nregion = {summary['region']}\n\n")
            k.write(f"[{name}]\naws_access_key_id = {entry['access_key_id']}\n"
                    f"aws_secret_access_key = {entry['secret_access_key']}\n\n")
    env = dict(os.environ, AWS_CONFIG_FILE=config, AWS_SHARED_CREDENTIALS_FILE=credentials,
               AWS_ENDPOINT_URL=cloud.url, LUAWS_BACKUP_DIR=os.path.join(directory, "backups"),
               HOME=directory, AWS_MAX_ATTEMPTS="1", LUAWS_POLICY_SETTLE="0.05")
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    return env


def seeded(**options):
    summary = cloud.seed(**options)
    return summary, write_profiles(summary)


DOCTOR = ["--profile", "target", "--asg-name", "web-asg", "--output", "json"]
WITH_KEYS = DOCTOR + ["--key-profile", "source"]
FIX = ("luaws run cross-account-ami-asg --source-profile source --target-profile target "
       "--asg-name web-asg --apply")

summary, env = seeded(source_account="111111111111", target_account="222222222222")
KEY, ROLE, GROUP = summary["key_arn"], summary["service_linked_role_arn"], summary["group_name"]
kms_a = cloud.client("kms", "source")
asg_b = cloud.client("autoscaling", "target")
cloud.set_auth(0)  # from here on every request's signature is checked


def no_traceback(run):
    assert "traceback" not in run.err.lower() and "stack" not in run.err.lower(), run


@checks.case("broken scenario: names the missing grant and the fixing command, exit 1")
def _():
    run = Run(env, *WITH_KEYS)
    assert run.code == 1, run
    assert run.report["status"] == "failed", run
    result = run.result
    assert result["status"] == "broken" and result["healthy"] is False, result
    assert "GrantMissing" in run.codes() and "KeyPolicyMissingStatement" in run.codes(), run.codes()
    missing = [p for p in result["problems"] if p["code"] == "GrantMissing"][0]
    assert missing["key"] == KEY and ROLE in missing["message"], missing
    assert result["fix"] == [FIX], result["fix"]
    key = result["keys"][0]
    assert key["arn"] == KEY and key["state"] == "Enabled" and key["cross_account"] is True, key
    assert key["grant"]["checked"] is True and key["grant"].get("grant_id") is None, key
    assert "kms:CreateGrant" in key["policy"]["missing"], key
    assert result["activities"][0]["kind"] == "kms-access", result["activities"]
    assert result["role"] == {"arn": ROLE, "name": "AWSServiceRoleForAutoScaling", "exists": True}
    no_traceback(run)


@checks.case("text output: the verdict, each problem and the fix on stderr; a result on stdout")
def _():
    run = Run(env, "--profile", "target", "--asg-name", GROUP, "--key-profile", "source")
    assert run.code == 1, run
    assert "VERDICT: group web-asg cannot launch" in run.err, run.err
    assert "no grant on " + KEY + " to AWSServiceRoleForAutoScaling" in run.err, run.err
    assert FIX in run.err, run.err
    assert "status: broken" in run.out, run.out
    for secret in (c["secret_access_key"] for c in cloud.credentials.values()):
        assert secret not in run.out + run.err


@checks.case("without --key-profile: says the snapshot keys are hidden and asks for it")
def _():
    run = Run(env, *DOCTOR)
    assert run.code == 1, run
    result = run.result
    assert result["status"] == "unknown", result
    whats = " | ".join(u["what"] + ": " + u["why"] for u in result["unchecked"])
    assert summary["snapshot_ids"][0] in whats and "--key-profile" in whats, whats
    assert "111111111111" in whats, whats
    no_traceback(run)


@checks.case("nothing is changed by the doctor")
def _():
    before = testkit.key_policy(kms_a, KEY)
    Run(env, *WITH_KEYS)
    assert testkit.key_policy(kms_a, KEY) == before
    assert kms_a.list_grants(KeyId=KEY)["Grants"] == []


@checks.case("after the flagship's --apply: healthy, exit 0")
def _():
    fixed = Run(env, "--source-profile", "source", "--target-profile", "target", "--asg-name", GROUP,
                "--apply", "--output", "json", recipe="cross-account-ami-asg")
    assert fixed.code == 0 and fixed.report["status"] == "applied", fixed
    run = Run(env, *WITH_KEYS)
    assert run.code == 0, run
    result = run.result
    assert result["status"] == "healthy" and result["problems"] == [] and result["fix"] == [], result
    grant = [g for g in kms_a.list_grants(KeyId=KEY)["Grants"] if g["GranteePrincipal"] == ROLE][0]
    assert result["keys"][0]["grant"]["grant_id"] == grant["GrantId"], result["keys"]
    # The failed activity is still the latest (Auto Scaling has not retried yet): said, not counted.
    assert result["activities"][0]["status"] == "Failed"
    assert "does not apply any more" in result["verdict"], result["verdict"]
    cloud.reconcile(GROUP)
    assert testkit.latest_activity(asg_b, GROUP)["StatusCode"] == "Successful"
    run = Run(env, *WITH_KEYS)
    assert run.code == 0 and run.result["activities"][0]["status"] == "Successful", run


@checks.case("a disabled key is pinpointed (exit 1), and enabling it makes the group healthy again")
def _():
    kms_a.disable_key(KeyId=KEY)
    try:
        run = Run(env, *WITH_KEYS)
        assert run.code == 1, run
        assert run.codes() == ["KeyDisabled"], run.codes()
        assert run.result["keys"][0]["state"] == "Disabled"
        assert any("enable-key --key-id " + KEY in line for line in run.result["fix"]), run.result["fix"]
    finally:
        kms_a.enable_key(KeyId=KEY)
    assert Run(env, *WITH_KEYS).code == 0


@checks.case("no IAM permissions: the role check is reported as not checked, no crash")
def _():
    iam_b = cloud.client("iam", "target")
    iam_b.create_user(UserName="auditor")
    iam_b.put_user_policy(UserName="auditor", PolicyName="no-iam", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "autoscaling:*", "ec2:*", "kms:*", "sts:*", "organizations:*"]}]}))
    key = iam_b.create_access_key(UserName="auditor")["AccessKey"]
    limited = write_profiles(summary, {"auditor": {"access_key_id": key["AccessKeyId"],
                                                   "secret_access_key": key["SecretAccessKey"]}})
    run = Run(limited, "--profile", "auditor", "--asg-name", GROUP, "--key-profile", "source",
              "--output", "json")
    assert run.code == 0, run  # the group launches (latest activity Successful): healthy, with a caveat
    assert run.result["role"].get("exists") is None, run.result["role"]
    unchecked = [u for u in run.result["unchecked"] if ROLE in u["what"]]
    assert unchecked and "AccessDenied" in unchecked[0]["why"], run.result["unchecked"]
    assert ROLE in run.err and "could not check" in run.err, run.err
    no_traceback(run)


@checks.case("unknown group: exit 2 with a clear message")
def _():
    run = Run(env, "--profile", "target", "--asg-name", "no-such-group")
    assert run.code == 2, run
    assert "Auto Scaling group 'no-such-group' not found in account 222222222222" in run.err, run
    no_traceback(run)


@checks.case("bad input: missing --asg-name and a bad --activities are exit 2")
def _():
    run = Run(env, "--profile", "target")
    assert run.code == 2 and "--asg-name" in run.err, run
    run = Run(env, "--profile", "target", "--asg-name", GROUP, "--activities", "0")
    assert run.code == 2 and "--activities" in run.err, run


@checks.case("JSON output: one object on stdout with the documented fields")
def _():
    run = Run(env, *WITH_KEYS)
    assert set(run.report) >= {"recipe", "status", "result", "plan"}, run.report.keys()
    assert run.report["recipe"] == RECIPE and run.report["plan"] == []
    result = run.result
    for field in ("group", "account", "status", "healthy", "verdict", "role", "launch", "activities",
                  "keys", "problems", "unchecked", "fix"):
        assert field in result, field
    for field in ("problems", "unchecked", "fix", "launch", "activities", "keys"):
        assert isinstance(result[field], list), field
    launch = result["launch"][0]
    assert launch["image_id"] == summary["image_id"], launch
    assert launch["template_id"] == summary["launch_template_id"] and launch["version_spec"] == "$Latest", launch
    key = result["keys"][0]
    for field in ("arn", "account", "reasons", "state", "manager", "policy", "grant"):
        assert field in key, field
    assert summary["snapshot_ids"][0] in key["reasons"][0], key["reasons"]


# --- the variants ------------------------------------------------------------------------------
@checks.case("missing custom-suffix role is pinpointed (seed --role-suffix X --no-role)")
def _():
    s, e = seeded(source_account="111111111116", target_account="222222222226", role_suffix="batch",
                  no_role=True)
    run = Run(e, *WITH_KEYS)
    assert run.code == 1, run
    assert run.codes()[0] == "RoleMissing", run.codes()
    assert run.result["role"]["arn"] == s["service_linked_role_arn"], run.result["role"]
    assert run.result["role"]["exists"] is False
    assert "AWSServiceRoleForAutoScaling_batch does not exist" in run.result["verdict"], run.result["verdict"]
    assert run.result["fix"] == [FIX], run.result["fix"]
    # The fix it names works: afterwards the doctor is satisfied.
    fixed = Run(e, "--source-profile", "source", "--target-profile", "target", "--asg-name", GROUP,
                "--apply", recipe="cross-account-ami-asg")
    assert fixed.code == 0, fixed
    assert Run(e, *WITH_KEYS).code == 0


@checks.case("console's conditional CreateGrant statement is pinpointed by its Sid")
def _():
    s, e = seeded(source_account="111111111114", target_account="222222222224", console_policy=True)
    run = Run(e, *WITH_KEYS)
    assert run.code == 1, run
    assert "ConsoleGrantCondition" in run.codes(), run.codes()
    trap = [p for p in run.result["problems"] if p["code"] == "ConsoleGrantCondition"][0]
    assert "'Allow attachment of persistent resources'" in trap["message"], trap
    assert "GrantIsForAWSResource" in trap["message"], trap
    assert run.result["keys"][0]["policy"]["console_trap"] == ["Allow attachment of persistent resources"]
    # The use actions are there: only the unconditional CreateGrant is missing.
    assert run.result["keys"][0]["policy"]["missing"] == ["kms:CreateGrant"], run.result["keys"]


@checks.case("an organization-wide key policy without kms:CreateGrant is pinpointed (seed --org)")
def _():
    s, e = seeded(source_account="111111111117", target_account="222222222227", org=True)
    kms = cloud.client("kms", "source")
    policy = testkit.key_policy(kms, s["key_arn"])
    policy["Statement"].append({
        "Sid": "OrgUse", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": scenario.USE_ACTIONS,
        "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": s["organization_id"]}}})
    testkit.put_policy(kms, s["key_arn"], policy)
    run = Run(e, *WITH_KEYS)
    assert run.code == 1, run
    assert run.result["organization_id"] == s["organization_id"], run.result
    assert "OrgPolicyWithoutCreateGrant" in run.codes(), run.codes()
    key = run.result["keys"][0]
    assert key["policy"]["missing"] == ["kms:CreateGrant"] and key["policy"]["org_statement"] is True, key


@checks.case("a KmsKeyId in the template's block devices: the group's own key is checked too")
def _():
    s, e = seeded(source_account="111111111118", target_account="222222222228")
    own_key = cloud.client("kms", "target").create_key(Description="B's data key")["KeyMetadata"]["Arn"]
    cloud.client("ec2", "target").create_launch_template_version(
        LaunchTemplateId=s["launch_template_id"], SourceVersion="1", LaunchTemplateData={
            "ImageId": s["image_id"], "BlockDeviceMappings": [{"DeviceName": "/dev/xvdb", "Ebs": {
                "VolumeSize": 8, "Encrypted": True, "KmsKeyId": own_key}}]})
    run = Run(e, *WITH_KEYS)
    assert run.code == 1, run
    keys = {k["arn"]: k for k in run.result["keys"]}
    assert set(keys) == {s["key_arn"], own_key}, keys.keys()
    assert keys[own_key]["cross_account"] is False and "block device /dev/xvdb" in keys[own_key]["reasons"][0]
    assert run.result["launch"][0]["version"] == "2", run.result["launch"]
    own = [p for p in run.result["problems"] if p.get("key") == own_key]
    assert [p["code"] for p in own] == ["GrantMissing"], own
    assert any(line.startswith("luaws run same-account-asg --profile target --asg-name web-asg --apply")
               for line in run.result["fix"]), run.result["fix"]


@checks.case("a pinned launch template version is followed (version 2 with an AMI B cannot see)")
def _():
    s, e = seeded(source_account="111111111115", target_account="222222222225")
    ec2_b = cloud.client("ec2", "target")
    version = ec2_b.create_launch_template_version(
        LaunchTemplateId=s["launch_template_id"], SourceVersion="1",
        LaunchTemplateData={"ImageId": "ami-0123456789abcdef0"})["LaunchTemplateVersion"]["VersionNumber"]
    cloud.client("autoscaling", "target").update_auto_scaling_group(
        AutoScalingGroupName=GROUP, LaunchTemplate={"LaunchTemplateId": s["launch_template_id"],
                                                    "Version": str(version)})
    run = Run(e, *WITH_KEYS)
    assert run.code == 1, run
    assert run.result["launch"][0]["version"] == str(version), run.result["launch"]
    assert run.codes() == ["ImageNotVisible"], run.codes()
    assert "ami-0123456789abcdef0" in run.result["verdict"], run.result["verdict"]


@checks.case("luaws help diagnose-asg: read-only, arguments and examples")
def _():
    process = subprocess.run([LUAWS, "help", RECIPE], env=env, capture_output=True, text=True, timeout=30)
    assert process.returncode == 0, process
    for needle in ("read-only", "--asg-name", "--key-profile", "Example:", "--output json"):
        assert needle in process.stdout, needle


cloud.stop()
sys.exit(checks.done())
