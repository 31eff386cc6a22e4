"""localcloud_stock_test: moto's behaviour elsewhere is preserved; signature checking still works."""
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.environ.get("LUAWS_SOURCE_DIR", "."), "localcloud"))
from testkit import (BLOG_OPERATIONS, Checks, Cloud, error_code,  # noqa: E402
                     external_statements, key_policy, latest_activity, put_policy)

checks = Checks()


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


cloud = Cloud()
try:
    @checks.case("extensions load lazily: nothing is patched before a service is used")
    def _():
        assert get_json(cloud.url + "/localcloud-api/health")["installed"] == []
        cloud.client("kms").list_keys()
        assert get_json(cloud.url + "/localcloud-api/health")["installed"] == ["moto.kms.responses"]

    @checks.case("same-account KMS keeps moto's behaviour; unnamed grants are never idempotent")
    def _():
        kms = cloud.client("kms")
        key = kms.create_key()["KeyMetadata"]
        blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
        principal = "arn:aws:iam::123456789012:root"
        first = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=principal,
                                 Operations=["Decrypt"])["GrantId"]
        second = kms.create_grant(KeyId=key["Arn"], GranteePrincipal=principal,
                                  Operations=["Decrypt"])["GrantId"]
        assert first != second
        assert len(kms.list_grants(KeyId=key["KeyId"])["Grants"]) == 2
        assert "kms:*" in kms.get_key_policy(KeyId=key["KeyId"])["Policy"]  # PolicyName optional
        kms.disable_key(KeyId=key["Arn"])
        assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"

    @checks.case("EC2 without block devices and Auto Scaling with a plain AMI launch as before")
    def _():
        ec2, asg = cloud.client("ec2"), cloud.client("autoscaling")
        image = ec2.register_image(Name="plain")["ImageId"]
        described = ec2.describe_images(ImageIds=[image])["Images"][0]
        assert described["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"].startswith("snap-")
        volume = ec2.create_volume(Size=1, AvailabilityZone="us-east-1a")
        snapshot = ec2.create_snapshot(VolumeId=volume["VolumeId"])
        assert snapshot["Encrypted"] is False and "KmsKeyId" not in snapshot
        asg.create_launch_configuration(LaunchConfigurationName="lc", ImageId=image,
                                        InstanceType="t3.micro")
        asg.create_auto_scaling_group(AutoScalingGroupName="plain", LaunchConfigurationName="lc",
                                      MinSize=1, MaxSize=2, AvailabilityZones=["us-east-1a"])
        activity = latest_activity(asg, "plain")
        assert activity["StatusCode"] == "Successful", activity
        group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["plain"])
        assert len(group["AutoScalingGroups"][0]["Instances"]) == 1
        assert cloud.client("s3").list_buckets()["Buckets"] == []

    @checks.case("encrypted volumes report the key ARN and snapshots keep it")
    def _():
        kms, ec2 = cloud.client("kms"), cloud.client("ec2")
        key = kms.create_key()["KeyMetadata"]
        volume = ec2.create_volume(Size=1, AvailabilityZone="us-east-1a", Encrypted=True,
                                   KmsKeyId=key["KeyId"])
        assert volume["KmsKeyId"] == key["Arn"]
        snapshot = ec2.create_snapshot(VolumeId=volume["VolumeId"])
        assert snapshot["Encrypted"] is True and snapshot["KmsKeyId"] == key["Arn"]
        restored = ec2.create_volume(AvailabilityZone="us-east-1a",
                                     SnapshotId=snapshot["SnapshotId"])
        assert restored["Encrypted"] is True and restored["KmsKeyId"] == key["Arn"]
finally:
    cloud.stop()

cloud = Cloud("--auth", "0", "--asg-retry", "0.5")
try:
    s = cloud.seed(console_policy=True)

    @checks.case("with signature checking on, seeded credentials work across accounts")
    def _():
        kms_b = cloud.client("kms", "target")
        assert kms_b.describe_key(KeyId=s["key_arn"])["KeyMetadata"]["Arn"] == s["key_arn"]
        assert cloud.client("sts", "target").get_caller_identity()["Account"] == \
            s["target_account"]

    @checks.case("with signature checking on, a wrong secret is refused")
    def _():
        right = cloud.credentials["target"]
        cloud.add_user("forger", right["access_key_id"], "0" * 40)
        code, _ = error_code(cloud.client("sts", "forger").get_caller_identity)
        assert code == "SignatureDoesNotMatch", code

    @checks.case("Auto Scaling retries on its own: the group launches once the fix is in")
    def _():
        kms_a, kms_b = cloud.client("kms", "source"), cloud.client("kms", "target")
        asg_b = cloud.client("autoscaling", "target")
        policy = key_policy(kms_a, s["key_arn"])
        policy["Statement"] += external_statements(s["target_account"])
        put_policy(kms_a, s["key_arn"], policy)
        kms_b.create_grant(KeyId=s["key_arn"], GranteePrincipal=s["service_linked_role_arn"],
                           Operations=BLOG_OPERATIONS, Name="asg")
        deadline = time.time() + 60
        while latest_activity(asg_b, s["group_name"]).get("StatusCode") != "Successful":
            assert time.time() < deadline, "no retry within 60 s"
            time.sleep(0.2)
        cause = latest_activity(asg_b, s["group_name"])["Cause"]
        assert "in response to a difference between desired and actual capacity" in cause
finally:
    cloud.stop()

cloud = Cloud("--stock")
try:
    @checks.case("--stock is plain moto: no extensions, no recorded activities")
    def _():
        try:
            urllib.request.urlopen(cloud.url + "/localcloud-api/health", timeout=10)
            raise AssertionError("stock server answered /localcloud-api/")
        except urllib.error.HTTPError as error:
            assert error.code == 404
        asg = cloud.client("autoscaling")
        assert asg.describe_scaling_activities()["Activities"] == []
finally:
    cloud.stop()
sys.exit(checks.done())
