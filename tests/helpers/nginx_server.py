#!/usr/bin/env python3
"""A real nginx peer for HTTP tests, on loopback, in a private prefix.

Starts Debian's nginx (no daemon, one worker) on a free port of 127.0.0.1 and
[::1], serving a generated document root:
  /small.txt            "hello from nginx\\n"
  /big.bin              --big-mib MiB of deterministic bytes (default 1);
                        its SHA-256 is in /big.bin.sha256
  /chunked.txt          a body sent with Transfer-Encoding: chunked (SSI)
  /redirect/301 .. 308  redirects to /small.txt (and /redirect/loop loops)
  /echo-method          returns the request method in the body
  /redirect-echo/301 .. 308  redirects to /echo-method (method rules)
  /redirect/relative    302 with a relative Location with dot segments
                        ("../a/./b/../../small.txt?x=1", i.e. /small.txt?x=1)
  /redirect/other-origin  302 to http://localhost:PORT/small.txt (a new origin)
  /upload/NAME          WebDAV PUT stores a body (any size, chunked too);
                        GET /upload/NAME returns it
  anything else         404
Every response carries X-Connection ($connection: nginx's serial number of
the TCP connection) and X-Connection-Requests ($connection_requests), so a
client test can count the connections it really opened.
Prints the port on the first stdout line, then the document root on the
second, and exits (stopping nginx) after --lifetime seconds or on SIGTERM.
"""
import argparse
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START_TIMEOUT_S = 10


def free_port():
    # Bind on both families so the port is free on both.
    for _ in range(50):
        s4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s4.bind(("127.0.0.1", 0))
        port = s4.getsockname()[1]
        try:
            s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s6.bind(("::1", port))
            s6.close()
        except OSError:
            s4.close()
            continue
        s4.close()
        return port
    raise SystemExit("nginx_server: no free port on both 127.0.0.1 and ::1")


def make_root(root, big_mib):
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "small.txt"), "w") as f:
        f.write("hello from nginx\n")
    h = hashlib.sha256()
    block = bytes((i * 7 + 3) & 0xFF for i in range(1 << 16))
    with open(os.path.join(root, "big.bin"), "wb") as f:
        for i in range(big_mib * 16):
            chunk = bytes([i & 0xFF]) + block[1:]
            f.write(chunk)
            h.update(chunk)
    with open(os.path.join(root, "big.bin.sha256"), "w") as f:
        f.write(h.hexdigest() + "\n")
    with open(os.path.join(root, "chunked.txt"), "w") as f:
        f.write("line one\n<!--# echo var=\"request_method\" -->\nline three\n")


CONF = """
worker_processes 1;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
{user}
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/tmp;
  proxy_temp_path {prefix}/tmp;
  fastcgi_temp_path {prefix}/tmp;
  uwsgi_temp_path {prefix}/tmp;
  scgi_temp_path {prefix}/tmp;
  keepalive_requests 100000;
  default_type application/octet-stream;
  server {{
    listen 127.0.0.1:{port};
    listen [::1]:{port};
    root {root};
    add_header X-Connection $connection always;
    add_header X-Connection-Requests $connection_requests always;
    location = /chunked.txt {{ ssi on; ssi_types *; default_type text/plain; }}
    location = /redirect/301 {{ return 301 /small.txt; }}
    location = /redirect/302 {{ return 302 /small.txt; }}
    location = /redirect/303 {{ return 303 /small.txt; }}
    location = /redirect/307 {{ return 307 /small.txt; }}
    location = /redirect/308 {{ return 308 /small.txt; }}
    location = /redirect/relative {{ absolute_redirect off; return 302 ../a/./b/../../small.txt?x=1; }}
    location = /redirect/other-origin {{ return 302 http://localhost:$server_port/small.txt; }}
    location = /redirect/loop {{ return 302 /redirect/loop; }}
    location = /redirect-echo/301 {{ return 301 /echo-method; }}
    location = /redirect-echo/302 {{ return 302 /echo-method; }}
    location = /redirect-echo/303 {{ return 303 /echo-method; }}
    location = /redirect-echo/307 {{ return 307 /echo-method; }}
    location = /redirect-echo/308 {{ return 308 /echo-method; }}
    location /upload/ {{ dav_methods PUT DELETE; create_full_put_path on; client_max_body_size 0; }}
    location = /echo-method {{ default_type text/plain; return 200 "$request_method\\n"; }}
  }}
}}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetime", type=float, default=120.0)
    ap.add_argument("--big-mib", type=int, default=1)
    args = ap.parse_args()
    if not os.path.exists(NGINX):
        raise SystemExit("nginx_server: nginx not installed (make setup installs it)")
    prefix = tempfile.mkdtemp(prefix="wasio-nginx-")
    os.makedirs(os.path.join(prefix, "tmp"))
    root = os.path.join(prefix, "root")
    make_root(root, args.big_mib)
    port = free_port()
    user = "user root;" if os.geteuid() == 0 else ""
    with open(os.path.join(prefix, "nginx.conf"), "w") as f:
        f.write(CONF.format(prefix=prefix, port=port, root=root, user=user))
    proc = subprocess.Popen([NGINX, "-p", prefix, "-c", os.path.join(prefix, "nginx.conf"),
                             "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(*_):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(prefix, ignore_errors=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    deadline = time.time() + START_TIMEOUT_S
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                err = proc.stderr.read().decode(errors="replace") if proc.poll() is not None else ""
                shutil.rmtree(prefix, ignore_errors=True)
                raise SystemExit(f"nginx_server: nginx did not start: {err}")
            time.sleep(0.05)
    print(port, flush=True)
    print(root, flush=True)
    end = time.time() + args.lifetime
    while time.time() < end and proc.poll() is None:
        time.sleep(0.2)
    stop()


if __name__ == "__main__":
    main()
