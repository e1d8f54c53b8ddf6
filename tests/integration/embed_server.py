#!/usr/bin/env python3
"""An OpenAI-compatible embeddings endpoint for tests: POST /v1/embeddings.

Vectors are deterministic (character trigrams hashed into DIM dimensions), so equal texts
get equal vectors. The model name picks a behaviour:
  any name     answers normally
  garbage      answers 200 with a body that is not JSON
  short        answers 200 with one vector fewer than texts
  slow         sleeps 5 s before answering (to test timeouts)
  fail-at-K    the K-th request naming this model answers 503 (once)
The first --burst requests answer 429 with Retry-After: 0. Requests without the bearer
token in $EMBED_SERVER_KEY answer 401. Each request is logged to --log as
"STATUS BATCHSIZE AUTHORIZED". Writes the port it listens on to --port-file.
"""
import argparse, hashlib, json, math, os, signal, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIM = 32
lock = threading.Lock()
state = {"burst": 0, "per_model": {}}


def embed(text):
    v = [0.0] * DIM
    t = "  " + text.lower() + "  "
    for i in range(len(t) - 2):
        h = hashlib.blake2b(t[i:i + 3].encode(), digest_size=8).digest()
        k = int.from_bytes(h, "little")
        v[k % DIM] += 1.0 if (k >> 32) & 1 else -1.0
    n = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / n for x in v]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def note(self, status, n, authorized):
        with lock, open(self.server.log, "a") as f:
            f.write("%d %d %s\n" % (status, n, "yes" if authorized else "no"))

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != "/v1/embeddings":
            return self.answer(404, {"error": {"message": "no such path"}})
        authorized = self.headers.get("Authorization") == "Bearer " + os.environ["EMBED_SERVER_KEY"]
        req = json.loads(body)
        texts = req["input"] if isinstance(req["input"], list) else [req["input"]]
        with lock:
            burst = state["burst"] > 0
            state["burst"] -= burst
        if burst:
            self.note(429, len(texts), authorized)
            return self.answer(429, {"error": {"message": "rate limited"}}, [("Retry-After", "0")])
        if not authorized:
            self.note(401, len(texts), authorized)
            return self.answer(401, {"error": {"message": "Incorrect API key provided"}})
        model = req.get("model")
        with lock:
            seen = state["per_model"][model] = state["per_model"].get(model, 0) + 1
        if model.startswith("fail-at-") and seen == int(model[8:]):
            self.note(503, len(texts), authorized)
            return self.answer(503, {"error": {"message": "overloaded"}})
        self.note(200, len(texts), authorized)
        if model == "garbage":
            return self.answer(200, b"<html>upstream error</html>")
        if model == "slow":
            time.sleep(5)
        data = [{"object": "embedding", "index": i, "embedding": embed(t)}
                for i, t in enumerate(texts)]
        if model == "short":
            data = data[:-1]
        data.reverse()  # clients must place vectors by index, not by order
        self.answer(200, {"object": "list", "model": model, "data": data,
                          "usage": {"prompt_tokens": 0, "total_tokens": 0}})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--burst", type=int, default=0)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    state["burst"] = a.burst
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.log = a.log
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
