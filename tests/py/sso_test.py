#!/usr/bin/env python3
"""sso_test: IAM Identity Center profiles and `luaws sso login/logout` against the local cloud's
SSO emulator (localcloud/lc_sso.py), with botocore as the oracle for the shared token cache.

Covers: sso_session and legacy profiles reaching moto as the right account (signatures checked),
a role_arn chain on an SSO source_profile, the CLI cache format both ways, refresh near expiry
(and two processes refreshing at once), one GetRoleCredentials for a concurrent fan-out, the
device-code and PKCE logins (the browser played by the test), logout, every error people meet
(message and exit code), no secret in output or --debug, and the flagship recipe on SSO profiles.
"""
import glob
import hashlib
import json
import os
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("LUAWS_SOURCE_DIR", "."), "localcloud"))

import testkit  # noqa: E402

LUAWS = os.path.abspath(os.environ.get("LUAWS_BIN", "build/luaws"))
PYTHON = sys.executable
DEV, LEGACY, CHAINED = "444444444444", "555555555555", "666666666666"
START, LEGACY_START = "https://corp.awsapps.com/start", "https://legacy.awsapps.com/start"

checks = testkit.Checks()
cloud = testkit.Cloud()
summary = cloud.seed(source_account="111111111111", target_account="222222222222")
ORG = cloud.api("/localcloud-api/org/seed", {"management_account": "700000000000",
                                            "member_base": 710000000000, "members": 8, "groups": 2})
cloud.api("/localcloud-api/sso/seed", {"interval": 1, "assignments": [
    {"account": "700000000000", "role_name": "Admin"},
    {"account": DEV, "role_name": "Admin"}, {"account": LEGACY, "role_name": "Admin"},
    {"account": CHAINED, "role_name": "Deployer"},
    {"account": summary["source_account"], "role_name": "Admin"},
    {"account": summary["target_account"], "role_name": "Admin"}]})
cloud.set_auth(0)

HOME = testkit.temp_dir()
CONFIG = os.path.join(HOME, ".aws", "config")
CACHE = os.path.join(HOME, ".aws", "sso", "cache")
ROLE_CACHE = os.path.join(HOME, ".aws", "cli", "cache")
os.makedirs(os.path.dirname(CONFIG))
with open(CONFIG, "w") as f:
    f.write(f"""[profile dev]
sso_session = corp
sso_account_id = {DEV}
sso_role_name = Admin
region = us-east-1

[sso-session corp]
sso_start_url = {START}
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile legacy]
sso_start_url = {LEGACY_START}
sso_region = us-east-1
sso_account_id = {LEGACY}
sso_role_name = Admin
region = us-east-1

[profile chained]
role_arn = arn:aws:iam::{CHAINED}:role/Deployer
source_profile = dev
region = us-east-1

[profile noaccess]
sso_session = corp
sso_account_id = {DEV}
sso_role_name = ReadOnly
region = us-east-1

[profile noaccount]
sso_session = corp
sso_role_name = Admin
region = us-east-1

[profile nosession]
sso_session = missing
sso_account_id = {DEV}
sso_role_name = Admin
region = us-east-1

[profile plain]
region = us-east-1

[profile corrupt]
sso_session = broken-cache
sso_account_id = {DEV}
sso_role_name = Admin
region = us-east-1

[sso-session broken-cache]
sso_start_url = https://broken.awsapps.com/start
sso_region = us-east-1

[profile source]
sso_session = corp
sso_account_id = {summary["source_account"]}
sso_role_name = Admin
region = us-east-1

[profile orgadmin]
sso_session = corp
sso_account_id = 700000000000
sso_role_name = Admin
region = us-east-1

[profile target]
sso_session = corp
sso_account_id = {summary["target_account"]}
sso_role_name = Admin
region = us-east-1
""")

ENV = dict(os.environ, HOME=HOME, AWS_CONFIG_FILE=CONFIG,
           AWS_SHARED_CREDENTIALS_FILE=os.path.join(HOME, ".aws", "credentials"),
           AWS_ENDPOINT_URL=cloud.url, AWS_MAX_ATTEMPTS="1", LUAWS_BACKUP_DIR=os.path.join(HOME, "backups"),
           LUAWS_POLICY_SETTLE="0.05")
for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "BROWSER",
             "DISPLAY", "WAYLAND_DISPLAY", "LUAWS_DEBUG"):
    ENV.pop(name, None)

WHOAMI = 'print(aws.client("sts"):GetCallerIdentity{}.Account)'


