#!/usr/bin/env python3
"""fakeserver.py: a scriptable HTTP/1.1 server on 127.0.0.1 for transport, retry and credential tests.

Usage
    python3 tests/lib/fakeserver.py [--tls CERT.pem KEY.pem] [SCRIPT.json | --json '{"routes": ...}']
    python3 tests/lib/fakeserver.py --blackhole   # a port whose connects never complete

Prints `FAKESERVER READY <port>` as its first stdout line once it listens on 127.0.0.1:<port>
(port chosen by the OS; HTTPS with --tls), then serves until SIGTERM/SIGINT, `POST /_shutdown`,
or until the process that started it goes away (its stdout pipe closes or its parent changes).
From Lua, use tests/lib/fakeserver.lua: `local s = fakeserver.start{routes = {...}}` (s.url,
s.port, s.log(), s.reset(), s.script{...}, s.stop()).

Script (JSON; every key optional):
    {
      "routes":   {"/path": RESPONSE | [RESPONSE, ...], "PUT /path": ..., ...},
      "sequence": [RESPONSE, ...],
      "default":  RESPONSE
    }
A request is answered by the first match of: "METHOD /path" in routes, "/path" in routes (path
without the query string), then `sequence`, then `default`, then a plain 200 "ok". A list is
consumed in order, one entry per request, and its last entry repeats.

RESPONSE fields (all optional):
    status      HTTP status (200)
    headers     {"Name": "value"} or [["Name", "value"], ...]; Content-Length is added
    body        text body ("")          body_size  N bytes of "x" instead of body
    body_hex    a binary body, as hex
    echo        true: the body is the request body
    delay       seconds to wait before answering
    close       true: send the headers and half the body, then reset the connection (RST)
    stall       seconds to read the request and say nothing, then drop the connection (default
                30 when true)
    linger      seconds to keep the socket open after a `Connection: close` response (the
                response itself is complete; a good client does not wait for the close)
    keep_alive  false: answer with `Connection: close` and close after the response
    chunks      [{"hex": "0a0b", "text": "..", "delay": seconds}, ...]: a chunked body sent piece
                by piece, each after its delay (event streams arriving slowly); with
                "abort": true the connection is reset after the last piece instead of ending

Control endpoints (never logged, never scripted):
    GET  /_log       JSON list of the requests seen: {method, path, query, headers (names
                     lower-cased, repeats joined with ", "), header_list ([[name, value]] as
                     sent), body, body_hex (the bytes as hex), conn (connection number: equal
                     numbers = reused connection), time}
    POST /_reset     clears the log and the position in every list
    POST /_script    replaces the script with the JSON body (and resets)
    POST /_shutdown  exits
"""
import json
import os
import select
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"script": {}, "positions": {}, "log": [], "connections": 0}


def reset_state(script=None):
    with LOCK:
        if script is not None:
            STATE["script"] = script
        STATE["positions"] = {}
        STATE["log"] = []


def next_response(method, path):
    """Picks the scripted response for a request (consuming one entry of a list)."""
    script = STATE["script"]
    routes = script.get("routes") or {}
    for key in (method + " " + path, path):
        if key in routes:
            return take(key, routes[key])
    if script.get("sequence"):
        return take("\0sequence", script["sequence"])
    if script.get("default") is not None:
        return take("\0default", script["default"])
    return {"status": 200, "body": "ok"}


