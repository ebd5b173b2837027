#!/usr/bin/env python3
# wasio-test: net
# wasio-test: helper tests/helpers/nginx_server.py --tls --lifetime 900 --big-mib 20
# wasio-test: helper tests/helpers/http_stall.py --lifetime 900
# wasio-test: timeout 600
"""tests/apps/wasio_fetch.py: wasio-fetch (apps/wasio-fetch) against nginx.

A test program in the harness protocol (tests/harness.h), written in Python
because it runs a tool and checks its stdout, stderr and exit status:
    wasio_fetch.py --host HOST --list
    wasio_fetch.py --host HOST port=N port2=M [NAME...]
prints "PASS name (ms)", "FAIL name: why" or "SKIP name: why" per test and
exits 1 if any failed. tests/run.py runs it on each host with the helpers
named above (port = nginx, port2 = tests/helpers/http_stall.py).

HOST native runs build/native/apps/wasio-fetch, where the curl-style code is
the exit status; wasmtime and jco run build/wasm32/apps/wasio-fetch.wasm
through tools/wasio-run, where WASI 0.2 only carries ok/err (exit 1), so the
code is checked in the "wasio-fetch: (N) ..." message on stderr everywhere.

--tls-backend: the guest backend (BearSSL) runs on every host; the host
backend exists only in build/wasm32/apps/wasio-fetch-hosttls.wasm (wasio-cc
--host-tls), which needs a host with wasi:tls. Its tests (hosttls_*) run in
the wasmtime pass and start their hosts themselves: `wasio-run --host
tlshost` (tools/wasio-tls-host, OpenSSL, trusts SSL_CERT_FILE = the
helper's CA) for a fetch that succeeds, and `wasio-run --tls` (wasmtime -S
tls, only its built-in webpki roots) for the refusal of the private CA.

Two facts of jco's host (@bytecodealliance/preview2-shim, nodejs), seen in
its source and checked here: wasi:cli/terminal-stderr always returns a
terminal (so the guest's isatty(2) is true even on a pipe), and stdio's
blocking-flush is a no-op ("no blocking flush for stdio in Node.js"), so
process.exit drops piped stdout that Node has not written yet: a large body
to stdout is truncated on jco. The tests say so where it matters (-o FILE
is complete on every host).
"""
import hashlib
import os
import pty
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NATIVE = os.path.join(ROOT, "build", "native", "apps", "wasio-fetch")
WASM = os.path.join(ROOT, "build", "wasm32", "apps", "wasio-fetch.wasm")
HOSTTLS_WASM = os.path.join(ROOT, "build", "wasm32", "apps", "wasio-fetch-hosttls.wasm")
RUNNER = os.path.join(ROOT, "tools", "wasio-run")
WASM_TOOLS = os.path.join(os.environ.get("WASIO_TOOLS", os.path.expanduser("~/.cache/wasio")), "bin", "wasm-tools")
WASI_TLS_IMPORT = "import wasi:tls/"
RUN_TIMEOUT_S = 240
BIG_BYTES = 20 * 1024 * 1024

TESTS = []


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


class Ctx:
    def __init__(self, host, params):
        self.host = host
        self.port = int(params.get("port", "0"))
        self.stall = int(params.get("port2", "0"))
        if not self.port:
            raise SystemExit("wasio_fetch.py: no port=N (run through tests/run.py)")

    def url(self, path, port=None):
        return f"http://127.0.0.1:{port or self.port}{path}"

    def command(self, args, cwd=None):
        if self.host == "native":
            return [NATIVE] + args
        cmd = [RUNNER, "--host", self.host, "--net", "--timeout", str(RUN_TIMEOUT_S)]
        if cwd:
            cmd += ["--dir", cwd]
        return cmd + [WASM] + args

    def run(self, args, cwd=None, stderr_tty=False):
        cmd = self.command(args, cwd)
        if stderr_tty:
            master, slave = pty.openpty()
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, cwd=cwd)
            os.close(slave)
            err = b""
            out = p.stdout.read()
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                err += chunk
            p.wait(timeout=RUN_TIMEOUT_S)
            os.close(master)
            return p.returncode, out, err.decode(errors="replace")
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, timeout=RUN_TIMEOUT_S + 10)
        return p.returncode, p.stdout, p.stderr.decode(errors="replace")

    def expect_ok(self, args, **kw):
        rc, out, err = self.run(args, **kw)
        check(rc == 0, f"exit {rc}, stderr: {err.strip()[:300]}")
        return out, err

    def expect_code(self, args, code, cwd=None):
        """A failure with curl's `code`: the exit status natively, 1 on WASI
        hosts; the message carries it everywhere."""
        rc, out, err = self.run(args, cwd=cwd)
        want_rc = code if self.host == "native" else 1
        check(rc == want_rc, f"exit {rc}, want {want_rc}; stderr: {err.strip()[:300]}")
        check(f"wasio-fetch: ({code}) " in err, f"stderr lacks '({code})': {err.strip()[:300]}")
        return out, err


