#!/usr/bin/env python3
# wasio-test: timeout 240
"""tests/apps/examples.py: the HTTP examples, as a reader of the README runs
them (examples/http-server, examples/http-client, examples/http-handler and
examples/http-proxy).

A test program in the harness protocol (tests/pydriver.py):
    examples.py --host HOST --list
    examples.py --host HOST [NAME...]
HOST native runs build/native/examples/NAME (ASan+UBSan); wasmtime and jco
run build/wasm32/examples/NAME.wasm through tools/wasio-run --net. The
server prints "listening on http://IP:PORT/" first; it is stopped at the
end of each test (wasio-run passes the signal on to its host).

http-handler and http-proxy are also wasi:http handlers: on wasmtime and
jco their --http builds (build/wasm32/examples-http/NAME.wasm; on wasmtime
also the --p3 --http builds, build/wasm32/examples-p3-http) are served
with the one command their comments document, tools/wasio-run --serve
(wasmtime serve, jco serve), beside the socket component; every check runs
on both deployments. The proxy's upstream is http-handler, natively.

examples/gateway (a wasio server answering from redis through hiredis and
from an upstream through libcurl, in one loop) runs against a
redis-server (Debian's) and tests/helpers/nginx_server.py that the test
starts on loopback.
"""
import os
import re
import subprocess
import sys
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import pydriver  # noqa: E402
from pydriver import RUNNER, check  # noqa: E402

START_TIMEOUT_S = 30   # jco transpiles before it starts
RUN_TIMEOUT_S = 60
CURL_TIMEOUT_S = 20


def command(host, name, args):
    return pydriver.command(host, os.path.join(pydriver.BUILD, "native", "examples", name),
                            os.path.join(pydriver.BUILD, "wasm32", "examples", name + ".wasm"), args, net=True,
                            timeout=RUN_TIMEOUT_S)


class Server(pydriver.Process):
    """examples/http-server on port 0: its base URL from the line it prints
    first ("listening on http://IP:PORT/")."""

    def __init__(self, host):
        super().__init__(command(host, "http-server", ["0"]), ready=r"listening on (http://\S+/)$",
                         timeout=START_TIMEOUT_S, merge_stderr=True, what="http-server")
        self.base = self.match.group(1)


def curl(*args):
    p = subprocess.run(["curl", "-sS", "-m", str(CURL_TIMEOUT_S), *args], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=CURL_TIMEOUT_S + 5)
    return p.returncode, p.stdout


def test_server_routes(host):
    s = Server(host)
    try:
        rc, out = curl(s.base + "hello?name=wasio+user%21")
        check(rc == 0 and out == b"hello, wasio user!\n", f"/hello: {rc} {out!r}")
        rc, out = curl(s.base + "time")
        check(rc == 0 and re.match(rb'\{"unix": \d+, "http_date": "\w{3}, \d\d \w{3} \d{4} [\d:]{8} GMT"\}\n$', out),
              f"/time: {out!r}")
        body = os.urandom(300_000)
        p = subprocess.run(["curl", "-sS", "-m", str(CURL_TIMEOUT_S), "--data-binary", "@-", s.base + "count"],
                           input=body, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=CURL_TIMEOUT_S + 5)
        want = f"{len(body)} bytes, adler32 {zlib.adler32(body):08x}\n".encode()
        check(p.returncode == 0 and p.stdout == want, f"/count: {p.stdout!r}, want {want!r}")
        rc, out = curl("-i", "-X", "DELETE", s.base + "time")
        check(b"405" in out.split(b"\r\n")[0] and b"Allow: GET, HEAD" in out, f"DELETE /time: {out[:200]!r}")
        rc, out = curl("-o", "/dev/null", "-w", "%{http_code}", s.base + "nope")
        check(out == b"404", f"/nope: {out!r}")
        rc, out = curl("-o", "/dev/null", "-w", "%{http_code}", s.base + "wait?ms=99999")
        check(out == b"400", f"/wait?ms=99999: {out!r}")
        rc, out = curl("-o", "/dev/null", "-w", "%{http_code}", "--path-as-is", s.base + "../etc/passwd")
        check(out == b"400", f"a path above the root: {out!r}")
    finally:
        s.stop()


