#!/usr/bin/env python3
"""architecture_test: the floors and their one-way stairs, read from every `require` in the tree.

Floors (docs/architecture.md): core <- sdk <- domain; core <- recipe; the C modules under all of
them; testkit and the `aws` facade (luaws/init.lua, with the program's luaws.repl and
luaws.complete) on top. Shipped recipes use the facade (the
`aws` global), luaws.recipe, luaws.domain and luaws.core, never luaws.sdk or a C module.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

SOURCE = os.environ.get("LUAWS_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SOURCE, "localcloud"))
from testkit import Checks  # noqa: E402

MAX_LINES = 520  # "no hand-written file over ~500 lines"
C_MODULES = {"luaws.sigv4", "luaws.crypto", "luaws.http", "luaws.xml", "luaws.fs", "luaws.host",
             "luaws.cbor", "luaws.eventstream", "luaws.literal", "cjson", "cjson.safe"}
# Which floors each floor may require (besides itself and the C modules).
ALLOWED = {
    "core": set(),
    "sdk": {"core"},
    "domain": {"core", "sdk"},
    "recipe": {"core"},
    "testkit": {"core", "sdk", "domain", "recipe", "facade"},
    "facade": {"core", "sdk", "domain", "recipe", "testkit"},
    "recipes": {"core", "domain", "recipe"},
}
REQUIRE = re.compile(r"""\brequire\s*\(?\s*["']([\w.\-]+)["']|pcall\s*\(\s*require\s*,\s*["']([\w.\-]+)["']""")
GENERATED_MARK = re.compile(r"[Gg]enerated by tools/gen_\w+\.py")


# The program's own Lua side sits with the facade: the REPL's (help, printing, completion) and the
# shell completion's (luaws __complete).
PROGRAM_MODULES = {"luaws", "luaws.repl", "luaws.complete"}


def floor_of_module(name):
    if name in C_MODULES:
        return "c"
    if name in PROGRAM_MODULES:
        return "facade"
    parts = name.split(".")
    if parts[0] != "luaws" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in ("core", "sdk", "domain", "recipe", "testkit") else "unknown"


def module_of_path(root, path):
    rel = os.path.relpath(path, os.path.join(root, "lua"))
    name = rel[:-4].replace(os.sep, ".")
    return name[:-5] if name.endswith(".init") else name


def lua_files(root, sub):
    out = []
    for dirpath, _, files in os.walk(os.path.join(root, sub)):
        out += [os.path.join(dirpath, f) for f in files if f.endswith(".lua")]
    return sorted(out)


def requires_of(path):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"--\[(=*)\[.*?\]\1\]", "", text, flags=re.S)   # long comments
    text = re.sub(r"\[(=*)\[.*?\]\1\]", "", text, flags=re.S)     # long strings (help texts)
    text = re.sub(r"--[^\n]*", "", text)                            # line comments
    return sorted({a or b for a, b in REQUIRE.findall(text)})


