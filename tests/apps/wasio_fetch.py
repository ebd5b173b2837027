#!/usr/bin/env python3
# wasio-test: net
# wasio-test: helper tests/helpers/nginx_server.py --tls --lifetime 1500 --big-mib 20
# wasio-test: helper tests/helpers/http_stall.py --lifetime 1500
# wasio-test: helper tests/helpers/fetch_peer.py --lifetime 1500
# wasio-test: timeout 1200
"""tests/apps/wasio_fetch.py: wasio-fetch (apps/wasio-fetch) against nginx,
a stalling peer and tests/helpers/fetch_peer.py, next to the real curl.

A test program in the harness protocol (tests/harness.h), written in Python
because it runs a tool and checks its stdout, stderr and exit status:
    wasio_fetch.py --host HOST --list
    wasio_fetch.py --host HOST port=N port2=M port3=K [NAME...]
prints "PASS name (ms)", "FAIL name: why" or "SKIP name: why" per test and
exits 1 if any failed. tests/run.py runs it on each host with the helpers
named above (port = nginx, port2 = tests/helpers/http_stall.py, port3 =
tests/helpers/fetch_peer.py, which is also a forward proxy).

HOST native runs build/native/apps/wasio-fetch; wasmtime and jco run
build/wasm32/apps/wasio-fetch.wasm through tools/wasio-run. The exit status
is curl's code on every host (the component passes it through wasi:cli/exit
exit-with-code), and the message says it too ("wasio-fetch: (7) ...").
Where a test says "as curl", it runs Debian's curl (7.88) natively with the
same arguments against the same peer, in the same directory, and requires
the same exit status and the same stdout (and files). Files are named
relative to a temporary directory that is the working directory natively
and the --dir of the component.

--transport: the wasi:http build, build/wasm32/apps/wasio-fetch-http.wasm
(wasio-cc --http), sends every request through the host's wasi:http
outgoing-handler. Its tests (http_build_*) run in the wasmtime pass and start
`wasio-run --http` themselves: wasmtime -S http with no socket permission at
all (no --net), and require the exit codes of the socket build for the same
failures.

--tls-backend: the guest backend (mbedTLS) runs on every host; the host
backend exists only in build/wasm32/apps/wasio-fetch-hosttls.wasm (wasio-cc
--host-tls), which needs a host with wasi:tls. Its tests (hosttls_*) run in
the wasmtime pass and start their hosts themselves: `wasio-run --host
tlshost` (tools/wasio-tls-host, OpenSSL, trusts SSL_CERT_FILE = the
helper's CA) for a fetch that succeeds, and `wasio-run --tls` (wasmtime -S
tls, only its built-in webpki roots) for the refusal of the private CA.

Facts of jco's host (@bytecodealliance/preview2-shim, nodejs), seen in its
source and checked here: wasi:cli/terminal-stdout and terminal-stderr always
return a terminal (so the guest's isatty(1) and isatty(2) are true even on a
pipe: with the body on stdout there is no progress meter on jco, curl's rule
for a terminal), and stdio's blocking-flush is a no-op ("no blocking flush
for stdio in Node.js"), so process.exit drops piped stdout that Node has not
written yet: a large body to stdout is truncated on jco. The tests say so
where it matters (-o FILE is complete on every host). Every wasio-fetch run
on jco costs about 3 s (jco run transpiles the component each time).
"""
import hashlib
import os
import pty
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import pydriver  # noqa: E402
from pydriver import RUNNER, WASM_TOOLS, Failed, Skipped, check, test  # noqa: E402,F401

NATIVE = os.path.join(pydriver.BUILD, "native", "apps", "wasio-fetch")
WASM = os.path.join(pydriver.BUILD, "wasm32", "apps", "wasio-fetch.wasm")
HOSTTLS_WASM = os.path.join(pydriver.BUILD, "wasm32", "apps", "wasio-fetch-hosttls.wasm")
HTTP_WASM = os.path.join(pydriver.BUILD, "wasm32", "apps", "wasio-fetch-http.wasm")
WASI_HTTP_IMPORT = "import wasi:http/outgoing-handler@"
TRANSPORT_HOST = "* Transport: host "
TRANSPORT_SOCKETS = "* Transport: sockets "
WASI_TLS_IMPORT = "import wasi:tls/"
RUN_TIMEOUT_S = 240
BIG_BYTES = 20 * 1024 * 1024

CURL = shutil.which("curl") or "/usr/bin/curl"
PROXY_VARS = ("http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")


def clean_env(extra=None):
    """This process's environment without proxy settings (wasio-fetch and
    curl both read them), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    env.update(extra or {})
    return env


class Ctx:
    def __init__(self, host, params):
        self.host = host
        self.port = int(params.get("port", "0"))
        self.stall = int(params.get("port2", "0"))
        self.peer = int(params.get("port3", "0"))
        if not self.port or not self.peer:
            raise SystemExit("wasio_fetch.py: no port=N port3=K (run through tests/run.py)")

    def rows(self, table):
        """The rows of a table-driven test this host runs: all of them, but
        on jco (about 2 s a run: jco run transpiles the component each
        time) the first and every third, the same ones each time. The
        component code is the host's only difference, and every test still
        runs there."""
        return table[::3] if self.host == "jco" else table

    def url(self, path, port=None):
        return f"http://127.0.0.1:{port or self.port}{path}"

    def purl(self, path):
        """A URL of tests/helpers/fetch_peer.py."""
        return f"http://127.0.0.1:{self.peer}{path}"

    def command(self, args, cwd=None, net=True):
        return pydriver.command(self.host, NATIVE, WASM, args, net=net, dirs=[cwd] if cwd else [],
                                timeout=RUN_TIMEOUT_S)

    def run(self, args, cwd=None, stderr_tty=False, stdin=None, net=True, env=None):
        cmd = self.command(args, cwd, net)
        env = clean_env(env)
        if stderr_tty:
            master, slave = pty.openpty()
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, cwd=cwd, env=env)
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
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, timeout=RUN_TIMEOUT_S + 10,
                           input=stdin, env=env)
        return p.returncode, p.stdout, p.stderr.decode(errors="replace")

    def expect_ok(self, args, **kw):
        rc, out, err = self.run(args, **kw)
        check(rc == 0, f"exit {rc}, stderr: {err.strip()[:300]}")
        return out, err

    def expect_code(self, args, code, cwd=None, words=None):
        """A failure with curl's `code`: the exit status on every host, and
        "wasio-fetch: (code) " (and `words`) in the message."""
        rc, out, err = self.run(args, cwd=cwd)
        check(rc == code, f"{args}: exit {rc}, want {code}; stderr: {err.strip()[:300]}")
        check(f"wasio-fetch: ({code}) " in err, f"{args}: stderr lacks '({code})': {err.strip()[:300]}")
        if words:
            check(words in err, f"{args}: stderr lacks {words!r}: {err.strip()[:300]}")
        return out, err

    def curl(self, args, cwd=None, stdin=None):
        p = subprocess.run([CURL] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, timeout=120,
                           input=stdin, env=clean_env())
        return p.returncode, p.stdout, p.stderr.decode(errors="replace")

    def as_curl(self, args, cwd=None, stdin=None, code=None, files=(), curl_args=None, setup=None):
        """Runs wasio-fetch and curl with `args` (curl_args for curl when
        given) in `cwd`; requires the same exit status (== code when given)
        and the same stdout, and the same content of each of `files` (each
        is removed, then setup() runs, before each run). Returns
        wasio-fetch's (out, err)."""
        def clear():
            for name in files:
                if os.path.exists(os.path.join(cwd, name)):
                    os.unlink(os.path.join(cwd, name))
            if setup:
                setup()

        def contents():
            got = {}
            for name in files:
                path = os.path.join(cwd, name)
                got[name] = open(path, "rb").read() if os.path.exists(path) else None
            return got
        clear()
        crc, cout, cerr = self.curl(curl_args if curl_args is not None else args, cwd, stdin)
        cfiles = contents()
        clear()
        rc, out, err = self.run(args, cwd=cwd, stdin=stdin)
        wfiles = contents()
        check(rc == crc, f"{args}: exit {rc}, curl {crc}; stderr: {err.strip()[:300]} | curl: {cerr.strip()[:200]}")
        if code is not None:
            check(rc == code, f"{args}: exit {rc}, want {code}")
        check(out == cout, f"{args}: stdout {out[:300]!r}, curl {cout[:300]!r}")
        for name in files:
            check(wfiles[name] == cfiles[name], f"{args}: file {name}: {str(wfiles[name])[:120]} vs curl "
                  f"{str(cfiles[name])[:120]}")
        return out, err


