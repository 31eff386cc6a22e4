#!/usr/bin/env python3
"""endpoints_diff_test: the endpoint luaws's rule-set resolver picks vs botocore's, for every service.

For every service in botocore's data, in a spread of regions and partitions, with FIPS, dual-stack,
a configured endpoint URL and STS's legacy setting, and for S3 buckets (DNS-compatible, dotted,
upper case, IP-like, access point / Object Lambda / multi-region ARNs) under S3's configuration
(addressing_style, accelerate, us_east_1_regional_endpoint, use_arn_region): the URL, signing
region and signing name (or that both refuse) must match botocore's EndpointRulesetResolver.
Configuration reaches both sides the same way: environment variables and a config file.
Rule sets come from botocore's data (dumped to JSON in a temporary folder; nothing is committed).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

try:
    import botocore
    import botocore.exceptions
    import botocore.model
    import botocore.regions
    import botocore.session
except ImportError:
    print("skip: botocore is not installed")
    print("0 passed, 0 failed, 1 skipped")
    sys.exit(0)

SOURCE_DIR = os.environ.get("LUAWS_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
LUAWS_BIN = os.environ.get("LUAWS_BIN", os.path.join(SOURCE_DIR, "build", "luaws"))
RUNNER = os.path.join(SOURCE_DIR, "tests", "support", "endpoints_diff.lua")
LOCAL = "http://127.0.0.1:4566"

# name, env, config-file profile lines, used for the all-services sweep
FLAVOURS = [
    ("us-east-1", {"AWS_DEFAULT_REGION": "us-east-1"}, "", True),
    ("us-west-2", {"AWS_DEFAULT_REGION": "us-west-2"}, "", True),
    ("eu-west-1", {"AWS_DEFAULT_REGION": "eu-west-1"}, "", True),
    ("cn-north-1", {"AWS_DEFAULT_REGION": "cn-north-1"}, "", True),
    ("us-gov-west-1", {"AWS_DEFAULT_REGION": "us-gov-west-1"}, "", True),
    ("ap-southeast-3", {"AWS_DEFAULT_REGION": "ap-southeast-3"}, "", True),
    ("eusc-de-east-1", {"AWS_DEFAULT_REGION": "eusc-de-east-1"}, "", True),
    ("fips us-iso-east-1", {"AWS_DEFAULT_REGION": "us-iso-east-1", "AWS_USE_FIPS_ENDPOINT": "true"}, "", True),
    ("fips us-east-1", {"AWS_DEFAULT_REGION": "us-east-1", "AWS_USE_FIPS_ENDPOINT": "true"}, "", True),
    ("fips us-west-2", {"AWS_DEFAULT_REGION": "us-west-2", "AWS_USE_FIPS_ENDPOINT": "true"}, "", True),
    ("fips us-gov-west-1", {"AWS_DEFAULT_REGION": "us-gov-west-1", "AWS_USE_FIPS_ENDPOINT": "true"}, "", True),
    ("dualstack us-east-1", {"AWS_DEFAULT_REGION": "us-east-1", "AWS_USE_DUALSTACK_ENDPOINT": "true"}, "", True),
    ("fips+dualstack eu-west-1 (profile)", {},
     "region = eu-west-1\nuse_fips_endpoint = true\nuse_dualstack_endpoint = true\n", True),
    ("dualstack cn-north-1", {"AWS_DEFAULT_REGION": "cn-north-1", "AWS_USE_DUALSTACK_ENDPOINT": "true"}, "", True),
    ("AWS_ENDPOINT_URL us-west-2", {"AWS_DEFAULT_REGION": "us-west-2", "AWS_ENDPOINT_URL": LOCAL}, "", True),
    ("endpoint_url + fips (profile)", {"AWS_DEFAULT_REGION": "us-west-2"},
     "endpoint_url = https://localhost:9000/base\nuse_fips_endpoint = true\n", True),
    ("sts legacy us-west-2", {"AWS_DEFAULT_REGION": "us-west-2", "AWS_STS_REGIONAL_ENDPOINTS": "legacy"}, "", True),
    ("AWS_ENDPOINT_URL_STS eu-west-1", {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL_STS": LOCAL}, "", True),
    ("s3 path style", {"AWS_DEFAULT_REGION": "eu-west-1"}, "s3 =\n  addressing_style = path\n", False),
    ("s3 virtual + endpoint", {"AWS_DEFAULT_REGION": "us-east-1"},
     "endpoint_url = https://localhost:9000\ns3 =\n  addressing_style = virtual\n", False),
    ("s3 us-east-1 regional", {"AWS_DEFAULT_REGION": "us-east-1"}, "s3 =\n  us_east_1_regional_endpoint = regional\n", False),
    ("s3 accelerate", {"AWS_DEFAULT_REGION": "us-west-2"}, "s3 =\n  use_accelerate_endpoint = true\n", False),
    ("s3 no arn region", {"AWS_DEFAULT_REGION": "us-east-1"}, "s3 =\n  use_arn_region = false\n", False),
    ("s3 dualstack section", {"AWS_DEFAULT_REGION": "us-west-2"}, "s3 =\n  use_dualstack_endpoint = true\n", False),
]
BUCKETS = ["mybucket", "my.dotted.bucket", "MyBucket", "bucket_underscore", "ab", "192.168.1.10",
           "a-very-long-but-valid-bucket-name-0123456789-abcdefghijklmnopqrs",
           "arn:aws:s3:us-west-2:123456789012:accesspoint/myap",
           "arn:aws:s3:us-east-1:123456789012:accesspoint:myap",
           "arn:aws:s3-object-lambda:us-west-2:123456789012:accesspoint/olap",
           "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap",
           "arn:aws:s3-outposts:us-west-2:123456789012:outpost/op-01234567890123456/accesspoint/ap",
           "arn:aws-cn:s3:cn-north-1:123456789012:accesspoint/cnap", "arn:aws:sqs:us-west-2:1:q",
           "mybucket--usw2-az1--x-s3"]
S3_OPS = [("GetObject", {"Key": "a/b c.txt"}), ("ListObjectsV2", {}), ("CreateBucket", {}),
          ("GetBucketLocation", {}), ("ListBuckets", None), ("DeleteObjects", {"Delete": {"Objects": [{"Key": "k"}]}})]
BASE_ENV = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}


def op_spec(model, op_name):
    """An operation as luaws's model gives it: context parameters on input members, static and
    operation context parameters on the operation."""
    op = model.operation_model(op_name)
    raw = model._service_description["operations"][op_name]
    members = []
    if op.input_shape is not None:
        for name, member in op.input_shape.members.items():
            entry = {"name": name}
            ref = model._service_description["shapes"][op.input_shape.name]["members"][name]
            if "contextParam" in ref:
                entry["contextParam"] = ref["contextParam"]
            members.append(entry)
    out = {"name": op_name, "input": {"members": members}}
    if raw.get("staticContextParams"):
        out["static_context_params"] = raw["staticContextParams"]
    if raw.get("operationContextParams"):
        out["operation_context_params"] = raw["operationContextParams"]
    return out


class Botocore:
    """botocore's answers: EndpointRulesetResolver with the built-ins a real client computes."""

    def __init__(self, tmp):
        self.tmp = tmp
        session = botocore.session.get_session()
        self.loader = session.get_component("data_loader")
        self.partitions = self.loader.load_data("partitions")
        self.legacy = botocore.regions.EndpointResolver(self.loader.load_data("endpoints"))
        self.services = session.get_available_services()
        self.models, self.rulesets, self.resolvers = {}, {}, {}

    def model(self, name):
        if name not in self.models:
            self.models[name] = botocore.model.ServiceModel(
                self.loader.load_service_model(name, "service-2"), name)
            self.rulesets[name] = self.loader.load_service_model(name, "endpoint-rule-set-1")
        return self.models[name]

    def flavour_env(self, index, env, profile):
        path = os.path.join(self.tmp, "config-%d" % index)
        with open(path, "w") as f:
            f.write("[default]\n" + profile)
        full = dict(BASE_ENV, HOME=self.tmp, AWS_CONFIG_FILE=path,
                    AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.tmp, "no-credentials"))
        full.update(env)
        return full

    def clients(self, env):
        """Real sts, s3 and sqs (any service without special built-ins) clients configured by
        env: their resolvers and built-ins."""
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            session = botocore.session.Session()
            return {name: session.create_client(name) for name in ("sts", "s3", "sqs")}
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def scope_region(self, model, region):
        """The signing region a client uses when the endpoint names none and no endpoint URL is
        configured: the credentialScope of the service's endpoints.json entry for the region
        (as ClientEndpointBridge), else the region."""
        try:
            found = self.legacy.construct_endpoint(model.endpoint_prefix, region) or {}
        except Exception:
            found = {}
        return found.get("credentialScope", {}).get("region") or region

    def resolve(self, resolver, model, op_name, params, region):
        op = model.operation_model(op_name)
        try:
            result = resolver.construct_endpoint(op, params, {})
        except Exception as e:  # both sides refusing is agreement
            return {"error": "%s: %s" % (type(e).__name__, e)}
        signing = {}
        schemes = result.properties.get("authSchemes")
        if schemes:
            try:
                _, signing = resolver.auth_schemes_to_signing_ctx(schemes)
            except botocore.exceptions.MissingDependencyException:  # sigv4a needs awscrt
                first = schemes[0]
                signing = {"region": first.get("signingRegion") or ",".join(
                    first.get("signingRegionSet") or []), "signing_name": first.get("signingName")}
        signing_region = signing.get("region") or (
            region if resolver._builtins.get("SDK::Endpoint") else self.scope_region(model, region))
        signing_name = signing.get("signing_name") or model.signing_name
        return {"url": result.url, "signing_region": signing_region, "signing_name": signing_name,
                "headers": result.headers}


