#!/usr/bin/env python3
"""gen_services.py: turns botocore's service definitions into compact Lua data under lua/luaws/sdk/services.

Usage: tools/gen_services.py [--out DIR] [SERVICE ...]
       (default services: the ones luaws needs; add e.g. s3, ssm, sso-oidc by naming them)

Each service becomes lua/luaws/sdk/services/<name>.lua returning one table:

  metadata   = {protocol=, apiVersion=, endpointPrefix=, signingName=, serviceId=, targetPrefix=,
                jsonVersion=, globalEndpoint=, partitionEndpoints={<partition>={hostname=, region=}}, ...}
  operations = {<Op>={input=, output=, result_wrapper=, errors={...}, idempotency_tokens={...},
                      http={method=, path=, status=} (only when not POST /), deprecated=true,
                      auth="none" (unsigned calls)}}
  shapes     = {<Name>=[[{type="structure", members={{"Member", <target>, <traits>}, ...}, required={...},
                        exception=true, error={code=, status=, sender=}}]]
                <Name>=[[{type="list", member={<target>, <traits>}}]]
                <Name>=[[{type="map", key={<target>, <traits>}, value={<target>, <traits>}}]]}
  paginators = {<Op>={input_token=, output_token=, more_results=, limit_key=, result_key=}}

Scalar shapes are inlined: a reference names its primitive type ("string", "integer", "boolean",
"long", "float", "double", "timestamp", "blob") instead of a shape. A reference carries the
serialisation traits botocore would see on the resolved member shape (shape traits overlaid by the
member's): locationName, queryName, flattened, xmlNamespace, xmlAttribute, timestampFormat,
location, idempotencyToken, sensitive, jsonvalue, .... Documentation, enums and length limits are
dropped. Each shape is stored as the text of its Lua constructor, decoded on first use by
luaws.model: ec2 has ~3,000 shapes and a call touches a few dozen, so loading strings is ~3x faster
and takes ~2.5x less memory than building every table up front. Output is deterministic: the
member order of the model, every other key sorted.
"""
import argparse
import json
import os
import re
import sys

DEFAULT_SERVICES = ["kms", "sts", "iam", "autoscaling", "ec2", "organizations"]
SCALARS = {"string", "integer", "boolean", "long", "float", "double", "timestamp", "blob",
           "character", "byte", "short", "bigInteger", "bigDecimal"}
# Traits that travel with a reference (botocore's Shape.SERIALIZED_ATTRS plus the metadata a
# serialiser or a redacting logger needs).
REF_TRAITS = ["locationName", "queryName", "flattened", "location", "payload", "streaming",
              "timestampFormat", "xmlNamespace", "xmlAttribute", "eventstream", "event",
              "eventheader", "eventpayload", "jsonvalue", "hostLabel", "idempotencyToken",
              "sensitive"]
METADATA_KEYS = ["apiVersion", "awsQueryCompatible", "checksumFormat", "endpointPrefix",
                 "globalEndpoint", "jsonVersion", "protocol", "protocols", "serviceAbbreviation",
                 "serviceFullName", "serviceId", "signatureVersion", "signingName", "targetPrefix",
                 "xmlNamespace"]
PAGINATOR_KEYS = ["input_token", "output_token", "more_results", "limit_key", "result_key",
                  "non_aggregate_keys"]
LUA_KEYWORDS = {"and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto",
                "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true",
                "until", "while"}
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def lua_string(s):
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif code < 32 or code == 127:
            out.append("\\%03d" % code)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def long_string(text):
    """text as a Lua long string literal, with a bracket level that text never closes."""
    level = 0
    while "]" + "=" * level + "]" in text:
        level += 1
    return "[" + "=" * level + "[" + text + "]" + "=" * level + "]"


def lua_key(k):
    if IDENT.match(k) and k not in LUA_KEYWORDS:
        return k
    return "[" + lua_string(k) + "]"


