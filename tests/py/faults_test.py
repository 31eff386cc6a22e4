#!/usr/bin/env python3
"""faults_test: the flagship recipe under injected faults, and two concurrent writers on one key.

Every run goes through tests/lib/faultproxy.py, which answers throttling errors, 500/503, resets
(before and after forwarding), stalls, truncated bodies and HTML pages, by a seeded schedule. Each
run must either finish correctly or stop with a clear one-line error; in every case the key policy
ends either as it was or as intended (every original statement intact), the backup is written
before any change, no grant is duplicated, and a clean rerun converges. boto3 reads the truth from
the local cloud directly. The tally of faults injected and survived is printed for
docs/reliability.md.
"""
import json
import os
import re
import subprocess
import sys
import urllib.request

SOURCE_DIR = os.environ.get("LUAWS_SOURCE_DIR", ".")
sys.path.insert(0, os.path.join(SOURCE_DIR, "localcloud"))

import testkit  # noqa: E402

LUAWS = os.environ.get("LUAWS_BIN", "build/luaws")
RUNS = int(os.environ.get("LUAWS_FAULT_RUNS", "12"))
USE_SID, GRANT_SID = "LuawsCrossAccountUse{}", "LuawsCrossAccountCreateGrant{}"

checks = testkit.Checks()
cloud = testkit.Cloud()


def start_proxy(seed, rate):
    process = subprocess.Popen([sys.executable, os.path.join(SOURCE_DIR, "tests/lib/faultproxy.py"),
                                "--upstream", cloud.url, "--seed", str(seed), "--rate", str(rate),
                                "--stall", "2"], stdout=subprocess.PIPE, text=True)
    port = re.match(r"FAULTPROXY READY (\d+)", process.stdout.readline()).group(1)
    return process, f"http://127.0.0.1:{port}"


def write_profiles(directory, profiles):
    """profiles: name -> credentials dict. Returns the env entries for luaws."""
    os.makedirs(directory, exist_ok=True)
    config, credentials = os.path.join(directory, "config"), os.path.join(directory, "credentials")
    with open(config, "w", encoding="utf-8") as f:
        for name in profiles:
            f.write(f"[profile {name}]\nregion = us-east-1\n\n")
    with open(credentials, "w", encoding="utf-8") as f:
        for name, c in profiles.items():
            f.write(f"[{name}]\naws_access_key_id = {c['access_key_id']}\n"
                    f"aws_secret_access_key = {c['secret_access_key']}\n\n")
    os.chmod(credentials, 0o600)
    return {"AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": credentials}


def luaws_env(directory, endpoint, profiles, **extra):
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, HOME=directory,
               LUAWS_BACKUP_DIR=os.path.join(directory, "backups"), **extra)
    env.update(write_profiles(directory, profiles))
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    return env


