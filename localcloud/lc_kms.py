"""lc_kms: cross-account KMS by key ARN, key policy enforcement for other accounts, real grants.

AWS behaviour modelled (each cited where it is implemented):
* A principal in account B may use account A's key only by key ARN (or alias ARN), only for the
  operations AWS allows across accounts, and only when A's key policy allows it (B's IAM policy is
  checked by moto's own IAM evaluation when signature checking is on).
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html
* Grants: 64-hex ids, validated parameters, `Name` makes CreateGrant idempotent, grants authorise
  their grantee, ListGrants / ListRetirableGrants / RetireGrant / RevokeGrant with AWS's rules.
  https://docs.aws.amazon.com/kms/latest/developerguide/grants.html
* PutKeyPolicy validates JSON, the 32 KB limit, principals that must exist, and the lockout
  safety check. https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html
Same-account calls keep moto's behaviour otherwise (the default key policy delegates to IAM).
"""
import json
import re
import secrets
import time

from moto.core.exceptions import JsonRESTError
from moto.iam.models import iam_backends
from moto.kms import models as kms_models
from moto.kms import responses as kms_responses
from moto.kms.models import kms_backends

import lc_identity
import lc_policy

# "Cross-account use: Yes" in the KMS API reference of each operation.
CROSS_ACCOUNT_OPERATIONS = {
    "CreateGrant", "Decrypt", "DescribeKey", "Encrypt", "GenerateDataKey",
    "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext", "GenerateMac", "GetPublicKey", "ListGrants", "ReEncrypt",
    "RetireGrant", "RevokeGrant", "Sign", "Verify", "VerifyMac", "DeriveSharedSecret",
}
# https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html#KMS-CreateGrant-request-Operations
GRANT_OPERATIONS = [
    "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom",
    "ReEncryptTo", "Sign", "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey",
    "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac",
    "DeriveSharedSecret",
]
# What EBS does with the key when it creates a volume from an encrypted snapshot on behalf of a
# launching principal; the blog's five operations, a subset of the eight AWS documents.
# https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html
EBS_LAUNCH_OPERATIONS = ["CreateGrant", "Decrypt", "GenerateDataKeyWithoutPlaintext",
                         "ReEncryptFrom", "ReEncryptTo"]
MAX_POLICY_BYTES = 32768

_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key|alias)/(.+)$")
_PRINCIPAL_ARN = re.compile(
    r"^arn:aws[a-z-]*:(iam::(\d{12}):(root|user/.+|role/.+)|sts::(\d{12}):(assumed-role|federated-user)/.+)$")
_GRANT_NAME = re.compile(r"^[a-zA-Z0-9:/_-]{1,256}$")


def _error(kind, message):
    return JsonRESTError(kind, message)


def access_denied(caller, action, key_arn, explicit=False):
    reason = ("with an explicit deny in a resource-based policy" if explicit
              else f"because no resource-based policy allows the kms:{action} action")
    return _error("AccessDeniedException",
                  f"User: {caller.display_arn} is not authorized to perform: kms:{action} "
                  f"on resource: {key_arn} {reason}")


class Grant:
    """A KMS grant as AWS describes it (ListGrants' GrantListEntry)."""

    def __init__(self, key, name, grantee, operations, constraints, retiring, issuing_account):
        self.key_arn = key.arn
        self.key_id = key.id
        self.id = secrets.token_hex(32)
        self.name = name
        self.grantee_principal = grantee
        self.retiring_principal = retiring
        self.operations = list(operations)
        self.constraints = constraints
        self.issuing_account = issuing_account
        self.creation_date = time.time()
        self.tokens = []

    def same_parameters(self, grantee, operations, constraints, retiring):
        return (self.grantee_principal == grantee and sorted(self.operations) == sorted(operations)
                and (self.constraints or None) == (constraints or None)
                and self.retiring_principal == retiring)

    def new_token(self):
        token = secrets.token_urlsafe(96)
        self.tokens.append(token)
        return token

    def to_json(self):
        entry = {
            "KeyId": self.key_arn, "GrantId": self.id, "CreationDate": self.creation_date,
            "GranteePrincipal": self.grantee_principal,
            "IssuingAccount": lc_identity.root_arn(self.issuing_account),
            "Operations": self.operations,
        }
        if self.name:
            entry["Name"] = self.name
        if self.retiring_principal:
            entry["RetiringPrincipal"] = self.retiring_principal
        if self.constraints:
            entry["Constraints"] = self.constraints
        return entry


# --- key lookup across accounts -------------------------------------------------------------

