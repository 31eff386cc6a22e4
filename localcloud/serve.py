#!/usr/bin/env python3
"""serve.py: starts the local cloud (moto 5.2.1 in server mode) on 127.0.0.1 for tests and the demo.

Prints one line, `LOCALCLOUD READY http://127.0.0.1:PORT pid=PID`, once the server answers, and
then serves until SIGTERM/SIGINT or until the process that started it exits (so a crashed test
never leaves a server behind).

Signature checking: `--auth N` lets the first N requests through unchecked (bootstrap), then
every request's SigV4 signature and IAM policy is checked (moto's INITIAL_NO_AUTH_ACTION_COUNT).

Unless `--stock`, extensions.py adds the AWS behaviours the cross-account story needs and the
`/localcloud-api/` endpoints (seed, reconcile); `--asg-retry S` retries failed Auto Scaling
launches every S seconds. See docs/localcloud.md.
"""
import argparse
import os
import signal
import socket
import sys
import threading
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keep_sso_bearer_header(base):
    """Werkzeug drops request headers with '_' in their name; the SSO portal's bearer token header
    (x-amz-sso_bearer_token) has one, so this handler puts it back into the WSGI environ."""
    class Handler(base):
        def make_environ(self):
            environ = super().make_environ()
            token = self.headers.get("x-amz-sso_bearer_token")
            if token is not None:
                environ["HTTP_X_AMZ_SSO_BEARER_TOKEN"] = token
            return environ
    return Handler


def serve(port=0, auth=None, stock=False, asg_retry=5.0, wrap_app=None, request_handler=None,
          on_server=None):
    """Starts the local cloud, prints the READY line, and serves until SIGTERM/SIGINT or until the
    parent process exits. Returns the exit code.

    Hooks for bench/cloud.py's request meter: wrap_app(app) -> app wraps the WSGI application
    (outside the extensions), request_handler is a Werkzeug handler class, and on_server(server)
    sees the Werkzeug server before it starts serving."""
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    os.environ.pop("MOTO_ACCOUNT_ID", None)  # would force every request into one account
    if auth is not None:
        os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = str(auth)

    extensions = None
    if not stock:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import extensions  # patches moto's services as moto imports them

    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Server(ThreadedMotoServer):
        """moto's threaded server, with the extensions' /localcloud-api/ in front."""

        def _server_entry(self):
            app = DomainDispatcherApplication(create_backend_app)
            if extensions is not None:
                app = extensions.wrap(app)
            if wrap_app is not None:
                app = wrap_app(app)
            options = {"request_handler": request_handler} if request_handler else {}
            if extensions is not None:
                options["request_handler"] = keep_sso_bearer_header(request_handler or WSGIRequestHandler)
            self._server = make_server(self._ip_address, self._port, app, True, **options)
            if on_server is not None:
                on_server(self._server)
            self._server_ready_event.set()
            self._server.serve_forever()

    port = port or free_port()
    server = Server(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/data.json", timeout=2).read()
            break
        except OSError:
            if time.time() > deadline:
                print("LOCALCLOUD FAILED to start", flush=True)
                return 1
            time.sleep(0.05)
    print(f"LOCALCLOUD READY {url} pid={os.getpid()}", flush=True)
    if extensions is not None and asg_retry > 0:
        extensions.start_reconcile(asg_retry)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    parent = os.getppid()
    while not stop.wait(0.5):
        if os.getppid() != parent:
            break
    server.stop()
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--auth", default=None,
                        help="requests allowed before SigV4/IAM checking starts (default: off)")
    parser.add_argument("--stock", action="store_true", help="plain moto, without luaws extensions")
    parser.add_argument("--asg-retry", type=float, default=5.0,
                        help="seconds between Auto Scaling launch retries (0: only on demand)")
    args = parser.parse_args()
    return serve(port=args.port, auth=args.auth, stock=args.stock, asg_retry=args.asg_retry)


if __name__ == "__main__":
    sys.exit(main())
