"""lc_policy: evaluates an IAM-style resource policy (a KMS key policy) for one request.

Models the parts of AWS's policy evaluation logic that key policies use:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html

* Principal / NotPrincipal: "*", {"AWS": "*"}, an account id or `arn:aws:iam::ACCOUNT:root` (the
  account: AWS then delegates to the account's IAM policies), user and role ARNs, assumed-role
  session ARNs. {"Service": ...} matches only a service caller.
* Action / NotAction with `*` and `?` wildcards, case-insensitive (`kms:ReEncrypt*`, `kms:*`).
* Resource / NotResource: "*" or ARN patterns.
* Condition operators String*, Arn*, Bool, Null, with `ForAnyValue:` / `ForAllValues:` and
  `...IfExists`; keys are case-insensitive. An operator this module does not know never matches
  (fail closed), so an unknown condition cannot grant access by accident.
* An explicit Deny wins over every Allow.

Pure Python with no moto import, so it can be unit tested on its own.
"""
import fnmatch
import json
import re

ALLOW, DENY = "Allow", "Deny"

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_ROOT_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")


class Request:
    """One request to evaluate: who, what, on which resource, with which condition keys.

    principal_arn: the caller's ARN (an IAM user, a role ARN for role sessions, or
    `arn:aws:iam::ACCOUNT:root`); session_arn: the assumed-role session ARN, if any;
    service: the calling service principal (e.g. "autoscaling.amazonaws.com"), if any.
    context: condition keys, e.g. {"kms:GrantIsForAWSResource": "false"}; values may be lists.
    """

    def __init__(self, principal_arn, account, action, resource, context=None,
                 session_arn=None, service=None):
        self.principal_arn = principal_arn
        self.account = account
        self.action = action
        self.resource = resource
        self.session_arn = session_arn
        self.service = service
        self.context = {k.lower(): v for k, v in (context or {}).items()}


class Decision:
    """Outcome: effect is ALLOW, DENY (explicit) or None (implicit deny).

    via_account: the Allow came only from statements naming the caller's account (its root or
    its id), which AWS treats as delegation to the account's IAM policies, not as a grant to the
    principal itself. direct: some Allow statement named the principal itself (or "*").
    """

    def __init__(self):
        self.effect = None
        self.direct = False
        self.via_account = False
        self.deny_sid = None

    @property
    def allowed(self):
        return self.effect == ALLOW


def load(policy_text):
    """Parses a policy document; returns its statement list ([] when it is not valid JSON)."""
    try:
        doc = json.loads(policy_text) if isinstance(policy_text, str) else policy_text
    except (TypeError, ValueError):
        return []
    if not isinstance(doc, dict):
        return []
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return [s for s in statements if isinstance(s, dict)]


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _wild(pattern, value, case_sensitive=True):
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def _principal_match(principal, request):
    """Returns "direct", "account" or None: how a Principal element names the caller."""
    if principal == "*":
        return "direct"
    if not isinstance(principal, dict):
        return None
    how = None
    for value in _as_list(principal.get("AWS")):
        if value == "*":
            return "direct"
        if value in (request.principal_arn, request.session_arn):
            return "direct"
        root = _ROOT_RE.match(value)
        account = root.group(1) if root else (value if _ACCOUNT_RE.match(value) else None)
        if account and account == request.account:
            if request.principal_arn == f"arn:aws:iam::{account}:root":
                return "direct"
            how = "account"
    if request.service and request.service in _as_list(principal.get("Service")):
        return "direct"
    return how


def _matches_any(patterns, value, case_sensitive=False):
    return any(_wild(p, value, case_sensitive) for p in _as_list(patterns))


_BASE_OPS = {
    "StringEquals": lambda want, got: want == got,
    "StringNotEquals": lambda want, got: want == got,
    "StringEqualsIgnoreCase": lambda want, got: want.lower() == got.lower(),
    "StringNotEqualsIgnoreCase": lambda want, got: want.lower() == got.lower(),
    "StringLike": lambda want, got: _wild(want, got),
    "StringNotLike": lambda want, got: _wild(want, got),
    "ArnEquals": lambda want, got: want == got,
    "ArnNotEquals": lambda want, got: want == got,
    "ArnLike": lambda want, got: _wild(want, got),
    "ArnNotLike": lambda want, got: _wild(want, got),
    "Bool": lambda want, got: want.lower() == got.lower(),
}
_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals",
            "ArnNotLike"}


def _condition_holds(operator, key, wanted, context):
    qualifier = None
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    if if_exists:
        operator = operator[: -len("IfExists")]
    wanted = [str(w).lower() if isinstance(w, bool) else str(w) for w in _as_list(wanted)]
    present = key.lower() in context
    got = context.get(key.lower())

    if operator == "Null":
        # "true" means the key must be absent.
        return any((w.lower() == "true") != present for w in wanted)
    compare = _BASE_OPS.get(operator)
    if compare is None:
        return False
    negated = operator in _NEGATED
    if not present:
        return if_exists or negated or qualifier == "ForAllValues"

    def one(value):
        hit = any(compare(w, str(value)) for w in wanted)
        return not hit if negated else hit

    values = _as_list(got)
    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    return any(one(v) for v in values)


def _conditions_hold(conditions, context):
    if not isinstance(conditions, dict):
        return True
    for operator, block in conditions.items():
        if not isinstance(block, dict):
            return False
        for key, wanted in block.items():
            if not _condition_holds(operator, key, wanted, context):
                return False
    return True


def _statement_applies(statement, request):
    """Returns how the statement names the principal ("direct"/"account") or None."""
    if "NotPrincipal" in statement:
        how = None if _principal_match(statement["NotPrincipal"], request) else "direct"
    else:
        how = _principal_match(statement.get("Principal"), request)
    if how is None:
        return None
    if "NotAction" in statement:
        if _matches_any(statement["NotAction"], request.action):
            return None
    elif not _matches_any(statement.get("Action"), request.action):
        return None
    if "NotResource" in statement:
        if _matches_any(statement["NotResource"], request.resource, True):
            return None
    elif not _matches_any(statement.get("Resource", "*"), request.resource, True):
        return None
    if not _conditions_hold(statement.get("Condition"), request.context):
        return None
    return how


def evaluate(policy, request):
    """Evaluates a policy (JSON text, dict or statement list) for a Request; returns a Decision."""
    statements = policy if isinstance(policy, list) else load(policy)
    decision = Decision()
    for statement in statements:
        how = _statement_applies(statement, request)
        if how is None:
            continue
        if statement.get("Effect") == DENY:
            decision.effect = DENY
            decision.deny_sid = statement.get("Sid")
            return decision
        if statement.get("Effect") == ALLOW:
            decision.effect = ALLOW
            if how == "direct":
                decision.direct = True
    decision.via_account = decision.allowed and not decision.direct
    return decision


def principals(policy):
    """Lists every AWS principal string named in a policy's Principal/NotPrincipal elements."""
    names = []
    for statement in load(policy):
        for element in ("Principal", "NotPrincipal"):
            value = statement.get(element)
            if isinstance(value, dict):
                names.extend(_as_list(value.get("AWS")))
    return names
