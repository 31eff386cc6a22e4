"""localcloud_variants_test: custom-suffix roles, two keys, organization-wide policies, same account."""
import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("LUAWS_SOURCE_DIR", "."), "localcloud"))
from testkit import (BLOG_OPERATIONS, Checks, Cloud, error_code,  # noqa: E402
                     external_statements, key_policy, latest_activity, put_policy)
import scenario  # noqa: E402

checks = Checks()


def scale(asg, group, desired):
    asg.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=desired)
    return latest_activity(asg, group)


cloud = Cloud()
try:
    s = cloud.seed(role_suffix="blue", no_role=True, two_keys=True)
    A, B, group = s["source_account"], s["target_account"], s["group_name"]
    kms_a, kms_b = cloud.client("kms", "source"), cloud.client("kms", "target")
    asg_b = cloud.client("autoscaling", "target")
    role = s["service_linked_role_arn"]
    default_role = role.rsplit("_", 1)[0]

    @checks.case("custom suffix: the group names the missing role and cannot assume it")
    def _():
        assert role.endswith("/AWSServiceRoleForAutoScaling_blue")
        activity = latest_activity(asg_b, group)
        assert activity["StatusCode"] == "Failed"
        assert activity["StatusMessage"] == f"Access denied when attempting to assume role {role}"
        described = asg_b.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
        assert described["AutoScalingGroups"][0]["ServiceLinkedRoleARN"] == role

    @checks.case("custom suffix: once created, the role still lacks the keys")
    def _():
        created = cloud.client("iam", "target").create_service_linked_role(
            AWSServiceName="autoscaling.amazonaws.com", CustomSuffix="blue")["Role"]
        assert created["Arn"] == role
        assert scale(asg_b, group, 1)["StatusMessage"] == \
            "Client.InternalError: Client error on launch"

    @checks.case("two keys: a grant on one key, or to the default role, is not enough")
    def _():
        assert len(s["key_arns"]) == 2
        for key in s["key_arns"]:
            policy = key_policy(kms_a, key)
            policy["Statement"] += external_statements(B)
            put_policy(kms_a, key, policy)
        kms_b.create_grant(KeyId=s["key_arns"][0], GranteePrincipal=role,
                           Operations=BLOG_OPERATIONS, Name="asg")
        assert scale(asg_b, group, 1)["StatusCode"] == "Failed"
        cloud.client("iam", "target").create_service_linked_role(
            AWSServiceName="autoscaling.amazonaws.com")
        kms_b.create_grant(KeyId=s["key_arns"][1], GranteePrincipal=default_role,
                           Operations=BLOG_OPERATIONS, Name="asg")
        assert scale(asg_b, group, 1)["StatusCode"] == "Failed"

    @checks.case("two keys: grants on both keys to the group's role make it launch")
    def _():
        kms_b.create_grant(KeyId=s["key_arns"][1], GranteePrincipal=role,
                           Operations=BLOG_OPERATIONS, Name="asg-blue")
        assert scale(asg_b, group, 1)["StatusCode"] == "Successful"

    @checks.case("a disabled key fails the launch with InvalidKMSKey.InvalidState")
    def _():
        kms_a.disable_key(KeyId=s["key_arns"][1])
        activity = scale(asg_b, group, 2)
        assert activity["StatusMessage"].startswith("Client.InvalidKMSKey.InvalidState"), activity
        kms_a.enable_key(KeyId=s["key_arns"][1])

    @checks.case("an AMI no longer shared cannot be launched")
    def _():
        cloud.client("ec2", "source").modify_image_attribute(
            ImageId=s["image_id"], LaunchPermission={"Remove": [{"UserId": B}]})
        activity = scale(asg_b, group, 2)
        assert activity["StatusMessage"] == f"The image id '[{s['image_id']}]' does not exist"
        assert error_code(cloud.client("ec2", "target").describe_images,
                          ImageIds=[s["image_id"]])[0] == "InvalidAMIID.NotFound"