def lua_value(v):
    """Lua constructor text for v: dicts get sorted keys, lists keep their order."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return lua_string(v)
    if isinstance(v, Positional):
        parts = [lua_value(x) for x in v.items]
        parts += [lua_key(k) + "=" + lua_value(v.traits[k]) for k in sorted(v.traits)]
        return "{" + ",".join(parts) + "}"
    if isinstance(v, (list, tuple)):
        return "{" + ",".join(lua_value(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ",".join(lua_key(k) + "=" + lua_value(v[k]) for k in sorted(v)) + "}"
    raise TypeError("cannot encode %r" % (v,))


class Positional:
    """A table with array items first, then named traits: {"Name","Target",locationName="x"}."""

    def __init__(self, items, traits):
        self.items = items
        self.traits = traits


def plain(v):
    """OrderedDicts and the like into plain dicts/lists (xmlNamespace is a small dict)."""
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


class Reducer:
    def __init__(self, model):
        self.shapes = model["shapes"]
        self.used = set()

    def ref(self, shape_ref, name=None):
        """A reference: [name,] target plus the effective traits of the resolved member shape."""
        target = shape_ref["shape"]
        shape = self.shapes[target]
        traits = {}
        for key in REF_TRAITS:
            if key in shape:
                traits[key] = plain(shape[key])
        for key in REF_TRAITS:
            if key in shape_ref:
                traits[key] = plain(shape_ref[key])
        if shape["type"] in SCALARS:
            target = shape["type"]
        else:
            self.used.add(shape_ref["shape"])
        items = [target] if name is None else [name, target]
        if not traits and name is None:
            return target
        return Positional(items, traits)

    def shape(self, name):
        shape = self.shapes[name]
        kind = shape["type"]
        out = {"type": kind}
        if kind == "structure":
            out["members"] = [self.ref(m, n) for n, m in shape.get("members", {}).items()]
            if shape.get("required"):
                out["required"] = list(shape["required"])
            for key in ("exception", "fault", "document", "union", "payload", "event",
                        "eventstream", "retryable"):
                if key in shape:
                    out[key] = plain(shape[key])
            if shape.get("exception"):
                err = shape.get("error", {})
                out["error"] = {"code": err.get("code", name)}
                if "httpStatusCode" in err:
                    out["error"]["status"] = err["httpStatusCode"]
                if err.get("senderFault"):
                    out["error"]["sender"] = True
        elif kind == "list":
            out["member"] = self.ref(shape["member"])
        elif kind == "map":
            out["key"] = self.ref(shape["key"])
            out["value"] = self.ref(shape["value"])
        else:
            raise ValueError("scalar shape %s should have been inlined" % name)
        return out


def operation(op, model):
    out = {}
    http = op.get("http", {})
    method, path = http.get("method", "POST"), http.get("requestUri", "/")
    if method != "POST" or path != "/" or "responseCode" in http:
        out["http"] = {"method": method, "path": path}
        if "responseCode" in http:
            out["http"]["status"] = http["responseCode"]
    if "input" in op:
        out["input"] = op["input"]["shape"]
        members = model["shapes"][out["input"]].get("members", {})
        tokens = [n for n, m in members.items()
                  if m.get("idempotencyToken") or model["shapes"][m["shape"]].get("idempotencyToken")]
        if tokens:
            out["idempotency_tokens"] = tokens
    if "output" in op:
        out["output"] = op["output"]["shape"]
        if "resultWrapper" in op["output"]:
            out["result_wrapper"] = op["output"]["resultWrapper"]
    if op.get("errors"):
        out["errors"] = [e["shape"] for e in op["errors"]]
    if op.get("deprecated"):
        out["deprecated"] = True
    if op.get("authtype") == "none" or op.get("auth") == ["smithy.api#noAuth"]:
        out["auth"] = "none"
    if "endpoint" in op and "hostPrefix" in op["endpoint"]:
        out["host_prefix"] = op["endpoint"]["hostPrefix"]
    return out


def partition_endpoints(endpoints, prefix):
    """Hostnames of a service that has one endpoint per partition (IAM, Organizations)."""
    out = {}
    for part in endpoints["partitions"]:
        svc = part["services"].get(prefix)
        if not svc or svc.get("isRegionalized", True) or "partitionEndpoint" not in svc:
            continue
        ep = svc.get("endpoints", {}).get(svc["partitionEndpoint"], {})
        entry = {"name": svc["partitionEndpoint"]}
        if "hostname" in ep:
            entry["hostname"] = ep["hostname"]
        region = ep.get("credentialScope", {}).get("region")
        if region:
            entry["region"] = region
        out[part["partition"]] = entry
    return out


def generate(name, loader, endpoints, version):
    model = loader.load_service_model(name, "service-2")
    try:
        pages = loader.load_service_model(name, "paginators-1").get("pagination", {})
    except Exception:  # a service without paginators
        pages = {}
    md = model["metadata"]
    meta = {k: plain(md[k]) for k in METADATA_KEYS if k in md}
    if "awsQueryCompatible" in meta:
        meta["awsQueryCompatible"] = True
    meta.setdefault("signingName", md.get("signingName", md["endpointPrefix"]))
    parts = partition_endpoints(endpoints, md["endpointPrefix"])
    if parts:
        meta["partitionEndpoints"] = parts

    reducer = Reducer(model)
    ops = {n: operation(op, model) for n, op in model["operations"].items()}
    for op in ops.values():
        for key in ("input", "output"):
            if key in op:
                reducer.used.add(op[key])
        for err in op.get("errors", []):
            reducer.used.add(err)
    shapes = {}
    pending = sorted(reducer.used)
    while pending:
        for shape_name in pending:
            shapes[shape_name] = reducer.shape(shape_name)
        pending = sorted(reducer.used - set(shapes))
    for shape_name in shapes:
        if shape_name in SCALARS:
            raise ValueError("%s: shape name %s collides with a primitive type" % (name, shape_name))

    paginators = {}
    for op_name, p in pages.items():
        paginators[op_name] = {k: plain(p[k]) for k in PAGINATOR_KEYS if k in p}

    lines = ["-- %s: %s (API %s) for luaws. Generated by tools/gen_services.py from botocore %s;"
             " do not edit." % (name, md.get("serviceFullName", name), md["apiVersion"], version),
             "return {",
             "metadata=" + lua_value(meta) + ",",
             "operations={"]
    lines += [lua_key(n) + "=" + lua_value(ops[n]) + "," for n in sorted(ops)]
    lines += ["},", "shapes={"]
    lines += [lua_key(n) + "=" + long_string(lua_value(shapes[n])) + "," for n in sorted(shapes)]
    lines += ["},", "paginators={"]
    lines += [lua_key(n) + "=" + lua_value(paginators[n]) + "," for n in sorted(paginators)]
    lines += ["},", "}", ""]
    return "\n".join(lines)


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.normpath(os.path.join(here, "..", "lua", "luaws", "sdk", "services")))
    parser.add_argument("services", nargs="*", default=DEFAULT_SERVICES)
    args = parser.parse_args(argv)
    import botocore
    import botocore.loaders
    loader = botocore.loaders.Loader()
    endpoints = loader.load_data("endpoints")
    os.makedirs(args.out, exist_ok=True)
    for name in args.services:
        text = generate(name, loader, endpoints, botocore.__version__)
        path = os.path.join(args.out, name + ".lua")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        print("%s: %d bytes" % (path, len(text.encode("utf-8"))))
    write_index(args.out)
    return 0


def write_index(out_dir):
    """services/index.lua: the names of every service file in out_dir, for listings and hints."""
    names = sorted(f[:-4] for f in os.listdir(out_dir) if f.endswith(".lua") and f != "index.lua")
    text = ("-- index: the service models shipped in this folder. Generated by tools/gen_services.py;"
            " do not edit.\nreturn " + lua_value(names) + "\n")
    with open(os.path.join(out_dir, "index.lua"), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
