"""lc_asg: Auto Scaling launches as the group's service-linked role, and records scaling activities.

AWS behaviour modelled:
* A group launches with its service-linked role (the group's ServiceLinkedRoleARN, by default
  AWSServiceRoleForAutoScaling, which CreateAutoScalingGroup creates when missing), not with the
  caller's identity. EBS then needs that role to use the KMS key of every encrypted snapshot of
  the AMI (and any KmsKeyId in the launch template): a key policy statement naming the role in the
  key's own account, or, across accounts, a grant to the role.
  https://docs.aws.amazon.com/autoscaling/ec2/userguide/autoscaling-service-linked-role.html
  https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html
* When it cannot, no instance is left running and the attempt is a failed scaling activity
  (StatusCode Failed, StatusMessage "Client.InternalError: Client error on launch"); a launch
  that works is a Successful activity. DescribeScalingActivities lists them, newest first.
  https://docs.aws.amazon.com/autoscaling/ec2/userguide/ts-as-instancelaunchfailure.html
  https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_Activity.html
* Auto Scaling keeps trying to reach the desired capacity: SetDesiredCapacity, UpdateAutoScalingGroup,
  a periodic reconcile (serve.py --asg-retry) or POST /localcloud-api/asg/reconcile retry a launch.
"""
import json
import threading
import uuid
from datetime import datetime, timezone

from moto.autoscaling import models as asg_models
from moto.autoscaling import responses as asg_responses
from moto.autoscaling.models import autoscaling_backends
from moto.core.responses import ActionResult
from moto.iam.models import iam_backends

import lc_ec2
import lc_identity
import lc_kms

DEFAULT_ROLE_NAME = "AWSServiceRoleForAutoScaling"
CLIENT_ERROR = "Client.InternalError: Client error on launch"
KEY_STATE_ERROR = "Client.InvalidKMSKey.InvalidState: The KMS key provided is in an incorrect state"

_request = threading.local()
_lock = threading.RLock()


def default_role_arn(account):
    return (f"arn:aws:iam::{account}:role/aws-service-role/autoscaling.amazonaws.com/"
            f"{DEFAULT_ROLE_NAME}")


def ensure_default_role(account):
    """Creates AWSServiceRoleForAutoScaling in `account` if missing, as CreateAutoScalingGroup does."""
    arn = default_role_arn(account)
    if not lc_identity.role_exists(arn):
        iam_backends[account]["aws"].create_service_linked_role(
            "autoscaling.amazonaws.com",
            "Default Service-Linked Role enables access to AWS Services and Resources used or "
            "managed by Auto Scaling", "")
    return arn


def _now():
    return datetime.now(timezone.utc).replace(microsecond=0)


def _stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- what a launch needs ----------------------------------------------------------------------

def _template_data(group):
    if group.ec2_launch_template is None:
        return {}
    return group.ec2_launch_template.get_version(group.launch_template_version).data


def launch_keys(group):
    """Returns (ami or None, [key ARNs]) the group's next launch depends on."""
    keys = []
    image_id = group.image_id
    try:
        images = group.ec2_backend.describe_images(ami_ids=[image_id]) if image_id else []
    except Exception:  # noqa: BLE001 (InvalidAMIID.*: reported as a launch failure)
        images = []
    ami = images[0] if images else None
    if ami is not None:
        for snapshot in lc_ec2.ami_snapshots(ami):
            if snapshot.encrypted and snapshot.kms_key_id:
                keys.append(snapshot.kms_key_id)
    for mapping in _template_data(group).get("BlockDeviceMappings") or []:
        key = (mapping.get("Ebs") or {}).get("KmsKeyId")
        if key:
            keys.append(key)
    unique = []
    for key in keys:
        arn = lc_kms.key_arn(key, group.region, group.account_id)
        if arn not in unique:
            unique.append(arn)
    return ami, unique


