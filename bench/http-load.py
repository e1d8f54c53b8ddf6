#!/usr/bin/env python3
"""Open-loop HTTP load at a fixed rate, for weft's gateway benchmarks.

  http-load.py execute URL TOKEN BODIES RATE SECONDS
      POSTs to URL RATE times a second for SECONDS, request i with line i of the file
      BODIES (cycling), over 16 keep-alive connections. Each request is due at its planned
      time and its latency counts from then (a late answer delays the requests behind it
      on its connection, and that shows), and only answers with state "succeeded" count.
  http-load.py poll BASE TOKEN CLIENTS INTERVAL SECONDS
      CLIENTS clients, each GETting BASE/api/v1/runs?limit=20 and then the newest run
      (BASE/api/v1/runs/ID) every INTERVAL seconds, as a web UI left open does; prints how
      many polls were answered and their latencies.
"""
import http.client
import json
import signal
import sys
import threading
import time
import urllib.parse


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p / 100.0 * len(values))) - 1))]


def summary(name, lat, errors, seconds):
    ms = [x * 1000 for x in lat]
    print(f"{name}: {len(lat)} answered in {seconds:.1f} s ({len(lat) / seconds:.1f}/s), "
          f"{errors} errors; latency ms p50 {pct(ms, 50):.2f} p90 {pct(ms, 90):.2f} "
          f"p99 {pct(ms, 99):.2f} max {max(ms) if ms else float('nan'):.2f}")


class Conn(threading.local):
    """One keep-alive connection per thread."""

    def get(self, host, port):
        if getattr(self, "c", None) is None:
            self.c = http.client.HTTPConnection(host, port, timeout=60)
        return self.c

    def reset(self):
        if getattr(self, "c", None) is not None:
            self.c.close()
        self.c = None


def request(conn, host, port, method, path, token, body=None):
    headers = {"Authorization": "Bearer " + token}
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        c = conn.get(host, port)
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        return r.status, data
    except (OSError, http.client.HTTPException):
        conn.reset()
        return 0, b""


def execute(url, token, bodies, rate, seconds, clients=16):
    """CLIENTS keep-alive connections send request i (body i, cycling) at its planned time."""
    u = urllib.parse.urlsplit(url)
    n = int(rate * seconds)
    lat, errors, statuses = [], [0], {}
    lock = threading.Lock()
    start = time.monotonic() + 0.2
    nxt = [0]

    def client():
        conn = Conn()
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= n:
                return
            planned = start + i / rate
            delay = planned - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            status, data = request(conn, u.hostname, u.port, "POST", u.path, token,
                                   bodies[i % len(bodies)])
            took = time.monotonic() - planned
            ok = status == 200 and json.loads(data or b"{}").get("state") == "succeeded"
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if ok:
                    lat.append(took)
                else:
                    errors[0] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    summary(f"execute at {rate:g}/s ({clients} keep-alive connections)", lat, errors[0],
            seconds)
    print(f"  statuses: {statuses}")


def poll(base, token, clients, interval, seconds):
    """Runs until SECONDS pass or SIGINT/SIGTERM comes, then prints its summary."""
    u = urllib.parse.urlsplit(base)
    lat, errors = [], [0]
    lock = threading.Lock()
    began = time.monotonic()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def client():
        conn = Conn()
        while not stop.is_set() and time.monotonic() < began + seconds:
            t0 = time.monotonic()
            status, data = request(conn, u.hostname, u.port, "GET", "/api/v1/runs?limit=20",
                                   token)
            ok = status == 200
            runs = json.loads(data).get("runs", []) if ok else []
            if runs:
                s2, _ = request(conn, u.hostname, u.port, "GET", f"/api/v1/runs/{runs[0]['id']}",
                                token)
                ok = s2 == 200
            took = time.monotonic() - t0
            with lock:
                if ok:
                    lat.append(took)
                else:
                    errors[0] += 1
            stop.wait(max(0.0, interval - took))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(0.2)
    summary(f"{clients} pollers (list + newest run, every {interval:g} s)", lat, errors[0],
            time.monotonic() - began)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "execute" and len(sys.argv) == 7:
        with open(sys.argv[4], "rb") as f:
            bodies = [line.strip() for line in f if line.strip()]
        execute(sys.argv[2], sys.argv[3], bodies, float(sys.argv[5]), float(sys.argv[6]))
    elif mode == "poll" and len(sys.argv) == 7:
        poll(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]),
             float(sys.argv[6]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
