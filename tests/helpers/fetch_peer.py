#!/usr/bin/env python3
"""An HTTP peer for tests/apps/wasio_fetch.py: what curl users meet, good
and bad, plus a forward proxy, on one port of 127.0.0.1.

The tests run wasio-fetch and the real curl against the same endpoints and
compare exit status and output. Prints the port on the first stdout line,
then answers by path (the query is ignored unless named):

  /hello                 200 "hello\\n" (text/plain), keep-alive
  /head                  200, the body is the request head as received
                         (request line, fields, empty line: CRLFs kept)
  /echo, /echo/...       200, the body is the request body as received
                         (Content-Length or chunked); X-Method: METHOD
  /status/N              status N, body "status N\\n"; ?retry_after=S adds
                         Retry-After: S
  /redirect/N            302 (or ?code=C) to /redirect/N-1 (query kept);
                         /redirect/0 answers 200 "done METHOD\\n"; with
                         ?to=URL the last hop goes to URL instead
  /to?url=URL            302 (or ?code=C) to URL (Location as given)
  /set-cookie?N=V        Set-Cookie: N=V; Path=/ for each pair (?next=P
                         also redirects to P with 302; ?attr=A appends
                         "; A" to each, e.g. an Expires or Max-Age)
  /cookies               200, the body is the Cookie field's value + "\\n"
                         (or "-\\n" when there is none)
  /bytes/N               N deterministic bytes (byte i is (i*7+3)&255) with
                         Content-Length and Accept-Ranges; one Range
                         "bytes=A-" or "bytes=A-B" gives 206 + Content-Range,
                         a range past the end 416 with "bytes */N";
                         ?norange=1 ignores Range (200); ?chunked=1 sends
                         the body chunked; ?slow_ms=T sleeps T ms after
                         each 64 KiB
  /gzip /deflate /deflate-raw  TEXT (below) compressed with that
                         Content-Encoding ("deflate-raw" is deflate
                         without the zlib wrapper, as some servers send);
                         ?chunked=1 chunked
  /gzip-bad              Content-Encoding: gzip, but not gzip data
  /gzip-truncated        the first 300 bytes of /gzip's body, framed whole
  /br                    Content-Encoding: br (an encoding wasio-fetch and
                         this curl build differ on: see the tests)
  /flaky/KEY/N           the first N requests for KEY get 503 (or ?code=C,
                         ?retry_after=S), later ones 200 "ok\\n"
  /quirk/NAME            one malformed or odd response, then close:
      nocolon            a header line without a colon
      nul                a NUL byte inside a header value
      badstatus          status "abc"
      http09             no status line at all ("hello\\r\\n")
      empty              closes without a byte
      truncated          Content-Length: 100, then 10 bytes and close
      truncated-chunked  a 16-byte chunk cut after 5 bytes, then close
      badchunk           chunk size "zz"
      badchunk-ext       a chunk extension whose quoted string never closes
      cl-mismatch        two different Content-Length values
      close-delimited    HTTP/1.0, no length: body until close
      continue           "100 Continue", then 200 "after 100\\n"
  /proxy-log             the request lines this peer received AS A PROXY
                         since the last /proxy-log, one per line, each
                         followed by " auth=VALUE" (Proxy-Authorization or
                         "-"); reading clears it
As a proxy (a request in absolute form, or CONNECT):
  GET http://H:P/...     forwarded to H:P in origin form with
                         Connection: close, the answer relayed, then close
  CONNECT H:P            200 and a byte tunnel to H:P; host
                         "forbidden.invalid" gets 403, an unreachable
                         target 502
Only 127.0.0.1, localhost and [::1] are proxied to. The process exits after
--lifetime seconds.
"""
import argparse
import gzip
import os
import socket
import sys
import threading
import time
import urllib.parse
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pydriver  # noqa: E402

TEXT = b"".join(b"line %04d of the compressible text\n" % i for i in range(400))
IO_TIMEOUT = 30.0
MAX_HEAD = 65536
MAX_BODY = 64 << 20
PROXY_TARGETS = {"127.0.0.1", "localhost", "::1"}

lock = threading.Lock()
flaky = {}
proxy_log = []