def launch_check(group):
    """Decides whether the group's service-linked role could launch an instance now.

    Returns (ok, status_message, reason): status_message is what AWS shows in the activity,
    reason is the local cloud's own explanation (for logs and the test endpoint only).
    """
    role = group.service_linked_role_arn
    if not lc_identity.role_exists(role):
        return False, f"Access denied when attempting to assume role {role}", \
            f"the service-linked role {role} does not exist"
    ami, keys = launch_keys(group)
    if ami is None:
        return False, f"The image id '[{group.image_id}]' does not exist", \
            f"{group.image_id} is neither owned by nor shared with {group.account_id}"
    for arn in keys:
        _, key = lc_kms.find_key(arn, group.region, group.account_id)
        if key is None or key.key_state != "Enabled":
            return False, KEY_STATE_ERROR, f"key {arn} is missing or not Enabled"
        ok, reason = lc_kms.service_role_can_use(key, role, group.account_id, group.region)
        if not ok:
            return False, CLIENT_ERROR, reason
    return True, None, None


# --- activities -------------------------------------------------------------------------------

def _activities(group):
    if not hasattr(group, "_lc_activities"):
        group._lc_activities = []
    return group._lc_activities


def _details(group):
    subnet = (group.vpc_zone_identifier or "").split(",")[0]
    zone = (group.availability_zones or [group.region + "a"])[0]
    details = {"Availability Zone": zone}
    if subnet:
        details = {"Subnet ID": subnet, "Availability Zone": zone}
    return json.dumps(details, separators=(",", ":"))


def _record(group, status, description, cause, message=None):
    moment = _now()
    activity = {
        "ActivityId": str(uuid.uuid4()),
        "AutoScalingGroupName": group.name,
        "AutoScalingGroupARN": group.arn,
        "Description": description,
        "Cause": cause,
        "StartTime": moment,
        "EndTime": moment,
        "StatusCode": status,
        "Progress": 100,
        "Details": _details(group),
    }
    if message:
        activity["StatusMessage"] = message
    _activities(group).insert(0, activity)
    return activity


def _cause(group, before, after):
    moment = _stamp(_now())
    why = getattr(_request, "why", None)
    previous = getattr(_request, "previous_desired", None)
    desired = group.desired_capacity or 0
    prefix = ""
    if why == "create":
        prefix = (f"At {moment} a user request created an AutoScalingGroup changing the desired "
                  f"capacity from 0 to {desired}.  ")
    elif why == "set" and previous != desired:
        prefix = (f"At {moment} a user request explicitly set group desired capacity changing the "
                  f"desired capacity from {previous} to {desired}.  ")
    elif why == "update" and previous != desired:
        prefix = (f"At {moment} a user request update of AutoScalingGroup constraints to min: "
                  f"{group.min_size}, max: {group.max_size}, desired: {desired} changing the "
                  f"desired capacity from {previous} to {desired}.  ")
    return (prefix + f"At {moment} an instance was started in response to a difference between "
            f"desired and actual capacity, increasing the capacity from {before} to {after}.")


def _replace_instances(original):
    def replace_autoscaling_group_instances(self, count_needed, propagated_tags):
        if getattr(self, "_lc_deferred", False):
            return
        with _lock:
            before = len(self.active_instances())
            ok, message, reason = launch_check(self)
            if not ok:
                self._lc_last_failure = reason
                _record(self, "Failed",
                        f"Launching a new EC2 instance.  Status Reason: {message}. "
                        "Launching EC2 instance failed.",
                        _cause(self, before, before + count_needed), message)
                return
            self._lc_last_failure = None
            known = {state.instance.id for state in self.instance_states}
            original(self, count_needed, propagated_tags)
            launched = [s.instance.id for s in self.instance_states if s.instance.id not in known]
            for number, instance_id in enumerate(launched, start=1):
                _record(self, "Successful", f"Launching a new EC2 instance: {instance_id}",
                        _cause(self, before + number - 1, before + number))
    return replace_autoscaling_group_instances


