#!/usr/bin/env python3
"""bench: luaws side by side with the AWS CLI (v1 and v2) and boto3 on one local moto, in one run.

    python3 bench/bench.py --luaws build-bench/luaws [--rounds 10] [--out DIR] [--only NAMES]

(bench/run builds luaws and calls this.) Starts bench/cloud.py (the local cloud with a request
meter), warms it up, then measures, interleaving the contenders round by round so that load from
elsewhere on the machine hits them alike: 1. one call as a process, 2. the flagship fix as a
process, 3. signing throughput (bench/sign_bench.py), 4. fan-out over 200 accounts against moto's
measured capacity, 5. luaws start-up. Every process is measured from fork to exit by bench/measure.c
(wait4): wall, user+sys CPU, peak RSS. Prints a Markdown report (and writes it with the raw figures as JSON
to --out). Figures are medians with [min-max].
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "localcloud"))
import scenario  # noqa: E402  (the seed endpoint and profile writer)

MANAGEMENT_KEY = "AKIABENCHMANAGEMENT0"  # unknown to moto: lands in account 123456789012
MANAGEMENT_ACCOUNT = "123456789012"


# --- measuring processes ------------------------------------------------------------------------

MEASURE = None  # bench/measure.c, built by build_measure()


def build_measure(directory):
    global MEASURE
    MEASURE = os.path.join(directory, "measure")
    subprocess.run(["cc", "-O2", "-o", MEASURE, os.path.join(HERE, "measure.c")], check=True)


def run_measured(cmd, env, stdout_path=None):
    """Runs cmd to exit under bench/measure; returns {wall, cpu, user, sys, rss_mb, rc} (wait4
    rusage of the process and of everything it waited for)."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    err = tempfile.TemporaryFile()
    figures = tempfile.mktemp(prefix="measure-")
    try:
        proc = subprocess.run([MEASURE, figures] + cmd, env=env, stdout=out, stderr=err,
                              stdin=subprocess.DEVNULL)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    finally:
        err.close()
        if stdout_path:
            out.close()
    if proc.returncode != 0:
        raise SystemExit("bench: %s failed (exit %d):\n%s" % (" ".join(cmd), proc.returncode,
                                                             stderr[-2000:]))
    with open(figures, encoding="utf-8") as f:
        m = json.load(f)
    os.unlink(figures)
    return {"wall": m["wall"], "user": m["user"], "sys": m["sys"], "cpu": m["user"] + m["sys"],
            "rss_mb": m["rss_kb"] / 1024.0, "rc": proc.returncode}


def summary(values):
    values = list(values)
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def fmt(s, scale=1.0, digits=1):
    return "%.*f [%.*f-%.*f]" % (digits, s["median"] * scale, digits, s["min"] * scale, digits,
                                 s["max"] * scale)


# --- the local cloud ------------------------------------------------------------------------------

class Cloud:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "cloud.py"), "--asg-retry", "0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        match = re.match(r"^LOCALCLOUD READY (\S+) pid=(\d+)", line)
        if not match:
            self.proc.kill()
            raise SystemExit("bench: the local cloud did not start: " + line)
        self.url = match.group(1)

    def call(self, path, payload=None):
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.url + path, data=data, method="GET" if data is None else "POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())

    def reset(self):
        self.call("/bench-api/reset", {})

    def stats(self):
        return self.call("/bench-api/stats")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def base_env(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LUAWS_"))}
    env.update(HOME=home, AWS_CONFIG_FILE=os.path.join(home, "no-config"),
               AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, "no-credentials"),
               AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1", AWS_PAGER="",
               AWS_CLI_AUTO_PROMPT="off", MOTO_EC2_LOAD_DEFAULT_AMIS="false")
    return env


def static_env(home, access_key=MANAGEMENT_KEY):
    env = base_env(home)
    env.update(AWS_ACCESS_KEY_ID=access_key, AWS_SECRET_ACCESS_KEY="bench-secret-not-checked")
    return env


# --- 0. the machine -------------------------------------------------------------------------------

def version_of(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "not available"


def machine(luaws, aws_v1, aws_v2):
    cpu = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import boto3
    import botocore
    import moto
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
        "load_average_at_start": os.getloadavg(),
        "luaws": version_of([luaws, "--version"]),
        "aws_cli_v1": version_of([aws_v1, "--version"]) if aws_v1 else "not available",
        "aws_cli_v2": version_of([aws_v2, "--version"]) if aws_v2 else "not available",
        "python": platform.python_version(), "boto3": boto3.__version__,
        "botocore": botocore.__version__, "moto": moto.__version__,
    }


