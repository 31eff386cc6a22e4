#!/usr/bin/env python3
"""valgrind_flagship_test: the flagship recipe's plan and --apply under memcheck: no errors, no leaks.

Runs in the release build; the sanitizer build (which valgrind cannot run) skips it and runs every
other test under ASan/UBSan instead.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("LUAWS_SOURCE_DIR", "."), "localcloud"))

import scenario  # noqa: E402
import testkit  # noqa: E402

LUAWS = os.environ.get("LUAWS_BIN", "build/luaws")

if os.environ.get("LUAWS_SANITIZE") == "1":
    print("skip: the sanitizer build cannot run under valgrind; the release build runs this")
    print("0 passed, 0 failed, 1 skipped")
    sys.exit(0)

checks = testkit.Checks()
cloud = testkit.Cloud()
summary = cloud.seed(source_account="931111111111", target_account="932222222222")
directory = testkit.temp_dir()
config, credentials = scenario.write_profiles(directory, dict(summary, credentials=cloud.credentials))
cloud.set_auth(0)
env = dict(os.environ, AWS_CONFIG_FILE=config, AWS_SHARED_CREDENTIALS_FILE=credentials, HOME=directory,
           AWS_ENDPOINT_URL=cloud.url, LUAWS_BACKUP_DIR=os.path.join(directory, "backups"),
           LUAWS_POLICY_SETTLE="0")
for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    env.pop(name, None)


def memcheck(*args):
    log = os.path.join(directory, "valgrind.log")
    command = ["valgrind", "--quiet", "--leak-check=full", "--show-leak-kinds=definite,indirect",
               "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=9", "--log-file=" + log,
               LUAWS, "run", "cross-account-ami-asg", "--source-profile", "source", "--target-profile",
               "target", "--asg-name", summary["group_name"], *args]
    process = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    with open(log, encoding="utf-8") as f:
        return process, f.read()


for label, extra in (("plan", []), ("--apply", ["--apply"]), ("a failing run (unknown AMI)",
                                                             ["--image-id", "ami-0000000000000000f"])):
    @checks.case(f"flagship {label} under memcheck: no invalid access, no leak")
    def _(extra=extra, label=label):
        process, report = memcheck(*extra)
        expected = 1 if "failing" in label else 0
        assert process.returncode == expected, f"exit {process.returncode}\n{report}\n{process.stderr[-1500:]}"
        assert report.strip() == "", report


cloud.stop()
sys.exit(checks.done())