def run_hosttls(wasm_host, args, cwd, env_extra=None, env_drop=()):
    """The host-TLS build on `wasm_host`: "tlshost" (wasio-tls-host) or
    "wasmtime" (with --tls); the component sees `cwd` as ".". Returns
    (exit status, stdout, stderr); WASI exits carry only ok/err (0/1)."""
    cmd = [RUNNER, "--host", wasm_host, "--timeout", str(RUN_TIMEOUT_S), "--dir", cwd]
    if wasm_host == "wasmtime":
        cmd += ["--net", "--tls"]
    env = {k: v for k, v in os.environ.items() if k not in env_drop}
    env.update(env_extra or {})
    p = subprocess.run(cmd + [HOSTTLS_WASM] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                       env=env, timeout=RUN_TIMEOUT_S + 10)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def wit_of(path):
    p = subprocess.run([WASM_TOOLS, "component", "wit", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    check(p.returncode == 0, f"wasm-tools component wit {path}: {p.stderr.decode(errors='replace')[:300]}")
    return p.stdout.decode()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def head_and_body(out):
    head, sep, body = out.partition(b"\r\n\r\n")
    check(sep, f"no end of head in {out[:200]!r}")
    return head.decode(), body


@test
def get_small(c):
    out, err = c.expect_ok([c.url("/small.txt")])
    check(out == b"hello from nginx\n", f"stdout {out!r}")
    check(err == "", f"stderr not empty: {err!r}")


@test
def include_headers(c):
    out, _ = c.expect_ok(["-i", c.url("/small.txt")])
    head, body = head_and_body(out)
    check(head.startswith("HTTP/1.1 200 OK\r\n"), f"status line: {head[:40]!r}")
    check("\r\nContent-Length: 17" in head, f"head: {head!r}")
    check("\r\nServer: nginx" in head, f"head: {head!r}")
    check(body == b"hello from nginx\n", f"body {body!r}")


@test
def head_request(c):
    out, _ = c.expect_ok(["-I", c.url("/big.bin")])
    head, body = head_and_body(out)
    check(f"Content-Length: {BIG_BYTES}" in head, f"head: {head!r}")
    check(body == b"", f"a HEAD printed a body: {body[:40]!r}")


@test
def chunked(c):
    out, _ = c.expect_ok(["-i", c.url("/chunked.txt")])
    head, body = head_and_body(out)
    check("Transfer-Encoding: chunked" in head, f"head: {head!r}")
    check(body == b"line one\nGET\nline three\n", f"body {body!r}")


@test
def redirects(c):
    out, _ = c.expect_ok(["-L", c.url("/redirect/301")])
    check(out == b"hello from nginx\n", f"-L: {out!r}")
    out, _ = c.expect_ok(["-i", c.url("/redirect/302")])
    head, _ = head_and_body(out)
    check(head.startswith("HTTP/1.1 302"), f"without -L the 3xx is printed: {head[:40]!r}")
    check(f"Location: {c.url('/small.txt')}" in head, f"head: {head!r}")
    out, _ = c.expect_ok(["-L", "-d", "x=1", c.url("/redirect-echo/307")])
    check(out == b"POST\n", f"307 keeps POST: {out!r}")
    out, _ = c.expect_ok(["-L", "-d", "x=1", c.url("/redirect-echo/303")])
    check(out == b"GET\n", f"303 turns POST into GET: {out!r}")


@test
def redirect_loop_47(c):
    c.expect_code(["-L", c.url("/redirect/loop")], 47)
    c.expect_code(["-L", "--max-redirs", "2", c.url("/redirect/loop")], 47)


@test
def put_data_and_read_back(c):
    data = "wasio-fetch put " * 100
    out, _ = c.expect_ok(["-X", "PUT", "-d", data, "-H", "Content-Type: text/plain",
                          c.url("/upload/fetch.txt")])
    out, _ = c.expect_ok([c.url("/upload/fetch.txt")])
    check(out == data.encode(), f"read back {len(out)} bytes, want {len(data)}")


@test
def data_from_file_26(c):
    d = tempfile.mkdtemp(prefix="wasio-fetch-test-")
    try:
        data = bytes((i * 31 + 7) & 0xFF for i in range(300 * 1024))
        with open(os.path.join(d, "data.bin"), "wb") as f:
            f.write(data)
        arg = "@data.bin" if c.host != "native" else "@" + os.path.join(d, "data.bin")
        c.expect_ok(["-X", "PUT", "-d", arg, c.url("/upload/from-file.bin")], cwd=d)
        got = urllib.request.urlopen(c.url("/upload/from-file.bin"), timeout=10).read()
        check(got == data, f"stored {len(got)} bytes, want {len(data)}")
        rc, out, err = c.run(["-d", "@no-such-file", c.url("/small.txt")], cwd=d)
        check(rc == (26 if c.host == "native" else 1) and "wasio-fetch: (26) " in err, f"exit {rc}: {err!r}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def not_found_and_fail(c):
    out, _ = c.expect_ok([c.url("/no/such")])
    check(b"404" in out, f"body: {out[:80]!r}")
    out, _ = c.expect_code(["-f", c.url("/no/such")], 22)
    check(out == b"", f"-f printed a body: {out[:80]!r}")


@test
def connect_refused_7(c):
    c.expect_code(["http://127.0.0.1:1/"], 7)


@test
def unresolvable_6(c):
    c.expect_code(["http://no-such-host.invalid/"], 6)


@test
def malformed_url_3(c):
    c.expect_code(["http://127.0.0.1:99999/"], 3)
    c.expect_code(["not a url"], 3)


# ---- https (nginx_server.py --tls: a private CA, one port per suite) ----

def tls_setup(c):
    """A temp dir holding the helper's CA as ca.pem (the component sees it
    through --dir as ./ca.pem) and the port of each suite."""
    d = tempfile.mkdtemp(prefix="wasio-fetch-tls-")
    with open(os.path.join(d, "ca.pem"), "wb") as f:
        f.write(urllib.request.urlopen(c.url("/tls/ca.pem"), timeout=10).read())
    line = urllib.request.urlopen(c.url("/tls/ports.txt"), timeout=10).read().decode()
    ports = dict(kv.split("=") for kv in line.split())
    return d, {k: int(v) for k, v in ports.items()}


INSECURE_WARNING = "wasio-fetch: warning: -k/--insecure"


@test
def https_cacert(c):
    d, ports = tls_setup(c)
    try:
        for suite in ("ecdsa-gcm", "rsa-chacha"):
            out, err = c.expect_ok(["--cacert", "ca.pem", f"https://localhost:{ports[suite]}/small.txt"], cwd=d)
            check(out == b"hello from nginx\n", f"{suite}: stdout {out!r}")
            check(INSECURE_WARNING not in err, f"{suite}: warning without -k: {err!r}")
        # -i shows the suite nginx chose (X-Cipher).
        out, _ = c.expect_ok(["-i", "--cacert", "ca.pem", f"https://localhost:{ports['rsa-gcm']}/small.txt"], cwd=d)
        head, body = head_and_body(out)
        check(body == b"hello from nginx\n", f"-i body {body!r}")
        check("X-Cipher: ECDHE-RSA-AES256-GCM-SHA384" in head, f"head {head!r}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def https_untrusted_60(c):
    d, ports = tls_setup(c)
    shutil.rmtree(d, ignore_errors=True)
    # The built-in roots do not know the helper's CA.
    _, err = c.expect_code([f"https://localhost:{ports['ecdsa-gcm']}/small.txt"], 60)
    check("trusted root" in err, f"stderr {err!r}")


@test
def https_insecure_warns(c):
    d, ports = tls_setup(c)
    shutil.rmtree(d, ignore_errors=True)
    for flag in ("-k", "--insecure"):
        out, err = c.expect_ok([flag, f"https://127.0.0.1:{ports['rsa-gcm']}/small.txt"])
        check(out == b"hello from nginx\n", f"{flag}: stdout {out!r}")
        check(INSECURE_WARNING in err, f"{flag}: no warning on stderr: {err!r}")


@test
def https_to_plain_port_35(c):
    # nginx's plain port answers the ClientHello with an HTTP 400: no TLS.
    c.expect_code(["-k", f"https://127.0.0.1:{c.port}/small.txt"], 35)


@test
def https_bad_cacert_77(c):
    d, ports = tls_setup(c)
    try:
        with open(os.path.join(d, "junk.pem"), "w") as f:
            f.write("not a certificate\n")
        url = f"https://localhost:{ports['ecdsa-gcm']}/small.txt"
        for name in ("junk.pem", "missing.pem"):
            rc, _, err = c.run(["--cacert", name, url], cwd=d)
            check(rc == (77 if c.host == "native" else 1), f"{name}: exit {rc}; {err!r}")
            check("wasio-fetch: (77) " in err, f"{name}: stderr {err!r}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- --tls-backend ----

BACKEND_GUEST = "* TLS backend: guest "
BACKEND_HOST = "* TLS backend: host "
HOST_DECIDES = "the host's TLS decides what it trusts"


@test
def tls_backend_guest(c):
    d, ports = tls_setup(c)
    try:
        url = f"https://localhost:{ports['ecdsa-gcm']}/small.txt"
        for backend in ("guest", "auto"):
            out, err = c.expect_ok(["-v", "--tls-backend", backend, "--cacert", "ca.pem", url], cwd=d)
            check(out == b"hello from nginx\n", f"{backend}: stdout {out!r}")
            check(BACKEND_GUEST in err, f"{backend}: -v does not say guest: {err!r}")
        # Without -v nothing is said; the guest's built-in roots refuse the CA.
        out, err = c.expect_ok(["--tls-backend", "guest", "--cacert", "ca.pem", url], cwd=d)
        check("* TLS backend" not in err, f"backend printed without -v: {err!r}")
        _, err = c.expect_code(["--tls-backend", "guest", url], 60)
        check("trusted root" in err, f"stderr {err!r}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def tls_backend_host_not_built_in_4(c):
    # This pass's build (native, or wasio-fetch.wasm) has no host TLS.
    if c.host != "native":
        check(WASI_TLS_IMPORT not in wit_of(WASM), f"{WASM} imports wasi:tls")
    d, ports = tls_setup(c)
    try:
        target = "out.txt" if c.host != "native" else os.path.join(d, "out.txt")
        out, err = c.expect_code(["--tls-backend", "host", "-o", target,
                                  f"https://localhost:{ports['ecdsa-gcm']}/small.txt"], 4, cwd=d)
        check("this build has no host TLS" in err, f"stderr {err!r}")
        check(out == b"", f"stdout {out!r}")
        check(not os.path.exists(os.path.join(d, "out.txt")), "-o was opened although nothing is fetched")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def tls_backend_host_with_guest_options_2(c):
    # A usage error in every build, before "not built in": the host decides trust.
    d, ports = tls_setup(c)
    try:
        url = f"https://localhost:{ports['ecdsa-gcm']}/small.txt"
        for extra, opt in ((["--cacert", "ca.pem"], "--cacert"), (["-k"], "-k/--insecure")):
            out, err = c.expect_code(["--tls-backend", "host"] + extra + [url], 2, cwd=d)
            check(f"--tls-backend host cannot take {opt}" in err and HOST_DECIDES in err, f"stderr {err!r}")
            check(out == b"", f"stdout {out!r}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def tls_backend_bad_value_2(c):
    for value in ("bogus", "HOST"):
        _, err = c.expect_code(["--tls-backend", value, c.url("/small.txt")], 2)
        check(f"bad --tls-backend '{value}'" in err, f"{value!r}: stderr {err!r}")
    _, err = c.expect_code(["--tls-backend"], 2)
    check("needs an argument" in err, f"stderr {err!r}")
    out, _ = c.expect_ok(["--help"])
    check(b"--tls-backend" in out and b"4 TLS backend not in this build" in out, "help lacks --tls-backend")


@test
def hosttls_via_tlshost(c):
    """The host-TLS build under wasio-tls-host trusting the helper's CA
    (SSL_CERT_FILE): the host does the handshake, the body arrives whole."""
    if c.host != "wasmtime":
        raise Skipped("runs in the wasmtime pass (starts wasio-run --host tlshost itself)")
    check(WASI_TLS_IMPORT + "types@" in wit_of(HOSTTLS_WASM), f"{HOSTTLS_WASM} does not import wasi:tls")
    want = urllib.request.urlopen(c.url("/big.bin.sha256"), timeout=10).read().decode().strip()
    d, ports = tls_setup(c)
    try:
        trust = {"SSL_CERT_FILE": os.path.join(d, "ca.pem")}
        url = f"https://localhost:{ports['ecdsa-gcm']}"
        # auto = host in this build; -v says so. The guest could not have
        # trusted the CA without --cacert, so a success is the host's.
        rc, out, err = run_hosttls("tlshost", ["-v", "-o", "big.bin", url + "/big.bin"], d, trust)
        check(rc == 0, f"exit {rc}: {err.strip()[:400]}")
        check(BACKEND_HOST in err, f"-v does not say host: {err!r}")
        check(out == b"", f"stdout with -o: {out[:40]!r}")
        check(sha256_file(os.path.join(d, "big.bin")) == want, "big.bin: sha256 differs")
        for suite in ("rsa-chacha", "rsa-gcm"):
            rc, out, err = run_hosttls("tlshost", ["--tls-backend", "host", f"https://localhost:{ports[suite]}/small.txt"],
                                       d, trust)
            check(rc == 0 and out == b"hello from nginx\n", f"{suite}: exit {rc}, stdout {out!r}, {err.strip()[:300]}")
        # The same host without the CA: the host refuses ("certificate verify
        # failed" from the OpenSSL provider: WASIO_ETLS_CERT_INVALID, curl's 60).
        rc, out, err = run_hosttls("tlshost", ["-o", "refused.txt", url + "/small.txt"], d,
                                   env_drop=("SSL_CERT_FILE",))
        check(rc == 1 and "wasio-fetch: (60) " in err,
              f"no CA: exit {rc}; {err.strip()[:300]}")
        check("use --tls-backend guest --cacert FILE" in err, f"no hint: {err!r}")
        check(not os.path.exists(os.path.join(d, "refused.txt")), "-o FILE created by a failed transfer")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def output_file_created_at_first_byte(c):
    """-o FILE as curl: a transfer that fails before any byte creates no
    file; a successful empty body creates an empty one."""
    d = tempfile.mkdtemp(prefix="wasio_fetch_o_")
    try:
        def target(name):
            return name if c.host != "native" else os.path.join(d, name)
        c.expect_code(["-o", target("refused.txt"), "http://127.0.0.1:1/"], 7, cwd=d)
        check(not os.path.exists(os.path.join(d, "refused.txt")), "a refused connection created -o FILE")
        c.expect_code(["-f", "-o", target("404.txt"), c.url("/no/such")], 22, cwd=d)
        check(not os.path.exists(os.path.join(d, "404.txt")), "-f on a 404 created -o FILE")
        c.expect_ok(["-o", target("empty.txt"), c.url("/empty.txt")], cwd=d)
        check(os.path.exists(os.path.join(d, "empty.txt")), "a successful empty body created no -o FILE")
        check(os.path.getsize(os.path.join(d, "empty.txt")) == 0, "empty.txt has bytes")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def hosttls_wasmtime_refuses_private_ca_60(c):
    """wasmtime -S tls trusts only its built-in webpki roots: the host-TLS
    build refuses the helper's CA like curl (60); with --cacert, auto picks
    the guest, which trusts it."""
    if c.host != "wasmtime":
        raise Skipped("runs in the wasmtime pass (starts wasio-run --tls itself)")
    d, ports = tls_setup(c)
    try:
        url = f"https://localhost:{ports['ecdsa-gcm']}/small.txt"
        for args in (["-v"], ["-v", "--tls-backend", "host"]):
            rc, out, err = run_hosttls("wasmtime", args + ["-o", "out.txt", url], d)
            check(rc == 1 and "wasio-fetch: (60) " in err, f"{args}: exit {rc}; {err.strip()[:300]}")
            check(BACKEND_HOST in err, f"{args}: -v does not say host: {err!r}")
            check("the host's TLS (wasi:tls) refused the certificate" in err, f"{args}: stderr {err!r}")
            check(out == b"" and not os.path.exists(os.path.join(d, "out.txt")),
                  f"{args}: -o FILE created by a failed transfer")
        for args in (["--cacert", "ca.pem"], ["--tls-backend", "guest", "--cacert", "ca.pem"]):
            rc, out, err = run_hosttls("wasmtime", ["-v"] + args + [url], d)
            check(rc == 0 and out == b"hello from nginx\n", f"{args}: exit {rc}, stdout {out!r}, {err.strip()[:300]}")
            check(BACKEND_GUEST in err, f"{args}: -v does not say guest: {err!r}")
        rc, out, err = run_hosttls("wasmtime", ["--tls-backend", "host", "--cacert", "ca.pem", url], d)
        check(rc == 1 and "wasio-fetch: (2) " in err and HOST_DECIDES in err, f"host+cacert: exit {rc}; {err!r}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def header_injection_refused_2(c):
    c.expect_code(["-H", "X-A: 1\r\nX-Evil: 2", c.url("/small.txt")], 2)


@test
def usage_2(c):
    c.expect_code([], 2)
    c.expect_code(["--no-such-option", c.url("/")], 2)
    out, _ = c.expect_ok(["--help"])
    check(b"exit codes" in out, "help lists the exit codes")


@test
def max_time_28(c):
    t0 = time.time()
    c.expect_code(["--max-time", "0.5", c.url("/silent", c.stall)], 28)
    check(time.time() - t0 < 30, "took too long")


@test
def output_file_sha256(c):
    want = urllib.request.urlopen(c.url("/big.bin.sha256"), timeout=10).read().decode().strip()
    d = tempfile.mkdtemp(prefix="wasio-fetch-test-")
    try:
        target = "big.bin" if c.host != "native" else os.path.join(d, "big.bin")
        out, err = c.expect_ok(["-o", target, c.url("/big.bin")], cwd=d)
        check(out == b"", f"stdout not empty with -o: {out[:40]!r}")
        if c.host != "jco":  # jco says stderr is a terminal, always
            check(err == "", f"stderr is no terminal, yet: {err[:80]!r}")
        h = hashlib.sha256()
        with open(os.path.join(d, "big.bin"), "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        check(h.hexdigest() == want, f"sha256 {h.hexdigest()} != {want}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def stdout_sha256(c):
    if c.host == "jco":
        raise Skipped("jco drops piped stdout still queued at exit (no blocking flush for stdio)")
    want = urllib.request.urlopen(c.url("/big.bin.sha256"), timeout=10).read().decode().strip()
    out, _ = c.expect_ok([c.url("/big.bin")])
    check(len(out) == BIG_BYTES, f"{len(out)} bytes")
    check(hashlib.sha256(out).hexdigest() == want, "sha256 differs")


@test
def progress_bar_on_terminal(c):
    # -o keeps the body off the (on jco, lossy) stdout pipe
    d = tempfile.mkdtemp(prefix="wasio-fetch-test-")
    try:
        target = "big.bin" if c.host != "native" else os.path.join(d, "big.bin")
        rc, out, err = c.run(["-o", target, c.url("/big.bin")], cwd=d, stderr_tty=True)
        check(rc == 0, f"exit {rc}: {err[-200:]!r}")
        check(os.path.getsize(os.path.join(d, "big.bin")) == BIG_BYTES, "file size")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    check("100.0%" in err and "MiB/s" in err and "\r[" in err, f"no progress bar: {err[-200:]!r}")
    rc, out, err = c.run([c.url("/small.txt")], stderr_tty=True)
    check(err == "", f"a bar for a small body: {err!r}")


@test
def write_error_23(c):
    if c.host != "native":
        raise Skipped("/dev/full is not reachable from a component")
    rc, out, err = c.run(["-o", "/dev/full", c.url("/small.txt")])
    check(rc == 23 and "wasio-fetch: (23) " in err, f"exit {rc}: {err!r}")


def main(argv):
    host = "native"
    params = {}
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
        elif "=" in a:
            k, _, v = a.partition("=")
            params[k] = v
        else:
            names.append(a)
        i += 1
    if listing:
        for t in TESTS:
            print(t.__name__)
        return 0
    ctx = Ctx(host, params)
    failed = 0
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
        except Exception as e:  # a crash of the driver is a failure of the test
            failed += 1
            print(f"FAIL {t.__name__}: {type(e).__name__}: {e}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
