#!/usr/bin/env python3
"""repl_test: drives `luaws repl` through a pseudo-terminal the way a person would type."""
import fcntl
import os
import pty
import re
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import termios
import time

BIN = os.environ.get("LUAWS_BIN", "build/luaws")
SANITIZED = os.environ.get("LUAWS_SANITIZE") == "1"
# Only a guard against hanging forever; nothing here asserts on time.
WAIT = 60 if SANITIZED else 20
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1b[=>]")

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


class Session:
    """A luaws process on a pty; `expect` waits for a pattern in new output."""

    def __init__(self, history, args=("repl",)):
        env = dict(os.environ, TERM="dumb", INPUTRC="/dev/null", LUAWS_HISTORY=history)
        env.pop("LUAWS_DEBUG", None)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execve(BIN, [BIN, *args], env)
            finally:
                os._exit(127)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
        self.raw = ""
        self.seen = 0
        self.status = None

    def read_some(self, timeout):
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            data = b""
        if not data:
            raise EOFError("luaws closed the terminal; output so far: %r" % self.text())
        self.raw += data.decode("utf-8", "replace")
        return True

    def text(self):
        return ANSI.sub("", self.raw).replace("\r", "")

    def expect(self, pattern):
        """Waits for `pattern` (regex) in output not yet consumed; returns the match."""
        deadline = time.monotonic() + WAIT
        regex = re.compile(pattern)
        while True:
            m = regex.search(self.text(), self.seen)
            if m:
                self.seen = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r in %r" % (pattern, self.text()[self.seen:]))
            self.read_some(left)

    def answer(self, pattern):
        """Waits for a result and the prompt after it, as a person would before typing on."""
        return self.expect(pattern + r"luaws> ")

    def send(self, keys):
        os.write(self.fd, keys.encode())

    def line(self, text):
        self.send(text + "\r")

    def eof(self):
        """Ctrl-D once luaws reads keys. libedit prints the prompt before it turns canonical mode
        off; a ^D typed in between is taken by the kernel's line discipline (a NUL byte later),
        so a person's Ctrl-D always comes after. The pty master reports the slave's modes."""
        deadline = time.monotonic() + WAIT
        while termios.tcgetattr(self.fd)[3] & termios.ICANON:
            assert time.monotonic() < deadline, "luaws never read keys"
            time.sleep(0.01)
        self.send("\x04")

    def wait_exit(self):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                os.close(self.fd)
                return self.status
            try:
                self.read_some(0.1)
            except EOFError:
                pass
        raise AssertionError("luaws did not exit; output: %r" % self.text()[self.seen:])

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            os.close(self.fd)


