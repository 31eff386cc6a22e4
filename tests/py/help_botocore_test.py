#!/usr/bin/env python3
"""help_botocore_test: `luaws help SERVICE OPERATION` agrees with botocore's model (the oracle) for
one operation per protocol: every parameter listed, * exactly on the required ones, the type of
each (string, list of X, map of K to V, structure Name), nested members of structures with their
own required marks, enum values where shown, and, when the docs are installed, the first sentence
of the operation's and each member's documentation. Uses the services built in; an operation of
a protocol none of them speaks is skipped and named (at least three protocols must be covered)."""
import html
import os
import re
import subprocess
import sys

import botocore.session

BIN = os.path.realpath(os.environ.get("LUAWS_BIN", "build/luaws"))

# Per protocol, operations to try in order (the first whose service is built in is checked).
CANDIDATES = {
    "json": [("kms", "CreateGrant"), ("dynamodb", "PutItem")],
    "query": [("sts", "AssumeRole"), ("iam", "CreateRole"), ("autoscaling", "CreateAutoScalingGroup")],
    "ec2": [("ec2", "CreateVolume")],
    "rest-xml": [("s3", "PutObject"), ("route53", "ChangeResourceRecordSets")],
    "rest-json": [("lambda", "CreateFunction"), ("apigateway", "CreateRestApi")],
    "smithy-rpc-v2-cbor": [("cloudwatch", "PutMetricAlarm")],
}

SCALARS = {"string", "integer", "long", "boolean", "float", "double", "timestamp", "blob"}

passed = failed = 0
session = botocore.session.get_session()


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print("ok  ", name, flush=True)
    except Exception as e:  # noqa: BLE001 - any failure counts
        failed += 1
        print("FAIL", name + ":", e, flush=True)


def luaws(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)


def short_type(shape):
    if shape.type_name == "structure":
        return shape.name
    if shape.type_name in ("list", "map"):
        return describe(shape)
    return shape.type_name


def describe(shape):
    t = shape.type_name
    if t == "list":
        return "list of " + short_type(shape.member)
    if t == "map":
        return "map of %s to %s" % (short_type(shape.key), short_type(shape.value))
    if t == "structure":
        return "structure " + shape.name
    return t


def plain(doc):
    text = html.unescape(re.sub(r"<[^>]+>", " ", doc or ""))
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


def parse_members(lines, depth):
    """Rows at exactly `depth` (2 spaces each) under the heading: name -> (required, rest)."""
    rows = {}
    indent = "  " * depth
    for line in lines:
        if line.startswith(indent) and not line.startswith(indent + " "):
            m = re.match(r"^(\w+)(\*?)\s+(.*)$", line[len(indent):])
            if m:
                rows[m.group(1)] = (m.group(2) == "*", m.group(3))
    return rows


def section(text, heading):
    lines = text.split("\n")
    start = lines.index(heading) + 1
    out = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        out.append(line)
    return out


def block_of(lines, name, depth):
    """The lines nested under member `name` at `depth`."""
    indent = "  " * depth
    out, inside = [], False
    for line in lines:
        if re.match(r"^%s%s\*?\s" % (indent, name), line):
            inside = True
            continue
        if inside:
            if line.startswith(indent) and not line.startswith(indent + " "):
                break
            out.append(line)
    return out


def check_operation(service, op_name):
    model = session.get_service_model(service)
    op = model.operation_model(op_name)
    r = luaws("help", service, op_name)
    assert r.returncode == 0, r.stderr
    text = r.stdout
    has_docs = "(no documentation installed" not in text
    first = text.split("\n")[0]
    assert first.startswith("%s %s" % (service, op_name)), first
    if has_docs:
        sentence = first.split(": ", 1)[1].rstrip(".").rstrip("...")
        assert sentence[:60] in plain(op.documentation), "%r not in the op's docs" % sentence
    shape = op.input_shape
    lines = section(text, "Parameters (* required):")
    rows = parse_members(lines, 1)
    assert set(rows) == set(shape.members), "members differ: luaws %s, botocore %s" % (
        sorted(set(rows) ^ set(shape.members)), "")
    required = set(shape.required_members)
    enums_shown = enums_total = 0
    for name, member in shape.members.items():
        req, rest = rows[name]
        assert req == (name in required), "%s: required mark %s, botocore %s" % (name, req, name in required)
        want = describe(member)
        assert rest.startswith(want), "%s: type %r, want %r" % (name, rest, want)
        if has_docs and member.documentation:
            doc = rest[len(want):].strip()
            assert doc, "%s: no first sentence" % name
            assert doc.rstrip(".").rstrip("...")[:50] in plain(member.documentation), "%s: %r" % (name, doc)
        enum = getattr(member, "enum", None) or (member.type_name == "list" and getattr(member.member, "enum", None))
        if enum:
            enums_total += 1
            block = " ".join(block_of(lines, name, 1))
            if "one of:" in block:
                enums_shown += 1
                shown = re.search(r"one of: ([^;]*)", block).group(1)
                shown = [v.strip() for v in shown.split(",") if v.strip() and not v.strip().startswith("...")]
                assert shown == list(enum)[:len(shown)], "%s: enum %r, botocore %r" % (name, shown, enum)
        # Nesting: a structure member (or a list of structures) shows its members one level in.
        inner = member
        if inner.type_name == "list":
            inner = inner.member
        if inner.type_name == "structure" and inner.members:
            nested = parse_members(block_of(lines, name, 1), 2)
            assert set(nested) == set(inner.members), "%s: nested %r vs %r" % (
                name, sorted(nested), sorted(inner.members))
            for n2 in inner.members:
                assert nested[n2][0] == (n2 in inner.required_members), "%s.%s required mark" % (name, n2)
    if has_docs:
        # The docs name each member's enum-bearing shape (targets), so every enum shows.
        assert enums_shown == enums_total, "enum values shown for %d of %d parameters" % (
            enums_shown, enums_total)
    return enums_shown, enums_total, has_docs


def main():
    built_in = set(luaws("-e", 'for _, n in ipairs(require("luaws.sdk.help").services()) do print(n) end')
                   .stdout.split())
    covered = []
    for protocol, candidates in CANDIDATES.items():
        pick = next(((s, o) for s, o in candidates if s in built_in), None)
        if not pick:
            print("skip %s: none of %s built in" % (protocol, ", ".join(s for s, _ in candidates)), flush=True)
            continue
        covered.append(protocol)
        service, op = pick
        result = {}

        def one():
            result["r"] = check_operation(service, op)
        check("%s (%s): luaws help %s %s matches botocore" % (protocol, service, service, op), one)
        if "r" in result:
            shown, total, docs = result["r"]
            print("     enums shown for %d of %d enum parameters; docs %s" % (
                shown, total, "installed" if docs else "not installed"), flush=True)

    def enough():
        assert len(covered) >= 3, "only %s covered" % covered
    check("at least three protocols covered (%d: %s)" % (len(covered), ", ".join(covered)), enough)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
