#!/usr/bin/env python3
"""UDP echo helper: binds 127.0.0.1:P and [::1]:P (same port when ::1
exists), prints P on the first stdout line, and sends every datagram back to
its sender unchanged, one datagram per datagram (so boundaries, including
empty datagrams, are kept). One exception: a datagram that is exactly
b"?addr" is answered with b"addr IP PORT", the sender's address as this
helper saw it. Exits after --lifetime seconds in total or --idle seconds
without a datagram."""
import argparse
import os
import selectors
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pydriver  # noqa: E402

MAX_DATAGRAM = 65535


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetime", type=float, default=120.0)
    ap.add_argument("--idle", type=float, default=60.0)
    args = ap.parse_args()
    port, socks = pydriver.loopback_sockets(socket.SOCK_DGRAM, name="udp_echo")
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sel.register(s, selectors.EVENT_READ)
    print(port, flush=True)
    start = last = time.time()
    while time.time() - start < args.lifetime and time.time() - last < args.idle:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                data, peer = s.recvfrom(MAX_DATAGRAM)
            except OSError:
                continue
            last = time.time()
            if data == b"?addr":
                data = f"addr {peer[0]} {peer[1]}".encode()
            try:
                s.sendto(data, peer)
            except OSError as e:
                print(f"udp_echo: sendto {peer}: {e}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