def main():
    if not os.path.exists(LUAWS_BIN):
        print("skip: no luaws binary at " + LUAWS_BIN)
        return 0
    started = time.time()
    keep = os.environ.get("ENDPOINTS_DIFF_KEEP")  # a folder to keep the inputs in, for debugging
    if keep:
        os.makedirs(keep, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = keep or tmp
        bc = Botocore(tmp)
        spec = {"flavours": [], "services": {}, "ops": {}, "cases": []}
        expected, labels = [], []
        sweep_resolvers = {}
        for index, (label, env, profile, sweep) in enumerate(FLAVOURS):
            full_env = bc.flavour_env(index, env, profile)
            spec["flavours"].append({"env": full_env})
            clients = bc.clients(full_env)
            region = clients["sts"].meta.region_name
            builtins = clients["sqs"]._ruleset_resolver._builtins
            builtins = {k: (None if callable(v) else v) for k, v in builtins.items()}
            names = bc.services if sweep else ["s3"]
            for name in names:
                model = bc.model(name)
                if name not in spec["services"]:
                    spec["services"][name] = {
                        "service_id": model.service_id, "endpoint_prefix": model.endpoint_prefix,
                        "signing_name": model.signing_name,
                        "metadata": {"clientContextParams": model._service_description.get(
                            "clientContextParams") or {}}}
                if name in ("s3", "sts"):
                    resolver = clients[name]._ruleset_resolver
                else:
                    resolver = sweep_resolvers.get(name)
                    if resolver is None:
                        resolver = botocore.regions.EndpointRulesetResolver(
                            bc.rulesets[name], bc.partitions, model, builtins, {},
                            clients["sts"].meta.events)
                        sweep_resolvers[name] = resolver
                    resolver._builtins = builtins
                    resolver._provider.resolve_endpoint.cache_clear() if hasattr(
                        resolver._provider.resolve_endpoint, "cache_clear") else None
                cases = []
                if name == "s3":
                    for bucket in BUCKETS:
                        for op_name, extra in S3_OPS:
                            params = None if extra is None else dict(extra, Bucket=bucket)
                            cases.append((op_name, params))
                            if extra is None:
                                break
                else:
                    cases.append((sorted(model.operation_names)[0], {}))
                for op_name, params in cases:
                    op_id = name + "." + op_name
                    if op_id not in spec["ops"]:
                        spec["ops"][op_id] = op_spec(model, op_name)
                    spec["cases"].append({"service": name, "flavour": index + 1, "op": op_id,
                                          "params": params})
                    expected.append(bc.resolve(resolver, model, op_name, params or {}, region))
                    labels.append("%s %s %s [%s]" % (name, op_name, json.dumps(params), label))
        cases_path = os.path.join(tmp, "cases.json")
        rules_path = os.path.join(tmp, "rulesets.json")
        out_path = os.path.join(tmp, "out.json")
        with open(cases_path, "w") as f:
            json.dump(spec, f)
        with open(rules_path, "w") as f:
            json.dump(bc.rulesets, f)
        python_seconds = time.time() - started
        lua_started = time.time()
        runs = {}
        for mode in ("json", "shipped"):
            proc = subprocess.run([LUAWS_BIN, RUNNER, cases_path, rules_path, out_path, mode],
                                  capture_output=True, text=True, cwd=SOURCE_DIR)
            if proc.returncode != 0:
                print(proc.stdout + proc.stderr)
                print("0 passed, 1 failed")
                return 1
            with open(out_path) as f:
                runs[mode] = json.load(f)
        lua_seconds = time.time() - lua_started

    failures = []
    total = 0
    for mode, got in runs.items():
        what = {"json": "engine on botocore's rule sets and operations",
                "shipped": "luaws's shipped models (svc:rules(), svc:operation())"}[mode]
        total += len(labels)
        failures += compare(labels, expected, got, what)
    print("botocore side %.1f s, luaws side %.1f s (both runs)" % (python_seconds, lua_seconds))
    for line in failures[:40]:
        print("MISMATCH " + line)
    print("%d passed, %d failed" % (total - len(failures), len(failures)))
    return 1 if failures else 0


def compare(labels, expected, got, what):
    """Counts agreement of one luaws run with botocore; returns the mismatch lines."""

    counts = {"url": 0, "signing_region": 0, "signing_name": 0, "both_refuse": 0, "headers": 0}
    failures = []
    for label, want, have in zip(labels, expected, got):
        if "error" in want or "error" in have:
            if "error" in want and "error" in have:
                counts["both_refuse"] += 1
            else:
                failures.append("%s: botocore %s, luaws %s" % (label, want.get("error") or want["url"],
                                                               have.get("error") or have["url"]))
            continue
        ok = True
        for key in ("url", "signing_region", "signing_name"):
            if want[key] == have[key]:
                counts[key] += 1
            else:
                ok = False
                failures.append("%s: %s botocore %r, luaws %r" % (label, key, want[key], have[key]))
        want_headers = {k: v for k, v in (want.get("headers") or {}).items()}
        have_headers = have.get("headers") or {}
        if isinstance(have_headers, list):
            have_headers = {}
        if want_headers == have_headers:
            counts["headers"] += 1
        elif ok:
            failures.append("%s: headers botocore %r, luaws %r" % (label, want_headers, have_headers))
    services = len({label.split(" ", 1)[0] for label in labels})
    print("%s: %d cases over %d services, %d configurations: %s" % (
        what, len(labels), services, len(FLAVOURS), ", ".join("%s=%d" % kv for kv in counts.items())))
    return ["[%s] %s" % (what.split(" ")[0], line) for line in failures]


if __name__ == "__main__":
    sys.exit(main())