def body_bytes(n):
    return bytes((i * 7 + 3) & 255 for i in range(n))


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def recv_more(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > MAX_HEAD:
                raise EOFError
            self.recv_more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        return head + b"\r\n\r\n"

    def read_exact(self, n):
        while len(self.buf) < n:
            self.recv_more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_line(self):
        while b"\r\n" not in self.buf:
            self.recv_more()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def read_body(self, fields):
        if "chunked" in fields.get("transfer-encoding", "").lower():
            out = b""
            while True:
                size = int(self.read_line().split(b";")[0], 16)
                if size == 0:
                    while self.read_line():
                        pass
                    return out
                out += self.read_exact(size)
                self.read_line()
                if len(out) > MAX_BODY:
                    raise EOFError
        n = int(fields.get("content-length", "0") or "0")
        if n > MAX_BODY:
            raise EOFError
        return self.read_exact(n)


def parse_head(head):
    lines = head.split(b"\r\n")
    parts = lines[0].decode("latin-1").split(" ")
    method, target = parts[0], parts[1] if len(parts) > 1 else "/"
    fields = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.decode("latin-1").partition(":")
        fields[name.strip().lower()] = value.strip()
    return method, target, fields


def response(status, body=b"", headers=(), reason=None, chunked=False, close=False):
    reason = reason or {200: "OK", 206: "Partial Content", 301: "Moved Permanently", 302: "Found",
                        303: "See Other", 307: "Temporary Redirect", 308: "Permanent Redirect",
                        404: "Not Found", 416: "Range Not Satisfiable", 503: "Service Unavailable"}.get(status, "X")
    head = b"HTTP/1.1 %d %s\r\n" % (status, reason.encode())
    for k, v in headers:
        head += k.encode() + b": " + v.encode() + b"\r\n"
    if close:
        head += b"Connection: close\r\n"
    if chunked:
        head += b"Transfer-Encoding: chunked\r\n\r\n"
        out = head
        for i in range(0, len(body), 1000):
            piece = body[i:i + 1000]
            out += b"%x\r\n" % len(piece) + piece + b"\r\n"
        return out + b"0\r\n\r\n"
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


def quirk(name):
    q = {
        "nocolon": b"HTTP/1.1 200 OK\r\nX-Bad header\r\nContent-Length: 3\r\n\r\nok\n",
        "nul": b"HTTP/1.1 200 OK\r\nX-Bad: a\x00b\r\nContent-Length: 3\r\n\r\nok\n",
        "badstatus": b"HTTP/1.1 abc OK\r\nContent-Length: 3\r\n\r\nok\n",
        "http09": b"hello\r\n",
        "empty": b"",
        "truncated": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"y" * 10,
        "truncated-chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabcde",
        "badchunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        "badchunk-ext": b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a="abc";b="def; ghi\r\nhello\r\n0\r\n\r\n',
        "cl-mismatch": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nok\n",
        "close-delimited": b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"until close\n" * 50,
        "continue": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nafter 100\n",
    }
    return q.get(name)


def serve_range(c, method, n, query, fields):
    data = body_bytes(n)
    chunked = query.get("chunked") == "1"
    slow = int(query.get("slow_ms", "0"))
    rng = fields.get("range")
    status, headers = 200, [("Accept-Ranges", "bytes"), ("Content-Type", "application/octet-stream")]
    if rng and query.get("norange") != "1" and rng.startswith("bytes=") and "," not in rng:
        a, _, b = rng[6:].partition("-")
        start = int(a) if a else 0
        end = int(b) if b else n - 1
        if start >= n:
            c.sock.sendall(response(416, b"", [("Content-Range", "bytes */%d" % n)]))
            return
        end = min(end, n - 1)
        data = data[start:end + 1]
        status = 206
        headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end, n)))
    out = response(status, b"" if method == "HEAD" else data, headers, chunked=chunked)
    if method == "HEAD":
        out = out.replace(b"Content-Length: 0", b"Content-Length: %d" % len(data))
    if not slow:
        c.sock.sendall(out)
        return
    for i in range(0, len(out), 65536):
        c.sock.sendall(out[i:i + 65536])
        time.sleep(slow / 1000)


def encoded(kind):
    if kind == "gzip":
        return gzip.compress(TEXT, mtime=0)
    if kind == "deflate":
        return zlib.compress(TEXT)
    c = zlib.compressobj(wbits=-15)
    return c.compress(TEXT) + c.flush()


def tunnel(a, b):
    def pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (dst,):
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
    t = threading.Thread(target=pump, args=(b, a), daemon=True)
    t.start()
    pump(a, b)
    t.join(IO_TIMEOUT)