def luaws(*args, env=None, timeout=60):
    return subprocess.run([LUAWS, *args], env=env or ENV, capture_output=True, text=True, timeout=timeout)


def whoami(profile, env=None):
    return luaws("--profile", profile, "-e", WHOAMI, env=env)


def cache_file(name):
    return os.path.join(CACHE, hashlib.sha1(name.encode()).hexdigest() + ".json")


def read_cache(name):
    with open(cache_file(name)) as f:
        return json.load(f)


def write_cache(name, token):
    with open(cache_file(name), "w") as f:
        json.dump(token, f)


def clear_role_caches():
    for path in glob.glob(os.path.join(ROLE_CACHE, "*.json")):
        os.remove(path)


def emulator_state():
    return cloud.api("/localcloud-api/sso/state", {})


def botocore_script(code):
    """Runs python3 code with the test's HOME and config (botocore reads ~ at import time)."""
    env = dict(ENV)
    run = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout


def device_login(*args):
    """`luaws sso login ... --use-device-code`, approving the printed code like a user would."""
    process = subprocess.Popen([LUAWS, "sso", "login", *args, "--use-device-code"], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    printed = []
    code = None
    for line in process.stderr:
        printed.append(line)
        if "enter the code:" in line:
            code = line.split("enter the code:")[1].strip()
            cloud.api("/localcloud-api/sso/approve", {"user_code": code})
            break
    out, err = process.communicate(timeout=60)
    return process.returncode, "".join(printed) + err, code


def fails_cleanly(run, code, *fragments):
    assert run.returncode == code, (run.returncode, run.stderr)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr   # one line, never a traceback
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "traceback" not in run.stderr.lower() and ".lua:" not in run.stderr, run.stderr


# --- sign in and use it ----------------------------------------------------------------------

@checks.case("before any login: run `luaws sso login --profile dev`, exit 2")
def _():
    fails_cleanly(whoami("dev"), 2, "SsoLoginRequired", "run `luaws sso login --profile dev`")


@checks.case("device-code login: prints URL and code, polls until approved, writes the CLI cache 0600")
def _():
    code, printed, user_code = device_login("--profile", "dev")
    assert code == 0, printed
    assert user_code and "/localcloud-api/sso/device" in printed, printed
    token = read_cache("corp")
    assert set(token) >= {"accessToken", "expiresAt", "refreshToken", "clientId", "clientSecret",
                          "registrationExpiresAt", "region", "startUrl"}, token
    assert token["startUrl"] == START and token["region"] == "us-east-1"
    assert stat.S_IMODE(os.stat(cache_file("corp")).st_mode) == 0o600
    for secret in (token["accessToken"], token["refreshToken"], token["clientSecret"]):
        assert secret not in printed


@checks.case("botocore's SSOTokenLoader reads the token luaws wrote")
def _():
    out = botocore_script(f"""
import os
from botocore.utils import SSOTokenLoader, JSONFileCache
cache = JSONFileCache(os.path.expanduser("~/.aws/sso/cache"))
token = SSOTokenLoader(cache=cache)({START!r}, session_name="corp")
print(token["startUrl"], len(token["accessToken"]) > 10)
""")
    assert out.split() == [START, "True"], out


@checks.case("an sso_session profile reaches moto as its account (signatures checked)")
def _():
    run = whoami("dev")
    assert run.returncode == 0 and run.stdout.strip() == DEV, run
    files = glob.glob(os.path.join(ROLE_CACHE, "*.json"))
    assert len(files) == 1, files
    with open(files[0]) as f:
        assert json.load(f)["ProviderType"] == "sso"


@checks.case("the role credentials cache file has the name botocore computes")
def _():
    key = json.dumps({"roleName": "Admin", "accountId": DEV, "sessionName": "corp"}, sort_keys=True,
                     separators=(",", ":"))
    assert os.path.exists(os.path.join(ROLE_CACHE, hashlib.sha1(key.encode()).hexdigest() + ".json"))


@checks.case("botocore (the AWS CLI's engine) signs in with the token luaws wrote")
def _():
    out = botocore_script(f"""
import boto3
s = boto3.session.Session(profile_name="dev")
print(s.client("sts").get_caller_identity()["Account"])
""")
    assert out.strip() == DEV, out


@checks.case("a role_arn profile whose source_profile is an SSO profile assumes the role")
def _():
    run = whoami("chained")
    assert run.returncode == 0 and run.stdout.strip() == CHAINED, run


@checks.case("a legacy profile reads a token cached by botocore's own code (CLI format)")
def _():
    out = botocore_script(f"""
import datetime, os
import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.tokens import _sso_json_dumps
from botocore.utils import SSOTokenLoader, JSONFileCache
import urllib.request, json
oidc = boto3.session.Session(region_name="us-east-1").client("sso-oidc", config=Config(signature_version=UNSIGNED))
reg = oidc.register_client(clientName="aws-cli", clientType="public")
auth = oidc.start_device_authorization(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                                       startUrl={LEGACY_START!r})
req = urllib.request.Request({cloud.url!r} + "/localcloud-api/sso/approve",
                             data=json.dumps({{"user_code": auth["userCode"]}}).encode(), method="POST")
urllib.request.urlopen(req).read()
import time; time.sleep(1.1)
tok = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                        grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=auth["deviceCode"])
expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=tok["expiresIn"])
cache = JSONFileCache(os.path.expanduser("~/.aws/sso/cache"), dumps_func=_sso_json_dumps)
SSOTokenLoader(cache=cache).save_token({LEGACY_START!r}, {{"startUrl": {LEGACY_START!r}, "region": "us-east-1",
    "accessToken": tok["accessToken"], "expiresAt": expires}})
print("ok")
""")
    assert out.strip() == "ok"
    run = whoami("legacy")
    assert run.returncode == 0 and run.stdout.strip() == LEGACY, run


# --- refresh ------------------------------------------------------------------------------------

def near_expiry(name="corp", seconds=300):
    token = read_cache(name)
    token["expiresAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))
    write_cache(name, token)
    clear_role_caches()
    return token


@checks.case("a token near expiry is refreshed (CreateToken refresh grant) and the cache rewritten")
def _():
    before = near_expiry()
    refreshes = emulator_state()["refresh"]
    run = whoami("dev")
    assert run.returncode == 0 and run.stdout.strip() == DEV, run
    after = read_cache("corp")
    assert after["accessToken"] != before["accessToken"] and after["refreshToken"] != before["refreshToken"]
    assert after["expiresAt"] > before["expiresAt"] and after["clientId"] == before["clientId"]
    assert emulator_state()["refresh"] == refreshes + 1
    assert stat.S_IMODE(os.stat(cache_file("corp")).st_mode) == 0o600


@checks.case("botocore's SSOTokenProvider refreshes a luaws-written token; luaws uses the result")
def _():
    before = near_expiry()
    botocore_script("""
import botocore.session
from botocore.tokens import SSOTokenProvider
s = botocore.session.Session(profile="dev")
SSOTokenProvider(s).load_token().get_frozen_token()
""")
    after = read_cache("corp")
    assert after["accessToken"] != before["accessToken"], "botocore did not refresh"
    run = whoami("dev")
    assert run.returncode == 0 and run.stdout.strip() == DEV, run
    assert read_cache("corp")["accessToken"] == after["accessToken"]  # fresh: no second refresh


@checks.case("two luaws processes refreshing at once leave one valid cache")
def _():
    near_expiry()
    processes = [subprocess.Popen([LUAWS, "--profile", "dev", "-e", WHOAMI], env=ENV, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=60) + (p.returncode,) for p in processes]
    assert all(code == 0 and out.strip() == DEV for out, _, code in results), results
    assert not glob.glob(os.path.join(CACHE, "*.lock")) and not glob.glob(os.path.join(CACHE, "*.tmp"))
    token = read_cache("corp")
    # the cached refresh token is the live one: botocore can refresh with it
    out = botocore_script(f"""
import boto3
from botocore import UNSIGNED
from botocore.config import Config
oidc = boto3.session.Session(region_name="us-east-1").client("sso-oidc", config=Config(signature_version=UNSIGNED))
print(bool(oidc.create_token(clientId={token["clientId"]!r}, clientSecret={token["clientSecret"]!r},
                             grantType="refresh_token", refreshToken={token["refreshToken"]!r})["accessToken"]))
""")
    assert out.strip() == "True", out


@checks.case("a concurrent fan-out fetches the role credentials once")
def _():
    clear_role_caches()
    before = emulator_state()["role_credentials"]
    script = """
local http = require "luaws.http"
local tasks = {}
for i = 1, 8 do
  tasks[i] = http.spawn(function() return aws.client("sts", {profile = "dev"}):GetCallerIdentity{}.Account end)
end
local seen = {}
for _, t in ipairs(tasks) do seen[http.wait(t)] = true end
for account in pairs(seen) do print(account) end
"""
    run = luaws("-e", script)
    assert run.returncode == 0 and run.stdout.split() == [DEV], run
    assert emulator_state()["role_credentials"] == before + 1, emulator_state()


# --- errors people meet -------------------------------------------------------------------------

@checks.case("a role the user cannot assume: one line naming role and account, exit 1")
def _():
    fails_cleanly(whoami("noaccess"), 1, "SsoRoleForbidden", "role ReadOnly in account " + DEV)


@checks.case("a profile missing sso_account_id: names profile, file and setting, exit 2")
def _():
    fails_cleanly(whoami("noaccount"), 2, "profile 'noaccount'", CONFIG, "no sso_account_id")


@checks.case("a profile naming a missing [sso-session]: names it and the file, exit 2")
def _():
    fails_cleanly(whoami("nosession"), 2, "profile 'nosession' names sso_session 'missing'", CONFIG,
                  "no [sso-session missing] section")


@checks.case("sso login usage errors: not an SSO profile, unknown session, unknown command; exit 2")
def _():
    fails_cleanly(luaws("sso", "login", "--profile", "plain"), 2, "profile 'plain' has neither sso_session")
    fails_cleanly(luaws("sso", "login", "--sso-session", "zzz"), 2, "--sso-session zzz:", "no [sso-session zzz]")
    fails_cleanly(luaws("sso", "frob"), 2, "unknown sso command 'frob'")
    fails_cleanly(luaws("sso", "login", "--profile", "dev", "--sso-session", "corp"), 2, "not both")
    # a role_arn profile signs in through its SSO source_profile (here: refused for lack of time)
    chained = luaws("sso", "login", "--profile", "chained", "--use-device-code", "--timeout", "0.5")
    assert chained.returncode == 1 and "was not approved within 0.5 s" in chained.stderr, chained


@checks.case("a corrupt cache file: names the file, exit 2")
def _():
    os.makedirs(CACHE, exist_ok=True)
    with open(cache_file("broken-cache"), "w") as f:
        f.write("{not json")
    fails_cleanly(whoami("corrupt"), 2, "SsoCacheError", cache_file("broken-cache"), "not valid JSON")


@checks.case("an unreadable cache file: names the file, exit 2")
def _():
    if os.geteuid() == 0:
        # root reads anything: make the "file" a folder instead
        os.remove(cache_file("broken-cache"))
        os.mkdir(cache_file("broken-cache"))
    else:
        os.chmod(cache_file("broken-cache"), 0)
    fails_cleanly(whoami("corrupt"), 2, "SsoCacheError", "cannot read the SSO cache file " + cache_file("broken-cache"))


@checks.case("no network to the portal: one line naming the portal's address, exit 1")
def _():
    clear_role_caches()
    import socket
    with socket.socket() as s:   # a port nobody listens on: bound, then released
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    offline = dict(ENV, AWS_ENDPOINT_URL_SSO=closed)
    fails_cleanly(whoami("dev", env=offline), 1, "SsoUnreachable", "profile 'dev'",
                  "cannot reach the IAM Identity Center portal at " + closed)


@checks.case("a session ended on the server: run `luaws sso login --profile dev`, exit 2")
def _():
    saved = read_cache("corp")
    cloud.api("/localcloud-api/sso/expire", {})
    clear_role_caches()
    fails_cleanly(whoami("dev"), 2, "SsoLoginRequired", "run `luaws sso login --profile dev`")
    del saved


@checks.case("an expired cached token without a usable refresh: login hint, exit 2")
def _():
    token = read_cache("corp")
    token["expiresAt"] = "2020-01-01T00:00:00Z"
    token.pop("refreshToken")
    write_cache("corp", token)
    clear_role_caches()
    fails_cleanly(whoami("dev"), 2, "has expired", "run `luaws sso login --profile dev`")


# --- PKCE login, secrets, logout -----------------------------------------------------------------

BROWSER = os.path.join(HOME, "browser.py")
with open(BROWSER, "w") as f:
    f.write("""#!/usr/bin/env python3
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=30).read().decode(), file=open(sys.argv[0] + ".page", "w"))
""")
os.chmod(BROWSER, 0o755)


@checks.case("PKCE login: opens $BROWSER, takes the redirect on 127.0.0.1, stores a refreshable token")
def _():
    registrations = emulator_state()["register"]
    run = luaws("sso", "login", "--sso-session", "corp", env=dict(ENV, BROWSER=BROWSER))
    assert run.returncode == 0, run
    assert "/authorize?" in run.stderr and "code_challenge_method=S256" in run.stderr, run.stderr
    assert "browser has been opened" in run.stderr
    with open(BROWSER + ".page") as f:
        assert "signed in" in f.read()
    token = read_cache("corp")
    assert token["refreshToken"] and token["accessToken"] not in run.stderr
    assert emulator_state()["register"] == registrations + 1  # PKCE has its own registration
    again = luaws("sso", "login", "--sso-session", "corp", env=dict(ENV, BROWSER=BROWSER))
    assert again.returncode == 0 and emulator_state()["register"] == registrations + 1  # cached
    assert whoami("dev").stdout.strip() == DEV


@checks.case("PKCE login without a browser prints the URL and times out clearly")
def _():
    run = luaws("sso", "login", "--profile", "dev", "--timeout", "1")
    fails_cleanly_last = run.stderr.strip().splitlines()[-1]
    assert run.returncode == 1, run
    assert "Open this URL in a browser" in run.stderr
    assert "SsoLoginTimeout" in fails_cleanly_last and "within 1 s" in fails_cleanly_last, run.stderr


@checks.case("device-code login not approved in time: clear timeout, exit 1")
def _():
    run = luaws("sso", "login", "--profile", "dev", "--use-device-code", "--timeout", "2")
    assert run.returncode == 1, run
    assert "was not approved within 2 s" in run.stderr.strip().splitlines()[-1], run.stderr


@checks.case("--debug never shows tokens or role credentials")
def _():
    clear_role_caches()
    near_expiry()   # the debug run also refreshes: CreateToken bodies must be redacted too
    run = luaws("--debug", "--profile", "dev", "-e", WHOAMI)
    assert run.returncode == 0, run
    token = read_cache("corp")
    assert "GetRoleCredentials" in run.stderr and "CreateToken" in run.stderr, run.stderr
    files = glob.glob(os.path.join(ROLE_CACHE, "*.json"))
    with open(files[0]) as f:
        creds = json.load(f)["Credentials"]
    for secret in (token["accessToken"], token["refreshToken"], token["clientSecret"],
                   creds["SecretAccessKey"], creds["SessionToken"]):
        assert secret not in run.stderr and secret not in run.stdout


@checks.case("logout removes the cached tokens and role credentials; the next call asks to log in")
def _():
    assert whoami("dev").returncode == 0
    run = luaws("sso", "logout")
    assert run.returncode == 0 and "Signed out" in run.stderr, run
    assert not os.path.exists(cache_file("corp")) and not os.path.exists(cache_file(LEGACY_START))
    assert glob.glob(os.path.join(ROLE_CACHE, "*.json")) == []
    fails_cleanly(whoami("dev"), 2, "run `luaws sso login --profile dev`")


# --- the flagship recipe on SSO profiles -----------------------------------------------------------

@checks.case("cross-account-ami-asg plans and applies with SSO profiles on both sides")
def _():
    code, printed, _ = device_login("--profile", "source")
    assert code == 0, printed
    base = ["run", "cross-account-ami-asg", "--source-profile", "source", "--target-profile", "target",
            "--asg-name", summary["group_name"], "--output", "json"]
    plan = luaws(*base, timeout=120)
    assert plan.returncode == 0, plan
    assert json.loads(plan.stdout)["status"] == "planned", plan.stdout
    applied = luaws(*base, "--apply", timeout=120)
    assert applied.returncode == 0, applied
    assert json.loads(applied.stdout)["status"] == "applied", applied.stdout
    assert emulator_state()["role_credentials"] >= 2



@checks.case("org-grant-rollout on an SSO profile: 8 members fixed concurrently, one GetRoleCredentials")
def _():
    clear_role_caches()
    before = emulator_state()["role_credentials"]
    run = luaws("run", "org-grant-rollout", "--profile", "orgadmin", "--key-id", "alias/org-ami-key",
                "--output", "json", "--apply", timeout=240)
    assert run.returncode == 0, (run.stdout[-2000:], run.stderr[-2000:])
    report = json.loads(run.stdout)
    assert report["status"] == "applied", report["status"]
    accounts = {row["account"] for row in report["result"]["accounts"]}
    assert accounts == set(ORG["members"]), accounts
    assert emulator_state()["role_credentials"] == before + 1, emulator_state()


cloud.stop()
sys.exit(checks.done())
