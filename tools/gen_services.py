#!/usr/bin/env python3
"""gen_services.py: turns botocore's service definitions into compact Lua data under lua/luaws/sdk/services.

Usage: tools/gen_services.py [--out DIR] [--quiet] [SERVICE ...]
       (default: every service in botocore's data; name some to write only those, plus the index)

The file name of a service is its botocore/boto3 name verbatim ("s3", "sso-oidc", ...): Lua's
package.searchpath maps only "." to "/", so "-" needs no mapping. Per service, into DIR:

  <name>.lua          the model luaws.sdk.model loads for a call (the "hot" data):
    metadata   = {protocol=, protocols=, apiVersion=, endpointPrefix=, signingName=, serviceId=,
                  targetPrefix=, jsonVersion=, globalEndpoint=, awsQueryCompatible=true, auth={...},
                  signatureVersion=, xmlNamespace=, protocolSettings=, checksumFormat=,
                  clientContextParams={...}, partitionEndpoints={<partition>={name=, hostname=, region=}}}
    operations = {<Op>=[[{input=, output=, input_traits={...}, output_traits={...}, result_wrapper=,
                        errors={...}, idempotency_tokens={...},
                        http={method=, path=, status=} (only when not POST / without responseCode),
                        host_prefix=, deprecated=true, auth="none" (unsigned calls),
                        authtype=, auth_schemes={...}, unsigned_payload=true,
                        http_checksum={...}, http_checksum_required=true,
                        static_context_params={...}, operation_context_params={...},
                        request_compression={...}, endpoint_discovery={...}, endpoint_operation=true}]]}
    shapes     = {<Name>=[[{type="structure", members={{"Member", <target>, <traits>}, ...},
                            required={...}, exception=true, error={code=, status=, sender=}, ...}]]
                  <Name>=[[{type="list", member={<target>, <traits>}}]]
                  <Name>=[[{type="map", key={<target>, <traits>}, value={<target>, <traits>}}]]}
    paginators = botocore's paginators-1 (merged with its sdk-extras), every key kept
  <name>.docs.lua     help text, never loaded by a call: {operations={Op="first sentence"},
                      shapes={Shape={doc=, members={M="first sentence"}, enum={...}, min=, max=,
                      targets={M=<scalar shape>, member=<a list's scalar shape>}}}}
  <name>.rules.lua    endpoint-rule-set-1, the same JSON as a Lua table literal (no null: absent);
                      a repeated table is built once and shared (S[i]); a tree with over
                      LAZY_TREE_CHARS of children builds them on first read
  <name>.waiters.lua  waiters-2 as a Lua table literal ({version=2, waiters={...}})
  index.lua           the sorted service names, and api_versions={<name>=<apiVersion>}

Scalar shapes are inlined: a reference names its primitive type ("string", "integer", "boolean",
"long", "float", "double", "timestamp", "blob", ...) instead of a shape. A reference carries the
serialisation traits botocore would see on the resolved member shape (shape traits overlaid by the
member's): see REF_TRAITS. Documentation, enums and length limits go to <name>.docs.lua only.
Each shape and each operation is stored as the text of its Lua constructor, decoded on first use
by luaws.sdk.model (with luaws.literal): ec2 has ~3,000 shapes and 750 operations, and a call
touches a few dozen shapes and one operation (building S3's 107 operations at load cost 0.7M
instructions, about a third of loading its model). Output is deterministic: the member order
of the model, every other key sorted. Lua's converter of user models (luaws.sdk.model_json)
makes the same tables at run time; tests/py/gen_services_test.py checks the two agree.
"""
import argparse
import html
import json
import os
import re
import sys

SCALARS = {"string", "integer", "boolean", "long", "float", "double", "timestamp", "blob",
           "character", "byte", "short", "bigInteger", "bigDecimal"}
# Traits that travel with a reference (botocore's Shape.SERIALIZED_ATTRS plus the metadata a
# serialiser, an endpoint resolver or a redacting logger needs).
REF_TRAITS = ["locationName", "queryName", "flattened", "location", "payload", "streaming",
              "timestampFormat", "xmlNamespace", "xmlAttribute", "eventstream", "event",
              "eventheader", "eventpayload", "jsonvalue", "hostLabel", "idempotencyToken",
              "sensitive", "requiresLength", "contextParam"]
# Structure-level keys kept on the shape itself.
STRUCT_KEYS = ["exception", "fault", "document", "union", "payload", "event", "eventstream",
               "retryable", "sensitive", "wrapper", "locationName", "xmlNamespace"]
