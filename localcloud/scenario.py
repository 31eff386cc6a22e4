#!/usr/bin/env python3
"""scenario: seeds the blog's two-account story into a running local cloud, and writes AWS profiles.

    python3 localcloud/scenario.py seed --url http://127.0.0.1:PORT [--dir DIR] [variant flags]

creates, in account A (111111111111, profile `source`) and B (222222222222, profile `target`):
IAM users with access keys (the key selects the account), A's customer-managed KMS key with the
default key policy, an encrypted snapshot and an AMI registered from it and shared with B; in B a
launch template using the AMI and an Auto Scaling group (min 0, desired 1) whose launch fails.
It prints a JSON summary (ids, ARNs, file paths; never secrets). The seeding itself runs inside
the server (POST /localcloud-api/seed, see seed()), so it costs one request and needs no auth.
"""
import argparse
import json
import os
import sys
import tempfile
import urllib.request

SOURCE_ACCOUNT = "111111111111"
TARGET_ACCOUNT = "222222222222"
ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
               "kms:DescribeKey"]


def default_key_policy(owner):
    """The key policy AWS gives a key created without one (root of the owner has kms:*)."""
    return {"Version": "2012-10-17", "Id": "key-default-1", "Statement": [{
        "Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{owner}:root"}, "Action": "kms:*", "Resource": "*"}]}


