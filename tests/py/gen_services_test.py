#!/usr/bin/env python3
"""gen_services_test: the committed models are what tools/gen_services.py makes, and Lua's converter agrees."""
import json
import os
import re
import subprocess
import sys
import tempfile

SOURCE = os.environ.get("LUAWS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TOOL = os.path.join(SOURCE, "tools", "gen_services.py")
COMMITTED = os.path.join(SOURCE, "lua", "luaws", "sdk", "services")
LUAWS_BIN = os.environ.get("LUAWS_BIN")

passed = failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print("ok   " + name)
    else:
        failed += 1
        print("FAIL " + name + (": " + detail if detail else ""))


def generate(out_dir, services=()):
    subprocess.run([sys.executable, TOOL, "--quiet", "--out", out_dir, *services], check=True)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def committed_names():
    text = read(os.path.join(COMMITTED, "index.lua")).decode()
    return re.findall(r'"([^"]+)",', text.split("api_versions=")[0])


# For each service: the Lua model of the Python generator (<out>/<name>.lua) and the one
# luaws.sdk.model_convert makes from the same botocore JSON (<json>/<name>.json and .pages.json)
# are compared table by table, shapes decoded. Prints "<services> <shapes>" or the differences.
CROSS_CHECK = r'''
local convert = require "luaws.sdk.model_convert"
local out_dir, json_dir = ...
local function read(p) local f = assert(io.open(p, "rb")); local t = f:read("a"); f:close(); return t end
local function diff(a, b, path, errs)
  if #errs > 5 then return end
  if type(a) ~= type(b) then errs[#errs + 1] = path .. ": " .. tostring(a) .. " vs " .. tostring(b); return end
  if type(a) ~= "table" then
    if a ~= b or math.type(a) ~= math.type(b) and not (a == b) then
      errs[#errs + 1] = path .. ": " .. tostring(a) .. " vs " .. tostring(b)
    end
    return
  end
  for k, v in pairs(a) do diff(v, b[k], path .. "." .. tostring(k), errs) end
  for k, v in pairs(b) do if a[k] == nil then diff(nil, v, path .. "." .. tostring(k), errs) end end
end
local services, shapes, bad = 0, 0, {}
for line in io.lines(json_dir .. "/names") do
  local name = line
  local generated = assert(loadfile(out_dir .. "/" .. name .. ".lua", "t", {}))()
  for k, text in pairs(generated.shapes) do
    generated.shapes[k] = assert(load("return " .. text, "=" .. k, "t", {}))()
    shapes = shapes + 1
  end
  for k, text in pairs(generated.operations) do
    generated.operations[k] = assert(load("return " .. text, "=" .. k, "t", {}))()
  end
  generated.metadata.partitionEndpoints = nil -- from botocore's endpoints.json, not the model
  local model = assert(convert.decode_json(read(json_dir .. "/" .. name .. ".json")))
  local pages = assert(convert.decode_json(read(json_dir .. "/" .. name .. ".pages.json")))
  local converted = convert.model(model, pages.pagination)
  local errs = {}
  diff(generated, converted, name, errs)
  local docs = assert(loadfile(out_dir .. "/" .. name .. ".docs.lua", "t", {}))()
  diff(docs, convert.docs(model), name .. ".docs", errs)
  if #errs > 0 then bad[#bad + 1] = table.concat(errs, "; ") end
  services = services + 1
end
io.write(services, " ", shapes, "\n", table.concat(bad, "\n"))
'''


def main():
    try:
        import botocore
        import botocore.loaders
    except ImportError:
        botocore = None

    names = committed_names()
    check("the index lists every botocore service (>= 400)", len(names) >= 400, str(len(names)))
    missing = [n for n in names if not os.path.exists(os.path.join(COMMITTED, n + ".lua"))
               or not os.path.exists(os.path.join(COMMITTED, n + ".docs.lua"))]
    check("each indexed service has its model and docs", not missing, str(missing[:5]))
    sizes = {}
    for f in os.listdir(COMMITTED):
        kind = f.split(".")[1] if f.count(".") == 2 else "model"
        sizes[kind] = sizes.get(kind, 0) + os.path.getsize(os.path.join(COMMITTED, f))
    print("  sizes: " + ", ".join("%s %.1f MB" % (k, v / 1e6) for k, v in sorted(sizes.items())))
    check("ec2, the largest model, stays under 1 MB",
          os.path.getsize(os.path.join(COMMITTED, "ec2.lua")) < 1024 * 1024)

    if botocore is None:
        print("note: SKIPPED the generator checks: botocore is not importable here; only the committed "
              "files were checked")
        print("%d passed, %d failed" % (passed, failed))
        return 0 if failed == 0 and passed > 0 else 1

    header = read(os.path.join(COMMITTED, "kms.lua")).split(b"\n", 1)[0].decode()
    recorded = re.search(r"from botocore (\S+);", header)
    same_version = recorded and recorded.group(1) == botocore.__version__
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two, \
            tempfile.TemporaryDirectory() as json_dir:
        generate(one)
        regenerated = sorted(os.listdir(one))
        if same_version:
            committed = sorted(os.listdir(COMMITTED))
            check("regenerating writes the committed file set", regenerated == committed,
                  "%s" % sorted(set(regenerated) ^ set(committed))[:10])
            drifted = [f for f in regenerated if os.path.exists(os.path.join(COMMITTED, f))
                       and read(os.path.join(one, f)) != read(os.path.join(COMMITTED, f))]
            check("committed files equal a fresh generation byte for byte", not drifted,
                  "drifted: %s (run tools/gen_services.py)" % drifted[:10])
        else:
            print("note: committed files come from botocore %s, this machine has %s: byte comparison skipped"
                  % (recorded and recorded.group(1), botocore.__version__))
        sample = ["ec2", "s3", "kms", "sso-oidc", "cloudwatch", "route53", "lambda", "sqs"]
        generate(two, sample)
        check("generation is deterministic",
              all(read(os.path.join(one, f)) == read(os.path.join(two, f))
                  for f in os.listdir(two) if f != "index.lua"))
        s3 = read(os.path.join(one, "s3.lua")).decode()
        check("deprecated operations are flagged", re.search(r"^GetBucketLifecycle=\[=*\[\{[^\n]*deprecated=true", s3, re.M)
              is not None)
        check("signingName differs from the prefix for sso-oidc",
              'signingName="sso-oauth"' in read(os.path.join(one, "sso-oidc.lua")).decode())
        check("a model names no documentation", "documentation" not in s3 and "<p>" not in s3)

        if LUAWS_BIN:
            # The same botocore JSON the generator read (sdk-extras merged), for Lua's converter.
            loader = botocore.loaders.Loader()
            all_names = loader.list_available_services("service-2")
            for name in all_names:
                model = loader.load_service_model(name, "service-2")
                try:
                    pages = loader.load_service_model(name, "paginators-1", model["metadata"]["apiVersion"])
                except Exception:
                    pages = {"pagination": {}}
                with open(os.path.join(json_dir, name + ".json"), "w") as f:
                    json.dump(model, f)
                with open(os.path.join(json_dir, name + ".pages.json"), "w") as f:
                    json.dump(pages, f)
            with open(os.path.join(json_dir, "names"), "w") as f:
                f.write("\n".join(all_names) + "\n")
            script = os.path.join(json_dir, "cross.lua")
            with open(script, "w") as f:
                f.write(CROSS_CHECK)
            out = subprocess.run([LUAWS_BIN, script, one, json_dir], capture_output=True, text=True)
            first, _, rest = out.stdout.partition("\n")
            counts = first.split()
            print("  cross-check: %s services, %s shapes" % tuple(counts[:2]) if len(counts) == 2 else "")
            check("Lua's converter makes the generator's model and docs for every service",
                  out.returncode == 0 and len(counts) == 2 and int(counts[0]) == len(all_names) and not rest,
                  (rest or out.stderr)[:2000])

    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
