#!/usr/bin/env python3
"""TCP echo helper: listens on loopback (IPv4 and IPv6 on one port when
possible), prints the port on the first stdout line, echoes every byte back
on every connection, and exits after --lifetime seconds (default 60)."""
import argparse
import os
import selectors
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pydriver  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetime", type=float, default=60.0)
    args = ap.parse_args()
    sel = selectors.DefaultSelector()
    port, listeners = pydriver.loopback_sockets(name="echo_server", reuse=True)
    for s in listeners:
        s.listen(512)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "listen")
    print(port, flush=True)
    deadline = time.time() + args.lifetime
    while time.time() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            if key.data == "listen":
                try:
                    c, _ = s.accept()
                except BlockingIOError:
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, "conn")
                continue
            try:
                data = s.recv(65536)
            except (ConnectionResetError, BlockingIOError):
                data = b""
            if not data:
                sel.unregister(s)
                s.close()
                continue
            s.setblocking(True)
            try:
                s.sendall(data)
            except OSError:
                sel.unregister(s)
                s.close()
                continue
            s.setblocking(False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
