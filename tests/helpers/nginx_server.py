#!/usr/bin/env python3
"""A real nginx peer for HTTP tests, on loopback, in a private prefix.

Starts Debian's nginx (no daemon, one worker) on a free port of 127.0.0.1 and
[::1], serving a generated document root:
  /small.txt            "hello from nginx\\n"
  /empty.txt            an empty file
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

--tls adds HTTPS (the same document root, static files only): it makes a
private CA and two server certificates (EC P-256 and RSA 2048, for
DNS:localhost, IP:127.0.0.1 and IP:::1, signed by the CA) with the openssl
CLI in the prefix, and serves one HTTPS port per TLS 1.2 suite, so a client
cannot pick another:
  ecdsa-gcm     ECDHE-ECDSA-AES128-GCM-SHA256
  ecdsa-chacha  ECDHE-ECDSA-CHACHA20-POLY1305
  rsa-gcm       ECDHE-RSA-AES256-GCM-SHA384
  rsa-chacha    ECDHE-RSA-CHACHA20-POLY1305
  short         as ecdsa-gcm, but nginx closes an idle connection after 1 s
and one per protocol version and key type (nginx's default TLS 1.2 suites,
OpenSSL's default TLS 1.3 suites; the client's order decides the suite):
  tls13-ecdsa, tls13-rsa    TLS 1.3 only
  tls12-ecdsa, tls12-rsa    TLS 1.2 only
  both-ecdsa, both-rsa      TLS 1.2 and 1.3 (the client's choice)
Every HTTPS response also carries X-Protocol ($ssl_protocol: "TLSv1.3" or
"TLSv1.2"), so a test sees the negotiated version independently of the
client.
plus "py", a small Python ssl HTTPS peer (EC certificate) for what nginx
will not do: GET /truncate answers HTTP/1.0 with a body delimited by the
connection's end and then closes TCP without close_notify; GET /clean does
the same but ends with close_notify; anything else is a 404 with a length.
It writes how many requests it ever received to /tls/py-requests.txt (the
proof that a client whose verification failed sent no byte of its request).
It then also prints the CA's path (third line) and "NAME=PORT ..." (fourth).
The plain server then also has /redirect/to-https (302 to /small.txt on the
ecdsa-gcm port, by the name localhost).
A component without file access learns the same over plain HTTP:
/tls/ca.pem is the CA, /tls/other-ca.pem a CA that signed nothing here (for
"unknown CA" tests), and /tls/ports.txt holds the fourth line.
"""
import argparse
import hashlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pydriver  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START_TIMEOUT_S = 10


def free_port():
    """A port free on both 127.0.0.1 and ::1 (nginx binds both)."""
    port, socks = pydriver.loopback_sockets(name="nginx_server")
    for s in socks:
        s.close()
    return port


def make_root(root, big_mib):
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "small.txt"), "w") as f:
        f.write("hello from nginx\n")
    open(os.path.join(root, "empty.txt"), "w").close()
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
{plain_tls}  }}
{tls}}}
"""

# One HTTPS server per suite (make_tls fills it in, then CONF takes it whole).
TLS_SERVER = """
  server {{
    listen 127.0.0.1:{port} ssl;
    listen [::1]:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols {protocols};
    ssl_ciphers {ciphers};
    ssl_session_cache shared:wasio:1m;
    {extra}
    root {root};
    add_header X-Connection $connection always;
    add_header X-Connection-Requests $connection_requests always;
    add_header X-Session-Reused $ssl_session_reused always;
    add_header X-Cipher $ssl_cipher always;
    add_header X-Protocol $ssl_protocol always;
  }}
