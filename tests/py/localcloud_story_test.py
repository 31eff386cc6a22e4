"""localcloud_story_test: the blog's story played by hand with boto3 against the local cloud."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.environ.get("LUAWS_SOURCE_DIR", "."), "localcloud"))
from testkit import (BLOG_OPERATIONS, Checks, Cloud, error_code,  # noqa: E402
                     external_statements, key_policy, latest_activity, put_policy)

checks = Checks()
cloud = Cloud()
try:
    s = cloud.seed()
    A, B = s["source_account"], s["target_account"]
    kms_a, kms_b = cloud.client("kms", "source"), cloud.client("kms", "target")
    ec2_a, ec2_b = cloud.client("ec2", "source"), cloud.client("ec2", "target")
    asg_b = cloud.client("autoscaling", "target")
    role = s["service_linked_role_arn"]

    @checks.case("credentials select the account")
    def _():
        assert cloud.client("sts", "source").get_caller_identity()["Account"] == A
        assert cloud.client("sts", "target").get_caller_identity()["Account"] == B

    @checks.case("the seeded group failed with AWS's activity fields")
    def _():
        activity = latest_activity(asg_b, s["group_name"])
        assert activity["StatusCode"] == "Failed", activity
        assert activity["StatusMessage"] == "Client.InternalError: Client error on launch"
        assert activity["Description"] == ("Launching a new EC2 instance.  Status Reason: "
                                           "Client.InternalError: Client error on launch. "
                                           "Launching EC2 instance failed.")
        assert activity["Progress"] == 100
        assert re.match(r"^[0-9a-f-]{36}$", activity["ActivityId"])
        assert activity["AutoScalingGroupName"] == s["group_name"]
        assert "a user request created an AutoScalingGroup" in activity["Cause"]
        assert activity["StartTime"] <= activity["EndTime"]
        assert "Availability Zone" in activity["Details"]
        group = asg_b.describe_auto_scaling_groups(
            AutoScalingGroupNames=[s["group_name"]])["AutoScalingGroups"][0]
        assert group["Instances"] == [], "no instance may survive a failed launch"
        assert group["ServiceLinkedRoleARN"] == role

    @checks.case("the default service-linked role was created with the group")
    def _():
        roles = cloud.client("iam", "target").list_roles(PathPrefix="/aws-service-role/")["Roles"]
        assert role in [r["Arn"] for r in roles]

    @checks.case("B sees A's shared AMI, with its block device mappings")
    def _():
        image = ec2_b.describe_images(ImageIds=[s["image_id"]])["Images"][0]
        assert image["OwnerId"] == A
        ebs = image["BlockDeviceMappings"][0]["Ebs"]
        assert ebs["SnapshotId"] == s["snapshot_ids"][0] and ebs["Encrypted"] is True
        assert image["RootDeviceName"] == "/dev/xvda"
        by_owner = ec2_b.describe_images(Owners=[A])["Images"]
        assert [i["ImageId"] for i in by_owner] == [s["image_id"]]
        shared = ec2_b.describe_images(ExecutableUsers=["self"])["Images"]
        assert [i["ImageId"] for i in shared] == [s["image_id"]]
        assert ec2_b.describe_images(Owners=["self"])["Images"] == []

    @checks.case("A's snapshot keeps the key ARN; B cannot see the unshared snapshot")
    def _():
        snap = ec2_a.describe_snapshots(SnapshotIds=s["snapshot_ids"])["Snapshots"][0]
        assert snap["Encrypted"] is True and snap["KmsKeyId"] == s["key_arn"]
        assert error_code(ec2_b.describe_snapshots, SnapshotIds=s["snapshot_ids"])[0] == \
            "InvalidSnapshot.NotFound"
        assert error_code(ec2_b.modify_image_attribute, ImageId=s["image_id"],
                          LaunchPermission={"Add": [{"UserId": "333333333333"}]})[0] == "AuthFailure"

    @checks.case("RunInstances in B with A's AMI works (caller's identity)")
    def _():
        reservation = ec2_b.run_instances(ImageId=s["image_id"], MinCount=1, MaxCount=1,
                                          InstanceType="t3.micro")
        assert reservation["Instances"][0]["ImageId"] == s["image_id"]

    @checks.case("B cannot CreateGrant on A's key under the default key policy")
    def _():
        code, message = error_code(kms_b.create_grant, KeyId=s["key_arn"], GranteePrincipal=role,
                                   Operations=BLOG_OPERATIONS)
        assert code == "AccessDeniedException", code
        assert f"arn:aws:iam::{B}:user/admin is not authorized to perform: kms:CreateGrant" in message
        assert "because no resource-based policy allows the kms:CreateGrant action" in message

    grant = {}

    @checks.case("the fix: A's key policy statement, then B's grant to its role")
    def _():
        policy = key_policy(kms_a, s["key_arn"])
        original = list(policy["Statement"])
        policy["Statement"] += external_statements(B)
        put_policy(kms_a, s["key_arn"], policy)
        assert key_policy(kms_a, s["key_arn"])["Statement"][: len(original)] == original
        result = kms_b.create_grant(KeyId=s["key_arn"], GranteePrincipal=role,
                                    Operations=BLOG_OPERATIONS, Name="luaws-asg")
        assert re.match(r"^[0-9a-f]{64}$", result["GrantId"]), result["GrantId"]
        assert result["GrantToken"]
        grant.update(result)

    @checks.case("a relaunch succeeds once the grant exists")
    def _():
        asg_b.set_desired_capacity(AutoScalingGroupName=s["group_name"], DesiredCapacity=1)
        activity = latest_activity(asg_b, s["group_name"])
        assert activity["StatusCode"] == "Successful", activity
        assert re.match(r"^Launching a new EC2 instance: i-[0-9a-f]+$", activity["Description"])
        group = asg_b.describe_auto_scaling_groups(
            AutoScalingGroupNames=[s["group_name"]])["AutoScalingGroups"][0]
        assert len(group["Instances"]) == 1
        statuses = [a["StatusCode"] for a in asg_b.describe_scaling_activities(
            AutoScalingGroupName=s["group_name"])["Activities"]]
        assert statuses == ["Successful", "Failed"], statuses

    @checks.case("a named grant is idempotent: same GrantId, fresh token, no duplicate")
    def _():
        again = kms_b.create_grant(KeyId=s["key_arn"], GranteePrincipal=role,
                                   Operations=list(reversed(BLOG_OPERATIONS)), Name="luaws-asg")
        assert again["GrantId"] == grant["GrantId"]
        assert again["GrantToken"] != grant["GrantToken"]
        grants = kms_a.list_grants(KeyId=s["key_arn"])["Grants"]
        assert len(grants) == 1, grants
        entry = grants[0]
        assert entry["GranteePrincipal"] == role and entry["Name"] == "luaws-asg"
        assert entry["IssuingAccount"] == f"arn:aws:iam::{B}:root"
        assert entry["KeyId"] == s["key_arn"]
        other = kms_b.create_grant(KeyId=s["key_arn"], GranteePrincipal=role,
                                   Operations=["Decrypt"], Name="luaws-asg")
        assert other["GrantId"] != grant["GrantId"], "different parameters make a new grant"
        kms_a.revoke_grant(KeyId=s["key_arn"], GrantId=other["GrantId"])
        assert len(kms_a.list_grants(KeyId=s["key_arn"])["Grants"]) == 1

    @checks.case("B may not ListGrants on A's key unless the key policy allows it")
    def _():
        assert error_code(kms_b.list_grants, KeyId=s["key_arn"])[0] == "AccessDeniedException"

    @checks.case("B retires the grant it created; the next launch fails again")
    def _():
        kms_b.retire_grant(KeyId=s["key_arn"], GrantId=grant["GrantId"])
        assert kms_a.list_grants(KeyId=s["key_arn"])["Grants"] == []
        asg_b.set_desired_capacity(AutoScalingGroupName=s["group_name"], DesiredCapacity=2)
        activity = latest_activity(asg_b, s["group_name"])
        assert activity["StatusCode"] == "Failed"
        assert "desired capacity from 1 to 2" in activity["Cause"]
        group = asg_b.describe_auto_scaling_groups(
            AutoScalingGroupNames=[s["group_name"]])["AutoScalingGroups"][0]
        assert len(group["Instances"]) == 1, "the running instance stays"

    @checks.case("the test-only reconcile endpoint retries and explains")
    def _():
        result = cloud.reconcile(s["group_name"])["groups"][0]
        assert result["attempted"] and result["in_service"] == 1 and result["desired"] == 2
        assert "may not use" in result["reason"], result
        kms_b.create_grant(KeyId=s["key_arn"], GranteePrincipal=role,
                           Operations=BLOG_OPERATIONS, Name="luaws-asg")
        result = cloud.reconcile(s["group_name"])["groups"][0]
        assert result["in_service"] == 2 and result["reason"] is None, result
finally:
    cloud.stop()
sys.exit(checks.done())
