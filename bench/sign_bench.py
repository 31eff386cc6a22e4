#!/usr/bin/env python3
"""sign_bench: SigV4 signatures per second: luaws through Lua vs botocore vs raw OpenSSL loops.

usage: python3 bench/sign_bench.py [--luaws build/luaws] [--seconds 1.0] [--rounds 3]

All three sign the same KMS ListKeys request at a fixed time and must produce the same
signature. Each contender runs `rounds` times, interleaved, and keeps its best round, so that a
busy machine skews the ratios as little as possible.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
WHEN = datetime.datetime(2015, 8, 30, 12, 36, 0)


def botocore_rate(seconds):
    """Signs a fresh AWSRequest each time (add_auth mutates it), as a botocore client does."""
    auth = SigV4Auth(Credentials("AKIDEXAMPLE", SECRET), "kms", "us-east-1")
    calls = 0
    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN):
        start = time.perf_counter()
        while True:
            for _ in range(200):
                request = AWSRequest(
                    method="POST", url="https://kms.us-east-1.amazonaws.com/", data=b"{}",
                    headers={"Content-Type": "application/x-amz-json-1.1",
                             "X-Amz-Target": "TrentService.ListKeys"})
                auth.add_auth(request)
            calls += 200
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
    signature = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    return calls / elapsed, signature


def luaws_rates(luaws, seconds):
    out = subprocess.run([luaws, os.path.join(HERE, "sign_bench.lua"), str(seconds)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def build_raw(tmp):
    exe = os.path.join(tmp, "raw_sign")
    mech = os.path.join(ROOT, "src", "mech")
    signer = sorted(os.path.join(mech, f) for f in os.listdir(mech) if f.startswith("sigv4") and f.endswith(".c"))
    subprocess.run(["cc", "-O2", "-iquote", mech, "-o", exe, os.path.join(HERE, "raw_sign.c"), *signer, "-lcrypto"],
                   check=True)
    return exe


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--luaws", default=os.path.join(ROOT, "build", "luaws"))
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    best = {}

    def keep(name, value):
        best[name] = max(best.get(name, 0.0), value)

    signatures = set()
    with tempfile.TemporaryDirectory() as tmp:
        raw = build_raw(tmp)
        for _ in range(args.rounds):
            rate, signature = botocore_rate(args.seconds)
            keep("botocore SigV4Auth", rate)
            signatures.add(("botocore", signature))

            lua = luaws_rates(args.luaws, args.seconds)
            keep("luaws sigv4.sign, new options table per call", lua["fresh_table_per_second"])
            keep("luaws sigv4.sign, same options table", lua["reused_table_per_second"])
            signatures.add(("luaws", lua["signature"]))

            canonical_path = os.path.join(tmp, "canonical")
            sts_path = os.path.join(tmp, "sts")
            with open(canonical_path, "w") as f:
                f.write(lua["canonical_request"])
            with open(sts_path, "w") as f:
                f.write(lua["string_to_sign"])
            out = subprocess.run([raw, canonical_path, sts_path, "{}", str(args.seconds / 3)],
                                 check=True, capture_output=True, text=True).stdout
            r = json.loads(out)
            keep("raw OpenSSL, digest HMAC, cached key", r["digest_hmac_cached_key"])
            keep("raw OpenSSL, EVP_MAC HMAC, cached key", r["mac_hmac_cached_key"])
            keep("raw OpenSSL, EVP_MAC HMAC, key derived each time", r["mac_hmac_derived_key"])
            keep("luaws C signer alone (luaws_sigv4_sign, no Lua)", r["c_signer"])
            signatures.add(("raw", r["signature"]))
            if not r["same"]:
                print("raw loops disagree on the signature", file=sys.stderr)
                return 1

    if len({s for _, s in signatures}) != 1:
        print("signatures differ: %s" % sorted(signatures), file=sys.stderr)
        return 1

    botocore = best["botocore SigV4Auth"]
    fresh = best["luaws sigv4.sign, new options table per call"]
    raw_floor = best["raw OpenSSL, digest HMAC, cached key"]
    print("%-50s %12s %10s" % ("signer (best of %d rounds)" % args.rounds, "sig/s", "x botocore"))
    for name, rate in best.items():
        print("%-50s %12.0f %10.1f" % (name, rate, rate / botocore))
    print()
    print("luaws (new table per call) vs botocore:          %.1fx faster" % (fresh / botocore))
    c_signer = best["luaws C signer alone (luaws_sigv4_sign, no Lua)"]
    print("raw OpenSSL (same hashing) vs luaws through Lua: %.2fx faster" % (raw_floor / fresh))
    print("raw OpenSSL (same hashing) vs luaws C signer:    %.2fx faster" % (raw_floor / c_signer))
    print("signature (all agree): %s" % signatures.pop()[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
