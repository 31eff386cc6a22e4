#!/usr/bin/env python3
"""dump_ruleset.py: prints botocore's endpoint-rule-set-1 of each named service as one JSON object
{service: ruleset}, for Lua tests (tests/lib/rulesets.lua). Exits 3 when botocore is missing."""
import json
import sys

try:
    import botocore.loaders
except ImportError:
    sys.exit(3)

loader = botocore.loaders.Loader()
print(json.dumps({name: loader.load_service_model(name, "endpoint-rule-set-1") for name in sys.argv[1:]}))
