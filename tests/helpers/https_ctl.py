#!/usr/bin/env python3
"""HTTPS client helper for tests/component/https_server.c: a reverse helper.

Like tests/helpers/http_ctl.py (same command line, same reply format; its
"raw" command is reused as is), plus a private PKI made with the openssl CLI
at start (tests/helpers/tls_peer.py's Pki: a root CA, an intermediate, EC
P-256 and RSA 2048 leaves for DNS:wasio.test and IP:127.0.0.1) so that the
component can serve HTTPS and the clients can verify it:

  {"file": NAME}   out = the PKI file NAME (root.pem, inter.pem,
                   leaf-ec.pem/.key, leaf-rsa.pem/.key): the component's
                   certificate chain and key.
  {"run": "curl"|"wrk"|"openssl", "args": [...], "gen": N, "seed": S,
   "stdin": TEXT}  as http_ctl's run; "{CA}" in args is the root's path;
                   openssl may only run s_client; a URL's host must be
                   loopback or mapped to 127.0.0.1 by curl's --resolve; TEXT (default empty) is
                   the program's standard input.
  {"tls": PORT, "send": TEXT, "unwrap": bool}
                   a Python ssl client (TLS 1.2, verifying 127.0.0.1 with
                   the root): sends TEXT, reads until the server ends;
                   rc = 0 the server sent close_notify, 1 TCP ended without
                   it, 2 another error; out = the bytes received. With
                   "unwrap" it closes first instead, after the first bytes
                   of the answer: rc 0 when the server answers the client's
                   close_notify with its own.

Every program is bounded in time (http_ctl.RUN_TIMEOUT); the process exits
after --lifetime seconds, or --idle seconds without a command.
"""
import os
import shutil
import socket
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ssl  # noqa: E402

import http_ctl  # noqa: E402
import tls_peer  # noqa: E402

PROGRAMS = {"curl", "wrk", "openssl"}
PKI_TIMEOUT_S = 120.0
pki_box = {}
pki_ready = threading.Event()


def pki_dir():
    if not pki_ready.wait(PKI_TIMEOUT_S) or "dir" not in pki_box:
        raise RuntimeError("PKI not ready: " + pki_box.get("error", "timeout"))
    return pki_box["dir"]


def do_file(conn, cmd):
    name = str(cmd["file"])
    if name not in tls_peer.SERVED_FILES:
        http_ctl.reply(conn, 2, b"", b"no such file", "-")
        return
    with open(os.path.join(pki_dir(), name), "rb") as f:
        http_ctl.reply(conn, 0, f.read(), b"", "-")


def do_run(conn, cmd):
    prog = cmd.get("run")
    ca = os.path.join(pki_dir(), "root.pem")
    args = [str(a).replace("{CA}", ca) for a in cmd.get("args", [])]
    if prog not in PROGRAMS or (prog == "openssl" and args[:1] != ["s_client"]):
        http_ctl.reply(conn, 2, b"", f"program {prog!r} not allowed".encode(), "-")
        return
    # A name that --resolve maps to 127.0.0.1 is loopback too (the
    # wrong-host test connects to "other.test" that way).
    resolved = {n.split(":")[0] for a, n in zip(args, args[1:]) if a == "--resolve" and n.endswith(":127.0.0.1")}
    if not all(http_ctl.loopback_url(a) or http_ctl.URL_HOST.match(a).group(1).split(":")[0] in resolved
               for a in args):
        http_ctl.reply(conn, 2, b"", b"only loopback URLs", "-")
        return
    if prog == "openssl" and any(a == "-connect" and not n.startswith("127.0.0.1:")
                                 for a, n in zip(args, args[1:] + [""])):
        http_ctl.reply(conn, 2, b"", b"only loopback peers", "-")
        return
    http_ctl.run_program(conn, cmd, prog, args, "https_ctl")


def do_tls(conn, cmd):
    ctx = ssl.create_default_context(cafile=os.path.join(pki_dir(), "root.pem"))
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    out, rc = b"", 0
    try:
        raw = socket.create_connection(("127.0.0.1", int(cmd["tls"])), timeout=http_ctl.IO_TIMEOUT)
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1", suppress_ragged_eofs=False) as s:
            s.sendall(str(cmd.get("send", "")).encode())
            if cmd.get("unwrap"):
                out = s.recv(65536)
                s.unwrap()
            else:
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    out += b
    except ssl.SSLEOFError:
        rc = 1
    except (OSError, ssl.SSLError):
        rc = 2
    http_ctl.reply(conn, rc, out, b"", "-")


def main():
    d = tempfile.mkdtemp(prefix="wasio-https-")

    def make_pki():
        # After the port is printed: run.py gives a helper 10 s for that,
        # and RSA keys on a busy machine can take longer.
        try:
            tls_peer.Pki(d)
            pki_box["dir"] = d
        except BaseException as e:  # SystemExit from tls_peer.run() included
            pki_box["error"] = str(e)
        pki_ready.set()

    handlers = {"file": do_file, "run": do_run, "raw": http_ctl.do_raw, "tls": do_tls}
    try:
        return http_ctl.serve_forever(handlers, "https_ctl",
                                      before_accept=lambda: threading.Thread(target=make_pki, daemon=True).start())
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.exit(main())
