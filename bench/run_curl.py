#!/usr/bin/env python3
"""bench/run_curl.py: libcurl's multi interface on the wasio loop against
wasio's own HTTP client, requests/s (`make bench-curl`, issue 13).

Every figure printed is measured in this run. Loopback only. --requests GETs
(default 10,000) of nginx's /small.txt over --conns connections (default
32), by IP literal (no lookups), against one nginx
(tests/helpers/nginx_server.py: worker_processes 1, a static 17-byte file):

  curl-native    build/native-release/bench/curl_get  (libcurl + wasio/curl.h, -O2)
  curl-wasmtime  build/wasm32/bench/curl_get.wasm     through tools/wasio-run
  wasio-native   build/native-release/bench/http_get  (wasio's HTTP client)
  wasio-wasmtime build/wasm32/bench/http_get.wasm
  (curl-jco, wasio-jco with --hosts ...)

Both programs keep CONNS requests in flight, start the next from each
completion, and time from the first request to the last response
(connection set-up included). --reps rounds, each runs every variant once in
a rotating order; the table shows the median with the range, the
connections the client opened (curl: CURLINFO_NUM_CONNECTS summed; wasio:
nginx's X-Connection-Requests), and the ratio to curl-native.

Usage: bench/run_curl.py [--requests N] [--conns N] [--reps N] [--hosts LIST]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("WASIO_BUILD", os.path.join(ROOT, "build"))
RUNNER = os.path.join(ROOT, "tools", "wasio-run")
RUN_TIMEOUT_S = 300
NGINX_START_TIMEOUT_S = 15
VARIANTS = {
    "curl-native": ("native", "curl_get"),
    "curl-wasmtime": ("wasmtime", "curl_get"),
    "curl-jco": ("jco", "curl_get"),
    "wasio-native": ("native", "http_get"),
    "wasio-wasmtime": ("wasmtime", "http_get"),
    "wasio-jco": ("jco", "http_get"),
}
RESULT = re.compile(r"^RESULT (.*)$", re.M)


def command(variant, url, requests, conns):
    host, prog = VARIANTS[variant]
    args = [url, str(requests), str(conns)]
    if host == "native":
        return [os.path.join(BUILD, "native-release", "bench", prog)] + args
    return [RUNNER, "--host", host, "--net", "--timeout", str(RUN_TIMEOUT_S),
            os.path.join(BUILD, "wasm32", "bench", prog + ".wasm")] + args


def run_once(variant, url, requests, conns):
    p = subprocess.run(command(variant, url, requests, conns), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=RUN_TIMEOUT_S + 30)
    m = RESULT.search(p.stdout)
    if p.returncode != 0 or m is None:
        sys.exit(f"run_curl: {variant} failed (exit {p.returncode}):\n{p.stdout[-2000:]}")
    return dict(kv.split("=", 1) for kv in m.group(1).split())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--hosts", default="curl-native,curl-wasmtime,wasio-native,wasio-wasmtime")
    a = ap.parse_args()
    variants = a.hosts.split(",")
    for v in variants:
        if v not in VARIANTS:
            sys.exit(f"run_curl: unknown variant {v} ({', '.join(VARIANTS)})")
    nginx = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "helpers", "nginx_server.py"),
                              "--lifetime", "3600"], stdout=subprocess.PIPE, text=True)
    try:
        t_end = time.monotonic() + NGINX_START_TIMEOUT_S
        line = nginx.stdout.readline().strip()
        if not line.isdigit() or time.monotonic() > t_end:
            sys.exit(f"run_curl: nginx_server.py did not start ({line!r})")
        url = f"http://127.0.0.1:{line}/small.txt"
        print(f"run_curl: {a.requests} GETs of {url} over {a.conns} connections, {a.reps} rounds", flush=True)
        runs = {v: [] for v in variants}
        for r in range(a.reps):
            order = variants[r % len(variants):] + variants[:r % len(variants)]
            for v in order:
                res = run_once(v, url, a.requests, a.conns)
                runs[v].append(res)
                print(f"  round {r + 1} {v}: {float(res['rps']):.0f} req/s, {res['conns']} connections", flush=True)
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
    base = statistics.median(float(x["rps"]) for x in runs[variants[0]])
    print(f"\n| client | req/s (median) | range | connections | vs {variants[0]} |")
    print("|---|---|---|---|---|")
    for v in variants:
        rps = [float(x["rps"]) for x in runs[v]]
        med = statistics.median(rps)
        conns = sorted({x["conns"] for x in runs[v]})
        print(f"| {v} | {med:,.0f} | {min(rps):,.0f} to {max(rps):,.0f} | {', '.join(conns)} | {med / base:.2f}x |")


if __name__ == "__main__":
    main()
