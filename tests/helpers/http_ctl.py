#!/usr/bin/env python3
"""HTTP client helper for tests/component/http_server.c: a reverse helper.

The component under test runs an HTTP server in its own loop and cannot
spawn processes, so it asks this helper to be its client. Listens on
127.0.0.1, prints the port on the first stdout line, then serves one JSON
command per connection (a single line ending in "\\n"):

  {"run": "curl"|"wrk"|"h2load", "args": [...], "gen": N, "seed": S}
        runs the program (only these three; arguments as given, every URL
        must name 127.0.0.1 or [::1]) with a time limit. With "gen", a temp
        file of N pseudo-random bytes (seeded by S) is created first and
        "{FILE}" in args is replaced by its path.
  {"raw": PORT, "send": [HEX, ...], "gap_ms": G, "shut": bool,
   "read_ms": R, "ip": "127.0.0.1", "stall_ms": T, "delay_ms": D}
        a hand-written client: waits D ms (default 0, at most 30000: the
        server stays idle meanwhile), connects, sends each HEX piece (G ms apart),
        half-closes if "shut", then reads until EOF, a reset, or R ms of
        silence. With "stall_ms" it reads nothing for T ms first (a small
        receive buffer makes the server's writes back up: a slow reader).

  {"idle": PORT, "conns": N, "path": P, "hold_ms": T}
        keep-alive connections left idle: opens N (at most IDLE_CONNS_MAX)
        to 127.0.0.1:PORT one at a time, each sends one "GET P HTTP/1.1"
        and reads its whole response (Content-Length framing) and stays
        open; then holds them all until a line arrives on this command
        connection (or T ms pass, at most 60000), closes them and replies.

The reply, then the helper closes the connection:
  "<rc> <out_len> <err_len> <info>\\n" <out bytes> <err bytes>
  run: rc = exit status (124 on timeout), out/err = its stdout/stderr,
       info = CRC-32 (8 hex digits) of the generated file, or "-";
  raw: rc = 0 (EOF), 1 (silence, still open), 2 (reset), 3 (connect
       failed); out = the bytes received; err = empty; info = milliseconds
       from the last byte sent to the end.
  idle: rc = 0 (all N were open when the line came), 1 (T ms passed
       first), 3 (a connection or its response failed; err says which);
       info = the number of connections whose exchange succeeded.

Every program and socket is bounded in time; the process exits after
--lifetime seconds, or --idle seconds without a command.
"""
import argparse
import binascii
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pydriver  # noqa: E402

PROGRAMS = {"curl", "wrk", "h2load"}
RUN_TIMEOUT = 60.0
IO_TIMEOUT = 30.0
URL_HOST = re.compile(r"^https?://([^/]+)")
LOOPBACK_HOSTS = {"127.0.0.1", "[::1]", "localhost"}

def loopback_url(arg):
    m = URL_HOST.match(arg)
    if not m:
        return True
    host = m.group(1)
    if host.startswith("["):
        host = host[: host.index("]") + 1]
    else:
        host = host.split(":")[0]
    return host in LOOPBACK_HOSTS


def reply(conn, rc, out, err, info):
    conn.sendall(f"{rc} {len(out)} {len(err)} {info}\n".encode() + out + err)


def do_run(conn, cmd):
    prog = cmd.get("run")
    args = [str(a) for a in cmd.get("args", [])]
    if prog not in PROGRAMS:
        reply(conn, 2, b"", f"program {prog!r} not allowed".encode(), "-")
        return
    if not all(loopback_url(a) for a in args):
        reply(conn, 2, b"", b"only loopback URLs", "-")
        return
    run_program(conn, cmd, prog, args, "http_ctl")