def run_flagship(env, *args):
    return subprocess.run([LUAWS, "run", "cross-account-ami-asg", "--source-profile", "source",
                           "--output", "json", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def backups(directory):
    found = []
    for folder, _, files in os.walk(os.path.join(directory, "backups")):
        found += [os.path.join(folder, f) for f in files]
    return sorted(found)


def check_invariants(kms, key, original, target, role, directory):
    """The key policy is as it was or as intended; returns "original" or "intended"."""
    policy = testkit.key_policy(kms, key)
    by_sid = {s.get("Sid"): s for s in policy["Statement"]}
    for statement in original["Statement"]:
        assert by_sid.get(statement["Sid"]) == statement, "an original statement changed or vanished"
    extra = set(by_sid) - {s["Sid"] for s in original["Statement"]}
    if not extra:
        state = "original"
    else:
        assert extra == {USE_SID.format(target), GRANT_SID.format(target)}, extra
        state = "intended"
        files = backups(directory)
        assert files, "policy changed without a backup"
        with open(files[0], encoding="utf-8") as f:
            assert json.loads(f.read()) == original, "first backup is not the original policy"
    named = [g for g in kms.list_grants(KeyId=key)["Grants"]
             if g["GranteePrincipal"] == role and g.get("Name", "").startswith("luaws-")]
    assert len(named) <= 1, f"duplicate grants: {named}"
    return state, len(named)


tally = {"runs": 0, "finished": 0, "stopped_cleanly": 0, "faults": {}}


def fault_run(index, seed, rate):
    source, target = f"3000000000{index:02d}", f"4000000000{index:02d}"
    summary = cloud.seed(source_account=source, target_account=target, group_name=f"faulty-{index}")
    directory = testkit.temp_dir()
    kms = cloud.client("kms", "source")
    original = testkit.key_policy(kms, summary["key_arn"])
    proxy, proxy_url = start_proxy(seed, rate)
    try:
        profiles = {"source": cloud.credentials["source"], "target": cloud.credentials["target"]}
        env = luaws_env(directory, proxy_url, profiles, AWS_MAX_ATTEMPTS="4", LUAWS_POLICY_SETTLE="0")
        run = run_flagship(env, "--target-profile", "target", "--image-id", summary["image_id"], "--apply")
        faults = json.loads(urllib.request.urlopen(proxy_url + "/_faults", timeout=5).read())
    finally:
        proxy.kill()
        proxy.wait()
    tally["runs"] += 1
    for name, count in faults["injected"].items():
        tally["faults"][name] = tally["faults"].get(name, 0) + count
    assert run.returncode in (0, 1), f"exit {run.returncode}: {run.stderr}"
    assert "traceback" not in run.stderr.lower() and "AddressSanitizer" not in run.stderr, run.stderr
    state, grants = check_invariants(kms, summary["key_arn"], original, target,
                                     summary["service_linked_role_arn"], directory)
    if run.returncode == 0:
        assert state == "intended" and grants == 1, (state, grants, run.stderr)
        tally["finished"] += 1
    else:
        errors = [line for line in run.stderr.splitlines() if line.startswith("luaws: ")]
        assert len(errors) == 1, run.stderr
        tally["stopped_cleanly"] += 1
    # A clean rerun converges: whatever the faults left, the fix completes.
    clean = luaws_env(directory, cloud.url, profiles, LUAWS_POLICY_SETTLE="0")
    rerun = run_flagship(clean, "--target-profile", "target", "--image-id", summary["image_id"], "--apply")
    assert rerun.returncode == 0, rerun.stderr
    state, grants = check_invariants(kms, summary["key_arn"], original, target,
                                     summary["service_linked_role_arn"], directory)
    assert state == "intended" and grants == 1, (state, grants)
    return faults


for i in range(RUNS):
    rate = 0.15 if i % 2 == 0 else 0.5

    @checks.case(f"fault run {i + 1} (seed {i + 1}, rate {rate})")
    def _(i=i, rate=rate):
        faults = fault_run(i + 1, i + 1, rate)
        print(f"     {faults['requests']} requests, injected {faults['injected']}", flush=True)


@checks.case("two concurrent writers for two target accounts on one key: no lost update")
def _():
    for attempt in range(4):
        source = f"5000000000{attempt:02d}"
        first = cloud.seed(source_account=source, target_account=f"6000000000{attempt:02d}",
                           group_name=f"writer-a-{attempt}")
        creds_a, creds_b1 = cloud.credentials["source"], cloud.credentials["target"]
        kms = cloud.client("kms", "source")
        original = testkit.key_policy(kms, first["key_arn"])
        # A second target account: seeded separately only to get its credentials.
        second = cloud.seed(source_account=f"7000000000{attempt:02d}", target_account=f"8000000000{attempt:02d}",
                            group_name=f"writer-b-{attempt}")
        creds_b2 = cloud.credentials["target"]
        cloud.credentials["source"] = creds_a
        directory = testkit.temp_dir()
        env = luaws_env(directory, cloud.url, {"source": creds_a, "target1": creds_b1, "target2": creds_b2},
                        LUAWS_POLICY_SETTLE="0.3")
        processes = [subprocess.Popen([LUAWS, "run", "cross-account-ami-asg", "--source-profile", "source",
                                       "--target-profile", name, "--key-id", first["key_arn"], "--apply"],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for name in ("target1", "target2")]
        outputs = [p.communicate(timeout=120) for p in processes]
        for p, (_, err) in zip(processes, outputs):
            assert p.returncode == 0, err
        by_sid = {s.get("Sid"): s for s in testkit.key_policy(kms, first["key_arn"])["Statement"]}
        for statement in original["Statement"]:
            assert by_sid[statement["Sid"]] == statement
        for account in (first["target_account"], second["target_account"]):
            assert USE_SID.format(account) in by_sid, f"lost update: {account} missing ({attempt})"
            assert GRANT_SID.format(account) in by_sid, f"lost update: {account} missing ({attempt})"


cloud.stop()
print(f"faults: {tally['runs']} runs, {sum(tally['faults'].values())} faults injected "
      f"{json.dumps(tally['faults'], sort_keys=True)}; {tally['finished']} finished correctly, "
      f"{tally['stopped_cleanly']} stopped with a clear error; every rerun converged; nothing lost", flush=True)
sys.exit(checks.done())