finally:
    cloud.stop()

cloud = Cloud()
try:
    s = cloud.seed(org=True)
    A, B, group, key = s["source_account"], s["target_account"], s["group_name"], s["key_arn"]
    kms_a, kms_b = cloud.client("kms", "source"), cloud.client("kms", "target")
    asg_b = cloud.client("autoscaling", "target")
    role = s["service_linked_role_arn"]
    org_statement = {"Sid": "Organization", "Effect": "Allow", "Principal": {"AWS": "*"},
                     "Action": scenario.USE_ACTIONS, "Resource": "*",
                     "Condition": {"StringEquals": {"aws:PrincipalOrgID": s["organization_id"]}}}

    @checks.case("organization-wide policy without kms:CreateGrant: members' groups keep failing")
    def _():
        assert s["organization_id"].startswith("o-")
        policy = key_policy(kms_a, key)
        policy["Statement"].append(org_statement)
        put_policy(kms_a, key, policy)
        assert kms_b.describe_key(KeyId=key)["KeyMetadata"]["Arn"] == key
        assert error_code(kms_b.create_grant, KeyId=key, GranteePrincipal=role,
                          Operations=BLOG_OPERATIONS)[0] == "AccessDeniedException"
        assert scale(asg_b, group, 1)["StatusCode"] == "Failed"

    @checks.case("organization-wide policy with kms:CreateGrant: a member's grant fixes its group")
    def _():
        policy = key_policy(kms_a, key)
        policy["Statement"][-1]["Action"] = scenario.USE_ACTIONS + ["kms:CreateGrant"]
        put_policy(kms_a, key, policy)
        kms_b.create_grant(KeyId=key, GranteePrincipal=role, Operations=BLOG_OPERATIONS,
                           Name="asg")
        result = cloud.reconcile(group)["groups"]
        assert [g["in_service"] for g in result if g["group"] == group] == [1], result

    @checks.case("same account: the key policy must name the role; the account root is not enough")
    def _():
        policy = key_policy(kms_a, key)
        policy["Statement"] = [st for st in policy["Statement"] if st.get("Sid") != "Organization"]
        put_policy(kms_a, key, policy)
        ec2_a, asg_a = cloud.client("ec2", "source"), cloud.client("autoscaling", "source")
        ec2_a.create_launch_template(LaunchTemplateName="own", LaunchTemplateData={
            "ImageId": s["image_id"], "InstanceType": "t3.micro"})
        asg_a.create_auto_scaling_group(AutoScalingGroupName="own-asg", MinSize=0, MaxSize=1,
                                        DesiredCapacity=1, AvailabilityZones=["us-east-1a"],
                                        LaunchTemplate={"LaunchTemplateName": "own"})
        assert latest_activity(asg_a, "own-asg")["StatusCode"] == "Failed"
        own_role = f"arn:aws:iam::{A}:role/aws-service-role/autoscaling.amazonaws.com/" \
                   "AWSServiceRoleForAutoScaling"
        policy = key_policy(kms_a, key)
        policy["Statement"] += [
            {"Sid": "Allow service-linked role use of the key", "Effect": "Allow",
             "Principal": {"AWS": own_role}, "Action": scenario.USE_ACTIONS, "Resource": "*"},
            {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
             "Principal": {"AWS": own_role}, "Action": "kms:CreateGrant", "Resource": "*",
             "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}}}]
        put_policy(kms_a, key, policy)
        asg_a.set_desired_capacity(AutoScalingGroupName="own-asg", DesiredCapacity=1)
        assert latest_activity(asg_a, "own-asg")["StatusCode"] == "Successful"
        grants = kms_a.list_grants(KeyId=key)["Grants"]
        assert [g["IssuingAccount"] for g in grants] == [f"arn:aws:iam::{B}:root"], grants
finally:
    cloud.stop()
sys.exit(checks.done())
