#!/usr/bin/env python3
# wasio-test: timeout 900
# wasio-test: hosts native wasmtime jco wasmtime-p3 jco-p3
"""tests/apps/http_handler.py: one HTTP handler (tests/servers/http_handler.c)
served through both transports of wasio/http.h, checked by what real
clients get.

A test program in the harness protocol (tests/pydriver.py):
    http_handler.py --host HOST --list
    http_handler.py --host HOST [NAME...]

Where each HOST runs the handler:
  native    build/native/test-servers/http_handler 0: the socket build
            (ASan+UBSan), on 127.0.0.1:P;
  wasmtime  build/wasm32/test-servers-http/http_handler.wasm under
            `wasmtime serve -S cli` twice: "fresh" (a new instance per
            request, the default for p2 components) and "reuse"
            (--max-instance-reuse-count, one instance serves many
            requests, and -S inherit-network: sockets are granted there
            only); every test runs on both, and a failure names which;
  jco       the same component under `jco serve` (tools/jco: one instance
            serves every request);
  wasmtime-p3  build/wasm32/test-servers-p3-http/http_handler.wasm (wasio-cc
            --p3 --http: a wasi:http 0.3 handler, the async export with
            several requests of one instance at once) under `wasmtime serve
            -S cli`, instances reused (--max-instance-reuse-count) and
            sockets granted (-S inherit-network): the "p3" variant.
  jco-p3    the same 0.3 component on jco's p3 output under Node 24
            (tools/jco/run-p3.mjs --serve: preview3-shim's HttpServer,
            one instance, one request at a time): the "jcop3" variant.
Where jco's preview2-shim cannot do what a test needs, the test is SKIPped
with the reason and the place in the shim's source (under
tools/jco/node_modules) that shows it. Every client is http.client or a
raw socket with a time limit, over 127.0.0.1 only; nothing is timed: the
64 slow requests prove they ran at once by the handler's own timestamps
(every one started before any ended).
"""
import http.client
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import pydriver  # noqa: E402
from pydriver import Skipped, check, test  # noqa: E402

NATIVE = os.path.join(ROOT, "build", "native", "test-servers", "http_handler")
WASM = os.path.join(ROOT, "build", "wasm32", "test-servers-http", "http_handler.wasm")
WASM_P3 = os.path.join(ROOT, "build", "wasm32", "test-servers-p3-http", "http_handler.wasm")
WASMTIME = os.path.join(pydriver.WASIO_TOOLS, "bin", "wasmtime")
JCO = os.path.join(ROOT, "tools", "jco", "node_modules", "@bytecodealliance", "jco", "dist", "jco.js")
SHIM = "tools/jco/node_modules/@bytecodealliance/jco/node_modules/@bytecodealliance/preview2-shim/dist"
NODE_P3 = os.path.join(pydriver.WASIO_TOOLS, "bin", "node-p3")
RUN_P3 = os.path.join(ROOT, "tools", "jco", "run-p3.mjs")
SHIM3 = "tools/jco/node_modules/@bytecodealliance/preview3-shim/dist/nodejs"
START_TIMEOUT_S = 60   # jco transpiles first
REQUEST_TIMEOUT_S = 30
MIB = 1024 * 1024
MAX_BODY = 2 * MIB     # the handler's max_body
BODY_TIMEOUT_S = 2     # the handler's body_timeout_ns
REUSE_REQUESTS = 1000
SLOW_REQUESTS = 64
SLOW_MS = 3000
FNV_START = 0xcbf29ce484222325

VARIANTS = {"native": ["native"], "wasmtime": ["fresh", "reuse"], "jco": ["jco"], "wasmtime-p3": ["p3"],
            "jco-p3": ["jcop3"]}
REUSED = ("reuse", "p3")  # the variants whose instances serve many requests, sockets granted

JCO_NO_TRAILERS = (f"jco's preview2-shim has no trailers: FutureTrailers.get answers an empty list and "
                   f"OutgoingBody.finish throws internal-error \"trailers unsupported\" ({SHIM}/nodejs/http.js)")
JCO_EXITS_ON_ERROR = (f"jco's preview2-shim ends the process on a response-outparam set to an error-code "
                      f"(HTTPServer in {SHIM}/nodejs/http.js: console.error, then process.exit(1))")
