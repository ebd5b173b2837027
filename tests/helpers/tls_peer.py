#!/usr/bin/env python3
"""TLS peers for tests/component/tls.c: openssl s_server per scenario.

At start it makes a private PKI with the openssl CLI in a temp directory
(nothing is committed): a root CA, an intermediate CA, leaf certificates
(EC P-256 and RSA 2048) for the name wasio.test and the address 127.0.0.1,
and the bad ones the rejection tests need. Then it listens on 127.0.0.1,
prints the port on the first stdout line, and serves one command per
connection (a line ending in "\\n"):

  start NAME [plain]   starts the peer of scenario NAME on a fresh port of
               loopback (plain: without -rev, so s_server prints what it
               receives and `leaked` can count it);
               replies "PORT\\n", the root CA (PEM) the client should trust,
               and "END\\n".
  file NAME    the PKI file NAME (root.pem, inter.pem, leaf-ec.pem/.key,
               leaf-rsa.pem/.key), then "END\n": for wasio as a TLS server.
  s_client PORT CIPHER   runs openssl s_client against a wasio server on
               127.0.0.1:PORT (TLS 1.2, that cipher, SNI wasio.test,
               verifying with the root), sends "hello from s_client\n";
               replies "rc N\n", its output, "END\n".
  pins NAME    "SPKI CERT\n": hex SHA-256 of leaf NAME's SubjectPublicKeyInfo
               and of its whole DER certificate (for pinning tests).
  s_client13 PORT GROUPS   as s_client, but TLS 1.3 with the key-exchange
               groups GROUPS (the first gets the key share: one wasio does
               not take, X448, makes it ask again with a HelloRetryRequest)
               and every handshake message logged (-msg)
  hellos PORT  after the hrr scenario: "N\n", the ClientHellos s_server
               received (2 after a HelloRetryRequest)
  stdin PORT TEXT   a line to that s_server's standard input: in the
               keyupdate scenario "k" makes it send a TLS 1.3 KeyUpdate, and
               any other line is sent as application data; replies "ok\n"
  alert PORT   after an s_server scenario: waits for that s_server to end
               (bounded) and replies the description of the fatal alert it
               received from the client ("unknown ca\\n",
               "certificate expired\\n", ...) or "none\\n": why a client
               refused, seen from the peer.
  leaked PORT  after a scenario: "N\\n", how many times the peer on PORT
               received the client's marker line (WASIO-APP-DATA): the proof
               that no application byte was sent.
  end PORT     after an ending/ending13 scenario: waits for that peer to be
               done (bounded) and replies how the client ended its sending
               side: "close_notify fin\\n" (close_notify, then the TCP FIN),
               "close_notify nofin\\n" (no FIN within END_FIN_WAIT_S after
               it), "eof\\n" (the TCP ended without close_notify: a
               truncation), "error TEXT\\n", or "pending\\n".

Scenarios (s_server unless said; one connection each, -naccept 1):
  resume       like ecdsa (any suite, no ALPN) for three connections
  ecdsa, rsa-gcm, rsa-chacha   good chains (leaf + intermediate), TLS 1.2,
      ECDHE-ECDSA-AES128-GCM-SHA256 / ECDHE-RSA-AES256-GCM-SHA384 /
      ECDHE-RSA-CHACHA20-POLY1305, -rev (each line comes back reversed)
  anysuite     good EC chain, AES-128-GCM and ChaCha20-Poly1305 both
               allowed, the client's order deciding (s_server's default)
  ip-only-dns   good chain whose leaf names only DNS:wasio.test (no IP)
  wildcard      good chain, leaf for DNS:*.wasio.test only, -rev
  expired, notyet, wronghost, selfsigned, unknownca, nointer, sha1
                one defect each (nointer: the intermediate is not sent)
  nosan, badwild, widewild, ipdns, ipwild, clientauth, rsa1024, noca,
  nosign, interexp   one break of a verification rule each: no
                subjectAltName (CN wasio.test), DNS:w*.wasio.test,
                DNS:*.test, DNS:127.0.0.1, DNS:*.0.0.1, extendedKeyUsage
                clientAuth, an RSA-1024 leaf, an intermediate that is no CA,
                one without keyCertSign, an expired intermediate
  tls10         TLS 1.0 only (-tls1, SECLEVEL=0)
  truncate      Python ssl: handshake, send "partial\\n", then close TCP
                without close_notify
  clean         Python ssl: handshake, send "bye\\n", then close_notify
  plainhttp     no TLS: reads, answers "HTTP/1.1 400 Bad Request", closes
  clientcert    good EC chain, TLS 1.2, requires a client certificate
                (-Verify 1): a client without one gets a fatal alert
  tls13         good EC chain, TLS 1.3 only, -rev, ALPN http/1.1
  anysuite13    like tls13 with AES-128-GCM and ChaCha20-Poly1305, the
                client's order deciding
  resume13      like tls13 (no ALPN) for three connections: resumption by
                TLS 1.3 ticket
  resume-id     like resume, without tickets: resumption by session ID
  hrr           like tls13 with P-256 as the only group: a client whose key
                share is X25519 gets a HelloRetryRequest (-msg logs it)
  keyupdate     TLS 1.3, good EC chain, s_server reading its standard
                input (`stdin`): "k" sends a KeyUpdate
  clean13, truncate13   as clean and truncate, TLS 1.3 only
  ending, ending13   Python ssl, TLS 1.2 / TLS 1.3 only, good EC chain:
                each line comes back reversed (as s_server -rev) until the
                client's sending side ends; then, if that was a
                close_notify, answers with its own and waits for the FIN;
                `end PORT` says what it saw
  https         Python ssl (TLS 1.2 or 1.3), good EC chain: reads one
                HTTP/1.1 request, answers 200 with Content-Length and the
                body HTTPS_BODY_PREFIX + the request path + "\\n", then
                close_notify; `leaked` counts the marker in the request
Exits after --lifetime seconds, killing every peer it started.
"""
import argparse
import hashlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import pydriver  # noqa: E402
from pydriver import OPENSSL  # noqa: E402

