-- launch_sources_test: the keys behind an image or a group, and why a scaling activity failed.
local T = require "testing"
local launch_sources = require "luaws.domain.launch_sources"

T.test("image_keys: snapshot keys in first-seen order, as the snapshot owner sees them", function()
  local ec2 = { DescribeSnapshots = function(_, p)
    T.same(p.SnapshotIds, { "snap-1", "snap-2", "snap-3" })
    return { Snapshots = { { SnapshotId = "snap-2", Encrypted = true, KmsKeyId = "arn:k2" } } }
  end }
  local keys = launch_sources.image_keys(ec2, { BlockDeviceMappings = {
    { Ebs = { SnapshotId = "snap-1", KmsKeyId = "arn:k1" } }, { Ebs = { SnapshotId = "snap-2" } },
    { Ebs = { SnapshotId = "snap-3", KmsKeyId = "arn:k1" } }, { VirtualName = "ephemeral0" } } })
  T.same(keys, { { key = "arn:k1", snapshots = { "snap-1", "snap-3" } }, { key = "arn:k2", snapshots = { "snap-2" } } })
end)

T.test("group_launch follows a launch template version; a missing group is a clear error", function()
  local asg = { DescribeAutoScalingGroups = function(_, p)
    if p.AutoScalingGroupNames[1] == "gone" then return { AutoScalingGroups = {} } end
    return { AutoScalingGroups = { { LaunchTemplate = { LaunchTemplateId = "lt-1", Version = "3" } } } }
  end }
  local ec2 = { DescribeLaunchTemplateVersions = function()
    return { LaunchTemplateVersions = { { VersionNumber = 3, LaunchTemplateData = { ImageId = "ami-1",
      BlockDeviceMappings = { { Ebs = { KmsKeyId = "arn:k" } } } } } } }
  end }
  local _, launch = launch_sources.group_launch(asg, ec2, "web")
  T.eq(launch.image_id, "ami-1")
  T.same(launch.key_ids, { "arn:k" })
  T.eq(launch.source, "launch template lt-1 version 3")
  local ok, e = pcall(launch_sources.group_launch, asg, ec2, "gone")
  T.ok(not ok)
  T.eq(e.code, "GroupNotFound")
end)

T.test("classify_failure names the trap behind each message AWS gives", function()
  local function kind(message)
    return (launch_sources.classify_failure { StatusCode = "Failed", StatusMessage = message })
  end
  T.eq(kind("Client.InternalError: Client error on launch"), "kms-access")
  T.eq(kind("Client.InvalidKMSKey.InvalidState: The KMS key provided is in an incorrect state"), "kms-key-state")
  T.eq(kind("One or more of the attached Amazon EBS volumes are encrypted with an inaccessible AWS KMS key"),
       "kms-access")
  T.eq(kind("The image id '[ami-0abc]' does not exist"), "image")
  T.eq(kind("Insufficient capacity"), nil)
  T.eq(launch_sources.classify_failure { StatusCode = "Successful", StatusMessage = "Client.InternalError" }, nil)
  T.eq(#launch_sources.failed_launches { { StatusCode = "Failed", StatusMessage = "Client.InternalError" },
                                         { StatusCode = "Failed", StatusMessage = "capacity" } }, 1)
end)

T.done()
