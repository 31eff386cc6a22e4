#!/usr/bin/env python3
"""secrets_test: no secret key, session token, Authorization header or grant token leaks anywhere.

Runs the flagship recipe (plan, --apply, undo) with --debug and --output json on the local cloud,
with static keys for one account and assumed-role credentials (with a session token) for the other,
and greps everything luaws produced: stdout, stderr, backup file names and contents. Also checks
that backups and their folder are owner-only, and that a world-readable credentials file draws a
warning.
"""
import os
import re
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("LUAWS_SOURCE_DIR", "."), "localcloud"))

import testkit  # noqa: E402

LUAWS = os.environ.get("LUAWS_BIN", "build/luaws")
checks = testkit.Checks()
cloud = testkit.Cloud()
summary = cloud.seed(source_account="911111111111", target_account="922222222222")
source, target = cloud.credentials["source"], cloud.credentials["target"]

# Account B acts through an assumed role: its credentials carry a session token.
iam_b = cloud.client("iam", "target")
iam_b.create_role(RoleName="operator", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}')
iam_b.put_role_policy(RoleName="operator", PolicyName="admin",
                      PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}')
assumed = cloud.client("sts", "target").assume_role(
    RoleArn=f"arn:aws:iam::{summary['target_account']}:role/operator", RoleSessionName="secrets-test")["Credentials"]
cloud.set_auth(0)

SECRETS = {
    "source secret key": source["secret_access_key"],
    "target secret key": target["secret_access_key"],
    "assumed secret key": assumed["SecretAccessKey"],
    "session token": assumed["SessionToken"],
}

home = testkit.temp_dir()
config = os.path.join(home, "config")
credentials = os.path.join(home, "credentials")
with open(config, "w", encoding="utf-8") as f:
    f.write("[profile source]\nregion = us-east-1\n\n[profile target]\nregion = us-east-1\n")
fd = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w", encoding="utf-8") as f:
    f.write(f"[source]\naws_access_key_id = {source['access_key_id']}\n"
            f"aws_secret_access_key = {source['secret_access_key']}\n\n"
            f"[target]\naws_access_key_id = {assumed['AccessKeyId']}\n"
            f"aws_secret_access_key = {assumed['SecretAccessKey']}\n"
            f"aws_session_token = {assumed['SessionToken']}\n")
backup_dir = os.path.join(home, "backups")
env = dict(os.environ, AWS_CONFIG_FILE=config, AWS_SHARED_CREDENTIALS_FILE=credentials, HOME=home,
           AWS_ENDPOINT_URL=cloud.url, LUAWS_BACKUP_DIR=backup_dir, LUAWS_POLICY_SETTLE="0")
for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    env.pop(name, None)

BASE = ["run", "cross-account-ami-asg", "--source-profile", "source", "--target-profile", "target",
        "--asg-name", summary["group_name"], "--debug", "--output", "json"]
outputs = []


def run(*args, environment=env):
    process = subprocess.run([LUAWS, *args], env=environment, capture_output=True, text=True, timeout=120)
    outputs.append(process.stdout + process.stderr)
    return process


def assert_clean(text, where):
    for name, value in SECRETS.items():
        assert value not in text, f"{name} appears in {where}"
    assert not re.search(r"AWS4-HMAC-SHA256 Credential=\S+, SignedHeaders=\S+, Signature=[0-9a-f]{64}", text), \
        f"an Authorization header appears in {where}"
    for match in re.finditer(r'"?GrantToken"?\s*[:=>]\s*"?([^"<,\s]*)', text):
        assert match.group(1) in ("", "<redacted>"), f"a grant token appears in {where}: {match.group(0)[:40]}"


@checks.case("plan, apply and undo with --debug succeed (the trace is really on)")
def _():
    for extra in ([], ["--apply"], ["--undo", "--apply"]):
        process = run(*BASE, *extra)
        assert process.returncode == 0, process.stderr[-2000:]
    assert any("CreateGrant" in text and "[debug]" in text for text in outputs), "no debug trace of CreateGrant"
    assert any("GrantToken" in text for text in outputs), "the trace never showed the grant response"


@checks.case("no secret key, session token, Authorization header or grant token in any output")
def _():
    for i, text in enumerate(outputs):
        assert_clean(text, f"run {i + 1}'s output")


@checks.case("backup files: owner-only, and no secret in their names or contents")
def _():
    found = []
    for folder, _, files in os.walk(backup_dir):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700, oct(os.stat(folder).st_mode)
        for name in files:
            path = os.path.join(folder, name)
            found.append(path)
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, oct(os.stat(path).st_mode)
            assert_clean(path, "a backup file name")
            with open(path, encoding="utf-8") as f:
                assert_clean(f.read(), "a backup file")
    assert len(found) == 2, found  # one before --apply's write, one before undo's


@checks.case("an error with --debug shows no secret either")
def _():
    process = run("-e", "aws.client('kms', {profile='target'}):DescribeKey{KeyId='alias/none'}", "--debug")
    assert process.returncode == 1, process
    assert_clean(process.stdout + process.stderr, "an error")


@checks.case("a credentials file readable by others draws a warning naming it")
def _():
    os.chmod(credentials, 0o644)
    try:
        process = run("-e", "aws.client('sts', {profile='source'}):GetCallerIdentity{}")
    finally:
        os.chmod(credentials, 0o600)
    assert process.returncode == 0, process.stderr
    assert "readable by other users" in process.stderr and credentials in process.stderr, process.stderr
    quiet = run("-e", "aws.client('sts', {profile='source'}):GetCallerIdentity{}")
    assert "readable by other users" not in quiet.stderr, quiet.stderr


cloud.stop()
sys.exit(checks.done())
