#!/usr/bin/env python3
"""tests/run.py: runs every wasio test and ends with "N passed, N failed".

What runs:
  * build/native/tests/unit: native unit tests (posix backend, ASan+UBSan),
    every tests/unit/SUBJECT.c in one program, reported as unit.TEST@native;
    among them the allocation-failure tests (tests/unit/alloc_fail.c);
  * each tests/wasi/NAME.c: raw WASI bindings without libwasio (do the hosts
    grant what wasio stands on?), components only, on wasmtime and jco;
  * each tests/component/NAME.c, built twice by the Makefile:
      - natively (build/native/tests/NAME, ASan+UBSan), reported as NAME/native;
      - as a component (build/wasm32/tests/NAME.wasm), run by tools/wasio-run
        on wasmtime and on jco, reported as NAME.TEST@wasmtime and NAME.TEST@jco.
  * each component test that declares `wasio-test: hosttls` is also built
    with `wasio-cc --host-tls` (build/wasm32/tests-hosttls/NAME.wasm, it
    imports wasi:tls) and run on two more hosts, each telling the test what
    it trusts (docs/HOST_TLS.md):
      - NAME.TEST@wasmtime-tls: `wasmtime run -S tls` (rustls, only the
        webpki roots compiled into wasmtime), argument trust=webpki;
      - NAME.TEST@tlshost: tools/wasio-tls-host (the same wasmtime-wasi-tls
        host code with the OpenSSL provider), argument trust=private, and
        SSL_CERT_FILE = the root of the test's first helper, fetched with
        its `file root.pem` command (tests/helpers/tls_peer.py's protocol);
    plus two counted checks of the builds' imports (wasm-tools component
    wit): NAME.imports@wasm32 (the default component imports no wasi:tls)
    and NAME.imports@wasm32-hosttls (the --host-tls one imports
    wasi:tls/types). The same on WASI 0.3 (wasio-cc --p3 --host-tls,
    build/wasm32/tests-p3-hosttls, wasi:tls@0.3.0-draft): the hosts
    wasmtime-p3-tls (trust=webpki) and tlshost-p3 (trust=private; the same
    tools/wasio-tls-host, which runs 0.3 commands too).
  * each component test that declares `wasio-test: wasihttp` is also built
    with `wasio-cc --http` (build/wasm32/tests-http/NAME.wasm: libwasio-http.a,
    it imports wasi:http and its HTTP client's AUTO transport is the host's
    outgoing-handler) and run on two more hosts:
      - NAME.TEST@wasmtime-http: `wasmtime run -S http` and no socket
        permission at all (no --net, whatever the program declares),
        argument sockets=denied: the program can prove it opens none;
      - NAME.TEST@jco-http: `jco run` (preview2-shim's wasi:http over
        Node's http module), argument sockets=granted (jco grants sockets to
        every component: it has no sandbox flag);
      - their 0.3 builds (wasio-cc --p3 --http, build/wasm32/tests-p3-http):
        NAME.TEST@wasmtime-p3-http, as wasmtime-http, and
        NAME.TEST@jco-p3-http (jco-p3 with preview3-shim's wasi:http),
        arguments sockets=granted jco=p3;
    plus a counted check of the builds' imports: NAME.imports@wasm32-http
    (the --http build imports wasi:http/outgoing-handler, the default one
    does not).
  * each tests/component/NAME.c is also built with `wasio-cc --p3`
    (build/wasm32/tests-p3/NAME.wasm: the wasip3 backend, WASI 0.3) and
    run on the hosts wasmtime-p3 (`wasmtime run`, the same flags as
    wasmtime) and jco-p3 (jco's p3 output on Node 24 with JSPI:
    tools/jco/run-p3.mjs), with the same expectations as on wasmtime and
    jco (their skips, if any); programs that link the wasip2 libc's sockets into the loop
    (a `wasio-test: cc` line, libcurl's) have no p3 build and print why;
  * each tests/tools/NAME.py: a check of the build and of the tools in
    tools/ (every Makefile rule waits for tools/setup.sh; wasio-run's
    timeouts and signals), a Python driver like those of tests/apps. It runs
    on the hosts its `wasio-test: hosts` line names (default native only,
    e.g. a build check); hosts left out are not reported;
  * each tests/apps/NAME.py: a Python driver that tests a tool of apps/ (its
    native build and its component) and speaks the same protocol as a test
    program: `NAME.py --host HOST --list`, `NAME.py --host HOST [k=v...]
    [TEST...]` (tests/pydriver.py); it declares helpers and hosts with the
    same comment lines. tests/helpers/NAME.py are the helper servers;
    tests/servers/NAME.c are C servers a driver runs (not test programs
    themselves: the Makefile builds each natively and as a wasi:http
    handler, and tests/apps/NAME.py drives it).

Naming (checked by tests/tools/naming.py):
  * tests/KIND/SUBJECT.EXT: KIND is unit, component, wasi, servers (C, .c),
    apps, tools or helpers (Python, .py); SUBJECT is lower_case_with_underscores
    and names what is tested or served (tests/unit/http_parse.c,
    tests/helpers/tls_peer.py), never "test" (the directory says it);
  * the driver of the tool apps/NAME is tests/apps/NAME.py with '-' as '_'
    (apps/wasio-fetch: tests/apps/wasio_fetch.py);
  * the shared code lives in tests/ itself: harness.[ch] (the registry, the
    asserts, the protocol below), testlib.[ch] (the C helpers every test
    program links: watchdog, WAIT_UNTIL, tconn_t, the helper command
    clients, the HTTP call recorder, the codec feeding helpers), pydriver.py
    (their Python side: the protocol for drivers, command lines and server
    processes, what helper servers share) and this file;
  * test names are lower_case_with_underscores and unique in their program
    (all of tests/unit/*.c is one program); a result is reported as
    PROGRAM.TEST@HOST.

A component test file declares what it needs in comment lines:
    // wasio-test: net                       grant network access (--net)
    // wasio-test: helper tests/helpers/X.py ARGS   start a helper first; its
    //     first stdout line is its port, passed to the test as port=N
    // wasio-test: timeout 60                seconds per program (default 60)
    // wasio-test: nofile 192                run the program (and its host:
    //     wasmtime, node) with at most this many open descriptors
    // wasio-test: hosttls                   also the --host-tls build, on
    //     wasmtime-tls and tlshost (above)
    // wasio-test: wasihttp                  also the --http build, on
    //     wasmtime-http and jco-http (above)
    // wasio-test: cc FLAGS                  build flags for the Makefile: the
    //     component gets them from tools/wasio-cc (--posix: the wasip2 libc's
    //     sockets; -lhiredis), the native build the matching libraries
    // wasio-test: resolver ARGS             the test resolver (below), with
    //     tests/helpers/dns_server.py ARGS
    // wasio-test: hosts native wasmtime     run only on these (default: all)
    //     (a host left out is reported as a skip, with the reason given
    //      in a "wasio-test: skip HOST REASON" line, which is required)

The test resolver: a program that declares `wasio-test: resolver` runs, on
every host, in a mount namespace of its own (unshare -m, which needs root
or CAP_SYS_ADMIN) whose /etc/resolv.conf names tests/helpers/dns_server.py,
started on a loopback address of its own (127.53.x.y, port 53). Every name
lookup of the program or of its host (wasmtime's, node's getaddrinfo) that
/etc/hosts does not answer then goes to that server, whose names the test
knows (fast.wasio.test, slow.wasio.test). The program gets resolver=ADDR;
where the namespace or the server cannot be had, it gets
no_resolver=REASON instead and skips the tests that need it, saying why.

Each test program prints PASS/FAIL/SKIP lines (tests/harness.h). A program
stops at its first failure; the driver then re-runs it for the tests after
the failed one, so every test gets a verdict. A program that dies without a
verdict for a test (crash, trap, timeout) fails that test with its output.

Usage: tests/run.py [-k PROG[.TEST]]... [--hosts native,wasmtime,jco,wasmtime-tls,tlshost,wasmtime-p3-tls,tlshost-p3,wasmtime-http,jco-http,wasmtime-p3-http,jco-p3-http,wasmtime-p3,jco-p3] [-v]
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import pydriver  # noqa: E402
from pydriver import BUILD, RUNNER, WASM_TOOLS  # noqa: E402
LSAN_SUPP = os.path.join(ROOT, "tests", "lsan.supp")  # see the file
HOSTS = ["native", "wasmtime", "jco"]
HOSTTLS_HOSTS = ["wasmtime-tls", "tlshost", "wasmtime-p3-tls", "tlshost-p3"]  # only for `wasio-test: hosttls` programs
HTTP_HOSTS = ["wasmtime-http", "jco-http", "wasmtime-p3-http", "jco-p3-http"]  # only for `wasio-test: wasihttp` programs
P3_HOSTS = ["wasmtime-p3", "jco-p3"]  # the p3 build of every tests/component program
P3_LIKE = {"wasmtime-p3": "wasmtime", "jco-p3": "jco"}  # the p2 host whose expectations each keeps
WASM_HOSTS = ["wasmtime", "jco"] + HOSTTLS_HOSTS + HTTP_HOSTS + P3_HOSTS
EXTRA_HOSTS = HOSTTLS_HOSTS + HTTP_HOSTS + P3_HOSTS
# Why a program has no p3 build (Makefile: P3_CTESTS).
P3_NO_WATCHERS = ("links the wasip2 libc's sockets into the loop (wasio/poll.h watchers), which a WASI 0.3 "
                  "waitable set cannot wait on (src/backend/wasip3/poll.c)")
WASI_TLS_IMPORT = "import wasi:tls/types@0.2.0-draft"
WASI_HTTP_IMPORT = "import wasi:http/outgoing-handler@"
WASI_HTTP_P3_IMPORT = "import wasi:http/client@0.3"
WASI_TLS_P3_IMPORT = "import wasi:tls/client@0.3.0-draft"
ROOT_FETCH_TIMEOUT = 150  # tls_peer.py makes its PKI after printing its port (up to 120 s)
PEM_MAX = 65536
DEFAULT_TIMEOUT = 60
HARNESS_EXIT_SKIP = 77  # tests/harness.h
HELPER_START_TIMEOUT = 10

LINE = re.compile(r"^(PASS|FAIL|SKIP) ([^\s:]+)(.*)$")  # "FAIL name: why": the colon is not the name


class Results:
    def __init__(self, verbose):
        self.passed = self.failed = self.skipped = 0
        self.verbose = verbose
        self.failures = []

    def record(self, verdict, name, detail):
        if verdict == "PASS":
            self.passed += 1
            if self.verbose:
                print(f"PASS {name}{detail}")
        elif verdict == "SKIP":
            self.skipped += 1
            print(f"SKIP {name}{detail}")
        else:
            self.failed += 1
            self.failures.append(name)
            print(f"FAIL {name}{detail}")
        sys.stdout.flush()


def parse_spec(path):
    spec = {"net": False, "helpers": [], "resolver": None, "timeout": DEFAULT_TIMEOUT, "hosts": list(HOSTS), "skip": {},
            "hosttls": False, "wasihttp": False, "nofile": None, "hosts_given": False}
    with open(path) as f:
        for line in f:
            m = re.search(r"wasio-test:\s*(\S+)\s*(.*)$", line)
            if not m:
                continue
            key, rest = m.group(1), m.group(2).strip().rstrip("*/").strip()
            if key == "net":
                spec["net"] = True
            elif key == "hosttls":
                spec["hosttls"] = True
            elif key == "wasihttp":
                spec["wasihttp"] = True
            elif key == "cc":
                spec["cc"] = rest  # read by the Makefile (ctest_cc)
            elif key == "helper":
                spec["helpers"].append(shlex.split(rest))
            elif key == "resolver":
                spec["resolver"] = shlex.split(rest)
            elif key == "timeout":
                spec["timeout"] = int(rest)
            elif key == "nofile":
                spec["nofile"] = int(rest)
            elif key == "hosts":
                spec["hosts"] = rest.split()
                spec["hosts_given"] = True
            elif key == "skip":
                host, _, reason = rest.partition(" ")
                spec["skip"][host] = reason
            else:
                raise SystemExit(f"{path}: unknown wasio-test key '{key}'")
    for h in HOSTS:
        if "/tests/tools/" in path:
            break  # tools checks run where they say; the rest is not theirs
        if h not in spec["hosts"] and h not in spec["skip"]:
            raise SystemExit(f"{path}: host {h} left out without a 'wasio-test: skip {h} REASON' line")
    return spec


class Helper:
    """A helper server process; its first stdout line is its port (started
    and stopped, with everything it starts, by tests/pydriver.py's Process)."""

    def __init__(self, argv):
        cmd = argv
        if argv[0].endswith(".py"):
            cmd = [sys.executable, os.path.join(ROOT, argv[0])] + argv[1:]
        elif not os.path.isabs(argv[0]):
            cmd = [os.path.join(ROOT, argv[0])] + argv[1:]
        try:
            self.proc = pydriver.Process(cmd, timeout=HELPER_START_TIMEOUT, first_line=True, what=" ".join(argv))
        except pydriver.Failure as e:
            raise RuntimeError(f"helper {' '.join(argv)}: {e}")
        self.port = self.proc.port

    def stop(self):
        self.proc.stop()


# The test resolver (the module's docstring): tests/helpers/dns_server.py on
# 127.53.x.y:53, named by the /etc/resolv.conf of the program's namespace.
RESOLVER_HELPER = "tests/helpers/dns_server.py"
RESOLV_CONF = "/etc/resolv.conf"
# One attempt, and a timeout beyond any delay a test asks for: glibc's
# default (5 s, then again) would turn a slow answer into two queries.
RESOLV_OPTIONS = "options timeout:30 attempts:1"
RESOLVER_TRIES = 3  # addresses tried (another run.py may hold one)
RESOLVER_PROBE_TIMEOUT = 20  # seconds the unshare check may take
NAMESPACE_SH = 'mount --bind "$0" ' + RESOLV_CONF + ' && exec "$@"'


class Resolver:
    """The test resolver of one run of a program: the server, its
    resolv.conf, and wrap(cmd), the command run in a mount namespace that
    sees that file as /etc/resolv.conf. If either cannot be had, addr is
    None, reason says why, and wrap(cmd) is cmd."""

    def __init__(self, args):
        import random
        import tempfile
        self.addr = self.reason = self.helper = self.conf = None
        for _ in range(RESOLVER_TRIES):
            addr = f"127.53.{random.randint(1, 254)}.{random.randint(1, 254)}"
            try:
                self.helper = Helper([RESOLVER_HELPER, "--addr", addr] + args)
                break
            except RuntimeError as e:
                self.reason = f"the test resolver did not start (it serves on port 53, which needs root): {e}"[:300]
        if self.helper is None:
            return
        # From here on a failure stops the helper and says why (the tests
        # then skip with the reason) rather than leaving it running.
        try:
            fd, self.conf = tempfile.mkstemp(prefix="wasio-resolv-", suffix=".conf")
            with os.fdopen(fd, "w") as f:
                f.write(f"nameserver {addr}\n{RESOLV_OPTIONS}\n")
            probe = subprocess.run(self._wrap(["true"]), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, errors="replace", timeout=RESOLVER_PROBE_TIMEOUT)
            if probe.returncode != 0:
                raise RuntimeError(f"unshare exited with {probe.returncode}: {probe.stdout.strip()}")
        except (Exception, subprocess.TimeoutExpired) as e:
            self.reason = f"no mount namespace for the test resolver (unshare -m): {e}"[:300]
            self.stop()
            return
        self.addr, self.reason = addr, None

    def _wrap(self, cmd):
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", NAMESPACE_SH, self.conf] + cmd

    def wrap(self, cmd):
        return self._wrap(cmd) if self.addr else cmd

    def param(self):
        return f"resolver={self.addr}" if self.addr else f"no_resolver={self.reason}"

    def stop(self):
        if self.helper is not None:
            self.helper.stop()
            self.helper = None
        if self.conf is not None:
            os.unlink(self.conf)
            self.conf = None


def fetch_root(port, path):
    """Writes the root CA of a tls_peer.py-protocol helper to `path`. The
    helper answers `file root.pem` once its PKI exists: no waiting here
    beyond the reply itself."""
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=ROOT_FETCH_TIMEOUT) as s:
        s.sendall(b"file root.pem\n")
        data = b""
        while len(data) <= PEM_MAX:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    if not (data.startswith(b"-----BEGIN CERTIFICATE-----") and data.endswith(b"\nEND\n")):
        raise RuntimeError(f"helper on port {port} gave no root certificate: {data[:200]!r}")
    with open(path, "wb") as f:
        f.write(data[:-len(b"END\n")])


