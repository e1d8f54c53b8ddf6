#!/usr/bin/env python3
"""A real HTTP server for notification tests: records every request it gets (as a line of
JSON in DIR/requests.jsonl: path, headers, body, the status answered and when) and answers
by path:

  /ok...     200
  /slow...   200 after 10 s
  /flaky...  500 the first time, then 200
  /dead...   500

Usage: hook_server.py PORT DIR. Threads: a slow request never holds another."""
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, out = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
seen = {}


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path = self.path
        status = 200
        if path.startswith("/slow"):
            time.sleep(10)
        elif path.startswith("/dead"):
            status = 500
        elif path.startswith("/flaky"):
            with lock:
                seen[path] = seen.get(path, 0) + 1
                status = 500 if seen[path] == 1 else 200
        with lock, open(os.path.join(out, "requests.jsonl"), "a") as f:
            f.write(json.dumps({"path": path, "headers": dict(self.headers),
                                "body": body.decode("utf-8", "replace"), "status": status,
                                "at": time.time()}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, fmt, *args):
        pass


signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", port), Hook).serve_forever()
