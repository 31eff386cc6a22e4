#!/usr/bin/env python3
"""install_test: `cmake --install` into a temporary prefix gives a luaws that runs on its own."""
import os
import shutil
import subprocess
import sys
import tempfile

BIN = os.path.realpath(os.environ.get("LUAWS_BIN", "build/luaws"))
BUILD_DIR = os.path.dirname(BIN)
SOURCE_DIR = os.path.realpath(os.environ.get("LUAWS_SOURCE_DIR", "."))

PROBE = ('io.write(package.searchpath("luaws", package.path), "\\n", '
         'require("luaws.host").data_dir, "\\n", package.path, "\\n", '
         'package.searchpath("luaws.core.pretty", package.path), "\\n", type(aws))')

passed = failed = 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print("ok  ", name, flush=True)
    except Exception as e:  # noqa: BLE001 - any failure counts
        failed += 1
        print("FAIL", name + ":", e, flush=True)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("LUAWS_PATH", "LUA_PATH", "LUA_PATH_5_4")}
    env.update(extra)
    return env


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def main():
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="luaws-install-"))
    prefix = os.path.join(tmp, "prefix")
    elsewhere = os.path.join(tmp, "elsewhere")
    os.makedirs(elsewhere)
    installed = os.path.join(prefix, "bin", "luaws")
    data_dir = os.path.join(prefix, "share", "luaws")
    try:
        def install():
            r = run(["cmake", "--install", BUILD_DIR, "--prefix", prefix])
            assert r.returncode == 0, r.stderr
            assert os.access(installed, os.X_OK), "no bin/luaws"
            assert os.path.isfile(os.path.join(data_dir, "lua", "luaws", "init.lua"))
            assert os.path.isfile(os.path.join(data_dir, "lua", "luaws", "core", "pretty.lua"))
            assert os.path.isdir(os.path.join(data_dir, "recipes"))
        check("cmake --install lays out bin/ and share/luaws/{lua,recipes}", install)

        def loads_from_install():
            r = run([installed, "-e", PROBE], cwd=elsewhere, env=clean_env())
            assert r.returncode == 0, r.stderr
            init, found_dir, path, pretty, aws = r.stdout.split("\n")
            assert init == os.path.join(data_dir, "lua", "luaws", "init.lua"), init
            assert found_dir == data_dir, found_dir
            assert pretty == os.path.join(data_dir, "lua", "luaws", "core", "pretty.lua"), pretty
            assert SOURCE_DIR not in path, "source tree on package.path: " + path
            assert aws == "table", aws
        check("the installed binary loads its Lua files from share/luaws", loads_from_install)

        def via_symlink():
            link = os.path.join(elsewhere, "luaws")
            os.symlink(installed, link)
            r = run([link, "-e", PROBE], cwd=elsewhere, env=clean_env())
            assert r.returncode == 0, r.stderr
            assert r.stdout.split("\n")[1] == data_dir, r.stdout
        check("a symlink to the installed binary still finds share/luaws", via_symlink)

        def luaws_path_first():
            extra = os.path.join(tmp, "extra")
            os.makedirs(os.path.join(extra, "luaws", "core"))
            with open(os.path.join(extra, "luaws", "core", "pretty.lua"), "w") as f:
                f.write("return { shadow = true }\n")
            r = run([installed, "-e", 'io.write(tostring(require("luaws.core.pretty").shadow))'],
                    cwd=elsewhere, env=clean_env(LUAWS_PATH=extra))
            assert r.returncode == 0, r.stderr
            assert r.stdout == "true", r.stdout
        check("LUAWS_PATH still comes first when installed", luaws_path_first)

        def source_tree_hidden():
            # A private mount namespace hides the source tree from this one process only.
            hide = os.path.join(tmp, "empty")
            os.makedirs(hide)
            script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
            r = run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                     hide, SOURCE_DIR, installed, "-e", PROBE + ' require "luaws.core.pretty"'],
                    cwd=elsewhere, env=clean_env())
            if r.returncode != 0 and r.stderr.startswith(("unshare:", "mount:")):
                print("note: cannot hide the source tree here (%s); covered by the path checks"
                      % r.stderr.strip().splitlines()[-1], flush=True)
                return
            assert r.returncode == 0, r.stderr
            assert r.stdout.split("\n")[1] == data_dir, r.stdout
        check("with the source tree hidden, the installed binary still runs", source_tree_hidden)

        def recipe_tests_from_install():
            # `luaws test` finds the installed local cloud and the shipped recipes, not the source tree's.
            assert os.path.isfile(os.path.join(data_dir, "localcloud", "serve.py")), "no localcloud/"
            assert not os.path.exists(os.path.join(data_dir, "localcloud", "__pycache__"))
            shutil.copy(os.path.join(SOURCE_DIR, "tests", "recipes", "whoami_test.lua"), elsewhere)
            r = run([installed, "test", "whoami_test.lua"], cwd=elsewhere, env=clean_env())
            assert r.returncode == 0, r.stdout + r.stderr
            assert r.stdout.endswith("5 passed, 0 failed\n"), r.stdout
        check("the installed luaws test runs a recipe test on the installed local cloud",
              recipe_tests_from_install)

        def compiled_models():
            # Stripped bytecode of every shipped model, newer than its installed source (install
            # keeps the build's mtimes), and the installed binary loads EC2 from it.
            models = os.path.join(data_dir, "models")
            services = os.path.join(data_dir, "lua", "luaws", "sdk", "services")
            names = sorted(f[:-4] for f in os.listdir(services) if f.endswith(".lua") and f != "index.lua"
                           and not f.endswith((".docs.lua", ".waiters.lua")))
            assert "ec2" in names, names
            for name in names:
                compiled = os.path.join(models, name + ".luac")
                with open(compiled, "rb") as f:
                    assert f.read(4) == b"\x1bLua", compiled + " is not Lua bytecode"
                source_ns = os.stat(os.path.join(services, name + ".lua")).st_mtime_ns
                assert os.stat(compiled).st_mtime_ns >= source_ns, compiled + " older than its source"
            probe = ('local m = require "luaws.sdk.model"; m.load("ec2"); '
                     'io.write(m.loaded_from.ec2, "\\n", require("luaws.host").models_dir)')
            r = run([installed, "-e", probe], cwd=elsewhere, env=clean_env())
            assert r.returncode == 0, r.stderr
            assert r.stdout == os.path.join(models, "ec2.luac") + "\n" + models, r.stdout
        check("share/luaws/models holds fresh bytecode the installed binary uses", compiled_models)

        def version_and_help():
            r = run([installed, "--version"], cwd=elsewhere, env=clean_env())
            assert r.returncode == 0 and r.stdout.startswith("luaws "), r
        check("the installed binary answers --version", version_and_help)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
