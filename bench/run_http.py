#!/usr/bin/env python3
"""bench/run_http.py: wasio's HTTP benchmarks, requests/s (`make bench-http`).

Every figure printed is measured in this run; nothing is typed in. Loopback
only. Two tables:

  1. Server: wrk (keep-alive, -t1 -c64) against
       native    build/native-release/bench/http_serve   (-O2, no sanitizers)
       wasmtime  build/wasm32/bench/http_serve.wasm      through tools/wasio-run
       wasmtime-p3  build/wasm32/bench-p3/http_serve.wasm  the same source built
                 with wasio-cc --p3 (the wasip3 backend, WASI 0.3), on wasmtime
       nginx     worker_processes 1, access_log off, GET / answered from memory by
                 `return 200 "hello from nginx\\n"` (a config of its own, below)
     wasmtime-serve  the same bench/http_serve.c built with `wasio-cc --http`
                 (build/wasm32/bench-http/http_serve.wasm) as a wasi:http
                 handler under `wasmtime serve -S cli`: a fresh instance
                 per request
     wasmtime-reuse  the same under `wasmtime serve --max-instance-reuse-count
                 REUSE` (one instance serves up to REUSE requests, one at a
                 time; the host runs as many instances at once as requests)
     wasmtime-floor  bench/http_floor.c, a handler on the raw wasi:http
                 bindings without wasio (the fewest host calls a p2 handler
                 makes), reused as wasmtime-reuse: what the host costs per
                 request; the gap to wasmtime-reuse is what wasio adds
     wasmtime-p3-serve  the same built with `wasio-cc --p3 --http`: a
                 wasi:http 0.3 handler (the async export), reused as
                 wasmtime-reuse, serving up to 16 requests of one instance
                 at once (wasmtime serve's default).
     (jco too with --server-hosts ...,jco). The table gives each ratio to
     native wasio and to the socket server component (wasmtime): issue 11's
     goal is wasmtime-reuse >= 0.8x the latter. --server-path /chunks asks
     http_serve for a chunked response streamed as 8 small writes instead
     (nginx is then left out: it has no such path). Each run starts a fresh server,
     runs a warm-up wrk (--warmup s), then the measured wrk (--duration s).
     http_serve answers every request with the 17-byte body "hello from
     wasio\\n"; GET /mark after the warm-up and GET /stop
     after the measured wrk give its loop and allocation deltas.
  2. Client: --requests GETs of nginx's /small.txt over --conns connections
     (one nginx, worker_processes 1, for the whole table):
       native    build/native-release/bench/http_get
       wasmtime  build/wasm32/bench/http_get.wasm
       wasmtime-p3  build/wasm32/bench-p3/http_get.wasm (wasio-cc --p3)
       jco       the same component on Node.js
       curl      curl --parallel --parallel-max CONNS -K FILE (a config
                 file with one url/output pair per request)
     The clock of http_get runs from its first call to its last response
     (connection set-up included); curl's is its process wall time.
Runs are interleaved: --reps (server) or --client-reps rounds, each runs
every host once (jco's client: --jco-reps rounds only), the host
order rotating per round; the median run is shown with the range and the
ratio to the native wasio median from this same invocation.

  3. Memory (--mem-hosts, default native,wasmtime; plain HTTP and TLS):
     what one idle keep-alive connection costs a wasio server and a pooled
     idle connection a wasio client, and what a client that pipelines
     requests and never reads makes a server connection hold. Measured by
     the program itself (bench_heap_bytes() of bench/alloc_count.h: glibc's
     mallinfo2() bytes in use natively, the size of linear memory in a
     component) as a difference: the server's GET /mem before and after
     --mem-conns connections were opened one at a time, each made one
     request and stayed open; then --pipe-conns connections that each send
     --pipe-reqs pipelined GET /big (1 MiB responses) and never read; the
     client's http_get --idle (a warm call, then CONNS calls at once, all
     back in the pool). TLS: http_serve with a self-signed EC P-256
     certificate (openssl CLI) and Python's ssl module as the client; the
     client against nginx_server.py --tls (ecdsa-gcm port, its private CA).

Usage: bench/run_http.py [--only server|client|mem] [--reps N] [--client-reps N] [--server-path /|/chunks]
                         [--jco-reps N] [--duration S]
                         [--warmup S] [--requests N] [--conns N] [--quick]
                         [--server-hosts native,wasmtime,wasmtime-serve,wasmtime-reuse,wasmtime-floor,wasmtime-p3-serve,nginx]
                         [--client-hosts native,wasmtime,jco,curl]
                         [--mem-hosts native,wasmtime] [--mem-conns N] [--pipe-conns N]
                         [--pipe-reqs N]
"""
import argparse
import datetime
import os
import platform
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
NATIVE_DIR = os.path.join(BUILD, "native-release", "bench")
WASM_DIR = os.path.join(BUILD, "wasm32", "bench")
HANDLER_DIR = os.path.join(BUILD, "wasm32", "bench-http")
P3_DIR = os.path.join(BUILD, "wasm32", "bench-p3")
SERVE_HOSTS = ("wasmtime-serve", "wasmtime-reuse", "wasmtime-floor", "wasmtime-p3-serve")  # the wasi:http handler builds
HANDLER_P3_DIR = os.path.join(BUILD, "wasm32", "bench-p3-http")  # wasio-cc --p3 --http
SERVE_REUSE = 1000       # --max-instance-reuse-count of wasmtime-reuse
SERVE_START_S = 60       # wasmtime serve compiles the component before its first answer
RUNNER = os.path.join(ROOT, "tools", "wasio-run")
NGINX_HELPER = os.path.join(ROOT, "tests", "helpers", "nginx_server.py")
TOOLS = os.environ.get("WASIO_TOOLS", os.path.expanduser("~/.cache/wasio"))
RESULT = re.compile(r"^RESULT (.*)$", re.M)
WRK = shutil.which("wrk") or "/usr/bin/wrk"
CURL = shutil.which("curl") or "/usr/bin/curl"
NOTES = []


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wasio_cmd(host, prog, args, timeout_s, dir=None):
    """The command running prog on host. dir: a directory the component sees
    as "." (natively, the caller passes full paths instead)."""
    if host == "native":
        return [os.path.join(NATIVE_DIR, prog)] + [str(a) for a in args]
    if host == "wasmtime-p3":  # the same source built with wasio-cc --p3 (WASI 0.3)
        return ([RUNNER, "--host", "wasmtime", "--net", "--timeout", str(timeout_s)]
                + (["--dir", dir] if dir else [])
                + [os.path.join(P3_DIR, prog + ".wasm")] + [str(a) for a in args])
    return ([RUNNER, "--host", host, "--net", "--timeout", str(timeout_s)]
            + (["--dir", dir] if dir else [])
            + [os.path.join(WASM_DIR, prog + ".wasm")] + [str(a) for a in args])