def test_client_runs_calls_at_once(host):
    """Three /wait calls (1000, 900 and 600 ms) and /time: together they
    take about 1 s, not 2.5, and the answers arrive shortest first."""
    s = Server(host)
    try:
        urls = [s.base + "wait?ms=1000", s.base + "wait?ms=900", s.base + "wait?ms=600", s.base + "time"]
        t0 = time.time()
        p = subprocess.run(command(host, "http-client", urls), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=RUN_TIMEOUT_S + 10)
        took = time.time() - t0
        lines = p.stdout.strip().splitlines()
        check(p.returncode == 0, f"http-client exit {p.returncode}: {p.stdout}")
        done = [l.split()[-1] for l in lines[:-1]]
        check(done == [urls[3], urls[2], urls[1], urls[0]], f"completion order: {lines}")
        check(all(l.startswith("200 ") for l in lines[:-1]), f"statuses: {lines}")
        check(re.match(r"4 of 4 ok in \d+ ms$", lines[-1]), f"summary: {lines[-1]!r}")
        ms = int(lines[-1].split()[-2])
        # The calls overlap: well under the 2.5 s they would take one by one.
        check(1000 <= ms < 2000, f"the four calls took {ms} ms together ({took:.1f} s with start-up)")
    finally:
        s.stop()


def test_client_reports_failures(host):
    p = subprocess.run(command(host, "http-client", ["ftp://x/", "http://127.0.0.1:1/"]), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=RUN_TIMEOUT_S + 10)
    check(p.returncode == 1, f"exit {p.returncode}, want 1: {p.stdout}")
    check("error: URL scheme is not http or https ftp://x/" in p.stdout, p.stdout)
    check("error: connection refused http://127.0.0.1:1/" in p.stdout, p.stdout)
    check("0 of 2 ok in" in p.stdout, p.stdout)


# ---- http-handler and http-proxy: one file, two deployments ----------------------------

SERVE_READY = r"(?:Serving HTTP on http://127\.0\.0\.1:|Server listening @ 127\.0\.0\.1:)(\d+)"


class Deployed(pydriver.Process):
    """An example served one way: "native" (the socket build natively),
    "socket" (the socket component through wasio-run --net) or "serve"
    (the --http build through wasio-run --serve). self.base: its URL."""

    def __init__(self, host, name, how, env=(), args=()):
        if how in ("serve", "serve-p3"):
            cmd = [RUNNER, "--serve", "127.0.0.1:0", "--host", host, "--timeout", str(RUN_TIMEOUT_S)]
            for e in env:
                cmd += ["--env", e]
            sub = "examples-p3-http" if how == "serve-p3" else "examples-http"
            cmd.append(os.path.join(ROOT, "build", "wasm32", sub, name + ".wasm"))
            ready = SERVE_READY
        else:
            cmd = command("native" if how == "native" else host, name, ["0", *args])
            ready = r"listening on http://127\.0\.0\.1:(\d+)/"
        super().__init__(cmd, ready=ready, timeout=START_TIMEOUT_S * 2, merge_stderr=True, what=f"{name} ({how})")
        self.how = how
        self.base = f"http://127.0.0.1:{self.port}/"


def deployments(host):
    """Where each example runs on host: natively; as a socket component and
    a wasi:http 0.2 handler; on wasmtime also as a wasi:http 0.3 handler
    (wasio-cc --p3 --http, build/wasm32/examples-p3-http: jco serve has no
    0.3 handler)."""
    if host == "native":
        return ["native"]
    return ["socket", "serve", "serve-p3"] if host == "wasmtime" else ["socket", "serve"]


def check_handler(base, how):
    rc, out = curl(base)
    check(rc == 0 and b"GET /hello\n" in out and b"POST /echo\n" in out, f"[{how}] /: {rc} {out!r}")
    rc, out = curl(base + "hello?name=wasio+user%21")
    check(rc == 0 and out == b"hello, wasio user!\n", f"[{how}] /hello: {rc} {out!r}")
    rc, out = curl("-i", base + "count?to=5")
    head, _, body = out.partition(b"\r\n\r\n")
    check(rc == 0 and body == b"1\n2\n3\n4\n5\n" and b"chunked" in head.lower(), f"[{how}] /count: {out!r}")
    body = os.urandom(300_000)
    p = subprocess.run(["curl", "-sS", "-m", str(CURL_TIMEOUT_S), "--data-binary", "@-", base + "echo"],
                       input=body, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=CURL_TIMEOUT_S + 5)
    check(p.returncode == 0 and p.stdout == body, f"[{how}] /echo: exit {p.returncode}, {len(p.stdout)} bytes back")
    rc, out = curl("-i", "-X", "DELETE", base + "echo")
    check(b" 405 " in out.split(b"\r\n")[0] and re.search(rb"(?i)\r\nallow: POST\r\n", out), f"[{how}] DELETE /echo: {out[:300]!r}")
    rc, out = curl("-o", "/dev/null", "-w", "%{http_code}", base + "nope")
    check(out == b"404", f"[{how}] /nope: {out!r}")
    rc, out = curl(base + "wait?ms=100")
    check(out == b"waited 100 ms\n", f"[{how}] /wait: {out!r}")