# --- 1. one call as a process ---------------------------------------------------------------------

def one_call(cloud, luaws, aws_v1, aws_v2, rounds, home):
    import boto3
    kms = boto3.client("kms", endpoint_url=cloud.url, region_name="us-east-1",
                       aws_access_key_id=MANAGEMENT_KEY, aws_secret_access_key="bench-secret-not-checked")
    for _ in range(3):  # something to list
        kms.create_key(Description="bench")
    env = static_env(home)
    contenders = [("luaws -e (kms ListKeys)", [luaws, "-e", 'print(#aws.client("kms"):ListKeys{}.Keys)'],
                   dict(env, AWS_ENDPOINT_URL=cloud.url))]
    if aws_v1:
        contenders.append(("aws kms list-keys (CLI v1, pip)",
                           [aws_v1, "kms", "list-keys", "--endpoint-url", cloud.url], env))
    if aws_v2:
        contenders.append(("aws kms list-keys (CLI v2, Debian)",
                           [aws_v2, "kms", "list-keys", "--endpoint-url", cloud.url], env))
    runs = {name: [] for name, _, _ in contenders}
    for round_number in range(rounds + 2):  # two warm-up rounds
        for name, cmd, cmd_env in contenders:
            cloud.reset()
            result = run_measured(cmd, cmd_env)
            result["requests"] = cloud.stats()["requests"]
            if round_number >= 2:
                runs[name].append(result)
    return {"commands": {name: " ".join(cmd) for name, cmd, _ in contenders},
            "runs": runs, "summary": summarise_runs(runs)}


# --- 1b. the floor: the same single request by curl --aws-sigv4 --------------------------------------

def floor(cloud, luaws, rounds, home):
    """One signed request per process, luaws against curl's built-in SigV4 (the floor a C client with
    no SDK reaches): KMS ListKeys (json protocol) and S3 ListObjectsV2 (rest-xml, path style)."""
    import boto3
    s3 = boto3.client("s3", endpoint_url=cloud.url, region_name="us-east-1",
                      aws_access_key_id=MANAGEMENT_KEY, aws_secret_access_key="bench-secret-not-checked")
    s3.create_bucket(Bucket="bench-floor")
    for i in range(3):
        s3.put_object(Bucket="bench-floor", Key="k%d" % i, Body=b"x")
    env = dict(static_env(home), AWS_ENDPOINT_URL=cloud.url)
    user = "%s:%s" % (MANAGEMENT_KEY, "bench-secret-not-checked")
    curl = shutil.which("curl")
    contenders = [
        ("luaws kms ListKeys", [luaws, "-e", 'aws.client("kms"):ListKeys{}'], env),
        ("curl --aws-sigv4 kms ListKeys", [curl, "-s", "-o", "/dev/null", "--aws-sigv4", "aws:amz:us-east-1:kms",
                                           "--user", user, "-H", "X-Amz-Target: TrentService.ListKeys",
                                           "-H", "Content-Type: application/x-amz-json-1.1", "-d", "{}",
                                           cloud.url + "/"], env),
        ("luaws s3 ListObjectsV2", [luaws, "-e", 'aws.client("s3"):ListObjectsV2{Bucket="bench-floor"}'], env),
        ("curl --aws-sigv4 s3 ListObjectsV2", [curl, "-s", "-o", "/dev/null", "--aws-sigv4", "aws:amz:us-east-1:s3",
                                               "--user", user, cloud.url + "/bench-floor?list-type=2"], env),
    ]
    runs = {name: [] for name, _, _ in contenders}
    for round_number in range(rounds + 2):  # two warm-up rounds
        for name, cmd, cmd_env in contenders:
            cloud.reset()
            result = run_measured(cmd, cmd_env)
            result["requests"] = cloud.stats()["requests"]
            if round_number >= 2:
                runs[name].append(result)
    out = {"commands": {name: " ".join(cmd) for name, cmd, _ in contenders}, "runs": runs,
           "summary": summarise_runs(runs), "instructions": instruction_counts(contenders)}
    return out


