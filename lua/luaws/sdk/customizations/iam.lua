-- customizations.iam: IAM writes that leave the same state when repeated.
return {
  idempotent_writes = {
    PutRolePolicy = true, PutUserPolicy = true, PutGroupPolicy = true, AttachRolePolicy = true,
    DetachRolePolicy = true, UpdateAssumeRolePolicy = true, TagRole = true, UntagRole = true,
  },
}