def run_program(argv, timeout, env=None, nofile=None):
    """nofile: the descriptor limit (soft and hard) of the program and of
    the host it runs in (wasmtime, node), or None to inherit ours."""
    def limit():
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout + 10, errors="replace", env=env,
                           preexec_fn=limit if nofile else None)
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout or ""
        if isinstance(out, bytes):
            out = out.decode(errors="replace")
        return 124, out + f"\n(driver: killed after {timeout + 10}s)"


def command_for(host, name, spec, params):
    if spec["subdir"] in ("apps", "tools"):  # a Python driver (tests/apps/NAME.py, tests/tools/NAME.py)
        return [sys.executable, spec["script"], "--host", host] + params
    if host == "native":
        return [os.path.join(BUILD, "native", "tests", name)] + params
    if host in HTTP_HOSTS:
        # The --http build (--p3 --http for the -p3- hosts: wasi:http 0.3's
        # client.send); wasmtime grants wasi:http and no socket.
        sub = "tests-p3-http" if "-p3-" in host else "tests-http"
        wasm = os.path.join(BUILD, "wasm32", sub, name + ".wasm")
        if host in ("wasmtime-http", "wasmtime-p3-http"):
            cmd = [RUNNER, "--host", "wasmtime", "--http", "--timeout", str(spec["timeout"])]
            sockets = ["sockets=denied"]
        elif host == "jco-http":
            cmd = [RUNNER, "--host", "jco", "--http", "--timeout", str(spec["timeout"])]
            sockets = ["sockets=granted"]
        else:  # jco-p3-http: preview3-shim's wasi:http, always granted
            cmd = [RUNNER, "--host", "jco-p3", "--net", "--timeout", str(spec["timeout"])]
            sockets = ["sockets=granted", "jco=p3"]
        return cmd + [wasm] + (sockets + params if params else [])
    if host in P3_HOSTS:
        wasm = os.path.join(BUILD, "wasm32", "tests-p3", name + ".wasm")
        cmd = [RUNNER, "--host", P3_LIKE[host] if host == "wasmtime-p3" else host, "--timeout", str(spec["timeout"])]
        if spec["net"]:
            cmd.append("--net")
        return cmd + [wasm] + params
    if host in HOSTTLS_HOSTS:
        # The --host-tls build (--p3 --host-tls for the -p3 hosts:
        # wasi:tls@0.3.0-draft).
        sub = "tests-p3-hosttls" if host.endswith("-p3-tls") or host.endswith("-p3") else "tests-hosttls"
        wasm = os.path.join(BUILD, "wasm32", sub, name + ".wasm")
        if host in ("wasmtime-tls", "wasmtime-p3-tls"):
            cmd = [RUNNER, "--host", "wasmtime", "--tls", "--timeout", str(spec["timeout"])]
            trust = "trust=webpki"
        else:  # tlshost always grants network and wasi:tls
            cmd = [RUNNER, "--host", "tlshost", "--timeout", str(spec["timeout"])]
            trust = "trust=private"
        if spec["net"]:
            cmd.append("--net")
        # --list takes no parameters; a run gets the trust first.
        return cmd + [wasm] + ([trust] + params if params else [])
    wasm = os.path.join(BUILD, "wasm32", spec["subdir"], name + ".wasm")
    cmd = [RUNNER, "--host", host, "--timeout", str(spec["timeout"])]
    if spec["net"]:
        cmd.append("--net")
    return cmd + [wasm] + params