def test_handler_routes(host):
    """examples/http-handler natively, as a socket component and served
    as a wasi:http handler: the same answers."""
    for how in deployments(host):
        s = Deployed(host, "http-handler", how)
        try:
            check_handler(s.base, how)
        finally:
            s.stop()


def test_proxy_streams(host):
    """examples/http-proxy in front of http-handler: answers passed on
    (with Via), a chunked answer and a 1 MiB echo streamed through both
    ways at once, and 502 with the reason when the upstream is down."""
    up = Deployed("native", "http-handler", "native")
    try:
        upstream = up.base.rstrip("/")
        for how in deployments(host):
            s = Deployed(host, "http-proxy", how, env=[f"UPSTREAM={upstream}"], args=[upstream])
            try:
                rc, out = curl("-i", s.base + "hello?name=proxy")
                check(rc == 0 and out.endswith(b"\r\n\r\nhello, proxy\n") and re.search(rb"(?i)\r\nvia: 1.1 wasio-proxy\r\n", out),
                      f"[{how}] /hello through the proxy: {out!r}")
                rc, out = curl(s.base + "count?to=1000")
                check(rc == 0 and out == b"".join(b"%d\n" % i for i in range(1, 1001)), f"[{how}] /count: {out[:100]!r}")
                body = os.urandom(1024 * 1024)
                p = subprocess.run(["curl", "-sS", "-m", str(CURL_TIMEOUT_S), "--data-binary", "@-", s.base + "echo"],
                                   input=body, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=CURL_TIMEOUT_S + 5)
                check(p.returncode == 0 and p.stdout == body,
                      f"[{how}] /echo through the proxy: exit {p.returncode}, {len(p.stdout)} bytes back {p.stderr[-200:]!r}")
            finally:
                s.stop()
        down = f"http://127.0.0.1:{pydriver.free_port()}"
        for how in deployments(host):
            s = Deployed(host, "http-proxy", how, env=[f"UPSTREAM={down}"], args=[down])
            try:
                rc, out = curl("-i", s.base + "hello")
                check(b" 502 " in out.split(b"\r\n")[0] and b"http-proxy: " + down.encode() + b"/hello: " in out,
                      f"[{how}] an upstream that is down: {out!r}")
            finally:
                s.stop()
    finally:
        up.stop()


GATEWAY_REQUESTS = 24  # at once, through one gateway


def test_gateway_redis_and_upstream_at_once(host):
    """examples/gateway (issue 13's combined example): its wasio server
    answers each request from redis (hiredis) and an upstream (libcurl
    multi) in one loop with a ticking timer; GATEWAY_REQUESTS requests at
    once all get the value, the upstream's answer and a tick count."""
    redis_port = pydriver.free_port()
    redis = pydriver.Process(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], ready=r".*(Ready to accept connections)", what="redis-server")
    nginx = pydriver.Process([sys.executable, os.path.join(ROOT, "tests", "helpers", "nginx_server.py"),
                              "--lifetime", "120"], first_line=True, what="nginx_server.py")
    gw = None
    try:
        p = subprocess.run(["redis-cli", "-p", str(redis_port), "set", "greeting", "hello gateway"],
                           stdout=subprocess.PIPE, timeout=10)
        check(p.stdout.strip() == b"OK", f"redis-cli set: {p.stdout!r}")
        upstream = f"http://127.0.0.1:{nginx.port}/small.txt"
        gw = pydriver.Process(command(host, "gateway", ["0", "localhost", str(redis_port), upstream]),
                              ready=r"listening on (http://\S+/)$", timeout=START_TIMEOUT_S, merge_stderr=True,
                              what="gateway")
        base = gw.match.group(1)
        time.sleep(0.3)  # a few ticks
        procs = [subprocess.Popen(["curl", "-sS", "-m", str(CURL_TIMEOUT_S), base + ("greeting" if i % 2 else "nothing")],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for i in range(GATEWAY_REQUESTS)]
        for i, pr in enumerate(procs):
            out, _ = pr.communicate(timeout=CURL_TIMEOUT_S + 5)
            want = b"redis: hello gateway\n" if i % 2 else b"redis: (nil)\n"
            check(pr.returncode == 0 and want in out and b"upstream: 200 17 bytes\n" in out
                  and re.search(rb"ticks: [1-9][0-9]*\n", out), f"request {i}: {out!r}")
        rc, out = curl("-o", "/dev/null", "-w", "%{http_code}", base)
        check(out == b"404", f"GET /: {out!r}")
    finally:
        if gw is not None:
            gw.stop()
        nginx.stop()
        redis.stop()


if __name__ == "__main__":
    sys.exit(pydriver.main(globals()))
