"""tests/pydriver.py: the Python side of tests/harness.h and tests/testlib.h,
one module for the Python test drivers (tests/apps/*.py, tests/tools/*.py)
and the helper servers (tests/helpers/*.py).

For drivers, the harness protocol of tests/harness.h:

    NAME.py --host HOST --list        the test names, one per line
    NAME.py --host HOST [k=v...] [TEST...]   runs them (all by default)

main() runs either the test_NAME(host) functions of a module, or the tests
registered with @test, each called with a context (make_ctx(host, params),
closed at the end). A test fails by raising Failure (check() does) and
skips by raising Skipped; it prints "PASS name (ms)", "FAIL name: why" or
"SKIP name: why", and the program exits 1 if any failed. tests/run.py runs
such drivers like the C programs.

For both, programs to start: command() builds the command line of a tool
for a host (native, or a component through tools/wasio-run), and Process
starts a long-running one (a server) in a session of its own, waits for the
line it prints when ready (a port, "listening on ...") and stops it with
everything it started (wasio-run moves its host into a group of its own).

For helper servers: loopback_sockets() binds 127.0.0.1:P and [::1]:P,
serve_connections() is the accept loop with a thread per connection that
ends after --lifetime seconds (or --idle without activity: touch()), and
Pki makes a private CA with the openssl CLI.
"""
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The build the tests run: build/, or the one WASIO_BUILD names.
BUILD = os.environ.get("WASIO_BUILD") or os.path.join(ROOT, "build")
RUNNER = os.path.join(ROOT, "tools", "wasio-run")
WASIO_TOOLS = os.environ.get("WASIO_TOOLS", os.path.join(os.path.expanduser("~"), ".cache", "wasio"))
WASM_TOOLS = os.path.join(WASIO_TOOLS, "bin", "wasm-tools")
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"

# jco transpiles a component before it starts: seconds.
START_TIMEOUT_S = 30
# How long a stopped program may take to go after SIGTERM before SIGKILL.
STOP_TIMEOUT_S = 10


# ---- the harness protocol ----------------------------------------------------------

class Failure(Exception):
    pass


Failed = Failure  # the name some drivers use