def _existing_backends(region):
    for account, per_region in list(kms_backends.items()):
        if region in per_region.keys():
            yield account, dict.__getitem__(per_region, region)


def find_key(key_ref, region, default_account):
    """Resolves a key id, key ARN, alias name or alias ARN; returns (owner_account, Key or None)."""
    if not key_ref:
        return default_account, None
    match = _KEY_ARN.match(key_ref)
    account = default_account
    if match:
        if match.group(1) != region:
            return match.group(2), None
        account = match.group(2)
        key_ref = match.group(4) if match.group(3) == "key" else "alias/" + match.group(4)
    backend = kms_backends[account][region]
    if key_ref.startswith("alias/"):
        key_id = next((k.id for k in backend.keys.values() if key_ref in k.aliases), None)
        return account, backend.keys.get(key_id) if key_id else None
    return account, backend.keys.get(key_ref)


def find_key_by_id(key_id, region):
    """Finds a key by bare id in any account of the region; returns (account, Key) or (None, None)."""
    for account, backend in _existing_backends(region):
        if key_id in backend.keys:
            return account, backend.keys[key_id]
    return None, None


def key_arn(key_ref, region, default_account):
    """Normalises a key reference to the key ARN (EBS reports KmsKeyId as an ARN); keeps unknowns."""
    if not key_ref:
        return key_ref
    _, key = find_key(key_ref, region, default_account)
    return key.arn if key else key_ref


# --- authorisation ----------------------------------------------------------------------------

def _context(caller, action, params, via_service=None, for_aws_resource=False):
    context = {
        "aws:PrincipalArn": caller.arn,
        "aws:PrincipalAccount": caller.account,
        "kms:CallerAccount": caller.account,
    }
    org = lc_identity.org_id(caller.account)
    if org:
        context["aws:PrincipalOrgID"] = org
    if via_service:
        context["kms:ViaService"] = via_service
    if action in ("CreateGrant", "ListGrants", "RevokeGrant"):
        # True only when an integrated AWS service calls on the principal's behalf.
        # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource
        context["kms:GrantIsForAWSResource"] = "true" if for_aws_resource else "false"
    if action == "CreateGrant":
        context["kms:GrantOperations"] = list(params.get("Operations") or [])
        if params.get("GranteePrincipal"):
            context["kms:GranteePrincipal"] = params["GranteePrincipal"]
        if params.get("RetiringPrincipal"):
            context["kms:RetiringPrincipal"] = params["RetiringPrincipal"]
    encryption_context = params.get("EncryptionContext")
    if isinstance(encryption_context, dict):
        context["kms:EncryptionContextKeys"] = list(encryption_context)
        for name, value in encryption_context.items():
            context[f"kms:EncryptionContext:{name}"] = value
    return context


def grant_allows(key, principals, operation):
    return any(g.grantee_principal in principals and operation in g.operations
               for g in key.grants.values() if isinstance(g, Grant))


def authorize_external(caller, key, action, params):
    """Raises AccessDeniedException unless A's key policy (or a grant) lets B's caller do `action`."""
    request = lc_policy.Request(caller.arn, caller.account, "kms:" + action, key.arn,
                                _context(caller, action, params), session_arn=caller.session_arn)
    decision = lc_policy.evaluate(key.policy, request)
    if decision.effect == lc_policy.DENY:
        raise access_denied(caller, action, key.arn, explicit=True)
    if decision.allowed:
        return
    grant_op = {"ReEncrypt": "ReEncryptTo"}.get(action, action)
    if grant_allows(key, {caller.arn, caller.session_arn} - {None}, grant_op):
        return
    raise access_denied(caller, action, key.arn)


def service_role_can_use(key, role_arn, role_account, region, operations=EBS_LAUNCH_OPERATIONS,
                         via="ec2"):
    """Whether a service-linked role may use `key` for `operations` when a service acts for it.

    Returns (True, None) or (False, reason). A key policy statement counts only when it names the
    role itself (or "*") in the key's own account: a statement naming the account delegates to IAM,
    and service-linked roles' IAM policies cannot be edited to add KMS permissions. Across
    accounts the key policy alone never suffices (IAM must allow too), so only grants work.
    https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html
    """
    if key.key_state != "Enabled":
        return False, f"key {key.arn} is {key.key_state}"
    caller = lc_identity.Caller(role_account, role_arn)
    missing = []
    for operation in operations:
        context = _context(caller, operation, {}, via_service=f"{via}.{region}.amazonaws.com",
                           for_aws_resource=True)
        decision = lc_policy.evaluate(key.policy, lc_policy.Request(
            role_arn, role_account, "kms:" + operation, key.arn, context))
        if decision.effect == lc_policy.DENY:
            return False, f"the key policy of {key.arn} denies kms:{operation} to {role_arn}"
        by_policy = decision.direct and key.account_id == role_account
        if not (by_policy or grant_allows(key, {role_arn}, operation)):
            missing.append(operation)
    if missing:
        return False, f"{role_arn} may not use {key.arn} for {', '.join(missing)}"
    return True, None