JCO_CRASHES_ON_ABORT = (f"jco's preview2-shim crashes on an outgoing-body dropped unfinished (how wasi:http "
                        f"aborts a body): the body's dispose deletes its stream, then HTTPServer disposes the "
                        f"stream again after handle returns and the worker throws ({SHIM}/nodejs/http.js, "
                        f"{SHIM}/io/worker-thread.js OUTPUT_STREAM_DISPOSE)")
JCO_P3_SERIAL = (f"preview3-shim's HttpServer awaits each call of the handler's handle before it takes "
                 f"the next request (#serveLoop in {SHIM3}/http/server.js), so one instance serves its "
                 f"requests one after another")
JCO_P3_ABORT_KILLS = (f"preview3-shim's HttpServer turns a client gone mid-body into a rejected trailers "
                      f"promise that nothing awaits (requestFromParts in {SHIM3}/http/server.js; the worker "
                      f"posts pipeline's \"aborted\" error from {SHIM3}/workers/http-worker.js), and Node ends "
                      f"the process on the unhandled rejection")
JCO_SERIAL = (f"jco serve runs handle on Node's main thread and every wasi:io call of the shim, poll "
              f"included, is a synchronous Atomics.wait on its worker ({SHIM}/synckit/index.js), so one "
              f"instance serves its requests one after another")


def fnv(data, h=FNV_START):
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def dl_bytes(n):
    """What /download sends: byte i is dl_byte(i) of the handler."""
    return bytes(((i * 131 + (i >> 8) * 7 + 11) & 0xFF) for i in range(n))


class Handler(pydriver.Process):
    """The handler on one variant; its output (stdout and stderr merged)
    is drained by a thread into self.out, so a chatty host never blocks."""

    def __init__(self, variant, reuse=REUSE_REQUESTS * 2, main=None):
        env = dict(os.environ, RUST_BACKTRACE="0", RUST_LIB_BACKTRACE="0")
        if main is not None:
            env["HTTP_HANDLER_MAIN"] = main
        if variant == "native":
            cmd, ready = [NATIVE, "0"], r"listening on http://127\.0\.0\.1:(\d+)/$"
        elif variant in ("fresh", "reuse", "p3"):
            cmd = [WASMTIME, "serve", "-S", "cli", "--addr", "127.0.0.1:0"]
            if variant in REUSED:
                cmd += ["-S", "inherit-network=y"]  # sockets granted here only (tcp_inside_a_handler)
            if main is not None:
                cmd += ["--env", f"HTTP_HANDLER_MAIN={main}"]
            if variant in REUSED:
                cmd += ["--max-instance-reuse-count", str(reuse), "--idle-instance-timeout", "60s"]
            cmd.append(WASM_P3 if variant == "p3" else WASM)
            ready = r"Serving HTTP on http://127\.0\.0\.1:(\d+)/$"
        elif variant == "jcop3":
            cmd = [NODE_P3, "--experimental-wasm-jspi", RUN_P3, "--serve", "127.0.0.1:0", WASM_P3]
            ready = r"Serving HTTP on http://127\.0\.0\.1:(\d+)/$"
        else:
            port = pydriver.free_port()
            cmd = ["node", JCO, "serve", "--host", "127.0.0.1", "--port", str(port), WASM]
            ready = r"Server listening @ 127\.0\.0\.1:(\d+)\.\.\.$"
        super().__init__(cmd, ready=ready, timeout=START_TIMEOUT_S, merge_stderr=True, env=env,
                         what=f"http_handler ({variant})")
        self.variant = variant
        self.out = b""
        self.lock = threading.Lock()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.out += chunk

    def wait_output(self, pattern, timeout=10):
        deadline = time.time() + timeout
        rx = re.compile(pattern)
        while time.time() < deadline:
            with self.lock:
                m = rx.search(self.out.decode(errors="replace"))
            if m:
                return m
            time.sleep(0.05)
        with self.lock:
            tail = self.out[-600:].decode(errors="replace")
        raise pydriver.Failure(f"{self.variant}: no output matching {pattern!r} within {timeout} s; last: {tail!r}")


