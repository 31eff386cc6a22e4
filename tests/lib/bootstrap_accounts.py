#!/usr/bin/env python3
"""bootstrap_accounts.py: sets up a fresh local cloud for the assume-role chain test, with boto3.

Usage: python3 tests/lib/bootstrap_accounts.py URL
Makes exactly REQUESTS (9) requests, so start the server with `--auth 9`: they pass unchecked,
and signature/IAM checking is on for everything after. Creates:
  * account 123456789012: IAM user `chain-user` with an allow-all inline policy and access keys;
  * account 111111111111: role `X` (allow-all inline policy);
  * account 222222222222: role `Y` (allow-all inline policy).
Prints {"access_key": ..., "secret_key": ...} of chain-user as JSON on stdout.
"""
import json
import sys

import boto3

REQUESTS = 9
ALLOW_ALL = json.dumps({"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
TRUST_ANYONE = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})


def client(url, service, key="AKIABOOTSTRAP0000000", secret="bootstrap", token=None):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        aws_session_token=token)


def make_role(url, account, name):
    """AssumeRole into the account (moto allows any ARN), then create the role there: 3 requests."""
    creds = client(url, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/bootstrap", RoleSessionName="bootstrap")["Credentials"]
    iam = client(url, "iam", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_ANYONE)
    iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=ALLOW_ALL)


def main():
    url = sys.argv[1]
    iam = client(url, "iam")
    iam.create_user(UserName="chain-user")
    iam.put_user_policy(UserName="chain-user", PolicyName="all", PolicyDocument=ALLOW_ALL)
    key = iam.create_access_key(UserName="chain-user")["AccessKey"]
    make_role(url, "111111111111", "X")
    make_role(url, "222222222222", "Y")
    print(json.dumps({"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
