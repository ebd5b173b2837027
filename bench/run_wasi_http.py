#!/usr/bin/env python3
"""bench/run_wasi_http.py: does a guest that waits block the host's threads?
(`make bench-wasi-http`, issue 11 item 5; the table and its reading are in
docs/WASI_HTTP.md.)

Every figure printed is measured in this run; nothing is typed in. Loopback
only. One handler, bench/http_wait.c, built as a wasi:http handler
(build/wasm32/bench-http/http_wait.wasm, wasio-cc --http) and, for the
baselines, as a socket server (natively, -O2; and as a socket command
component on `wasmtime run`). Two routes, each a guest that waits without
using the CPU:

  wait      GET /wait?ms=200: a wasio timer of 200 ms
  upstream  GET /upstream?port=P: an outgoing call to a local upstream that
            answers after 200 ms (wasi:http/outgoing-handler in the handler
            build, wasio's socket client in the baselines)

For each host and route, N requests are sent at once (one connection each,
N = --ns, default 1,4,16,64,256); the table gives the wall time from the
first send to the last answer, its ratio to 200 ms (1.0: every request
waited at the same time; N: one after another), how many answers were
200, and the most threads the host's processes had while the round ran
(/proc/PID/task of the host process and its descendants, sampled every
10 ms), against the count just before the round. The handler's client may
open 256 connections to the upstream, so that its pool is not what limits
the upstream route.

Hosts (--hosts):
  native           build/native-release/bench/http_wait PORT (the socket server)
  wasmtime-run     the socket build on `wasmtime run` (tools/wasio-run --net)
  wasmtime-serve   `wasmtime serve -S cli` (a fresh instance per request)
  wasmtime-reuse   the same with --max-instance-reuse-count 1000
  jco-serve        `jco serve` (default: one instance for every request)
  jco-worker       `jco serve --isolate-requests worker` (a worker pool)

Usage: bench/run_wasi_http.py [--hosts a,b] [--routes wait,upstream] [--ns 1,4,16]
"""
import argparse
import datetime
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
TOOLS = os.environ.get("WASIO_TOOLS", os.path.expanduser("~/.cache/wasio"))
WASMTIME = os.path.join(TOOLS, "bin", "wasmtime")
JCO = os.path.join(ROOT, "tools", "jco", "node_modules", "@bytecodealliance", "jco", "dist", "jco.js")
RUNNER = os.path.join(ROOT, "tools", "wasio-run")
HANDLER = os.path.join(BUILD, "wasm32", "bench-http", "http_wait.wasm")
SOCKET_WASM = os.path.join(BUILD, "wasm32", "bench", "http_wait.wasm")
NATIVE = os.path.join(BUILD, "native-release", "bench", "http_wait")
WAIT_MS = 200
START_TIMEOUT_S = 60    # a host's first answer (jco transpiles first)
REQUEST_TIMEOUT_S = 120 # one request of a round
SAMPLE_S = 0.01

HOSTS = ["native", "wasmtime-run", "wasmtime-serve", "wasmtime-reuse", "jco-serve", "jco-worker"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- the upstream: answers every request after WAIT_MS -------------------------

class Upstream:
    """A keep-alive HTTP/1.1 server on loopback, a thread per connection,
    that answers each request after WAIT_MS."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        buf = b""
        c.settimeout(REQUEST_TIMEOUT_S)
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                _, buf = buf.split(b"\r\n\r\n", 1)
                time.sleep(WAIT_MS / 1000)
                body = b"upstream answered\n"
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        except OSError:
            pass
        finally:
            c.close()


# ---- hosts ------------------------------------------------------------------------

def host_cmd(host, port):
    if host == "native":
        return [NATIVE, str(port)]
    if host == "wasmtime-run":
        return [RUNNER, "--net", SOCKET_WASM, str(port)]
    if host == "wasmtime-serve":
        return [WASMTIME, "serve", "-S", "cli", "--addr", f"127.0.0.1:{port}", HANDLER]
    if host == "wasmtime-reuse":
        return [WASMTIME, "serve", "-S", "cli", "--max-instance-reuse-count", "1000",
                "--addr", f"127.0.0.1:{port}", HANDLER]
    if host == "jco-serve":
        return ["node", JCO, "serve", "--host", "127.0.0.1", "--port", str(port), HANDLER]
    if host == "jco-worker":
        return ["node", JCO, "serve", "--isolate-requests", "worker", "--host", "127.0.0.1",
                "--port", str(port), HANDLER]
    raise SystemExit(f"unknown host {host!r} (one of {', '.join(HOSTS)})")


def get(port, path, timeout=REQUEST_TIMEOUT_S):
    """One GET on a connection of its own: (status, body) or (None, error)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
        head, _, body = data.partition(b"\r\n\r\n")
        parts = head.split(b" ", 2)
        return (int(parts[1]), body) if len(parts) > 1 and parts[1].isdigit() else (None, head[:80])
    except OSError as e:
        return None, str(e)


class Host:
    def __init__(self, name):
        self.name = name
        self.port = free_port()
        self.log = open(os.devnull, "w")
        self.proc = subprocess.Popen(host_cmd(name, self.port), stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode} before serving")
            status, _ = get(self.port, f"/wait?ms=0", timeout=5)
            if status == 200:
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{name} did not answer within {START_TIMEOUT_S} s")
            time.sleep(0.2)

    def threads(self):
        """Threads of the host process and all its descendants (jco serve
        starts a second node; wasio-run starts wasmtime in a session of its
        own)."""
        parent = {}
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        parent[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    pass
        tree, grew = {self.proc.pid}, True
        while grew:
            grew = False
            for pid, pp in parent.items():
                if pp in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        n = 0
        for pid in tree:
            try:
                n += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                pass
        return n

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.log.close()


def round_(host, path, n):
    """n GETs at once; (seconds, ok count, threads before, most threads)."""
    before = host.threads()
    results = [None] * n
    go = threading.Event()

    def one(i):
        go.wait()
        results[i] = get(host.port, path)

    workers = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for w in workers:
        w.start()
    most = before
    t0 = time.monotonic()
    go.set()
    while any(w.is_alive() for w in workers):
        most = max(most, host.threads())
        time.sleep(SAMPLE_S)
    wall = time.monotonic() - t0
    ok = sum(1 for r in results if r and r[0] == 200)
    return wall, ok, before, most


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", default=",".join(HOSTS))
    ap.add_argument("--routes", default="wait,upstream")
    ap.add_argument("--ns", default="1,4,16,64,256")
    a = ap.parse_args()
    ns = [int(x) for x in a.ns.split(",")]
    up = Upstream()
    paths = {"wait": f"/wait?ms={WAIT_MS}", "upstream": f"/upstream?port={up.port}"}
    print(f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"# command: bench/run_wasi_http.py --hosts {a.hosts} --routes {a.routes} --ns {a.ns}")
    print("| host | route | N | wall (s) | wall / 200 ms | 200s | threads before | threads at most |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name in a.hosts.split(","):
        for route in a.routes.split(","):
            try:
                host = Host(name)
            except RuntimeError as e:
                print(f"| {name} | {route} | - | failed to start: {e} |")
                continue
            try:
                for n in ns:
                    wall, ok, before, most = round_(host, paths[route], n)
                    print(f"| {name} | {route} | {n} | {wall:.2f} | {wall / (WAIT_MS / 1000):.1f} | "
                          f"{ok}/{n} | {before} | {most} |", flush=True)
            finally:
                host.stop()
    print(f"# load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
