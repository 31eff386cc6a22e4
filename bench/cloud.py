#!/usr/bin/env python3
"""cloud: the local cloud (moto + luaws's extensions, as localcloud/serve.py) with a request meter.

    python3 bench/cloud.py [--port N] [--asg-retry 0]

Prints `LOCALCLOUD READY <url> pid=<pid>` like serve.py. On top of serve.py it counts every AWS
request and times it inside the server, so a benchmark can ask how many requests a client made
and how much of its wall time was moto's own work, without a proxy in the path:

* server time (`server_seconds`): from Werkzeug accepting the connection (moto answers
  `Connection: close`, so every request has its own) to the response body being ready to write
  (thread start, parsing, moto, serialising): what a client must wait for. Werkzeug's
  ~10 ms linger for the client's close after each response is not counted: a client that stops
  at Content-Length never waits for it.
* app time (`app_seconds`): the WSGI application alone (moto's routing and backend work).

POST /bench-api/latency with {"seconds": S} makes every counted request wait S seconds (sleeping,
outside the GIL) before moto sees it, to stand in for a real region's round trip; 0 turns it off.
GET /bench-api/stats returns the totals since the last POST /bench-api/reset, per action too, with
the most requests inside the server at once and the first-start/last-end times (server clock).
/bench-api/, /moto-api/ and /localcloud-api/ requests are not counted.
"""
import argparse
import io
import json
import os
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
LOCALCLOUD = os.path.join(os.path.dirname(HERE), "localcloud")
UNCOUNTED = ("/bench-api/", "/moto-api/", "/localcloud-api/")
ACCEPTED = {}  # socket fd -> when the server accepted it
LATENCY = {"seconds": 0.0}


class Meter:
    """Per-request records, kept small: (action, app seconds, server seconds, start, end)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.local = threading.local()
        self.inside = 0
        self.reset()

    def reset(self):
        with self.lock:
            self.records = []
            self.max_inside = self.inside

    def enter(self):
        with self.lock:
            self.inside += 1
            self.max_inside = max(self.max_inside, self.inside)

    def leave(self):
        with self.lock:
            self.inside -= 1

    def record(self, record):
        with self.lock:
            self.records.append(record)

    def stats(self):
        with self.lock:
            records = list(self.records)
            max_inside = self.max_inside
        actions = {}
        for action, _, served, _, _ in records:
            entry = actions.setdefault(action, {"count": 0, "server_seconds": 0.0})
            entry["count"] += 1
            entry["server_seconds"] += served
        return {
            "requests": len(records),
            "app_seconds": sum(r[1] for r in records),
            "server_seconds": sum(r[2] for r in records),
            "first_start": min((r[3] for r in records), default=None),
            "last_end": max((r[4] for r in records), default=None),
            "max_inside": max_inside,  # requests inside moto's app at once
            "actions": actions,
        }


METER = Meter()


def action_of(environ):
    """The AWS operation: X-Amz-Target for JSON services, Action= in the form body for query ones.
    Reading the body replaces wsgi.input with a buffer so moto still sees it."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    return (form.get("Action") or query.get("Action") or ["?"])[0]


def metered(app):
    """WSGI middleware: times the app for counted requests and answers /bench-api/."""
    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/bench-api/"):
            if path == "/bench-api/reset":
                METER.reset()
                payload = {"reset": True}
            elif path == "/bench-api/latency":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                LATENCY["seconds"] = float(json.loads(environ["wsgi.input"].read(length))["seconds"])
                payload = dict(LATENCY)
            else:
                payload = METER.stats()
            body = json.dumps(payload).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        if path.startswith(UNCOUNTED):
            return app(environ, start_response)
        action = action_of(environ)
        if LATENCY["seconds"] > 0:
            time.sleep(LATENCY["seconds"])
        started = time.perf_counter()
        METER.enter()
        try:
            result = app(environ, start_response)
            try:
                body = b"".join(result)  # the app's work ends when its body is produced
            finally:
                if hasattr(result, "close"):
                    result.close()
        finally:
            METER.leave()
        ended = time.perf_counter()
        # Werkzeug writes the body next; then it lingers up to 10 ms for the client to close,
        # which no client that stops at Content-Length waits for: so the server time ends here.
        request_started = getattr(METER.local, "request_started", started)
        METER.record((action, ended - started, ended - request_started, request_started, ended))
        return [body]
    return application


def handler_class():
    from werkzeug.serving import WSGIRequestHandler

    class TimedHandler(WSGIRequestHandler):
        """Notes when each request started: when its connection was accepted."""

        def handle_one_request(self):
            now = time.perf_counter()
            METER.local.request_started = ACCEPTED.pop(self.connection.fileno(), now)
            super().handle_one_request()

        def log_request(self, *args, **kwargs):
            pass
    return TimedHandler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--asg-retry", type=float, default=0.0)
    args = parser.parse_args()
    sys.path.insert(0, LOCALCLOUD)
    import serve

    def note_accepts(server):
        process_request = server.process_request

        def accepted(request, client_address):
            ACCEPTED[request.fileno()] = time.perf_counter()
            process_request(request, client_address)
        server.process_request = accepted

    return serve.serve(port=args.port, asg_retry=args.asg_retry, wrap_app=metered,
                       request_handler=handler_class(), on_server=note_accepts)


if __name__ == "__main__":
    sys.exit(main())
