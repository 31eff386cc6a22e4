#!/usr/bin/env python3
"""package_test: the binary is permissively licensed (MIT LICENSE, no GNU readline linked) and
`cpack -G DEB` makes a .deb whose Depends names the runtime Debian packages and whose file list
holds the binary, the Lua library, models, recipes, man page, completions and licence."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

BIN = os.path.realpath(os.environ.get("LUAWS_BIN", "build/luaws"))
BUILD_DIR = os.path.dirname(BIN)
SOURCE_DIR = os.path.realpath(os.environ.get("LUAWS_SOURCE_DIR", "."))

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


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=800, **kw)


def main():
    def licence():
        with open(os.path.join(SOURCE_DIR, "LICENSE")) as f:
            text = f.read()
        assert text.startswith("MIT License\n\nCopyright (c) 2026 The luaws authors\n"), text[:80]
        assert "THE SOFTWARE IS PROVIDED \"AS IS\"" in text
        with open(os.path.join(SOURCE_DIR, "README.md")) as f:
            assert re.search(r"MIT License.*\(LICENSE\)", f.read()), "README does not name the licence"
        r = run([BIN, "--version"])
        assert r.returncode == 0 and "MIT License" in r.stdout, r.stdout
    check("MIT LICENSE, named in the README and by --version", licence)

    def no_readline():
        r = run(["ldd", BIN])
        assert r.returncode == 0, r.stderr
        assert "readline" not in r.stdout, "GNU readline linked: " + r.stdout
        assert "libedit" not in r.stdout, "libedit linked (the REPL loads it on demand): " + r.stdout
        with open(BIN, "rb") as f:
            assert b"libedit.so.2" in f.read(), "the binary does not name libedit.so.2"
    check("no GNU readline; libedit.so.2 loaded by the REPL, not linked", no_readline)

    tmp = tempfile.mkdtemp(prefix="luaws-deb-")
    try:
        deb = []

        def builds():
            r = run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD_DIR, "CPackConfig.cmake"),
                     "-B", tmp])
            assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
            found = [f for f in os.listdir(tmp) if f.endswith(".deb")]
            assert len(found) == 1, found
            deb.append(os.path.join(tmp, found[0]))
            assert re.match(r"luaws_\d+\.\d+\.\d+_\w+\.deb$", found[0]), found[0]
        check("cpack -G DEB makes luaws_<version>_<arch>.deb", builds)
        if not deb:
            return

        def fields():
            r = run(["dpkg-deb", "-f", deb[0]])
            assert r.returncode == 0, r.stderr
            info = dict(re.findall(r"^([\w-]+): (.*)$", r.stdout, re.M))
            assert info["Package"] == "luaws", info
            assert re.match(r"\d+\.\d+\.\d+$", info["Version"]), info
            assert info["Maintainer"], info
            depends = [d.strip().split(" ")[0] for d in info["Depends"].split(",")]
            for pkg in ("libc6", "libcurl4", "libedit2", "libssl3"):
                assert pkg in depends, "%s missing from Depends: %s" % (pkg, info["Depends"])
            for pkg in ("liblua5.4-0", "libexpat1", "lua-cjson"):  # linked in statically
                assert pkg not in depends, "%s in Depends: %s" % (pkg, info["Depends"])
            assert not any("readline" in d for d in depends), info["Depends"]
            assert len(depends) == len(set(depends)), "a package twice: " + info["Depends"]
        check("Depends lists the runtime Debian packages (and no readline)", fields)

        def files():
            r = run(["dpkg-deb", "-c", deb[0]])
            assert r.returncode == 0, r.stderr
            paths = set(line.split()[-1] for line in r.stdout.splitlines())
            for p in ("./usr/bin/luaws", "./usr/share/luaws/lua/luaws/init.lua",
                      "./usr/share/luaws/lua/luaws/sdk/help.lua",
                      "./usr/share/luaws/models/kms.luac",
                      "./usr/share/luaws/recipes/cross-account-ami-asg.lua",
                      "./usr/share/man/man1/luaws.1",
                      "./usr/share/bash-completion/completions/luaws",
                      "./usr/share/zsh/vendor-completions/_luaws",
                      "./usr/share/doc/luaws/LICENSE", "./usr/share/doc/luaws/scripting.md"):
                assert p in paths, p + " not in the package"
            assert not any("__pycache__" in p or "/build" in p for p in paths), "stray files"
        check("the package holds the binary, library, models, recipes, man page, completions",
              files)

        def unpacked_runs():
            root = os.path.join(tmp, "root")
            r = run(["dpkg-deb", "-x", deb[0], root])
            assert r.returncode == 0, r.stderr
            binary = os.path.join(root, "usr", "bin", "luaws")
            env = {k: v for k, v in os.environ.items() if not k.startswith("LUAWS_")}
            r = run([binary, "-e", 'io.write(require("luaws.host").data_dir, " ", aws.client("kms", '
                     '{region = "us-east-1", credentials = false}).service_name)'], env=env, cwd=tmp)
            assert r.returncode == 0, r.stderr
            assert r.stdout == os.path.join(root, "usr", "share", "luaws") + " kms", r.stdout
            r = run([binary, "help", "kms", "CreateGrant"], env=env, cwd=tmp)
            assert r.returncode == 0 and r.stdout.startswith("kms CreateGrant"), r.stdout + r.stderr
        check("the unpacked package runs from its own tree", unpacked_runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
