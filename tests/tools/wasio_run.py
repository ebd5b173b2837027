#!/usr/bin/env python3
# wasio-test: hosts wasmtime jco
# wasio-test: timeout 120
"""tests/tools/wasio_run.py: tools/wasio-run, as a user runs it.

A test program in the harness protocol (tests/harness.h):
    wasio_run.py --host HOST --list
    wasio_run.py --host HOST [NAME...]
HOST is the --host given to wasio-run (wasmtime or jco). The component is
examples/echo-server (build/wasm32/examples/echo-server.wasm), a server that
prints "listening on IP:PORT" and runs until stopped.

Issue 9 found that wasio-run killed the README's own server command after
120 s (its default timeout), and that killing wasio-run left wasmtime
running and holding the port. Here: a signal to wasio-run (SIGTERM, SIGINT,
SIGHUP) stops the host too, the port is free at once, and the exit status
says which signal (128+N); --timeout still bounds a run (exit 124); a bad
--timeout value is a usage error (2), as are --serve's misuses (serving
itself runs in tests/apps/examples.py and tests/apps/http_handler.py).
"""
import os
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import pydriver  # noqa: E402
from pydriver import RUNNER, Failure, check  # noqa: E402,F401

SERVER = os.path.join(ROOT, "build", "wasm32", "examples", "echo-server.wasm")
START_TIMEOUT_S = 30   # jco transpiles before it starts
STOP_TIMEOUT_S = 10
# wasio-run SIGKILLs a host that ignored the forwarded signal after 5 s; here
# after far longer than STOP_TIMEOUT_S, so that a host stopped in time was
# stopped by the forwarded signal itself (before this, a SIGINT the host
# ignored passed after 5.05 s).
KILL_AFTER_S = 60


def start_server(host, extra=()):
    """wasio-run ... echo-server.wasm 0: returns (process, port)."""
    # env --default-signal: wasio-run receives SIGINT and SIGQUIT even when
    # the suite itself was started with them ignored (a command run with &
    # from a script is), since a shell cannot trap a signal ignored when it
    # started.
    env = dict(os.environ, WASIO_RUN_KILL_AFTER=str(KILL_AFTER_S))
    p = pydriver.Process(["env", "--default-signal=INT,QUIT", RUNNER, "--host", host, "--net", *extra, SERVER, "0"],
                         ready=r"listening on .*:(\d+)$", timeout=START_TIMEOUT_S, merge_stderr=True,
                         env=env, what="the server")
    return p.proc, p.port


def port_serves(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"ping\n")
            s.settimeout(5)
            return s.recv(64).startswith(b"ping")
    except OSError:
        return False


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def host_processes(port):
    """Processes of ours still running the component (by command line)."""
    out = subprocess.run(["pgrep", "-af", "echo-server.wasm 0"], stdout=subprocess.PIPE, text=True).stdout
    return [l for l in out.splitlines() if "wasio-run" not in l and "pgrep" not in l]


def stops_on(host, sig):
    p, port = start_server(host)
    try:
        check(port_serves(port), "the server does not echo")
        # Signal wasio-run alone, as kill(1) or a supervisor would, not its group.
        os.kill(p.pid, sig)
        try:
            rc = p.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise Failure(f"wasio-run still running {STOP_TIMEOUT_S} s after {sig.name}")
        check(rc == 128 + sig.value, f"exit status {rc}, want {128 + sig.value} (128 + {sig.name})")
        left = host_processes(port)
        check(not left, f"host processes left after {sig.name}: {left}")
        check(port_free(port), f"port {port} still taken after {sig.name}")
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        # The host runs in a session of its own: one left behind would
        # fail the next tests too (they count host processes).
        for line in host_processes(port):
            try:
                os.kill(int(line.split()[0]), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


def test_sigterm_stops_host(host):
    stops_on(host, signal.SIGTERM)


def test_sigint_stops_host(host):
    stops_on(host, signal.SIGINT)


def test_sighup_stops_host(host):
    stops_on(host, signal.SIGHUP)


def test_timeout_bounds_run(host):
    t0 = time.time()
    p, port = start_server(host, ["--timeout", "3"])
    try:
        rc = p.wait(3 + START_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        raise Failure("--timeout 3 did not stop the server")
    out = p.stdout.read().decode(errors="replace")
    check(rc == 124, f"exit status {rc}, want 124")
    check("timed out after 3s" in out, f"no timeout message: {out!r}")
    check(time.time() - t0 >= 3, "stopped before its timeout")
    check(port_free(port), f"port {port} still taken after the timeout")


def test_bad_timeout_is_usage_error(host):
    for bad in ("abc", "-1", "1.5", ""):
        p = subprocess.run([RUNNER, "--host", host, "--timeout", bad, SERVER], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=30)
        check(p.returncode == 2, f"--timeout {bad!r}: exit {p.returncode}, want 2")
        check("--timeout takes whole seconds" in p.stdout, f"--timeout {bad!r}: message {p.stdout!r}")


def test_serve_usage_errors(host):
    """--serve's misuses are usage errors (2) that say what is wrong, before
    any host starts."""
    handler = os.path.join(ROOT, "build", "wasm32", "examples-http", "http-handler.wasm")
    cases = [(["--serve", "8080"], "--serve takes IP:PORT"),
             (["--serve", "127.0.0.1:0", handler, "extra"], "--serve passes no arguments"),
             (["--serve", "127.0.0.1:0", "--dir", ".", handler], "--serve takes neither --tls nor --dir"),
             (["--reuse", "2", handler], "--reuse is for --serve"),
             (["--serve", "127.0.0.1:0", "--reuse", "0", handler], "--reuse takes a count"),
             (["--env", "NOEQUALS", handler], "--env takes NAME=VALUE")]
    if host == "jco":
        cases.append((["--serve", "127.0.0.1:0", "--reuse", "2", handler], "jco serve always reuses"))
        # The 0.3 handler host too (a later --host wins).
        cases.append((["--host", "jco-p3", "--serve", "127.0.0.1:0", "--reuse", "2", handler],
                      "jco-p3 serves every request with its one instance"))
    for args, want in cases:
        p = subprocess.run([RUNNER, "--host", host, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=30)
        check(p.returncode == 2 and want in p.stdout, f"{args}: exit {p.returncode}, {p.stdout!r}; want 2, {want!r}")


if __name__ == "__main__":
    sys.exit(pydriver.main(globals()))