# --- response layer patches -------------------------------------------------------------------

def _params(response):
    try:
        params = json.loads(response.body or "{}")
    except ValueError:
        params = {}
    return params if isinstance(params, dict) else {}


def _caller(response):
    return lc_identity.caller(response.current_account, response.access_key)


def _kms_backend(self):
    return kms_backends[getattr(self, "_lc_owner", None) or self.current_account][self.region]


def _not_found(response, key_ref):
    return _error("NotFoundException", f"Key '{response._display_arn(key_ref)}' does not exist")


def _resolve(response, key_ref, action):
    """Finds the key a request names; routes a foreign key ARN to its owner (raising as AWS does)."""
    owner, key = find_key(key_ref, response.region, response.current_account)
    if owner != response.current_account:
        if action not in CROSS_ACCOUNT_OPERATIONS or key is None:
            raise _not_found(response, key_ref)
        response._lc_owner = owner
    return owner, key


def _ciphertext_key_id(params):
    import base64
    from moto.kms.utils import _deserialize_ciphertext_blob
    try:
        blob = base64.b64decode(params.get("CiphertextBlob", ""))
        return _deserialize_ciphertext_blob(blob).key_id
    except Exception:  # noqa: BLE001 (a bad blob is moto's error to report)
        return None


def _guard(action, key_param):
    """Wraps a moto KMS response method: cross-account routing and key policy check."""
    def wrap(original):
        def method(self):
            params = _params(self)
            key_ref = params.get(key_param)
            if action in ("Decrypt", "ReEncrypt") and not (action == "Decrypt" and key_ref):
                source_id = _ciphertext_key_id(params)
                owner, key = find_key_by_id(source_id, self.region) if source_id else (None, None)
                if key is not None and owner != self.current_account:
                    self._lc_owner = owner
                    authorize_external(_caller(self), key, "Decrypt" if action == "Decrypt"
                                       else "ReEncryptFrom", params)
                if action == "Decrypt":
                    return original(self)
            if key_ref:
                owner, key = _resolve(self, key_ref, action)
                if owner != self.current_account:
                    authorize_external(_caller(self), key, action, params)
            return original(self)
        method.__name__ = original.__name__
        return method
    return wrap


_GUARDED = {
    "describe_key": ("DescribeKey", "KeyId"), "encrypt": ("Encrypt", "KeyId"),
    "decrypt": ("Decrypt", "KeyId"), "re_encrypt": ("ReEncrypt", "DestinationKeyId"),
    "generate_data_key": ("GenerateDataKey", "KeyId"),
    "generate_data_key_without_plaintext": ("GenerateDataKeyWithoutPlaintext", "KeyId"),
    "generate_mac": ("GenerateMac", "KeyId"), "verify_mac": ("VerifyMac", "KeyId"),
    "sign": ("Sign", "KeyId"), "verify": ("Verify", "KeyId"),
    "get_public_key": ("GetPublicKey", "KeyId"),
}


def _key_for_grant_call(response, params, action):
    key_ref = params.get("KeyId")
    if not key_ref:
        raise _error("ValidationException", "1 validation error detected: Value null at 'keyId' "
                     "failed to satisfy constraint: Member must not be null")
    owner, key = _resolve(response, key_ref, action)
    if key is None:
        raise _not_found(response, key_ref)
    caller = _caller(response)
    if owner != response.current_account:
        authorize_external(caller, key, action, params)
    return key, caller


def _valid_principal(arn):
    """Grantee/retiring principals: an ARN of an existing principal (or a service principal)."""
    if not isinstance(arn, str):
        return False
    if re.match(r"^[a-z0-9.-]+\.amazonaws\.com$", arn):
        return True
    match = _PRINCIPAL_ARN.match(arn)
    if not match:
        return False
    account = match.group(2)
    resource = match.group(3)
    if not account or resource == "root":
        return True
    iam = iam_backends[account]["aws"]
    if resource.startswith("role/"):
        return any(role.arn == arn for role in iam.roles.values())
    return any(user.arn == arn for user in iam.users.values())


