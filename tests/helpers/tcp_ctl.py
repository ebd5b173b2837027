#!/usr/bin/env python3
"""TCP control helper for tests/component/tcp.c.

Listens on 127.0.0.1 and ::1 (same port when ::1 exists), prints the port on
the first stdout line, then serves one command per connection. The command
is the first line the client sends (ASCII, ends with "\\n"):

  up                read until EOF; reply "<count> <crc32>\\n"; close.
                    (<crc32> is zlib's CRC-32, 8 lowercase hex digits.)
  down N            send N random bytes, then "<crc32 of them>\\n"; shut down
                    writing; close after the client's EOF.
  reset N           send N bytes of "r"; wait for the line "ack"; then close
                    with SO_LINGER 0, so the peer gets an RST.
  hold ID           read nothing until "release ID" arrives on another
                    connection (30 s at most), then behave like "up".
  release ID        wake "hold ID"; reply "ok\\n"; close.
  connect PORT IP [DELAY_MS]
                    act as a native client of a server under test: after
                    DELAY_MS milliseconds (default 0; at most 30000), connect
                    to IP:PORT (loopback only), send CLIENT_HELLO, shut down
                    writing, read until EOF, then report on this connection
                    "ok <count> <crc32>\\n" (or "error <text>\\n"); close.
                    The delay lets a test leave its loop idle, waiting, until
                    the connection arrives.

Every connection runs in its own thread with socket timeouts, and the
process exits after --lifetime seconds in total or --idle seconds without a
new connection, so a stuck test cannot leave it behind.
"""
import argparse
import os
import socket
import struct
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pydriver  # noqa: E402

CLIENT_HELLO = b"hello from a native client\n"
CHUNK = 65536
IO_TIMEOUT = 30.0
LOOPBACK = {"127.0.0.1", "::1"}

holds = {}
holds_lock = threading.Lock()
def hold_event(ident):
    with holds_lock:
        return holds.setdefault(ident, threading.Event())


def read_line(conn, limit=256):
    """Reads one line byte by byte, so no byte after it is consumed."""
    line = b""
    while not line.endswith(b"\n"):
        b = conn.recv(1)
        if not b or len(line) >= limit:
            raise ConnectionError(f"no command line (got {line!r})")
        line += b
    return line.decode("ascii").strip()


def read_to_eof(conn):
    count, crc = 0, 0
    while True:
        data = conn.recv(CHUNK)
        if not data:
            return count, crc
        count += len(data)
        crc = zlib.crc32(data, crc)


def do_up(conn):
    count, crc = read_to_eof(conn)
    conn.sendall(f"{count} {crc:08x}\n".encode())


def do_down(conn, n):
    crc, left = 0, n
    while left:
        data = os.urandom(min(CHUNK, left))
        crc = zlib.crc32(data, crc)
        conn.sendall(data)
        left -= len(data)
    conn.sendall(f"{crc:08x}\n".encode())
    conn.shutdown(socket.SHUT_WR)
    read_to_eof(conn)


def do_reset(conn, n):
    conn.sendall(b"r" * n)
    line = read_line(conn)
    if line != "ack":
        raise ConnectionError(f"reset: expected 'ack', got {line!r}")
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


MAX_CONNECT_DELAY_MS = 30000


def do_connect(conn, port, ip, delay_ms=0):
    if not 0 <= delay_ms <= MAX_CONNECT_DELAY_MS:
        conn.sendall(f"error delay {delay_ms} ms is not in 0..{MAX_CONNECT_DELAY_MS}\n".encode())
        return
    time.sleep(delay_ms / 1000.0)
    if ip not in LOOPBACK:
        conn.sendall(f"error {ip} is not a loopback address\n".encode())
        return
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as c:
            c.settimeout(IO_TIMEOUT)
            c.connect((ip, port))
            c.sendall(CLIENT_HELLO)
            c.shutdown(socket.SHUT_WR)
            count, crc = read_to_eof(c)
        conn.sendall(f"ok {count} {crc:08x}\n".encode())
    except OSError as e:
        conn.sendall(f"error {e}\n".encode())


def serve(conn):
    try:
        conn.settimeout(IO_TIMEOUT)
        words = read_line(conn).split()
        cmd, args = (words[0], words[1:]) if words else ("", [])
        if cmd == "up":
            do_up(conn)
        elif cmd == "down":
            do_down(conn, int(args[0]))
        elif cmd == "reset":
            do_reset(conn, int(args[0]))
        elif cmd == "hold":
            released = hold_event(args[0]).wait(IO_TIMEOUT)
            with holds_lock:
                holds.pop(args[0], None)  # one release per hold: ids may be reused
            if released:
                do_up(conn)
        elif cmd == "release":
            hold_event(args[0]).set()
            conn.sendall(b"ok\n")
        elif cmd == "connect":
            do_connect(conn, int(args[0]), args[1], int(args[2]) if len(args) > 2 else 0)
        else:
            conn.sendall(f"error unknown command {cmd!r}\n".encode())
    except (OSError, ValueError, IndexError) as e:
        print(f"tcp_ctl: {e}", file=sys.stderr, flush=True)
    finally:
        conn.close()
        pydriver.touch()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetime", type=float, default=300.0)
    ap.add_argument("--idle", type=float, default=60.0)
    args = ap.parse_args()
    _, socks = pydriver.loopback_sockets(name="tcp_ctl")  # 127.0.0.1:P and [::1]:P
    return pydriver.serve_connections(socks, serve, args.lifetime, idle=args.idle)


if __name__ == "__main__":
    sys.exit(main())