def instruction_counts(contenders):
    """{name: instructions} of one run of each command under valgrind's callgrind: unlike CPU
    time, the same on every run and every machine load ({} without valgrind)."""
    if shutil.which("valgrind") is None:
        return {}
    counts = {}
    for name, cmd, env in contenders:
        proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + cmd,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        match = re.search(r"Collected : (\d+)", proc.stderr)
        if proc.returncode == 0 and match:
            counts[name] = int(match.group(1))
    return counts


def summarise_runs(runs):
    out = {}
    for name, results in runs.items():
        out[name] = {key: summary(r[key] for r in results)
                     for key in results[0] if isinstance(results[0][key], (int, float))}
    return out


# --- 2. the flagship fix as a process -------------------------------------------------------------

class Seeder:
    """Fresh account ids for every seed, so no run finds another's work done."""

    def __init__(self, cloud, base=300000000000):
        self.cloud, self.next_account = cloud, base

    def seed(self, directory):
        source, target = str(self.next_account), str(self.next_account + 1)
        self.next_account += 2
        result = scenario.post(self.cloud.url, "/localcloud-api/seed",
                               {"source_account": source, "target_account": target})
        scenario.write_profiles(directory, result)
        return result


def flagship(cloud, luaws, rounds, home):
    seeder = Seeder(cloud)
    args = ["--source-profile", "source", "--target-profile", "target", "--asg-name", "web-asg"]
    contenders = [
        ("luaws, settle 0", [luaws, "run", "cross-account-ami-asg"] + args + ["--apply", "--output", "json"], "0"),
        ("boto3, settle 0", [sys.executable, os.path.join(HERE, "flagship_boto3.py")] + args, "0"),
        ("luaws, default settle 0.3 s", [luaws, "run", "cross-account-ami-asg"] + args + ["--apply", "--output", "json"],
         None),
        ("boto3, default settle 0.3 s", [sys.executable, os.path.join(HERE, "flagship_boto3.py")] + args, None),
    ]
    runs = {name: [] for name, _, _ in contenders}
    for round_number in range(rounds + 1):  # one warm-up round
        for name, cmd, settle in contenders:
            directory = tempfile.mkdtemp(prefix="flagship-", dir=home)
            seeder.seed(directory)
            env = base_env(home)
            env.update(AWS_CONFIG_FILE=os.path.join(directory, "config"),
                       AWS_SHARED_CREDENTIALS_FILE=os.path.join(directory, "credentials"),
                       AWS_ENDPOINT_URL=cloud.url, LUAWS_BACKUP_DIR=os.path.join(directory, "backups"))
            if settle is not None:
                env["LUAWS_POLICY_SETTLE"] = settle
            cloud.reset()
            output = os.path.join(directory, "stdout")
            result = run_measured(cmd, env, output)
            with open(output, encoding="utf-8") as f:
                text = f.read()
            # boto3 prints the line; luaws's JSON result names the grant it created.
            if "created and verified" not in text and '"grant_id":' not in text:
                raise SystemExit("bench: %s did not create the grant:\n%s" % (name, text))
            stats = cloud.stats()
            result.update(requests=stats["requests"], server_seconds=stats["server_seconds"],
                          app_seconds=stats["app_seconds"],
                          wall_over_server=result["wall"] / stats["server_seconds"])
            if round_number >= 1:
                runs[name].append(result)
            shutil.rmtree(directory, ignore_errors=True)
    return {"commands": {name: " ".join(cmd) for name, cmd, _ in contenders},
            "runs": runs, "summary": summarise_runs(runs)}


# --- 3. signing -----------------------------------------------------------------------------------