def check_build_imports(name, results, other, want_import, what, with_default=True):
    """The two builds of a program: only the `other` one (("wasm32-hosttls",
    "tests-hosttls") or ("wasm32-http", "tests-http")) has `want_import`
    (a line of wasm-tools component wit); the default one has no import
    of `what` ("wasi:tls", "wasi:http") at all."""
    builds = ((("wasm32", "tests", False),) if with_default else ()) + (other + (True,),)
    for build, subdir, want in builds:
        wasm = os.path.join(BUILD, "wasm32", subdir, name + ".wasm")
        p = subprocess.run([WASM_TOOLS, "component", "wit", wasm], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace")
        if p.returncode != 0:
            results.record("FAIL", f"{name}.imports@{build}", f": wasm-tools component wit {wasm}:\n{p.stdout[-1000:]}")
            continue
        if want and want_import in p.stdout:
            results.record("PASS", f"{name}.imports@{build}", f": {want_import}")
        elif not want and f"import {what}/" not in p.stdout:
            results.record("PASS", f"{name}.imports@{build}", f": no {what} import")
        else:
            results.record("FAIL", f"{name}.imports@{build}",
                           f": {wasm} {'lacks' if want else 'has'} a {what} import")


def check_imports(name, results):
    """The builds of a hosttls program: only the --host-tls ones import
    wasi:tls (types on 0.2, client on 0.3)."""
    check_build_imports(name, results, ("wasm32-hosttls", "tests-hosttls"), WASI_TLS_IMPORT, "wasi:tls")
    check_build_imports(name, results, ("wasm32-p3-hosttls", "tests-p3-hosttls"), WASI_TLS_P3_IMPORT, "wasi:tls",
                        with_default=False)


def check_http_imports(name, results):
    """The builds of a wasihttp program: only the --http ones import
    wasi:http's client (outgoing-handler on 0.2, client on 0.3)."""
    check_build_imports(name, results, ("wasm32-http", "tests-http"), WASI_HTTP_IMPORT, "wasi:http")
    check_build_imports(name, results, ("wasm32-p3-http", "tests-p3-http"), WASI_HTTP_P3_IMPORT, "wasi:http",
                        with_default=False)


def run_suite(prog, host, list_cmd, make_cmd, timeout, results, spec_helpers=(), trust_root=False,
              test_filter="", nofile=None, resolver=None):
    """Runs one test program (all its tests, or those whose name contains
    test_filter, or any of them if it is a list), re-running after failures.
    trust_root: the program's host trusts SSL_CERT_FILE, set to the first
    helper's root (fetched anew for every start of the helpers).
    resolver: the arguments of the test resolver, or None for none."""
    try:
        listed = subprocess.run(list_cmd + ["--list"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        results.record("FAIL", f"{prog}@{host}", ": --list timed out")
        return
    if listed.returncode != 0:
        results.record("FAIL", f"{prog}@{host}", ": could not list tests:\n" + listed.stdout[-2000:])
        return
    filters = test_filter if isinstance(test_filter, list) else [test_filter]
    names = [n for n in listed.stdout.split() if n and any(f in n for f in filters)]
    pending = list(names)
    while pending:
        helpers = []
        root = None
        rv = None
        try:
            params = []
            if resolver is not None:
                rv = Resolver(resolver)
                params.append(rv.param())
            for h in spec_helpers:
                hp = Helper(h)
                helpers.append(hp)
                if len(helpers) == 1:
                    params.append(f"port={hp.port}")
                else:
                    params.append(f"port{len(helpers)}={hp.port}")
            env = None
            if host == "native":
                env = dict(os.environ, LSAN_OPTIONS="suppressions=" + LSAN_SUPP + ":print_suppressions=0")
            if trust_root:
                if not helpers:
                    raise RuntimeError("trusting a helper's root needs a helper")
                import tempfile
                fd, root = tempfile.mkstemp(prefix="wasio-root-", suffix=".pem")
                os.close(fd)
                try:
                    fetch_root(helpers[0].port, root)
                except OSError as e:
                    raise RuntimeError(f"fetching the root from helper port {helpers[0].port}: {e}")
                env = dict(env or os.environ, SSL_CERT_FILE=root)
            cmd = make_cmd(params) + pending
            rc, out = run_program(rv.wrap(cmd) if rv else cmd, timeout, env, nofile)
        except RuntimeError as e:
            for n in pending:
                results.record("FAIL", f"{prog}.{n}@{host}", f": {e}")
            return
        finally:
            for hp in helpers:
                hp.stop()
            if rv is not None:
                rv.stop()
            if root is not None:
                os.unlink(root)
        seen = {}
        for line in out.splitlines():
            m = LINE.match(line)
            if m and m.group(2) in pending:
                seen[m.group(2)] = (m.group(1), m.group(3))
        recorded = 0
        last = None
        for n in list(pending):
            if n in seen:
                results.record(seen[n][0], f"{prog}.{n}@{host}", seen[n][1])
                pending.remove(n)
                recorded += 1
                last = seen[n][0]
            else:
                break
        # Every verdict given, the last not a FAIL (which stops a program with
        # a non-zero exit), yet a non-zero exit: the program failed after its
        # tests, e.g. LeakSanitizer's report at exit, or a crash in cleanup.
        # A SKIP ends a C program with HARNESS_EXIT_SKIP, 77 (components
        # pass their exit status on too: src/backend/wasip2/crt/start.c).
        if not pending and recorded and last != "FAIL" and rc != 0 and not (last == "SKIP" and rc == HARNESS_EXIT_SKIP):
            results.record("FAIL", f"{prog}@{host}", f": exit {rc} after its last verdict:\n{last_words(out)}")
            return
        if pending and rc == 0:
            for n in pending:
                results.record("FAIL", f"{prog}.{n}@{host}", ": program exited 0 without a verdict")
            return
        # A run that gave verdicts (a FAIL stops a C program) is re-run for
        # the rest; one that gave none died in pending[0].
        if pending and recorded == 0:
            # the program died during pending[0]: fail it, go on with the rest
            results.record("FAIL", f"{prog}.{pending[0]}@{host}", f": died (exit {rc}) without a verdict:\n{last_words(out)}")
            pending.pop(0)


def last_words(out, n=30):
    """The last n lines a program printed, indented. A host's Rust stack
    backtrace (wasmtime prints one after a trap when it captured one) is
    cut: its frames say nothing about the component, and they pushed the
    trap's own message ("Caused by: ... wasm trap: ...") out of view."""
    lines = out.splitlines()
    for i, l in enumerate(lines):
        if l.strip() == "Stack backtrace:":
            lines = lines[:i] + ["(the host's stack backtrace is left out)"]
            break
    return "\n".join("    " + l for l in lines[-n:])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", action="append", default=[],
                    help="run only programs whose name contains this; PROG.TEST: only the tests "
                         "whose name contains TEST in the programs whose name contains PROG; "
                         "given again, the programs any of them selects")
    ap.add_argument("--hosts", default=",".join(HOSTS + EXTRA_HOSTS))
    ap.add_argument("-v", action="store_true", help="print PASS lines too")
    args = ap.parse_args()
    hosts = args.hosts.split(",")
    for h in hosts:
        if h not in HOSTS + EXTRA_HOSTS:
            raise SystemExit(f"unknown host {h} (known: {', '.join(HOSTS + EXTRA_HOSTS)})")
    res = Results(args.v)
    t0 = time.time()
    filters = [k.partition(".")[::2] for k in args.k] or [("", "")]

    def selected(name, matches=lambda p, name: p in name):
        """The test filters of every -k that selects program `name` (a test
        runs if its name contains any of them), or None if none does."""
        tests = [t for p, t in filters if not p or matches(p, name)]
        return tests or None

    unit = os.path.join(BUILD, "native", "tests", "unit")
    unit_filter = selected("unit")
    if "native" in hosts and unit_filter is not None:
        run_suite("unit", "native", [unit], lambda p: [unit] + p, DEFAULT_TIMEOUT, res,
                  test_filter=unit_filter)

    programs = []
    for sub, built, ext in (("tools", "tools", ".py"), ("component", "tests", ".c"), ("wasi", "wasi-tests", ".c"),
                            ("apps", "apps", ".py")):
        d = os.path.join(ROOT, "tests", sub)
        if os.path.isdir(d):
            programs += [(os.path.join(d, fn), built) for fn in sorted(os.listdir(d)) if fn.endswith(ext)]
    for path, built in programs:
        name = os.path.splitext(os.path.basename(path))[0]
        test_filter = selected(name)
        if test_filter is None:
            continue
        spec = parse_spec(path)
        spec["subdir"] = built
        spec["script"] = path
        if built == "wasi-tests":  # raw WASI bindings: components only
            spec["hosts"] = [h for h in spec["hosts"] if h != "native"]
        if built == "tools" and not spec["hosts_given"]:  # a build check: once
            spec["hosts"] = ["native"]
        if spec["hosttls"]:
            if built != "tests":
                raise SystemExit(f"{path}: 'wasio-test: hosttls' is for tests/component programs")
            spec["hosts"] += HOSTTLS_HOSTS
            if any(h in WASM_HOSTS for h in hosts):
                check_imports(name, res)
        if spec["wasihttp"]:
            if built != "tests":
                raise SystemExit(f"{path}: 'wasio-test: wasihttp' is for tests/component programs")
            spec["hosts"] += HTTP_HOSTS
            if any(h in WASM_HOSTS for h in hosts):
                check_http_imports(name, res)
        if built == "tests":
            # wasmtime-p3 and jco-p3: the same expectations as wasmtime and
            # jco (their skip, if any), unless the program has no p3 build
            # or declares its own skip.
            for p3, like in P3_LIKE.items():
                if p3 in spec["skip"]:
                    pass
                elif spec.get("cc") is not None or name.startswith("curl"):
                    spec["skip"][p3] = P3_NO_WATCHERS
                elif like in spec["hosts"]:
                    spec["hosts"].append(p3)
                elif like in spec["skip"]:
                    spec["skip"][p3] = spec["skip"][like]
        for host in HOSTS + EXTRA_HOSTS:
            if host not in hosts:
                continue
            if host in P3_HOSTS and built != "tests" and host not in spec["hosts"]:
                continue  # a driver runs on a p3 host when its hosts line names it
            if host in HOSTTLS_HOSTS and not spec["hosttls"]:
                continue
            if host in HTTP_HOSTS and not spec["wasihttp"]:
                continue
            if host not in spec["hosts"]:
                if built in ("wasi-tests", "tools"):
                    continue
                res.record("SKIP", f"{name}@{host}", f": {spec['skip'][host]}")
                continue
            # A C test program is told which host runs it (host=NAME), for
            # the few checks that differ by host; a driver gets --host.
            run_suite(name, host, command_for(host, name, spec, []),
                      lambda p, h=host, n=name, sp=spec: command_for(
                          h, n, sp, p if sp["subdir"] in ("apps", "tools") else p + [f"host={h}"]),
                      spec["timeout"], res, spec["helpers"], trust_root=(host in ("tlshost", "tlshost-p3")),
                      test_filter=test_filter, nofile=spec["nofile"], resolver=spec["resolver"])

    dt = time.time() - t0
    if res.failures:
        print("failed: " + " ".join(res.failures))
    print(f"({dt:.1f} s)")
    line = f"{res.passed} passed, {res.failed} failed"
    if res.skipped:
        line += f", {res.skipped} skipped"
    print(line)
    return 1 if res.failed or (res.passed == 0) else 0


if __name__ == "__main__":
    sys.exit(main())
