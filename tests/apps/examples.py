#!/usr/bin/env python3
# wasio-test: timeout 240
"""tests/apps/examples.py: the HTTP examples, as a reader of the README runs
them (examples/http-server and examples/http-client).

A test program in the harness protocol (tests/pydriver.py):
    examples.py --host HOST --list
    examples.py --host HOST [NAME...]
HOST native runs build/native/examples/NAME (ASan+UBSan); wasmtime and jco
run build/wasm32/examples/NAME.wasm through tools/wasio-run --net. The
server prints "listening on http://IP:PORT/" first; it is stopped at the
end of each test (wasio-run passes the signal on to its host).
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
from pydriver import check  # noqa: E402

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


if __name__ == "__main__":
    sys.exit(pydriver.main(globals()))
