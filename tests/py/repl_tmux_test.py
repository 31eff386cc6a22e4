#!/usr/bin/env python3
"""repl_tmux_test: the REPL in a real terminal (tmux send-keys / capture-pane): history across
sessions, a multi-line function, Tab completion of service names in aws.client(", of
operations after client: and of parameter names in a call's table, help for an operation and
help(), and results printed without ResponseMetadata (a call to moto on 127.0.0.1).

Uses s3 and dynamodb when their models are built in, else the services that are (kms,
organizations): the test says which."""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.path.realpath(os.environ.get("LUAWS_BIN", "build/luaws"))
SOURCE_DIR = os.path.realpath(os.environ.get("LUAWS_SOURCE_DIR", "."))
WAIT = 60 if os.environ.get("LUAWS_SANITIZE") == "1" else 20

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


class Tmux:
    """One tmux server of our own (its own socket) running luaws in a 200x50 window."""

    def __init__(self, tmp, env):
        self.socket = os.path.join(tmp, "tmux.sock")
        self.env = env
        self.session = None

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True, text=True,
                              timeout=30, env=self.env)

    def start(self, name, command):
        self.session = name
        r = self.tmux("new-session", "-d", "-s", name, "-x", "200", "-y", "50", command)
        assert r.returncode == 0, r.stderr

    def keys(self, *keys, literal=False):
        r = self.tmux("send-keys", "-t", self.session, *(["-l"] if literal else []), *keys)
        assert r.returncode == 0, r.stderr

    def type(self, text):
        self.keys(text, literal=True)  # literal: "end" must not be tmux's End key

    def screen(self):
        return self.tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", self.session).stdout

    def wait_for(self, pattern, after=0):
        """Waits until the screen (from the `after`-th match of the prompt on) matches."""
        deadline = time.monotonic() + WAIT
        regex = re.compile(pattern, re.M)
        while True:
            text = self.screen()
            m = regex.search(text)
            if m:
                return m, text
            if time.monotonic() > deadline:
                raise AssertionError("no %r on screen:\n%s" % (pattern, text[-3000:]))
            time.sleep(0.1)

    def prompt_count(self):
        return len(re.findall(r"^luaws> ", self.screen(), re.M))

    def run(self, line, pattern):
        """Types a line and Enter, waits for `pattern` and a fresh prompt after it."""
        before = self.prompt_count()
        self.type(line)
        self.keys("Enter")
        deadline = time.monotonic() + WAIT
        while self.prompt_count() <= before:
            if time.monotonic() > deadline:
                raise AssertionError("no prompt after %r:\n%s" % (line, self.screen()[-3000:]))
            time.sleep(0.1)
        return self.wait_for(pattern)

    def kill(self):
        self.tmux("kill-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def services():
    r = subprocess.run([BIN, "-e", 'for _, n in ipairs(require("luaws.sdk.help").services()) do print(n) end'],
                       capture_output=True, text=True, timeout=60)
    return set(r.stdout.split())


def main():
    if shutil.which("tmux") is None:
        print("FAIL tmux is not installed (tools/setup-deps installs it)")
        return 1
    have = services()
    full = {"s3", "dynamodb"} <= have
    # The services the keystrokes aim at: s3/dynamodb when built in, else kms/organizations.
    svc_prefix, svc_name = ("dyn", "dynamodb") if full else ("organ", "organizations")
    op_client, op_prefix, op_full = ("s3", "s3:Put", "PutObject") if full else ("kms", "kms:Re", "RetireGrant")
    help_target, help_first = (("s3 PutObject", "Bucket") if full else ("kms CreateGrant", "KeyId"))
    print("note: testing with %s" % ("s3 and dynamodb" if full else
                                     "kms and organizations (no s3/dynamodb model built in)"), flush=True)

    tmp = tempfile.mkdtemp(prefix="luaws-tmux-")
    port = free_port()
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LUAWS_DEBUG", "TMUX"))}
    env.update(HOME=tmp, TERM="xterm-256color", LANG="C.UTF-8", LUAWS_HISTORY=os.path.join(tmp, "history"),
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
               AWS_ENDPOINT_URL="http://127.0.0.1:%d" % port, AWS_EC2_METADATA_DISABLED="true")
    t = Tmux(tmp, env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "moto did not start"
                time.sleep(0.2)
        t.start("repl", BIN + " repl")
        t.wait_for(r"^luaws> ")

        def multiline():
            t.type("function double(x)")
            t.keys("Enter")
            t.wait_for(r"^\.\.\.> ")
            t.type("  return x * 2")
            t.keys("Enter")
            t.type("end")
            t.keys("Enter")
            t.run("double(21)", r"^42$")
        check("a multi-line function, then a call", multiline)

        def complete_service():
            # "dyn" is dynamodb and dynamodbstreams: Tab goes as far as they agree, a second Tab
            # lists them; a unique name gets its closing quote.
            t.type('c = aws.client("%s' % svc_prefix)
            t.keys("Tab")
            t.wait_for(r'^luaws> c = aws\.client\("%s' % svc_name)
            if full:
                t.keys("Tab")
                t.wait_for(r"\bdynamodbstreams\b")
                t.type('"')
            t.type(")")
            t.run("", r"^luaws> c = aws\.client\(\"%s\"\)$" % svc_name)
            t.run("c.service_name", r'^"%s"$' % svc_name)
        check('Tab completes a service name in aws.client("%s' % svc_prefix, complete_service)

        def complete_operation():
            t.run('%s = aws.client("%s")' % (op_client, op_client), r"^luaws> %s = " % op_client)
            # Tab twice lists the candidates (PutObject among many for s3:Put); more letters and
            # Tab complete the unique one.
            t.type(op_prefix)
            t.keys("Tab")
            t.keys("Tab")
            t.wait_for(r"\b%s\b" % op_full)
            t.type(op_full[len(op_prefix.split(":")[1]):] + ("T" if full else ""))
            t.keys("Tab")
            completed = op_full + ("Tagging" if full else "")
            t.wait_for(r"^luaws> %s:%s\($" % (op_client, completed))
            t.keys("C-c")
            t.wait_for(r"\^C$")
        check("Tab lists %s:%s among %s candidates, then completes" % (op_client, op_full, op_prefix),
              complete_operation)

        def complete_parameter():
            t.run('k = aws.client("kms")', r"^luaws> k = ")
            t.type("k:CreateGrant{Grantee")
            t.keys("Tab")
            t.wait_for(r"^luaws> k:CreateGrant\{GranteePrincipal=")
            t.keys("C-c")
            t.wait_for(r"\^C$")
            # On a continuation line of the call too.
            t.type("g = k:CreateGrant{")
            t.keys("Enter")
            t.wait_for(r"^\.\.\.> $")
            t.type("  KeyId = 'k', Retiring")
            t.keys("Tab")
            t.wait_for(r"^\.\.\.>   KeyId = 'k', RetiringPrincipal=")
            t.keys("C-c")
            t.wait_for(r"RetiringPrincipal=\^C$")
        check("Tab completes a parameter name inside the call's table, on any of its lines",
              complete_parameter)

        def help_operation():
            m, screen = t.run('help "%s"' % help_target, r"^Parameters \(\* required\):$")
            assert re.search(r"^  %s\*\s+string" % help_first, screen, re.M), screen[-3000:]
            svc, op = help_target.split()
            assert re.search(r"^%s %s" % (svc, op), screen, re.M), screen[-3000:]
            if full:
                assert "Adds an object to a bucket." in screen, screen[-3000:]
        check('help "%s" lists its parameters' % help_target, help_operation)

        def help_repl():
            m, screen = t.run("help()", r"^The luaws REPL")
            assert "ResponseMetadata" in screen and "Ctrl-D exits" in screen, screen[-2000:]
        check("help() explains the REPL", help_repl)

        def no_response_metadata():
            t.run('k:CreateKey{Description = "tmux test"}', r"KeyMetadata")
            t.run("r = k:ListKeys()", r"^luaws> r = k:ListKeys\(\)$")
            m, screen = t.run("r", r"Truncated = false")
            tail = screen[screen.rindex("luaws> r\n"):]
            assert "KeyId = " in tail, tail
            assert "ResponseMetadata" not in tail and "RequestId" not in tail, tail
            m, screen = t.run("r.ResponseMetadata.HTTPStatusCode", r"^200$")
        check("a call's result prints without ResponseMetadata, which is there when asked",
              no_response_metadata)

        def history_across_sessions():
            t.run("=6*7", r"^42$")
            t.keys("C-d")
            time.sleep(0.5)
            t.start("again", BIN + " repl")
            t.wait_for(r"^luaws> ")
            t.keys("Up")
            t.wait_for(r"^luaws> =6\*7")
            t.keys("Enter")
            t.wait_for(r"^42$")
            # Further back: the multi-line function, recalled as one entry, runs again.
            t.keys("C-r")
            t.type("function dou")
            t.wait_for(r"function double")
            t.keys("Enter")
            t.run("double(5)", r"^10$")
            mode = os.stat(os.path.join(tmp, "history")).st_mode & 0o777
            assert mode == 0o600, "history mode %o" % mode
        check("history carries over to the next session (~/.luaws_history, 0600)",
              history_across_sessions)
    finally:
        t.kill()
        moto.terminate()
        moto.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
