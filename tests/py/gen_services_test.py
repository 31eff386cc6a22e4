#!/usr/bin/env python3
"""gen_services_test: the committed service models are exactly what tools/gen_services.py makes."""
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
    subprocess.run([sys.executable, TOOL, "--out", out_dir, *services], check=True,
                   stdout=subprocess.DEVNULL)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def committed_files():
    return sorted(f for f in os.listdir(COMMITTED) if f.endswith(".lua"))


def main():
    try:
        import botocore
    except ImportError:
        botocore = None

    files = committed_files()
    check("the six services and the index are committed",
          set(files) >= {"kms.lua", "sts.lua", "iam.lua", "autoscaling.lua", "ec2.lua",
                         "organizations.lua", "index.lua"}, str(files))

    sizes = {f: os.path.getsize(os.path.join(COMMITTED, f)) for f in files}
    print("  sizes: " + ", ".join("%s %d KB" % (f[:-4], sizes[f] // 1024) for f in files))
    check("ec2, the largest, stays under 1 MB", sizes.get("ec2.lua", 0) < 1024 * 1024, str(sizes.get("ec2.lua")))

    if botocore is None:
        print("note: botocore is not importable; only the committed files were checked")
    else:
        header = read(os.path.join(COMMITTED, "kms.lua")).split(b"\n", 1)[0].decode()
        recorded = re.search(r"from botocore (\S+);", header)
        same_version = recorded and recorded.group(1) == botocore.__version__
        with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
            default = [f[:-4] for f in files if f != "index.lua"]
            generate(one, default)
            generate(two, default)
            regenerated = sorted(os.listdir(one))
            check("regenerating writes the same file set", regenerated == files, "%s vs %s" % (regenerated, files))
            check("generation is deterministic",
                  all(read(os.path.join(one, f)) == read(os.path.join(two, f)) for f in regenerated))
            if same_version:
                drifted = [f for f in files if os.path.exists(os.path.join(one, f))
                           and read(os.path.join(one, f)) != read(os.path.join(COMMITTED, f))]
                check("committed files equal a fresh generation byte for byte", not drifted,
                      "drifted: %s (run tools/gen_services.py)" % drifted)
            else:
                print("note: committed files come from botocore %s, this machine has %s: byte comparison skipped"
                      % (recorded and recorded.group(1), botocore.__version__))

        with tempfile.TemporaryDirectory() as extra:
            services_dir = os.path.join(extra, "luaws", "sdk", "services")
            generate(services_dir, ["s3", "sso-oidc"])
            s3 = read(os.path.join(services_dir, "s3.lua")).decode()
            check("adding a service is one argument (s3)", 'protocol="rest-xml"' in s3)
            check("deprecated operations are flagged", re.search(r"^GetBucketLifecycle=\{[^\n]*deprecated=true", s3, re.M)
                  is not None)
            oidc = read(os.path.join(services_dir, "sso-oidc.lua")).decode()
            check("signingName differs from the prefix for sso-oidc", 'signingName="sso-oauth"' in oidc)
            check("the index lists what the folder holds",
                  read(os.path.join(services_dir, "index.lua")).decode().rstrip().endswith('{"s3","sso-oidc"}'))
            if LUAWS_BIN:
                script = ('local m = require "luaws.sdk.model"; local s = m.load("s3"); '
                          'io.write(s.protocol, " ", s:operation("get_object").name, " ", '
                          'tostring(s:operation("GetBucketLifecycle").deprecated), " ");'
                          'local ok, e = pcall(require("luaws.sdk.protocol").for_service, s); io.write(e.code)')
                env = dict(os.environ, LUAWS_PATH=extra)
                out = subprocess.run([LUAWS_BIN, "-e", script], env=env, capture_output=True, text=True)
                check("a generated model loads in luaws", out.stdout == "rest-xml GetObject true UnsupportedProtocol",
                      out.stdout + out.stderr)

    if LUAWS_BIN:
        # Every shape of every committed service decodes: the data is valid without botocore.
        script = r'''
local model = require "luaws.sdk.model"
local total = 0
for _, name in ipairs(model.service_names()) do
  local svc = model.load(name)
  for shape_name in pairs(svc._data.shapes) do svc:shape(shape_name); total = total + 1 end
  for _, op in ipairs(svc:operation_names()) do svc:operation(op) end
end
io.write(total)
'''
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        out = subprocess.run([LUAWS_BIN, "-e", script], env=env, capture_output=True, text=True)
        check("every committed shape and operation decodes in luaws",
              out.returncode == 0 and out.stdout.isdigit() and int(out.stdout) > 4000, out.stdout + out.stderr)

    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
