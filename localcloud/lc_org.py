"""lc_org: seeds an organization of many member accounts for the organization-wide rollout tests.

POST /localcloud-api/org/seed (registered in extensions.py) creates, inside the server:
* a management account (default 300000000000) with an IAM user `admin` (inline `*`) and access key,
  a customer managed KMS key `alias/org-ami-key` (default key policy) and, when `groups` > 0, an
  encrypted snapshot and an AMI shared with the whole organization (launch permission by
  OrganizationArn, as AWS allows);
* an organization (all features) holding N member accounts with fixed ids (base + 1 .. base + N);
* in each member, `OrganizationAccountAccessRole` (trusting the management account, inline `*`),
  as AWS Organizations creates it in accounts it creates; with signature checking on, credentials
  from AssumeRole only work when the role exists, so `no_access_role` leaves it out of some;
* the Auto Scaling service-linked role in some members (`asg_role`: all, none or alternate), and
  in the first `groups` members an Auto Scaling group launching the shared AMI (which fails, since
  the member's role has no grant on the management account's key).
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access.html
"""
import json

ACCESS_ROLE = "OrganizationAccountAccessRole"
MANAGEMENT_ACCOUNT = "300000000000"
MEMBER_BASE = 310000000000
ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def member_ids(base, count):
    return [f"{base + i:012d}" for i in range(1, count + 1)]


def _trust_policy(management):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{management}:root"},
        "Action": "sts:AssumeRole"}]})


def _access_role(member, management, role_name):
    from moto.iam.models import iam_backends
    iam = iam_backends[member]["aws"]
    iam.create_role(role_name, _trust_policy(management), "/", permissions_boundary=None,
                    description="Organizations access role (luaws local cloud)", tags=[],
                    max_session_duration="3600")
    iam.put_role_policy(role_name, "AdministratorAccess", ADMIN_POLICY)


def _shared_ami(management, region, key, org_arn):
    import lc_ec2
    from moto.ec2.models import ec2_backends
    ec2 = ec2_backends[management][region]
    volume = ec2.create_volume(size=8, zone_name=region + "a", encrypted=True, kms_key_id=key.arn,
                               volume_type="gp3")
    snapshot = ec2.create_snapshot(volume.id, "org golden image volume")
    ami = lc_ec2.register_image(ec2, "org-golden-ami", "AMI encrypted with the org key", [
        {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snapshot.id, "VolumeType": "gp3",
                                            "DeleteOnTermination": True}}], "/dev/xvda")
    ami.launch_permissions.append({"OrganizationArn": org_arn})
    return ami


def _group(member, region, ami_id, name):
    from moto.autoscaling.models import autoscaling_backends
    from moto.ec2.models import ec2_backends
    template = ec2_backends[member][region].create_launch_template(
        name + "-template", "uses the organization's golden AMI",
        {"ImageId": ami_id, "InstanceType": "t3.micro"}, {})
    autoscaling_backends[member][region].create_auto_scaling_group(
        name=name, availability_zones=[region + "a"], desired_capacity=1, max_size=2,
        min_size=0, launch_config_name=None,
        launch_template={"LaunchTemplateName": template.name, "Version": "$Latest"},
        vpc_zone_identifier=None, default_cooldown=None, health_check_period=300,
        health_check_type=None, load_balancers=[], target_group_arns=[], placement_group=None,
        termination_policies=[], tags=[])


def seed(options):
    """Creates the organization; returns a summary with the management user's credentials.

    options: region, management_account, member_base, members (count, default 50), role_name,
    asg_role ("all" | "none" | "alternate", default alternate: members 1, 3, 5, ... have it),
    groups (members 1..groups get a group `app-asg`), no_access_role (member indexes, 1-based,
    without the access role), org_statement_without_grant (the key policy already has an
    organization statement that omits kms:CreateGrant, the trap).
    """
    import lc_asg
    import lc_identity
    import scenario
    from moto.kms.models import kms_backends
    from moto.organizations.models import organizations_backends

    region = options.get("region") or "us-east-1"
    management = options.get("management_account") or MANAGEMENT_ACCOUNT
    members = member_ids(int(options.get("member_base") or MEMBER_BASE),
                         int(options.get("members") or 50))
    role_name = options.get("role_name") or ACCESS_ROLE
    asg_role = options.get("asg_role") or "alternate"
    groups = int(options.get("groups") or 0)
    no_access = set(options.get("no_access_role") or [])

    credentials = {"management": scenario._user_with_key(management, region, "admin")}
    org_id = lc_identity.join_org(management, members)
    org = organizations_backends[management]["aws"].org

    policy = scenario.default_key_policy(management)
    if options.get("org_statement_without_grant"):
        policy["Statement"].append({
            "Sid": "AllowUseByOrganization", "Effect": "Allow", "Principal": {"AWS": "*"},
            "Action": scenario.USE_ACTIONS, "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}}})
    kms = kms_backends[management][region]
    key = kms.create_key(json.dumps(policy), "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT",
                         "luaws org scenario: golden AMI key", None)
    kms.create_alias(key.id, "alias/org-ami-key")

    for index, member in enumerate(members, start=1):
        if index not in no_access:
            _access_role(member, management, role_name)
        if asg_role == "all" or (asg_role == "alternate" and index % 2 == 1):
            lc_asg.ensure_default_role(member)

    image_id, group_accounts = None, []
    if groups > 0:
        ami = _shared_ami(management, region, key, org.arn)
        image_id = ami.id
        for member in members[:groups]:
            _group(member, region, ami.id, "app-asg")
            group_accounts.append(member)
    return {
        "region": region, "management_account": management, "organization_id": org_id,
        "organization_arn": org.arn, "members": members, "role_name": role_name,
        "members_with_asg_role": [m for m in members
                                  if lc_identity.role_exists(lc_asg.default_role_arn(m))],
        "key_arn": key.arn, "key_id": key.id, "image_id": image_id,
        "group_name": "app-asg" if groups else None, "group_accounts": group_accounts,
        "credentials": credentials,
    }
