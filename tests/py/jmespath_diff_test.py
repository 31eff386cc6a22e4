#!/usr/bin/env python3
"""jmespath_diff_test: luaws.core.jmespath against python's jmespath (botocore's) on hand-picked
and grammar-generated expressions over fixed and random documents; results and error kinds."""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
try:
    import jmespath_cases as jc
except ImportError:
    print("skip: python jmespath is not installed")
    print("0 passed, 0 failed, 1 skipped")
    sys.exit(0)

SOURCE_DIR = os.environ.get("LUAWS_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
LUAWS_BIN = os.environ.get("LUAWS_BIN", os.path.join(SOURCE_DIR, "build", "luaws"))

# Reads [expr, data] JSON lines; writes "ok <json>" or "err <code>" per line.
EVAL = r'''
local j = require "luaws.core.jmespath"
local KIND = { JMESPathLexerError = "syntax", JMESPathParseError = "syntax",
  JMESPathArityError = "arity", JMESPathUnknownFunction = "unknown-function",
  JMESPathTypeError = "type", JMESPathValueError = "error" }
for line in io.lines() do
  local case = j.decode(line)
  local data = case[2]
  if data == j.NULL then data = nil end
  local ok, r = pcall(j.search, case[1], data)
  local function exprefs(v)
    if j.type_of(v) == "expref" then return "<expref>" end
    if type(v) == "table" then for k, x in pairs(v) do v[k] = exprefs(x) end end
    return v
  end
  if ok then io.write("ok ", j.encode(exprefs(r)), "\n")
  else io.write("err ", type(r) == "table" and (KIND[r.code] or tostring(r.code)) or ("lua:" .. tostring(r)):gsub("\n", " "), "\n") end
end
'''


def main():
    started = time.time()
    all_cases = jc.cases()
    lines = "".join(json.dumps([e, d]) + "\n" for e, d in all_cases)
    env = dict(os.environ, LUAWS_SOURCE_DIR=SOURCE_DIR)
    out = subprocess.run([LUAWS_BIN, "-e", EVAL], input=lines, env=env, capture_output=True,
                         text=True, timeout=120)
    got = out.stdout.splitlines()
    if len(got) != len(all_cases):
        print("FAIL: luaws answered %d of %d cases: %s" % (len(got), len(all_cases), out.stderr[-2000:]))
        print("0 passed, 1 failed")
        return 1
    passed = failed = errors = 0
    for (expr, data), line in zip(all_cases, got):
        kind, _, rest = line.partition(" ")
        want = jc.oracle(expr, data)
        if want[0] == "err":
            errors += 1
            ok = kind == "err" and (rest == want[1] or want[1] == "error" and rest in ("error", "type"))
        else:
            ok = kind == "ok" and jc.same(json.loads(rest), want[1])
        if ok:
            passed += 1
        else:
            failed += 1
            if failed <= 25:
                print("FAIL %r over %s: python %r, luaws %s" % (expr, json.dumps(data)[:120], want, line[:200]))
    print("jmespath: %d cases (%d expected errors) in %.1f s" % (len(all_cases), errors, time.time() - started))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
