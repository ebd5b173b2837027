#!/usr/bin/env python3
# wasio-test: timeout 300
"""tests/apps/wasio_serve.py: wasio-serve (apps/wasio-serve) fetched by curl.

A test program in the harness protocol (tests/harness.h), written in Python
because it runs the tool as a server and checks what real clients get:
    wasio_serve.py --host HOST --list
    wasio_serve.py --host HOST [NAME...]
prints "PASS name (ms)", "FAIL name: why" or "SKIP name: why" per test and
exits 1 if any failed.

HOST native runs build/native/apps/wasio-serve --root DIR; wasmtime and jco
run build/wasm32/apps/wasio-serve.wasm through tools/wasio-run --net --dir DIR
(DIR preopened as "."). DIR is a fresh temporary directory. The server's
first stdout line is its port; it is stopped (its process group) at the end.
The https_* tests start a second server with --cert/--key: DIR/www is its
root and DIR/tls holds a private CA and an EC P-256 leaf for 127.0.0.1 and
localhost, made with the openssl CLI (on components, --root and the PEM
paths are relative to the preopened DIR). Every client is curl/wrk/h2load with a time limit, over 127.0.0.1 only.
"""
import hashlib
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NATIVE = os.path.join(ROOT, "build", "native", "apps", "wasio-serve")
WASM = os.path.join(ROOT, "build", "wasm32", "apps", "wasio-serve.wasm")
RUNNER = os.path.join(ROOT, "tools", "wasio-run")
START_TIMEOUT_S = 30     # jco needs seconds to transpile and start
SERVE_TIMEOUT_S = 280    # the server's own time limit (wasio-run --timeout)
CURL_TIMEOUT_S = 30
BIG_BYTES = 5 * 1024 * 1024

TESTS = []


OUTSIDE_SECRET = "outside the root\n"


def test(fn):
    TESTS.append(fn)
    return fn


class Failed(Exception):
    pass


