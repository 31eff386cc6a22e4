#!/usr/bin/env python3
"""flagship_boto3: the flagship fix (cross-account-ami-asg --asg-name G --apply) written with boto3.

    python3 bench/flagship_boto3.py --source-profile source --target-profile target --asg-name web-asg

The yardstick for bench/: the same AWS calls, in the same order, as `luaws run
cross-account-ami-asg --apply` makes on the local cloud (GetCallerIdentity x2,
DescribeAutoScalingGroups, DescribeLaunchTemplateVersions, DescribeImages, DescribeSnapshots,
DescribeKey, GetRole, GetKeyPolicy, then backup + PutKeyPolicy + read back (+ settle and read
again), ListGrants, CreateGrant, ListGrants, DescribeScalingActivities), with the same checks in
the simplest Python a user would write. The endpoint comes from AWS_ENDPOINT_URL (boto3 reads it),
the settle wait from LUAWS_POLICY_SETTLE (default 0.3 s, as the recipe).
"""
import argparse
import json
import os
import sys
import time

import boto3

USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
DOC_OPERATIONS = ["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
                  "GenerateDataKeyWithoutPlaintext", "DescribeKey", "CreateGrant"]


def statements(account, partition):
    root = f"arn:{partition}:iam::{account}:root"
    return [
        {"Sid": f"LuawsCrossAccountUse{account}", "Effect": "Allow", "Principal": {"AWS": root},
         "Action": USE_ACTIONS, "Resource": "*"},
        {"Sid": f"LuawsCrossAccountCreateGrant{account}", "Effect": "Allow",
         "Principal": {"AWS": root}, "Action": "kms:CreateGrant", "Resource": "*"},
    ]


def merge(doc, ours):
    """Replaces our statements by Sid and keeps every other statement as it was."""
    sids = {s["Sid"] for s in ours}
    kept = [s for s in doc.get("Statement", []) if s.get("Sid") not in sids]
    return dict(doc, Statement=kept + ours)


def includes_all(doc, ours):
    by_sid = {s.get("Sid"): s for s in doc.get("Statement", [])}
    return all(by_sid.get(s["Sid"]) == s for s in ours)


def find_grant(grants, role_arn, operations):
    for g in grants:
        if g.get("GranteePrincipal") == role_arn and not g.get("Constraints") \
                and set(operations) <= set(g.get("Operations", [])):
            return g
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-profile", required=True)
    parser.add_argument("--target-profile", required=True)
    parser.add_argument("--asg-name", required=True)
    parser.add_argument("--backup-dir", default=os.environ.get("LUAWS_BACKUP_DIR", "."))
    args = parser.parse_args()
    settle = float(os.environ.get("LUAWS_POLICY_SETTLE", "0.3"))

    src_session = boto3.Session(profile_name=args.source_profile)
    dst_session = boto3.Session(profile_name=args.target_profile)
    src = {name: src_session.client(name) for name in ("sts", "kms", "ec2")}
    dst = {name: dst_session.client(name) for name in ("sts", "kms", "ec2", "iam", "autoscaling")}

    src_identity = src["sts"].get_caller_identity()
    dst_identity = dst["sts"].get_caller_identity()
    src_account, dst_account = src_identity["Account"], dst_identity["Account"]
    partition = src_identity["Arn"].split(":")[1]
    if src_account == dst_account:
        sys.exit("source and target are the same account")
    print(f"source (key owner) account {src_account}, target (group owner) account {dst_account}")

    groups = dst["autoscaling"].describe_auto_scaling_groups(
        AutoScalingGroupNames=[args.asg_name])["AutoScalingGroups"]
    if not groups:
        sys.exit(f"Auto Scaling group {args.asg_name} not found")
    group = groups[0]
    spec = group["LaunchTemplate"]
    versions = dst["ec2"].describe_launch_template_versions(
        LaunchTemplateId=spec["LaunchTemplateId"], Versions=[spec.get("Version", "$Default")])
    image_id = versions["LaunchTemplateVersions"][0]["LaunchTemplateData"]["ImageId"]
    role_arn = group.get("ServiceLinkedRoleARN") or (
        f"arn:{partition}:iam::{dst_account}:role/aws-service-role/autoscaling.amazonaws.com/"
        "AWSServiceRoleForAutoScaling")

    image = src["ec2"].describe_images(ImageIds=[image_id])["Images"][0]
    snapshot_ids = [m["Ebs"]["SnapshotId"] for m in image.get("BlockDeviceMappings", [])
                    if "Ebs" in m and "SnapshotId" in m["Ebs"]]
    snapshots = src["ec2"].describe_snapshots(SnapshotIds=snapshot_ids)["Snapshots"]
    key_ids = []
    for snapshot in snapshots:
        if snapshot.get("Encrypted") and snapshot.get("KmsKeyId") not in key_ids:
            key_ids.append(snapshot["KmsKeyId"])
    keys = []
    for key_id in key_ids:
        meta = src["kms"].describe_key(KeyId=key_id)["KeyMetadata"]
        if meta["KeyManager"] != "CUSTOMER" or meta["KeyState"] != "Enabled":
            sys.exit(f"key {meta['Arn']} cannot be shared ({meta['KeyManager']}, {meta['KeyState']})")
        keys.append(meta["Arn"])

    try:
        dst["iam"].get_role(RoleName=role_arn.rsplit("/", 1)[1])
    except dst["iam"].exceptions.NoSuchEntityException:
        suffix = role_arn.rsplit("/", 1)[1].partition("_")[2]
        extra = {"CustomSuffix": suffix} if suffix else {}
        dst["iam"].create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", **extra)

    ours = statements(dst_account, partition)
    grant_name = "luaws-" + role_arn.rsplit("/", 1)[1]
    for key_arn in keys:
        text = src["kms"].get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
        if not includes_all(json.loads(text), ours):
            text = src["kms"].get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
            os.makedirs(args.backup_dir, exist_ok=True)
            backup = os.path.join(args.backup_dir, "keypolicy-%s-%d.json" % (
                key_arn.rsplit("/", 1)[1], time.time_ns()))
            with open(backup, "w", encoding="utf-8") as f:
                f.write(text)
            src["kms"].put_key_policy(KeyId=key_arn, PolicyName="default",
                                      Policy=json.dumps(merge(json.loads(text), ours)))
            live = src["kms"].get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
            if settle > 0 and includes_all(json.loads(live), ours):
                time.sleep(settle)
                live = src["kms"].get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
            if not includes_all(json.loads(live), ours):
                sys.exit(f"key policy of {key_arn} did not keep our statements")
            print(f"key policy of {key_arn} written and verified (backup {backup})")

        grants = []
        for page in src["kms"].get_paginator("list_grants").paginate(KeyId=key_arn):
            grants.extend(page.get("Grants", []))
        if find_grant(grants, role_arn, DOC_OPERATIONS) is None:
            created = dst["kms"].create_grant(KeyId=key_arn, GranteePrincipal=role_arn,
                                              Operations=DOC_OPERATIONS, Name=grant_name)
            listed = src["kms"].list_grants(KeyId=key_arn, GrantId=created["GrantId"]).get("Grants", [])
            if find_grant(listed, role_arn, DOC_OPERATIONS) is None:
                sys.exit(f"grant {created['GrantId']} was created but the key owner cannot see it")
            print(f"grant {created['GrantId']} on {key_arn} created and verified")

    activities = dst["autoscaling"].describe_scaling_activities(
        AutoScalingGroupName=args.asg_name, MaxRecords=3).get("Activities", [])
    if activities:
        print(f"group {args.asg_name}: latest activity {activities[0]['StatusCode']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