"""


SHORT_KEEPALIVE = "1s"
TLS12 = "TLSv1.2"
TLS13 = "TLSv1.3"
BOTH = "TLSv1.2 TLSv1.3"
NGINX_CIPHERS = "HIGH:!aNULL:!MD5"  # nginx's default ssl_ciphers (TLS 1.2 only; 1.3 has its own)
TLS_SUITES = [  # (name, key type, nginx ssl_protocols, nginx ssl_ciphers, extra directives)
    ("ecdsa-gcm", "ec", TLS12, "ECDHE-ECDSA-AES128-GCM-SHA256", ""),
    ("ecdsa-chacha", "ec", TLS12, "ECDHE-ECDSA-CHACHA20-POLY1305", ""),
    ("rsa-gcm", "rsa", TLS12, "ECDHE-RSA-AES256-GCM-SHA384", ""),
    ("rsa-chacha", "rsa", TLS12, "ECDHE-RSA-CHACHA20-POLY1305", ""),
    ("short", "ec", TLS12, "ECDHE-ECDSA-AES128-GCM-SHA256", f"keepalive_timeout {SHORT_KEEPALIVE};"),
    ("tls13-ecdsa", "ec", TLS13, NGINX_CIPHERS, ""),
    ("tls13-rsa", "rsa", TLS13, NGINX_CIPHERS, ""),
    ("tls12-ecdsa", "ec", TLS12, NGINX_CIPHERS, ""),
    ("tls12-rsa", "rsa", TLS12, NGINX_CIPHERS, ""),
    ("both-ecdsa", "ec", BOTH, NGINX_CIPHERS, ""),
    ("both-rsa", "rsa", BOTH, NGINX_CIPHERS, ""),
]
CERT_DAYS = 30


def make_pki(d):
    """Two CAs (ca, other-ca) and a server certificate of each key type,
    signed by ca, for localhost, 127.0.0.1 and ::1 (tests/pydriver.py's
    Pki): {kind: (d/server-KIND.pem, d/server-KIND.key)}."""
    p = pydriver.Pki(d)
    for name in ("ca", "other-ca"):
        p.self_signed(name, f"wasio test {name}", days=CERT_DAYS)
    ext = pydriver.leaf_ext("DNS:localhost, IP:127.0.0.1, IP:::1")
    leaves = {}
    for kind in ("ec", "rsa"):
        p.issue(f"server-{kind}", "ca", ext, kind=kind, cn="localhost", days=CERT_DAYS)
        leaves[kind] = (p.path(f"server-{kind}.pem"), p.path(f"server-{kind}.key"))
    return leaves


PY_BODY = b"a body that only the end of the connection delimits\n"
PY_IO_TIMEOUT_S = 10


class PyPeer:
    """The "py" HTTPS peer: one connection at a time, on a thread."""

    def __init__(self, cert, key, count_path):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = self.ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        self.ctx.load_cert_chain(cert, key)
        self.count_path = count_path
        self.requests = 0
        self.write_count()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def write_count(self):
        tmp = self.count_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{self.requests}\n")
        os.replace(tmp, self.count_path)  # nginx never serves half a file

    def serve(self):
        while True:
            raw, _ = self.sock.accept()
            raw.settimeout(PY_IO_TIMEOUT_S)
            try:
                self.one(self.ctx.wrap_socket(raw, server_side=True))
            except (OSError, ssl.SSLError):
                pass  # a client that refused our certificate, or went away
            finally:
                raw.close()

    def one(self, s):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            if not head:
                self.requests += 1
                self.write_count()
            head += chunk
        path = head.split(b" ")[1] if head.count(b" ") >= 2 else b""
        if path in (b"/truncate", b"/clean"):
            s.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + PY_BODY)
            if path == b"/clean":
                s.unwrap()  # close_notify
                return
            time.sleep(0.1)
            # Close TCP under TLS: no close_notify.
            plain = socket.socket(fileno=s.detach())
            plain.shutdown(socket.SHUT_RDWR)
            plain.close()
            return
        s.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        s.unwrap()


def make_tls(prefix, root):
    """The PKI, the server blocks and the /tls/ files; returns (ca path, the
    "NAME=PORT ..." line, the HTTPS server blocks, the plain server's extra
    locations)."""
    d = os.path.join(prefix, "pki")
    leaves = make_pki(d)
    ports, blocks = {}, []
    for name, kind, protocols, ciphers, extra in TLS_SUITES:
        port = free_port()
        while port in ports.values():  # closed probe sockets: the kernel may hand a port out twice
            port = free_port()
        ports[name] = port
        blocks.append(TLS_SERVER.format(port=port, root=root, cert=leaves[kind][0], key=leaves[kind][1],
                                        protocols=protocols, ciphers=ciphers, extra=extra))
    pub = os.path.join(root, "tls")
    os.makedirs(pub)
    py = PyPeer(leaves["ec"][0], leaves["ec"][1], os.path.join(pub, "py-requests.txt"))
    ports["py"] = py.port
    shutil.copy(os.path.join(d, "ca.pem"), os.path.join(pub, "ca.pem"))
    shutil.copy(os.path.join(d, "other-ca.pem"), os.path.join(pub, "other-ca.pem"))
    line = " ".join(f"{n}={p}" for n, p in ports.items())
    with open(os.path.join(pub, "ports.txt"), "w") as f:
        f.write(line + "\n")
    # On the plain server: a redirect onto HTTPS (a new origin and scheme).
    plain = f"    location = /redirect/to-https {{ return 302 https://localhost:{ports['ecdsa-gcm']}/small.txt; }}\n"
    return os.path.join(d, "ca.pem"), line, "".join(blocks), plain


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetime", type=float, default=120.0)
    ap.add_argument("--big-mib", type=int, default=1)
    ap.add_argument("--tls", action="store_true", help="also serve HTTPS (see the docstring)")
    args = ap.parse_args()
    if not os.path.exists(NGINX):
        raise SystemExit("nginx_server: nginx not installed (make setup installs it)")
    prefix = tempfile.mkdtemp(prefix="wasio-nginx-")
    os.makedirs(os.path.join(prefix, "tmp"))
    root = os.path.join(prefix, "root")
    make_root(root, args.big_mib)
    port = free_port()
    user = "user root;" if os.geteuid() == 0 else ""
    ca, tls_line, tls_conf, plain_tls = make_tls(prefix, root) if args.tls else (None, None, "", "")
    with open(os.path.join(prefix, "nginx.conf"), "w") as f:
        f.write(CONF.format(prefix=prefix, port=port, root=root, user=user, tls=tls_conf, plain_tls=plain_tls))
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
    if args.tls:
        print(ca, flush=True)
        print(tls_line, flush=True)
    end = time.time() + args.lifetime
    while time.time() < end and proc.poll() is None:
        time.sleep(0.2)
    stop()


if __name__ == "__main__":
    main()