def create_grant(self):
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html"""
    params = _params(self)
    operations = params.get("Operations")
    if not operations or not isinstance(operations, list):
        raise _error("ValidationException", "1 validation error detected: Value null at "
                     "'operations' failed to satisfy constraint: Member must not be null")
    bad = [op for op in operations if op not in GRANT_OPERATIONS]
    if bad:
        raise _error("ValidationException", f"1 validation error detected: Value '{operations}' "
                     "at 'operations' failed to satisfy constraint: Member must satisfy "
                     f"constraint: [Member must satisfy enum value set: [{', '.join(GRANT_OPERATIONS)}]]")
    name = params.get("Name")
    if name is not None and not _GRANT_NAME.match(name):
        raise _error("ValidationException", f"1 validation error detected: Value '{name}' at "
                     "'name' failed to satisfy constraint: Member must satisfy regular expression "
                     "pattern: ^[a-zA-Z0-9:/_-]+$")
    grantee = params.get("GranteePrincipal")
    retiring = params.get("RetiringPrincipal")
    for principal in [grantee] + ([retiring] if retiring is not None else []):
        if not _valid_principal(principal):
            raise _error("InvalidArnException", f"ARN does not refer to a valid principal: {principal}")
    key, caller = _key_for_grant_call(self, params, "CreateGrant")
    if key.key_state == "Disabled":
        raise _error("DisabledException", f"{key.arn} is disabled.")
    if key.key_state != "Enabled":
        raise _error("KMSInvalidStateException", f"{key.arn} is {key.key_state.lower()}.")
    constraints = params.get("Constraints")
    existing = None
    if name:
        # "if the grant already exists, the original GrantId is returned without creating a new
        # grant. Note that the returned grant token is unique with every CreateGrant request"
        existing = next((g for g in key.grants.values() if isinstance(g, Grant)
                         and g.name == name and g.same_parameters(grantee, operations,
                                                                  constraints, retiring)), None)
    grant = existing or Grant(key, name, grantee, operations, constraints, retiring, caller.account)
    key.grants[grant.id] = grant
    return json.dumps({"GrantId": grant.id, "GrantToken": grant.new_token()})


def _page(grants, params):
    limit = int(params.get("Limit") or 50)
    start = int(params.get("Marker") or 0)
    page = grants[start:start + limit]
    result = {"Grants": [g.to_json() for g in page], "Truncated": start + limit < len(grants)}
    if result["Truncated"]:
        result["NextMarker"] = str(start + limit)
    return json.dumps(result)


def list_grants(self):
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_ListGrants.html"""
    params = _params(self)
    key, _ = _key_for_grant_call(self, params, "ListGrants")
    grants = [g for g in key.grants.values() if isinstance(g, Grant)]
    if params.get("GrantId"):
        grants = [g for g in grants if g.id == params["GrantId"]]
    if params.get("GranteePrincipal"):
        grants = [g for g in grants if g.grantee_principal == params["GranteePrincipal"]]
    grants.sort(key=lambda g: g.creation_date)
    return _page(grants, params)


def list_retirable_grants(self):
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_ListRetirableGrants.html

    Includes grants on keys of other accounts; the principal must be in the caller's account."""
    params = _params(self)
    retiring = params.get("RetiringPrincipal")
    if not retiring:
        raise _error("ValidationException", "1 validation error detected: Value null at "
                     "'retiringPrincipal' failed to satisfy constraint: Member must not be null")
    match = _PRINCIPAL_ARN.match(retiring)
    account = match and (match.group(2) or match.group(4))
    if account != self.current_account:
        caller = _caller(self)
        raise _error("AccessDeniedException", f"User: {caller.display_arn} is not authorized to "
                     f"perform: kms:ListRetirableGrants on resource: {retiring}")
    grants = []
    for _, backend in _existing_backends(self.region):
        for key in backend.keys.values():
            grants.extend(g for g in key.grants.values()
                          if isinstance(g, Grant) and g.retiring_principal == retiring)
    grants.sort(key=lambda g: g.creation_date)
    return _page(grants, params)


