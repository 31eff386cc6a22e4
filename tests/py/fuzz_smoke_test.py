#!/usr/bin/env python3
"""fuzz_smoke_test: the committed fuzz corpus stays clean in every build.

The libFuzzer targets need clang and their own build (`make fuzz`, which `make test` runs first);
this test needs neither. It replays each target's corpus (fuzz/corpus/<target>/) through the same
Lua harness the targets use (fuzz/harness/<target>.lua, via fuzz/replay.lua) in the luaws binary
under test, the ASan one included; checks that a harness does report a broken invariant; and,
when the fuzz build exists (LUAWS_FUZZ_BUILD, default <source>/build-fuzz), runs each libFuzzer
binary over its corpus once (-runs=0: no mutation, just every committed input).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

SOURCE = os.environ.get("LUAWS_SOURCE_DIR", ".")
LUAWS = os.environ.get("LUAWS_BIN", "build/luaws")
FUZZ = os.path.join(SOURCE, "fuzz")
FUZZ_BUILD = os.environ.get("LUAWS_FUZZ_BUILD", os.path.join(SOURCE, "build-fuzz"))
TARGETS = ["xml", "sigv4", "json", "config", "cbor", "eventstream", "restjson", "restxml"]
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

sys.path.insert(0, os.path.join(SOURCE, "localcloud"))
import testkit  # noqa: E402

checks = testkit.Checks()


def corpus(target):
    d = os.path.join(FUZZ, "corpus", target)
    return d, sorted(f for f in os.listdir(d) if not f.startswith("."))


def replay(target, *paths, env=None):
    return subprocess.run([LUAWS, os.path.join(FUZZ, "replay.lua"), target, *paths], capture_output=True,
                          text=True, timeout=280, env=env or os.environ, errors="replace")


for target in TARGETS:
    @checks.case(f"{target}: corpus committed with seeds")
    def _(target=target):
        d, files = corpus(target)
        seeds = [f for f in files if f.startswith("seed-")]
        assert len(seeds) >= 5 and len(files) >= len(seeds), (d, len(files))
        assert sum(os.path.getsize(os.path.join(d, f)) for f in files) < 4 << 20, "corpus over 4 MB"

    @checks.case(f"{target}: every corpus input passes the harness in this build")
    def _(target=target):
        d, files = corpus(target)
        run = replay(target, d)
        for mark in SANITIZER_MARKS:
            assert mark not in run.stderr, run.stderr[-3000:]
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        match = re.search(rf"replay {target}: (\d+) inputs, 0 findings", run.stdout)
        assert match and int(match.group(1)) == len(files), run.stdout[-2000:]


@checks.case("a harness reports a broken invariant (exit 1, names the input)")
def _():
    # A stand-in config module whose parser raises a bare string, as a Lua runtime error would:
    # the config harness must call that a finding.
    lib = tempfile.mkdtemp(prefix="fuzz-smoke-")
    os.makedirs(os.path.join(lib, "luaws", "sdk"))
    with open(os.path.join(lib, "luaws", "sdk", "config.lua"), "w", encoding="utf-8") as f:
        f.write("return { set_env = function() end, reload = function() end,\n"
                "  parse_ini = function() error('attempt to index a nil value') end }\n")
    sample = os.path.join(lib, "input.ini")
    with open(sample, "w", encoding="utf-8") as f:
        f.write("[default]\nregion = us-east-1\n")
    env = dict(os.environ, LUAWS_PATH=lib + ":" + os.environ.get("LUAWS_PATH", ""))
    run = replay("config", sample, env=env)
    assert run.returncode == 1, (run.returncode, run.stdout, run.stderr)
    assert "FUZZ ORACLE" in run.stdout and "input.ini" in run.stdout, run.stdout
    assert "1 inputs, 1 findings" in run.stdout, run.stdout
    shutil.rmtree(lib, ignore_errors=True)


binaries = {t: os.path.join(FUZZ_BUILD, "fuzz", f"fuzz_{t}") for t in TARGETS}
if all(os.access(b, os.X_OK) for b in binaries.values()):
    for target in TARGETS:
        @checks.case(f"{target}: the libFuzzer binary runs its whole corpus clean")
        def _(target=target):
            d, files = corpus(target)
            run = subprocess.run([binaries[target], "-runs=0", "-detect_leaks=0", d], capture_output=True,
                                 text=True, timeout=280, errors="replace")
            assert run.returncode == 0, run.stderr[-3000:]
            assert "FUZZ ORACLE" not in run.stderr and "ERROR:" not in run.stderr, run.stderr[-3000:]
            assert re.search(r"INITED|DONE", run.stderr), run.stderr[-2000:]
else:
    print(f"note: no fuzz build at {FUZZ_BUILD} (make fuzz builds it); replayed through luaws only")

sys.exit(checks.done())