def run_program(conn, cmd, prog, args, name):
    """Runs a program the caller allowed, with the command's "gen" file
    ("{FILE}" in args; its CRC-32 is the reply's info), "stdin" text (none:
    an empty stdin) and "timeout"; replies with its status and output."""
    info, path = "-", None
    try:
        if "gen" in cmd:
            data = random.Random(int(cmd.get("seed", 1))).randbytes(int(cmd["gen"]))
            fd, path = tempfile.mkstemp(prefix=f"{name}_")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            info = f"{zlib.crc32(data):08x}"
            args = [a.replace("{FILE}", path) for a in args]
        try:
            p = subprocess.run([prog] + args, input=str(cmd.get("stdin", "")).encode(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=float(cmd.get("timeout", RUN_TIMEOUT)))
            reply(conn, p.returncode, p.stdout, p.stderr, info)
        except subprocess.TimeoutExpired as e:
            reply(conn, 124, e.stdout or b"", (e.stderr or b"") + f"\n({name}: timed out)".encode(), info)
    finally:
        if path:
            os.unlink(path)


def do_raw(conn, cmd):
    ip = cmd.get("ip", "127.0.0.1")
    if ip not in ("127.0.0.1", "::1"):
        reply(conn, 3, b"", b"", "0")
        return
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    pieces = [binascii.unhexlify(h) for h in cmd.get("send", [])]
    gap = float(cmd.get("gap_ms", 0)) / 1000.0
    read_s = float(cmd.get("read_ms", 5000)) / 1000.0
    out = b""
    time.sleep(min(float(cmd.get("delay_ms", 0)), 30000.0) / 1000.0)
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(IO_TIMEOUT)
        stall = float(cmd.get("stall_ms", 0)) / 1000.0
        if stall:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            s.connect((ip, int(cmd["raw"])))
        except OSError:
            reply(conn, 3, b"", b"", "0")
            return
        rc = 0
        try:
            for i, piece in enumerate(pieces):
                if i and gap:
                    time.sleep(gap)
                s.sendall(piece)
            if cmd.get("shut"):
                s.shutdown(socket.SHUT_WR)
        except OSError:
            rc = 2
        t0 = time.time()
        if stall and rc == 0:
            time.sleep(stall)
        s.settimeout(read_s)
        while rc == 0:
            try:
                data = s.recv(65536)
            except socket.timeout:
                rc = 1
                break
            except OSError:
                rc = 2
                break
            if not data:
                break
            out += data
        ms = int((time.time() - t0) * 1000)
    reply(conn, rc, out, b"", str(ms))


IDLE_CONNS_MAX = 1000
IDLE_HOLD_MAX_MS = 60000


def read_response(s):
    """Reads one whole response framed by Content-Length; returns its status."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = s.recv(65536)
        if not data:
            raise ConnectionError("closed before the head")
        buf += data
    head, _, body = buf.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    if not m:
        raise ConnectionError(f"no Content-Length: {head[:200]!r}")
    while len(body) < int(m.group(1)):
        data = s.recv(65536)
        if not data:
            raise ConnectionError("body cut short")
        body += data
    return int(head.split(b" ", 2)[1])


def do_idle(conn, cmd):
    n = min(int(cmd.get("conns", 1)), IDLE_CONNS_MAX)
    hold = min(float(cmd.get("hold_ms", 10000)), IDLE_HOLD_MAX_MS) / 1000.0
    req = f"GET {cmd.get('path', '/')} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    socks, done, rc, err = [], 0, 0, b""
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", int(cmd["idle"])), timeout=IO_TIMEOUT)
            socks.append(s)
            s.sendall(req)
            status = read_response(s)
            if status != 200:
                raise ConnectionError(f"status {status}")
            done += 1
        conn.settimeout(hold)
        try:
            conn.recv(1)
        except socket.timeout:
            rc = 1
    except OSError as e:
        rc, err = 3, f"connection {done + 1}: {e}".encode()
    finally:
        for s in socks:
            s.close()
    reply(conn, rc, b"", err, str(done))


def serve_commands(conn, handlers, name):
    """Reads one JSON command line from conn and runs the handler of the
    first key of `handlers` present in it (a dict, in order); then closes."""
    try:
        conn.settimeout(IO_TIMEOUT)
        line = b""
        while not line.endswith(b"\n"):
            b = conn.recv(4096)
            if not b:
                raise ConnectionError("no command")
            line += b
            if len(line) > 1 << 20:
                raise ConnectionError("command too long")
        cmd = json.loads(line)
        for key, handler in handlers.items():
            if key in cmd:
                handler(conn, cmd)
                break
        else:
            reply(conn, 2, b"", b"unknown command", "-")
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        print(f"{name}: {e}", file=sys.stderr, flush=True)
    finally:
        conn.close()
        pydriver.touch()


def serve_forever(handlers, name, argv=None, before_accept=None):
    """Listens on 127.0.0.1, prints the port, serves each connection's
    command on a thread until --lifetime seconds, or --idle seconds without
    a command, have passed. before_accept() runs once the port is printed."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetime", type=float, default=600.0)
    ap.add_argument("--idle", type=float, default=120.0)
    args = ap.parse_args(argv)
    _, socks = pydriver.loopback_sockets(name=name, ipv6=False)
    return pydriver.serve_connections(socks, lambda conn: serve_commands(conn, handlers, name), args.lifetime,
                                      idle=args.idle, backlog=64, before_accept=before_accept)


def main():
    return serve_forever({"run": do_run, "raw": do_raw, "idle": do_idle}, "http_ctl")


if __name__ == "__main__":
    sys.exit(main())
