#!/usr/bin/env python3
"""A loopback TCP port where connecting hangs, for connect-timeout tests.

Listens on 127.0.0.1 with backlog 0 and never accepts; it then connects to
itself until a connect stays pending, i.e. until the accept queue is full.
From then on the kernel drops every new SYN, so a client's connect neither
succeeds nor fails: it times out. (Loopback only: no packet leaves the
machine.) Prints the port on the first stdout line, then lives --lifetime
seconds (default 120)."""
import argparse
import socket
import sys
import time

MAX_FILLERS = 64
SETTLE_S = 0.2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetime", type=float, default=120.0)
    args = ap.parse_args()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    port = lsock.getsockname()[1]
    fillers = []
    for _ in range(MAX_FILLERS):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fillers.append(c)
        time.sleep(SETTLE_S)
        try:
            c.getpeername()
        except OSError:
            break  # this one hangs: the queue is full
    else:
        raise SystemExit("tcp_blackhole: the accept queue never filled up")
    print(port, flush=True)
    time.sleep(args.lifetime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