def revoke_grant(self):
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_RevokeGrant.html"""
    params = _params(self)
    key, _ = _key_for_grant_call(self, params, "RevokeGrant")
    if not key.grants.pop(params.get("GrantId"), None):
        raise _error("NotFoundException", f"Grant ID {params.get('GrantId')} not found")
    return "{}"


def retire_grant(self):
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_RetireGrant.html

    Who may retire: the account that created the grant, its retiring principal, or its grantee
    when the grant includes RetireGrant."""
    params = _params(self)
    caller = _caller(self)
    token, grant_id = params.get("GrantToken"), params.get("GrantId")
    key = grant = None
    if token:
        for _, backend in _existing_backends(self.region):
            for candidate in backend.keys.values():
                grant = next((g for g in candidate.grants.values()
                              if isinstance(g, Grant) and token in g.tokens), None)
                if grant:
                    key = candidate
                    break
            if grant:
                break
        if grant is None:
            raise _error("InvalidGrantTokenException", "Invalid grant token")
    else:
        if not (params.get("KeyId") and grant_id):
            raise _error("ValidationException", "Grant token OR (grant ID, key ID) must be specified")
        _, key = find_key(params["KeyId"], self.region, self.current_account)
        if key is None:
            raise _not_found(self, params["KeyId"])
        grant = key.grants.get(grant_id)
        if not isinstance(grant, Grant):
            raise _error("NotFoundException", f"Grant ID {grant_id} not found")
    principals = {caller.arn, caller.session_arn} - {None}
    allowed = (caller.account == grant.issuing_account
               or grant.retiring_principal in principals
               or (grant.grantee_principal in principals and "RetireGrant" in grant.operations))
    if not allowed:
        raise access_denied(caller, "RetireGrant", key.arn)
    key.grants.pop(grant.id, None)
    return "{}"


def put_key_policy(self):
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html"""
    params = _params(self)
    if params.get("PolicyName", "default") != "default":
        raise _error("NotFoundException", "No such policy exists")
    self._validate_cmk_id(params.get("KeyId", ""))
    key = self.kms_backend.describe_key(params["KeyId"])
    policy = params.get("Policy")
    check_policy(policy, _caller(self), key, params.get("BypassPolicyLockoutSafetyCheck", False))
    key.policy = policy
    return json.dumps(None)


def check_policy(policy, caller, key, bypass):
    """Raises as AWS does for an oversized, malformed or self-locking key policy."""
    if not isinstance(policy, str) or not policy:
        raise _error("ValidationException", "1 validation error detected: Value null at 'policy' "
                     "failed to satisfy constraint: Member must not be null")
    if len(policy.encode("utf-8")) > MAX_POLICY_BYTES:
        raise _error("ValidationException", "1 validation error detected: Value at 'policy' "
                     "failed to satisfy constraint: Member must have length less than or equal "
                     f"to {MAX_POLICY_BYTES}")
    try:
        doc = json.loads(policy)
    except ValueError:
        raise _error("MalformedPolicyDocumentException", "The key policy is not valid JSON.")
    if not isinstance(doc, dict) or not lc_policy.load(doc):
        raise _error("MalformedPolicyDocumentException", "The key policy has no statements.")
    for principal in lc_policy.principals(doc):
        if principal == "*" or re.match(r"^\d{12}$", principal or ""):
            continue
        if not _valid_principal(principal):
            raise _error("MalformedPolicyDocumentException",
                         "Policy contains a statement with one or more invalid principals.")
    if bypass:
        return
    request = lc_policy.Request(caller.arn, caller.account, "kms:PutKeyPolicy", key.arn,
                                _context(caller, "PutKeyPolicy", {}),
                                session_arn=caller.session_arn)
    if not lc_policy.evaluate(doc, request).allowed:
        raise _error("MalformedPolicyDocumentException",
                     "The new key policy will not allow you to update the key policy in the future.")


def _lenient_policy_name(policy_name):
    # PolicyName became optional in GetKeyPolicy/PutKeyPolicy; "default" is the only name.
    if policy_name not in (None, "default"):
        raise kms_responses.NotFoundException("No such policy exists")


def _accept_key_arn(original):
    # AWS accepts a key ARN wherever it accepts a key id; moto's state changes index by raw id.
    def method(self, key_id, *args, **kwargs):
        return original(self, self.get_key_id(key_id), *args, **kwargs)
    method.__name__ = original.__name__
    return method


def install():
    """Patches moto's KMS response class in this process (idempotent)."""
    cls = kms_responses.KmsResponse
    if getattr(cls, "_lc_patched", False):
        return
    cls._lc_patched = True
    cls.kms_backend = property(_kms_backend)
    for name, (action, key_param) in _GUARDED.items():
        setattr(cls, name, _guard(action, key_param)(getattr(cls, name)))
    for function in (create_grant, list_grants, list_retirable_grants, revoke_grant,
                     retire_grant, put_key_policy):
        setattr(cls, function.__name__, function)
    kms_responses._assert_default_policy = _lenient_policy_name
    backend = kms_models.KmsBackend
    for name in ("disable_key", "enable_key", "cancel_key_deletion", "schedule_key_deletion"):
        setattr(backend, name, _accept_key_arn(getattr(backend, name)))