def read_history(path):
    """The entries of a history file in libedit's format (a cookie line, then strvis-escaped
    entries: \\ooo octal and \\\\)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    assert lines[0] == "_HiStOrY_V2_", lines[:2]
    unescape = re.compile(r"\\([0-7]{3}|\\)")
    return [unescape.sub(lambda m: "\\" if m.group(1) == "\\" else chr(int(m.group(1), 8)), line)
            for line in lines[1:] if line]


def main():
    tmp = tempfile.mkdtemp(prefix="luaws-repl-")
    history = os.path.join(tmp, "history")
    s = Session(history)
    try:
        check("banner and prompt", lambda: (s.expect(r"aws. is loaded"), s.expect(r"luaws> ")))

        def multiline():
            s.line("function double(x)")
            s.expect(r"\.\.\.> ")
            s.line("  return x * 2")
            s.expect(r"\.\.\.> ")
            s.line("end")
            s.expect(r"luaws> ")
            s.line("double(21)")
            s.answer(r"\n42\n")
        check("a multi-line function definition, then a call", multiline)

        def pretty_table():
            s.line("{b = 2, a = {1, 2}, c = 'x', nested = {deep = {t = true}}}")
            s.answer(r'\n\{ a = \{ 1, 2 \}, b = 2, c = "x", nested = \{ deep = \{ t = true \} \} \}\n')
            s.line("=('quoted')")
            s.answer(r'\n"quoted"\n')
        check("an expression result is pretty-printed", pretty_table)

        def error_survives():
            s.line('error("boom")')
            s.answer(r"luaws: stdin:1: boom\n")
            s.line("=6*7")
            s.answer(r"\n42\n")
            s.line("error(setmetatable({}, {__tostring = function() return 'Tabled: shown' end}))")
            s.answer(r"luaws: Tabled: shown\n")
            s.line("x = = 1")
            s.answer(r"luaws: stdin:1: unexpected symbol near '='\n")
            s.line("=double(4)")
            s.answer(r"\n8\n")
        check("errors are shown and the session survives", error_survives)

        def ctrl_c_clears_line():
            s.send("this is not lua")
            s.expect(r"this is not lua")
            s.send("\x03")
            s.expect(r"luaws> ")
            s.line("=3*3")
            s.answer(r"\n9\n")
            assert "syntax error" not in s.text() and "near 'is'" not in s.text(), s.text()
            s.line("for i = 1, 3 do")
            s.expect(r"\.\.\.> ")
            s.send("\x03")
            s.expect(r"luaws> ")
            s.line("=10+1")
            s.answer(r"\n11\n")
        check("Ctrl-C at the prompt drops the line and a pending chunk", ctrl_c_clears_line)

        def ctrl_c_interrupts():
            s.line("spins = 0 print('spinning') while true do spins = spins + 1 end")
            s.expect(r"\nspinning\n")  # the chunk is running: now Ctrl-C must interrupt it
            s.send("\x03")
            s.answer(r"interrupted!\n")
            s.line("=math.type(spins)")  # the state survives, however far the loop got
            s.answer(r'\n"integer"\n')
            s.line("=double(50)")
            s.answer(r"\n100\n")
        check("Ctrl-C interrupts a running chunk and returns to the prompt", ctrl_c_interrupts)

        def ctrl_c_interrupts_http():
            # A server that accepts connections and never answers: the request blocks in curl.
            with socket.socket() as silent:
                silent.bind(("127.0.0.1", 0))
                silent.listen(8)
                port = silent.getsockname()[1]
                s.line("print('requesting') reply, err = require('luaws.http').request{url = "
                       "'http://127.0.0.1:%d/', timeout = 600}" % port)
                s.expect(r"\nrequesting\n")
                s.send("\x03")
                s.answer(r"interrupted!\n")
            s.line("=double(5)")
            s.answer(r"\n10\n")
        check("Ctrl-C interrupts a request blocked in HTTP", ctrl_c_interrupts_http)

        def completion():
            s.line("probe_table = {alpha_one = 1, beta = {}}")
            s.expect(r"luaws> ")
            s.send("probe_t\t")
            s.expect(r"probe_table\.")
            s.send("al\t")
            s.expect(r"alpha_one")
            s.send("\r")
            s.answer(r"\n1\n")
            s.send("aws.cl\t")
            s.expect(r"aws\.client\(")
            s.send("\x03")
            s.expect(r"luaws> ")
            s.line("obj = setmetatable({}, {__index = function(_, k) return function() return k end end,"
                   " __complete = function() return {'ListKeys', 'ListAliases'} end})")
            s.expect(r"luaws> ")
            s.send("obj:ListK\t")
            s.expect(r"obj:ListKeys\(")
            s.send(")\r")
            s.answer(r'\n"ListKeys"\n')
            s.send("=aws.vers\t\r")
            s.answer(r'\n"\d+\.\d+\.\d+"\n')
        check("Tab completes globals and table fields", completion)

        def history_recall():
            s.send("\x10\r")  # Ctrl-P: previous entry, `=aws.version`
            s.answer(r'\n"\d+\.\d+\.\d+"\n')
        check("history recalls the previous entry", history_recall)

        def ctrl_d_exits():
            s.eof()
            assert s.wait_exit() == 0, "exit status %r" % s.status
        check("Ctrl-D on an empty line exits 0", ctrl_d_exits)
    finally:
        s.close()

    def history_file():
        mode = stat.S_IMODE(os.stat(history).st_mode)
        assert mode == 0o600, "history mode %o" % mode
        entries = read_history(history)
        assert "double(21)" in entries, entries
        # A multi-line chunk is one entry, newlines kept (libedit escapes them in the file).
        assert "function double(x)\n  return x * 2\nend" in entries, entries
        assert not any("this is not lua" in e for e in entries), entries
        assert len(entries) == len(set(entries)), "an entry written twice: %r" % entries
    check("the history file is written, owner-only, one entry per chunk", history_file)

    def old_plain_history():
        # A history file of plain lines (GNU readline's, from before libedit) is read and
        # rewritten in libedit's format.
        old = os.path.join(tmp, "old-history")
        with open(old, "w") as f:
            f.write("=40+2\nprint('old session')\n")
        s3 = Session(old, args=())
        try:
            s3.expect(r"luaws> ")
            s3.send("\x10\x10\r")  # two entries back: =40+2
            s3.answer(r"\n42\n")
            s3.eof()
            assert s3.wait_exit() == 0, s3.status
        finally:
            s3.close()
        entries = read_history(old)
        assert entries[:2] == ["=40+2", "print('old session')"], entries
        with open(old) as f:
            assert f.readline() == "_HiStOrY_V2_\n"
    check("an old plain-text history file is kept and converted", old_plain_history)

    def history_next_session():
        s2 = Session(history, args=())  # plain `luaws` on a terminal is the REPL too
        try:
            s2.expect(r"luaws> ")
            s2.send("\x10\r")  # the last entry of the previous session
            s2.answer(r'\n"\d+\.\d+\.\d+"\n')
            s2.line("os.exit(3)")
            assert s2.wait_exit() == 3, "exit status %r" % s2.status
        finally:
            s2.close()
    check("`luaws` alone on a terminal: history carries over; os.exit ends it",
          history_next_session)

    def script_interrupted_in_http():
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)
            chunk = ("io.write('requesting\\n') io.flush() require('luaws.http').request{url = "
                     "'http://127.0.0.1:%d/', timeout = 600}" % silent.getsockname()[1])
            p = subprocess.Popen([BIN, "-e", chunk], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
            try:
                assert p.stdout.readline() == "requesting\n"
                p.send_signal(signal.SIGINT)
                out, err = p.communicate(timeout=WAIT)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        assert p.returncode == 130, (p.returncode, err)
        assert err == "luaws: interrupted\n", repr(err)
    check("Ctrl-C stops a script waiting on HTTP: exit 130", script_interrupted_in_http)

    def piped_repl():
        out = subprocess.run([BIN, "repl"], input="x = {1, 2}\n=#x\nerror('e')\nx[3] = 3\n=x\n",
                             capture_output=True, text=True, timeout=WAIT)
        assert out.returncode == 0, out
        assert out.stdout == "2\n{ 1, 2, 3 }\n", repr(out.stdout)
        assert out.stderr == "luaws: stdin:1: e\n", repr(out.stderr)
    check("a piped REPL reads lines without prompts", piped_repl)

    def no_libedit():
        os.environ["LUAWS_LIBEDIT"] = "/nonexistent/libedit.so.2"
        try:
            s4 = Session(os.path.join(tmp, "history-none"))
        finally:
            del os.environ["LUAWS_LIBEDIT"]
        try:
            s4.expect(r"luaws: no line editing \(/nonexistent/libedit\.so\.2: [^)]*\): reading plain lines\n")
            s4.line("=1 + 1")
            s4.expect(r"\n2\n")
            s4.send("\x04")  # the terminal's line discipline turns it into end of input
            assert s4.wait_exit() == 0
        finally:
            s4.close()
    check("without libedit a terminal session reads plain lines and says so", no_libedit)

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
