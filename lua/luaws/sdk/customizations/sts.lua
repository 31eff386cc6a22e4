-- customizations.sts: STS calls that hand out credentials or decode text but change nothing.
return {
  read_only = {
    AssumeRole = true, AssumeRoleWithSAML = true, AssumeRoleWithWebIdentity = true, AssumeRoot = true,
    DecodeAuthorizationMessage = true,
  },
}
