#!/usr/bin/env python3
"""flagship_story_test: plays the blog's story end to end with `luaws run cross-account-ami-asg`.

A's encrypted AMI is shared with B; RunInstances in B works; B's Auto Scaling group fails with the
recorded activity; the recipe's plan changes nothing; --apply fixes it; the group launches; a rerun
is a no-op; undo brings the failure back; the original key policy statements survive throughout
and the backup file holds the original. Then the variants and bad inputs. boto3 is the independent
observer: it reads what luaws changed on the local cloud (signature checking on).
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("LUAWS_SOURCE_DIR", "."), "localcloud"))

import scenario  # noqa: E402
import testkit  # noqa: E402

LUAWS = os.environ.get("LUAWS_BIN", "build/luaws")
RECIPE = "cross-account-ami-asg"
USE_SID, GRANT_SID = "LuawsCrossAccountUse{}", "LuawsCrossAccountCreateGrant{}"

checks = testkit.Checks()
cloud = testkit.Cloud()


class Run:
    """One luaws process: exit code, stdout, stderr, and the JSON report when --output json."""

    def __init__(self, env, *args):
        process = subprocess.run([LUAWS, "run", RECIPE, *args], env=env, capture_output=True,
                                 text=True, timeout=120)
        self.code, self.out, self.err = process.returncode, process.stdout, process.stderr
        self.report = None
        if "--output" in args and self.out.strip():
            self.report = json.loads(self.out)

    def __repr__(self):
        return f"exit {self.code}\nstdout: {self.out}\nstderr: {self.err}"


def seeded(**options):
    """Seeds a scenario (own accounts per call) and returns (summary, env for luaws)."""
    summary = cloud.seed(**options)
    directory = testkit.temp_dir()
    creds = dict(cloud.credentials)
    config, credentials = scenario.write_profiles(directory, dict(summary, credentials=creds))
    env = dict(os.environ, AWS_CONFIG_FILE=config, AWS_SHARED_CREDENTIALS_FILE=credentials,
               AWS_ENDPOINT_URL=cloud.url, LUAWS_BACKUP_DIR=os.path.join(directory, "backups"),
               HOME=directory, AWS_MAX_ATTEMPTS="1", LUAWS_POLICY_SETTLE="0.05")
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    return summary, env


def statements_by_sid(policy):
    return {s.get("Sid"): s for s in policy["Statement"]}


def grants_to(kms, key, role):
    return [g for g in kms.list_grants(KeyId=key)["Grants"] if g["GranteePrincipal"] == role]


def backups(env):
    root = env["LUAWS_BACKUP_DIR"]
    found = []
    for folder, _, files in os.walk(root):
        found += [os.path.join(folder, f) for f in files]
    return sorted(found)


BASE = ["--source-profile", "source", "--target-profile", "target", "--output", "json"]

# --- the blog, in order ---------------------------------------------------------------------
summary, env = seeded(source_account="111111111111", target_account="222222222222")
A, B, KEY, GROUP = summary["source_account"], summary["target_account"], summary["key_arn"], summary["group_name"]
ROLE = summary["service_linked_role_arn"]
kms_a = cloud.client("kms", "source")
asg_b = cloud.client("autoscaling", "target")
original = testkit.key_policy(kms_a, KEY)
cloud.set_auth(0)  # from here on every request's signature is checked


@checks.case("the group fails to launch with the recorded activity")
def _():
    activity = testkit.latest_activity(asg_b, GROUP)
    assert activity["StatusCode"] == "Failed", activity
    assert "Client.InternalError: Client error on launch" in activity["StatusMessage"], activity


@checks.case("RunInstances in B with A's shared AMI works by hand")
def _():
    ec2_b = cloud.client("ec2", "target")
    ran = ec2_b.run_instances(ImageId=summary["image_id"], MinCount=1, MaxCount=1, InstanceType="t3.micro")
    assert len(ran["Instances"]) == 1


@checks.case("the plan names every change and changes nothing")
def _():
    run = Run(env, *BASE, "--asg-name", GROUP)
    assert run.code == 0, run
    assert run.report["status"] == "planned", run
    actions = [step["action"] for step in run.report["plan"]]
    # Creating the group made AWS create the default service-linked role, so only KMS changes remain.
    assert actions == ["kms:PutKeyPolicy", "kms:CreateGrant"], actions
    assert testkit.key_policy(kms_a, KEY) == original
    assert grants_to(kms_a, KEY, ROLE) == []
    assert backups(env) == [], backups(env)
    assert "rerun with --apply" in run.err, run


@checks.case("--apply fixes it: statements added, backup first, grant created and verified")
def _():
    run = Run(env, *BASE, "--asg-name", GROUP, "--apply")
    assert run.code == 0, run
    assert run.report["status"] == "applied", run
    assert all(step["status"] == "done" for step in run.report["plan"]), run.report["plan"]
    policy = testkit.key_policy(kms_a, KEY)
    by_sid = statements_by_sid(policy)
    for statement in original["Statement"]:
        assert by_sid[statement["Sid"]] == statement, "original statement changed"
    assert USE_SID.format(B) in by_sid and GRANT_SID.format(B) in by_sid, by_sid.keys()
    assert "Condition" not in by_sid[GRANT_SID.format(B)]
    files = backups(env)
    assert len(files) == 1, files
    with open(files[0], encoding="utf-8") as backup:
        assert json.loads(backup.read()) == original
    assert oct(os.stat(files[0]).st_mode & 0o777) == "0o600", oct(os.stat(files[0]).st_mode)
    grants = grants_to(kms_a, KEY, ROLE)
    assert len(grants) == 1, grants
    assert sorted(grants[0]["Operations"]) == sorted(
        ["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
         "GenerateDataKeyWithoutPlaintext", "DescribeKey", "CreateGrant"])
    assert run.report["result"]["keys"][0]["grant_id"] == grants[0]["GrantId"]


@checks.case("the group launches after the fix")
def _():
    cloud.reconcile(GROUP)
    activity = testkit.latest_activity(asg_b, GROUP)
    assert activity["StatusCode"] == "Successful", activity
    group = asg_b.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])["AutoScalingGroups"][0]
    assert len(group["Instances"]) == 1, group["Instances"]


@checks.case("a rerun has nothing to do: no duplicate grant, policy unchanged")
def _():
    before = testkit.key_policy(kms_a, KEY)
    run = Run(env, *BASE, "--asg-name", GROUP, "--apply")
    assert run.code == 0, run
    assert run.report["status"] == "nothing-to-do", run
    assert run.report["plan"] == [], run.report["plan"]
    assert testkit.key_policy(kms_a, KEY) == before
    assert len(grants_to(kms_a, KEY, ROLE)) == 1
    assert len(backups(env)) == 1


@checks.case("undo removes exactly what luaws added and the failure comes back")
def _():
    run = Run(env, *BASE, "--asg-name", GROUP, "--undo", "--apply")
    assert run.code == 0, run
    assert [s["action"] for s in run.report["plan"]] == ["kms:RevokeGrant", "kms:PutKeyPolicy"], run.report
    assert testkit.key_policy(kms_a, KEY) == original
    assert grants_to(kms_a, KEY, ROLE) == []
    asg_b.set_desired_capacity(AutoScalingGroupName=GROUP, DesiredCapacity=2)
    cloud.reconcile(GROUP)
    activity = testkit.latest_activity(asg_b, GROUP)
    assert activity["StatusCode"] == "Failed", activity


@checks.case("text output tells a newcomer what happens")
def _():
    process = subprocess.run([LUAWS, "run", RECIPE, "--source-profile", "source", "--target-profile",
                              "target", "--asg-name", GROUP], env=env, capture_output=True, text=True)
    assert process.returncode == 0, process
    assert "Plan: 2 changes" in process.stderr, process.stderr
    assert "kms:PutKeyPolicy" in process.stderr and "kms:CreateGrant" in process.stderr


# --- variants ---------------------------------------------------------------------------------
@checks.case("custom-suffix service-linked role taken from the group")
def _():
    s, e = seeded(source_account="111111111112", target_account="222222222223", role_suffix="web")
    run = Run(e, *BASE, "--asg-name", s["group_name"], "--apply")
    assert run.code == 0, run
    assert run.report["result"]["role_arn"].endswith("AWSServiceRoleForAutoScaling_web"), run.report
    kms = cloud.client("kms", "source")
    assert len(grants_to(kms, s["key_arn"], s["service_linked_role_arn"])) == 1
    cloud.reconcile(s["group_name"])
    activity = testkit.latest_activity(cloud.client("autoscaling", "target"), s["group_name"])
    assert activity["StatusCode"] == "Successful", activity


@checks.case("a missing custom-suffix role is planned, then created before the grant")
def _():
    s, e = seeded(source_account="111111111116", target_account="222222222227", role_suffix="batch",
                  no_role=True)
    run = Run(e, *BASE, "--asg-name", s["group_name"])
    assert [step["action"] for step in run.report["plan"]] == [
        "iam:CreateServiceLinkedRole", "kms:PutKeyPolicy", "kms:CreateGrant"], run
    run = Run(e, *BASE, "--asg-name", s["group_name"], "--apply")
    assert run.code == 0, run
    iam = cloud.client("iam", "target")
    role = iam.get_role(RoleName="AWSServiceRoleForAutoScaling_batch")["Role"]
    assert role["Arn"] == s["service_linked_role_arn"], role["Arn"]
    cloud.reconcile(s["group_name"])
    activity = testkit.latest_activity(cloud.client("autoscaling", "target"), s["group_name"])
    assert activity["StatusCode"] == "Successful", activity


@checks.case("two snapshots with two keys: both keys fixed")
def _():
    s, e = seeded(source_account="111111111113", target_account="222222222224", two_keys=True)
    run = Run(e, *BASE, "--image-id", s["image_id"], "--apply")
    assert run.code == 0, run
    assert sorted(k["arn"] for k in run.report["result"]["keys"]) == sorted(s["key_arns"])
    kms = cloud.client("kms", "source")
    for key in s["key_arns"]:
        assert len(grants_to(kms, key, s["service_linked_role_arn"])) == 1, key


@checks.case("a key policy with the console's conditional statement: trap explained, statement kept")
def _():
    s, e = seeded(source_account="111111111114", target_account="222222222225", console_policy=True)
    kms = cloud.client("kms", "source")
    before = testkit.key_policy(kms, s["key_arn"])
    run = Run(e, *BASE, "--asg-name", s["group_name"], "--apply")
    assert run.code == 0, run
    assert "GrantIsForAWSResource" in run.err, run.err
    after = statements_by_sid(testkit.key_policy(kms, s["key_arn"]))
    for statement in before["Statement"]:
        assert after[statement["Sid"]] == statement
    cloud.reconcile(s["group_name"])
    activity = testkit.latest_activity(cloud.client("autoscaling", "target"), s["group_name"])
    assert activity["StatusCode"] == "Successful", activity


@checks.case("the blog's five operations are selectable")
def _():
    s, e = seeded(source_account="111111111115", target_account="222222222226")
    run = Run(e, *BASE, "--image-id", s["image_id"], "--operations", "blog", "--apply")
    assert run.code == 0, run
    grants = grants_to(cloud.client("kms", "source"), s["key_arn"], s["service_linked_role_arn"])
    assert sorted(grants[0]["Operations"]) == sorted(testkit.BLOG_OPERATIONS), grants


@checks.case("a retiring principal in B is set on the grant and verified from B")
def _():
    s, e = seeded(source_account="111111111117", target_account="222222222228")
    retiring = f"arn:aws:iam::{s['target_account']}:user/admin"
    run = Run(e, *BASE, "--image-id", s["image_id"], "--retiring-principal", retiring, "--apply")
    assert run.code == 0, run
    grants = grants_to(cloud.client("kms", "source"), s["key_arn"], s["service_linked_role_arn"])
    assert len(grants) == 1 and grants[0].get("RetiringPrincipal") == retiring, grants
    retirable = cloud.client("kms", "target").list_retirable_grants(RetiringPrincipal=retiring)["Grants"]
    assert [g["GrantId"] for g in retirable] == [grants[0]["GrantId"]], retirable


# --- bad inputs -------------------------------------------------------------------------------
def one_line_error(run, code, needle):
    assert run.code == code, run
    lines = [line for line in run.err.splitlines() if line.strip()]
    assert any(needle in line for line in lines), run
    assert "traceback" not in run.err.lower(), run


@checks.case("unknown AMI: exit 1 naming the AMI")
def _():
    one_line_error(Run(env, *BASE, "--image-id", "ami-0123456789abcdef0"), 1, "ami-0123456789abcdef0")


@checks.case("malformed key ARN: exit 2")
def _():
    one_line_error(Run(env, *BASE, "--key-id", "arn:aws:kms:nowhere"), 2, "--key-id")


@checks.case("wrong account (profiles swapped): exit 1 naming the accounts")
def _():
    args = ["--source-profile", "target", "--target-profile", "source", "--image-id", summary["image_id"],
            "--output", "json"]
    one_line_error(Run(env, *args), 1, summary["image_id"])


@checks.case("missing profile: exit 2 naming the profile")
def _():
    args = ["--source-profile", "nosuch", "--target-profile", "target", "--image-id", summary["image_id"]]
    one_line_error(Run(env, *args), 2, "nosuch")


@checks.case("no AMI, key or group given: exit 2")
def _():
    one_line_error(Run(env, "--source-profile", "source", "--target-profile", "target"), 2, "--image-id")


cloud.stop()
sys.exit(checks.done())
