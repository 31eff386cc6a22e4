"""testkit: helpers for the local cloud's own tests (tests/py/localcloud_*_test.py), using boto3.

Starts a server (serve.py) per test file, seeds scenarios, makes boto3 clients that act as an
account, and counts checks so a test file ends with "N passed, N failed".
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import scenario  # noqa: E402  (needs HERE on sys.path)


class Cloud:
    """A running local cloud: `url`, `seed(**options)`, `client(service, who)`, `stop()`."""

    def __init__(self, *args):
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "serve.py"), "--asg-retry", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        line = self.process.stdout.readline()
        match = re.match(r"^LOCALCLOUD READY (\S+) pid=(\d+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"local cloud did not start: {line!r}")
        self.url = match.group(1)
        self.credentials = {}
        self.summary = None

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def api(self, path, payload=None):
        return scenario.post(self.url, path, payload or {})

    def seed(self, **options):
        """Seeds the blog scenario; keeps credentials for profiles "source" and "target"."""
        summary = self.api("/localcloud-api/seed", options)
        self.credentials.update(summary.pop("credentials"))
        self.summary = summary
        return summary

    def add_user(self, who, access_key_id, secret_access_key):
        self.credentials[who] = {"access_key_id": access_key_id,
                                 "secret_access_key": secret_access_key}

    def client(self, service, who=None, region="us-east-1"):
        """A boto3 client; `who` names seeded credentials ("source", "target") or None (default
        account 123456789012). Never retries, so an HTTP 500 shows up at once."""
        import boto3
        from botocore.config import Config
        creds = self.credentials.get(who) or {"access_key_id": "AKIAEXAMPLEEXAMPLE00",
                                              "secret_access_key": "secret"}
        session = boto3.session.Session(
            aws_access_key_id=creds["access_key_id"],
            aws_secret_access_key=creds["secret_access_key"], region_name=region)
        return session.client(service, endpoint_url=self.url,
                              config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def reconcile(self, group=None):
        return self.api("/localcloud-api/asg/reconcile", {"group": group} if group else {})

    def set_auth(self, count):
        import urllib.request
        request = urllib.request.Request(self.url + "/moto-api/reset-auth", data=str(count).encode(),
                                         headers={"Content-Type": "text/plain"}, method="POST")
        urllib.request.urlopen(request, timeout=10).read()


def error_code(call, *args, **kwargs):
    """Runs a boto3 call expected to fail; returns (code, message), or (None, None) if it worked."""
    from botocore.exceptions import ClientError
    try:
        call(*args, **kwargs)
    except ClientError as error:
        return error.response["Error"]["Code"], error.response["Error"].get("Message", "")
    return None, None


def latest_activity(autoscaling, group):
    activities = autoscaling.describe_scaling_activities(AutoScalingGroupName=group)["Activities"]
    return activities[0] if activities else {}


def key_policy(kms, key_id):
    return json.loads(kms.get_key_policy(KeyId=key_id)["Policy"])


def put_policy(kms, key_id, policy):
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))


def external_statements(account, create_grant=True, list_grants=False):
    """What the fix adds in A: B's root may use the key and create grants (unconditionally)."""
    root = f"arn:aws:iam::{account}:root"
    statements = [{"Sid": "LuawsAllowUse", "Effect": "Allow", "Principal": {"AWS": root},
                   "Action": scenario.USE_ACTIONS, "Resource": "*"}]
    if create_grant:
        actions = ["kms:CreateGrant"] + (["kms:ListGrants"] if list_grants else [])
        statements.append({"Sid": "LuawsAllowGrants", "Effect": "Allow",
                           "Principal": {"AWS": root}, "Action": actions, "Resource": "*"})
    return statements


BLOG_OPERATIONS = ["Decrypt", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo",
                   "CreateGrant"]


class Checks:
    """Named test cases; each may fail alone. `done()` prints the tally and returns the exit code."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def case(self, name):
        def run(function):
            try:
                function()
                self.passed += 1
                print(f"ok   {name}", flush=True)
            except Exception:  # noqa: BLE001 (report every failure, keep going)
                self.failed += 1
                print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
            return function
        return run

    def done(self):
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed or not self.passed else 0


def temp_dir():
    return tempfile.mkdtemp(prefix="localcloud-test-")
