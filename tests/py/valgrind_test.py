#!/usr/bin/env python3
"""valgrind_test: memcheck finds no errors and no definite or indirect leaks in luaws runs."""
import http.server
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

BIN = os.environ.get("LUAWS_BIN", "build/luaws")

# Exercises the C modules a recipe leans on: JSON, XML (good and malformed), the signer, HTTP
# (an answer, a refused connection, tasks in parallel), the sign-in listener, SHA-1 and an
# error caught in Lua.
SCRIPT = r"""
local cjson = require "cjson"
local xml = require "luaws.xml"
local sigv4 = require "luaws.sigv4"
local http = require "luaws.http"
local ok_port, refused_port = tonumber(arg[1]), tonumber(arg[2])

local doc = cjson.decode(cjson.encode({ list = { 1, 2, 3 }, name = "x", nested = { t = true } }))
assert(doc.name == "x" and #doc.list == 3)
assert(require("cjson.safe").decode("{") == nil)

local root = assert(xml.decode('<R xmlns="urn:x"><Item a="1">one</Item><Item>two</Item></R>'))
assert(root)
assert(xml.decode("<unclosed>") == nil)

local signed = sigv4.sign{
  method = "POST", url = "https://kms.us-east-1.amazonaws.com/",
  headers = { { "Content-Type", "application/x-amz-json-1.1" }, { "X-Amz-Target", "TrentService.ListKeys" } },
  body = "{}", region = "us-east-1", service = "kms",
  access_key = "AKIDEXAMPLE", secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  time = "20150830T123600Z",
}
assert(signed.authorization:find("Signature="))

local answer = assert(http.request{ url = "http://127.0.0.1:" .. ok_port .. "/x", timeout = 30 })
assert(answer.status == 200 and answer.body == "hello", answer.body)
local nothing, err = http.request{ url = "http://127.0.0.1:" .. refused_port .. "/", timeout = 30 }
assert(nothing == nil and err)
local results = http.parallel{
  function() return http.request{ url = "http://127.0.0.1:" .. ok_port .. "/a", timeout = 30 }.status end,
  function() return http.request{ url = "http://127.0.0.1:" .. ok_port .. "/b", timeout = 30 }.status end,
}
assert(results[1] == 200 and results[2] == 200)

local listener = assert(http.listen())  -- the one-shot 127.0.0.1 listener of `luaws sso login`
assert(select(2, listener:accept(0.05)) == "timeout")
os.execute("curl -s --max-time 20 -o /dev/null 'http://127.0.0.1:" .. listener:port()
  .. "/cb?x=1' </dev/null >/dev/null 2>&1 &")
local request = assert(listener:accept(30))
assert(request.method == "GET" and request.target == "/cb?x=1", request.target)
assert(listener:reply(200, "ok"))
listener:close()
assert(require("luaws.crypto").hex(require("luaws.crypto").sha1("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d")

assert(not pcall(error, setmetatable({ code = "X" }, { __tostring = function() return "X" end })))
print("script ok")
"""

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


class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - the http.server naming
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args):
        pass


def free_refusing_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memcheck(args, tmp, stdin=None):
    log = os.path.join(tmp, "valgrind.log")
    cmd = ["valgrind", "--quiet", "--leak-check=full", "--show-leak-kinds=definite,indirect",
           "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=9",
           "--log-file=" + log, BIN, *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, input=stdin)
    with open(log) as f:
        report = f.read()
    return r, report


def main():
    if os.environ.get("LUAWS_SANITIZE") == "1":
        print("skip: the sanitizer build cannot run under valgrind; the release build runs this")
        print("0 passed, 0 failed, 1 skipped")
        return 0
    if shutil.which("valgrind") is None:
        print("FAIL valgrind is not installed (tools/setup-deps installs it)")
        print("0 passed, 1 failed")
        return 1

    tmp = tempfile.mkdtemp(prefix="luaws-valgrind-")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        def chunk():
            r, report = memcheck(["-e", "local t = {} for i = 1, 1000 do t[i] = ('%d'):format(i) end "
                                  "print(#t, aws ~= nil)"], tmp)
            assert r.returncode == 0, "exit %d\n%s%s" % (r.returncode, r.stderr, report)
            assert r.stdout == "1000\ttrue\n", r.stdout
        check("luaws -e: no memory errors, no leaks", chunk)

        def script():
            path = os.path.join(tmp, "modules.lua")
            with open(path, "w") as f:
                f.write(SCRIPT)
            r, report = memcheck([path, str(server.server_address[1]), str(free_refusing_port())], tmp)
            assert r.returncode == 0, "exit %d\n%s%s" % (r.returncode, r.stderr, report)
            assert r.stdout == "script ok\n", r.stdout
        check("a script using cjson, xml, sigv4 and http: no memory errors, no leaks", script)

        def failing():
            r, report = memcheck(["-e", "error({code = 'Boom', message = 'on purpose', exit = 3})"], tmp)
            assert r.returncode == 3, "exit %d\n%s%s" % (r.returncode, r.stderr, report)
            assert r.stderr == "luaws: Boom: on purpose\n", r.stderr
        check("an uncaught error table: reported cleanly, no leaks", failing)

        def repl():
            r, report = memcheck(["repl"], tmp, stdin="t = {1, {2}, x = 'y'}\nt\nerror('e')\n=#t\n")
            assert r.returncode == 0, "exit %d\n%s%s" % (r.returncode, r.stderr, report)
            assert r.stdout == '{ 1, { 2 }, x = "y" }\n2\n', r.stdout
        check("a piped REPL session: no memory errors, no leaks", repl)

        def terminal_repl():
            # The REPL on a pty under memcheck (readline, history, completion, Ctrl-C paths).
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import repl_test
            wrapper = os.path.join(tmp, "luaws-under-valgrind")
            log = os.path.join(tmp, "valgrind-repl.log")
            with open(wrapper, "w") as f:
                f.write('#!/bin/sh\nexec valgrind --quiet --leak-check=full '
                        '--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect '
                        '--error-exitcode=9 --log-file=%s %s "$@"\n' % (log, os.path.abspath(BIN)))
            os.chmod(wrapper, 0o755)
            repl_test.BIN, repl_test.WAIT = wrapper, 300
            s = repl_test.Session(os.path.join(tmp, "history"))
            try:
                s.expect(r"luaws> ")
                s.line("function f()")
                s.expect(r"\.\.\.> ")
                s.line("return {1, 2}")
                s.line("end")
                s.expect(r"luaws> ")
                s.line("f()")
                s.answer(r"\n\{ 1, 2 \}\n")
                s.send("string.for\t")
                s.expect(r"format\(")
                s.send("\x03")
                s.expect(r"luaws> ")
                s.line("print('spinning') while true do end")
                s.expect(r"\nspinning\n")
                s.send("\x03")
                s.answer(r"interrupted!\n")
                s.line("error('e')")
                s.answer(r"stdin:1: e\n")
                s.eof()  # once libedit reads keys: a ^D before that is the line discipline's
                code = s.wait_exit()
            finally:
                s.close()
            with open(log) as f:
                report = f.read()
            assert code == 0, "exit %d\n%s" % (code, report)
        check("a REPL session on a terminal: no memory errors, no leaks", terminal_repl)
    finally:
        server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