class Skipped(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Failure(why)


TESTS = []


def test(fn):
    """Registers fn(ctx) as a test, in file order."""
    TESTS.append(fn)
    return fn


def parse_args(argv):
    """(host, params, names, listing) from the protocol's arguments."""
    host, params, names, listing = "native", {}, [], False
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
    return host, params, names, listing


def main(namespace=None, make_ctx=None, argv=None):
    """Runs the tests: with `namespace` (a module's globals()), its
    test_NAME(host) functions in name order; without, those registered with
    @test, each called with make_ctx(host, params) (whose close(), if it has
    one, runs at the end)."""
    host, params, names, listing = parse_args(sys.argv[1:] if argv is None else argv)
    if namespace is not None:
        tests = [(name[5:], (lambda fn: lambda: fn(host))(fn))
                 for name, fn in sorted(namespace.items()) if name.startswith("test_") and callable(fn)]
    else:
        tests = [(fn.__name__, fn) for fn in TESTS]
    if listing:
        print("\n".join(n for n, _ in tests))
        return 0
    known = {n for n, _ in tests}
    for n in names:
        if n not in known:
            print(f"FAIL {n}: no such test", flush=True)
            return 1
    ctx = make_ctx(host, params) if namespace is None and make_ctx is not None else None
    failed = 0
    try:
        for name, fn in tests:
            if names and name not in names:
                continue
            t0 = time.time()
            try:
                fn() if namespace is not None else fn(ctx)
                print(f"PASS {name} ({(time.time() - t0) * 1000:.1f} ms)", flush=True)
            except Skipped as e:
                print(f"SKIP {name}: {e}", flush=True)
            except Failure as e:
                failed += 1
                print(f"FAIL {name}: {e}", flush=True)
            except Exception as e:  # a crash of the driver fails the test
                failed += 1
                print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
    finally:
        if ctx is not None and hasattr(ctx, "close"):
            ctx.close()
    return 1 if failed else 0


# ---- programs to run ------------------------------------------------------------------

def command(host, native, wasm, args=(), net=False, dirs=(), timeout=None, runner=()):
    """The command line of a tool on `host`: the native program, or the
    component through tools/wasio-run (--timeout, --net, a --dir per
    directory, then `runner`'s own options)."""
    if host == "native":
        return [native, *args]
    cmd = [RUNNER, "--host", host]
    if timeout is not None:
        cmd += ["--timeout", str(timeout)]
    if net:
        cmd.append("--net")
    for d in dirs:
        cmd += ["--dir", d]
    return cmd + list(runner) + [wasm, *args]


def free_port():
    """A loopback TCP port that nothing listens on now (for a server that
    must be told its port, or for a connection that must be refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def proc_parents():
    """{pid: parent pid} of every process."""
    parent = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return parent


class Process:
    """A long-running program (a server) in a session of its own.

    Waits up to `timeout` s for its first stdout line that matches `ready`
    (a regex; by default a port number alone), then keeps the match in
    self.match (self.port: its first group, or the number, as an int).
    Raises Failure with what it printed if that line never comes. stderr is
    kept apart (read at stop()) unless merge_stderr. first_line: only the
    first line may be the ready line (the helper protocol: the port first).
    nofile: a descriptor
    limit (soft and hard, so that a host that raises its soft limit, as
    node does, cannot escape it)."""

    def __init__(self, cmd, ready=r"(\d+)$", timeout=START_TIMEOUT_S, merge_stderr=False, nofile=None,
                 cwd=None, env=None, what=None, first_line=False):
        self.what = what or os.path.basename(cmd[0])

        def limit():
            import resource
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                                     start_new_session=True, preexec_fn=limit if nofile else None, cwd=cwd, env=env)
        self.pid = self.proc.pid
        self.match = None
        self.port = None
        self.lines = []  # what it printed before the ready line
        deadline = time.time() + timeout
        pattern = re.compile(ready)
        buf = b""
        while time.time() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                b = os.read(self.proc.stdout.fileno(), 1)  # a byte at a time: the rest stays in the pipe
                if not b:
                    break
                buf += b
                if b != b"\n":
                    continue
                line = buf.decode(errors="replace").strip()
                buf = b""
                m = pattern.match(line)
                if m:
                    self.match = m
                    g = m.group(1) if m.groups() else m.group(0)
                    self.port = int(g) if g.isdigit() else None
                    return
                self.lines.append(line)
                if first_line:  # it must be the very first line
                    break
            elif self.proc.poll() is not None:
                break
        said = self.lines + ([buf.decode(errors="replace")] if buf else [])
        err = self.stop()
        raise Failure(f"{self.what} did not start (printed {said[-5:]!r}); stderr: {err[-500:]!r}")

    def session_pids(self):
        """Every process of its session (wasio-run's `timeout` moves itself
        and the host into a process group of its own, so killing the group
        we started is not enough)."""
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[3]) == self.pid:  # the session id
                    pids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
        return pids

    def tree_pids(self):
        """It and its descendants (wasio-run starts its host in a session of
        its own)."""
        parent = proc_parents()
        found = {self.pid}
        grew = True
        while grew:
            grew = False
            for pid, pp in parent.items():
                if pp in found and pid not in found:
                    found.add(pid)
                    grew = True
        return [p for p in found if p in parent]

    def signal_all(self, sig):
        for pid in set(self.session_pids()) | set(self.tree_pids()):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def running(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM to everything it started, SIGKILL after STOP_TIMEOUT_S;
        returns what it wrote to stderr (all of its output with
        merge_stderr)."""
        self.signal_all(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.signal_all(signal.SIGKILL)
            self.proc.wait()
        # wasio-run exits once its host has ended; what is left of the
        # session is its timer that would kill a host ignoring the signal.
        self.signal_all(signal.SIGKILL)
        deadline = time.time() + 5
        while self.session_pids() and time.time() < deadline:
            time.sleep(0.05)
        out = b""
        pipe = self.proc.stdout if self.proc.stderr is None else self.proc.stderr
        while True:  # without blocking on a leftover writer
            r, _, _ = select.select([pipe], [], [], 0.5)
            if not r:
                break
            chunk = os.read(pipe.fileno(), 65536)
            if not chunk:
                break
            out += chunk
        return out.decode(errors="replace")


# ---- helper servers ---------------------------------------------------------------------

def loopback_sockets(kind=socket.SOCK_STREAM, name="helper", ipv6=True, reuse=False):
    """Sockets bound to 127.0.0.1:P and, when this machine has ::1 (and
    ipv6), [::1]:P, the same P; returns (P, [sockets])."""
    for _ in range(50):
        v4 = socket.socket(socket.AF_INET, kind)
        if reuse:
            v4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        v4.bind(("127.0.0.1", 0))
        port = v4.getsockname()[1]
        if not ipv6:
            return port, [v4]
        v6 = None
        try:
            v6 = socket.socket(socket.AF_INET6, kind)
            if reuse:
                v6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            v6.bind(("::1", port))
            return port, [v4, v6]
        except OSError as e:
            if v6 is not None:
                v6.close()
            if e.errno == getattr(socket, "EADDRNOTAVAIL", 99) or not socket.has_ipv6:
                return port, [v4]  # no IPv6 loopback on this machine
            v4.close()  # the port is taken on ::1: try another
    raise SystemExit(f"{name}: no port free on both 127.0.0.1 and ::1")


_last_activity = time.time()


def touch():
    """Something happened: --idle counts from now."""
    global _last_activity
    _last_activity = time.time()


def serve_connections(socks, handle, lifetime, idle=None, backlog=128, before_accept=None):
    """Listens on `socks` (loopback_sockets), prints the port on the first
    stdout line (the helper protocol of tests/run.py), runs before_accept()
    once, then handle(conn) on a thread per connection, until `lifetime`
    seconds have passed, or `idle` seconds without an accept or a touch()."""
    port = socks[0].getsockname()[1]
    stop = threading.Event()

    def accept_loop(s):
        s.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = s.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(None)
            touch()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    for s in socks:
        s.listen(backlog)
    print(port, flush=True)
    if before_accept is not None:
        before_accept()
    touch()
    for s in socks:
        threading.Thread(target=accept_loop, args=(s,), daemon=True).start()
    start = time.time()
    try:
        while time.time() - start < lifetime and (idle is None or time.time() - _last_activity < idle):
            time.sleep(0.2)
    finally:
        stop.set()
    return 0


def openssl(*args, cwd):
    """Runs the openssl CLI in cwd; a failure raises SystemExit with its
    output (a helper cannot go on without its PKI)."""
    p = subprocess.run([OPENSSL, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if p.returncode != 0:
        raise SystemExit(f"openssl {' '.join(args)} failed:\n{p.stdout.decode(errors='replace')[-2000:]}")


CA_EXT = "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n"


def leaf_ext(sans, key_usage="digitalSignature, keyEncipherment"):
    """The extensions of a TLS server certificate for `sans`
    ("DNS:wasio.test, IP:127.0.0.1")."""
    return ("basicConstraints = critical, CA:FALSE\n"
            f"keyUsage = critical, {key_usage}\n"
            "extendedKeyUsage = serverAuth\n"
            f"subjectAltName = {sans}\n")


class Pki:
    """A private PKI in directory d (made here), built with the openssl CLI:
    NAME.key (PKCS#8 PEM) and NAME.pem for each certificate. Certificates
    are issued with `openssl ca`, so their dates can be set (an expired or
    a not yet valid one)."""

    def __init__(self, d):
        self.d = d
        os.makedirs(os.path.join(d, "newcerts"))
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(d, "ca.cnf"), "w") as f:
            f.write(f"""[ ca ]
default_ca = ca_default
[ ca_default ]
database = {d}/index.txt
new_certs_dir = {d}/newcerts
serial = {d}/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
""")

    def path(self, name):
        return os.path.join(self.d, name)

    def key(self, name, kind="ec"):
        """kind: "ec" (P-256), "rsa" (2048 bits) or "rsa1024" (too weak: for
        the tests that it is refused)."""
        if kind == "ec":
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", f"{name}.key",
                    cwd=self.d)
        else:
            bits = "1024" if kind == "rsa1024" else "2048"
            openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}", "-out", f"{name}.key",
                    cwd=self.d)

    def self_signed(self, name, cn, ext=CA_EXT, kind="ec", days=3650):
        """A self-signed certificate: a root CA by default."""
        self.key(name, kind)
        addext = []
        for line in ext.strip().splitlines():
            addext += ["-addext", line.replace(" = ", "=", 1)]
        openssl("req", "-new", "-x509", "-key", f"{name}.key", "-out", f"{name}.pem", "-days", str(days),
                "-subj", f"/CN={cn}", *addext, cwd=self.d)

    def issue(self, name, issuer, ext, kind="ec", cn="wasio.test", start=None, end=None, days=30, md="sha256"):
        """A certificate signed by `issuer` with the extensions `ext` (lines
        of "name = value"), valid `days` from now or from start to end
        (openssl's YYYYMMDDHHMMSSZ)."""
        self.key(name, kind)
        with open(self.path(f"{name}.ext"), "w") as f:
            f.write(f"[ ext ]\n{ext}")
        openssl("req", "-new", "-key", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=self.d)
        dates = ["-startdate", start, "-enddate", end] if start else ["-days", str(days)]
        openssl("ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", f"{issuer}.pem", "-keyfile", f"{issuer}.key",
                "-in", f"{name}.csr", "-out", f"{name}.pem", "-extfile", f"{name}.ext", "-extensions", "ext",
                "-md", md, *dates, cwd=self.d)