class TempDir:
    """A temporary directory, removed at the end of a `with`."""

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="wasio-fetch-test-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def run_hosttls(wasm_host, args, cwd, env_extra=None, env_drop=()):
    """The host-TLS build on `wasm_host`: "tlshost" (wasio-tls-host) or
    "wasmtime" (with --tls); the component sees `cwd` as ".". Returns
    (exit status: curl's code, stdout, stderr)."""
    cmd = [RUNNER, "--host", wasm_host, "--timeout", str(RUN_TIMEOUT_S), "--dir", cwd]
    if wasm_host == "wasmtime":
        cmd += ["--net", "--tls"]
    env = {k: v for k, v in os.environ.items() if k not in env_drop and k not in PROXY_VARS}
    env.update(env_extra or {})
    p = subprocess.run(cmd + [HOSTTLS_WASM] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                       env=env, timeout=RUN_TIMEOUT_S + 10)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def run_http(args, cwd, host="wasmtime", env=None):
    """The wasi:http build on wasmtime -S http, without any socket
    permission (or on jco, whose Node always has both); the component sees
    `cwd` as ".". Returns (exit status, stdout, stderr)."""
    cmd = [RUNNER, "--host", host, "--http", "--timeout", str(RUN_TIMEOUT_S), "--dir", cwd]
    p = subprocess.run(cmd + [HTTP_WASM] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                       env=clean_env(env), timeout=RUN_TIMEOUT_S + 10)
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
    out, err = c.expect_ok(["-s", c.url("/small.txt")])
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
    with TempDir() as d:
        data = bytes((i * 31 + 7) & 0xFF for i in range(300 * 1024))
        with open(os.path.join(d, "data.bin"), "wb") as f:
            f.write(data)
        c.expect_ok(["-X", "PUT", "--data-binary", "@data.bin", c.url("/upload/from-file.bin")], cwd=d)
        got = urllib.request.urlopen(c.url("/upload/from-file.bin"), timeout=10).read()
        check(got == data, f"stored {len(got)} bytes, want {len(data)}")
        # curl 7.88 sends an empty body here (with a warning); wasio-fetch
        # refuses to lose the data: 26, as for -T (where curl agrees).
        c.expect_code(["-d", "@no-such-file", c.url("/small.txt")], 26, cwd=d, words="no-such-file")
        c.as_curl(["-sS", "-T", "no-such-file", c.purl("/echo")], cwd=d, code=26)


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
            check(rc == 77, f"{name}: exit {rc}; {err!r}")
            check("wasio-fetch: (77) " in err, f"{name}: stderr {err!r}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- the guest's verification rules (wasio/tls.h): curl's 60 for each ----

# (leaf, issuer, extensions, key kind, host, words of the message); the
# issuer "inter-noca" is an intermediate that is no CA.
CERT_RULES = [
    ("nosan", "inter", "nosan", "ec", "localhost", "no subjectAltName"),
    ("badwild", "inter", "DNS:local*", "ec", "localhost", "wildcard"),
    ("ipdns", "inter", "DNS:127.0.0.1", "ec", "127.0.0.1", "iPAddress"),
    ("clientauth", "inter", "clientauth", "ec", "localhost", "may not authenticate a TLS server"),
    ("rsa1024", "inter", "DNS:localhost", "rsa1024", "localhost", "too weak"),
    ("noca", "inter-noca", "DNS:localhost", "ec", "localhost", "no CA"),
    ("wronghost", "inter", "DNS:other.test", "ec", "localhost", "does not match"),
    ("sha1", "inter", "DNS:localhost", "rsa", "localhost", "refused algorithm"),
]


def cert_pki(d):
    """A root, an intermediate, an intermediate that is no CA, a good leaf
    for localhost, and a leaf for each of CERT_RULES."""
    p = pydriver.Pki(d)
    p.self_signed("root", "wasio-fetch test root")
    p.issue("inter", "root", pydriver.CA_EXT, cn="wasio-fetch test intermediate")
    p.issue("inter-noca", "root", "basicConstraints = critical, CA:FALSE\n", cn="wasio-fetch no CA")
    p.issue("good", "inter", pydriver.leaf_ext("DNS:localhost"))
    for name, issuer, ext, kind, _, _ in CERT_RULES:
        if ext == "nosan":
            ext = "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n" \
                  "extendedKeyUsage = serverAuth\n"
        elif ext == "clientauth":
            ext = pydriver.leaf_ext("DNS:localhost").replace("serverAuth", "clientAuth")
        else:
            ext = pydriver.leaf_ext(ext)
        p.issue(name, issuer, ext, kind=kind, cn="localhost", md="sha1" if name == "sha1" else "sha256")
    return p


def s_server(d, leaf, issuer):
    """openssl s_server -www for one connection with `leaf` and `issuer`;
    returns (process, port)."""
    log = open(os.path.join(d, f"{leaf}.log"), "w+b")
    proc = subprocess.Popen([pydriver.OPENSSL, "s_server", "-accept", "0", "-naccept", "1", "-www", "-tls1_2",
                             "-cipher", "DEFAULT@SECLEVEL=0", "-cert", f"{leaf}.pem", "-key", f"{leaf}.key",
                             "-cert_chain", f"{issuer}.pem"], cwd=d, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while time.time() < deadline:
        log.seek(0)
        for line in log.read().splitlines():
            if line.startswith(b"ACCEPT") and b":" in line:
                return proc, int(line.rsplit(b":", 1)[1])
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.kill()
    raise pydriver.Failure(f"s_server {leaf} did not start")


@test
def cert_rules_60(c):
    """Each rule of the guest's verification policy refuses its broken
    certificate with curl's code 60 and the rule's own message (wasio's
    error text); a good chain from the same root goes through (the rest of
    wasio/tls.h's rules: tests/component/tls.c)."""
    d = tempfile.mkdtemp(prefix="wasio-fetch-rules-")
    try:
        cert_pki(d)
        proc, port = s_server(d, "good", "inter")
        try:
            c.expect_ok(["--cacert", "root.pem", f"https://localhost:{port}/"], cwd=d)
        finally:
            proc.kill()
            proc.wait()
        for name, issuer, _, _, host, words in CERT_RULES:
            proc, port = s_server(d, name, issuer)
            try:
                _, err = c.expect_code(["--cacert", "root.pem", f"https://{host}:{port}/"], 60, cwd=d,
                                       words="SSL certificate problem: ")
                check(words in err, f"{name}: stderr lacks {words!r}: {err.strip()[:300]}")
            finally:
                proc.kill()
                proc.wait()
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
        out, err = c.expect_code(["--tls-backend", "host", "-o", "out.txt",
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
    check("option --tls-backend: requires parameter" in err, f"stderr {err!r}")
    out, _ = c.expect_ok(["--help"])
    check(b"--tls-backend" in out and b"4 TLS backend or transport not in this build" in out, "help lacks --tls-backend")
    check(b"--transport T" in out, "help lacks --transport")


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
        # Through the proxy's CONNECT tunnel, the host's TLS inside it.
        rc, out, err = run_hosttls("tlshost", ["-v", "-x", c.purl(""), url + "/small.txt"], d, trust)
        check(rc == 0 and out == b"hello from nginx\n", f"-x: exit {rc}, stdout {out!r}, {err.strip()[-300:]}")
        check(BACKEND_HOST in err and "* CONNECT tunnel established" in err, f"-x: stderr {err[-400:]!r}")
        # The same host without the CA: the host refuses ("certificate verify
        # failed" from the OpenSSL provider: WASIO_ETLS_CERT_INVALID, curl's 60).
        rc, out, err = run_hosttls("tlshost", ["-o", "refused.txt", url + "/small.txt"], d,
                                   env_drop=("SSL_CERT_FILE",))
        check(rc == 60 and "wasio-fetch: (60) " in err,
              f"no CA: exit {rc}; {err.strip()[:300]}")
        check("use --tls-backend guest --cacert FILE" in err, f"no hint: {err!r}")
        check(not os.path.exists(os.path.join(d, "refused.txt")), "-o FILE created by a failed transfer")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def output_file_created_at_first_byte(c):
    """-o FILE as curl: a transfer that fails before any byte creates no
    file; a successful empty body creates an empty one."""
    with TempDir() as d:
        c.expect_code(["-o", "refused.txt", "http://127.0.0.1:1/"], 7, cwd=d)
        check(not os.path.exists(os.path.join(d, "refused.txt")), "a refused connection created -o FILE")
        c.expect_code(["-f", "-o", "404.txt", c.url("/no/such")], 22, cwd=d)
        check(not os.path.exists(os.path.join(d, "404.txt")), "-f on a 404 created -o FILE")
        c.expect_ok(["-o", "empty.txt", c.url("/empty.txt")], cwd=d)
        check(os.path.exists(os.path.join(d, "empty.txt")), "a successful empty body created no -o FILE")
        check(os.path.getsize(os.path.join(d, "empty.txt")) == 0, "empty.txt has bytes")


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
            check(rc == 60 and "wasio-fetch: (60) " in err, f"{args}: exit {rc}; {err.strip()[:300]}")
            check(BACKEND_HOST in err, f"{args}: -v does not say host: {err!r}")
            check("the host's TLS (wasi:tls) refused the certificate" in err, f"{args}: stderr {err!r}")
            check(out == b"" and not os.path.exists(os.path.join(d, "out.txt")),
                  f"{args}: -o FILE created by a failed transfer")
        for args in (["--cacert", "ca.pem"], ["--tls-backend", "guest", "--cacert", "ca.pem"]):
            rc, out, err = run_hosttls("wasmtime", ["-v"] + args + [url], d)
            check(rc == 0 and out == b"hello from nginx\n", f"{args}: exit {rc}, stdout {out!r}, {err.strip()[:300]}")
            check(BACKEND_GUEST in err, f"{args}: -v does not say guest: {err!r}")
        rc, out, err = run_hosttls("wasmtime", ["--tls-backend", "host", "--cacert", "ca.pem", url], d)
        check(rc == 2 and "wasio-fetch: (2) " in err and HOST_DECIDES in err, f"host+cacert: exit {rc}; {err!r}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def header_injection_refused_2(c):
    c.expect_code(["-H", "X-A: 1\r\nX-Evil: 2", c.url("/small.txt")], 2)


@test
def usage_2(c):
    c.expect_code([], 2)
    c.expect_code(["--no-such-option", c.url("/")], 2, words="option --no-such-option: is unknown")
    c.expect_code(["-Q", c.url("/")], 2, words="option -Q: is unknown")
    c.expect_code(["-o"], 2, words="option -o: requires parameter")
    c.expect_code(["-fsSL"], 2, words="no URL specified!")
    c.expect_code(["--max-time", "abc", c.url("/")], 2, words="expected a proper numerical parameter")
    c.expect_code(["-d", "x", "-T", "f", c.url("/")], 2, words="only select one HTTP request method")
    out, _ = c.expect_ok(["--help"])
    check(b"Exit codes" in out and b"--compressed" in out, "help lists the exit codes and options")


@test
def max_time_28(c):
    t0 = time.time()
    c.expect_code(["--max-time", "0.5", c.url("/silent", c.stall)], 28)
    check(time.time() - t0 < 30, "took too long")


@test
def output_file_sha256(c):
    want = urllib.request.urlopen(c.url("/big.bin.sha256"), timeout=10).read().decode().strip()
    with TempDir() as d:
        out, err = c.expect_ok(["-o", "big.bin", c.url("/big.bin")], cwd=d)
        check(out == b"", f"stdout not empty with -o: {out[:40]!r}")
        check(sha256_file(os.path.join(d, "big.bin")) == want, "sha256 differs")
        # curl's progress meter on stderr, although it is no terminal.
        check(err.startswith(METER_HEAD), f"no progress meter: {err[:200]!r}")


@test
def stdout_sha256(c):
    if c.host == "jco":
        raise Skipped("jco drops piped stdout still queued at exit (no blocking flush for stdio)")
    want = urllib.request.urlopen(c.url("/big.bin.sha256"), timeout=10).read().decode().strip()
    out, _ = c.expect_ok(["-s", c.url("/big.bin")])
    check(len(out) == BIG_BYTES, f"{len(out)} bytes")
    check(hashlib.sha256(out).hexdigest() == want, "sha256 differs")


@test
def write_error_23(c):
    if c.host != "native":
        raise Skipped("/dev/full is not reachable from a component")
    rc, out, err = c.run(["-o", "/dev/full", c.url("/small.txt")])
    check(rc == 23 and "wasio-fetch: (23) " in err, f"exit {rc}: {err!r}")


# ---- error codes and words, as curl (issue 9, item 8) ----------------------------

METER_HEAD = ("  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
              "                                 Dload  Upload   Total   Spent    Left  Speed\n")


def tls_ports(c):
    line = urllib.request.urlopen(c.url("/tls/ports.txt"), timeout=10).read().decode()
    return {k: int(v) for k, v in (kv.split("=") for kv in line.split())}


@test
def error_codes_as_curl(c):
    """Every exit code wasio-fetch produces that curl shares, provoked once:
    the same status as curl (on every host: the component passes it
    through), the same stdout, and wasio-fetch's words for it."""
    tls = tls_ports(c)["ecdsa-gcm"]
    https = f"https://localhost:{tls}/small.txt"
    table = [
        (["gopher2://127.0.0.1/"], 1, 'Protocol "gopher2" not supported'),
        ([c.purl("/quirk/http09")], 1, "Unsupported HTTP version"),
        ([c.purl("/quirk/badstatus")], 1, "status line"),
        (["--bogus", c.purl("/hello")], 2, "option --bogus: is unknown"),
        (["http://127.0.0.1:99999/"], 3, "bad/illegal format"),
        (["http://a b/"], 3, "bad/illegal format"),
        (["-x", "http://no-such-proxy.invalid:3128", c.purl("/hello")], 5, "Could not resolve proxy"),
        (["http://no-such-host.invalid/"], 6, "Could not resolve host: no-such-host.invalid"),
        (["http://127.0.0.1:1/"], 7, "Failed to connect to 127.0.0.1 port 1"),
        (["-x", "127.0.0.1:1", c.purl("/hello")], 7, "Failed to connect to proxy 127.0.0.1 port 1"),
        ([c.purl("/quirk/nocolon")], 8, "Weird server reply"),
        ([c.purl("/quirk/nul")], 8, "Weird server reply"),
        ([c.purl("/quirk/truncated")], 18, "transfer closed with 90 bytes remaining to read"),
        ([c.purl("/quirk/truncated-chunked")], 18, "outstanding read data remaining"),
        (["-f", c.purl("/status/404")], 22, "The requested URL returned error: 404"),
        (["-O", c.purl("/")], 23, "Remote file name has no length"),
        (["-T", "missing.txt", c.purl("/echo")], 26, "missing.txt"),
        (["-m", "0.5", c.url("/silent", c.stall)], 28, "timed out"),
        (["-C", "5", c.purl("/bytes/10?norange=1")], 33, "doesn't seem to support byte ranges"),
        (["-k", f"https://127.0.0.1:{c.port}/small.txt"], 35, "SSL connect error"),
        (["-L", "--max-redirs", "0", c.purl("/redirect/1")], 47, "Maximum (0) redirects followed"),
        (["-L", c.url("/redirect/loop")], 47, "Maximum (50) redirects followed"),
        ([c.purl("/quirk/empty")], 52, "Empty reply from server"),
        ([c.purl("/quirk/badchunk")], 56, "chunk"),
        (["-x", c.purl(""), "https://forbidden.invalid/"], 56, "CONNECT tunnel failed, response 403"),
        ([https], 60, "SSL certificate problem"),
        (["--compressed", c.purl("/gzip-bad")], 61, "Error while processing content unencoding"),
        (["--cacert", "junk.pem", https], 77, "junk.pem"),
    ]
    with TempDir() as d:
        with open(os.path.join(d, "junk.pem"), "w") as f:
            f.write("not a certificate\n")
        bad = []  # every row is tried: one failure must not hide the next
        for args, code, words in c.rows(table):
            try:
                _, err = c.as_curl(args, cwd=d, code=code)
                check(f"wasio-fetch: ({code}) " in err and words in err, f"{args}: stderr {err.strip()[:300]!r}")
            except Failed as e:
                bad.append(str(e))
        check(not bad, f"{len(bad)} rows: " + " || ".join(bad))


@test
def error_codes_where_curl_differs(c):
    """wasio-fetch's codes where curl 7.88 answers otherwise, on purpose
    (apps/wasio-fetch/wasio-fetch.c says why)."""
    with TempDir() as d:
        # curl speaks FTP; wasio-fetch does not: 1, as --help says.
        c.expect_code(["ftp://127.0.0.1:1/"], 1, cwd=d, words='Protocol "ftp" not supported')
        # Two different Content-Length values: curl takes the last one; the
        # codec refuses the ambiguity (a smuggling vector): 8.
        c.expect_code([c.purl("/quirk/cl-mismatch")], 8, cwd=d, words="Content-Length")
        # An encoding this build cannot decode (curl's has brotli): 61.
        c.expect_code(["--compressed", c.purl("/br")], 61, cwd=d, words="Unrecognized content encoding type 'br'")
        # A gzip stream that stops short (the HTTP body is whole): curl
        # writes what it could inflate and exits 0; 61 here, after the same
        # bytes.
        out, _ = c.expect_code(["--compressed", c.purl("/gzip-truncated")], 61, cwd=d, words="ended early")
        cout = c.curl(["-s", "--compressed", c.purl("/gzip-truncated")], cwd=d)[1]
        check(out == cout and len(out) > 0, f"truncated gzip: {len(out)} bytes, curl {len(cout)}")
        # -d @FILE that cannot be read: curl sends an empty POST; 26 here.
        c.expect_code(["-d", "@missing.txt", c.purl("/echo")], 26, cwd=d, words="missing.txt")
        # A chunk extension outside RFC 9112's grammar (a quoted string never
        # closed): curl skips extensions unread and exits 0 with the body;
        # the codec refuses the line, and wasio-fetch gives curl's code for
        # malformed chunked encoding, 56, with nothing on stdout.
        crc, cout, _ = c.curl(["-s", c.purl("/quirk/badchunk-ext")], cwd=d)
        check(crc == 0 and cout == b"hello", f"curl on a bad chunk extension: exit {crc}, stdout {cout!r}")
        out, _ = c.expect_code([c.purl("/quirk/badchunk-ext")], 56, cwd=d,
                               words="Malformed chunked encoding: invalid HTTP chunk extension")
        check(out == b"", f"bad chunk extension: stdout {out!r}")


# ---- the flags curl users type daily --------------------------------------------------

@test
def short_options_combined_and_attached(c):
    with TempDir() as d:
        with open(os.path.join(d, "f.txt"), "wb") as f:
            f.write(b"a=1&b=2")
        c.as_curl(["-fsSL", c.purl("/redirect/2")], cwd=d, code=0)
        c.as_curl(["-sS", c.purl("/hello")], cwd=d, code=0)
        c.as_curl(["-sAt", "-XDELETE", c.purl("/head")], cwd=d, code=0)
        c.as_curl(["-sXPUT", "-d@f.txt", c.purl("/echo")], cwd=d, code=0)
        c.as_curl(["-sohello.txt", c.purl("/hello")], cwd=d, code=0, files=["hello.txt"])
        c.as_curl(["-sSfo", "x.txt", c.purl("/status/404")], cwd=d, code=22, files=["x.txt"])


@test
def show_error_and_silent(c):
    rc, out, err = c.run(["-s", "http://127.0.0.1:1/"])
    check(rc == 7 and err == "", f"-s: exit {rc}, stderr {err!r}")
    for flags in (["-sS"], ["-S"]):
        rc, out, err = c.run(flags + ["http://127.0.0.1:1/"])
        check(rc == 7 and "wasio-fetch: (7) Failed to connect" in err, f"{flags}: exit {rc}, stderr {err!r}")


@test
def remote_name_O(c):
    with TempDir() as d:
        c.as_curl(["-sS", "-O", c.purl("/bytes/12")], cwd=d, code=0, files=["12"])
        c.as_curl(["-sS", "-O", c.purl("/bytes/13?x=1")], cwd=d, code=0, files=["13"])
        c.as_curl(["-sS", "-LO", c.purl("/redirect/1?to=/bytes/5")], cwd=d, code=0, files=["1", "5"])


@test
def write_out_w(c):
    fmt = ("%{http_code} %{size_download} %{url_effective} %{content_type} %{num_redirects} %{exitcode} "
           "%{response_code} %{size_header} %{size_upload} %{redirect_url} %{method} %{scheme} %{http_version} "
           "[%header{content-type}] %{filename_effective} %% \\t|\\n")
    with TempDir() as d:
        c.as_curl(["-s", "-o", "o.txt", "-w", fmt, c.purl("/hello")], cwd=d, code=0, files=["o.txt"])
        c.as_curl(["-s", "-L", "-o", "o.txt", "-w", fmt, c.purl("/redirect/2")], cwd=d, code=0)
        c.as_curl(["-s", "-o", "o.txt", "-w", fmt, c.purl("/redirect/1")], cwd=d, code=0)
        c.as_curl(["-s", "-d", "abc", "-w", fmt, c.purl("/echo")], cwd=d, code=0)
        c.as_curl(["-s", "-w", "%{http_code} %{exitcode} %{url_effective}\\n", "http://127.0.0.1:1/x"], cwd=d, code=7)
        with open(os.path.join(d, "fmt.txt"), "w") as f:
            f.write("code %{http_code}\\n")
        c.as_curl(["-s", "-o", "o.txt", "-w", "@fmt.txt", c.purl("/hello")], cwd=d, code=0)
        out, err = c.expect_ok(["-s", "-o", "o.txt", "-w", "%{time_total}|%{errormsg}|%{bogus}", c.purl("/hello")],
                               cwd=d)
        t, em, rest = out.decode().split("|")
        check(len(t.split(".")[1]) == 6 and float(t) >= 0 and em == "" and rest == "", f"-w: {out!r}")
        check("unknown --write-out variable: 'bogus'" in err, f"stderr {err!r}")
        out, _ = c.run(["-s", "-w", "%{errormsg}", "http://127.0.0.1:1/"], cwd=d)[1:]
        check(out.startswith(b"Failed to connect to 127.0.0.1 port 1"), f"%{{errormsg}}: {out!r}")


@test
def data_options(c):
    with TempDir() as d:
        with open(os.path.join(d, "d.txt"), "wb") as f:
            f.write(b"a=1\r\nb=2\n\nc=3")
        for args in c.rows([["-d", "@d.txt"], ["--data-binary", "@d.txt"], ["--data-ascii", "@d.txt"],
                            ["-d", "x=1", "-d", "y=2", "--data-raw", "@raw"],
                            ["--data-urlencode", "name=a b&c", "--data-urlencode", "=x y", "--data-urlencode",
                             "plain text", "--data-urlencode", "f@d.txt", "--data-urlencode", "@d.txt"],
                            ["-d", ""]]):
            c.as_curl(["-sS"] + args + [c.purl("/echo")], cwd=d, code=0)
        c.as_curl(["-sS", "-A", "t", "-G", "-d", "a=1", "-d", "b=2", c.purl("/head?q=0")], cwd=d, code=0)
        c.as_curl(["-sS", "-d", "@-", c.purl("/echo")], cwd=d, code=0, stdin=b"from\r\nstdin\n")
        c.as_curl(["-sS", "-i", "-d", "k=v", c.purl("/echo")], cwd=d, code=0)


@test
def user_agent_referer_user_and_fields(c):
    with TempDir() as d:
        c.as_curl(["-s", "-u", "user:pa ss", "-A", "ua/1", "-e", "http://ref.example/", "-H", "X-C: 1",
                   "-H", "Accept:", c.purl("/head")], cwd=d, code=0)
        # "Name;" sends the field empty; the codec writes "Name: " (curl
        # "Name:"), the same field (RFC 9110 5.6.3: optional whitespace).
        out, _ = c.expect_ok(["-s", "-A", "t", "-H", "X-Empty;", c.purl("/head")], cwd=d)
        check(b"\r\nX-Empty: \r\n" in out, f"X-Empty; {out!r}")
        c.as_curl(["-s", "-A", "", c.purl("/head")], cwd=d, code=0)
        c.as_curl(["-s", "-A", "t", "-H", "User-Agent: mine", "-H", "Host: other.example", c.purl("/head")],
                  cwd=d, code=0)
        c.as_curl(["-s", "-A", "t", f"http://us%65r:p%40ss@127.0.0.1:{c.peer}/head"], cwd=d, code=0)
        # ;auto: the previous URL as Referer on the redirect
        c.as_curl(["-s", "-A", "t", "-L", "-e", ";auto", c.purl("/redirect/1?to=/head")], cwd=d, code=0)
        # -u goes only to the first URL's origin
        other = f"http://localhost:{c.peer}/head"
        c.as_curl(["-s", "-A", "t", "-u", "a:b", "-L", c.purl("/to?url=" + other)], cwd=d, code=0)


@test
def cookies_b(c):
    jar = ("# Netscape HTTP Cookie File\n"
           "127.0.0.1\tFALSE\t/\tFALSE\t0\tfile\tyes\n"
           ".example.com\tTRUE\t/\tFALSE\t0\tother\tno\n"
           "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tho\t1\n"
           "127.0.0.1\tFALSE\t/sub\tFALSE\t0\tsub\tx\n"
           "127.0.0.1\tFALSE\t/\tTRUE\t0\tsec\tx\n"
           "127.0.0.1\tFALSE\t/\tFALSE\t1\texpired\tx\n")
    with TempDir() as d:
        with open(os.path.join(d, "jar.txt"), "w") as f:
            f.write(jar)
        for args in c.rows([["-b", "a=1; b=2"], ["-b", "jar.txt"], ["-b", "jar.txt", "-b", "lit=1"],
                            ["-b", "no-such-jar.txt"]]):
            c.as_curl(["-sS"] + args + [c.purl("/cookies")], cwd=d, code=0)
        # A cookie file (even '' or a missing one) turns on the engine: the
        # cookies set on the way are sent on the redirect; a string does not.
        for args in c.rows([["-b", ""], ["-b", "jar.txt"], ["-b", "a=1"], []]):
            c.as_curl(["-sS", "-L"] + args + [c.purl("/set-cookie?s=1&t=2&next=/cookies")], cwd=d, code=0)
        # Expires and Max-Age: a date in the past or Max-Age=0 removes the
        # file's cookie, a future one keeps the new value.
        for attr in c.rows(["Expires=Thu, 01 Jan 1970 00:00:01 GMT", "Max-Age=0",
                            "Expires=Wed, 01-Jan-2098 00:00:00 GMT", "Max-Age=600"]):
            q = urllib.parse.urlencode({"file": "new", "attr": attr, "next": "/cookies"})
            c.as_curl(["-sS", "-L", "-b", "jar.txt", c.purl("/set-cookie?" + q)], cwd=d, code=0)


@test
def upload_T(c):
    with TempDir() as d:
        data = bytes((i * 13 + 5) & 0xFF for i in range(300 * 1024))
        with open(os.path.join(d, "big.bin"), "wb") as f:
            f.write(data)
        with open(os.path.join(d, "d.txt"), "wb") as f:
            f.write(b"hello upload\n")
        c.as_curl(["-sS", "-T", "d.txt", c.purl("/echo")], cwd=d, code=0)
        c.as_curl(["-sS", "-T", "d.txt", "-w", "%{url_effective} %{size_upload}", c.purl("/echo/")], cwd=d, code=0)
        c.as_curl(["-sS", "-T", "-", c.purl("/echo")], cwd=d, code=0, stdin=b"from stdin\n")
        c.expect_ok(["-sS", "-T", "big.bin", c.url("/upload/T.bin")], cwd=d)
        got = urllib.request.urlopen(c.url("/upload/T.bin"), timeout=10).read()
        check(got == data, f"-T stored {len(got)} bytes, want {len(data)}")
        # 307 repeats the upload (the file is read again)
        out, _ = c.expect_ok(["-sS", "-L", "-T", "d.txt", c.purl("/redirect/1?code=307&to=/echo")], cwd=d)
        check(out == b"hello upload\n", f"-T after a 307: {out!r}")


@test
def retry(c):
    base = f"{c.host}-{time.time_ns()}"
    with TempDir() as d:
        c.as_curl(["-sS", "--retry", "2", "--retry-delay", "1", c.purl(f"/flaky/{base}-a/2")], cwd=d, code=0,
                  curl_args=["-sS", "--retry", "2", "--retry-delay", "1", c.purl(f"/flaky/{base}-b/2")])
        c.as_curl(["-sSf", "--retry", "1", "--retry-delay", "1", c.purl(f"/flaky/{base}-c/5")], cwd=d, code=22,
                  curl_args=["-sSf", "--retry", "1", "--retry-delay", "1", c.purl(f"/flaky/{base}-d/5")])
        # --retry-max-time 1: after the 1 s sleep the window is over (two tries)
        out, _ = c.as_curl(["-s", "--retry", "5", "--retry-delay", "1", "--retry-max-time", "1",
                            c.purl(f"/flaky/{base}-f/5")], cwd=d, code=0,
                           curl_args=["-s", "--retry", "5", "--retry-delay", "1", "--retry-max-time", "1",
                                      c.purl(f"/flaky/{base}-g/5")])
        check(out == b"try again\n" * 2, f"--retry-max-time: {out!r}")
        rc, out, err = c.run(["--retry", "1", "-o", "o.txt", c.purl(f"/flaky/{base}-e/1?retry_after=2")], cwd=d)
        check(rc == 0 and open(os.path.join(d, "o.txt"), "rb").read() == b"ok\n", f"exit {rc}: {err[-300:]!r}")
        check("Warning: Problem : HTTP error. Will retry in 2 seconds. 1 retries left." in err, f"stderr {err!r}")
        check("Throwing away 10 bytes" in err, f"stderr {err!r}")
        rc, out, err = c.run(["-sS", "--retry", "1", "--retry-delay", "1", "--retry-connrefused", "http://127.0.0.1:1/"])
        check(rc == 7 and err.count("wasio-fetch: (7) ") == 2, f"--retry-connrefused: exit {rc}, {err!r}")
        rc, out, err = c.run(["-sS", "--retry", "1", "http://127.0.0.1:1/"])
        check(rc == 7 and err.count("wasio-fetch: (7) ") == 1, f"refused, no --retry-connrefused: {rc}, {err!r}")


@test
def resume_C(c):
    full = bytes((i * 7 + 3) & 255 for i in range(1000))
    with TempDir() as d:
        def part(name, n):
            def f():
                with open(os.path.join(d, name), "wb") as fp:
                    fp.write(full[:n])
            return f
        c.as_curl(["-sS", "-C", "-", "-o", "f", c.purl("/bytes/1000")], cwd=d, code=0, files=["f"], setup=part("f", 400))
        check(open(os.path.join(d, "f"), "rb").read() == full, "-C - did not complete the file")
        # 416: nothing left to get; the file stays, exit 0
        c.as_curl(["-sS", "-C", "-", "-o", "f", "-w", "%{http_code}", c.purl("/bytes/1000")], cwd=d, code=0,
                  files=["f"], setup=part("f", 1000))
        # a server without ranges: 33, the file untouched
        c.as_curl(["-sS", "-C", "-", "-o", "f", c.purl("/bytes/1000?norange=1")], cwd=d, code=33, files=["f"],
                  setup=part("f", 400))
        # ... unless the file is already whole
        c.as_curl(["-sS", "-C", "-", "-o", "f", c.purl("/bytes/1000?norange=1")], cwd=d, code=0, files=["f"],
                  setup=part("f", 1000))
        c.as_curl(["-sS", "-C", "5", c.purl("/bytes/10")], cwd=d, code=0)
        c.as_curl(["-sS", "-C", "-", c.purl("/bytes/10")], cwd=d, code=0)
        c.as_curl(["-sS", "-C", "-", "-o", "new", c.purl("/bytes/10")], cwd=d, code=0, files=["new"])


@test
def proxy_x_http(c):
    proxy = c.purl("")
    target = c.purl("/hello")
    with TempDir() as d:
        for args in (["-x", proxy], ["-x", f"127.0.0.1:{c.peer}", "-U", "u:p"], ["-p", "-x", proxy],
                     ["-x", f"http://u:p@127.0.0.1:{c.peer}"], ["-x", proxy, "-i"], ["-x", proxy, "-d", "a=b"]):
            c.as_curl(["-sS"] + args + [target if "-d" not in args else c.purl("/echo")], cwd=d, code=0)
        urllib.request.urlopen(c.purl("/proxy-log"), timeout=10).read()
        c.expect_ok(["-sS", "-x", proxy, "-U", "u:p", target], cwd=d)
        c.expect_ok(["-sS", "-p", "-x", proxy, target], cwd=d)
        log = urllib.request.urlopen(c.purl("/proxy-log"), timeout=10).read().decode().splitlines()
        check(log == [f"GET {target} auth=Basic dTpw", f"CONNECT 127.0.0.1:{c.peer} auth=-"], f"proxy log {log!r}")


@test
def proxy_from_environment(c):
    """Without -x the proxy comes from the environment, as curl's. wasmtime
    gives a component no environment variables (wasio-run passes none)."""
    if c.host == "wasmtime":
        raise Skipped("wasmtime passes the component no environment (wasmtime run --env would)")
    target = c.purl("/hello")
    urllib.request.urlopen(c.purl("/proxy-log"), timeout=10).read()
    for env, proxied in (({"http_proxy": c.purl("")}, True), ({"HTTPS_PROXY": c.purl("")}, False),
                         ({"ALL_PROXY": c.purl("")}, True),
                         ({"http_proxy": c.purl(""), "NO_PROXY": "localhost,127.0.0.1"}, False)):
        rc, out, err = c.run(["-sS", target], env=env)
        check(rc == 0 and out == b"hello\n", f"{env}: exit {rc}, {out!r}, {err!r}")
        log = urllib.request.urlopen(c.purl("/proxy-log"), timeout=10).read().decode().splitlines()
        check(log == ([f"GET {target} auth=-"] if proxied else []), f"{env}: proxy log {log!r}")
    rc, out, err = c.run(["-sS", "--noproxy", "*", target], env={"http_proxy": c.purl("")})
    log = urllib.request.urlopen(c.purl("/proxy-log"), timeout=10).read().decode().splitlines()
    check(rc == 0 and log == [], f"--noproxy: exit {rc}, log {log!r}")


@test
def proxy_x_https_connect(c):
    d, ports = tls_setup(c)
    try:
        url = f"https://localhost:{ports['ecdsa-gcm']}/small.txt"
        c.as_curl(["-sS", "-x", c.purl(""), "--cacert", "ca.pem", url], cwd=d, code=0)
        urllib.request.urlopen(c.purl("/proxy-log"), timeout=10).read()
        out, _ = c.expect_ok(["-sS", "-i", "-x", c.purl(""), "--cacert", "ca.pem", url], cwd=d)
        check(out.startswith(b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK\r\n"), f"-i: {out[:120]!r}")
        check(out.endswith(b"\r\n\r\nhello from nginx\n"), f"-i: {out[-60:]!r}")
        log = urllib.request.urlopen(c.purl("/proxy-log"), timeout=10).read().decode().splitlines()
        check(log == [f"CONNECT localhost:{ports['ecdsa-gcm']} auth=-"], f"proxy log {log!r}")
        # TLS is end to end: the proxy cannot vouch for the certificate.
        c.as_curl(["-sS", "-x", c.purl(""), url], cwd=d, code=60)
        c.as_curl(["-sS", "-x", c.purl(""), "--cacert", "ca.pem", "-o", "big.bin",
                   f"https://localhost:{ports['rsa-chacha']}/big.bin"], cwd=d, code=0, files=["big.bin"])
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def compressed(c):
    with TempDir() as d:
        for path in c.rows(["/gzip", "/deflate", "/deflate-raw", "/gzip?chunked=1"]):
            c.as_curl(["-sS", "--compressed", "-w", "%{size_download}", c.purl(path)], cwd=d, code=0)
            c.as_curl(["-sS", c.purl(path)], cwd=d, code=0)
        c.as_curl(["-sS", "-i", "--compressed", "-o", "o.txt", c.purl("/gzip")], cwd=d, code=0, files=["o.txt"])
        rc, out, err = c.run(["-sS", "-v", "--compressed", "-o", "o.txt", c.purl("/gzip")], cwd=d)
        check(rc == 0 and "> Accept-Encoding: deflate, gzip\r\n" in err, f"-v: {err[:400]!r}")


def heads(err):
    return [l for l in err.splitlines() if l.startswith("> ") or l.startswith("< ")]


@test
def verbose_v(c):
    for args in (["-A", "t", c.purl("/hello")], ["-A", "t", "-L", c.purl("/redirect/2")],
                 ["-A", "t", "-d", "x=1", c.purl("/echo")]):
        rc, _, err = c.run(["-s", "-v"] + args)
        crc, _, cerr = c.curl(["-s", "-v"] + args)
        check(rc == 0 and crc == 0, f"{args}: exit {rc} / curl {crc}")
        # curl puts Content-Length before Content-Type; the HTTP client after
        ours, theirs = heads(err), heads(cerr)
        if "-d" in args:
            ours, theirs = sorted(ours), sorted(theirs)
        check(ours == theirs, f"{args}: -v heads\n{ours}\ncurl\n{theirs}")
        check("\n* " in "\n" + err, f"{args}: no '* ' line: {err[:300]!r}")


@test
def include_every_hop(c):
    with TempDir() as d:
        c.as_curl(["-s", "-i", "-L", c.purl("/redirect/2")], cwd=d, code=0)
        c.as_curl(["-s", "-I", "-L", c.purl("/redirect/2")], cwd=d, code=0)
        c.as_curl(["-s", "-i", "-f", c.purl("/status/404")], cwd=d, code=22)
        c.as_curl(["-s", "-D", "-", "-o", "o.txt", c.purl("/hello")], cwd=d, code=0, files=["o.txt"])
        c.as_curl(["-s", "-L", "-D", "h.txt", c.purl("/redirect/1")], cwd=d, code=0, files=["h.txt"])
        c.as_curl(["-s", "--fail-with-body", c.purl("/status/500")], cwd=d, code=22)


@test
def progress_meter(c):
    with TempDir() as d:
        rc, _, err = c.run(["-o", "o.bin", c.purl("/bytes/300000")], cwd=d)
        crc, _, cerr = c.curl(["-o", "o.bin", c.purl("/bytes/300000")], cwd=d)
        check(rc == 0 and crc == 0, f"exit {rc}, curl {crc}")
        check(err.startswith(METER_HEAD) and cerr.startswith(METER_HEAD), f"meter head: {err[:200]!r}")
        last = err.split("\r")[-1]
        check(last.startswith("100  292k  100  292k    0     0 ") and last.endswith("\n"), f"last line {last!r}")
        for flags in (["-s"], ["--no-progress-meter"]):
            rc, _, err = c.run(flags + ["-o", "o.bin", c.purl("/bytes/300000")], cwd=d)
            check(rc == 0 and err == "", f"{flags}: stderr {err!r}")
        rc, _, err = c.run(["-#", "-o", "o.bin", c.purl("/bytes/300000")], cwd=d)
        check(rc == 0 and "100.0%" in err and "####" in err, f"-#: {err[-120:]!r}")
        # The body on a pipe: the meter too (curl's rule), unless stdout
        # reads as a terminal, which jco's always does.
        rc, out, err = c.run([c.purl("/hello")])
        check(rc == 0 and out == b"hello\n", f"exit {rc}, stdout {out!r}")
        if c.host == "jco":
            check(err == "", f"jco: a meter although stdout is a 'terminal': {err!r}")
        else:
            check(err.startswith(METER_HEAD), f"no meter with the body on a pipe: {err!r}")
        # stderr on a terminal: the same meter
        rc, out, err = c.run(["-o", "big.bin", c.url("/big.bin")], cwd=d, stderr_tty=True)
        check(rc == 0 and os.path.getsize(os.path.join(d, "big.bin")) == BIG_BYTES, f"exit {rc}: {err[-200:]!r}")
        check(METER_HEAD.replace("\n", "\r\n") in err and "\r100 20.0M  100 20.0M" in err, f"tty: {err[-200:]!r}")


@test
def paths_and_network_under_wasi(c):
    """In a component, a path outside the --dir directory and a missing
    --net fail with a message that names the cause and the flag."""
    if c.host == "native":
        raise Skipped("about the component's sandbox")
    hint = "run with tools/wasio-run --dir DIR"
    with TempDir() as d:
        with open(os.path.join(d, "ca.pem"), "w") as f:
            f.write("x\n")
        absolute = os.path.join(d, "ca.pem")
        c.expect_code(["-o", "/tmp/wasio-fetch-abs.txt", c.purl("/hello")], 23, cwd=d, words=hint)
        c.expect_code(["--cacert", absolute, "https://localhost:1/"], 77, cwd=d, words=hint)
        c.expect_code(["-d", "@" + absolute, c.purl("/echo")], 26, cwd=d, words=hint)
        c.expect_code(["-T", absolute, c.purl("/echo")], 26, cwd=d, words=hint)
        rc, _, err = c.run(["-o", "rel.txt", c.purl("/hello")])  # no --dir at all
        check(rc == 23 and hint in err, f"no --dir: exit {rc}: {err!r}")
        if c.host == "wasmtime":  # jco's host always grants the network
            rc, _, err = c.run(["-sS", c.purl("/hello")], net=False)
            check(rc == 7 and "network access denied by the host: run with tools/wasio-run --net" in err,
                  f"no --net: exit {rc}: {err!r}")
            rc, _, err = c.run(["-sS", f"http://localhost:{c.peer}/hello"], net=False)
            check(rc == 6 and "tools/wasio-run --net" in err, f"no --net, a name: exit {rc}: {err!r}")



@test
def http_build_no_sockets(c):
    """The wasi:http build fetches through the host with no socket
    permission: -v says so, a 20 MiB body arrives whole (by hash), redirects
    are followed by wasio-fetch, a PUT body reaches nginx."""
    if c.host != "wasmtime":
        raise Skipped("runs in the wasmtime pass (starts wasio-run --http itself)")
    check(WASI_HTTP_IMPORT in wit_of(HTTP_WASM), f"{HTTP_WASM} does not import wasi:http/outgoing-handler")
    want = urllib.request.urlopen(c.url("/big.bin.sha256"), timeout=10).read().decode().strip()
    with TempDir() as d:
        rc, out, err = run_http(["-v", "-s", c.url("/small.txt")], d)
        check(rc == 0 and out == b"hello from nginx\n", f"exit {rc}, stdout {out!r}: {err.strip()[:300]}")
        check(TRANSPORT_HOST in err and "auto: this is the wasi:http build" in err, f"-v: {err!r}")
        check("> GET /small.txt HTTP/1.1" in err and "< HTTP/1.1 200 OK" in err, f"-v heads: {err!r}")
        rc, out, err = run_http(["-s", "-o", "big.bin", c.url("/big.bin")], d)
        check(rc == 0, f"big.bin: exit {rc}: {err.strip()[:300]}")
        check(sha256_file(os.path.join(d, "big.bin")) == want, "big.bin: sha256 differs")
        rc, out, err = run_http(["-s", "-L", c.url("/redirect/301")], d)
        check(rc == 0 and out == b"hello from nginx\n", f"-L: exit {rc}, stdout {out!r}")
        rc, out, err = run_http(["-s", "-L", "-d", "x=1", c.url("/redirect-echo/307")], d)
        check(rc == 0 and out == b"POST\n", f"307 keeps POST: exit {rc}, stdout {out!r}")
        data = "through the host " * 200
        rc, out, err = run_http(["-s", "-X", "PUT", "-d", data, c.url("/upload/http-build.txt")], d)
        check(rc == 0, f"PUT: exit {rc}: {err.strip()[:300]}")
        out, _ = c.expect_ok([c.url("/upload/http-build.txt")])
        check(out == data.encode(), f"read back {len(out)} bytes, want {len(data)}")


@test
def http_build_exit_codes_as_socket_build(c):
    """The same failure, the same curl exit code on both transports."""
    if c.host != "wasmtime":
        raise Skipped("runs in the wasmtime pass (starts wasio-run --http itself)")
    cases = [
        (["http://127.0.0.1:1/"], 7),
        (["-m", "1", c.url("/silent", c.stall)], 28),
        (["--connect-timeout", "1", "-m", "3", c.url("/silent", c.stall)], 28),
        ([c.url("/truncated", c.stall)], 18),
        (["-f", c.url("/no/such")], 22),
        (["-L", c.url("/redirect/loop")], 47),
        (["-L", "--max-redirs", "2", c.url("/redirect/loop")], 47),
        (["ftp://127.0.0.1/"], 1),
        (["http://127.0.0.1:99999/"], 3),
    ]
    with TempDir() as d:
        for args, code in cases:
            rc, _, err = run_http(["-sS"] + args, d)
            check(rc == code and f"wasio-fetch: ({code}) " in err, f"{args} over host: exit {rc}, want {code}: {err!r}")
            rc, _, err = c.run(["-sS"] + args, cwd=d)
            check(rc == code, f"{args} over sockets: exit {rc}, want {code}: {err!r}")


@test
def http_build_transport_choice(c):
    """--transport: sockets in the wasi:http build with no socket permission
    is refused by the host (7, and the hint); host takes none of the
    options that need sockets (2); auto picks sockets for them and -v says
    why; the socket build has no host transport (4)."""
    if c.host != "wasmtime":
        raise Skipped("runs in the wasmtime pass (starts wasio-run --http itself)")
    with TempDir() as d:
        rc, _, err = run_http(["-v", "--transport", "sockets", c.url("/small.txt")], d)
        check(rc == 7 and TRANSPORT_SOCKETS in err and "network access denied by the host" in err,
              f"sockets without permission: exit {rc}: {err[-400:]!r}")
        for extra in (["--cacert", "ca.pem"], ["-k"], ["--tls-backend", "guest"], ["-H", "Host: other"],
                      ["-x", c.purl("")]):
            rc, _, err = run_http(["--transport", "host"] + extra + [c.url("/small.txt")], d)
            check(rc == 2 and "wasio-fetch: (2) --transport host cannot take" in err, f"{extra}: exit {rc}: {err!r}")
        rc, _, err = run_http(["-v", "-x", c.purl(""), c.url("/small.txt")], d)
        check(rc == 7 and TRANSPORT_SOCKETS in err and "auto: -x" in err, f"auto with -x: exit {rc}: {err[-400:]!r}")
        rc, _, err = run_http(["-H", "Connection: close", c.url("/small.txt")], d)
        check(rc == 2 and "the host reserves" in err, f"-H Connection over host: exit {rc}: {err!r}")
        rc, _, err = run_http(["--transport", "bogus", c.url("/small.txt")], d)
        check(rc == 2 and "bad --transport" in err, f"bad value: exit {rc}: {err!r}")
    c.expect_code(["--transport", "host", c.url("/small.txt")], 4, words="this build has no wasi:http")
    out, err = c.expect_ok(["-v", "-s", c.url("/small.txt")])
    check(TRANSPORT_SOCKETS in err and "auto: this build has no wasi:http" in err, f"-v: {err!r}")


@test
def http_build_https_is_the_hosts_tls(c):
    """https:// over the host's wasi:http: the host's TLS and trust. wasmtime
    trusts only its built-in roots and reports the helper's private CA as a
    TLS protocol error (35); jco's Node names the certificate problem (60)
    and trusts the CA once Node is told (NODE_EXTRA_CA_CERTS): the host
    decides, and the hint says how to take the guest's TLS instead."""
    if c.host != "wasmtime":
        raise Skipped("runs in the wasmtime pass (starts wasio-run --http itself)")
    d, ports = tls_setup(c)
    try:
        url = f"https://localhost:{ports['ecdsa-gcm']}/small.txt"
        hint = "for a private CA use --transport sockets --cacert FILE"
        rc, out, err = run_http(["-o", "out.txt", url], d)
        check(rc == 35 and "wasio-fetch: (35) " in err and hint in err, f"wasmtime: exit {rc}: {err!r}")
        check(not os.path.exists(os.path.join(d, "out.txt")), "-o FILE created by a failed transfer")
        rc, out, err = run_http([url], d, host="jco")
        check(rc == 60 and "certificate chain does not lead to a trusted root" in err and hint in err,
              f"jco: exit {rc}: {err!r}")
        rc, out, err = run_http(["-v", url], d, host="jco", env={"NODE_EXTRA_CA_CERTS": os.path.join(d, "ca.pem")})
        check(rc == 0 and out == b"hello from nginx\n" and TRANSPORT_HOST in err,
              f"jco trusting the CA: exit {rc}, stdout {out!r}: {err[-300:]!r}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(pydriver.main(make_ctx=Ctx))