COLLECTION_KEYS = ["flattened", "sparse", "sensitive", "locationName"]
METADATA_KEYS = ["apiVersion", "auth", "awsQueryCompatible", "checksumFormat", "endpointPrefix",
                 "globalEndpoint", "jsonVersion", "protocol", "protocols", "protocolSettings",
                 "serviceAbbreviation", "serviceFullName", "serviceId", "signatureVersion",
                 "signingName", "targetPrefix", "xmlNamespace"]
# Operation keys copied under a snake_case name.
OP_KEYS = {"authtype": "authtype", "auth": "auth_schemes", "unsignedPayload": "unsigned_payload",
           "httpChecksum": "http_checksum", "httpChecksumRequired": "http_checksum_required",
           "staticContextParams": "static_context_params",
           "operationContextParams": "operation_context_params",
           "requestcompression": "request_compression", "endpointdiscovery": "endpoint_discovery",
           "endpointoperation": "endpoint_operation"}
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
    while "]" + "=" * level + "]" in text or text.endswith("]" + "=" * level):
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
        if v == int(v) and abs(v) < 2 ** 53:
            return repr(v)  # "1.0": stays a float in Lua
        return repr(v)
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, str):
        return lua_string(v)
    if isinstance(v, Positional):
        parts = [lua_value(x) for x in v.items]
        parts += [lua_key(k) + "=" + lua_value(v.traits[k]) for k in sorted(v.traits)]
        return "{" + ",".join(parts) + "}"
    if isinstance(v, (list, tuple)):
        return "{" + ",".join(lua_value(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ",".join(lua_key(k) + "=" + lua_value(v[k])
                              for k in sorted(v) if v[k] is not None) + "}"
    if v is None:
        return "nil"
    raise TypeError("cannot encode %r" % (v,))


class Raw(str):
    """Lua expression text written as is (a reference into a shared table)."""


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

    def traits(self, shape_ref):
        """The serialisation traits of a reference: its shape's, overlaid by the reference's."""
        shape = self.shapes[shape_ref["shape"]]
        traits = {}
        for key in REF_TRAITS:
            if key in shape:
                traits[key] = plain(shape[key])
        for key in REF_TRAITS:
            if key in shape_ref:
                traits[key] = plain(shape_ref[key])
        return traits

    def ref(self, shape_ref, name=None):
        """A reference: [name,] target plus the effective traits of the resolved member shape."""
        target = shape_ref["shape"]
        shape = self.shapes[target]
        traits = self.traits(shape_ref)
        if shape["type"] in SCALARS and not shape.get("document"):
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
            for key in STRUCT_KEYS:
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
            out.update({k: plain(shape[k]) for k in COLLECTION_KEYS if k in shape})
        elif kind == "map":
            out["key"] = self.ref(shape["key"])
            out["value"] = self.ref(shape["value"])
            out.update({k: plain(shape[k]) for k in COLLECTION_KEYS if k in shape})
        elif shape.get("document"):
            out = {"type": "structure", "document": True, "members": []}
        else:
            raise ValueError("scalar shape %s should have been inlined" % name)
        return out


def operation(op, model, reducer):
    out = {}
    http = op.get("http", {})
    method, path = http.get("method", "POST"), http.get("requestUri", "/")
    if method != "POST" or path != "/" or "responseCode" in http:
        out["http"] = {"method": method, "path": path}
        if "responseCode" in http:
            out["http"]["status"] = http["responseCode"]
    for key in ("input", "output"):
        if key not in op:
            continue
        out[key] = op[key]["shape"]
        reducer.used.add(out[key])
        traits = reducer.traits(op[key])
        if traits:
            out[key + "_traits"] = traits
    if "input" in op:
        members = model["shapes"][out["input"]].get("members", {})
        tokens = [n for n, m in members.items()
                  if m.get("idempotencyToken") or model["shapes"][m["shape"]].get("idempotencyToken")]
        if tokens:
            out["idempotency_tokens"] = tokens
    if "output" in op and "resultWrapper" in op["output"]:
        out["result_wrapper"] = op["output"]["resultWrapper"]
    if op.get("errors"):
        out["errors"] = [e["shape"] for e in op["errors"]]
        reducer.used.update(out["errors"])
    if op.get("deprecated"):
        out["deprecated"] = True
    if op.get("authtype") == "none" or op.get("auth") == ["smithy.api#noAuth"]:
        out["auth"] = "none"
    for key, name in OP_KEYS.items():
        if key in op:
            out[name] = plain(op[key])
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


def model_text(name, model, pages, endpoints, version):
    """The Lua source of <name>.lua from a service-2 model and its paginators-1 "pagination"."""
    md = model["metadata"]
    meta = {k: plain(md[k]) for k in METADATA_KEYS if k in md}
    if "awsQueryCompatible" in meta:
        meta["awsQueryCompatible"] = True
    meta.setdefault("signingName", md.get("signingName", md["endpointPrefix"]))
    if model.get("clientContextParams"):
        meta["clientContextParams"] = {k: {kk: vv for kk, vv in v.items() if kk != "documentation"}
                                       for k, v in model["clientContextParams"].items()}
    parts = partition_endpoints(endpoints, md["endpointPrefix"]) if endpoints else {}
    if parts:
        meta["partitionEndpoints"] = parts

    reducer = Reducer(model)
    ops = {n: operation(op, model, reducer) for n, op in model["operations"].items()}
    shapes = {}
    pending = sorted(reducer.used)
    while pending:
        for shape_name in pending:
            shapes[shape_name] = reducer.shape(shape_name)
        pending = sorted(reducer.used - set(shapes))
    for shape_name in shapes:
        if shape_name in SCALARS:
            raise ValueError("%s: shape name %s collides with a primitive type" % (name, shape_name))

    lines = ["-- %s: %s (API %s) for luaws. Generated by tools/gen_services.py from botocore %s;"
             " do not edit." % (name, md.get("serviceFullName", name), md["apiVersion"], version),
             "return {",
             "metadata=" + lua_value(meta) + ",",
             "operations={"]
    lines += [lua_key(n) + "=" + long_string(lua_value(ops[n])) + "," for n in sorted(ops)]
    lines += ["},", "shapes={"]
    lines += [lua_key(n) + "=" + long_string(lua_value(shapes[n])) + "," for n in sorted(shapes)]
    lines += ["},", "paginators={"]
    lines += [lua_key(n) + "=" + lua_value(plain(pages[n])) + "," for n in sorted(pages)]
    lines += ["},", "}", ""]
    return "\n".join(lines)


# --- documentation ------------------------------------------------------------------------

TAG = re.compile(r"<[^>]*>")
NOTES = re.compile(r"<(important|note)>.*?</\1>", re.S)
# ASCII whitespace and the no-break space, and nothing else (luaws.sdk.model_convert does the same).
SPACE = re.compile("[ \t\n\r\f\v\u00a0]+")
SENTENCE = re.compile(r"^(.+?[.!?])(?= +[A-Z(\"'<]| *$)", re.S)
MAX_DOC = 300


def first_sentence(doc):
    """The first sentence of botocore's HTML documentation as plain text ('' when none)."""
    if not doc:
        return ""
    text = NOTES.sub(" ", doc)
    text = SPACE.sub(" ", html.unescape(TAG.sub(" ", text))).strip(" ")
    if not text:
        text = SPACE.sub(" ", html.unescape(TAG.sub(" ", doc))).strip(" ")
    text = re.sub(r" ([.,;:!?)])", r"\1", text).replace("( ", "(")
    m = SENTENCE.match(text)
    if m:
        text = m.group(1)
    if len(text) > MAX_DOC:
        text = text[:MAX_DOC - 3].rstrip() + "..."
    return text


def documented_scalar(shape):
    """Whether a scalar shape has an entry of its own in the docs (a sentence, enum or limit)."""
    return shape["type"] in SCALARS and (
        "enum" in shape or "min" in shape or "max" in shape or first_sentence(shape.get("documentation")) != "")


def docs_text(name, model):
    ops = {}
    for op_name, op in model["operations"].items():
        s = first_sentence(op.get("documentation"))
        if s:
            ops[op_name] = s
    shapes = {}
    for shape_name, shape in model["shapes"].items():
        entry = {}
        s = first_sentence(shape.get("documentation"))
        if s:
            entry["doc"] = s
        members = {}
        for m_name, m in shape.get("members", {}).items():
            s = first_sentence(m.get("documentation"))
            if s:
                members[m_name] = s
        if members:
            entry["members"] = members
        # The model inlines scalar shapes ("string"): name the documented scalar shape a member
        # (or a list's member, as "member") points at, unless it has the member's own name.
        targets = {m_name: m["shape"] for m_name, m in shape.get("members", {}).items()
                   if m["shape"] != m_name and documented_scalar(model["shapes"][m["shape"]])}
        if "member" in shape and documented_scalar(model["shapes"][shape["member"]["shape"]]):
            targets["member"] = shape["member"]["shape"]
        if targets:
            entry["targets"] = targets
        if "enum" in shape:
            entry["enum"] = list(shape["enum"])
        for key in ("min", "max"):
            if key in shape:
                entry[key] = shape[key]
        if entry:
            shapes[shape_name] = entry
    # A sentence used more than once (a member documented alike in many shapes) is written once,
    # in the local table S, and named by its index: a quarter less text.
    counts = {}
    texts = list(ops.values())
    for entry in shapes.values():
        texts += [entry.get("doc", "")] + list(entry.get("members", {}).values())
    for s in texts:
        if len(s) > 12:
            counts[s] = counts.get(s, 0) + 1
    shared = sorted(s for s, n in counts.items() if n > 1)
    index = {s: i + 1 for i, s in enumerate(shared)}

    def sentence(s):
        return Raw("S[%d]" % index[s]) if s in index else s

    for n in ops:
        ops[n] = sentence(ops[n])
    for entry in shapes.values():
        if "doc" in entry:
            entry["doc"] = sentence(entry["doc"])
        for m in entry.get("members", {}):
            entry["members"][m] = sentence(entry["members"][m])
    lines = ["-- %s: help text (first sentences, enums, limits) for luaws. Generated by"
             " tools/gen_services.py; do not edit." % name]
    if shared:
        lines += ["local S={"] + [lua_string(s) + "," for s in shared] + ["}"]
    lines += ["return {", "operations={"]
    lines += [lua_key(n) + "=" + lua_value(ops[n]) + "," for n in sorted(ops)]
    lines += ["},", "shapes={"]
    lines += [lua_key(n) + "=" + lua_value(shapes[n]) + "," for n in sorted(shapes)]
    lines += ["},", "}", ""]
    return "\n".join(lines)


def data_text(name, what, data):
    return ("-- %s: %s for luaws. Generated by tools/gen_services.py from botocore; do not edit.\n"
            "return %s\n" % (name, what, lua_value(plain(data))))


# A tree rule whose children take more text than this builds them on first use. Building S3's
# whole rule set (~3,000 tables) cost 0.4 ms per process, where a call walks a few branches; each
# lazy tree is a function of its own in the bytecode, so smaller pieces undump slower. Measured
# on S3 with shared subtrees (RuleSetWriter), a bucket on a custom endpoint / a regional bucket:
# 256 B 27.08M / 16.55M instructions, 512 B 27.07 / 16.51, 1 KB 27.04 / 16.50, 2 KB 27.10 / 16.55,
# 4 KB 27.13 / 16.56 (without sharing the best was 8 KB: 27.29 / 17.53).
LAZY_TREE_CHARS = 1024

# A lazy tree is written lazy(head, function() return <children> end): luaws.sdk.model_files
# runs shipped data files with lazy (and nothing else) in their environment.


class RuleSetWriter:
    """Writes a rule set's Lua text: a table or list that occurs more than once (S3 repeats
    booleanEquals(UseFIPS, false) 84 times) is built once, as S[i], and shared (nothing modifies
    a rule set); a tree whose children take over LAZY_TREE_CHARS builds them on first read."""

    def __init__(self, rules):
        self.counts = {}
        self._count(rules)
        self.defs, self.index = [], {}

    def _count(self, v):
        if isinstance(v, (dict, list)):
            key = lua_value(v)
            self.counts[key] = self.counts.get(key, 0) + 1
            for x in (v.values() if isinstance(v, dict) else v):
                self._count(x)

    def value(self, v):
        """Lua text of v: S[i] when it repeats (defining S[i] first), else its constructor."""
        if not isinstance(v, (dict, list)):
            return lua_value(v)
        key = lua_value(v)
        if self.counts.get(key, 0) < 2:
            return self.constructor(v)
        if key not in self.index:
            self.defs.append(self.constructor(v))
            self.index[key] = len(self.defs)
        return "S[%d]" % self.index[key]

    def constructor(self, v):
        if isinstance(v, list):
            return "{" + ",".join(self.value(x) for x in v) + "}"
        if v.get("type") == "tree" and isinstance(v.get("rules"), list):
            children = "{" + ",".join(self.value(r) for r in v["rules"]) + "}"
            head = {k: x for k, x in v.items() if k != "rules"}
            if len(children) < LAZY_TREE_CHARS:
                return self.fields(dict(head, rules=Raw(children)))
            return "lazy(%s,function() return %s end)" % (self.fields(head), children)
        return self.fields(v)

    def fields(self, d):
        return "{" + ",".join(lua_key(k) + "=" + (d[k] if isinstance(d[k], Raw) else self.value(d[k]))
                              for k in sorted(d) if d[k] is not None) + "}"


def rules_text(name, ruleset):
    """<name>.rules.lua: the rule set as a Lua table (see RuleSetWriter)."""
    ruleset = plain(ruleset)
    writer = RuleSetWriter(ruleset.get("rules", []))
    rules = Raw(writer.value(ruleset.get("rules", [])))
    body = lua_value(dict(ruleset, rules=rules))
    shared = ""
    if writer.defs:
        shared = "local S = {}\n" + "".join("S[%d] = %s\n" % (i + 1, d) for i, d in enumerate(writer.defs))
    return ("-- %s: endpoint rule set (endpoint-rule-set-1) for luaws. Generated by "
            "tools/gen_services.py from botocore; do not edit.\n%sreturn %s\n"
            % (name, shared, body))


# --- driver -----------------------------------------------------------------------------------

def load_optional(loader, name, type_name):
    try:
        return loader.load_service_model(name, type_name)
    except Exception:  # DataNotFoundError: the service has none
        return None


def generate(name, loader, endpoints, version):
    """The text of <name>.lua (the model) from loader.load_service_model(name, "service-2") and
    its "paginators-1": a stable entry point that tests use with their own models."""
    model = loader.load_service_model(name, "service-2")
    pages = (load_optional(loader, name, "paginators-1") or {}).get("pagination", {})
    return model_text(name, model, pages, endpoints, version)


def generate_files(name, loader, endpoints, version):
    """{file name: text} of one service: the model, its docs, rules and waiters."""
    model = loader.load_service_model(name, "service-2")
    pages = (load_optional(loader, name, "paginators-1") or {}).get("pagination", {})
    files = {name + ".lua": model_text(name, model, pages, endpoints, version),
             name + ".docs.lua": docs_text(name, model)}
    rules = load_optional(loader, name, "endpoint-rule-set-1")
    if rules:
        files[name + ".rules.lua"] = rules_text(name, rules)
    waiters = load_optional(loader, name, "waiters-2")
    if waiters:
        files[name + ".waiters.lua"] = data_text(name, "waiters (waiters-2)", waiters)
    return files


def index_text(out_dir):
    """index.lua: the sorted service names of out_dir, and api_versions={name=version}."""
    names = service_names_in(out_dir)
    versions = {}
    for name in names:
        with open(os.path.join(out_dir, name + ".lua"), encoding="utf-8") as f:
            m = re.search(r"\(API (\S+)\)", f.readline())
        if m:
            versions[name] = m.group(1)
    return ("-- index: the service models shipped in this folder. Generated by tools/gen_services.py;"
            " do not edit.\nreturn {" + "".join(lua_string(n) + "," for n in names)
            + "api_versions=" + lua_value(versions) + "}\n")


def service_names_in(out_dir):
    return sorted(f[:-4] for f in os.listdir(out_dir)
                  if f.endswith(".lua") and f != "index.lua" and f.count(".") == 1)


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.normpath(
        os.path.join(here, "..", "lua", "luaws", "sdk", "services")))
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("services", nargs="*")
    args = parser.parse_args(argv)
    import botocore
    import botocore.loaders
    # Only botocore's own data: never a user's ~/.aws/models or AWS_DATA_PATH.
    loader = botocore.loaders.Loader(
        extra_search_paths=[], include_default_search_paths=False)
    loader.search_paths.append(os.path.join(os.path.dirname(botocore.__file__), "data"))
    endpoints = loader.load_data("endpoints")
    names = args.services or loader.list_available_services("service-2")
    os.makedirs(args.out, exist_ok=True)
    total = 0
    for name in names:
        for fname, text in sorted(generate_files(name, loader, endpoints, botocore.__version__).items()):
            data = text.encode("utf-8")
            total += len(data)
            with open(os.path.join(args.out, fname), "wb") as f:
                f.write(data)
    with open(os.path.join(args.out, "index.lua"), "w", encoding="utf-8", newline="\n") as f:
        f.write(index_text(args.out))
    if not args.quiet:
        print("%d services, %d bytes into %s" % (len(names), total, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
