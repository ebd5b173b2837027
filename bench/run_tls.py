#!/usr/bin/env python3
"""bench/run_tls.py: TLS handshakes/s and bulk MB/s, one run, with ratios.

Five local `openssl s_server -WWW` (loopback; an EC P-256 leaf and an
RSA-2048 leaf made here with the openssl CLI in a temp dir): with the P-256
key, two TLS 1.2 ones, one allowing only ECDHE-ECDSA-AES128-GCM-SHA256, one
only ECDHE-ECDSA-CHACHA20-POLY1305, and a TLS 1.3 one (its default suites;
the client's order decides); with the RSA-2048 key, a TLS 1.2 one allowing
only ECDHE-RSA-AES128-GCM-SHA256 and a TLS 1.3 one (RSA-PSS signatures).
They serve every client in turn, interleaved per round:
  native    build/native-release/bench/tls_client (mbedTLS -O2, no sanitizers;
            AES-NI where the CPU has it)
  wasmtime  build/wasm32/bench/tls_client.wasm via tools/wasio-run --net
  s_time    native `openssl s_time -new` (OpenSSL, the same server)
  host TLS  build/wasm32/bench-hosttls/tls_client.wasm ("host": the host's
            wasi:tls) via tools/wasio-run --host tlshost (wasmtime-wasi-tls,
            OpenSSL provider), SSL_CERT_FILE = the servers' two certificates;
            wasmtime -S tls (rustls, webpki roots only) cannot trust a local
            server, so it has no row (docs/HOST_TLS.md)
Handshakes: full handshakes (no resumption), connect + handshake + close,
against the TLS 1.2 AES-GCM servers and against the TLS 1.3 ones, for each
key (ECDSA P-256 and RSA-2048).
Bulk: each connection GETs a BULK_MIB file; MB/s = 10^6 plaintext bytes/s
(handshakes included, amortised over the file, the same for every client).
"""
import argparse, os, platform, re, shutil, socket, subprocess, sys, tempfile, time, datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
CIPHER = "ECDHE-ECDSA-AES128-GCM-SHA256"
CIPHER_CC = "ECDHE-ECDSA-CHACHA20-POLY1305"
CIPHER_RSA = "ECDHE-RSA-AES128-GCM-SHA256"
# The TLS 1.3 servers' keys in `ports` (their suites are s_server's defaults).
TLS13 = "TLS 1.3"
TLS13_RSA = "TLS 1.3 RSA"
NATIVE = os.path.join(ROOT, "build/native-release/bench/tls_client")
WASM = os.path.join(ROOT, "build/wasm32/bench/tls_client.wasm")
WASM_HOST = os.path.join(ROOT, "build/wasm32/bench-hosttls/tls_client.wasm")
RUN = os.path.join(ROOT, "tools/wasio-run")
TOOLS_BIN = os.path.join(os.environ.get("WASIO_TOOLS", os.path.expanduser("~/.cache/wasio")), "bin")
HOST_NOTE = ("wasmtime -S tls (the CLI's rustls provider) has no row: it trusts only the webpki roots "
             "compiled into wasmtime, so a local server cannot be trusted; docs/HOST_TLS.md")


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def run_ours(cmd, secs, path, size, env=None):
    extra = [path, str(size)] if path else []
    out = subprocess.run(cmd + [str(secs)] + extra, capture_output=True, text=True,
                         timeout=secs + 30, env=env)
    m = re.search(r"RESULT conns=(\d+) seconds=([\d.]+) bytes=(\d+)", out.stdout)
    if not m:
        raise RuntimeError("%s: %s %s" % (cmd[0], out.stdout.strip(), out.stderr.strip()[-400:]))
    return int(m[1]), float(m[2]), int(m[3])