def fields(text):
    m = RESULT.search(text or "")
    return dict(kv.split("=", 1) for kv in m.group(1).split()) if m else None


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_nginx(lifetime):
    p = subprocess.Popen([sys.executable, NGINX_HELPER, "--lifetime", str(lifetime)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    if not line.isdigit():
        stop(p)
        raise RuntimeError("nginx_server.py did not start: " + p.stderr.read()[:300])
    p.stdout.readline()  # document root
    return p, int(line)


NGINX_CONF = """
worker_processes 1;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
{user}
events {{ worker_connections 1024; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path {prefix}/tmp;
  proxy_temp_path {prefix}/tmp;
  fastcgi_temp_path {prefix}/tmp;
  uwsgi_temp_path {prefix}/tmp;
  scgi_temp_path {prefix}/tmp;
  server {{
    listen 127.0.0.1:{port};
    location = / {{ default_type text/plain; return 200 "hello from nginx\\n"; }}
  }}
}}
"""


def start_bench_nginx():
    """nginx for the server table: one worker, no access log, GET / answers
    200 with the 17-byte body "hello from nginx\\n" from memory (as http_serve
    does). Returns (process, port, prefix)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    prefix = tempfile.mkdtemp(prefix="wasio-bench-nginx-")
    os.makedirs(os.path.join(prefix, "tmp"))
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(prefix=prefix, port=port,
                                  user="user root;" if os.geteuid() == 0 else ""))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    p = subprocess.Popen([nginx, "-p", prefix, "-c", conf, "-g", "daemon off;"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return p, port, prefix
        except OSError:
            if p.poll() is not None or time.monotonic() > deadline:
                stop(p)
                shutil.rmtree(prefix, ignore_errors=True)
                raise RuntimeError("nginx did not start: " + p.stderr.read().decode()[:300])
            time.sleep(0.05)


def get(url, timeout=10):
    """One request with curl -si: (exit code, raw response bytes)."""
    r = subprocess.run([CURL, "-si", "--max-time", str(timeout), url],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return r.returncode, r.stdout


def wrk(url, conns, seconds):
    cmd = [WRK, "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", url]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=seconds + 60)
    out = r.stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if r.returncode != 0 or not m:
        raise RuntimeError("wrk failed: " + " | ".join(out.strip().splitlines()[-3:]))
    res = {"rps": float(m.group(1)), "errors": "0", "non2xx": 0, "p50": "?", "p99": "?"}
    m = re.search(r"(\d+) requests in", out)
    res["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", out)
    if m:
        res["errors"] = m.group(1).strip()
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        res["non2xx"] = int(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        if m:
            res[key] = m.group(1)
    return res


# ---- 1. server -------------------------------------------------------------------------

def server_run(host, a):
    """Starts the server on host, warms up, measures. Returns a result dict."""
    life = a.warmup + a.duration + 60
    prefix = None
    if host == "nginx":
        proc, port, prefix = start_bench_nginx()
        path = "/"
    elif host in SERVE_HOSTS:
        proc, port = start_serve(host)
        path = a.server_path
    else:
        cmd = wasio_cmd(host, "http_serve", [life], life + 30)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline().strip()
        if not line.isdigit():
            stop(proc)
            raise RuntimeError(f"http_serve did not print its port: {line} "
                               + proc.stderr.read()[:300])
        port, path = int(line), a.server_path
    base = f"http://127.0.0.1:{port}"
    try:
        rc, raw = get(base + path)
        if rc != 0 or not raw.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"first GET failed (curl exit {rc}): {raw[:80]!r}")
        res = {"bytes": len(raw)}
        wrk(base + path, a.conns_server, a.warmup)
        own = host not in ("nginx",) + SERVE_HOSTS  # a process of http_serve's own, with /mark and /stop
        if own:
            get(base + "/mark")
        res.update(wrk(base + path, a.conns_server, a.duration))
        if host in SERVE_HOSTS:
            res["threads"] = threads_of(proc.pid)
        if own:
            get(base + "/stop")
            try:
                out, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                stop(proc)
                out, err = proc.communicate()
                NOTES.append(f"server {host}: did not exit within 30 s of /stop")
            f = fields(out)
            if not f:
                raise RuntimeError("no RESULT from http_serve: " + (out + err)[-300:])
            res["server"] = f
            if "ERROR" in out:
                NOTES.append(f"server {host}: " + next(l for l in out.splitlines() if "ERROR" in l))
        return res
    finally:
        stop(proc)
        if prefix:
            shutil.rmtree(prefix, ignore_errors=True)


def start_serve(host):
    """wasmtime serve with the wasi:http build of http_serve on a free port,
    once it answers. Returns (process, port)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    cmd = [os.path.join(TOOLS, "bin", "wasmtime"), "serve", "-S", "cli", "--addr", f"127.0.0.1:{port}"]
    if host in ("wasmtime-reuse", "wasmtime-floor", "wasmtime-p3-serve"):
        cmd += ["--max-instance-reuse-count", str(SERVE_REUSE)]
    prog = "http_floor.wasm" if host == "wasmtime-floor" else "http_serve.wasm"
    pdir = HANDLER_P3_DIR if host == "wasmtime-p3-serve" else HANDLER_DIR
    proc = subprocess.Popen(cmd + [os.path.join(pdir, prog)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + SERVE_START_S
    while True:
        rc, raw = get(f"http://127.0.0.1:{port}/", timeout=5)
        if rc == 0 and raw.startswith(b"HTTP/1.1 200"):
            return proc, port
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"{host} did not answer within {SERVE_START_S} s: "
                               + proc.stderr.read().decode()[:300])
        time.sleep(0.2)


def threads_of(pid):
    """The threads the process has now (wasmtime serve's runtime threads)."""
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def bench_server(a):
    hosts = a.server_hosts
    what = "small response" if a.server_path == "/" else \
        f"GET {a.server_path}: a chunked response written as 8 small writes"
    print(f"\n## 1. Server: requests/s with wrk (keep-alive, -t1 -c{a.conns_server}, "
          f"{what})\n")
    print(f"wrk -t1 -c{a.conns_server} -d{a.duration}s --latency against a fresh server per run, "
          f"after a {a.warmup} s wrk warm-up on the same server.\n"
          "native/wasmtime/jco: bench/http_serve.c (wasio_http_respond, 17-byte body, keep-alive);\n"
          "wasmtime-serve/-reuse: the same file built with `wasio-cc --http`, a wasi:http handler under "
          f"`wasmtime serve -S cli` (-reuse: --max-instance-reuse-count {SERVE_REUSE});\n"
          "nginx: worker_processes 1, access_log off, GET / answered by `return 200 "
          "\"hello from nginx\\n\"` (17 bytes, from memory).\n"
          "resp bytes: one whole response (head + body) as received by curl.\n"
          f"{a.reps} runs per host, interleaved (host order rotates per round); the median run "
          "with the range of all runs;\nratio: median against the native wasio server's median "
          "from this same invocation.\nreqs/turn and allocs: http_serve's wasio_loop_stats and "
          "malloc-wrapper deltas over the measured wrk run (/mark to /stop);\n"
          "allocs in span: wasio / wrapper, all of the span: it includes the set-up of wrk's "
          f"{a.conns_server} new connections\n(and curl's /stop connection): a cost per connection, "
          "not per request, gives the same count at any req/s.\n")
    runs = {h: [] for h in hosts}
    errors = {}
    for rep in range(a.reps):
        order = hosts[rep % len(hosts):] + hosts[:rep % len(hosts)]
        for host in order:
            if host in errors:
                continue
            t = time.monotonic()
            try:
                r = server_run(host, a)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                errors[host] = str(e)[:200]
                print(f"  [server {host} run {rep + 1}: {errors[host]}]", file=sys.stderr)
                continue
            runs[host].append(r)
            s = r.get("server", {})
            print(f"  [server {host} run {rep + 1}: {r['rps']:,.0f} req/s, {r['requests']} "
                  f"requests, p50 {r['p50']} p99 {r['p99']}, socket errors: {r['errors']}, "
                  f"non-2xx {r['non2xx']}"
                  + (f"; handler calls {s['requests']} turns {s['turns']} allocs "
                     f"{s['allocs']}/{s['libc_allocs']}" if s else "")
                  + f"; {time.monotonic() - t:.1f}s wall]", file=sys.stderr)
            if r["non2xx"] or r["errors"] not in ("0", ""):
                NOTES.append(f"server {host} run {rep + 1}: wrk socket errors '{r['errors']}', "
                             f"non-2xx {r['non2xx']}")

    def median(rs):
        return sorted(rs, key=lambda r: r["rps"])[(len(rs) - 1) // 2]

    base = median(runs["native"])["rps"] if runs.get("native") else None
    comp = median(runs["wasmtime"])["rps"] if runs.get("wasmtime") else None
    headers = ["server", "req/s (median)", "range", "vs native wasio", "vs socket component",
               "p50 / p99 latency", "resp bytes", "reqs/turn", "allocs in span"]
    rows = []
    for host in hosts:
        name = {"native": "wasio native", "wasmtime": "wasio wasmtime", "jco": "wasio jco",
                "wasmtime-p3": "wasio wasmtime-p3 (WASI 0.3)",
                "nginx": "nginx (1 worker)", "wasmtime-serve": "wasi:http wasmtime serve (fresh)",
                "wasmtime-reuse": f"wasi:http wasmtime serve (reuse {SERVE_REUSE})",
                "wasmtime-floor": f"host floor: raw handler, no wasio (reuse {SERVE_REUSE})",
                "wasmtime-p3-serve": f"wasi:http 0.3 wasmtime serve (reuse {SERVE_REUSE}, 16 at once)"}[host]
        if not runs[host]:
            rows.append([name, errors.get(host, "no run")] + [""] * (len(headers) - 2))
            continue
        r = median(runs[host])
        speeds = [x["rps"] for x in runs[host]]
        ratio = f"{r['rps'] / base:.2f}x" if base else "n/a"
        ratio_comp = f"{r['rps'] / comp:.2f}x" if comp else "n/a"
        if "threads" in r:
            note_threads = f", {r['threads']} host threads"
        else:
            note_threads = ""
        s = r.get("server")
        if s:
            n = max(int(s["requests"]), 1)
            per_turn = f"{int(s['requests']) / max(int(s['turns']), 1):.1f}"
            al = f"{int(s['allocs'])} / {int(s['libc_allocs'])}"
        else:
            per_turn = al = "-"
        note = f" ({errors[host]})" if host in errors else ""
        rows.append([name + note + note_threads, f"{r['rps']:,.0f}", f"{min(speeds):,.0f}-{max(speeds):,.0f}",
                     ratio, ratio_comp, f"{r['p50']} / {r['p99']}", r["bytes"], per_turn, al])
    table(headers, rows)


# ---- 2. client -------------------------------------------------------------------------

def client_run(host, url, cfg, a):
    if host == "curl":
        cmd = [CURL, "-s", "--no-progress-meter", "--parallel", "--parallel-max", str(a.conns),
               "-K", cfg, "-w", "%{http_code} %{num_connects}\\n"]
        t, ru = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=a.client_timeout)
        secs = time.monotonic() - t
        cpu = cpu_since(ru)
        lines = p.stdout.split("\n")
        lines = [l for l in lines if l]
        ok = sum(1 for l in lines if l.startswith("200 "))
        conns = sum(int(l.split()[1]) for l in lines if len(l.split()) == 2)
        if p.returncode != 0 or ok != a.requests:
            raise RuntimeError(f"curl exit {p.returncode}, {ok} of {a.requests} answered 200: "
                               + p.stderr[-200:])
        return {"rps": a.requests / secs, "seconds": secs, "conns": conns, "wall": secs,
                "cpu": cpu}
    timeout = a.client_timeout + (a.jco_extra if host == "jco" else 0)
    cmd = wasio_cmd(host, "http_get", [url, a.requests, a.conns], timeout)
    t, ru = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout + 15)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"timed out after {timeout} s")
    wall = time.monotonic() - t
    cpu = cpu_since(ru)
    f = fields(p.stdout)
    if p.returncode == 124 and not f:
        raise RuntimeError(f"timed out after {timeout} s")
    if not f:
        text = (p.stdout + p.stderr).strip().splitlines()
        why = next((l for l in text if l.startswith("ERROR")), None) or " | ".join(text[-3:])
        raise RuntimeError(f"exit {p.returncode}: {why[:200]}")
    if p.returncode != 0:
        NOTES.append(f"client {host}: exit {p.returncode} after printing its result")
    return {"rps": float(f["rps"]), "seconds": float(f["seconds"]), "conns": int(f["conns"]),
            "wall": wall, "cpu": cpu, "client": f}


def cpu_since(ru):
    """User + system CPU seconds of the children reaped since ru."""
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (now.ru_utime - ru.ru_utime) + (now.ru_stime - ru.ru_stime)


def bench_client(a):
    hosts = a.client_hosts
    print(f"\n## 2. Client: {a.requests:,} GETs over {a.conns} connections to nginx "
          "(worker_processes 1)\n")
    print(f"GET /small.txt (17-byte body, keep-alive) from one nginx for the whole table.\n"
          f"native/wasmtime/jco: bench/http_get.c, one wasio_http_client with {a.conns} "
          f"connections per origin,\n{a.conns} calls in flight (each on_done starts the next); "
          "clock from the first call to the last response.\n"
          f"curl: curl --parallel --parallel-max {a.conns} -K FILE (FILE: {a.requests:,} "
          "url/output pairs, output /dev/null);\nclock: curl's process wall time "
          "(start-up included, a few ms).\n"
          "conns: TCP connections opened (http_get: nginx's X-Connection-Requests = 1; curl: "
          "sum of %{num_connects}).\nEvery response must be 200 with the same body length, or the "
          f"run fails.\n{a.client_reps} runs per host ({a.jco_reps} on jco: slow), interleaved (host order rotates per round); the "
          "median run with the range;\nratio: median against native wasio's median from this same "
          "invocation. allocs/req: wasio / malloc wrapper, over the timed span.\n"
          "CPU s (process): user + system CPU of the client process, whole run (wasmtime and\n"
          "jco: start-up and compilation included; curl: start-up and reading its config).\n"
          "nginx has one worker on a 2-CPU machine: when it is the bottleneck every client\n"
          "shows about the same req/s, and the CPU column tells the clients apart.\n")
    runs = {h: [] for h in hosts}
    errors = {}
    ng, port = start_nginx(a.client_reps * len(hosts) * (a.client_timeout + 60) + 120)
    url = f"http://127.0.0.1:{port}/small.txt"
    fd, cfg = tempfile.mkstemp(prefix="wasio-bench-curl-", suffix=".cfg")
    try:
        with os.fdopen(fd, "w") as f:
            for _ in range(a.requests):
                f.write(f'url = "{url}"\noutput = "/dev/null"\n')
        for rep in range(a.client_reps):
            order = hosts[rep % len(hosts):] + hosts[:rep % len(hosts)]
            for host in order:
                if host in errors:
                    continue
                if host == "jco" and rep >= a.jco_reps:
                    continue
                try:
                    r = client_run(host, url, cfg, a)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    errors[host] = str(e)[:200]
                    print(f"  [client {host} run {rep + 1}: {errors[host]}]", file=sys.stderr)
                    continue
                runs[host].append(r)
                c = r.get("client")
                print(f"  [client {host} run {rep + 1}: {r['rps']:,.0f} req/s, "
                      f"{r['seconds']:.3f}s timed, {r['wall']:.1f}s wall, {r['cpu']:.2f}s CPU, "
                      f"{r['conns']} conns"
                      + (f"; turns {c['turns']} allocs {c['allocs']}/{c['libc_allocs']}" if c
                         else "") + "]", file=sys.stderr)
    finally:
        os.unlink(cfg)
        stop(ng)

    def median(rs):
        return sorted(rs, key=lambda r: r["rps"])[(len(rs) - 1) // 2]

    base = median(runs["native"])["rps"] if runs.get("native") else None
    headers = ["client", "req/s (median)", "range", "vs native wasio", "seconds", "runs",
               "conns", "CPU s (process)", "reqs/turn", "allocs/req"]
    rows = []
    for host in hosts:
        name = {"native": "wasio native", "wasmtime": "wasio wasmtime", "jco": "wasio jco",
                "wasmtime-p3": "wasio wasmtime-p3 (WASI 0.3)",
                "curl": "curl --parallel"}[host]
        if not runs[host]:
            rows.append([name, errors.get(host, "no run")] + [""] * (len(headers) - 2))
            continue
        r = median(runs[host])
        speeds = [x["rps"] for x in runs[host]]
        c = r.get("client")
        if c:
            n = max(int(c["requests"]), 1)
            per_turn = f"{n / max(int(c['turns']), 1):.1f}"
            al = f"{int(c['allocs']) / n:.2f} / {int(c['libc_allocs']) / n:.2f}"
        else:
            per_turn = al = "-"
        note = f" ({errors[host]})" if host in errors else ""
        rows.append([name + note, f"{r['rps']:,.0f}", f"{min(speeds):,.0f}-{max(speeds):,.0f}",
                     f"{r['rps'] / base:.2f}x" if base else "n/a", f"{r['seconds']:.3f}",
                     len(runs[host]), r["conns"], f"{r['cpu']:.2f}", per_turn, al])
    table(headers, rows)


# ---- 3. memory -------------------------------------------------------------------------

def http_exchange(sock, path, close=False):
    """One GET on a connected (maybe TLS) socket; returns (status, body)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n"
                 f"{'Connection: close' + chr(13) + chr(10) if close else ''}\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError(f"GET {path}: connection closed before the head")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    if not m:
        raise RuntimeError(f"GET {path}: no Content-Length: {head[:200]!r}")
    n = int(m.group(1))
    while len(body) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError(f"GET {path}: body cut short")
        body += chunk
    return int(head.split(b" ", 2)[1]), body[:n]


def mem_connect(port, ctx):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    return ctx.wrap_socket(s, server_hostname="localhost") if ctx else s


def server_heap(port, ctx):
    """The server's bench_heap_bytes(), asked on a connection of its own."""
    s = mem_connect(port, ctx)
    try:
        status, body = http_exchange(s, "/mem", close=True)
    finally:
        s.close()
    m = re.match(rb"heap=(\d+) kind=(\S+)", body)
    if status != 200 or not m:
        raise RuntimeError(f"GET /mem: {status} {body[:80]!r}")
    return int(m.group(1)), m.group(2).decode()


def settled_heap(port, ctx, seconds=10):
    """/mem until two readings 0.5 s apart agree (the server has read what it
    will read and written what the clients take), at most `seconds`."""
    last, deadline = server_heap(port, ctx), time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = server_heap(port, ctx)
        if now[0] == last[0]:
            return now
        last = now
    return last


def make_cert(tmp):
    """A self-signed EC P-256 certificate for localhost (openssl CLI)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", os.path.join(tmp, "key.pem"), "-out", os.path.join(tmp, "cert.pem"),
                    "-days", "2", "-subj", "/CN=localhost"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def server_mem_run(host, a, tls, tmp):
    life = 300
    args = [life]
    if tls:
        args += ([os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")] if host == "native"
                 else ["cert.pem", "key.pem"])
    cmd = wasio_cmd(host, "http_serve", args, life + 30, dir=tmp if tls else None)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    socks = []
    port, ctx = None, None
    try:
        line = proc.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError(f"http_serve did not print its port: {line} " + proc.stderr.read()[:300])
        port = int(line)
        ctx = None
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        # Warm-up: a connection with a few requests, then gone.
        s = mem_connect(port, ctx)
        for _ in range(3):
            http_exchange(s, "/")
        s.close()
        m0, kind = settled_heap(port, ctx)
        for _ in range(a.mem_conns):
            s = mem_connect(port, ctx)
            status, _ = http_exchange(s, "/")
            if status != 200:
                raise RuntimeError(f"GET / on an idle-to-be connection: {status}")
            socks.append(s)
        m1, _ = settled_heap(port, ctx)
        res = {"kind": kind, "idle": (m1 - m0) / a.mem_conns}
        if not tls:
            req = b"GET /big HTTP/1.1\r\nHost: bench\r\n\r\n" * a.pipe_reqs
            for _ in range(a.pipe_conns):
                s = mem_connect(port, ctx)
                s.settimeout(5)
                try:
                    s.sendall(req)  # and never read
                except socket.timeout:
                    pass  # the server stopped reading: what is sent is sent
                socks.append(s)
            m2, _ = settled_heap(port, ctx)
            res["pipe"] = (m2 - m1) / a.pipe_conns
        return res
    finally:
        for s in socks:
            try:
                s.close()
            except OSError:
                pass
        # A graceful end: killing wasio-run would leave wasmtime running.
        try:
            if port:
                s = mem_connect(port, ctx)
                http_exchange(s, "/stop", close=True)
                s.close()
            proc.communicate(timeout=30)
        except (OSError, RuntimeError, subprocess.TimeoutExpired):
            pass
        stop(proc)


def start_nginx_tls(lifetime):
    """nginx_server.py --tls: (process, plain port, CA path, {name: port})."""
    p = subprocess.Popen([sys.executable, NGINX_HELPER, "--tls", "--lifetime", str(lifetime)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    if not line.isdigit():
        stop(p)
        raise RuntimeError("nginx_server.py --tls did not start: " + p.stderr.read()[:300])
    p.stdout.readline()  # document root
    ca = p.stdout.readline().strip()
    ports = dict(kv.split("=") for kv in p.stdout.readline().split())
    return p, int(line), ca, {k: int(v) for k, v in ports.items()}


def client_mem_run(host, a, url, ca):
    args = ["--idle", a.mem_client_conns + 1, url]
    if ca:
        args.append(ca if host == "native" else os.path.basename(ca))
    cmd = wasio_cmd(host, "http_get", args, 300, dir=os.path.dirname(ca) if ca else None)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=330)
    f = fields(p.stdout)
    if not f:
        text = (p.stdout + p.stderr).strip().splitlines()
        raise RuntimeError(f"http_get --idle: exit {p.returncode}: " + " | ".join(text[-3:])[:200])
    return {"kind": f["kind"], "idle": float(f["per_conn"])}


def bench_mem(a):
    hosts = a.mem_hosts
    print(f"\n## 3. Memory per connection\n")
    print("Bytes the process holds more, per connection (bench_heap_bytes(), bench/alloc_count.h):\n"
          "native: glibc mallinfo2() bytes in use (exact; kernel socket buffers are not in it);\n"
          "component: linear memory growth (64 KiB pages; an upper bound, peaks included).\n"
          f"server idle: {a.mem_conns} connections opened one at a time, one GET / each, left open; "
          "GET /mem on a\nconnection of its own before and after (after a warm-up connection).\n"
          f"server pipelining, not reading: then {a.pipe_conns} more connections each send "
          f"{a.pipe_reqs} pipelined GET /big\n(1 MiB responses) and never read; /mem when it "
          "settles (two readings 0.5 s apart agree).\n"
          f"client idle: http_get --idle {a.mem_client_conns + 1}: a warm call, then "
          f"{a.mem_client_conns + 1} calls at once against nginx;\n"
          f"per pooled idle connection = the difference / {a.mem_client_conns} new connections.\n"
          "TLS: http_serve with a self-signed EC P-256 certificate, Python ssl clients (TLS 1.3, which "
          "mbedTLS\nprefers); the client against nginx_server.py --tls (ecdsa-gcm, "
          "TLS 1.2, its private CA).\n")
    rows = []
    tmp = tempfile.mkdtemp(prefix="wasio-bench-mem-")
    ng = None
    try:
        make_cert(tmp)
        ng, port, ca, ports = start_nginx_tls(600)
        plain_url = f"http://127.0.0.1:{port}/small.txt"
        tls_url = f"https://localhost:{ports['ecdsa-gcm']}/small.txt"
        for host in hosts:
            row = [host]
            for what in ("server", "server-tls", "client", "client-tls"):
                try:
                    if what.startswith("server"):
                        r = server_mem_run(host, a, what.endswith("tls"), tmp)
                    else:
                        r = client_mem_run(host, a, tls_url if what.endswith("tls") else plain_url,
                                           ca if what.endswith("tls") else None)
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                    print(f"  [mem {host} {what}: {str(e)[:200]}]", file=sys.stderr)
                    row.append("error")
                    if what == "server":
                        row.append("error")
                    continue
                print(f"  [mem {host} {what}: {r}]", file=sys.stderr)
                row.append(f"{r['idle']:,.0f}")
                if what == "server":
                    row.append(f"{r['pipe']:,.0f}")
            rows.append(row)
    finally:
        if ng:
            stop(ng)
        shutil.rmtree(tmp, ignore_errors=True)
    table(["host", "server idle (B)", "server, pipelining non-reader (B)", "server idle TLS (B)",
           "client pooled idle (B)", "client pooled idle TLS (B)"], rows)


# ---- main ------------------------------------------------------------------------------

def table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    def fmt(cells):
        return "| " + " | ".join(str(c).rjust(w) for c, w in zip(cells, widths)) + " |"
    print(fmt(headers))
    print("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    for r in rows:
        print(fmt(r))
    sys.stdout.flush()


def version(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=30).stdout.strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "?"


def machine():
    try:
        with open("/proc/cpuinfo") as f:
            for l in f:
                if l.startswith("model name"):
                    return l.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=["server", "client", "mem"])
    ap.add_argument("--reps", type=int, default=3, help="server runs per host")
    ap.add_argument("--client-reps", type=int, default=5,
                    help="client runs per host (each is short: 10,000 GETs take well under 1 s)")
    ap.add_argument("--duration", type=int, default=5, help="measured wrk seconds")
    ap.add_argument("--warmup", type=int, default=1, help="warm-up wrk seconds")
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--conns", type=int, default=32, help="client connections")
    ap.add_argument("--server-hosts", default="native,wasmtime,wasmtime-p3,wasmtime-serve,wasmtime-reuse,wasmtime-floor,"
                    "wasmtime-p3-serve,nginx")
    ap.add_argument("--client-hosts", default="native,wasmtime,wasmtime-p3,jco,curl")
    ap.add_argument("--jco-reps", type=int, default=1, help="client runs on jco (slow)")
    ap.add_argument("--server-path", default="/", choices=["/", "/chunks"],
                    help="what the wasio servers are asked for (/chunks: 8 small chunked writes)")
    ap.add_argument("--mem-hosts", default="native,wasmtime")
    ap.add_argument("--mem-conns", type=int, default=500, help="idle server connections")
    ap.add_argument("--mem-client-conns", type=int, default=200, help="idle pooled client connections")
    ap.add_argument("--pipe-conns", type=int, default=50, help="pipelining, non-reading connections")
    ap.add_argument("--pipe-reqs", type=int, default=2000, help="pipelined requests per such connection")
    ap.add_argument("--quick", action="store_true", help="smoke run")
    a = ap.parse_args()
    a.server_hosts = [h for h in a.server_hosts.split(",") if h]
    a.client_hosts = [h for h in a.client_hosts.split(",") if h]
    a.mem_hosts = [h for h in a.mem_hosts.split(",") if h]
    if a.server_path != "/":
        a.server_hosts = [h for h in a.server_hosts if h != "nginx"]
    for h in a.server_hosts:
        if h not in ("native", "wasmtime", "wasmtime-p3", "jco", "nginx") + SERVE_HOSTS:
            ap.error(f"unknown server host {h}")
    for h in a.client_hosts:
        if h not in ("native", "wasmtime", "wasmtime-p3", "jco", "curl"):
            ap.error(f"unknown client host {h}")
    if a.quick:
        a.reps, a.client_reps, a.duration, a.warmup, a.requests = 1, 1, 1, 1, 1000
    a.conns_server = 64
    a.client_timeout, a.jco_extra = 60, 60
    need = [os.path.join(NATIVE_DIR, p) for p in ("http_serve", "http_get")] + \
           [os.path.join(WASM_DIR, p + ".wasm") for p in ("http_serve", "http_get")] + [WRK, CURL]
    if "wasmtime-p3" in a.server_hosts + a.client_hosts:
        need += [os.path.join(P3_DIR, p + ".wasm") for p in ("http_serve", "http_get")]
    if any(h in SERVE_HOSTS for h in a.server_hosts):
        need += [os.path.join(HANDLER_DIR, p) for p in ("http_serve.wasm", "http_floor.wasm")]
    if "wasmtime-p3-serve" in a.server_hosts:
        need.append(os.path.join(HANDLER_P3_DIR, "http_serve.wasm"))
    missing = [p for p in need if not os.path.exists(p)]
    if missing:
        print("bench/run_http.py: missing " + ", ".join(missing) + " (run: make bench-http)",
              file=sys.stderr)
        return 2
    raise_nofile()
    t0 = time.monotonic()
    print("# wasio HTTP benchmarks")
    print(f"\n{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
          f"{platform.node()}: {os.cpu_count()} CPUs ({machine()}), Linux {platform.release()}")
    print(f"wasmtime: {version([os.path.join(TOOLS, 'bin', 'wasmtime'), '--version'])}; "
          f"node: {version(['node', '--version'])}; nginx: {version(['nginx', '-v'])}; "
          f"{version([WRK, '-v'])}; {version([CURL, '--version'])[:11]}")
    print(f"Load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("Command: make bench-http  (python3 bench/run_http.py " + " ".join(sys.argv[1:]) + ")")
    if a.only not in ("client", "mem"):
        bench_server(a)
    if a.only not in ("server", "mem"):
        bench_client(a)
    if a.only not in ("server", "client"):
        bench_mem(a)
    print(f"\nLoad average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"Total time: {time.monotonic() - t0:.0f} s")
    if NOTES:
        print("\nNotes (errors seen in measured runs):")
        for n in NOTES:
            print("  " + n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
