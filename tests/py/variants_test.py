#!/usr/bin/env python3
"""variants_test: the shipped variants of the KMS fix, end to end on the local cloud.

same-account-asg: a group whose AMI is encrypted with its own account's key fails to launch; the
plan names one key policy change; --apply adds AWS's two statements naming the service-linked
role (originals kept, backup written); the group launches; a rerun is a no-op; undo restores the
original policy. launcher-role-grant: EC2 Fleet (role present, found under its path), Spot (role
missing: created, then granted) and Auto Scaling (the group launches); reruns are no-ops; undo of
one launcher keeps the account statements the other still needs, the last undo removes them.
boto3 observes what changed (signature checking on).
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("LUAWS_SOURCE_DIR", "."), "localcloud"))

import scenario  # noqa: E402
import testkit  # noqa: E402

LUAWS = os.environ.get("LUAWS_BIN", "build/luaws")

checks = testkit.Checks()
cloud = testkit.Cloud()


class Run:
    """One `luaws run RECIPE ... --output json` process: exit code, stdout, stderr, report."""

    def __init__(self, env, recipe, *args):
        process = subprocess.run([LUAWS, "run", recipe, *args, "--output", "json"], env=env,
                                 capture_output=True, text=True, timeout=120)
        self.code, self.out, self.err = process.returncode, process.stdout, process.stderr
        self.report = json.loads(self.out) if self.out.strip() else None

    @property
    def actions(self):
        return [step["action"] for step in self.report["plan"]]

    def __repr__(self):
        return f"exit {self.code}\nstdout: {self.out}\nstderr: {self.err}"


summary = cloud.seed(source_account="111111111121", target_account="222222222231")
A, B = summary["source_account"], summary["target_account"]
directory = testkit.temp_dir()
config, credentials = scenario.write_profiles(directory, dict(summary, credentials=dict(cloud.credentials)))
env = dict(os.environ, AWS_CONFIG_FILE=config, AWS_SHARED_CREDENTIALS_FILE=credentials,
           AWS_ENDPOINT_URL=cloud.url, LUAWS_BACKUP_DIR=os.path.join(directory, "backups"),
           HOME=directory, AWS_MAX_ATTEMPTS="1", LUAWS_POLICY_SETTLE="0.05")
for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    env.pop(name, None)

# --- B's own encrypted AMI and group (before signature checking starts) -------------------------
kms_b, ec2_b = cloud.client("kms", "target"), cloud.client("ec2", "target")
asg_b, iam_b = cloud.client("autoscaling", "target"), cloud.client("iam", "target")
OWN_KEY = kms_b.create_key(Description="B's own AMI key")["KeyMetadata"]["Arn"]
volume = ec2_b.create_volume(Size=8, AvailabilityZone="us-east-1a", Encrypted=True, KmsKeyId=OWN_KEY)
snapshot = ec2_b.create_snapshot(VolumeId=volume["VolumeId"])["SnapshotId"]
OWN_IMAGE = ec2_b.register_image(Name="own-encrypted", RootDeviceName="/dev/xvda", BlockDeviceMappings=[
    {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snapshot, "VolumeType": "gp3"}}])["ImageId"]
ec2_b.create_launch_template(LaunchTemplateName="own-template",
                             LaunchTemplateData={"ImageId": OWN_IMAGE, "InstanceType": "t3.micro"})
asg_b.create_auto_scaling_group(AutoScalingGroupName="own-asg", MinSize=0, MaxSize=2, DesiredCapacity=1,
                                AvailabilityZones=["us-east-1a"],
                                LaunchTemplate={"LaunchTemplateName": "own-template", "Version": "$Latest"})
ROLE_B = f"arn:aws:iam::{B}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
# EC2 Fleet's role as AWS names it, at its service path (spot's stays missing).
FLEET_ROLE = iam_b.create_role(RoleName="AWSServiceRoleForEC2Fleet", Path="/aws-service-role/ec2fleet.amazonaws.com/",
                               AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                                   "Effect": "Allow", "Principal": {"Service": "ec2fleet.amazonaws.com"},
                                   "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
own_original = testkit.key_policy(kms_b, OWN_KEY)
kms_a = cloud.client("kms", "source")
KEY_A = summary["key_arn"]
a_original = testkit.key_policy(kms_a, KEY_A)
cloud.set_auth(0)

SAME = ["--profile", "target", "--asg-name", "own-asg"]


def sids(policy):
    return {s.get("Sid"): s for s in policy["Statement"]}


def grants_to(role):
    return [g for g in kms_a.list_grants(KeyId=KEY_A)["Grants"] if g["GranteePrincipal"] == role]


def role_at(service):
    roles = iam_b.list_roles(PathPrefix=f"/aws-service-role/{service}/")["Roles"]
    return [r["Arn"] for r in roles]


# --- same-account-asg -------------------------------------------------------------------------
@checks.case("same account: the group fails to launch with its own key")
def _():
    activity = testkit.latest_activity(asg_b, "own-asg")
    assert activity["StatusCode"] == "Failed", activity


@checks.case("same account: the plan is one key policy change and changes nothing")
def _():
    run = Run(env, "same-account-asg", *SAME)
    assert run.code == 0, run
    assert run.report["status"] == "planned" and run.actions == ["kms:PutKeyPolicy"], run
    assert ROLE_B in run.report["plan"][0]["diff"], run.report["plan"][0]
    assert testkit.key_policy(kms_b, OWN_KEY) == own_original


@checks.case("same account: --apply adds AWS's two statements naming the role; the group launches")
def _():
    run = Run(env, "same-account-asg", *SAME, "--apply")
    assert run.code == 0 and run.report["status"] == "applied", run
    after = sids(testkit.key_policy(kms_b, OWN_KEY))
    for statement in own_original["Statement"]:
        assert after[statement["Sid"]] == statement
    added = [s for sid, s in after.items() if sid.startswith("LuawsServiceLinkedRole")]
    assert len(added) == 2, after
    assert all(s["Principal"] == {"AWS": ROLE_B} for s in added), added
    attach = [s for s in added if s["Action"] == "kms:CreateGrant"][0]
    assert attach["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": True}}, attach
    backup = run.report["result"]["keys"][0]["backup"]
    assert json.load(open(backup, encoding="utf-8")) == own_original
    cloud.reconcile("own-asg")
    assert testkit.latest_activity(asg_b, "own-asg")["StatusCode"] == "Successful"


@checks.case("same account: a rerun has nothing to do")
def _():
    run = Run(env, "same-account-asg", *SAME, "--apply")
    assert run.code == 0 and run.report["status"] == "nothing-to-do" and run.report["plan"] == [], run


@checks.case("same account: undo restores the original key policy")
def _():
    run = Run(env, "same-account-asg", *SAME, "--undo", "--apply")
    assert run.code == 0 and run.actions == ["kms:PutKeyPolicy"], run
    assert testkit.key_policy(kms_b, OWN_KEY) == own_original
    run = Run(env, "same-account-asg", *SAME, "--undo", "--apply")
    assert run.report["status"] == "nothing-to-do", run


# --- launcher-role-grant ------------------------------------------------------------------------
CROSS = ["--source-profile", "source", "--target-profile", "target", "--image-id", summary["image_id"]]


@checks.case("ec2-fleet: the role is found by lookup; plan, apply, grant to that role")
def _():
    run = Run(env, "launcher-role-grant", *CROSS, "--launcher", "ec2-fleet")
    assert run.code == 0 and run.actions == ["kms:PutKeyPolicy", "kms:CreateGrant"], run
    assert grants_to(FLEET_ROLE) == []
    run = Run(env, "launcher-role-grant", *CROSS, "--launcher", "ec2-fleet", "--apply")
    assert run.code == 0 and run.report["status"] == "applied", run
    assert run.report["result"]["role_arn"] == FLEET_ROLE, run.report["result"]
    grants = grants_to(FLEET_ROLE)
    assert len(grants) == 1 and len(grants[0]["Operations"]) == 8, grants
    assert run.report["result"]["keys"][0]["grant_id"] == grants[0]["GrantId"]
    assert f"LuawsCrossAccountCreateGrant{B}" in sids(testkit.key_policy(kms_a, KEY_A))


@checks.case("spot: a missing role is planned, created from B, then granted")
def _():
    assert role_at("spot.amazonaws.com") == []
    run = Run(env, "launcher-role-grant", *CROSS, "--launcher", "spot")
    assert run.code == 0 and run.actions == ["iam:CreateServiceLinkedRole", "kms:CreateGrant"], run
    assert role_at("spot.amazonaws.com") == []
    run = Run(env, "launcher-role-grant", *CROSS, "--launcher", "spot", "--apply")
    assert run.code == 0, run
    created = role_at("spot.amazonaws.com")
    assert len(created) == 1 and run.report["result"]["role_arn"] == created[0], (created, run)
    assert run.report["result"]["role_created"] is True
    assert len(grants_to(created[0])) == 1


@checks.case("reruns of both launchers have nothing to do")
def _():
    for launcher in ("ec2-fleet", "spot"):
        run = Run(env, "launcher-role-grant", *CROSS, "--launcher", launcher, "--apply")
        assert run.code == 0 and run.report["status"] == "nothing-to-do", (launcher, run)


@checks.case("autoscaling through launcher-role-grant: B's group launches")
def _():
    run = Run(env, "launcher-role-grant", *CROSS, "--launcher", "autoscaling", "--apply")
    assert run.code == 0 and run.actions == ["kms:CreateGrant"], run
    cloud.reconcile(summary["group_name"])
    activity = testkit.latest_activity(asg_b, summary["group_name"])
    assert activity["StatusCode"] == "Successful", activity


@checks.case("undo one launcher: its grant goes, the statements others need stay")
def _():
    run = Run(env, "launcher-role-grant", *CROSS, "--launcher", "ec2-fleet", "--undo", "--apply")
    assert run.code == 0 and run.actions == ["kms:RevokeGrant"], run
    assert "still need them" in run.err, run.err
    assert grants_to(FLEET_ROLE) == []
    assert f"LuawsCrossAccountUse{B}" in sids(testkit.key_policy(kms_a, KEY_A))


@checks.case("undo the last launchers: the original key policy is back")
def _():
    for launcher, actions in (("spot", ["kms:RevokeGrant"]), ("autoscaling", ["kms:RevokeGrant", "kms:PutKeyPolicy"])):
        run = Run(env, "launcher-role-grant", *CROSS, "--launcher", launcher, "--undo", "--apply")
        assert run.code == 0 and run.actions == actions, (launcher, run)
    assert testkit.key_policy(kms_a, KEY_A) == a_original
    assert [g for g in kms_a.list_grants(KeyId=KEY_A)["Grants"] if g.get("Name", "").startswith("luaws-")] == []


# --- help and bad input -------------------------------------------------------------------------
@checks.case("every variant has help text")
def _():
    for recipe in ("same-account-asg", "launcher-role-grant", "org-grant-rollout"):
        process = subprocess.run([LUAWS, "help", recipe], env=env, capture_output=True, text=True, timeout=30)
        assert process.returncode == 0 and "--apply" in process.stdout, (recipe, process)
        assert len(process.stdout.splitlines()) > 10, (recipe, process.stdout)


@checks.case("bad input: unknown launcher, suffix for a fleet, nothing to fix: exit 2")
def _():
    run = Run(env, "launcher-role-grant", *CROSS, "--launcher", "batch")
    assert run.code == 2 and "--launcher" in run.err, run
    run = Run(env, "launcher-role-grant", *CROSS, "--launcher", "spot", "--role-suffix", "x")
    assert run.code == 2 and "--role-suffix" in run.err, run
    run = Run(env, "same-account-asg", "--profile", "target")
    assert run.code == 2 and "--asg-name" in run.err, run


@checks.case("a key of the other account given to same-account-asg: exit 1 naming both accounts")
def _():
    run = Run(env, "same-account-asg", "--profile", "target", "--key-id", KEY_A)
    assert run.code == 1 and A in run.err, run


cloud.stop()
sys.exit(checks.done())
