"""localcloud_kms_test: cross-account KMS, key policy conditions and grants on the local cloud."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.environ.get("LUAWS_SOURCE_DIR", "."), "localcloud"))
from testkit import (BLOG_OPERATIONS, Checks, Cloud, error_code,  # noqa: E402
                     external_statements, key_policy, put_policy)

checks = Checks()
cloud = Cloud()
try:
    s = cloud.seed(console_policy=True)
    A, B = s["source_account"], s["target_account"]
    key = s["key_arn"]
    kms_a, kms_b = cloud.client("kms", "source"), cloud.client("kms", "target")
    role = s["service_linked_role_arn"]
    user_b = f"arn:aws:iam::{B}:user/admin"
    original = key_policy(kms_a, key)

    @checks.case("console's GrantIsForAWSResource statement: B's direct CreateGrant is denied")
    def _():
        assert any(st.get("Condition") for st in original["Statement"])
        code, message = error_code(kms_b.create_grant, KeyId=key, GranteePrincipal=role,
                                   Operations=BLOG_OPERATIONS)
        assert code == "AccessDeniedException", code
        assert "kms:CreateGrant" in message and key in message

    @checks.case("the console's use statement lets B encrypt, decrypt and describe by key ARN")
    def _():
        described = kms_b.describe_key(KeyId=key)["KeyMetadata"]
        assert described["Arn"] == key and described["AWSAccountId"] == A
        blob = kms_b.encrypt(KeyId=key, Plaintext=b"secret")["CiphertextBlob"]
        assert kms_b.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"
        assert kms_b.decrypt(CiphertextBlob=blob, KeyId=key)["KeyId"] == key
        assert kms_b.generate_data_key_without_plaintext(KeyId=key, KeySpec="AES_256")["KeyId"] == key
        alias_arn = f"arn:aws:kms:us-east-1:{A}:alias/ami-key"
        assert kms_b.describe_key(KeyId=alias_arn)["KeyMetadata"]["Arn"] == key

    @checks.case("operations AWS does not allow across accounts answer NotFound, not 500")
    def _():
        assert error_code(kms_b.get_key_policy, KeyId=key, PolicyName="default")[0] == \
            "NotFoundException"
        assert error_code(kms_b.describe_key, KeyId=key.split("/")[-1])[0] == "NotFoundException"
        missing = f"arn:aws:kms:us-east-1:{A}:key/00000000-0000-0000-0000-000000000000"
        assert error_code(kms_b.create_grant, KeyId=missing, GranteePrincipal=role,
                          Operations=["Decrypt"])[0] == "NotFoundException"

    @checks.case("an unconditional CreateGrant statement for B's root lets B create the grant")
    def _():
        policy = key_policy(kms_a, key)
        policy["Statement"] += external_statements(B)[1:]
        put_policy(kms_a, key, policy)
        result = kms_b.create_grant(KeyId=key, GranteePrincipal=role, Operations=BLOG_OPERATIONS,
                                    RetiringPrincipal=user_b, Name="asg")
        assert re.match(r"^[0-9a-f]{64}$", result["GrantId"])

    @checks.case("explicit Deny wins over Allow")
    def _():
        policy = key_policy(kms_a, key)
        policy["Statement"].append({"Sid": "NoGrantsForB", "Effect": "Deny",
                                    "Principal": {"AWS": B}, "Action": "kms:Create*",
                                    "Resource": "*"})
        put_policy(kms_a, key, policy)
        code, message = error_code(kms_b.create_grant, KeyId=key, GranteePrincipal=role,
                                   Operations=["Decrypt"])
        assert code == "AccessDeniedException" and "explicit deny" in message, message
        policy["Statement"].pop()
        put_policy(kms_a, key, policy)

    @checks.case("ListRetirableGrants from B lists grants on A's key by retiring principal")
    def _():
        grants = kms_b.list_retirable_grants(RetiringPrincipal=user_b)["Grants"]
        assert len(grants) == 1 and grants[0]["KeyId"] == key
        assert grants[0]["RetiringPrincipal"] == user_b
        assert grants[0]["Operations"] == BLOG_OPERATIONS
        code = error_code(kms_b.list_retirable_grants,
                          RetiringPrincipal=f"arn:aws:iam::{A}:user/admin")[0]
        assert code == "AccessDeniedException"

    @checks.case("RetireGrant is refused to others, allowed to the retiring principal")
    def _():
        grant_id = kms_a.list_grants(KeyId=key)["Grants"][0]["GrantId"]
        other = kms_b.create_grant(KeyId=key, GranteePrincipal=role, Operations=["Decrypt"],
                                   Name="other")["GrantId"]
        code = error_code(kms_a.retire_grant, KeyId=key, GrantId=other)[0]
        assert code == "AccessDeniedException", "A neither created nor may retire B's grant"
        kms_b.retire_grant(KeyId=key, GrantId=grant_id)
        remaining = [g["GrantId"] for g in kms_a.list_grants(KeyId=key)["Grants"]]
        assert remaining == [other]
        kms_a.revoke_grant(KeyId=key, GrantId=other)
        assert kms_a.list_grants(KeyId=key)["Grants"] == []

    @checks.case("RetireGrant by token; a grant token retires its grant")
    def _():
        token = kms_b.create_grant(KeyId=key, GranteePrincipal=role,
                                   Operations=["Decrypt"])["GrantToken"]
        kms_b.retire_grant(GrantToken=token)
        assert kms_a.list_grants(KeyId=key)["Grants"] == []
        assert error_code(kms_b.retire_grant, GrantToken=token)[0] == "InvalidGrantTokenException"

    @checks.case("CreateGrant validates operations, principals and key state")
    def _():
        assert error_code(kms_a.create_grant, KeyId=key, GranteePrincipal=role,
                          Operations=["Launch"])[0] == "ValidationException"
        assert error_code(kms_a.create_grant, KeyId=key, GranteePrincipal="not-an-arn",
                          Operations=["Decrypt"])[0] == "InvalidArnException"
        missing_role = f"arn:aws:iam::{B}:role/does-not-exist"
        assert error_code(kms_a.create_grant, KeyId=key, GranteePrincipal=missing_role,
                          Operations=["Decrypt"])[0] == "InvalidArnException"
        assert error_code(kms_a.create_grant, KeyId=key, GranteePrincipal=role,
                          Operations=["Decrypt"], Name="bad name!")[0] == "ValidationException"
        kms_a.disable_key(KeyId=key)
        assert error_code(kms_a.create_grant, KeyId=key, GranteePrincipal=role,
                          Operations=["Decrypt"])[0] == "DisabledException"
        kms_a.enable_key(KeyId=key)

    @checks.case("ListGrants from B once the key policy allows kms:ListGrants")
    def _():
        kms_b.create_grant(KeyId=key, GranteePrincipal=role, Operations=["Decrypt"], Name="g")
        assert error_code(kms_b.list_grants, KeyId=key)[0] == "AccessDeniedException"
        policy = key_policy(kms_a, key)
        policy["Statement"].append({"Sid": "ListForB", "Effect": "Allow",
                                    "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
                                    "Action": "kms:List*", "Resource": "*"})
        put_policy(kms_a, key, policy)
        assert len(kms_b.list_grants(KeyId=key)["Grants"]) == 1

    @checks.case("aws:PrincipalOrgID and kms:CallerAccount conditions")
    def _():
        org = cloud.api("/localcloud-api/org", {"master": A, "members": [B]})["OrganizationId"]
        org_key = kms_a.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "Owner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "Org", "Effect": "Allow", "Principal": {"AWS": "*"},
             "Action": ["kms:DescribeKey", "kms:Encrypt"], "Resource": "*",
             "Condition": {"StringEquals": {"aws:PrincipalOrgID": org}}},
            {"Sid": "OnlyB", "Effect": "Allow", "Principal": {"AWS": "*"},
             "Action": "kms:CreateGrant", "Resource": "*",
             "Condition": {"StringEquals": {"kms:CallerAccount": "999999999999"}}}]}))
        arn = org_key["KeyMetadata"]["Arn"]
        assert kms_b.describe_key(KeyId=arn)["KeyMetadata"]["Arn"] == arn
        assert error_code(kms_b.create_grant, KeyId=arn, GranteePrincipal=role,
                          Operations=["Decrypt"])[0] == "AccessDeniedException"
        outsider = cloud.client("kms")  # account 123456789012, not in the organization
        assert error_code(outsider.describe_key, KeyId=arn)[0] == "AccessDeniedException"

    @checks.case("PutKeyPolicy: lockout safety check, size limit, unknown principals")
    def _():
        locked = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
             "Action": "kms:*", "Resource": "*"}]}
        code, message = error_code(kms_a.put_key_policy, KeyId=key, PolicyName="default",
                                   Policy=json.dumps(locked))
        assert code == "MalformedPolicyDocumentException" and "will not allow you" in message
        huge = key_policy(kms_a, key)
        huge["Statement"].append({"Sid": "x" * 33000, "Effect": "Allow", "Principal": "*",
                                  "Action": "kms:DescribeKey", "Resource": "*"})
        assert error_code(kms_a.put_key_policy, KeyId=key, PolicyName="default",
                          Policy=json.dumps(huge))[0] == "ValidationException"
        ghost = key_policy(kms_a, key)
        ghost["Statement"].append({"Effect": "Allow", "Resource": "*", "Action": "kms:Decrypt",
                                   "Principal": {"AWS": f"arn:aws:iam::{B}:role/ghost"}})
        code, message = error_code(kms_a.put_key_policy, KeyId=key, PolicyName="default",
                                   Policy=json.dumps(ghost))
        assert code == "MalformedPolicyDocumentException" and "invalid principals" in message
        assert error_code(kms_a.put_key_policy, KeyId=key, PolicyName="default",
                          Policy="{not json")[0] == "MalformedPolicyDocumentException"
        assert "Statement" in json.loads(kms_a.get_key_policy(KeyId=key)["Policy"])
finally:
    cloud.stop()
sys.exit(checks.done())