class Ctx:
    """One handler per variant of the host, started when first needed and
    again if it died."""

    def __init__(self, host, params):
        self.host = host
        self.handlers = {}

    def handler(self, variant):
        h = self.handlers.get(variant)
        if h is None or not h.running():
            h = self.handlers[variant] = Handler(variant)
        return h

    def each(self, fn, variants=None):
        """fn(handler) on every variant of the host (or those listed)."""
        for v in VARIANTS[self.host]:
            if variants is not None and v not in variants:
                continue
            try:
                fn(self.handler(v))
            except pydriver.Failure as e:
                raise pydriver.Failure(f"[{v}] {e}")
            except (OSError, http.client.HTTPException) as e:
                raise pydriver.Failure(f"[{v}] {type(e).__name__}: {e}")

    def close(self):
        for h in self.handlers.values():
            h.stop()


# ---- clients --------------------------------------------------------------------------

def request(h, method, path, body=None, headers=None, chunked=False, conn=None):
    """(status, headers lower-cased, body) of one request (on `conn`, a
    kept-alive connection, when given)."""
    c = conn or http.client.HTTPConnection("127.0.0.1", h.port, timeout=REQUEST_TIMEOUT_S)
    try:
        hdrs = dict(headers or {})
        if chunked:
            data = body
            body = (data[i:i + 65536] for i in range(0, len(data), 65536))
            c.request(method, path, body=body, headers=hdrs, encode_chunked=True)
        else:
            c.request(method, path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        if conn is None:
            c.close()


def raw(h):
    s = socket.create_connection(("127.0.0.1", h.port), timeout=REQUEST_TIMEOUT_S)
    return s


def read_head(s, buf=b""):
    """Reads one response head from s: (status, headers, rest of buf)."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise pydriver.Failure(f"connection closed before a response head: {buf[:200]!r}")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, rest


def read_chunked(s, buf):
    """A chunked body and its trailer fields from s (buf: what came
    after the head)."""
    body, trailers = b"", {}

    def need(n):
        nonlocal buf
        while len(buf) < n:
            d = s.recv(65536)
            if not d:
                raise pydriver.Failure(f"connection closed inside a chunked body ({len(body)} bytes so far)")
            buf += d

    def line():
        nonlocal buf
        while b"\r\n" not in buf:
            need(len(buf) + 1)
        l, _, buf = buf.partition(b"\r\n")
        return l

    while True:
        size = int(line().split(b";")[0], 16)
        if size == 0:
            break
        need(size + 2)
        body += buf[:size]
        buf = buf[size + 2:]
    while True:
        l = line()
        if not l:
            return body, trailers
        k, _, v = l.decode().partition(":")
        trailers[k.strip().lower()] = v.strip()


def send_until_answer(h, head, piece, most=8 * MIB):
    """Sends head, then `piece` again and again (at most `most` bytes)
    until the server answers: the answer's status. A server that answers
    early and closes may reset what is still in flight; the answer was
    read before that or is read after."""
    s = raw(h)
    try:
        s.sendall(head)
        sent = 0
        while sent < most:
            r, _, _ = select.select([s], [], [], 0)
            if r:
                break
            try:
                s.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        try:
            status, _, _ = read_head(s)
        except ConnectionResetError:
            raise pydriver.Failure(f"reset before an answer, after {sent} body bytes")
        return status
    finally:
        s.close()


def stats(h, conn=None):
    status, _, body = request(h, "GET", "/stats", conn=conn)
    m = re.match(rb"instance (\w+) requests (\d+) live (-?\d+) bytes (-?\d+) memory (\d+)\n$", body)
    check(status == 200 and m, f"/stats: {status} {body!r}")
    return {"instance": m.group(1).decode(), "requests": int(m.group(2)), "live": int(m.group(3)),
            "bytes": int(m.group(4)), "memory": int(m.group(5))}


# ---- tests ----------------------------------------------------------------------------

@test
def routing(ctx):
    def run(h):
        status, hd, body = request(h, "GET", "/hello")
        check((status, body) == (200, b"hello from wasio\n"), f"GET /hello: {status} {body!r}")
        check(hd.get("content-length") == "17", f"GET /hello: Content-Length {hd.get('content-length')!r}")
        status, hd, body = request(h, "HEAD", "/hello")
        check(status == 200 and body == b"" and hd.get("content-length") == "17",
              f"HEAD /hello: {status} {hd} {body!r}")
        status, _, body = request(h, "GET", "/query?name=wasio+user%21")
        check((status, body) == (200, b"name=wasio user!\n"), f"/query: {status} {body!r}")
        status, _, body = request(h, "GET", "/nope")
        check(status == 404, f"/nope: {status}")
        status, hd, _ = request(h, "DELETE", "/hello")
        check(status == 405 and hd.get("allow") == "GET, HEAD", f"DELETE /hello: {status} allow={hd.get('allow')!r}")
    ctx.each(run)


@test
def upload_1mib(ctx):
    data = os.urandom(MIB)
    want = f"bytes {MIB} fnv {fnv(data):016x} trailers 0\n".encode()

    def run(h):
        status, _, body = request(h, "POST", "/upload", data)
        check((status, body) == (200, want), f"Content-Length upload: {status} {body!r}, want {want!r}")
        status, _, body = request(h, "POST", "/upload", data, chunked=True)
        check((status, body) == (200, want), f"chunked upload: {status} {body!r}, want {want!r}")
    ctx.each(run)


@test
def download_1mib(ctx):
    want = dl_bytes(MIB)

    def run(h):
        status, hd, body = request(h, "GET", f"/download?bytes={MIB}")
        check(status == 200 and hd.get("content-length") == str(MIB), f"length download: {status} {hd}")
        check(fnv(body) == fnv(want) and len(body) == MIB, f"length download: {len(body)} bytes, fnv differs")
        status, hd, body = request(h, "GET", f"/download?bytes={MIB}&chunked=1&chunk=1000")
        check(status == 200 and "content-length" not in hd, f"chunked download: {status} {hd}")
        check(fnv(body) == fnv(want) and len(body) == MIB, f"chunked download: {len(body)} bytes, fnv differs")
    ctx.each(run)


@test
def echo_streams_both_ways(ctx):
    """A 1 MiB body streamed back as it arrives (the handler pauses the
    request body while a write is out: backpressure both ways)."""
    data = os.urandom(MIB)

    def run(h):
        status, _, body = request(h, "POST", "/echo", data, chunked=True)
        check(status == 200 and body == data, f"/echo: {status}, {len(body)} bytes back, equal: {body == data}")
    ctx.each(run)


@test
def expect_100_continue(ctx):
    data = os.urandom(256 * 1024)
    want = f"bytes {len(data)} fnv {fnv(data):016x} trailers 0\n".encode()

    def run(h):
        s = raw(h)
        try:
            s.sendall(b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                      b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(data))
            status, _, rest = read_head(s)
            check(status == 100, f"the interim response: {status}, want 100 before the body is sent")
            s.sendall(data)
            status, hd, rest = read_head(s, rest)
            body = rest
            while len(body) < int(hd.get("content-length", "0")):
                d = s.recv(65536)
                if not d:
                    break
                body += d
            check((status, body) == (200, want), f"after 100: {status} {body!r}")
        finally:
            s.close()
        # A body over max_body is refused by its Content-Length, without 100
        # (Node's http server under jco and jco-p3 sends 100 at once: the
        # final answer is still 413).
        s = raw(h)
        try:
            s.sendall(b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                      b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (MAX_BODY + 1))
            status, _, rest = read_head(s)
            if status == 100 and h.variant in ("jco", "jcop3"):
                status, _, rest = read_head(s, rest)
            check(status == 413, f"Content-Length over max_body with Expect: {status}, want 413")
        finally:
            s.close()
    ctx.each(run)


@test
def trailers_both_ways(ctx):
    if ctx.host == "jco":
        raise Skipped(JCO_NO_TRAILERS)
    data = b"trailer test body\n" * 100

    def run(h):
        s = raw(h)
        try:
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + 500]), data[i:i + 500])
                              for i in range(0, len(data), 500))
            s.sendall(b"POST /trailers HTTP/1.1\r\nHost: 127.0.0.1\r\nTE: trailers\r\nTrailer: x-check\r\n"
                      b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks +
                      b"0\r\nx-check: 42\r\n\r\n")
            status, hd, rest = read_head(s)
            check(status == 200 and hd.get("transfer-encoding") == "chunked", f"/trailers: {status} {hd}")
            body, trailers = read_chunked(s, rest)
            check(body == b"bytes %d\n" % len(data), f"/trailers body: {body!r}")
            want = {"x-fnv": f"{fnv(data):016x}", "x-bytes": str(len(data)), "x-echo-x-check": "42"}
            check(trailers == want, f"trailers: {trailers}, want {want}")
        finally:
            s.close()
    ctx.each(run)


@test
def handler_aborts(ctx):
    """wasio_http_respond_abort before any response: a 500, not a hung
    request (native: the server's own; wasmtime: the host's, for the
    error-code)."""
    if ctx.host == "jco":
        raise Skipped(JCO_EXITS_ON_ERROR)

    def run(h):
        status, _, body = request(h, "GET", "/fail/abort")
        check(status == 500, f"/fail/abort: {status} {body[:200]!r}")
        if h.variant == "native":
            check(body == b"500 Internal Server Error: I/O error\n", f"/fail/abort: {body!r}")
        status, _, _ = request(h, "GET", "/hello")
        check(status == 200, f"the next request: {status}")
    ctx.each(run)


@test
def handler_forgets(ctx):
    """A handler that returns with no response and nothing on the loop:
    through the host, the export sees the loop has no work left and
    answers 500 itself (never a hung request)."""
    if ctx.host == "native":
        raise Skipped("a socket server cannot tell a handler that forgot from one still working (its loop "
                      "has the listener and the connection): the client's own timeout ends such a request")

    def run(h):
        status, _, body = request(h, "GET", "/fail/forget")
        check(status == 500 and b"the handler left the request without a response" in body,
              f"/fail/forget: {status} {body!r}")
        status, _, _ = request(h, "GET", "/hello")
        check(status == 200, f"the next request: {status}")
    ctx.each(run)


@test
def handler_aborts_midway(ctx):
    """An abort after 1000 bytes of a chunked body: the client sees an
    incomplete response, never one that looks whole."""
    if ctx.host == "jco":
        raise Skipped(JCO_CRASHES_ON_ABORT)

    def run(h):
        try:
            status, _, body = request(h, "GET", "/fail/midway")
            raise pydriver.Failure(f"/fail/midway looked complete: {status}, {len(body)} bytes")
        except http.client.IncompleteRead as e:
            check(len(e.partial) == 1000, f"/fail/midway: {len(e.partial)} bytes before the break, want 1000")
        status, _, _ = request(h, "GET", "/hello")
        check(status == 200, f"the next request: {status}")
    ctx.each(run)


@test
def bad_calls(ctx):
    """A second response, a write past the Content-Length, a write and an
    end after the end: each refused with its documented code."""
    def run(h):
        status, _, body = request(h, "GET", "/bad/second")
        want = b"second respond: WASIO_EBUSY\nsecond respond_start: WASIO_EBUSY\n"
        check((status, body) == (200, want), f"/bad/second: {status} {body!r}")
        status, hd, body = request(h, "GET", "/bad/too-long")
        check(status == 200 and len(body) == 64 and hd.get("content-length") == "64", f"/bad/too-long: {status} {hd}")
        check(body.startswith(b"write past Content-Length: WASIO_EHTTP_CONTENT_LENGTH_MISMATCH"), f"{body!r}")
        status, _, body = request(h, "GET", "/bad/after-end")
        check(status == 200 and body == b"", f"/bad/after-end: {status} {body!r}")
        h.wait_output(r"bad after-end: write=WASIO_ESTATE end=WASIO_ESTATE respond=WASIO_EBUSY")
    ctx.each(run)


@test
def limits_and_timeouts(ctx):
    """max_body: 413 from the Content-Length (before the handler) and from
    a chunked body that grows past it; body_timeout: 408 when the body
    stalls with no response started, as on a socket."""
    def run(h):
        status = send_until_answer(h, b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n"
                                      b"Connection: close\r\n\r\n" % (MAX_BODY + 1), b"x" * 65536)
        check(status == 413, f"Content-Length over max_body: {status}, want 413")
        status = send_until_answer(h, b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                                      b"Connection: close\r\n\r\n", b"10000\r\n" + b"y" * 65536 + b"\r\n")
        check(status == 413, f"chunked body over max_body: {status}, want 413")
        s = raw(h)
        try:
            s.sendall(b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n"
                      b"Connection: close\r\n\r\n0123456789")
            s.settimeout(BODY_TIMEOUT_S * 5)
            status, _, rest = read_head(s)
            check(status == 408, f"a stalled body: {status}, want 408")
        finally:
            s.close()
    ctx.each(run)


@test
def client_disconnects_mid_body(ctx):
    """A client that sends half its body and goes: the next request works,
    and on an instance that lives on nothing is left behind (its live heap
    is what it was)."""
    if ctx.host == "jco-p3":
        raise Skipped(JCO_P3_ABORT_KILLS)

    def gone(h):
        s = raw(h)
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % MIB + b"z" * 65536)
        time.sleep(0.3)
        s.close()
        time.sleep(0.5)

    def run(h):
        c = http.client.HTTPConnection("127.0.0.1", h.port, timeout=REQUEST_TIMEOUT_S)
        try:
            gone(h)  # once, so that whatever is kept for reuse exists
            before = stats(h, c)
            gone(h)
            status, _, body = request(h, "GET", "/hello", conn=c)
            check((status, body) == (200, b"hello from wasio\n"), f"the request after: {status} {body!r}")
            after = stats(h, c)
        finally:
            c.close()
        if h.variant == "fresh" or after["instance"] != before["instance"]:
            return  # a new instance each time: nothing lives on to leak into
        check((after["live"], after["bytes"]) == (before["live"], before["bytes"]),
              f"live heap before {before}, after {after}")
    ctx.each(run)


@test
def concurrent_slow_requests(ctx):
    """64 requests that each wait 3 s on a timer, sent at once: every one
    started (by the handler's wall clock) before any of them ended."""
    if ctx.host == "jco":
        raise Skipped(JCO_SERIAL)
    if ctx.host == "jco-p3":
        raise Skipped(JCO_P3_SERIAL)

    def run(h):
        results = [None] * SLOW_REQUESTS

        def one(i):
            try:
                results[i] = request(h, "GET", f"/slow?ms={SLOW_MS}")
            except (OSError, http.client.HTTPException) as e:
                results[i] = (None, {}, str(e).encode())
        threads = [threading.Thread(target=one, args=(i,)) for i in range(SLOW_REQUESTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(REQUEST_TIMEOUT_S * 2)
        spans = []
        for st, _, body in results:
            m = re.match(rb"start (\d+) end (\d+)\n$", body or b"")
            check(st == 200 and m, f"/slow: {st} {body!r}")
            spans.append((int(m.group(1)), int(m.group(2))))
        last_start, first_end = max(s for s, _ in spans), min(e for _, e in spans)
        check(last_start < first_end,
              f"the requests did not all run at once: the last started {(last_start - first_end) / 1e6:.0f} ms "
              f"after the first ended")
    ctx.each(run)


@test
def tcp_inside_a_handler(ctx):
    """A handler connects to a TCP server where the host grants sockets
    (natively, wasmtime serve with -S inherit-network: the "reuse"
    variant here, jco always), and gets a clear error where it does not
    (the "fresh" variant)."""
    peer = socket.socket()
    peer.bind(("127.0.0.1", 0))
    peer.listen(16)
    port = peer.getsockname()[1]

    def serve():
        while True:
            try:
                c, _ = peer.accept()
            except OSError:
                return
            with c:
                c.settimeout(10)
                data = b""
                while not data.endswith(b"\n"):
                    d = c.recv(64)
                    if not d:
                        break
                    data += d
                c.sendall(data)
    threading.Thread(target=serve, daemon=True).start()

    def run(h):
        status, _, body = request(h, "GET", f"/tcp?port={port}")
        if h.variant == "fresh":
            check(status == 502 and body == b"tcp connect: access denied\n", f"/tcp without sockets: {status} {body!r}")
        else:
            check((status, body) == (200, b"tcp says: ping\n"), f"/tcp: {status} {body!r}")
    try:
        ctx.each(run)
    finally:
        peer.close()


@test
def no_server_bound(ctx):
    """Through the host, a request always gets an answer: 500 with the
    reason when main returned without binding a server, or after the
    server was shut down (and a socket server that shut down refuses
    connections)."""
    def run(h):
        if h.variant != "native":
            h2 = Handler(h.variant, main="return")
            try:
                status, _, body = request(h2, "GET", "/hello")
                check(status == 500 and b"main returned 3 without binding an HTTP server to the host" in body,
                      f"main that returned 3: {status} {body!r}")
            finally:
                h2.stop()
        if h.variant == "fresh":
            return  # every request a new instance: nothing outlives /shutdown
        h3 = Handler(h.variant)
        try:
            status, _, body = request(h3, "GET", "/shutdown")
            check((status, body) == (200, b"shutting down\n"), f"/shutdown: {status} {body!r}")
            if h.variant == "native":
                try:
                    status, _, body = request(h3, "GET", "/hello")
                    raise pydriver.Failure(f"after the shutdown: {status} {body!r}, want a refused connection")
                except ConnectionRefusedError:
                    return
            status, _, body = request(h3, "GET", "/hello")
            check(status == 500 and b"the HTTP server of this instance was shut down" in body,
                  f"after the shutdown: {status} {body!r}")
        finally:
            h3.stop()
    ctx.each(run)


def mixed(h, conn, i):
    """One of the requests the reuse test repeats (every route that
    allocates something of its own): the instance that answered."""
    k = i % 6
    if k == 0:
        st, hd, _ = request(h, "GET", "/hello", conn=conn)
    elif k == 1:
        st, hd, _ = request(h, "GET", f"/query?name=n{i}", conn=conn)
    elif k == 2:
        st, hd, _ = request(h, "POST", "/upload", b"u" * 4096, conn=conn)
    elif k == 3:
        st, hd, _ = request(h, "GET", "/download?bytes=65536", conn=conn)
    elif k == 4:
        st, hd, _ = request(h, "POST", "/echo", b"e" * 4096, conn=conn)
    else:
        st, hd, _ = request(h, "GET", "/nope", conn=conn)
        st = 200 if st == 404 else st
    check(st == 200 and "x-instance" in hd, f"request {i} (kind {k}): {st} {hd}")
    return hd["x-instance"]


@test
def reuse_1000_requests(ctx):
    """One instance serves 1,000 more requests: its live heap (blocks and
    bytes) and its memory are what they were after its first 100. (A host
    may give some of one client's requests to other instances of its
    pool, when the next request comes before the instance is back in it:
    the requests go on until the first one served 1,000 more.)"""
    def run(h):
        if h.variant in REUSED:
            h = Handler(h.variant)  # its own: a pool of instances from other tests would spread the requests
        try:
            c = http.client.HTTPConnection("127.0.0.1", h.port, timeout=REQUEST_TIMEOUT_S)
            served, first, i = {}, None, 0
            while first is None or served[first] < 100:
                inst = mixed(h, c, i)
                i += 1
                served[inst] = served.get(inst, 0) + 1
                if first is None:
                    first = inst
                check(i < REUSE_REQUESTS * 4, f"the first instance served {served[first]} of {i} requests: {served}")

            def stats_of(inst):
                for _ in range(100):
                    st = stats(h, c)
                    if st["instance"] == inst:
                        return st
                raise pydriver.Failure(f"instance {inst} never answered /stats again")
            before = stats_of(first)
            n = 0
            while n < REUSE_REQUESTS:
                if mixed(h, c, i) == first:
                    n += 1
                i += 1
                check(i < REUSE_REQUESTS * 8, f"instance {first} served {n} of {i} requests")
            after = stats_of(first)
            c.close()
        finally:
            if h.variant in REUSED:
                h.stop()
        check(after["requests"] >= before["requests"] + REUSE_REQUESTS,
              f"instance {first}: before {before}, after {after}")
        check((after["live"], after["bytes"], after["memory"]) == (before["live"], before["bytes"], before["memory"]),
              f"the instance grew over {REUSE_REQUESTS} requests: before {before}, after {after}")
    ctx.each(run, variants=["native", "reuse", "jco", "p3", "jcop3"])


if __name__ == "__main__":
    sys.exit(pydriver.main(make_ctx=Ctx))