def take(key, entry):
    if not isinstance(entry, list):
        return entry
    with LOCK:
        pos = STATE["positions"].get(key, 0)
        STATE["positions"][key] = pos + 1
    return entry[min(pos, len(entry) - 1)] if entry else {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with LOCK:
            STATE["connections"] += 1
            self.conn_id = STATE["connections"]

    def log_message(self, fmt, *args):  # quiet: tests read /_log instead
        pass

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_plain(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def control(self, path, body):
        if path == "/_log":
            with LOCK:
                data = json.dumps(STATE["log"]).encode()
            self.send_plain(200, data)
        elif path == "/_reset":
            reset_state()
            self.send_plain(200, b"{}")
        elif path == "/_script":
            reset_state(json.loads(body.decode() or "{}"))
            self.send_plain(200, b"{}")
        elif path == "/_shutdown":
            self.send_plain(200, b"{}")
            self.wfile.flush()
            os._exit(0)
        else:
            self.send_plain(404, b'{"error": "unknown control endpoint"}')

    def serve(self):
        path, _, query = self.path.partition("?")
        body = self.read_body()
        if path.startswith("/_"):
            self.control(path, body)
            return
        headers = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = headers[key] + ", " + value if key in headers else value
        with LOCK:
            STATE["log"].append({
                "method": self.command, "path": path, "query": query, "headers": headers,
                "header_list": [[n, v] for n, v in self.headers.items()],
                "body": body.decode("utf-8", "replace"), "body_hex": body.hex(), "conn": self.conn_id,
                "time": time.time(),
            })
        self.respond(next_response(self.command, path), body)

    def respond(self, spec, request_body):
        if spec.get("delay"):
            time.sleep(float(spec["delay"]))
        if spec.get("stall"):
            stall = spec["stall"]
            time.sleep(30.0 if stall is True else float(stall))
            self.close_connection = True
            return
        if spec.get("echo"):
            body = request_body
        elif spec.get("body_hex") is not None:
            body = bytes.fromhex(spec["body_hex"])
        elif spec.get("body_size") is not None:
            body = b"x" * int(spec["body_size"])
        else:
            body = str(spec.get("body", "")).encode()
        headers = spec.get("headers") or {}
        if isinstance(headers, dict):
            headers = list(headers.items())
        if spec.get("chunks") is not None:
            self.respond_chunked(spec, headers)
            return
        linger = spec.get("linger")
        closing = linger is not None or spec.get("keep_alive") is False
        self.send_response_only(int(spec.get("status", 200)))
        for name, value in headers:
            self.send_header(name, str(value))
        if not any(name.lower() == "content-length" for name, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        if closing:
            self.send_header("Connection", "close")
        self.end_headers()
        if spec.get("close"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.reset_connection()
            return
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
        if closing:
            self.close_connection = True
            if linger:
                time.sleep(float(linger))

    def respond_chunked(self, spec, headers):
        self.send_response_only(int(spec.get("status", 200)))
        for name, value in headers:
            self.send_header(name, str(value))
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        for piece in spec["chunks"]:
            if piece.get("delay"):
                time.sleep(float(piece["delay"]))
            data = bytes.fromhex(piece["hex"]) if "hex" in piece else str(piece.get("text", "")).encode()
            if data:
                self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
                self.wfile.flush()
        if spec.get("abort"):
            self.reset_connection()
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def reset_connection(self):
        """Closes with SO_LINGER 0 so the peer sees a reset, not an orderly end."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = serve


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):  # resets and timeouts are expected here
        pass


def watch_parent():
    """Exits when whoever started us is gone: stdout's reader closed, or the parent changed."""
    parent = os.getppid()
    poller = select.poll()
    try:
        poller.register(sys.stdout.fileno(), 0)  # POLLERR/POLLHUP are always reported
    except (OSError, ValueError):
        poller = None
    while True:
        if poller is not None:
            for _, events in poller.poll(200):
                if events & (select.POLLERR | select.POLLHUP):
                    os._exit(0)
        else:
            time.sleep(0.2)
        if os.getppid() != parent:
            os._exit(0)


def blackhole():
    """Listens with a full accept queue and never accepts: new connects hang (connect timeouts)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    held = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(listener.getsockname())
        except BlockingIOError:
            pass
        held.append(filler)
    print("FAKESERVER READY %d" % listener.getsockname()[1], flush=True)
    watch_parent()
    return 0


def main(argv):
    if argv[:1] == ["--blackhole"]:
        return blackhole()
    script = {}
    tls = None
    if len(argv) >= 3 and argv[0] == "--tls":
        tls, argv = argv[1:3], argv[3:]
    if len(argv) >= 2 and argv[0] == "--json":
        script = json.loads(argv[1])
    elif argv:
        with open(argv[0]) as f:
            script = json.load(f)
    reset_state(script)
    server = Server(("127.0.0.1", 0), Handler)
    if tls:
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls[0], tls[1])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print("FAKESERVER READY %d" % server.server_address[1], flush=True)
    threading.Thread(target=watch_parent, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