class Skipped(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


def openssl(*args, cwd):
    p = subprocess.run(["openssl", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if p.returncode != 0:
        raise Failed(f"openssl {' '.join(args)}: {p.stdout.decode(errors='replace')[-500:]}")


def make_pki(d):
    """A CA and a leaf it signs for 127.0.0.1 and localhost (EC P-256)."""
    os.makedirs(d)
    for name in ("ca", "leaf"):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", f"{name}.key", cwd=d)
    openssl("req", "-new", "-x509", "-key", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=wasio-serve test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", cwd=d)
    openssl("req", "-new", "-key", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost", cwd=d)
    with open(os.path.join(d, "leaf.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "leaf.pem", "-days", "30", "-sha256", "-extfile", "leaf.ext", cwd=d)


class Server:
    def __init__(self, host, tls=False, extra=()):
        self.dir = tempfile.mkdtemp(prefix="wasio_serve_")
        # Outside the preopened directory: the target of link-outside.txt.
        self.outside = tempfile.mkdtemp(prefix="wasio_serve_outside_")
        self.tls = tls
        # With TLS the key must be readable through the one preopened
        # directory but not served: the root is a subdirectory then.
        self.www = os.path.join(self.dir, "www") if tls else self.dir
        os.makedirs(self.www, exist_ok=True)
        self.populate()
        args = ["--port", "0"] + list(extra)
        if tls:
            make_pki(os.path.join(self.dir, "tls"))
            self.ca = os.path.join(self.dir, "tls", "ca.pem")
        if host == "native":
            args += ["--root", self.www]
            if tls:
                args += ["--cert", os.path.join(self.dir, "tls", "leaf.pem"),
                         "--key", os.path.join(self.dir, "tls", "leaf.key")]
            cmd = [NATIVE] + args
        else:
            if tls:
                args += ["--root", "www", "--cert", "tls/leaf.pem", "--key", "tls/leaf.key"]
            cmd = [RUNNER, "--host", host, "--net", "--dir", self.dir, "--timeout", str(SERVE_TIMEOUT_S),
                   WASM] + args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        deadline = time.time() + START_TIMEOUT_S
        line = b""
        while time.time() < deadline and not line.endswith(b"\n"):
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                b = os.read(self.proc.stdout.fileno(), 1)
                if not b:
                    break
                line += b
            elif self.proc.poll() is not None:
                break
        if not line.strip().isdigit():
            err = self.stop()
            raise Failed(f"wasio-serve printed no port (got {line!r}); stderr: {err[:500]!r}")
        self.port = int(line)

    def populate(self):
        d = self.www
        with open(os.path.join(d, "index.html"), "w") as f:
            f.write("<h1>wasio-serve</h1>\n")
        os.makedirs(os.path.join(d, "sub", "deeper"))
        os.makedirs(os.path.join(d, "noindex"))
        with open(os.path.join(d, "sub", "index.html"), "w") as f:
            f.write("sub index\n")
        with open(os.path.join(d, "sub", "deeper", "data.json"), "w") as f:
            f.write('{"ok": true}\n')
        with open(os.path.join(d, "style.css"), "w") as f:
            f.write("body { color: red }\n")
        with open(os.path.join(d, "space name.txt"), "w") as f:
            f.write("spaces\n")
        rng = random.Random(42)
        self.big = rng.randbytes(BIG_BYTES)
        with open(os.path.join(d, "big.bin"), "wb") as f:
            f.write(self.big)
        with open(os.path.join(d, "empty.txt"), "w") as f:
            pass
        # Symbolic links: to a file inside the root, to a directory inside
        # it, and to a file outside the served (and preopened) directory.
        with open(os.path.join(self.outside, "secret.txt"), "w") as f:
            f.write(OUTSIDE_SECRET)
        os.symlink("index.html", os.path.join(d, "link-inside.html"))
        os.symlink("sub", os.path.join(d, "linkdir"))
        os.symlink(os.path.join(self.outside, "secret.txt"), os.path.join(d, "link-outside.txt"))

    def session_pids(self):
        """Every process of the server's session: wasio-run's `timeout` moves
        itself (and the host) into a process group of its own, so killing
        the group we started is not enough."""
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[3]) == self.proc.pid:  # the session id
                    pids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
        return pids

    def signal_all(self, sig):
        for pid in self.session_pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def stop(self):
        self.signal_all(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.signal_all(signal.SIGKILL)
            self.proc.wait()
        deadline = time.time() + 5
        while self.session_pids() and time.time() < deadline:
            time.sleep(0.1)
        self.signal_all(signal.SIGKILL)
        err = b""
        while True:  # what the server said, without blocking on a leftover writer
            r, _, _ = select.select([self.proc.stderr], [], [], 0.5)
            if not r:
                break
            chunk = os.read(self.proc.stderr.fileno(), 65536)
            if not chunk:
                break
            err += chunk
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.outside, ignore_errors=True)
        return err.decode(errors="replace")


class Ctx:
    def __init__(self, host):
        self.host = host
        self.server = None
        self.tls_server = None

    def tls_srv(self):
        if self.tls_server is None:
            self.tls_server = Server(self.host, tls=True)
        check(self.tls_server.proc.poll() is None, f"wasio-serve --cert exited ({self.tls_server.proc.returncode})")
        return self.tls_server

    def https_url(self, path):
        return f"https://127.0.0.1:{self.tls_srv().port}{path}"

    def https(self, *args, data=None):
        """curl verifying the server with the test CA."""
        return self.curl("--cacert", self.tls_srv().ca, *args, data=data)

    def srv(self):
        if self.server is None:
            self.server = Server(self.host)
        check(self.server.proc.poll() is None, f"wasio-serve exited ({self.server.proc.returncode})")
        return self.server

    def url(self, path):
        return f"http://127.0.0.1:{self.srv().port}{path}"

    def curl(self, *args, data=None):
        p = subprocess.run(["curl", "-sS", "-m", str(CURL_TIMEOUT_S)] + list(args), input=data,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=CURL_TIMEOUT_S + 10)
        return p.returncode, p.stdout, p.stderr.decode(errors="replace")

    def get(self, path, *args):
        rc, out, err = self.curl("-i", *args, self.url(path))
        check(rc == 0, f"curl {path}: exit {rc}: {err}")
        head, _, body = out.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
        return status, headers, body

    def close(self):
        if self.server is not None:
            self.server.stop()
        if self.tls_server is not None:
            self.tls_server.stop()


@test
def index_html(c):
    st, h, body = c.get("/")
    check(st == 200, f"status {st}")
    check(body == b"<h1>wasio-serve</h1>\n", f"body {body!r}")
    check(h.get("content-type") == "text/html; charset=utf-8", f"content-type {h.get('content-type')}")
    check(h.get("content-length") == str(len(body)), f"content-length {h.get('content-length')}")
    check("date" in h, "no Date")


@test
def files_and_types(c):
    for path, want, ctype in (("/sub/deeper/data.json", b'{"ok": true}\n', "application/json"),
                              ("/style.css", b"body { color: red }\n", "text/css; charset=utf-8"),
                              ("/space%20name.txt", b"spaces\n", "text/plain; charset=utf-8"),
                              ("/sub/", b"sub index\n", "text/html; charset=utf-8"),
                              ("/empty.txt?query=1", b"", "text/plain; charset=utf-8")):
        st, h, body = c.get(path)
        check(st == 200 and body == want, f"{path}: {st} {body!r}")
        check(h.get("content-type") == ctype, f"{path}: content-type {h.get('content-type')}")


@test
def directory_redirect(c):
    st, h, _ = c.get("/sub?a=1")
    check(st == 301, f"/sub: {st}")
    check(h.get("location") == "/sub/?a=1", f"location {h.get('location')}")
    rc, out, err = c.curl("-L", c.url("/sub"))
    check(rc == 0 and out == b"sub index\n", f"curl -L /sub: {rc} {out!r} {err}")


@test
def big_file_streamed(c):
    rc, out, err = c.curl(c.url("/big.bin"))
    check(rc == 0, f"curl: {rc} {err}")
    check(len(out) == BIG_BYTES, f"{len(out)} bytes")
    check(hashlib.sha256(out).digest() == hashlib.sha256(c.srv().big).digest(), "sha256 differs")


@test
def head_request(c):
    rc, out, err = c.curl("-I", c.url("/big.bin"))
    check(rc == 0, f"curl: {rc} {err}")
    text = out.decode()
    check(text.startswith("HTTP/1.1 200 OK\r\n"), text)
    check(f"Content-Length: {BIG_BYTES}\r\n" in text, text)
    check(text.endswith("\r\n\r\n"), "a body followed the HEAD response")


@test
def not_found_and_forbidden(c):
    for path, want in (("/nope.html", 404), ("/noindex/", 404), ("/sub/nope", 404),
                       ("/../etc/passwd", 403), ("/sub/../../etc/passwd", 403),
                       ("/%2e%2e/etc/passwd", 403), ("/sub/%2E%2E/index.html", 403)):
        st, _, _ = c.get(path, "--path-as-is")
        check(st == want, f"{path}: {st}, want {want}")
    rc, out, _ = c.curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", c.url("/index.html"))
    check(out == b"405", f"DELETE: {out!r}")


@test
def symlinks_refused(c):
    # By default any symbolic link under the root is refused, on every host:
    # natively a link could lead out of the root, in a component the host's
    # sandbox decides; the answer must not depend on that.
    for path in ("/link-inside.html", "/linkdir/index.html", "/linkdir/", "/link-outside.txt"):
        st, _, body = c.get(path)
        check(st == 403, f"{path}: {st}, want 403")
        check(OUTSIDE_SECRET.encode() not in body, f"{path}: the outside file leaked")
    st, _, body = c.get("/sub/index.html")
    check(st == 200 and body == b"sub index\n", f"/sub/index.html: {st} {body!r}")


@test
def symlinks_followed_with_option(c):
    s = Server(c.host, extra=["--follow-symlinks"])
    try:
        def get(path):
            rc, out, err = c.curl("-s", "-o", "-", "-w", "\n%{http_code}", f"http://127.0.0.1:{s.port}{path}")
            check(rc == 0, f"curl {path}: exit {rc}: {err}")
            body, _, code = out.rpartition(b"\n")
            return int(code), body
        st, body = get("/link-inside.html")
        check(st == 200 and body == b"<h1>wasio-serve</h1>\n", f"/link-inside.html: {st} {body!r}")
        st, body = get("/linkdir/index.html")
        check(st == 200 and body == b"sub index\n", f"/linkdir/index.html: {st} {body!r}")
        st, body = get("/link-outside.txt")
        if c.host == "native":
            # Documented: natively --follow-symlinks follows links anywhere.
            check(st == 200 and body == OUTSIDE_SECRET.encode(), f"/link-outside.txt: {st} {body!r}")
        elif c.host == "wasmtime":
            # The preopen confines the component: the target is unreachable.
            check(st in (403, 404) and OUTSIDE_SECRET.encode() not in body, f"/link-outside.txt: {st} {body!r}")
        # jco: Node's preview2-shim decides (it is no sandbox); not asserted.
    finally:
        s.stop()


@test
def echo_body_streamed(c):
    data = random.Random(3).randbytes(1 << 20)
    rc, out, err = c.curl("--data-binary", "@-", c.url("/echo"), data=data)
    check(rc == 0 and out == data, f"echo (Content-Length): rc {rc}, {len(out)} bytes: {err}")
    rc, out, err = c.curl("-H", "Transfer-Encoding: chunked", "--data-binary", "@-", c.url("/echo"), data=data)
    check(rc == 0 and out == data, f"echo (chunked): rc {rc}, {len(out)} bytes: {err}")
    rc, out, err = c.curl("-v", "--expect100-timeout", "10", "-H", "Expect: 100-continue", "-X", "PUT",
                          "--data-binary", "@-", c.url("/echo"), data=data)
    check(rc == 0 and out == data, f"echo (100-continue): rc {rc}, {len(out)} bytes")
    check("HTTP/1.1 100 Continue" in err, "no 100 Continue")


@test
def echo_headers(c):
    st, h, body = c.get("/echo?x=1", "-H", "X-Test: hello there")
    check(st == 200, f"status {st}")
    text = body.decode()
    check(text.startswith("GET /echo?x=1 HTTP/1.1\n"), text)
    check("X-Test: hello there\n" in text, text)


@test
def status_codes(c):
    for code in (200, 201, 204, 304, 404, 418, 503):
        rc, out, err = c.curl("-i", c.url(f"/status/{code}"))
        check(rc == 0, f"/status/{code}: {rc} {err}")
        text = out.decode()
        check(text.startswith(f"HTTP/1.1 {code} "), text)
        if code in (204, 304):
            check(text.endswith("\r\n\r\n"), f"/status/{code} has a body")
    st, _, _ = c.get("/status/abc")
    check(st == 400, f"/status/abc: {st}")


@test
def keep_alive(c):
    u = c.url("/index.html")
    rc, out, err = c.curl("-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-w", "%{num_connects}", u, u, u)
    check(rc == 0 and out == b"100", f"connections per request: {out!r} {err}")


@test
def load_wrk_h2load(c):
    u = c.url("/index.html")
    p = subprocess.run(["wrk", "-t1", "-c8", "-d1s", "--timeout", "5s", u], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    text = p.stdout.decode()
    check(p.returncode == 0 and " requests in " in text, text)
    check("Socket errors" not in text and "Non-2xx" not in text, text)
    p = subprocess.run(["h2load", "--h1", "-n", "1000", "-c", "8", "-T", "10", u], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    text = p.stdout.decode()
    check("1000 succeeded, 0 failed, 0 errored, 0 timeout" in text, text)
    # Deep pipelining: 50 connections x 16 requests in flight, each holding
    # a file until its turn (a component's descriptor table is small).
    p = subprocess.run(["h2load", "--h1", "-n", "4000", "-c", "50", "-m", "16", "-T", "20", u],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=90)
    text = p.stdout.decode()
    check("4000 succeeded, 0 failed, 0 errored, 0 timeout" in text, text)
    check("status codes: 4000 2xx" in text, text)


@test
def https_files_keep_alive_head(c):
    u = c.https_url("/index.html")
    rc, out, err = c.https("-v", "-w", "%{num_connects}", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
                           u, u, u)
    check(rc == 0 and out == b"100", f"connections per request: rc {rc} {out!r} {err[-800:]}")
    check("ALPN: server accepted http/1.1" in err, err[-800:])
    rc, out, err = c.https(u)
    check(rc == 0 and out == b"<h1>wasio-serve</h1>\n", f"GET: rc {rc} {out!r} {err}")
    rc, out, err = c.https("-I", c.https_url("/big.bin"))
    text = out.decode()
    check(rc == 0 and text.startswith("HTTP/1.1 200 OK\r\n"), f"HEAD: rc {rc} {text} {err}")
    check(f"Content-Length: {BIG_BYTES}\r\n" in text and text.endswith("\r\n\r\n"), text)
    rc, out, err = c.https(c.https_url("/big.bin"))
    check(rc == 0 and len(out) == BIG_BYTES, f"big: rc {rc}, {len(out)} bytes: {err}")
    check(hashlib.sha256(out).digest() == hashlib.sha256(c.tls_srv().big).digest(), "sha256 differs")
    # The key next to the root is not reachable through it.
    rc, out, err = c.https("-o", "/dev/null", "-w", "%{http_code}", "--path-as-is", c.https_url("/../tls/leaf.key"))
    check(out == b"403", f"/../tls/leaf.key: {out!r}")


@test
def https_echo_chunked(c):
    data = random.Random(5).randbytes(1 << 20)
    rc, out, err = c.https("-H", "Transfer-Encoding: chunked", "--data-binary", "@-", c.https_url("/echo"), data=data)
    check(rc == 0 and out == data, f"echo (chunked): rc {rc}, {len(out)} bytes: {err}")


@test
def https_rejected_then_served(c):
    # Without the CA curl refuses the certificate (60); a plain-HTTP client
    # gets nothing; the server serves the next client as before.
    rc, out, err = c.curl(c.https_url("/index.html"))
    check(rc == 60, f"without --cacert: rc {rc} {err}")
    rc, out, err = c.curl(f"http://127.0.0.1:{c.tls_srv().port}/index.html")
    check(rc in (52, 56), f"plain HTTP to the HTTPS port: rc {rc} {out!r} {err}")
    rc, out, err = c.https(c.https_url("/index.html"))
    check(rc == 0 and out == b"<h1>wasio-serve</h1>\n", f"after: rc {rc} {out!r} {err}")


@test
def https_wrk(c):
    u = c.https_url("/index.html")
    p = subprocess.run(["wrk", "-t1", "-c8", "-d1s", "--timeout", "5s", u], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    text = p.stdout.decode()
    check(p.returncode == 0 and " requests in " in text, text)
    check("Socket errors" not in text and "Non-2xx" not in text, text)


@test
def https_option_errors(c):
    if c.host == "native":
        base = [NATIVE, "--port", "0"]
    else:
        base = [RUNNER, "--host", c.host, "--timeout", "60", WASM, "--port", "0"]
    p = subprocess.run(base + ["--cert", "nope.pem"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=90)
    usage_rc = 2  # the component's own code on every host (wasi:cli/exit exit-with-code)
    check(p.returncode == usage_rc and b"--cert and --key go together" in p.stderr, f"{p.returncode} {p.stderr!r}")
    p = subprocess.run(base + ["--cert", "/nonexistent/c.pem", "--key", "/nonexistent/k.pem"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=90)
    check(p.returncode == 1 and b"cannot read" in p.stderr, f"{p.returncode} {p.stderr!r}")


def main(argv):
    host = "native"
    names = []
    listing = False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--host":
            host = argv[i + 1]
            i += 1
        elif a == "--list":
            listing = True
        elif "=" not in a:
            names.append(a)
        i += 1
    if listing:
        for t in TESTS:
            print(t.__name__)
        return 0
    ctx = Ctx(host)
    failed = 0
    try:
        for t in TESTS:
            if names and t.__name__ not in names:
                continue
            t0 = time.time()
            try:
                t(ctx)
                print(f"PASS {t.__name__} ({(time.time() - t0) * 1000:.1f} ms)", flush=True)
            except Skipped as e:
                print(f"SKIP {t.__name__}: {e}", flush=True)
            except Failed as e:
                failed += 1
                print(f"FAIL {t.__name__}: {e}", flush=True)
            except Exception as e:  # a crash of the driver fails the test
                failed += 1
                print(f"FAIL {t.__name__}: {type(e).__name__}: {e}", flush=True)
    finally:
        ctx.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
