#!/usr/bin/env python3
"""bad_input_test: the bad-input catalogue. Every case runs the luaws binary on one bad input
(CLI, recipes, library; files, credentials, servers) and checks the same contract:

* exit code 2 (usage or input) or 1 (runtime), as the case says, never a signal;
* a one-line `luaws: ...` error naming the problem; no Lua traceback unless --debug;
* no sanitizer report, no secret (secret keys, session tokens) in stdout or stderr;
* nothing changed in the cloud: the key policy, grants and backups are as they were.

Servers: the local cloud (moto, seeded with the blog's two accounts, signature checking on) and
tests/lib/fakeserver.py for answers moto never gives (ExpiredToken, HTML, binary, oversize).
"""
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile

SOURCE = os.environ.get("LUAWS_SOURCE_DIR", ".")
sys.path.insert(0, os.path.join(SOURCE, "localcloud"))

import scenario  # noqa: E402
import testkit  # noqa: E402

LUAWS = os.environ.get("LUAWS_BIN", "build/luaws")
RECIPE = "cross-account-ami-asg"
SECRET = "BadInputSecretKey0000000000000000000000Zz"
TOKEN = "BadInputSessionToken1111111111111111Qq"
PROCESS_SECRET = "ProcessPrintedSecret2222222222Xx"
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")

checks = testkit.Checks()
work = tempfile.mkdtemp(prefix="luaws-bad-input-")