def run_stime(port, cipher, secs, path, size):
    cmd = [OPENSSL, "s_time", "-connect", "127.0.0.1:%d" % port, "-new", "-time", str(int(secs))]
    if cipher not in (TLS13, TLS13_RSA):
        cmd += ["-cipher", cipher]
    if path:
        cmd += ["-www", "/" + path]
    t0 = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 60)
    wall = time.monotonic() - t0
    # "N connections in T real seconds, B bytes read per connection"
    m = re.search(r"(\d+) connections in ([\d.]+) real seconds, (\d+) bytes read per connection",
                  out.stdout)
    if not m:
        raise RuntimeError("s_time: " + out.stdout[-400:] + out.stderr[-400:])
    n, t, per = int(m[1]), float(m[2]), int(m[3])
    if path and per < size:
        raise RuntimeError("s_time read %d bytes per connection, expected %d" % (per, size))
    # s_time's "real seconds" is time(NULL) differences, whole seconds (it
    # prints 3 for a 2 s run): the process's wall time is used instead (it
    # includes openssl's start-up, a few ms, against s_time).
    return n, wall, n * per


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=3, help="per measurement, whole seconds for s_time (default 3)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--bulk-mib", type=int, default=16, help="file size per bulk GET (default 16)")
    a = ap.parse_args()
    t_all = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="wasio-tlsbench-")
    srvs = []
    try:
        def ossl(*args):
            subprocess.run([OPENSSL] + list(args), check=True, capture_output=True, cwd=tmp)
        ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa_key.pem",
             "-out", "rsa_cert.pem", "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
        with open(os.path.join(tmp, "trust.pem"), "w") as f:
            for name in ("cert.pem", "rsa_cert.pem"):
                f.write(open(os.path.join(tmp, name)).read())
        size = a.bulk_mib * 1024 * 1024
        with open(os.path.join(tmp, "bulk.bin"), "wb") as f:
            f.write(os.urandom(size))
        ports = {}
        for cipher in (CIPHER, CIPHER_CC, TLS13, CIPHER_RSA, TLS13_RSA):
            port = ports[cipher] = free_port()
            version = ["-tls1_3"] if cipher in (TLS13, TLS13_RSA) else ["-tls1_2", "-cipher", cipher]
            rsa = cipher in (CIPHER_RSA, TLS13_RSA)
            srvs.append(subprocess.Popen([OPENSSL, "s_server", "-accept", "127.0.0.1:%d" % port,
                                          "-cert", "rsa_cert.pem" if rsa else "cert.pem",
                                          "-key", "rsa_key.pem" if rsa else "key.pem", *version,
                                          "-WWW", "-quiet"], cwd=tmp,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL))
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close(); break
                except OSError:
                    time.sleep(0.05)
        ver = subprocess.run([OPENSSL, "version"], capture_output=True, text=True).stdout.strip()
        wt = subprocess.run([os.path.join(os.environ.get("WASIO_TOOLS", os.path.expanduser("~/.cache/wasio")), "bin", "wasmtime"), "--version"], capture_output=True, text=True).stdout.strip()
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        # In a `git archive` export there is no git: WASIO_COMMIT names it.
        commit = os.environ.get("WASIO_COMMIT") or commit or "unknown (set WASIO_COMMIT)"
        cpu = "?"
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip(); break
        print("%s; %d CPUs (%s), Linux %s; commit %s" % (
            datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), os.cpu_count(), cpu,
            platform.release(), commit))
        th = os.path.join(TOOLS_BIN, "wasio-tls-host")
        print("%s; %s; tlshost = %s (wasmtime-wasi-tls 48.0.3, OpenSSL provider)" % (
            wt, ver, os.path.realpath(th)))
        print("Load average at start: %s" % open("/proc/loadavg").read().split(" ", 3)[:3])
        print("Command: make bench-tls  (python3 bench/run_tls.py %s)" % " ".join(sys.argv[1:]))
        print()
        env_host = dict(os.environ, SSL_CERT_FILE=os.path.join(tmp, "trust.pem"))
        clients = {  # name -> f(seconds, path, size, cipher)
            "mbedTLS native": lambda s, p, z, c: run_ours([NATIVE, str(ports[c])], s, p, z),
            "mbedTLS wasmtime": lambda s, p, z, c: run_ours(
                [RUN, "--net", "--timeout", str(int(s) + 30), WASM, str(ports[c])], s, p, z),
            "openssl s_time": lambda s, p, z, c: run_stime(ports[c], c, s, p, z),
            "host wasi:tls (tlshost)": lambda s, p, z, c: run_ours(
                [RUN, "--host", "tlshost", "--timeout", str(int(s) + 30), WASM_HOST, "host", str(ports[c])],
                s, p, z, env=env_host),
        }
        kinds = (("hs", None, CIPHER), ("hs13", None, TLS13), ("hs_rsa", None, CIPHER_RSA),
                 ("hs13_rsa", None, TLS13_RSA), ("bulk", "bulk.bin", CIPHER),
                 ("bulk_cc", "bulk.bin", CIPHER_CC))
        res = {(c, k[0]): [] for c in clients for k in kinds}
        for r in range(a.rounds):
            names = list(clients)
            names = names[r % len(names):] + names[:r % len(names)]
            for kind, path, cipher in kinds:
                for c in names:
                    n, t, b = clients[c](a.seconds, path, size, cipher)
                    v = n / t if kind.startswith("hs") else b / t / 1e6
                    res[(c, kind)].append(v)
                    print("  [%s %s round %d: conns=%d seconds=%.3f bytes=%d -> %.1f]" % (
                        c, kind, r + 1, n, t, b, v), file=sys.stderr, flush=True)
        med = lambda xs: sorted(xs)[len(xs) // 2]
        print("### ECDSA P-256 and RSA-2048 server keys, loopback, openssl s_server -WWW")
        print()
        print("%ds per measurement, %d rounds interleaved (client order rotates); median with range." % (a.seconds, a.rounds))
        print("Handshakes: full (no resumption): TCP connect + handshake + close, one at a time.")
        print("Bulk: one %d MiB GET per connection (handshake included); MB/s = 10^6 plaintext bytes/s." % a.bulk_mib)
        print("Ratios: against mbedTLS native's median of this same invocation. The one-threaded s_server")
        print("shares the machine with each client, and its cost is in every row alike. mbedTLS clients:")
        print("`insecure` config (no chain/name check; s_time does not verify either); a fresh config per")
        print("connection, so nothing is resumed. wasmtime: timed inside the component (start-up excluded).")
        print("s_time: its process wall time (its own 'real seconds' are whole seconds).")
        print("host wasi:tls: the component's \"host\" mode under tools/wasio-run --host tlshost, timed")
        print("inside the component; the host (OpenSSL 3 in wasmtime-wasi-tls) verifies chain and name")
        print("(SSL_CERT_FILE = the servers' two certificates); each connection ends with close_notify through")
        print("the draft's close-output, as the guest's do; the plaintext crosses the component boundary")
        print("via wasi:io streams.")
        print()
        print("Each cell: median (min-max), then the ratio to mbedTLS native's median. Bulk: TLS 1.2.")
        print()
        print("| client | TLS 1.2 P-256 handshakes/s | TLS 1.3 P-256 handshakes/s | "
              "TLS 1.2 RSA-2048 handshakes/s | TLS 1.3 RSA-2048 handshakes/s | "
              "AES-128-GCM bulk MB/s | ChaCha20-Poly1305 bulk MB/s |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        base = {k[0]: med(res[("mbedTLS native", k[0])]) for k in kinds}
        for c in clients:
            cells = []
            for kind, _, _ in kinds:
                xs = res[(c, kind)]
                fmt = "%.0f (%.0f-%.0f) %.2fx" if kind.startswith("hs") else "%.1f (%.1f-%.1f) %.2fx"
                cells.append(fmt % (med(xs), min(xs), max(xs), med(xs) / base[kind]))
            print("| %s | %s |" % (c, " | ".join(cells)))
        print()
        print(HOST_NOTE)
        print("Total time: %.0f s" % (time.monotonic() - t_all))
    finally:
        for srv in srvs:
            srv.kill(); srv.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
