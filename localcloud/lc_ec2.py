"""lc_ec2: shared AMIs and snapshots visible to the grantee; AMIs and snapshots that keep their keys.

AWS behaviour modelled:
* An AMI with a launch permission for account B (or `all`, or B's organization) is returned by
  B's DescribeImages; ExecutableUsers and Owners filter as documented; B can launch it.
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeImages.html
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/sharingamis-explicit.html
  Sharing an AMI does not share its snapshots: B sees them only with a createVolumePermission.
  Only the owner may read or change an AMI's attributes.
* A snapshot with a createVolumePermission for B (or `all`) is returned by B's DescribeSnapshots
  (RestorableByUserIds, OwnerIds) and B can create volumes from it.
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSnapshots.html
* RegisterImage keeps its BlockDeviceMappings; DescribeImages returns them with the snapshot's
  Encrypted flag. Like AWS, an image's Ebs entries carry no KmsKeyId: the key is a property of
  the snapshot, visible to the snapshot's owner (and to accounts it is shared with).
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RegisterImage.html
* Volumes and snapshots report KmsKeyId as the key ARN; CreateSnapshot keeps the volume's key;
  a volume created from an encrypted snapshot uses the snapshot's key unless told otherwise.
  https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html
"""
from moto.ec2 import exceptions as ec2_exceptions
from moto.ec2.models import ec2_backends
from moto.ec2.models import amis as amis_module
from moto.ec2.models import elastic_block_store as ebs_module
from moto.ec2.responses import amis as amis_responses
from moto.ec2.responses import elastic_block_store as ebs_responses
from moto.ec2.utils import generic_filter

import lc_identity
import lc_kms


def _auth_failure(resource):
    return ec2_exceptions.EC2ClientError("AuthFailure", f"Not authorized for {resource}")


def existing_backends(region):
    """Yields (account, EC2 backend) for every account that already has one in `region`."""
    for account, per_region in list(ec2_backends.items()):
        if region in per_region.keys():
            yield account, dict.__getitem__(per_region, region)


# --- AMIs -------------------------------------------------------------------------------------

def _shared_with(ami, account):
    org = None
    for permission in ami.launch_permissions:
        if permission.get("UserId") == account or permission.get("Group") == "all":
            return True
        if permission.get("OrganizationArn"):
            org = org or lc_identity.org_id(account) or "-"
            if permission["OrganizationArn"].endswith("/" + org):
                return True
    return False


def visible_images(backend):
    """The caller account's own AMIs plus those other accounts share with it (own ones win)."""
    images = dict(backend.amis)
    for account, other in existing_backends(backend.region_name):
        if account == backend.account_id:
            continue
        for ami in list(other.amis.values()):
            if ami.id not in images and _shared_with(ami, backend.account_id):
                images[ami.id] = ami
    return images


def describe_images(self, ami_ids=None, filters=None, exec_users=None, owners=None):
    images = list(visible_images(self).values())
    if ami_ids:
        malformed = [i for i in ami_ids if not i.startswith("ami-")]
        if malformed:
            raise ec2_exceptions.MalformedAMIIdError(malformed)
        images = [ami for ami in images if ami.id in ami_ids]
        deleted = [i for i in ami_ids if i in self.deleted_amis]
        if not images and not deleted:
            raise ec2_exceptions.InvalidAMIIdError(ami_ids)
    if exec_users:
        def executable(ami):
            for user in exec_users:
                if user == "all" and ami.is_public:
                    return True
                target = self.account_id if user == "self" else user
                if any(p.get("UserId") == target for p in ami.launch_permissions):
                    return True
                if target == self.account_id and ami.owner_id != self.account_id \
                        and _shared_with(ami, self.account_id) and not ami.is_public:
                    return True  # shared with the caller's organization
            return False
        images = [ami for ami in images if executable(ami)]
    if owners:
        wanted = {self.account_id if o == "self" else o for o in owners}
        images = [ami for ami in images if ami.owner_id in wanted or ami.owner_alias in wanted]
    if filters:
        images = generic_filter(filters, images)
    return images


def _owned_ami(backend, ami_id):
    if ami_id in backend.amis:
        return backend.amis[ami_id]
    if ami_id in visible_images(backend):
        raise _auth_failure(f"image:{ami_id}")
    raise ec2_exceptions.InvalidAMIIdError(ami_id)


