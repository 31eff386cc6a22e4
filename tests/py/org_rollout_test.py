#!/usr/bin/env python3
"""org_rollout_test: `luaws run org-grant-rollout` across organizations of 50+ member accounts.

On the local cloud (signature checking on): the plan lists every member and changes nothing; one
--apply run fixes every member concurrently (requests overlap: the http stats in the JSON report),
adds ONE aws:PrincipalOrgID statement with kms:CreateGrant, creates missing service-linked roles,
and the members' groups launch; a second run does nothing; a run killed mid-way resumes from its
state file without duplicate grants; --max-accounts is a canary; a member that cannot be reached
fails alone and is retried alone; --accounts-file, the trap statement, the progress bar (only on a
terminal) and bad input. boto3 observes the key policy and grants.
"""
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("LUAWS_SOURCE_DIR", "."), "localcloud"))

import testkit  # noqa: E402

LUAWS = os.environ.get("LUAWS_BIN", "build/luaws")
RECIPE = "org-grant-rollout"
DOC_OPERATIONS = sorted(["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
                         "GenerateDataKeyWithoutPlaintext", "DescribeKey", "CreateGrant"])

checks = testkit.Checks()
cloud = testkit.Cloud()
home = testkit.temp_dir()
orgs = {}


def seed_org(profile, management, base, **options):
    summary = cloud.api("/localcloud-api/org/seed", dict(options, management_account=management,
                                                         member_base=base))
    creds = summary.pop("credentials")["management"]
    cloud.add_user(profile, creds["access_key_id"], creds["secret_access_key"])
    orgs[profile] = summary
    return summary


def write_profiles():
    config, credentials = os.path.join(home, "config"), os.path.join(home, "credentials")
    with open(config, "w", encoding="utf-8") as out:
        for profile in orgs:
            out.write(f"[profile {profile}]\nregion = us-east-1\n\n")
    fd = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for profile in orgs:
            creds = cloud.credentials[profile]
            out.write(f"[{profile}]\naws_access_key_id = {creds['access_key_id']}\n"
                      f"aws_secret_access_key = {creds['secret_access_key']}\n\n")
    env = dict(os.environ, AWS_CONFIG_FILE=config, AWS_SHARED_CREDENTIALS_FILE=credentials,
               AWS_ENDPOINT_URL=cloud.url, HOME=home, AWS_MAX_ATTEMPTS="1",
               LUAWS_BACKUP_DIR=os.path.join(home, "backups"), LUAWS_POLICY_SETTLE="0.05")
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "XDG_STATE_HOME"):
        env.pop(name, None)
    return env


MAIN = seed_org("main", "300000000000", 310000000000, members=55, groups=3)
RESUME = seed_org("resume", "400000000000", 410000000000, members=50, asg_role="all")
SMALL = seed_org("small", "500000000000", 510000000000, members=6, no_access_role=[4],
                 org_statement_without_grant=True)
UNDO = seed_org("undo", "600000000000", 610000000000, members=3)
env = write_profiles()
originals = {p: testkit.key_policy(cloud.client("kms", p), orgs[p]["key_arn"]) for p in orgs}
cloud.set_auth(0)


class Run:
    """One rollout process with --output json."""

    def __init__(self, profile, *args):
        command = [LUAWS, "run", RECIPE, "--profile", profile, "--key-id", "alias/org-ami-key",
                   "--output", "json", *args]
        process = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
        self.code, self.out, self.err = process.returncode, process.stdout, process.stderr
        self.report = json.loads(self.out) if self.out.strip() else None

    @property
    def result(self):
        return self.report["result"]

    def actions(self, name):
        return [s for s in self.report["plan"] if s["action"] == name]

    def statuses(self):
        return {row["account"]: row["status"] for row in self.result["accounts"]}

    def __repr__(self):
        return f"exit {self.code}\nstdout: {self.out[:3000]}\nstderr: {self.err[-3000:]}"


def grants_by_grantee(profile):
    kms = cloud.client("kms", profile)
    grants, marker = [], None
    while True:
        page = kms.list_grants(KeyId=orgs[profile]["key_arn"], **({"Marker": marker} if marker else {}))
        grants += page["Grants"]
        if not page.get("Truncated"):
            break
        marker = page["NextMarker"]
    by = {}
    for grant in grants:
        by.setdefault(grant["GranteePrincipal"], []).append(grant)
    return by


def asg_role(account):
    return f"arn:aws:iam::{account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def state_file(profile):
    return os.path.join(home, "state", profile + ".json")