MARKER = b"WASIO-APP-DATA"
START_TIMEOUT_S = 10
IO_TIMEOUT_S = 20
# After the client's close_notify (ending scenarios): how long the peer
# waits for the TCP FIN that should follow it at once.
END_FIN_WAIT_S = 10
LINE_MAX = 16384


def Pki(d):
    """tls_peer's PKI in d (tests/pydriver.py's Pki): the roots, the
    intermediate and every leaf the scenarios serve."""
    p = pydriver.Pki(d)
    p.self_signed("root", "wasio test root")
    p.self_signed("other-root", "some other root")
    p.issue("inter", "root", pydriver.CA_EXT + "subjectKeyIdentifier = hash\n", cn="wasio test intermediate")
    leaf = pydriver.leaf_ext("DNS:wasio.test, IP:127.0.0.1")
    p.issue("leaf-ec", "inter", leaf)
    p.issue("leaf-rsa", "inter", leaf, kind="rsa")
    p.issue("leaf-dns", "inter", pydriver.leaf_ext("DNS:wasio.test"))
    p.issue("leaf-expired", "inter", leaf, start="20200101000000Z", end="20210101000000Z")
    p.issue("leaf-notyet", "inter", leaf, start="20900101000000Z", end="20910101000000Z")
    p.issue("leaf-other", "inter", pydriver.leaf_ext("DNS:other.test, IP:10.9.8.7"))
    p.issue("leaf-wild", "inter", pydriver.leaf_ext("DNS:*.wasio.test"), cn="*.wasio.test")
    p.issue("leaf-unknown", "other-root", leaf)
    p.issue("leaf-sha1", "inter", leaf, kind="rsa", md="sha1")
    p.self_signed("leaf-self", "wasio.test", "subjectAltName = DNS:wasio.test,IP:127.0.0.1\n", days=30)
    # One defect each for the verification rules (wasio/tls.h).
    no_san = "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n" \
             "extendedKeyUsage = serverAuth\n"
    p.issue("leaf-nosan", "inter", no_san)
    p.issue("leaf-badwild", "inter", pydriver.leaf_ext("DNS:w*.wasio.test"), cn="w*.wasio.test")
    p.issue("leaf-widewild", "inter", pydriver.leaf_ext("DNS:*.test"), cn="*.test")
    p.issue("leaf-ipdns", "inter", pydriver.leaf_ext("DNS:127.0.0.1"), cn="127.0.0.1")
    p.issue("leaf-ipwild", "inter", pydriver.leaf_ext("DNS:*.0.0.1"), cn="*.0.0.1")
    p.issue("leaf-clientauth", "inter", pydriver.leaf_ext("DNS:wasio.test, IP:127.0.0.1").replace(
        "extendedKeyUsage = serverAuth", "extendedKeyUsage = clientAuth"))
    p.issue("leaf-rsa1024", "inter", leaf, kind="rsa1024")
    p.issue("inter-noca", "root", "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, keyCertSign\n",
            cn="wasio test intermediate, no CA")
    p.issue("leaf-noca", "inter-noca", leaf)
    p.issue("inter-nosign", "root", "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, digitalSignature\n",
            cn="wasio test intermediate, no keyCertSign")
    p.issue("leaf-nosign", "inter-nosign", leaf)
    p.issue("inter-expired", "root", pydriver.CA_EXT, cn="wasio test intermediate, expired",
            start="20200101000000Z", end="20210101000000Z")
    p.issue("leaf-interexp", "inter-expired", leaf)
    return p