def signing(luaws):
    out = subprocess.run([sys.executable, os.path.join(HERE, "sign_bench.py"), "--luaws", luaws,
                          "--seconds", "1", "--rounds", "3"], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit("bench: sign_bench.py failed:\n" + out.stdout + out.stderr)
    rates = {}
    for line in out.stdout.splitlines():
        match = re.match(r"^(.+?)\s{2,}(\d+)\s+([\d.]+)$", line)
        if match:
            rates[match.group(1).strip()] = float(match.group(2))
    return {"command": "python3 bench/sign_bench.py --luaws %s --seconds 1 --rounds 3" % luaws,
            "output": out.stdout, "rates": rates}


# --- 4. fan-out -----------------------------------------------------------------------------------

def fanout_setup(cloud, accounts, home):
    """200 member accounts in one organization under the management account, and a key there
    whose policy lets the organization create grants (aws:PrincipalOrgID)."""
    import boto3
    members = [str(800000000000 + i) for i in range(accounts)]
    org = cloud.call("/localcloud-api/org", {"master": MANAGEMENT_ACCOUNT, "members": members})["OrganizationId"]
    kms = boto3.client("kms", endpoint_url=cloud.url, region_name="us-east-1",
                       aws_access_key_id=MANAGEMENT_KEY, aws_secret_access_key="bench-secret-not-checked")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Owner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % MANAGEMENT_ACCOUNT},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Organization", "Effect": "Allow", "Principal": {"AWS": "*"},
         "Action": ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": org}}}]}
    key_arn = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    path = os.path.join(home, "accounts.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(members) + "\n")
    return path, key_arn


def run_lua_json(cloud, cmd, env):
    cloud.reset()
    out_path = tempfile.mktemp(prefix="lua-out-")
    process = run_measured(cmd, env, out_path)
    with open(out_path, encoding="utf-8") as f:
        reported = json.loads(f.read())
    os.unlink(out_path)
    stats = cloud.stats()
    span = (stats["last_end"] - stats["first_start"]) if stats["requests"] else 0.0
    return {"process": process, "reported": reported, "server": {
        "requests": stats["requests"], "server_seconds": stats["server_seconds"],
        "per_second": stats["requests"] / span if span else 0.0, "max_inside": stats["max_inside"],
        "seconds_per_request": stats["server_seconds"] / max(1, stats["requests"]),
    }}


def fanout(cloud, luaws, rounds, accounts, home):
    accounts_path, key_arn = fanout_setup(cloud, accounts, home)
    env = dict(static_env(home), AWS_ENDPOINT_URL=cloud.url)
    capacity_calls = 1000
    cases = [
        ("capacity c=1 (GetCallerIdentity)", [luaws, os.path.join(HERE, "load.lua"), "300", "1"]),
        ("capacity c=16 (GetCallerIdentity)", [luaws, os.path.join(HERE, "load.lua"), str(capacity_calls), "16"]),
        ("capacity c=64 (GetCallerIdentity)", [luaws, os.path.join(HERE, "load.lua"), str(capacity_calls), "64"]),
        ("rollout, one account at a time", [luaws, os.path.join(HERE, "fanout.lua"), "sequential", accounts_path, key_arn]),
        ("rollout, aws.parallel (64 in flight)", [luaws, os.path.join(HERE, "fanout.lua"), "parallel", accounts_path, key_arn]),
    ]
    runs = {name: [] for name, _ in cases}
    for round_number in range(rounds + 1):  # one warm-up round
        for name, cmd in cases:
            result = run_lua_json(cloud, cmd, env)
            errors = result["reported"].get("errors", 0)
            if errors:
                raise SystemExit("bench: %s: %d errors, first: %s" % (name, errors, result["reported"].get("first_error")))
            if round_number >= 1:
                runs[name].append(result)
    out = {"commands": {name: " ".join(cmd) for name, cmd in cases}, "accounts": accounts, "runs": runs,
           "summary": {}}
    for name, results in runs.items():
        out["summary"][name] = {
            "server_per_second": summary(r["server"]["per_second"] for r in results),
            "client_per_second": summary(r["reported"]["per_second"] for r in results),
            "wall": summary(r["process"]["wall"] for r in results),
            "cpu": summary(r["process"]["cpu"] for r in results),
            "rss_mb": summary(r["process"]["rss_mb"] for r in results),
            "requests": summary(r["server"]["requests"] for r in results),
            "max_in_flight_seen": summary(r["reported"]["max_in_flight_seen"] for r in results),
            "max_inside_moto": summary(r["server"]["max_inside"] for r in results),
            "server_ms_per_request": summary(1000 * r["server"]["seconds_per_request"] for r in results),
        }
    # Capacity is moto's best rate with the trivial call, per round; the fan-out's fraction is
    # taken against the capacity measured in the same round.
    fractions = []
    for i in range(rounds):
        capacity = max(runs[name][i]["server"]["per_second"] for name, _ in cases if name.startswith("capacity"))
        fractions.append(runs["rollout, aws.parallel (64 in flight)"][i]["server"]["per_second"] / capacity)
    out["summary"]["fraction of capacity"] = summary(fractions)
    out["summary"]["capacity"] = summary(
        max(runs[name][i]["server"]["per_second"] for name, _ in cases if name.startswith("capacity"))
        for i in range(rounds))
    out["recipe"] = recipe_rollout(luaws, rounds, accounts, home)
    out["latency"] = latency_fanout(cloud, luaws, accounts_path, key_arn, env)
    return out


def recipe_rollout(luaws, rounds, accounts, home):
    """`luaws run org-grant-rollout --apply` over a freshly seeded organization of `accounts`
    members, with --concurrency 64 and 1 (no rate limit: --rate 10000). Each run gets a local
    cloud of its own: moto's and the extensions' time per request grows with the number of
    accounts the server holds (AssumeRole and CreateGrant about 2x slower after 800 more), so a
    shared server would penalise later runs. Capacity is measured on the same fresh server."""
    if not os.path.exists(os.path.join(ROOT, "recipes", "org-grant-rollout.lua")):
        return None
    cases = [("org-grant-rollout --concurrency 64", "64"), ("org-grant-rollout --concurrency 1", "1")]
    runs = {name: [] for name, _ in cases}
    management = 610000000000
    for _ in range(rounds):
        for name, concurrency in cases:
            management += 1000
            cloud = Cloud()
            seeded = cloud.call("/localcloud-api/org/seed", {
                "management_account": str(management), "member_base": management, "members": accounts,
                "asg_role": "all"})
            creds = seeded["credentials"]["management"]
            directory = tempfile.mkdtemp(prefix="org-", dir=home)
            with open(os.path.join(directory, "config"), "w", encoding="utf-8") as f:
                f.write("[profile management]\nregion = us-east-1\n")
            fd = os.open(os.path.join(directory, "credentials"), os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write("[management]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (
                    creds["access_key_id"], creds["secret_access_key"]))
            env = base_env(home)
            env.update(AWS_CONFIG_FILE=os.path.join(directory, "config"),
                       AWS_SHARED_CREDENTIALS_FILE=os.path.join(directory, "credentials"),
                       AWS_ENDPOINT_URL=cloud.url, LUAWS_BACKUP_DIR=os.path.join(directory, "backups"),
                       LUAWS_POLICY_SETTLE="0")
            cmd = [luaws, "run", "org-grant-rollout", "--profile", "management", "--key-id",
                   "alias/org-ami-key", "--apply", "--concurrency", concurrency, "--rate", "10000",
                   "--state-file", os.path.join(directory, "state.json")]
            try:
                capacity = run_lua_json(cloud, [luaws, os.path.join(HERE, "load.lua"), "600", "16"],
                                        dict(static_env(home), AWS_ENDPOINT_URL=cloud.url))
                cloud.reset()
                result = run_measured(cmd, env, os.path.join(directory, "stdout"))
                stats = cloud.stats()
            finally:
                cloud.stop()
            span = stats["last_end"] - stats["first_start"]
            result.update(requests=stats["requests"], server_per_second=stats["requests"] / span,
                          capacity=capacity["server"]["per_second"],
                          fraction=stats["requests"] / span / capacity["server"]["per_second"],
                          max_inside=stats["max_inside"], actions={k: v["count"] for k, v in stats["actions"].items()})
            runs[name].append(result)
            shutil.rmtree(directory, ignore_errors=True)
    summaries = {}
    for name, results in runs.items():
        summaries[name] = {key: summary(r[key] for r in results)
                           for key in ("wall", "cpu", "rss_mb", "requests", "server_per_second", "max_inside",
                                       "capacity", "fraction")}
    return {"command": "luaws run org-grant-rollout --profile management --key-id alias/org-ami-key --apply "
                       "--concurrency N --rate 10000 --state-file DIR/state.json",
            "runs": runs, "summary": summaries}


def latency_fanout(cloud, luaws, accounts_path, key_arn, env, latency=0.02):
    """The fan-out again with `latency` seconds added to every request inside the server (a
    stand-in for a real region's round trip), once each way: what concurrency buys off moto."""
    cloud.call("/bench-api/latency", {"seconds": latency})
    try:
        out = {"latency_seconds": latency}
        for mode in ("parallel", "sequential"):
            result = run_lua_json(cloud, [luaws, os.path.join(HERE, "fanout.lua"), mode, accounts_path, key_arn], env)
            if result["reported"].get("errors"):
                raise SystemExit("bench: latency fan-out: " + str(result["reported"].get("first_error")))
            out[mode] = {"wall": result["process"]["wall"], "cpu": result["process"]["cpu"],
                         "requests": result["server"]["requests"],
                         "max_in_flight_seen": result["reported"]["max_in_flight_seen"]}
        return out
    finally:
        cloud.call("/bench-api/latency", {"seconds": 0})


# --- 5. start-up ----------------------------------------------------------------------------------

def startup(luaws, rounds, home):
    env = base_env(home)
    cases = [("luaws -e ''", [luaws, "-e", ""]),
             ("luaws -e 'aws.client(\"kms\")'", [luaws, "-e", 'aws.client("kms", {credentials=false})']),
             ("python3 -c '' (for scale)", [sys.executable, "-c", ""])]
    runs = {name: [] for name, _ in cases}
    for round_number in range(rounds + 2):
        for name, cmd in cases:
            result = run_measured(cmd, env)
            if round_number >= 2:
                runs[name].append(result)
    return {"commands": {name: " ".join(cmd) for name, cmd in cases}, "runs": runs,
            "summary": summarise_runs(runs)}


# --- report ---------------------------------------------------------------------------------------

def report(results):
    lines = []
    add = lines.append
    m = results["machine"]
    add("## Machine\n")
    add("%d CPUs (%s), Linux %s, load average at start %.2f / %.2f / %.2f" % (
        m["nproc"], m["cpu"], m["kernel"], *m["load_average_at_start"]))
    add("")
    add("%s; %s; %s; Python %s, boto3 %s, botocore %s, moto %s" % (
        m["luaws"], m["aws_cli_v1"], m["aws_cli_v2"], m["python"], m["boto3"], m["botocore"], m["moto"]))
    add("")
    targets = []

    def process_table(section, extra=()):
        add("| contender | wall ms | user+sys CPU ms | peak RSS MB | requests |" +
            "".join(" %s |" % title for title, _, _ in extra))
        add("|---|---|---|---|---|" + "---|" * len(extra))
        for name, s in section["summary"].items():
            add("| %s | %s | %s | %s | %s |" % (name, fmt(s["wall"], 1000), fmt(s["cpu"], 1000),
                                              fmt(s["rss_mb"]), fmt(s["requests"], 1, 0)) +
                "".join(" %s |" % fmt(s[key], scale, 2) for _, key, scale in extra))
        add("")
        for name, cmd in section["commands"].items():
            add("* %s: `%s`" % (name, cmd))
        add("")

    if "one_call" in results:
        r = results["one_call"]
        add("## 1. One call as a process (kms ListKeys)\n")
        process_table(r)
        s = r["summary"]
        luaws_cpu = s["luaws -e (kms ListKeys)"]["cpu"]["median"]
        for name in s:
            if name.startswith("aws"):
                ratio = s[name]["cpu"]["median"] / luaws_cpu
                add("* CPU of %s / luaws: **%.1fx** (wall %.1fx, RSS %.1fx)" % (
                    name, ratio, s[name]["wall"]["median"] / s["luaws -e (kms ListKeys)"]["wall"]["median"],
                    s[name]["rss_mb"]["median"] / s["luaws -e (kms ListKeys)"]["rss_mb"]["median"]))
                targets.append(("one-call CPU <= 1/30 of %s" % name, ratio, ratio >= 30, "%.1fx" % ratio))
        add("")

    if "floor" in results:
        r = results["floor"]
        add("## 1b. The floor: the same request by curl --aws-sigv4\n")
        process_table(r)
        s = r["summary"]
        for service in ("kms ListKeys", "s3 ListObjectsV2"):
            ratio = s["luaws " + service]["cpu"]["median"] / s["curl --aws-sigv4 " + service]["cpu"]["median"]
            add("* CPU of luaws / curl, %s: **%.2fx** (wall %.2fx)" % (
                service, ratio, s["luaws " + service]["wall"]["median"] / s["curl --aws-sigv4 " + service]["wall"]["median"]))
            targets.append(("one call within 1.3x curl's CPU (%s)" % service, ratio, ratio <= 1.3, "%.2fx" % ratio))
        counts = r.get("instructions") or {}
        if counts:
            add("\nInstructions (callgrind, one run each; deterministic):\n")
            add("| contender | instructions (M) |")
            add("|---|---|")
            for name, n in counts.items():
                add("| %s | %.2f |" % (name, n / 1e6))
            for service in ("kms ListKeys", "s3 ListObjectsV2"):
                mine, theirs = counts.get("luaws " + service), counts.get("curl --aws-sigv4 " + service)
                if mine and theirs:
                    add("* instructions luaws / curl, %s: **%.2fx**" % (service, mine / theirs))
        add("")

    if "flagship" in results:
        r = results["flagship"]
        add("## 2. The flagship fix as a process (reseeded, fresh accounts every run)\n")
        process_table(r, extra=[("moto server ms", "server_seconds", 1000),
                                ("wall / server time", "wall_over_server", 1)])
        s = r["summary"]
        ratio = s["boto3, settle 0"]["cpu"]["median"] / s["luaws, settle 0"]["cpu"]["median"]
        add("* CPU boto3 / luaws (settle 0): **%.1fx**; wall %.2fx" % (
            ratio, s["boto3, settle 0"]["wall"]["median"] / s["luaws, settle 0"]["wall"]["median"]))
        targets.append(("flagship CPU <= 1/20 of boto3's", ratio, ratio >= 20, "%.1fx" % ratio))
        over = s["luaws, settle 0"]["wall_over_server"]["median"]
        targets.append(("flagship wall <= 1.5x moto's server time (settle 0)", over, over <= 1.5, "%.2fx" % over))
        rss = s["luaws, settle 0"]["rss_mb"]["max"]
        targets.append(("recipe run peak RSS < 15 MB", rss, rss < 15, "%.1f MB (max)" % rss))
        add("")

    if "signing" in results:
        r = results["signing"]
        add("## 3. Signing throughput\n")
        add("`%s`\n" % r["command"])
        add("```\n" + r["output"].rstrip() + "\n```\n")
        rates = r["rates"]
        fresh = rates.get("luaws sigv4.sign, new options table per call")
        boto = rates.get("botocore SigV4Auth")
        floor = rates.get("raw OpenSSL, digest HMAC, cached key")
        if fresh and boto and floor:
            targets.append(("signing >= 50x botocore", fresh / boto, fresh / boto >= 50, "%.1fx" % (fresh / boto)))
            targets.append(("signing within 2x of the raw floor", floor / fresh, floor / fresh <= 2,
                            "floor is %.2fx faster" % (floor / fresh)))

    if "fanout" in results:
        r = results["fanout"]
        add("## 4. Fan-out over %d accounts (AssumeRole + CreateGrant each)\n" % r["accounts"])
        add("| run | requests | moto req/s | client req/s | wall ms | CPU ms | RSS MB | in flight (max) | inside moto (max) | server ms/request |")
        add("|---|---|---|---|---|---|---|---|---|---|")
        for name, s in r["summary"].items():
            if "wall" not in s:  # the capacity and fraction summaries
                continue
            add("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                name, fmt(s["requests"], 1, 0), fmt(s["server_per_second"]), fmt(s["client_per_second"]),
                fmt(s["wall"], 1000, 0), fmt(s["cpu"], 1000), fmt(s["rss_mb"]), fmt(s["max_in_flight_seen"], 1, 0),
                fmt(s["max_inside_moto"], 1, 0), fmt(s["server_ms_per_request"], 1, 2)))
        add("")
        for name, cmd in r["commands"].items():
            add("* %s: `%s`" % (name, cmd))
        s = r["summary"]
        seq = s["rollout, one account at a time"]["wall"]["median"]
        par = s["rollout, aws.parallel (64 in flight)"]["wall"]["median"]
        fraction = s["fraction of capacity"]["median"]
        add("")
        add("* moto's capacity (best of the GetCallerIdentity runs per round): %s req/s" % fmt(s["capacity"]))
        add("* parallel vs one at a time: **%.2fx** faster (wall)" % (seq / par))
        add("* fan-out rate / moto's capacity (same round): **%.0f%%** %s" % (
            100 * fraction, fmt(s["fraction of capacity"], 100, 0)))
        recipe = r.get("recipe")
        if recipe:
            add("")
            add("The real recipe, `%s`, on a freshly seeded organization of %d members each run:\n" % (
                recipe["command"], r["accounts"]))
            add("| run | requests | moto req/s | capacity req/s | fraction | wall ms | CPU ms | RSS MB | inside moto (max) |")
            add("|---|---|---|---|---|---|---|---|---|")
            for name, rs in recipe["summary"].items():
                add("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    name, fmt(rs["requests"], 1, 0), fmt(rs["server_per_second"]), fmt(rs["capacity"]),
                    fmt(rs["fraction"], 100, 0) + "%", fmt(rs["wall"], 1000, 0),
                    fmt(rs["cpu"], 1000, 0), fmt(rs["rss_mb"]), fmt(rs["max_inside"], 1, 0)))
            add("")
            first = next(iter(recipe["runs"].values()))[0]
            add("* requests per action (one run): %s" % ", ".join(
                "%s %d" % (k, v) for k, v in sorted(first["actions"].items())))
            rs = recipe["summary"]
            c64 = rs["org-grant-rollout --concurrency 64"]
            c1 = rs["org-grant-rollout --concurrency 1"]
            recipe_fraction = c64["fraction"]["median"]
            add("* concurrency 64 vs 1: **%.2fx** faster (wall); moto rate / capacity (fresh server): **%.0f%%**" % (
                c1["wall"]["median"] / c64["wall"]["median"], 100 * recipe_fraction))
            targets.append(("fan-out >= 80% of capacity: org-grant-rollout recipe (raw)", recipe_fraction,
                            recipe_fraction >= 0.8, "%.0f%%" % (100 * recipe_fraction)))
        lat = r.get("latency")
        if lat:
            add("* with %.0f ms added to every request inside moto (a stand-in for a region's round trip): "
                "parallel %.2f s (%d in flight) vs one at a time %.2f s: **%.1fx**" % (
                    1000 * lat["latency_seconds"], lat["parallel"]["wall"], lat["parallel"]["max_in_flight_seen"],
                    lat["sequential"]["wall"], lat["sequential"]["wall"] / lat["parallel"]["wall"]))
        targets.append(("fan-out >= 80% of moto's capacity (raw)", fraction, fraction >= 0.8, "%.0f%%" % (100 * fraction)))
        add("")

    if "startup" in results:
        r = results["startup"]
        add("## 5. Start-up and memory\n")
        add("| command | wall ms | user+sys CPU ms | peak RSS MB |")
        add("|---|---|---|---|")
        for name, s in r["summary"].items():
            add("| %s | %s | %s | %s |" % (name, fmt(s["wall"], 1000, 2), fmt(s["cpu"], 1000, 2), fmt(s["rss_mb"])))
        add("")

    add("## Targets\n")
    add("| target | measured | met |")
    add("|---|---|---|")
    for name, _, ok, text in targets:
        add("| %s | %s | %s |" % (name, text, "yes" if ok else "**no**"))
    add("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--luaws", default=os.path.join(ROOT, "build-bench", "luaws"))
    parser.add_argument("--rounds", type=int, default=10, help="measured rounds (after warm-up)")
    parser.add_argument("--fanout-rounds", type=int, default=3)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--only", default="one_call,floor,flagship,signing,fanout,startup")
    parser.add_argument("--out", help="directory for report.md and results.json")
    args = parser.parse_args()

    luaws = os.path.abspath(args.luaws)
    aws_v1 = shutil.which("aws", path=os.path.dirname(sys.executable))  # the pip CLI beside boto3
    aws_v2 = "/usr/bin/aws" if os.access("/usr/bin/aws", os.X_OK) else None
    only = set(args.only.split(","))
    home = tempfile.mkdtemp(prefix="luaws-bench-")
    build_measure(home)
    results = {"machine": machine(luaws, aws_v1, aws_v2)}
    cloud = Cloud()
    try:
        if "one_call" in only:
            results["one_call"] = one_call(cloud, luaws, aws_v1, aws_v2, args.rounds, home)
        if "floor" in only:
            results["floor"] = floor(cloud, luaws, args.rounds * 2, home)
        if "flagship" in only:
            results["flagship"] = flagship(cloud, luaws, max(3, args.rounds * 7 // 10), home)
        if "fanout" in only:
            results["fanout"] = fanout(cloud, luaws, args.fanout_rounds, args.accounts, home)
    finally:
        cloud.stop()
    if "signing" in only:
        results["signing"] = signing(luaws)
    if "startup" in only:
        results["startup"] = startup(luaws, args.rounds * 2, home)
    shutil.rmtree(home, ignore_errors=True)
    text = report(results)
    print(text)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "report.md"), "w", encoding="utf-8") as f:
            f.write(text)
        with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