def write(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeServer:
    """tests/lib/fakeserver.py with a script; `url`, `stop()`."""

    def __init__(self, script):
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(SOURCE, "tests", "lib", "fakeserver.py"), "--json", json.dumps(script)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline().split()
        if line[:2] != ["FAKESERVER", "READY"]:
            raise RuntimeError(f"fakeserver did not start: {line}")
        self.port = int(line[2])
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


# --- files: profiles, credential processes, recipes ------------------------------------------
HOME = os.path.join(work, "home")
CONFIG = write(os.path.join(work, "aws", "config"), f"""[default]
region = us-east-1

[profile proc-fail]
region = us-east-1
credential_process = sh -c 'echo the vault is sealed >&2; exit 3'

[profile proc-garbage]
region = us-east-1
credential_process = echo this is not json {PROCESS_SECRET}

[profile proc-version]
region = us-east-1
credential_process = echo '{{"Version": 2, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "{PROCESS_SECRET}"}}'

[profile proc-nokey]
region = us-east-1
credential_process = echo '{{"Version": 1, "AccessKeyId": "AKIDPROC"}}'

[profile expired]
region = us-east-1

[profile badregion]
region = us_east_1!

[profile badattempts]
region = us-east-1
max_attempts = many
""")
CREDENTIALS = write(os.path.join(work, "aws", "credentials"), f"""[default]
aws_access_key_id = AKIDBADINPUT00000000
aws_secret_access_key = {SECRET}

[expired]
aws_access_key_id = ASIABADINPUT0000000
aws_secret_access_key = {SECRET}
aws_session_token = {TOKEN}

[badregion]
aws_access_key_id = AKIDBADINPUT00000000
aws_secret_access_key = {SECRET}

[badattempts]
aws_access_key_id = AKIDBADINPUT00000000
aws_secret_access_key = {SECRET}
""")
MALFORMED_CONFIG = write(os.path.join(work, "aws", "malformed-config"),
                         "[default]\nregion = us-east-1\nthis line has no equals sign\n")
DUPLICATE_CONFIG = write(os.path.join(work, "aws", "duplicate-config"),
                         "[default]\nregion = us-east-1\n[default]\nregion = us-west-2\n")
MALFORMED_CREDENTIALS = write(os.path.join(work, "aws", "malformed-credentials"),
                              f"aws_access_key_id = AKIDORPHAN\naws_secret_access_key = {SECRET}\n")
CONFIG_DIR_AS_FILE = os.path.join(work, "aws")  # a directory where a file belongs

RECIPES = os.path.join(work, "lib", "recipes")
write(os.path.join(RECIPES, "syntax-error.lua"), "return {\n  description = 'x',\n  run = function(\n")
write(os.path.join(RECIPES, "no-description.lua"),
      "return { categories = { 'read-only' }, run = function() end }\n")
write(os.path.join(RECIPES, "no-run.lua"),
      "return { description = 'Has no run function.', categories = { 'read-only' } }\n")
write(os.path.join(RECIPES, "not-a-table.lua"), "return 42\n")
write(os.path.join(RECIPES, "raises-on-load.lua"), "error('cannot load this recipe')\n")
write(os.path.join(RECIPES, "typo-global.lua"), """return {
  description = 'Uses a global that does not exist.',
  categories = { 'read-only' },
  run = function(ctx) return ctx.args and undefined_helper(ctx) end,
}
""")
write(os.path.join(RECIPES, "runtime-error.lua"), """return {
  description = 'Indexes nil at run time.',
  categories = { 'read-only' },
  run = function(ctx) local missing = nil; return missing.field end,
}
""")
SCRIPT_SYNTAX = write(os.path.join(work, "syntax.lua"), "local x = = 1\n")
SCRIPT_RAISES = write(os.path.join(work, "raises.lua"), "error({code = 'Boom', message = 'the script gave up'})\n")

BASE_ENV = {k: v for k, v in os.environ.items()
            if not k.startswith("AWS_") and k not in ("LUAWS_DEBUG",)}
BASE_ENV.update(HOME=HOME, AWS_CONFIG_FILE=CONFIG, AWS_SHARED_CREDENTIALS_FILE=CREDENTIALS,
                AWS_MAX_ATTEMPTS="1", AWS_EC2_METADATA_DISABLED="true",
                LUAWS_PATH=os.path.join(work, "lib") + ":" + os.environ.get("LUAWS_PATH", ""),
                LUAWS_BACKUP_DIR=os.path.join(work, "backups"), LUAWS_POLICY_SETTLE="0.05")
os.makedirs(HOME, exist_ok=True)

# --- servers ----------------------------------------------------------------------------------
cloud = testkit.Cloud()
summary = cloud.seed(source_account="111111111111", target_account="222222222222")
cloud_dir = os.path.join(work, "cloud")
cloud_config, cloud_credentials = scenario.write_profiles(cloud_dir, dict(summary, credentials=dict(cloud.credentials)))
CLOUD_ENV = dict(BASE_ENV, AWS_CONFIG_FILE=cloud_config, AWS_SHARED_CREDENTIALS_FILE=cloud_credentials,
                 AWS_ENDPOINT_URL=cloud.url)
CLOUD_SECRETS = [c["secret_access_key"] for c in cloud.credentials.values()]
KEY, IMAGE, GROUP = summary["key_arn"], summary["image_id"], summary["group_name"]
kms_a = cloud.client("kms", "source")
cloud.set_auth(0)  # every request's signature is checked from here on
FLAGSHIP = ["run", RECIPE, "--source-profile", "source", "--target-profile", "target"]

XML_TYPE = {"Content-Type": "text/xml"}
fake = FakeServer({})
# What the fake server answers, per case (luaws sends every call to the endpoint's root).
ANSWERS = {
    "expired": {"status": 403, "headers": XML_TYPE, "body":
                "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security "
                "token included in the request is expired</Message></Error><RequestId>r1</RequestId>"
                "</ErrorResponse>"},
    "html": {"status": 200, "headers": {"Content-Type": "text/html"},
             "body": "<html><body><h1>Welcome to the captive portal</h1></body></html>"},
    "html500": {"status": 500, "headers": {"Content-Type": "text/html"},
                "body": "<html><body>Internal Server Error</body></html>"},
    "binary": {"status": 200, "headers": {"Content-Type": "application/octet-stream"},
               "body": "".join(chr(c) for c in range(1, 32)) * 8 + "\u00ff\u00fe"},
    "empty": {"status": 200, "headers": XML_TYPE, "body": ""},
    "truncated": {"status": 200, "headers": XML_TYPE, "close": True,
                  "body": "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>" + "x" * 4000},
    "oversize": {"status": 200, "headers": XML_TYPE, "body_size": (64 << 20) + 4096},
    "never": {"status": 599, "body": "a case that should not have reached the server"},
}


def answer(name):
    """Scripts the fake server's answer to every request; returns the environment to reach it."""
    def setup():
        import urllib.request
        request = urllib.request.Request(fake.url + "/_script", data=json.dumps({"default": ANSWERS[name]}).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).read()
    return setup


FAKE_ENV = dict(BASE_ENV, AWS_ENDPOINT_URL=fake.url)


# --- the contract -------------------------------------------------------------------------------
def cloud_state():
    """What a bad input must not change: A's key policy and the grants on it. (A backup of the
    policy may appear: luaws writes it before any change it then refuses or fails to make.)"""
    policy = kms_a.get_key_policy(KeyId=KEY, PolicyName="default")["Policy"]
    grants = sorted(g["GrantId"] for g in kms_a.list_grants(KeyId=KEY)["Grants"])
    return policy, grants


class Result:
    def __init__(self, argv, env):
        process = subprocess.run([LUAWS, *argv], env=env, capture_output=True, text=True, timeout=120,
                                 stdin=subprocess.DEVNULL, errors="replace")
        self.argv, self.code, self.out, self.err = argv, process.returncode, process.stdout, process.stderr

    def __repr__(self):
        return f"luaws {' '.join(self.argv)}\nexit {self.code}\nstdout: {self.out[-2000:]}\nstderr: {self.err[-3000:]}"


def check_contract(run, code, needle, debug=False, secrets=()):
    assert run.code >= 0, f"killed by signal {-run.code}: {run}"
    for mark in SANITIZER_MARKS:
        assert mark not in run.err, f"sanitizer report: {run}"
    assert run.code == code, f"expected exit {code}: {run}"
    errors = [line for line in run.err.splitlines()
              if line.startswith("luaws: ") and not line.startswith("luaws: warning: ")]
    assert errors, f"no 'luaws: ' error line: {run}"
    assert any(needle.lower() in line.lower() for line in errors), f"no error line names {needle!r}: {run}"
    if debug:
        assert "stack traceback" in run.err, f"--debug shows no traceback: {run}"
    else:
        assert "stack traceback" not in run.err and "\t[C]" not in run.err, f"traceback without --debug: {run}"
        assert len(errors) == 1, f"more than one error line: {run}"
    for secret in (SECRET, TOKEN, PROCESS_SECRET, *CLOUD_SECRETS, *secrets):
        assert secret not in run.out and secret not in run.err, f"a secret leaked: {run}"


CASES = []


def case(name, argv, code, needle, env=None, setup=None, after=None, debug=False, cloud_case=False):
    CASES.append(dict(name=name, argv=argv, code=code, needle=needle, env=env, setup=setup, after=after,
                      debug=debug, cloud_case=cloud_case))


# CLI: options, commands, recipe names and arguments.
case("unknown option", ["--frobnicate"], 2, "unknown option '--frobnicate'")
case("-e without a chunk", ["-e"], 2, "-e needs a chunk")
case("--profile without a value", ["--profile"], 2, "--profile needs a value")
case("missing script file", [os.path.join(work, "no-such-script.lua")], 2, "no-such-script.lua")
case("recipe option on a script", ["--apply", SCRIPT_RAISES], 2, "--apply is an option of recipe commands")
case("repl with arguments", ["repl", "extra"], 2, "repl takes no arguments")
case("run without a recipe", ["run"], 2, "run needs a recipe name")
case("unknown recipe", ["run", "no-such-recipe"], 2, "no-such-recipe")
case("help for an unknown recipe", ["help", "no-such-recipe"], 2, "no-such-recipe")
case("list with an argument", ["list", "extra"], 2, "list takes no arguments")
case("unknown recipe argument", ["run", "whoami", "--no-such-arg", "x"], 2, "--no-such-arg")
case("recipe argument without a value", ["run", "whoami", "--expect-account"], 2, "--expect-account")
case("--output of an unknown kind", ["run", "whoami", "--output", "yaml"], 2, "yaml")
case("missing required argument", ["run", RECIPE, "--target-profile", "target", "--image-id", IMAGE], 2,
     "--source-profile", env=CLOUD_ENV, cloud_case=True)
case("flagship without AMI, key or group", FLAGSHIP, 2, "--image-id", env=CLOUD_ENV, cloud_case=True)
# Account IDs, regions, ARNs.
case("11-digit account ID", ["run", "whoami", "--expect-account", "12345678901"], 2, "12345678901")
case("13-digit account ID", ["run", "whoami", "--expect-account", "1234567890123"], 2, "1234567890123")
case("account ID with letters", ["run", "whoami", "--expect-account", "12345678901O"], 2, "12345678901O")
case("bad region on the command line", ["run", "whoami", "--region", "us east 1"], 2, "us east 1")
case("unknown region", ["run", "whoami", "--region", "mars-north-9"], 2, "mars-north-9")
case("malformed key ARN", FLAGSHIP + ["--key-id", "arn:aws:kms:nowhere"], 2, "--key-id",
     env=CLOUD_ENV, cloud_case=True)
case("key alias where an ARN is needed", FLAGSHIP + ["--key-id", "alias/shared"], 2, "alias/shared",
     env=CLOUD_ENV, cloud_case=True)
case("key ARN with an 11-digit account", FLAGSHIP + ["--key-id", "arn:aws:kms:us-east-1:11111111111:key/abc"],
     2, "--key-id", env=CLOUD_ENV, cloud_case=True)
case("key ARN in the wrong partition for its region",
     FLAGSHIP + ["--key-id", "arn:aws-cn:kms:us-east-1:111111111111:key/abc"], 2, "--key-id",
     env=CLOUD_ENV, cloud_case=True)
case("key ARN of another service", FLAGSHIP + ["--key-id", "arn:aws:s3:::bucket/key"], 2, "--key-id",
     env=CLOUD_ENV, cloud_case=True)
case("role ARN of the wrong service",
     FLAGSHIP + ["--image-id", IMAGE, "--service-linked-role-arn", "arn:aws:sqs:us-east-1:222222222222:q"],
     2, "--service-linked-role-arn", env=CLOUD_ENV, cloud_case=True)
case("retiring principal with a 13-digit account",
     FLAGSHIP + ["--image-id", IMAGE, "--retiring-principal", "arn:aws:iam::2222222222222:root"],
     2, "--retiring-principal", env=CLOUD_ENV, cloud_case=True)
case("malformed AMI ID", FLAGSHIP + ["--image-id", "ami-XYZ"], 2, "ami-XYZ", env=CLOUD_ENV, cloud_case=True)
case("integer argument that is not a number", FLAGSHIP + ["--image-id", IMAGE, "--wait-seconds", "soon"], 2,
     "--wait-seconds", env=CLOUD_ENV, cloud_case=True)
# Profiles and the shared files.
case("unknown --profile", ["run", "whoami", "--profile", "nosuch"], 2, "nosuch")
case("unknown recipe profile argument", ["run", RECIPE, "--source-profile", "nosuch", "--target-profile",
                                          "target", "--image-id", IMAGE], 2, "nosuch",
     env=CLOUD_ENV, cloud_case=True)
case("config file line without '='", ["run", "whoami"], 2, "malformed-config:3",
     env=dict(BASE_ENV, AWS_CONFIG_FILE=MALFORMED_CONFIG))
case("config file with a duplicate section", ["run", "whoami"], 2, "duplicate section",
     env=dict(BASE_ENV, AWS_CONFIG_FILE=DUPLICATE_CONFIG))
case("credentials file with a key outside any section", ["run", "whoami"], 2, "malformed-credentials:1",
     env=dict(BASE_ENV, AWS_SHARED_CREDENTIALS_FILE=MALFORMED_CREDENTIALS))
case("config path is a directory", ["run", "whoami"], 2, CONFIG_DIR_AS_FILE,
     env=dict(FAKE_ENV, AWS_CONFIG_FILE=CONFIG_DIR_AS_FILE), setup=answer("never"))
case("credentials path is a directory", ["run", "whoami"], 2, CONFIG_DIR_AS_FILE,
     env=dict(FAKE_ENV, AWS_SHARED_CREDENTIALS_FILE=CONFIG_DIR_AS_FILE), setup=answer("never"))
case("bad region in the profile", ["run", "whoami", "--profile", "badregion"], 2, "us_east_1!",
     env=FAKE_ENV, setup=answer("never"))
case("bad max_attempts in the profile", ["run", "whoami", "--profile", "badattempts"], 2, "max_attempts",
     env={k: v for k, v in FAKE_ENV.items() if k != "AWS_MAX_ATTEMPTS"}, setup=answer("never"))
case("bad region in the environment", ["run", "whoami"], 2, "Us-East-1",
     env=dict(FAKE_ENV, AWS_REGION="Us-East-1"), setup=answer("never"))
# Credentials.
case("credential_process that fails", ["run", "whoami", "--profile", "proc-fail"], 1, "the vault is sealed",
     env=FAKE_ENV, setup=answer("never"))
case("credential_process that prints garbage", ["run", "whoami", "--profile", "proc-garbage"], 1,
     "not a JSON object", env=FAKE_ENV, setup=answer("never"))
case("credential_process with an unknown Version", ["run", "whoami", "--profile", "proc-version"], 1,
     "Version", env=FAKE_ENV, setup=answer("never"))
case("credential_process without a secret key", ["run", "whoami", "--profile", "proc-nokey"], 1,
     "SecretAccessKey", env=FAKE_ENV, setup=answer("never"))
case("expired session token (server says ExpiredToken)", ["run", "whoami", "--profile", "expired"], 1,
     "ExpiredToken", env=FAKE_ENV, setup=answer("expired"))
case("unknown session credentials on the local cloud", ["run", "whoami", "--profile", "expired"], 1,
     "InvalidClientTokenId", env=dict(BASE_ENV, AWS_ENDPOINT_URL=cloud.url))
# Transport and replies.
case("unreachable endpoint (closed port)", ["run", "whoami"], 1, "127.0.0.1",
     env=dict(BASE_ENV, AWS_ENDPOINT_URL=f"http://127.0.0.1:{closed_port()}"))
case("TLS to a plain-HTTP port", ["run", "whoami"], 1, "SSL",
     env=dict(BASE_ENV, AWS_ENDPOINT_URL=f"https://127.0.0.1:{fake.port}"), setup=answer("html"))
case("HTML page instead of XML", ["run", "whoami"], 1, "ResponseParseError", env=FAKE_ENV, setup=answer("html"))
case("HTML error page (HTTP 500)", ["run", "whoami"], 1, "500", env=FAKE_ENV, setup=answer("html500"))
case("binary response", ["run", "whoami"], 1, "ResponseParseError", env=FAKE_ENV, setup=answer("binary"))
case("empty response", ["run", "whoami"], 1, "ResponseParseError", env=FAKE_ENV, setup=answer("empty"))
case("connection reset mid-body", ["run", "whoami"], 1, "connection reset", env=FAKE_ENV, setup=answer("truncated"))
case("response over the size limit", ["run", "whoami"], 1, "larger than", env=FAKE_ENV, setup=answer("oversize"))
# Recipes.
case("recipe with a syntax error", ["run", "syntax-error"], 2, "syntax-error.lua")
case("recipe without a description", ["run", "no-description"], 2, "description")
case("recipe without a run function", ["run", "no-run"], 2, "run")
case("recipe that returns a number", ["run", "not-a-table"], 2, "not-a-table.lua")
case("recipe that raises while loading", ["run", "raises-on-load"], 2, "cannot load this recipe")
case("recipe using an undefined global", ["run", "typo-global"], 1, "undefined_helper")
case("recipe failing at run time", ["run", "runtime-error"], 1, "runtime-error.lua")
case("recipe failing at run time, --debug", ["--debug", "run", "runtime-error"], 1, "runtime-error.lua",
     debug=True)
# Scripts and the library.
case("script with a syntax error", [SCRIPT_SYNTAX], 2, "syntax.lua:1")
case("script raising an error table", [SCRIPT_RAISES], 1, "the script gave up")
case("unknown service", ["-e", "aws.client('no-such-service')"], 1, "no-such-service")
case("library: bad region", ["-e", "aws.client('kms', {region = 'us east 1'})"], 2, "us east 1")
case("library: missing required parameter",
     ["-e", "aws.client('kms', {region = 'us-east-1'}):DescribeKey {}"], 1, "KeyId",
     env=FAKE_ENV, setup=answer("never"))
case("library: parameter of the wrong type",
     ["-e", "aws.client('kms', {region = 'us-east-1'}):DescribeKey {KeyId = {}}"], 1, "KeyId",
     env=FAKE_ENV, setup=answer("never"))
case("library: unknown operation", ["-e", "aws.client('kms', {region = 'us-east-1'}):DescribeKeys {}"], 1,
     "DescribeKeys", env=FAKE_ENV, setup=answer("never"))
case("library: malformed ARN", ["-e", "assert(require('luaws.core.arn').parse('arn:aws:kms'), 'not an ARN')"],
     1, "not an ARN")


# The key policy itself is bad input when the server holds garbage or something too large to extend.
def put_policy_text(text):
    def setup():
        kms_a.put_key_policy(KeyId=KEY, PolicyName="default", Policy=text)
    return setup


# The local cloud (like KMS) refuses text that is not JSON, but it stores what Python's json reads,
# and that is more than JSON: NaN, and lone surrogates in strings.
DEFAULT_POLICY = scenario.default_key_policy("111111111111")
NAN_POLICY = json.dumps(dict(DEFAULT_POLICY, Padding=float("nan")))
SURROGATE_POLICY = json.dumps(DEFAULT_POLICY).replace("key-default-1", "key-\\ud800")


def huge_policy():
    """A policy just under 32 KB however it is written, which the fix's statements push over."""
    policy = json.loads(json.dumps(DEFAULT_POLICY))
    padding = {"Sid": "Padding", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt",
               "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": ""}}}
    policy["Statement"].append(padding)
    room = 32768 - 300 - len(json.dumps(policy, separators=(",", ":")))
    padding["Condition"]["StringEquals"]["aws:PrincipalTag/team"] = "x" * room
    return json.dumps(policy)


