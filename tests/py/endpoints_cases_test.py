#!/usr/bin/env python3
"""endpoints_cases_test: botocore's own endpoint rule-set test cases, run by luaws's engine.

Reads every endpoint-tests-1.json found in the installed botocore's data folder
(data/<service>/<version>/) and, when ENDPOINT_TESTS_DIR is set, under that folder
(a botocore checkout's tests/functional/endpoint-rules/<service>/endpoint-tests-1.json). A case
counts only when the installed botocore's EndpointProvider still meets its expectation (test files
from another botocore version may describe other rule sets); then luaws's URL, headers and
properties, or its error message, must equal the expectation. Skips when no file is found.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

try:
    import botocore
    import botocore.loaders
    from botocore.endpoint_provider import EndpointProvider
except ImportError:
    print("skip: botocore is not installed")
    print("0 passed, 0 failed, 1 skipped")
    sys.exit(0)

SOURCE_DIR = os.environ.get("LUAWS_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
LUAWS_BIN = os.environ.get("LUAWS_BIN", os.path.join(SOURCE_DIR, "build", "luaws"))
RUNNER = os.path.join(SOURCE_DIR, "tests", "support", "endpoints_cases.lua")


def test_files():
    data = os.path.join(os.path.dirname(botocore.__file__), "data")
    found = {}
    for path in glob.glob(os.path.join(data, "*", "*", "endpoint-tests-1.json")):
        found[path.split(os.sep)[-3]] = path
    extra = os.environ.get("ENDPOINT_TESTS_DIR")
    if extra:
        for path in glob.glob(os.path.join(extra, "*", "endpoint-tests-1.json")):
            found.setdefault(path.split(os.sep)[-2], path)
    return found


def expected_of(case):
    expect = case.get("expect", {})
    if "error" in expect:
        return {"error": expect["error"]}
    ep = expect.get("endpoint", {})
    out = {"url": ep.get("url")}
    if ep.get("properties"):
        out["properties"] = ep["properties"]
    if ep.get("headers"):
        out["headers"] = ep["headers"]
    return out


def main():
    files = test_files()
    if not files:
        print("skip: no endpoint-tests-1.json in botocore %s's data (set ENDPOINT_TESTS_DIR to a "
              "botocore checkout's tests/functional/endpoint-rules)" % botocore.__version__)
        print("0 passed, 0 failed, 1 skipped")
        return 0
    loader = botocore.loaders.Loader()
    partitions = loader.load_data("partitions")
    spec, expected, stale = {}, {}, 0
    for name, path in sorted(files.items()):
        try:
            ruleset = loader.load_service_model(name, "endpoint-rule-set-1")
        except Exception:
            continue
        provider = EndpointProvider(ruleset, partitions)
        with open(path) as f:
            cases = json.load(f).get("testCases", [])
        kept = []
        for case in cases:
            params = case.get("params", {})
            want = expected_of(case)
            try:
                got = provider.resolve_endpoint(**params)
                mine = {"url": got.url}
                if got.properties:
                    mine["properties"] = got.properties
                if got.headers:
                    mine["headers"] = got.headers
            except Exception as e:
                mine = {"error": getattr(e, "kwargs", {}).get("msg", str(e))}
            if mine.get("url") != want.get("url") or mine.get("error") != want.get("error"):
                stale += 1
                continue
            kept.append((params, want, case.get("documentation", "")))
        if kept:
            spec[name] = {"ruleset": ruleset, "cases": [p for p, _, _ in kept]}
            expected[name] = kept
    with tempfile.TemporaryDirectory() as tmp:
        in_path, out_path = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.json")
        with open(in_path, "w") as f:
            json.dump(spec, f)
        proc = subprocess.run([LUAWS_BIN, RUNNER, in_path, out_path], capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stdout + proc.stderr)
            print("0 passed, 1 failed")
            return 1
        with open(out_path) as f:
            got = json.load(f)
    passed, failures = 0, []
    for name, kept in expected.items():
        for (params, want, doc), have in zip(kept, got[name]):
            if "error" in want:
                ok = have.get("error") == want["error"]
            else:
                ok = all(have.get(k) == want[k] for k in want)
            if ok:
                passed += 1
            else:
                failures.append("%s %s (%s): want %s, got %s" % (name, json.dumps(params), doc,
                                                                 json.dumps(want), json.dumps(have)))
    print("%d services, %d cases (%d skipped: the installed botocore disagrees with the file)" % (
        len(expected), passed + len(failures), stale))
    for line in failures[:30]:
        print("MISMATCH " + line)
    print("%d passed, %d failed" % (passed, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