# scenario -> (leaf, the intermediate to send (True: inter, False: none), extra s_server arguments)
S_SERVER = {
    "nosan": ("leaf-nosan", True, ["-tls1_2"]),
    "badwild": ("leaf-badwild", True, ["-tls1_2"]),
    "widewild": ("leaf-widewild", True, ["-tls1_2"]),
    "ipdns": ("leaf-ipdns", True, ["-tls1_2"]),
    "ipwild": ("leaf-ipwild", True, ["-tls1_2"]),
    "clientauth": ("leaf-clientauth", True, ["-tls1_2"]),
    "rsa1024": ("leaf-rsa1024", True, ["-tls1_2", "-cipher", "DEFAULT@SECLEVEL=0"]),
    "noca": ("leaf-noca", "inter-noca", ["-tls1_2"]),
    "nosign": ("leaf-nosign", "inter-nosign", ["-tls1_2"]),
    "interexp": ("leaf-interexp", "inter-expired", ["-tls1_2"]),
    "ecdsa": ("leaf-ec", True, ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", "-rev", "-alpn", "http/1.1"]),
    "resume": ("leaf-ec", True, ["-tls1_2", "-rev"]),
    "anysuite": ("leaf-ec", True, ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305", "-rev"]),
    "rsa-gcm": ("leaf-rsa", True, ["-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384", "-rev"]),
    "rsa-chacha": ("leaf-rsa", True, ["-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305", "-rev"]),
    "ip-only-dns": ("leaf-dns", True, ["-tls1_2"]),
    "wildcard": ("leaf-wild", True, ["-tls1_2", "-rev"]),
    "expired": ("leaf-expired", True, ["-tls1_2"]),
    "notyet": ("leaf-notyet", True, ["-tls1_2"]),
    "wronghost": ("leaf-other", True, ["-tls1_2"]),
    "selfsigned": ("leaf-self", False, ["-tls1_2"]),
    "unknownca": ("leaf-unknown", False, ["-tls1_2"]),
    "nointer": ("leaf-ec", False, ["-tls1_2"]),
    "sha1": ("leaf-sha1", True, ["-tls1_2", "-cipher", "DEFAULT@SECLEVEL=0"]),
    "tls10": ("leaf-ec", True, ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]),
    "tls13": ("leaf-ec", True, ["-tls1_3", "-rev", "-alpn", "http/1.1"]),
    "anysuite13": ("leaf-ec", True, ["-tls1_3", "-ciphersuites",
                                     "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256", "-rev"]),
    "resume13": ("leaf-ec", True, ["-tls1_3", "-rev"]),
    "resume-id": ("leaf-ec", True, ["-tls1_2", "-rev", "-no_ticket"]),
    "hrr": ("leaf-ec", True, ["-tls1_3", "-rev", "-groups", "P-256", "-msg"]),
    "keyupdate": ("leaf-ec", True, ["-tls1_3"]),
    "clientcert": ("leaf-ec", True, ["-tls1_2", "-Verify", "1"]),
}
PY_SCENARIOS = ("truncate", "clean", "truncate13", "clean13", "https", "plainhttp", "ending", "ending13")
HTTPS_BODY_PREFIX = b"wasio https peer: "
HTTP_REQUEST_MAX = 16384

SERVED_FILES = {"root.pem", "inter.pem", "leaf-ec.pem", "leaf-ec.key", "leaf-rsa.pem", "leaf-rsa.key"}
peers = {}  # port -> object with .leaked()
lock = threading.Lock()


class SServer:
    def __init__(self, pki, name, plain=False):
        leaf, inter, extra = S_SERVER[name]
        if plain:
            extra = [a for a in extra if a != "-rev"]
        d = pki.d
        self.out = f"{d}/s_server-{name}-{time.monotonic_ns()}.out"
        naccept = "3" if name.startswith("resume") else "1"
        args = [OPENSSL, "s_server", "-accept", "0", "-naccept", naccept, "-cert", f"{d}/{leaf}.pem",
                "-key", f"{d}/{leaf}.key", *extra]
        if inter:
            args += ["-cert_chain", f"{d}/{'inter' if inter is True else inter}.pem"]
        self.f = open(self.out, "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=self.f, stderr=subprocess.STDOUT)
        deadline = time.time() + START_TIMEOUT_S
        self.port = None
        while time.time() < deadline and self.port is None:
            m = re.search(rb"ACCEPT .*:(\d+)", open(self.out, "rb").read())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                break
            else:
                time.sleep(0.02)
        if self.port is None:
            raise RuntimeError("s_server did not start: " + open(self.out, "rb").read().decode(errors="replace"))

    def leaked(self):
        return open(self.out, "rb").read().count(MARKER)

    def hellos(self):
        # -msg logs each message received as "<<< ... ClientHello".
        return sum(1 for line in open(self.out, "rb") if line.startswith(b"<<< ") and b"ClientHello" in line)

    def stdin(self, text):
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def alert(self):
        # -naccept 1: s_server exits once its one connection has ended, so
        # its log is complete then.
        self.proc.wait(timeout=IO_TIMEOUT_S)
        m = re.search(rb"(?:sslv3|tlsv1) alert ([a-z ]+):", open(self.out, "rb").read())
        return m.group(1).decode() if m else "none"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.f.close()


class PyServer:
    """Python's ssl module: full control over how the connection ends."""

    def __init__(self, pki, name):
        self.name = name
        self.received = b""
        self.end = "pending"
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls13 = name.endswith("13")
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_3 if tls13 else ssl.TLSVersion.TLSv1_2
        if name != "https" and not tls13:
            self.ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        chain = f"{pki.d}/leaf-ec-chain.pem"
        with open(chain, "w") as f:
            f.write(open(f"{pki.d}/leaf-ec.pem").read() + open(f"{pki.d}/inter.pem").read())
        self.ctx.load_cert_chain(chain, f"{pki.d}/leaf-ec.key")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(IO_TIMEOUT_S)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            raw, _ = self.sock.accept()
            raw.settimeout(IO_TIMEOUT_S)
            if self.name == "plainhttp":
                # No TLS at all: what a plain HTTP server answers to a ClientHello.
                self.received = raw.recv(HTTP_REQUEST_MAX)
                raw.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                raw.close()
                return
            # ending: a TCP end without close_notify must raise
            # SSLEOFError instead of reading as b"" (close_notify).
            ending = self.name in ("ending", "ending13")
            s = self.ctx.wrap_socket(raw, server_side=True, suppress_ragged_eofs=not ending)
            if ending:
                self.serve_ending(s)
            elif self.name == "https":
                self.serve_https(s)
            elif self.name in ("truncate", "truncate13"):
                s.sendall(b"partial\n")
                time.sleep(0.2)
                # Close the TCP connection under TLS: no close_notify.
                raw2 = socket.socket(fileno=s.detach())
                raw2.shutdown(socket.SHUT_RDWR)
                raw2.close()
            else:  # clean
                s.sendall(b"bye\n")
                s.unwrap()  # sends close_notify and waits for the client's
                s.close()
        except (OSError, ssl.SSLError) as e:
            print(f"tls_peer: {self.name}: {e}", file=sys.stderr)
        finally:
            self.sock.close()

    def serve_ending(self, s):
        buf = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break  # close_notify
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self.received += line + b"\n"
                    s.sendall(line[::-1] + b"\n")
                if len(buf) > LINE_MAX:
                    raise ssl.SSLError("line too long")
        except ssl.SSLEOFError:
            self.end = "eof"
            return
        except (OSError, ssl.SSLError) as e:
            self.end = f"error {e}".replace("\n", " ")
            return
        raw = s.unwrap()  # our close_notify (theirs was read)
        raw.settimeout(END_FIN_WAIT_S)
        try:
            rest = raw.recv(1)
            self.end = "close_notify fin" if rest == b"" else "error bytes after close_notify"
        except socket.timeout:
            self.end = "close_notify nofin"
        except OSError as e:
            self.end = f"error {e}"
        raw.close()

    def ended(self):
        self.thread.join(IO_TIMEOUT_S + END_FIN_WAIT_S)
        return self.end

    def serve_https(self, s):
        req = b""
        while b"\r\n\r\n" not in req and len(req) < HTTP_REQUEST_MAX:
            chunk = s.recv(4096)
            if not chunk:
                break
            req += chunk
        self.received = req
        parts = req.split(b" ", 2)
        path = parts[1] if len(parts) == 3 and parts[0] == b"GET" else b"?"
        body = HTTPS_BODY_PREFIX + path + b"\n"
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                  + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        try:
            s.unwrap()  # close_notify; the client may close first
        except (OSError, ssl.SSLError):
            pass
        s.close()

    def leaked(self):
        return self.received.count(MARKER)

    def stop(self):
        pass


PKI_TIMEOUT_S = 120
pki_ready = threading.Event()
pki_box = {}


def handle(conn):
    conn.settimeout(IO_TIMEOUT_S)
    f = conn.makefile("rwb")
    line = f.readline().decode().split()
    try:
        # The PKI is made after the port is printed (run.py gives a helper
        # 10 s to print it; RSA keys on a busy machine can take longer).
        if not pki_ready.wait(PKI_TIMEOUT_S) or "pki" not in pki_box:
            raise RuntimeError("PKI not ready: " + pki_box.get("error", "timeout"))
        pki, root_pem = pki_box["pki"], pki_box["root"]
        if len(line) in (2, 3) and line[0] == "start":
            name = line[1]
            plain = len(line) == 3 and line[2] == "plain"
            peer = PyServer(pki, name) if name in PY_SCENARIOS else SServer(pki, name, plain)
            with lock:
                peers[peer.port] = peer
            f.write(f"{peer.port}\n".encode() + root_pem + b"END\n")
        elif len(line) == 2 and line[0] == "file" and line[1] in SERVED_FILES:
            f.write(open(f"{pki.d}/{line[1]}", "rb").read() + b"END\n")
        elif len(line) == 2 and line[0] == "pins" and f"{line[1]}.pem" in SERVED_FILES:
            pem = f"{pki.d}/{line[1]}.pem"
            der = subprocess.run([OPENSSL, "x509", "-in", pem, "-outform", "der"], stdout=subprocess.PIPE,
                                 check=True).stdout
            pub = subprocess.run([OPENSSL, "x509", "-in", pem, "-pubkey", "-noout"], stdout=subprocess.PIPE,
                                 check=True).stdout
            spki = subprocess.run([OPENSSL, "pkey", "-pubin", "-outform", "der"], input=pub,
                                  stdout=subprocess.PIPE, check=True).stdout
            f.write(f"{hashlib.sha256(spki).hexdigest()} {hashlib.sha256(der).hexdigest()}\n".encode())
        elif len(line) == 3 and line[0] == "s_client":
            p = subprocess.run([OPENSSL, "s_client", "-connect", f"127.0.0.1:{int(line[1])}", "-tls1_2",
                                "-cipher", line[2], "-servername", "wasio.test", "-CAfile", f"{pki.d}/root.pem",
                                "-verify_return_error", "-verify_hostname", "wasio.test", "-quiet"],
                               input=b"hello from s_client\n", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=IO_TIMEOUT_S)
            f.write(f"rc {p.returncode}\n".encode() + p.stdout + b"END\n")
        elif len(line) == 3 and line[0] == "s_client13":
            # TLS 1.3 with these key-exchange groups, the first of which
            # gets the key share (-msg: every handshake message is logged).
            p = subprocess.run([OPENSSL, "s_client", "-connect", f"127.0.0.1:{int(line[1])}", "-tls1_3",
                                "-groups", line[2], "-servername", "wasio.test", "-CAfile", f"{pki.d}/root.pem",
                                "-verify_return_error", "-verify_hostname", "wasio.test", "-msg", "-ign_eof"],
                               input=b"hello from s_client\n", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=IO_TIMEOUT_S)
            f.write(f"rc {p.returncode}\n".encode() + p.stdout + b"END\n")
        elif len(line) == 2 and line[0] in ("hellos", "alert"):
            with lock:
                peer = peers.get(int(line[1]))
            if not isinstance(peer, SServer):
                raise RuntimeError(f"no s_server on port {line[1]}")
            f.write(f"{peer.hellos() if line[0] == 'hellos' else peer.alert()}\n".encode())
        elif len(line) >= 3 and line[0] == "stdin":
            with lock:
                peer = peers.get(int(line[1]))
            if not isinstance(peer, SServer):
                raise RuntimeError(f"no s_server on port {line[1]}")
            peer.stdin(" ".join(line[2:]))
            f.write(b"ok\n")
        elif len(line) == 2 and line[0] == "end":
            with lock:
                peer = peers.get(int(line[1]))
            if not isinstance(peer, PyServer) or peer.name not in ("ending", "ending13"):
                raise RuntimeError(f"no ending peer on port {line[1]}")
            f.write(f"{peer.ended()}\n".encode())
        elif len(line) == 2 and line[0] == "leaked":
            time.sleep(0.1)  # let the peer write out what it got
            with lock:
                peer = peers.get(int(line[1]))
            f.write(f"{peer.leaked() if peer else -1}\n".encode())
        else:
            f.write(b"error unknown command\n")
        f.flush()
    except (RuntimeError, KeyError, subprocess.TimeoutExpired) as e:
        f.write(f"error {e}\n".encode())
        f.flush()
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetime", type=float, default=300)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="wasio-tls-")
    def make_pki():
        try:
            pki_box["pki"] = Pki(d)
            pki_box["root"] = open(f"{d}/root.pem", "rb").read()
        except BaseException as e:  # SystemExit from pydriver.openssl() included
            pki_box["error"] = str(e)
        pki_ready.set()

    try:
        _, socks = pydriver.loopback_sockets(name="tls_peer", ipv6=False, reuse=True)
        pydriver.serve_connections(socks, handle, a.lifetime, backlog=16,
                                   before_accept=lambda: threading.Thread(target=make_pki, daemon=True).start())
    except KeyboardInterrupt:
        pass
    finally:
        for p in list(peers.values()):
            p.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    main()