def _wrap_owner_only(original):
    def method(self, ami_id, *args, **kwargs):
        _owned_ami(self, ami_id)
        return original(self, ami_id, *args, **kwargs)
    method.__name__ = original.__name__
    return method


def _block_device_mappings(self):
    registered = getattr(self, "_lc_block_devices", None)
    if registered is not None:
        return registered
    return _stock_block_device_mappings.fget(self)


_stock_block_device_mappings = amis_module.Ami.block_device_mappings


def register_image(backend, name, description=None, block_device_mappings=None,
                   root_device_name=None, architecture=None, virtualization_type=None,
                   boot_mode=None):
    """RegisterImage from snapshots: keeps the mappings (snapshot ids, sizes, Encrypted)."""
    mappings = []
    snapshots = []
    for entry in block_device_mappings or []:
        mapping = {"DeviceName": entry.get("DeviceName")}
        ebs = entry.get("Ebs")
        if ebs:
            snapshot = backend.get_snapshot(ebs["SnapshotId"]) if ebs.get("SnapshotId") else None
            if snapshot is not None:
                snapshots.append(snapshot)
            mapping["Ebs"] = {
                "DeleteOnTermination": ebs.get("DeleteOnTermination", True),
                "VolumeSize": int(ebs.get("VolumeSize") or (snapshot.volume.size if snapshot else 8)),
                "VolumeType": ebs.get("VolumeType") or "gp2",
                "Encrypted": bool(snapshot.encrypted if snapshot else ebs.get("Encrypted", False)),
            }
            if snapshot is not None:
                mapping["Ebs"]["SnapshotId"] = snapshot.id
            for optional in ("Iops", "Throughput"):
                if ebs.get(optional) is not None:
                    mapping["Ebs"][optional] = ebs[optional]
        for optional in ("VirtualName", "NoDevice"):
            if entry.get(optional) is not None:
                mapping[optional] = entry[optional]
        mappings.append(mapping)

    ami = backend.register_image(name, description)
    if not mappings:
        return ami
    # moto invents a root snapshot for every image; a registered image uses the given ones.
    backend.snapshots.pop(ami.ebs_snapshot.id, None)
    ami._lc_block_devices = mappings
    ami.root_device_name = root_device_name or mappings[0]["DeviceName"]
    ami.root_device_type = "ebs"
    ami.architecture = architecture or "x86_64"
    ami.virtualization_type = virtualization_type or "hvm"
    if boot_mode:
        ami.boot_mode = boot_mode
    if snapshots:
        ami.ebs_snapshot = snapshots[0]
    for snapshot in snapshots:
        if snapshot.owner_id == backend.account_id:
            snapshot.from_ami = ami.id
    return ami


def ami_snapshots(ami):
    """Yields the snapshots an AMI's EBS mappings use (looked up in the AMI owner's account)."""
    owner = ami.ec2_backend
    for mapping in ami.block_device_mappings:
        snapshot_id = (mapping.get("Ebs") or {}).get("SnapshotId")
        snapshot = owner.snapshots.get(snapshot_id) if snapshot_id else None
        if snapshot is not None:
            yield snapshot


def _register_image_response(self):
    self.error_on_dryrun()
    image = register_image(
        self.ec2_backend, self._get_param("Name"), self._get_param("Description", ""),
        self._get_param("BlockDeviceMappings", []), self._get_param("RootDeviceName"),
        self._get_param("Architecture"), self._get_param("VirtualizationType"),
        self._get_param("BootMode"))
    return amis_responses.ActionResult({"ImageId": image.id})


# --- snapshots and volumes --------------------------------------------------------------------

def _restorable_by(snapshot, account):
    return (account in snapshot.create_volume_permission_userids
            or "all" in snapshot.create_volume_permission_groups)


def visible_snapshots(backend):
    snapshots = dict(backend.snapshots)
    for account, other in existing_backends(backend.region_name):
        if account == backend.account_id:
            continue
        for snapshot in list(other.snapshots.values()):
            if _restorable_by(snapshot, backend.account_id):
                snapshots.setdefault(snapshot.id, snapshot)
    return snapshots


