#!/usr/bin/env python3
"""UDP echo helper: binds 127.0.0.1:P and [::1]:P (same port when ::1
exists), prints P on the first stdout line, and sends every datagram back to
its sender unchanged, one datagram per datagram (so boundaries, including
empty datagrams, are kept). One exception: a datagram that is exactly
b"?addr" is answered with b"addr IP PORT", the sender's address as this
helper saw it. Exits after --lifetime seconds in total or --idle seconds
without a datagram."""
import argparse
import selectors
import socket
import sys
import time

MAX_DATAGRAM = 65535


def sockets():
    for _ in range(20):
        v4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        v4.bind(("127.0.0.1", 0))
        port = v4.getsockname()[1]
        v6 = None
        try:
            v6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            v6.bind(("::1", port))
            return port, [v4, v6]
        except OSError as e:
            if v6 is not None:
                v6.close()
            if e.errno == getattr(socket, "EADDRNOTAVAIL", 99) or not socket.has_ipv6:
                return port, [v4]
            v4.close()
    raise SystemExit("udp_echo: no port free on both 127.0.0.1 and ::1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetime", type=float, default=120.0)
    ap.add_argument("--idle", type=float, default=60.0)
    args = ap.parse_args()
    port, socks = sockets()
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
