#!/usr/bin/env python3
"""install_test: `cmake --install` into a temporary prefix gives a luaws that runs on its own;
a DESTDIR-staged tree still runs after it is moved (the demo on the local cloud, the REPL), the
man page renders, and the bash completion completes recipe names and profiles."""
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

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


def pty_session(argv, env, cwd, script, timeout=30):
    """Runs argv on a pseudo-terminal; script is a list of (keys to send, regex to wait for).
    Returns the whole output (control sequences and carriage returns removed)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.chdir(cwd)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    out = ""
    ansi = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1b[=>]|\r|\x07")
    try:
        seen = 0
        for keys, pattern in script:
            if keys:
                os.write(fd, keys.encode())
            deadline = time.monotonic() + timeout
            while True:
                m = re.compile(pattern).search(ansi.sub("", out), seen)
                if m:
                    seen = m.end()
                    break
                left = deadline - time.monotonic()
                assert left > 0, "no %r in %r" % (pattern, ansi.sub("", out)[seen:])
                ready, _, _ = select.select([fd], [], [], left)
                if ready:
                    try:
                        data = os.read(fd, 4096)
                    except OSError:
                        data = b""
                    assert data, "the session ended; output: %r" % ansi.sub("", out)
                    out += data.decode("utf-8", "replace")
        return ansi.sub("", out)
    finally:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)


def staged_checks(tmp):
    """DESTDIR staging, then the staged tree moved elsewhere: everything still runs."""
    stage = os.path.join(tmp, "stage")
    moved = os.path.join(tmp, "moved", "luaws")
    home = os.path.join(tmp, "home")
    os.makedirs(os.path.join(home, ".aws"))
    with open(os.path.join(home, ".aws", "config"), "w") as f:
        f.write("[default]\nregion = us-east-1\n[profile prod-admin]\nregion = eu-west-1\n"
                "[profile staging]\nregion = eu-west-2\n")
    binary = os.path.join(moved, "bin", "luaws")

    def destdir_and_move():
        env = dict(os.environ, DESTDIR=stage)
        r = run(["cmake", "--install", BUILD_DIR, "--prefix", "/opt/luaws"], env=env)
        assert r.returncode == 0, r.stderr
        staged = os.path.join(stage, "opt", "luaws")
        for rel in ("bin/luaws", "share/luaws/lua/luaws/init.lua", "share/man/man1/luaws.1",
                    "share/bash-completion/completions/luaws",
                    "share/zsh/vendor-completions/_luaws", "share/doc/luaws/LICENSE"):
            assert os.path.isfile(os.path.join(staged, rel)), "not staged: " + rel
        os.makedirs(os.path.dirname(moved))
        shutil.move(staged, moved)
        r = run([binary, "-e", 'io.write(require("luaws.host").data_dir)'], cwd=tmp,
                env=clean_env(HOME=home))
        assert r.returncode == 0, r.stderr
        assert r.stdout == os.path.join(moved, "share", "luaws"), r.stdout
    check("a DESTDIR-staged tree, moved elsewhere, finds its own files", destdir_and_move)
    if not os.path.isfile(binary):
        return

    def demo_from_moved_tree():
        r = subprocess.run([os.path.join(SOURCE_DIR, "tools", "demo"), binary], capture_output=True,
                           text=True, timeout=240, env=clean_env(), cwd=tmp)
        assert r.returncode == 0, "exit %d: %s" % (r.returncode, (r.stdout + r.stderr)[-3000:])
        out = r.stdout + r.stderr
        assert "status: healthy" in out, out[-3000:]
        assert "Nothing to do: everything is already in place." in out, out[-3000:]
        assert "Successful: Launching a new EC2 instance" in out, out[-3000:]
    check("the demo (plan, apply, verify on the local cloud) runs with the moved binary",
          demo_from_moved_tree)

    def repl_from_moved_tree():
        env = clean_env(HOME=home, TERM="dumb", LUAWS_HISTORY=os.path.join(tmp, "history"))
        out = pty_session([binary, "repl"], env, tmp, [
            ("", r"luaws> "),
            ("=require('luaws.host').data_dir\r", r'\n"(.*)"\nluaws> '),
            ("=aws.client('kms', {region = 'us-east-1', credentials = false}).service_name\r",
             r'\n"kms"\nluaws> '),
        ])
        assert '"%s"' % os.path.join(moved, "share", "luaws") in out, out
    check("the REPL of the moved tree starts, uses its files and makes a client", repl_from_moved_tree)

    def man_page_renders():
        page = os.path.join(moved, "share", "man", "man1", "luaws.1")
        r = run(["man", "-l", page], env=dict(os.environ, MANWIDTH="80"))
        assert r.returncode == 0, r.stderr
        assert r.stderr == "", "man warns: " + r.stderr
        for heading in ("NAME", "SYNOPSIS", "COMMANDS", "OPTIONS", "ENVIRONMENT", "EXIT STATUS"):
            assert re.search(r"^%s$" % heading, r.stdout, re.M), heading + " missing"
        assert "help service [operation]" in r.stdout, r.stdout[:800]
        r = run(["groff", "-ww", "-man", "-z", page])
        assert r.returncode == 0 and r.stderr == "", "groff warns: " + r.stderr
    check("the installed man page renders without warnings", man_page_renders)

    def bash_completion():
        bashrc = os.path.join(tmp, "bashrc")
        with open(bashrc, "w") as f:
            f.write("PS1='$ '\nsource %s\n" % os.path.join(
                moved, "share", "bash-completion", "completions", "luaws"))
        env = clean_env(HOME=home, TERM="dumb", PATH=os.path.join(moved, "bin") + ":" + os.environ["PATH"],
                        INPUTRC="/dev/null")
        out = pty_session(["/bin/bash", "--noprofile", "--rcfile", bashrc, "-i"], env, tmp, [
            ("", r"\$ $"),
            ("luaws run who\t", r"luaws run whoami "),
            ("--prof\t", r"--profile "),
            ("prod\t", r"prod-admin "),
            ("\x15luaws --profile sta\t", r"luaws --profile staging "),
            ("\x15luaws help kms CreateG\t", r"luaws help kms CreateGrant "),
            ("\x15exit\r", r"exit"),
        ])
        assert "whoami" in out, out
    check("bash completes a recipe name, its options, profiles and operations", bash_completion)

    def zsh_completion():
        if shutil.which("zsh") is None:
            print("note: no zsh here; its completion is not exercised", flush=True)
            return
        zdot = os.path.join(tmp, "zdot")
        os.makedirs(zdot)
        with open(os.path.join(zdot, ".zshrc"), "w") as f:
            f.write("PS1='%%%% '\nfpath=(%s $fpath)\nautoload -U compinit && compinit -u -d %s\n" % (
                os.path.join(moved, "share", "zsh", "vendor-completions"), os.path.join(zdot, "dump")))
        env = clean_env(HOME=home, ZDOTDIR=zdot, TERM="xterm",
                        PATH=os.path.join(moved, "bin") + ":" + os.environ["PATH"])
        out = pty_session(["/usr/bin/env", "zsh", "-i"], env, tmp, [
            ("", r"% $"),
            ("luaws run who\t", r"luaws run whoami "),
            ("--profile sta\t", r"staging "),
            ("\x15luaws help kms CreateG\t", r"(CreateG)?rant "),  # zsh may redraw only the new part
            ("\x15exit\r", r"exit"),
        ])
        assert "whoami" in out, out
    check("zsh completes a recipe name, a profile and an operation", zsh_completion)


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
        staged_checks(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