def example(profile, name, *args):
    script = os.path.join(os.environ.get("LUAWS_SOURCE_DIR", "."), "examples", name)
    return subprocess.run([LUAWS, "--profile", profile, script, *args], env=env, capture_output=True,
                          text=True, timeout=120)


def group_health():
    return {g["account"]: g["in_service"] for g in cloud.reconcile("app-asg")["groups"]
            if g["account"] in MAIN["members"]}


# --- the main organization: plan, apply, rerun -------------------------------------------------
@checks.case("before: every member's group fails (no grant on the management account's key)")
def _():
    health = group_health()
    assert sorted(health) == MAIN["group_accounts"] and set(health.values()) == {0}, health


@checks.case("examples/org-failing-asgs.lua finds the three failing groups (exit 1)")
def _():
    process = example("main", "org-failing-asgs.lua")
    assert process.returncode == 1, process
    assert "3 groups in 56 accounts; 3 failing with the KMS trap" in process.stdout, process
    for account in MAIN["group_accounts"]:
        assert f"{account}  app-asg" in process.stdout, process.stdout
    assert "Client.InternalError" in process.stdout, process.stdout


@checks.case("plan: every member listed with what it needs; nothing changes, no state written")
def _():
    run = Run("main", "--state-file", state_file("main"))
    assert run.code == 0 and run.report["status"] == "planned", run
    assert len(run.actions("kms:PutKeyPolicy")) == 1, run
    assert len(run.actions("kms:CreateGrant")) == 55, run
    missing_roles = 55 - len(MAIN["members_with_asg_role"])
    assert len(run.actions("iam:CreateServiceLinkedRole")) == missing_roles > 0, run
    assert set(run.statuses().values()) == {"planned"} and len(run.statuses()) == 55, run.statuses()
    assert testkit.key_policy(cloud.client("kms", "main"), MAIN["key_arn"]) == originals["main"]
    assert grants_by_grantee("main") == {}
    assert not os.path.exists(state_file("main"))


@checks.case("apply: 55 members fixed in one run, concurrently, one org statement with CreateGrant")
def _():
    run = Run("main", "--state-file", state_file("main"), "--apply", "--rate", "500")
    assert run.code == 0 and run.report["status"] == "applied", run
    assert set(run.statuses().values()) == {"fixed"} and len(run.statuses()) == 55, run.statuses()
    stats = run.result["http"]
    assert 1 < stats["max_in_flight_seen"] <= 16, stats  # requests overlapped, within the bound
    by = grants_by_grantee("main")
    for account in MAIN["members"]:
        grants = by.get(asg_role(account), [])
        assert len(grants) == 1 and sorted(grants[0]["Operations"]) == DOC_OPERATIONS, (account, grants)
    policy = testkit.key_policy(cloud.client("kms", "main"), MAIN["key_arn"])
    for statement in originals["main"]["Statement"]:
        assert statement in policy["Statement"]
    ours = [s for s in policy["Statement"] if s.get("Sid", "").startswith("LuawsOrg")]
    assert len(ours) == 1, policy
    assert "kms:CreateGrant" in ours[0]["Action"], ours
    assert ours[0]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": MAIN["organization_id"]}}, ours


@checks.case("apply: the state file is owner-only JSON naming every finished account")
def _():
    path = state_file("main")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600", oct(os.stat(path).st_mode)
    state = json.load(open(path, encoding="utf-8"))
    assert sorted(state["accounts"]) == MAIN["members"], state
    assert all(entry["status"] == "done" for entry in state["accounts"].values())
    assert [f for f in os.listdir(os.path.dirname(path)) if ".tmp-" in f] == []


@checks.case("after: every member's group launches")
def _():
    health = group_health()
    assert set(health.values()) == {1}, health


@checks.case("examples: no failing group left; every luaws grant reaches its role")
def _():
    process = example("main", "org-failing-asgs.lua", "--concurrency", "4")
    assert process.returncode == 0 and "0 failing" in process.stdout, process
    process = example("main", "check-luaws-grants.lua", "--key-id", "alias/org-ami-key")
    assert process.returncode == 0 and "55 luaws grants, 0 flagged" in process.stdout, process


@checks.case("a second run does nothing (state file), and so does a full recheck")
def _():
    before = grants_by_grantee("main")
    run = Run("main", "--state-file", state_file("main"), "--apply", "--rate", "500")
    assert run.code == 0 and run.report["status"] == "nothing-to-do" and run.report["plan"] == [], run
    assert set(run.statuses().values()) == {"done-earlier"}, run.statuses()
    run = Run("main", "--state-file", state_file("main"), "--apply", "--rate", "500", "--recheck")
    assert run.code == 0 and run.report["status"] == "nothing-to-do", run
    assert set(run.statuses().values()) == {"in-place"}, run.statuses()
    assert grants_by_grantee("main") == before