def is_generated(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return bool(GENERATED_MARK.search(f.readline() + f.readline() + f.readline()))


def own_test(root, module):
    """The test file of a module: tests/lua/<floor>/<rest joined by _>_test.lua (or a shorter
    suffix of it), or tests/py/<that>_test.py; per-service customizations are data that
    sdk/customizations_test.lua checks one by one. Returns the path or None."""
    parts = module.split(".")[1:]
    if not parts:
        candidates = [os.path.join("tests", "lua", "init_test.lua")]
    else:
        floor, rest = parts[0], parts[1:] or [parts[0]]
        if floor == "sdk" and rest[0] == "customizations":
            rest = ["customizations"]
        stems = ["_".join(rest[i:]).replace("-", "_") for i in range(len(rest))]
        candidates = [os.path.join("tests", "lua", floor, stem + "_test.lua") for stem in stems]
        candidates += [os.path.join("tests", "py", stem + "_test.py") for stem in stems]
        candidates += [os.path.join("tests", "recipes", stem + "_test.lua") for stem in stems]
    for c in candidates:
        if os.path.isfile(os.path.join(root, c)):
            return c
    return None


def violations(root):
    """Returns (wrong_way, cycles, graph): imports against the arrows, and require cycles."""
    wrong, graph = [], {}
    for path in lua_files(root, "lua/luaws"):
        if os.sep + os.path.join("sdk", "services") + os.sep in path:
            continue  # generated data: no requires (the generated-only check reads them)
        me = module_of_path(root, path)
        floor = floor_of_module(me)
        deps = [d for d in requires_of(path) if d.startswith("luaws") or d.startswith("cjson")]
        graph[me] = [d for d in deps if floor_of_module(d) not in ("c", None)]
        for d in deps:
            target = floor_of_module(d)
            if target in ("c", None) or target == floor:
                continue
            if target not in ALLOWED.get(floor, set()):
                wrong.append("%s (%s) requires %s (%s)" % (me, floor, d, target))
    for path in lua_files(root, "recipes"):
        for d in requires_of(path):
            target = floor_of_module(d)
            if target is not None and target not in ALLOWED["recipes"]:
                wrong.append("recipe %s requires %s (%s)" % (os.path.basename(path), d, target))
    # Cycles: depth-first search over module-level requires.
    cycles, state, stack = [], {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for d in graph.get(m, []):
            if state.get(d) == "open":
                cycles.append(" -> ".join(stack[stack.index(d):] + [d]))
            elif d in graph and d not in state:
                visit(d)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    return wrong, cycles, graph


def main():
    checks = Checks()

    @checks.case("no import goes against the floors' arrows")
    def _():
        wrong, _, _ = violations(SOURCE)
        assert not wrong, "\n  ".join(["wrong-way imports:"] + wrong)

    @checks.case("no require cycle")
    def _():
        _, cycles, graph = violations(SOURCE)
        assert len(graph) > 40, "found only %d modules: is the layout there?" % len(graph)
        assert not cycles, "\n  ".join(["cycles:"] + cycles)

    @checks.case("the checker itself flags a wrong-way import and a cycle (a fixture tree)")
    def _():
        tmp = tempfile.mkdtemp(prefix="arch-")
        try:
            for rel, text in {
                "lua/luaws/core/bad.lua": 'local c = require "luaws.sdk.client"\nreturn {}\n',
                "lua/luaws/sdk/client.lua": 'local x = pcall(require, "luaws.sdk.model")\nreturn {}\n',
                "lua/luaws/sdk/model.lua": 'require("luaws.sdk.client")\nreturn {}\n',
                "recipes/r.lua": 'local h = require "luaws.http"\nlocal s = require "luaws.sdk.config"\n',
            }.items():
                os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)
                with open(os.path.join(tmp, rel), "w") as f:
                    f.write(text)
            wrong, cycles, _ = violations(tmp)
            assert "luaws.core.bad (core) requires luaws.sdk.client (sdk)" in wrong, wrong
            assert "recipe r.lua requires luaws.http (c)" in wrong, wrong
            assert "recipe r.lua requires luaws.sdk.config (sdk)" in wrong, wrong
            assert any("luaws.sdk.client" in c and "luaws.sdk.model" in c for c in cycles), cycles
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @checks.case("sdk/services holds generated files only")
    def _():
        hand = [p for p in lua_files(SOURCE, "lua/luaws/sdk/services") if not is_generated(p)]
        assert not hand, "hand-written files in sdk/services: %s" % hand

    @checks.case("no hand-written Lua or C file over %d lines" % MAX_LINES)
    def _():
        big = []
        paths = lua_files(SOURCE, "lua") + lua_files(SOURCE, "recipes")
        for dirpath, _, files in os.walk(os.path.join(SOURCE, "src")):
            paths += [os.path.join(dirpath, f) for f in files if f.endswith((".c", ".h"))]
        for p in paths:
            if p.endswith(".lua") and is_generated(p):
                continue
            n = sum(1 for _ in open(p, encoding="utf-8", errors="replace"))
            if n > MAX_LINES:
                big.append("%s (%d)" % (os.path.relpath(p, SOURCE), n))
        assert not big, "too long: " + ", ".join(big)

    @checks.case("every library module has its own test file")
    def _():
        missing = []
        for p in lua_files(SOURCE, "lua/luaws"):
            if is_generated(p):
                continue
            if own_test(SOURCE, module_of_path(SOURCE, p)) is None:
                missing.append(module_of_path(SOURCE, p))
        assert not missing, "modules without a test file: " + ", ".join(missing)

    @checks.case("src/mech is mechanism: no Lua headers, no getenv, no retry decisions")
    def _():
        bad = []
        for f in sorted(os.listdir(os.path.join(SOURCE, "src", "mech"))):
            text = open(os.path.join(SOURCE, "src", "mech", f), encoding="utf-8").read()
            for pattern in (r'#include\s*[<"](lua|lauxlib|lualib)\.h', r"\bgetenv\s*\(", r"\bretryable\b"):
                if re.search(pattern, text):
                    bad.append("%s: %s" % (f, pattern))
        assert not bad, bad

    @checks.case("luacheck is clean")
    def _():
        r = subprocess.run(["luacheck", "-q", "--no-color", "lua", "recipes", "tests", "examples", "bench"],
                           cwd=SOURCE, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout[-3000:]

    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
