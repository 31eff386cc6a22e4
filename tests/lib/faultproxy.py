#!/usr/bin/env python3
"""faultproxy: an HTTP proxy on 127.0.0.1 that injects AWS-style faults between luaws and the local cloud.

    faultproxy.py --upstream http://127.0.0.1:PORT [--seed N] [--rate 0.3] [--faults a,b,...]

Prints `FAULTPROXY READY <port>` first, then forwards every request to the upstream. With
probability --rate (seeded, so a run is reproducible) a request gets one fault instead, chosen from
--faults:

  throttle   answers the service's throttling error without forwarding (JSON ThrottlingException
             for JSON services, XML Throttling / RequestLimitExceeded for query and EC2)
  500, 503   answers an InternalFailure / ServiceUnavailable without forwarding
  reset      closes the connection without an answer, before forwarding
  reset-after forwards (the change happens), then closes without an answer: the ambiguous case
  stall      holds the connection for --stall seconds without an answer, then closes it
  truncate   forwards, then sends the full Content-Length but only half of the body
  html       answers 502 with an HTML page, like a load balancer in front of the service

GET /_faults answers the counts so far as JSON ({"requests": n, "injected": {...}}). Exits when its
parent process exits.
"""
import argparse
import http.client
import json
import os
import random
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ALL_FAULTS = ["throttle", "500", "503", "reset", "reset-after", "stall", "truncate", "html"]


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.random = random.Random(args.seed)
        self.rate = args.rate
        self.faults = args.faults
        self.stall = args.stall
        self.requests = 0
        self.injected = {}
        upstream = urllib.parse.urlsplit(args.upstream)
        self.upstream = (upstream.hostname, upstream.port)

    def pick(self):
        with self.lock:
            self.requests += 1
            if self.random.random() >= self.rate:
                return None
            fault = self.random.choice(self.faults)
            self.injected[fault] = self.injected.get(fault, 0) + 1
            return fault


def error_body(headers, code, message):
    """The error document the service would send, in its protocol's shape."""
    content_type = headers.get("Content-Type", "")
    if "json" in content_type:
        return "application/x-amz-json-1.1", json.dumps({"__type": code, "message": message}).encode()
    body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>fault-proxy</RequestId></ErrorResponse>")
    return "text/xml", body.encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, *args):
        pass

    def send(self, status, content_type, body, declared_length=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(declared_length if declared_length is not None else len(body)))
        self.send_header("x-amzn-RequestId", "fault-proxy")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def forward(self, body):
        conn = http.client.HTTPConnection(*self.state.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        conn.request(self.command, self.path, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        result = (response.status, response.getheaders(), payload)
        conn.close()
        return result

    def relay(self, status, headers, payload, truncate=False):
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2] if truncate else payload)
        self.wfile.flush()
        if truncate:
            self.drop()

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/_faults":
            with self.state.lock:
                report = {"requests": self.state.requests, "injected": dict(self.state.injected)}
            return self.send(200, "application/json", json.dumps(report).encode())
        fault = self.state.pick()
        if fault == "throttle":
            xml_code = "RequestLimitExceeded" if b"Version=2016-11-15" in body else "Throttling"
            code = "ThrottlingException" if "json" in self.headers.get("Content-Type", "") else xml_code
            content_type, payload = error_body(self.headers, code, "Rate exceeded")
            return self.send(400, content_type, payload)
        if fault in ("500", "503"):
            code = "InternalFailure" if fault == "500" else "ServiceUnavailable"
            content_type, payload = error_body(self.headers, code, "injected " + fault)
            return self.send(int(fault), content_type, payload)
        if fault == "reset":
            return self.drop()
        if fault == "stall":
            time.sleep(self.state.stall)
            return self.drop()
        if fault == "html":
            page = b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
            return self.send(502, "text/html", page)
        status, headers, payload = self.forward(body)
        if fault == "reset-after":
            return self.drop()
        return self.relay(status, headers, payload, truncate=(fault == "truncate"))

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--stall", type=float, default=3.0)
    parser.add_argument("--faults", default=",".join(ALL_FAULTS))
    args = parser.parse_args()
    args.faults = [f for f in args.faults.split(",") if f]
    unknown = set(args.faults) - set(ALL_FAULTS)
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")
    Handler.state = State(args)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"FAULTPROXY READY {server.server_address[1]}", flush=True)
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