def console_external_statements(external):
    """What the KMS console adds for "Other AWS accounts": the grant statement is conditional on
    kms:GrantIsForAWSResource, which a direct CreateGrant from B never satisfies (the trap)."""
    root = f"arn:aws:iam::{external}:root"
    return [
        {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": {"AWS": [root]},
         "Action": USE_ACTIONS, "Resource": "*"},
        {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
         "Principal": {"AWS": [root]},
         "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
    ]


# --- in the server process --------------------------------------------------------------------

def _user_with_key(account, region, name):
    from moto.iam.models import iam_backends
    iam = iam_backends[account]["aws"]
    user = iam.create_user(region, name)
    iam.put_user_policy(name, "admin", ADMIN_POLICY)
    key = iam.create_access_key(name)
    return {"user_arn": user.arn, "access_key_id": key.access_key_id,
            "secret_access_key": key.secret_access_key}


def seed(options):
    """Creates the scenario with moto's backends (extensions installed); returns the summary.

    options: region, source_account, target_account, group_name, role_suffix (custom-suffix
    service-linked role, created unless no_role), two_keys, console_policy, org (A and B in one
    organization). The summary holds credentials for the caller to write into profiles.
    """
    import lc_asg
    import lc_ec2
    import lc_identity
    from moto.autoscaling.models import autoscaling_backends
    from moto.ec2.models import ec2_backends
    from moto.iam.models import iam_backends
    from moto.kms.models import kms_backends

    region = options.get("region") or "us-east-1"
    source = options.get("source_account") or SOURCE_ACCOUNT
    target = options.get("target_account") or TARGET_ACCOUNT
    group_name = options.get("group_name") or "web-asg"
    zone = region + "a"

    credentials = {"source": _user_with_key(source, region, "admin"),
                   "target": _user_with_key(target, region, "admin")}
    org_id = lc_identity.join_org(source, [target]) if options.get("org") else None

    policy = default_key_policy(source)
    if options.get("console_policy"):
        policy["Statement"].extend(console_external_statements(target))
    kms = kms_backends[source][region]
    ec2_source = ec2_backends[source][region]
    key_names = ["ami-key", "data-key"] if options.get("two_keys") else ["ami-key"]
    keys, snapshots, mappings = [], [], []
    for index, key_name in enumerate(key_names):
        key = kms.create_key(json.dumps(policy), "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT",
                             f"luaws blog scenario: {key_name}", None)
        kms.create_alias(key.id, f"alias/{key_name}")
        volume = ec2_source.create_volume(size=8, zone_name=zone, encrypted=True,
                                          kms_key_id=key.arn, volume_type="gp3")
        snapshot = ec2_source.create_snapshot(volume.id, f"blog scenario volume {index}")
        keys.append(key.arn)
        snapshots.append(snapshot.id)
        mappings.append({"DeviceName": "/dev/xvda" if index == 0 else "/dev/xvdb",
                         "Ebs": {"SnapshotId": snapshot.id, "VolumeType": "gp3",
                                 "DeleteOnTermination": True}})
    ami = lc_ec2.register_image(ec2_source, "blog-encrypted-ami", "AMI encrypted with A's key",
                                mappings, "/dev/xvda")
    ec2_source.modify_image_attribute(ami_id=ami.id, launch_permissions_to_add=[
        {"UserId": target}], launch_permissions_to_remove=[])

    ec2_target = ec2_backends[target][region]
    template = ec2_target.create_launch_template(
        "web-template", "uses A's shared encrypted AMI",
        {"ImageId": ami.id, "InstanceType": "t3.micro"}, {})
    suffix = options.get("role_suffix")
    role_arn = lc_asg.default_role_arn(target)
    if suffix:
        role_arn = f"{role_arn}_{suffix}"
        if not options.get("no_role"):
            iam_backends[target]["aws"].create_service_linked_role(
                "autoscaling.amazonaws.com", "Auto Scaling role with a custom suffix", suffix)
        lc_asg.set_service_linked_role(role_arn)
    try:
        autoscaling_backends[target][region].create_auto_scaling_group(
            name=group_name, availability_zones=[zone], desired_capacity=1, max_size=2,
            min_size=0, launch_config_name=None,
            launch_template={"LaunchTemplateName": template.name, "Version": "$Latest"},
            vpc_zone_identifier=None, default_cooldown=None, health_check_period=300,
            health_check_type=None, load_balancers=[], target_group_arns=[],
            placement_group=None, termination_policies=[], tags=[])
    finally:
        lc_asg.set_service_linked_role(None)
    group = autoscaling_backends[target][region].autoscaling_groups[group_name]
    latest = group._lc_activities[0] if group._lc_activities else {}
    return {
        "region": region,
        "source_account": source, "target_account": target, "organization_id": org_id,
        "key_arns": keys, "key_arn": keys[0], "snapshot_ids": snapshots, "image_id": ami.id,
        "launch_template_id": template.id, "launch_template_name": template.name,
        "group_name": group_name, "service_linked_role_arn": role_arn,
        "group_status": latest.get("StatusCode"), "group_status_message": latest.get("StatusMessage"),
        "credentials": credentials,
    }


# --- client side ------------------------------------------------------------------------------

def write_profiles(directory, summary):
    """Writes AWS shared config/credentials files (profiles `source` and `target`); returns paths."""
    os.makedirs(directory, exist_ok=True)
    config_path = os.path.join(directory, "config")
    credentials_path = os.path.join(directory, "credentials")
    with open(config_path, "w", encoding="utf-8") as config:
        for profile in ("source", "target"):
            config.write(f"[profile {profile}]\nregion = {summary['region']}\n\n")
    fd = os.open(credentials_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as credentials:
        for profile in ("source", "target"):
            entry = summary["credentials"][profile]
            credentials.write(f"[{profile}]\naws_access_key_id = {entry['access_key_id']}\n"
                              f"aws_secret_access_key = {entry['secret_access_key']}\n\n")
    return config_path, credentials_path


def post(url, path, payload):
    request = urllib.request.Request(url.rstrip("/") + path, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        detail = json.loads(error.read() or b"{}")
        raise SystemExit(f"scenario: {path} failed: {detail.get('error')}: {detail.get('message')}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    seed_cmd = commands.add_parser("seed", help="create the blog scenario and write profiles")
    seed_cmd.add_argument("--url", required=True, help="the local cloud's URL")
    seed_cmd.add_argument("--dir", help="where to write config and credentials (default: new temp dir)")
    seed_cmd.add_argument("--region", default="us-east-1")
    seed_cmd.add_argument("--group-name", default="web-asg")
    seed_cmd.add_argument("--role-suffix", help="use AWSServiceRoleForAutoScaling_SUFFIX")
    seed_cmd.add_argument("--no-role", action="store_true",
                          help="with --role-suffix: do not create the custom-suffix role")
    seed_cmd.add_argument("--two-keys", action="store_true", help="two snapshots, two keys")
    seed_cmd.add_argument("--console-policy", action="store_true",
                          help="key policy already has the console's conditional statements for B")
    seed_cmd.add_argument("--org", action="store_true", help="put A and B in one organization")
    reconcile_cmd = commands.add_parser("reconcile", help="retry Auto Scaling launches now")
    reconcile_cmd.add_argument("--url", required=True)
    args = parser.parse_args(argv)

    if args.command == "reconcile":
        print(json.dumps(post(args.url, "/localcloud-api/asg/reconcile", {}), indent=2))
        return 0
    summary = post(args.url, "/localcloud-api/seed", {
        "region": args.region, "group_name": args.group_name, "role_suffix": args.role_suffix,
        "no_role": args.no_role, "two_keys": args.two_keys,
        "console_policy": args.console_policy, "org": args.org})
    directory = args.dir or tempfile.mkdtemp(prefix="localcloud-profiles-")
    config_path, credentials_path = write_profiles(directory, summary)
    summary["config_file"] = config_path
    summary["credentials_file"] = credentials_path
    summary["profiles"] = {"source": summary["source_account"], "target": summary["target_account"]}
    summary["access_key_ids"] = {p: c["access_key_id"] for p, c in summary.pop("credentials").items()}
    summary["url"] = args.url
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
