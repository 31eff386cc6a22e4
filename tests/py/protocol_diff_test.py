#!/usr/bin/env python3
"""protocol_diff_test: random operations of every botocore service, luaws against botocore.

For every service botocore knows (seeded, a few operations each): random valid parameters
serialise to the same request (method, path, query as a set, headers, body compared as JSON, XML
tree, form pairs or CBOR value), random output values written as that protocol's response parse
to the same result, and a modeled error response gives the same code and error fields. Counts per
protocol are printed; a protocol luaws does not implement yet is reported, not failed, unless
PROTOCOL_DIFF_STRICT=1. The shipped models are used when they cover botocore's services (and
were made from the installed botocore); otherwise they are generated once per botocore version
and generator into build/protocol-diff-models (never committed).
"""
import os
import random
import subprocess
import sys
import tempfile
import time

try:
    import botocore
    import botocore.session
except ImportError:
    print("skip: botocore is not installed")
    sys.exit(0)

SOURCE_DIR = os.environ.get("LUAWS_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "support"))
import protocol_diff as pd  # noqa: E402

LUAWS_BIN = os.environ.get("LUAWS_BIN", os.path.join(SOURCE_DIR, "build", "luaws"))
SEED = int(os.environ.get("PROTOCOL_DIFF_SEED", "20261206"))
REQUESTS, RESPONSES, ERRORS = 4, 3, 2  # per service, times the protocol's weight:
WEIGHT = {"rest-xml": 12, "ec2": 30, "query": 3}  # few services speak these: sample them deeper
DRIVER = os.path.join(SOURCE_DIR, "tests", "support", "protocol_diff_driver.lua")


def shipped_models_cover(services):
    """True when lua/luaws/sdk/services holds every service, made from this botocore version."""
    folder = os.path.join(SOURCE_DIR, "lua", "luaws", "sdk", "services")
    try:
        with open(os.path.join(folder, "kms.lua"), encoding="utf-8") as f:
            if "from botocore %s;" % botocore.__version__ not in f.readline():
                return False
    except OSError:
        return False
    return all(os.path.exists(os.path.join(folder, name + ".lua")) for name in services)


def models_dir(services):
    """A folder for LUAWS_PATH holding luaws/sdk/services/<name>.lua for every service: the
    shipped models when they cover botocore's services, else generated once into the build."""
    if shipped_models_cover(services):
        return None
    gen = os.path.join(SOURCE_DIR, "tools", "gen_services.py")
    build = os.path.dirname(LUAWS_BIN) if os.path.isabs(LUAWS_BIN) else os.path.join(SOURCE_DIR, "build")
    root = os.path.join(build, "protocol-diff-models", "%s-%s" % (botocore.__version__, pd.digest(gen)))
    out = os.path.join(root, "luaws", "sdk", "services")
    stamp = os.path.join(root, "complete")
    if not os.path.exists(stamp):
        os.makedirs(out, exist_ok=True)
        subprocess.run([sys.executable, gen, "--out", out] + services, check=True, stdout=subprocess.DEVNULL)
        open(stamp, "w").close()
    return root


def plans(session, services):
    """(service, protocol, weight): botocore's choice for every service, plus a lighter pass in
    each other protocol a service lists (smithy-rpc-v2-cbor is never botocore's first choice)."""
    out = []
    for name in services:
        sm = session.get_service_model(name)
        chosen = pd.resolve_protocol(sm)
        out.append((name, chosen, WEIGHT.get(chosen, 1), False))
        for other in sm.metadata.get("protocols", []):
            if other != chosen and other in pd.PROTOCOLS:
                out.append((name, other, 1, True))
    return out


def build_cases(session, services, rng):
    cases, expected = [], []
    skipped = {"eventstream": 0, "botocore-refused": 0}
    for name, protocol, weight, forced in plans(session, services):
        sm = session.get_service_model(name)
        ops = sorted(sm.operation_names)
        first = len(cases)
        for op_name in rng.sample(ops, min(REQUESTS * weight, len(ops))):
            op = sm.operation_model(op_name)
            if op.has_event_stream_input:
                skipped["eventstream"] += 1
                continue
            params = pd.ValueGen(rng, "request", protocol).value(op.input_shape) if op.input_shape else {}
            try:
                theirs = pd.botocore_request(protocol, op, params)
            except Exception:  # noqa: BLE001 - botocore itself refuses some random values
                skipped["botocore-refused"] += 1
                continue
            cases.append({"kind": "request", "service": name, "operation": op_name,
                          "params": pd.to_wire_json(params)})
            expected.append((protocol, op, theirs))
        with_output = [o for o in ops if sm.operation_model(o).output_shape is not None
                       and not sm.operation_model(o).has_event_stream_output]
        for op_name in rng.sample(with_output, min(RESPONSES * weight, len(with_output))):
            op = sm.operation_model(op_name)
            value = pd.ValueGen(rng, "response", protocol).value(op.output_shape)
            try:
                response = pd.botocore_response(protocol, op, value, sm)
                theirs = pd.botocore_parse(protocol, op, response, sm)
            except Exception:  # noqa: BLE001
                skipped["botocore-refused"] += 1
                continue
            cases.append(response_case("response", name, op_name, response))
            expected.append((protocol, op, theirs))
        with_errors = [o for o in ops if sm.operation_model(o).error_shapes]
        unmodeled = not with_errors  # ec2 models no errors: an undeclared code must still come through
        for op_name in rng.sample(with_errors or ops, min(ERRORS * weight, len(with_errors or ops))):
            op = sm.operation_model(op_name)
            shape = None if unmodeled else rng.choice(op.error_shapes)
            code = "InvalidParameterValue.Luaws" if unmodeled else (shape.error_code or shape.name)
            value = {} if unmodeled else pd.ValueGen(rng, "response", protocol).value(shape)
            status = 400 if unmodeled else shape.metadata.get("error", {}).get("httpStatusCode", 400)
            try:
                response = pd.botocore_error_response(protocol, sm, code, shape, value, status)
                theirs = pd.botocore_parse(protocol, op, response, sm, error=True)
            except Exception:  # noqa: BLE001
                skipped["botocore-refused"] += 1
                continue
            cases.append(response_case("error", name, op_name, response))
            expected.append((protocol, op, theirs))
        if forced:
            for case in cases[first:]:
                case["protocol"] = protocol
    return cases, expected, skipped


def response_case(kind, service, op_name, response):
    import base64
    return {"kind": kind, "service": service, "operation": op_name, "status": response["status_code"],
            "headers": response["headers"], "body_b64": base64.b64encode(response["body"]).decode()}


def compare(case, ours, protocol, op, theirs):
    if case["kind"] == "request":
        return pd.compare_request(protocol, op, ours, theirs)
    diffs = []
    if case["kind"] == "response":
        pd.compare_value(op.output_shape, theirs, ours["result"], op.name, diffs)
        return diffs
    if ours["code"] != theirs["code"]:
        diffs.append("code %r != %r" % (ours["code"], theirs["code"]))
    shape = op.service_model.shape_for_error_code(theirs["code"])
    if shape is not None:
        pd.compare_value(shape, theirs["fields"], ours.get("fields") or {}, "fields", diffs)
    return diffs


def main():
    started = time.time()
    session = botocore.session.get_session()
    services = sorted(session.get_available_services())
    rng = random.Random(SEED)
    root = models_dir(services)
    cases, expected, skipped = build_cases(session, services, rng)
    env = dict(os.environ, LUAWS_PATH=root) if root else dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        answers = pd.run_luaws(LUAWS_BIN, DRIVER, cases, env, tmp)
    counts, failures, unsupported = {}, [], set()
    covered = set()
    for case, ours, (protocol, op, theirs) in zip(cases, answers, expected):
        row = counts.setdefault(protocol, {"services": set(), "request": [0, 0], "response": [0, 0],
                                           "error": [0, 0], "unsupported": 0})
        row["services"].add(case["service"])
        covered.add(case["service"])
        if not ours.get("ok"):
            if ours.get("code") == "UnsupportedProtocol":
                row["unsupported"] += 1
                unsupported.add(protocol)
                continue
            diffs = ["luaws raised %s: %s" % (ours.get("code"), ours.get("message"))]
        else:
            diffs = compare(case, ours, protocol, op, theirs)
        row[case["kind"]][1] += 1
        if diffs:
            failures.append("%s %s %s (%s): %s" % (case["kind"], case["service"], case["operation"], protocol,
                                                   "; ".join(diffs)[:4000]))
        else:
            row[case["kind"]][0] += 1
    for protocol in pd.PROTOCOLS:
        row = counts.get(protocol)
        if not row:
            print("%-20s no services" % protocol)
            continue
        print("%-20s services %3d  requests %4d/%-4d responses %4d/%-4d errors %4d/%-4d unsupported %d" % (
            protocol, len(row["services"]), row["request"][0], row["request"][1], row["response"][0],
            row["response"][1], row["error"][0], row["error"][1], row["unsupported"]))
    print("services covered %d of %d; cases %d; skipped %s; %.1f s" % (
        len(covered), len(services), len(cases), skipped, time.time() - started))
    for line in failures[:40]:
        print("MISMATCH " + line)
    if unsupported:
        print("not implemented in luaws yet: " + ", ".join(sorted(unsupported)))
    ok = not failures and len(covered) == len(services)
    if os.environ.get("PROTOCOL_DIFF_STRICT") == "1" and unsupported:
        ok = False
    print("%d mismatches" % len(failures))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