def split_hostport(hp, default_port):
    if hp.startswith("["):
        host, _, rest = hp[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = hp.rpartition(":") if ":" in hp else (hp, "", "")
    return host, int(port) if port else default_port


def proxy(c, method, target, fields, head):
    with lock:
        proxy_log.append("%s %s auth=%s" % (method, target, fields.get("proxy-authorization", "-")))
    if method == "CONNECT":
        host, port = split_hostport(target, 443)
        if host == "forbidden.invalid" or host not in PROXY_TARGETS:
            c.sock.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 10\r\n\r\nforbidden\n")
            return
        try:
            up = socket.create_connection((host, port), timeout=IO_TIMEOUT)
        except OSError:
            c.sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 12\r\n\r\nunreachable\n")
            return
        c.sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if c.buf:
            up.sendall(c.buf)
        tunnel(c.sock, up)
        up.close()
        return
    u = urllib.parse.urlsplit(target)
    host, port = u.hostname, u.port or 80
    if u.scheme != "http" or host not in PROXY_TARGETS:
        c.sock.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 10\r\n\r\nforbidden\n")
        return
    body = c.read_body(fields)
    lines = head.split(b"\r\n")
    path = (u.path or "/") + ("?" + u.query if u.query else "")
    out = b"%s %s HTTP/1.1\r\n" % (method.encode(), path.encode())
    for line in lines[1:]:
        name = line.partition(b":")[0].strip().lower()
        if line and name not in (b"connection", b"proxy-connection", b"proxy-authorization", b"transfer-encoding",
                                 b"content-length"):
            out += line + b"\r\n"
    out += b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    try:
        up = socket.create_connection((host, port), timeout=IO_TIMEOUT)
    except OSError:
        c.sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 12\r\n\r\nunreachable\n")
        return
    up.sendall(out)
    while True:
        data = up.recv(65536)
        if not data:
            break
        c.sock.sendall(data)
    up.close()


def handle(sock):
    sock.settimeout(IO_TIMEOUT)
    c = Conn(sock)
    try:
        while True:
            head = c.read_head()
            method, target, fields = parse_head(head)
            if method == "CONNECT" or not target.startswith("/"):
                proxy(c, method, target, fields, head)
                return
            u = urllib.parse.urlsplit(target)
            path = u.path
            query = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
            parts = path.strip("/").split("/")
            if parts[0] == "quirk":
                c.read_body(fields)
                q = quirk(parts[1])
                sock.sendall(response(404, b"no such quirk\n") if q is None else q)
                return
            body = c.read_body(fields)
            if path == "/hello":
                out = response(200, b"hello\n", [("Content-Type", "text/plain")])
            elif path == "/head":
                out = response(200, head, [("Content-Type", "text/plain")])
            elif path == "/echo" or path.startswith("/echo/"):
                out = response(200, body, [("X-Method", method)])
            elif parts[0] == "status":
                n = int(parts[1])
                hdrs = [("Retry-After", query["retry_after"])] if "retry_after" in query else []
                out = response(n, b"status %d\n" % n, hdrs)
            elif parts[0] == "redirect":
                n = int(parts[1])
                code = int(query.get("code", "302"))
                if n > 0:
                    nxt = "/redirect/%d" % (n - 1) + ("?" + u.query if u.query else "")
                    if n == 1 and "to" in query:
                        nxt = query["to"]
                    out = response(code, b"", [("Location", nxt)])
                else:
                    out = response(200, b"done %s\n" % method.encode())
            elif path == "/to":
                out = response(int(query.get("code", "302")), b"", [("Location", query["url"])])
            elif path == "/set-cookie":
                attr = "; " + query["attr"] if "attr" in query else ""
                hdrs = [("Set-Cookie", "%s=%s; Path=/%s" % (k, v, attr)) for k, v in query.items()
                        if k not in ("next", "attr")]
                if "next" in query:
                    out = response(302, b"", hdrs + [("Location", query["next"])])
                else:
                    out = response(200, b"cookies set\n", hdrs)
            elif path == "/cookies":
                out = response(200, fields.get("cookie", "-").encode() + b"\n")
            elif parts[0] == "bytes":
                serve_range(c, method, int(parts[1]), query, fields)
                continue
            elif path in ("/gzip", "/deflate", "/deflate-raw"):
                enc = "deflate" if path == "/deflate-raw" else path[1:]
                out = response(200, encoded(path[1:]), [("Content-Encoding", enc), ("Content-Type", "text/plain")],
                               chunked=query.get("chunked") == "1")
            elif path == "/gzip-truncated":
                out = response(200, encoded("gzip")[:300], [("Content-Encoding", "gzip")])
            elif path == "/gzip-bad":
                out = response(200, b"this is not gzip data at all\n", [("Content-Encoding", "gzip")])
            elif path == "/br":
                out = response(200, b"\x8b\x02\x80hello\n\x03", [("Content-Encoding", "br")])
            elif parts[0] == "flaky":
                key, n = parts[1], int(parts[2])
                with lock:
                    flaky[key] = flaky.get(key, 0) + 1
                    count = flaky[key]
                if count <= n:
                    hdrs = [("Retry-After", query["retry_after"])] if "retry_after" in query else []
                    code = int(query.get("code", "503"))
                    out = response(code, b"try again\n", hdrs)
                else:
                    out = response(200, b"ok\n")
            elif path == "/proxy-log":
                with lock:
                    text = "".join(line + "\n" for line in proxy_log)
                    proxy_log.clear()
                out = response(200, text.encode())
            else:
                out = response(404, b"not found\n")
            if method == "HEAD":
                out = out.partition(b"\r\n\r\n")[0] + b"\r\n\r\n"
            sock.sendall(out)
            if fields.get("connection", "").lower() == "close":
                return
    except (EOFError, OSError, ValueError, IndexError, KeyError):
        pass
    finally:
        try:
            sock.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetime", type=float, default=600)
    args = ap.parse_args()
    _, socks = pydriver.loopback_sockets(name="fetch_peer", ipv6=False, reuse=True)
    return pydriver.serve_connections(socks, handle, args.lifetime)


if __name__ == "__main__":
    sys.exit(main())