def _group_init(original):
    def __init__(self, *args, **kwargs):
        self._lc_activities = []
        self._lc_deferred = True  # launch only once the service-linked role is known
        original(self, *args, **kwargs)
        self._lc_deferred = False
        requested = getattr(_request, "service_linked_role_arn", None)
        self.service_linked_role_arn = requested or ensure_default_role(self.account_id)
        _request.why = "create"
        try:
            self.set_desired_capacity(self.desired_capacity)
        finally:
            _request.why = None
    return __init__


def _with_reason(why, original):
    def method(self):
        _request.why = why
        name = self._get_param("AutoScalingGroupName")
        group = self.autoscaling_backend.autoscaling_groups.get(name)
        _request.previous_desired = group.desired_capacity if group else 0
        role = self._get_param("ServiceLinkedRoleARN")
        if why == "create":
            _request.service_linked_role_arn = role
        elif role and group is not None:
            group.service_linked_role_arn = role
        try:
            return original(self)
        finally:
            _request.why = None
            _request.service_linked_role_arn = None
    method.__name__ = original.__name__
    return method


def describe_scaling_activities(self):
    """https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeScalingActivities.html"""
    name = self._get_param("AutoScalingGroupName")
    groups = self.autoscaling_backend.autoscaling_groups
    selected = [groups[name]] if name in groups else ([] if name else list(groups.values()))
    activities = [a for group in selected for a in _activities(group)]
    activities.sort(key=lambda a: a["StartTime"], reverse=True)
    wanted = self._get_param("ActivityIds", [])
    if wanted:
        activities = [a for a in activities if a["ActivityId"] in wanted]
    start = int(self._get_param("NextToken") or 0)
    limit = int(self._get_param("MaxRecords") or 100)
    page = activities[start:start + limit]
    result = {"Activities": page}
    if start + limit < len(activities):
        result["NextToken"] = str(start + limit)
    return ActionResult(result)


def set_service_linked_role(role_arn):
    """For in-process callers (the seed): the next group created in this thread uses role_arn."""
    _request.service_linked_role_arn = role_arn


def reconcile(account=None, region=None, group_name=None):
    """Retries launches for groups below their desired capacity; returns one summary per group."""
    summary = []
    for acct, per_region in list(autoscaling_backends.items()):
        if account and acct != account:
            continue
        for region_name in list(per_region.keys()):
            if region and region_name != region:
                continue
            backend = dict.__getitem__(per_region, region_name)
            for group in list(backend.autoscaling_groups.values()):
                if group_name and group.name != group_name:
                    continue
                missing = (group.desired_capacity or 0) - len(group.active_instances())
                if missing > 0:
                    with _lock:
                        group.set_desired_capacity(group.desired_capacity)
                summary.append({
                    "account": acct, "region": region_name, "group": group.name,
                    "desired": group.desired_capacity or 0,
                    "in_service": len(group.active_instances()),
                    "attempted": missing > 0,
                    "reason": getattr(group, "_lc_last_failure", None),
                })
    return summary


def install():
    """Patches moto's Auto Scaling models and responses in this process (idempotent)."""
    group = asg_models.FakeAutoScalingGroup
    if getattr(group, "_lc_patched", False):
        return
    group._lc_patched = True
    group.__init__ = _group_init(group.__init__)
    group.replace_autoscaling_group_instances = _replace_instances(
        group.replace_autoscaling_group_instances)
    response = asg_responses.AutoScalingResponse
    response.create_auto_scaling_group = _with_reason("create", response.create_auto_scaling_group)
    response.update_auto_scaling_group = _with_reason("update", response.update_auto_scaling_group)
    response.set_desired_capacity = _with_reason("set", response.set_desired_capacity)
    response.describe_scaling_activities = describe_scaling_activities
