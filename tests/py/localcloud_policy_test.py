"""localcloud_policy_test: the key policy evaluator (localcloud/lc_policy.py) without a server."""
import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("LUAWS_SOURCE_DIR", "."), "localcloud"))
from lc_policy import DENY, Request, evaluate, principals  # noqa: E402
from testkit import Checks  # noqa: E402

A, B = "111111111111", "222222222222"
ROLE = f"arn:aws:iam::{B}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
USER = f"arn:aws:iam::{B}:user/alice"
KEY = f"arn:aws:kms:us-east-1:{A}:key/1234"
checks = Checks()


def allow(principal, action, condition=None, resource="*"):
    statement = {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def request(action, principal=USER, account=B, **context):
    return Request(principal, account, action, KEY, {k.replace("__", ":"): v
                                                     for k, v in context.items()})


@checks.case("account root principal is delegation, not a grant to the principal")
def _():
    policy = [allow({"AWS": f"arn:aws:iam::{B}:root"}, "kms:*")]
    decision = evaluate(policy, request("kms:Decrypt"))
    assert decision.allowed and decision.via_account and not decision.direct
    assert evaluate([allow({"AWS": B}, "kms:*")], request("kms:Decrypt")).via_account
    assert not evaluate(policy, request("kms:Decrypt", account=A,
                                        principal=f"arn:aws:iam::{A}:user/x")).allowed


@checks.case("role ARN, assumed-role session and * match directly")
def _():
    assert evaluate([allow({"AWS": ROLE}, "kms:Decrypt")], request("kms:Decrypt", ROLE)).direct
    assert evaluate([allow("*", "kms:Decrypt")], request("kms:Decrypt")).direct
    session = Request(ROLE, B, "kms:Decrypt", KEY,
                      session_arn=f"arn:aws:sts::{B}:assumed-role/AWSServiceRoleForAutoScaling/s")
    assert evaluate([allow({"AWS": session.session_arn}, "kms:Decrypt")], session).allowed


@checks.case("action wildcards are case-insensitive; NotAction excludes")
def _():
    policy = [allow("*", ["kms:ReEncrypt*", "kms:generatedatakey*"])]
    assert evaluate(policy, request("kms:ReEncryptFrom")).allowed
    assert evaluate(policy, request("kms:GenerateDataKeyWithoutPlaintext")).allowed
    assert not evaluate(policy, request("kms:Decrypt")).allowed
    not_action = [{"Effect": "Allow", "Principal": "*", "NotAction": "kms:Put*", "Resource": "*"}]
    assert not evaluate(not_action, request("kms:PutKeyPolicy")).allowed
    assert evaluate(not_action, request("kms:Decrypt")).allowed


@checks.case("GrantIsForAWSResource: Bool true fails a direct call, missing key fails too")
def _():
    policy = [allow("*", "kms:CreateGrant", {"Bool": {"kms:GrantIsForAWSResource": "true"}})]
    assert not evaluate(policy, request("kms:CreateGrant",
                                        kms__GrantIsForAWSResource="false")).allowed
    assert evaluate(policy, request("kms:CreateGrant", kms__GrantIsForAWSResource="true")).allowed
    assert not evaluate(policy, request("kms:CreateGrant")).allowed
    lenient = [allow("*", "kms:CreateGrant",
                     {"BoolIfExists": {"kms:GrantIsForAWSResource": "true"}})]
    assert evaluate(lenient, request("kms:CreateGrant")).allowed


@checks.case("string, ARN, Null and multi-valued operators")
def _():
    org = {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}
    assert evaluate([allow("*", "kms:*", org)], request("kms:Decrypt", aws__PrincipalOrgID="o-abc")).allowed
    assert not evaluate([allow("*", "kms:*", org)], request("kms:Decrypt")).allowed
    not_equals = {"StringNotEquals": {"kms:CallerAccount": A}}
    assert evaluate([allow("*", "kms:*", not_equals)], request("kms:Decrypt", kms__CallerAccount=B)).allowed
    arn_like = {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{B}:role/aws-service-role/*"}}
    assert evaluate([allow("*", "kms:*", arn_like)], request("kms:Decrypt", aws__PrincipalArn=ROLE)).allowed
    via = {"Null": {"kms:ViaService": "false"}}
    assert not evaluate([allow("*", "kms:*", via)], request("kms:Decrypt")).allowed
    ops = {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt", "CreateGrant"]}}
    assert evaluate([allow("*", "kms:CreateGrant", ops)],
                    request("kms:CreateGrant", kms__GrantOperations=["Decrypt"])).allowed
    assert not evaluate([allow("*", "kms:CreateGrant", ops)],
                        request("kms:CreateGrant", kms__GrantOperations=["Decrypt", "Encrypt"])).allowed
    unknown = {"NumericLessThan": {"kms:Whatever": "1"}}
    assert not evaluate([allow("*", "kms:*", unknown)], request("kms:Decrypt", kms__Whatever="0")).allowed


@checks.case("explicit Deny wins; resources must match; principals are listed")
def _():
    policy = [allow("*", "kms:*"), {"Sid": "No", "Effect": "Deny", "Principal": {"AWS": B},
                                    "Action": "kms:CreateGrant", "Resource": "*"}]
    decision = evaluate(policy, request("kms:CreateGrant"))
    assert decision.effect == DENY and decision.deny_sid == "No"
    assert evaluate(policy, request("kms:Decrypt")).allowed
    assert not evaluate([allow("*", "kms:*", resource="arn:aws:kms:*:*:key/other")],
                        request("kms:Decrypt")).allowed
    assert principals('{"Statement": {"Principal": {"AWS": ["a", "b"]}}}') == ["a", "b"]
    assert not evaluate("not json", request("kms:Decrypt")).allowed


sys.exit(checks.done())