def restore_default_policy():
    kms_a.put_key_policy(KeyId=KEY, PolicyName="default", Policy=json.dumps(DEFAULT_POLICY))


case("key policy with NaN on the server", FLAGSHIP + ["--image-id", IMAGE, "--apply"], 1,
     "not valid JSON", env=CLOUD_ENV, setup=put_policy_text(NAN_POLICY), after=restore_default_policy,
     cloud_case=True)
case("key policy with a lone surrogate on the server", FLAGSHIP + ["--image-id", IMAGE, "--apply"], 1,
     "not valid JSON", env=CLOUD_ENV, setup=put_policy_text(SURROGATE_POLICY), after=restore_default_policy,
     cloud_case=True)
case("key policy that would exceed 32 KB", FLAGSHIP + ["--image-id", IMAGE, "--apply"], 1, "32768",
     env=CLOUD_ENV, setup=put_policy_text(huge_policy()), after=restore_default_policy, cloud_case=True)


def run_case(c):
    if c["setup"]:
        c["setup"]()
    try:
        before = cloud_state() if c["cloud_case"] else None
        run = Result(c["argv"], c["env"] or BASE_ENV)
        check_contract(run, c["code"], c["needle"], debug=c["debug"])
        if before is not None:
            assert cloud_state() == before, f"the cloud changed: {run}"
    finally:
        if c["after"]:
            c["after"]()


try:
    for c in CASES:
        checks.case(f"{c['name']}: exit {c['code']}")(lambda c=c: run_case(c))

    @checks.case("the catalogue has at least 40 cases, each with a needle")
    def _():
        assert len(CASES) >= 40 and all(c["needle"] for c in CASES), len(CASES)

    @checks.case("no file luaws wrote is readable by others")
    def _():
        for folder, _, files in os.walk(BASE_ENV["LUAWS_BACKUP_DIR"]):
            for name in files:
                mode = stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode)
                assert mode & 0o077 == 0, (name, oct(mode))
finally:
    fake.stop()
    cloud.stop()
    shutil.rmtree(work, ignore_errors=True)
print(f"bad inputs tried: {len(CASES)}")
sys.exit(checks.done())
