#!/usr/bin/env python3
"""botocore_endpoints.py: prints botocore's view of endpoints and partitions as JSON, for tests.

Usage: python3 tests/lib/botocore_endpoints.py 'SERVICE REGION' ...
Prints {"partitions": [{id, regionRegex, dnsSuffix, dualStackDnsSuffix, implicitGlobalRegion}],
        "endpoints": {"SERVICE REGION": {"url": client endpoint_url, "signing_region": ...}}}
Exits 3 (and prints nothing) when botocore is not importable.
"""
import json
import os
import sys

try:
    import botocore
    import botocore.regions
    import botocore.session
except ImportError:
    sys.exit(3)


def main():
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    for name in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
                 "AWS_STS_REGIONAL_ENDPOINTS", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"):
        os.environ.pop(name, None)
    data = os.path.join(os.path.dirname(botocore.__file__), "data")
    with open(os.path.join(data, "partitions.json")) as f:
        partitions = [
            {"id": p["id"], "regionRegex": p["regionRegex"], "dnsSuffix": p["outputs"]["dnsSuffix"],
             "dualStackDnsSuffix": p["outputs"]["dualStackDnsSuffix"],
             "implicitGlobalRegion": p["outputs"]["implicitGlobalRegion"]}
            for p in json.load(f)["partitions"]
        ]
    with open(os.path.join(data, "endpoints.json")) as f:
        legacy = botocore.regions.EndpointResolver(json.load(f))
    session = botocore.session.get_session()
    endpoints = {}
    for case in sys.argv[1:]:
        service, region = case.split()
        client = session.create_client(service, region_name=region,
                                       aws_access_key_id="x", aws_secret_access_key="y")
        found = legacy.construct_endpoint(service, region) or {}
        scope = found.get("credentialScope", {}).get("region", region)
        endpoints[case] = {"url": client.meta.endpoint_url, "signing_region": scope}
    print(json.dumps({"partitions": partitions, "endpoints": endpoints}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
