#!/usr/bin/env python3
"""redis-server control helper for tests/component/hiredis.c.

Listens on 127.0.0.1, prints its port on the first stdout line, then serves
one command per connection (the first line the client sends):

  start     starts a redis-server of its own (Debian's redis-server) on
            127.0.0.1 and a free port, with no persistence, waits until it
            answers PING, and replies "PORT\\n"; close.
  kill PORT SIGKILLs that server (a server that goes away mid-command),
            waits for it to be gone, replies "ok\\n"; close.

Replies start with "error" on failure. Every server it started is killed
when it exits: after --lifetime seconds (default 600), on SIGTERM, or when
its own stdout goes away.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pydriver  # noqa: E402

START_TIMEOUT_S = 10.0
IO_TIMEOUT_S = 30.0

servers = {}
lock = threading.Lock()


def ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start():
    exe = shutil.which("redis-server")
    if exe is None:
        return "error redis-server not found (tools/setup.sh installs Debian's redis-server)"
    for _ in range(5):  # a free port may be taken before the server binds it
        port = pydriver.free_port()
        p = subprocess.Popen([exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                              "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no",
                              "--loglevel", "warning"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + START_TIMEOUT_S
        while time.time() < deadline and p.poll() is None:
            if ping(port):
                with lock:
                    servers[port] = p
                return f"{port}"
            time.sleep(0.05)
        if p.poll() is None:
            p.kill()
        p.wait()
    return "error redis-server did not start"


def kill(port):
    with lock:
        p = servers.pop(port, None)
    if p is None:
        return f"error no server on {port}"
    p.kill()
    p.wait(timeout=IO_TIMEOUT_S)
    return "ok"


def serve(conn):
    with conn:
        conn.settimeout(IO_TIMEOUT_S)
        line = b""
        while not line.endswith(b"\n") and len(line) < 256:
            b = conn.recv(1)
            if not b:
                return
            line += b
        words = line.decode("ascii", "replace").split()
        if words == ["start"]:
            reply = start()
        elif len(words) == 2 and words[0] == "kill" and words[1].isdigit():
            reply = kill(int(words[1]))
        else:
            reply = f"error unknown command {line!r}"
        conn.sendall(reply.encode() + b"\n")


def stop_all(*_):
    with lock:
        for p in servers.values():
            p.kill()
        servers.clear()
    os._exit(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetime", type=float, default=600.0)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, stop_all)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    ls.settimeout(0.5)
    print(ls.getsockname()[1], flush=True)
    deadline = time.time() + args.lifetime
    try:
        while time.time() < deadline:
            try:
                c, _ = ls.accept()
            except socket.timeout:
                continue
            threading.Thread(target=serve, args=(c,), daemon=True).start()
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