def describe_snapshots(self, snapshot_ids=None, filters=None, owner_ids=None, restorable_by=None):
    snapshots = list(visible_snapshots(self).values())
    if snapshot_ids:
        snapshots = [s for s in snapshots if s.id in snapshot_ids]
        if len(snapshot_ids) > len(snapshots):
            raise ec2_exceptions.InvalidSnapshotIdError()
    if owner_ids:
        wanted = {self.account_id if o == "self" else o for o in owner_ids}
        snapshots = [s for s in snapshots if s.owner_id in wanted]
    if restorable_by:
        def restorable(snapshot):
            for user in restorable_by:
                if user == "all" and "all" in snapshot.create_volume_permission_groups:
                    return True
                target = self.account_id if user == "self" else user
                if snapshot.owner_id == target or target in snapshot.create_volume_permission_userids:
                    return True
            return False
        snapshots = [s for s in snapshots if restorable(s)]
    if filters:
        snapshots = generic_filter(filters, snapshots)
    return snapshots


def _describe_snapshots_response(self):
    snapshots = self.ec2_backend.describe_snapshots(
        snapshot_ids=self._get_param("SnapshotIds", []),
        filters=self._filters_from_querystring(),
        owner_ids=self._get_param("OwnerIds", []),
        restorable_by=self._get_param("RestorableByUserIds", []))
    return ebs_responses.ActionResult({"Snapshots": snapshots})


def _get_snapshot(original):
    def get_snapshot(self, snapshot_id):
        snapshot = visible_snapshots(self).get(snapshot_id)
        if snapshot is None:
            return original(self, snapshot_id)
        return snapshot
    return get_snapshot


def _owner_only_snapshot(original):
    def method(self, snapshot_id, *args, **kwargs):
        if snapshot_id not in self.snapshots:
            if snapshot_id in visible_snapshots(self):
                raise _auth_failure(f"snapshot:{snapshot_id}")
            raise ec2_exceptions.InvalidSnapshotIdError()
        return original(self, snapshot_id, *args, **kwargs)
    method.__name__ = original.__name__
    return method


def _create_volume(original):
    def create_volume(self, size, zone_name, snapshot_id=None, encrypted=False, kms_key_id=None,
                      *args, **kwargs):
        if snapshot_id and not kms_key_id:
            snapshot = self.get_snapshot(snapshot_id)
            if snapshot.encrypted and snapshot.kms_key_id:
                encrypted, kms_key_id = True, snapshot.kms_key_id
        volume = original(self, size, zone_name, snapshot_id, encrypted, kms_key_id,
                          *args, **kwargs)
        if volume.kms_key_id:
            volume.kms_key_id = lc_kms.key_arn(volume.kms_key_id, self.region_name, self.account_id)
        return volume
    return create_volume


def _create_snapshot(original):
    def create_snapshot(self, volume_id, description, owner_id=None, from_ami=None):
        snapshot = original(self, volume_id, description, owner_id, from_ami)
        volume = self.get_volume(volume_id)
        if volume.kms_key_id and not snapshot.kms_key_id:
            snapshot.kms_key_id = lc_kms.key_arn(volume.kms_key_id, self.region_name,
                                                 self.account_id)
            snapshot.encrypted = True
        return snapshot
    return create_snapshot


def install():
    """Patches moto's EC2 backends and responses in this process (idempotent)."""
    backend = amis_module.AmiBackend
    if getattr(backend, "_lc_patched", False):
        return
    backend._lc_patched = True
    backend.describe_images = describe_images
    backend.modify_image_attribute = _wrap_owner_only(backend.modify_image_attribute)
    backend.describe_image_attribute = _wrap_owner_only(backend.describe_image_attribute)
    amis_module.Ami.block_device_mappings = property(_block_device_mappings)
    amis_responses.AmisResponse.register_image = _register_image_response

    ebs = ebs_module.EBSBackend
    ebs.describe_snapshots = describe_snapshots
    ebs.get_snapshot = _get_snapshot(ebs.get_snapshot)
    ebs.add_create_volume_permission = _owner_only_snapshot(ebs.add_create_volume_permission)
    ebs.remove_create_volume_permission = _owner_only_snapshot(ebs.remove_create_volume_permission)
    ebs.create_volume = _create_volume(ebs.create_volume)
    ebs.create_snapshot = _create_snapshot(ebs.create_snapshot)
    ebs_responses.ElasticBlockStore.describe_snapshots = _describe_snapshots_response
