-- customizations.kms: KMS operations that only compute, and writes that are harmless to repeat.
return {
  -- Cryptographic operations read the key and change nothing (a plan may run them).
  read_only = {
    Encrypt = true, Decrypt = true, ReEncrypt = true, GenerateDataKey = true,
    GenerateDataKeyWithoutPlaintext = true, GenerateDataKeyPair = true,
    GenerateDataKeyPairWithoutPlaintext = true, GenerateRandom = true, GenerateMac = true,
    VerifyMac = true, Sign = true, Verify = true, DeriveSharedSecret = true,
  },
  idempotent_writes = {
    PutKeyPolicy = true,              -- replaces the whole document with the same document
    CreateGrant = function(params)    -- with a Name, the same parameters return the same grant
      return type(params) == "table" and params.Name ~= nil
    end,
    EnableKeyRotation = true, DisableKeyRotation = true, EnableKey = true, DisableKey = true,
    TagResource = true, UntagResource = true,
  },
}