@checks.case("examples/check-luaws-grants.lua flags the grant of a role deleted since (exit 1)")
def _():
    import boto3
    member = MAIN["members"][4]
    assumed = cloud.client("sts", "main").assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole", RoleSessionName="test")
    c = assumed["Credentials"]
    iam = boto3.session.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                                aws_session_token=c["SessionToken"], region_name="us-east-1").client(
        "iam", endpoint_url=cloud.url)
    iam.delete_role(RoleName="AWSServiceRoleForAutoScaling")
    process = example("main", "check-luaws-grants.lua", "--key-id", "alias/org-ami-key")
    assert process.returncode == 1 and "55 luaws grants, 1 flagged" in process.stdout, process
    flagged = [line for line in process.stdout.splitlines() if "role no longer exists" in line]
    assert len(flagged) == 1 and member in flagged[0], process.stdout


# --- interrupted and resumed -----------------------------------------------------------------
@checks.case("killed mid-way (SIGTERM), a rerun skips the finished accounts and fixes the rest once")
def _():
    path = state_file("resume")
    command = [LUAWS, "run", RECIPE, "--profile", "resume", "--key-id", "alias/org-ami-key", "--apply",
               "--state-file", path, "--rate", "12", "--concurrency", "4", "--output", "json"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    done = 0
    while time.time() < deadline and done < 8:
        time.sleep(0.1)
        try:
            done = len(json.load(open(path, encoding="utf-8"))["accounts"])
        except (OSError, ValueError, KeyError):
            done = 0
    process.send_signal(signal.SIGTERM)
    process.wait(30)
    state = json.load(open(path, encoding="utf-8"))  # never half written
    finished = sorted(state["accounts"])
    assert 8 <= len(finished) < 50, finished
    run = Run("resume", "--state-file", path, "--apply", "--rate", "500")
    assert run.code == 0, run
    statuses = run.statuses()
    assert sorted(a for a, s in statuses.items() if s == "done-earlier") == finished, statuses
    assert all(statuses[a] in ("fixed", "in-place") for a in RESUME["members"] if a not in finished), statuses
    assert len(run.actions("kms:CreateGrant")) <= 50 - len(finished), run
    by = grants_by_grantee("resume")
    for account in RESUME["members"]:
        assert len(by.get(asg_role(account), [])) == 1, (account, by.get(asg_role(account)))
    assert sorted(json.load(open(path, encoding="utf-8"))["accounts"]) == RESUME["members"]


# --- the small organization: canary, a failing member, accounts file, trap, bound ---------------
@checks.case("--max-accounts 2 is a canary; the trap statement is explained and kept")
def _():
    run = Run("small", "--state-file", state_file("small"), "--apply", "--max-accounts", "2")
    assert run.code == 0, run
    statuses = run.statuses()
    assert [statuses[a] for a in SMALL["members"]] == ["fixed", "fixed"] + ["not-reached"] * 4, statuses
    assert "AllowUseByOrganization" in run.err and "CreateGrant" in run.err, run.err
    policy = testkit.key_policy(cloud.client("kms", "small"), SMALL["key_arn"])
    assert "AllowUseByOrganization" in [s.get("Sid") for s in policy["Statement"]]


@checks.case("an unreachable member fails alone (exit 1, in the table); a rerun retries only it")
def _():
    broken = SMALL["members"][3]
    run = Run("small", "--state-file", state_file("small"), "--apply", "--concurrency", "2")
    assert run.code == 1 and run.report["status"] == "failed", run
    statuses = run.statuses()
    assert statuses[broken] == "failed", statuses
    assert [a for a, s in statuses.items() if s == "fixed"] == [a for a in SMALL["members"][2:] if a != broken]
    assert run.result["http"]["max_in_flight_seen"] <= 2, run.result["http"]
    row = [r for r in run.result["accounts"] if r["account"] == broken][0]
    assert row["error"], row
    assert broken in run.err and "failed" in run.err, run.err
    again = Run("small", "--state-file", state_file("small"), "--apply")
    assert again.code == 1 and [a for a, s in again.statuses().items() if s != "done-earlier"] == [broken], again


@checks.case("--accounts-file: only the listed accounts (comments and CSV columns allowed)")
def _():
    listed = os.path.join(home, "accounts.csv")
    with open(listed, "w", encoding="utf-8") as out:
        out.write(f"# the pilot accounts\n{SMALL['members'][0]},pilot-a\n\n{SMALL['members'][1]}  # b\n")
    run = Run("small", "--accounts-file", listed, "--org-id", SMALL["organization_id"],
              "--state-file", os.path.join(home, "state", "pilot.json"))
    assert run.code == 0 and run.report["status"] == "nothing-to-do", run
    assert sorted(run.statuses()) == SMALL["members"][:2], run.statuses()


@checks.case("a progress bar on a terminal only")
def _():
    listed = os.path.join(home, "two.txt")
    with open(listed, "w", encoding="utf-8") as out:
        out.write("\n".join(SMALL["members"][:2]) + "\n")
    command = [LUAWS, "run", RECIPE, "--profile", "small", "--key-id", "alias/org-ami-key", "--recheck",
               "--accounts-file", listed, "--state-file", os.path.join(home, "state", "tty.json")]
    master, slave = pty.openpty()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert process.wait(30) == 0, seen
    assert b"\r" in seen and b"2/2 accounts" in seen, seen
    piped = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and "\r" not in piped.stderr and "accounts  in-place" not in piped.stderr, piped
    assert "in-place" in piped.stderr, piped.stderr


@checks.case("bad input: a malformed accounts file, --concurrency 0, a state file of another key: exit 2")
def _():
    bad = os.path.join(home, "bad.txt")
    with open(bad, "w", encoding="utf-8") as out:
        out.write("12345\n")
    run = Run("small", "--accounts-file", bad)
    assert run.code == 2 and "line 1" in run.err, run
    run = Run("small", "--concurrency", "0")
    assert run.code == 2 and "--concurrency" in run.err, run
    run = Run("small", "--state-file", state_file("main"))
    assert run.code == 2 and "state file" in run.err, run



# --- undo: three members, byte for byte, resumable, idempotent ----------------------------------
def policy_text(profile):
    return cloud.client("kms", profile).get_key_policy(KeyId=orgs[profile]["key_arn"],
                                                       PolicyName="default")["Policy"]


def luaws_grants(profile):
    return [g for grants in grants_by_grantee(profile).values() for g in grants
            if g.get("Name", "").startswith("luaws-")]


UNDO_STATE = state_file("undo")
UNDO_ORIGINAL = policy_text("undo")


@checks.case("undo: after a rollout over three members, --undo plans one revoke per member and the policy")
def _():
    run = Run("undo", "--apply", "--state-file", UNDO_STATE)
    assert run.code == 0, run
    assert len(luaws_grants("undo")) == 3, luaws_grants("undo")
    assert policy_text("undo") != UNDO_ORIGINAL
    plan = Run("undo", "--undo", "--state-file", UNDO_STATE)
    assert plan.code == 0, plan
    assert len(plan.actions("kms:RevokeGrant")) == 3, plan
    assert [s["detail"] for s in plan.actions("kms:PutKeyPolicy")] == \
        ["restore the key policy luaws found, byte for byte"], plan
    assert len(luaws_grants("undo")) == 3, "planning changed nothing"


@checks.case("undo: interrupted after one member (canary), a rerun revokes the rest and restores the policy")
def _():
    first = Run("undo", "--undo", "--apply", "--state-file", UNDO_STATE, "--max-accounts", "1")
    assert first.code == 0, first
    assert sorted(first.statuses().values()) == ["not-reached", "not-reached", "revoked"], first.statuses()
    assert first.actions("kms:PutKeyPolicy") == [], "the policy waits until every grant is gone"
    assert len(luaws_grants("undo")) == 2
    state = json.load(open(UNDO_STATE, encoding="utf-8"))
    assert sorted(e["status"] for e in state["accounts"].values()) == ["done", "done", "undone"], state
    rest = Run("undo", "--undo", "--apply", "--state-file", UNDO_STATE)
    assert rest.code == 0, rest
    assert sorted(rest.statuses().values()) == ["revoked", "revoked", "undone-earlier"], rest.statuses()
    assert luaws_grants("undo") == [], luaws_grants("undo")
    assert policy_text("undo") == UNDO_ORIGINAL, "key policy restored byte for byte"


@checks.case("undo: a second undo is a no-op")
def _():
    again = Run("undo", "--undo", "--apply", "--state-file", UNDO_STATE)
    assert again.code == 0, again
    assert again.report["plan"] == [], again
    assert set(again.statuses().values()) == {"undone-earlier"}, again.statuses()
    assert policy_text("undo") == UNDO_ORIGINAL


cloud.stop()
sys.exit(checks.done())
