#!/usr/bin/env python3
"""An HTTP peer that stalls, for the client's timeout tests.

Listens on 127.0.0.1, prints the port on the first stdout line, and answers
each connection by the path of its first request:
  /silent        reads the request and never answers (first-byte timeout)
  /stall-body    sends a head with Content-Length: 1000 and 10 body bytes,
                 then nothing more (between-bytes timeout)
  /close-body    an HTTP/1.0 answer without Content-Length: the body
                 ("close-delimited\\n" x 1000) ends when the server closes
  /truncated     Content-Length: 100, then 10 bytes and a close
  /reset         Content-Length: 100, then 10 bytes and a reset (RST: the
                 socket closes with a zero linger time)
  /trailers      a chunked body "hello" with two trailer fields,
                 X-Checksum: 5 and X-Note: end, keep-alive
  /garbage       "HTTP/9 oops" and a close (not a status line)
  /chunk-ext-noname, /chunk-ext-unclosed
                 a chunked response whose first chunk line breaks RFC 9112
                 section 7.1.1's extension grammar ("2;", and a quoted
                 string never closed), then a close
  /drop-next     answers "ok\\n" with keep-alive, then reads the next request
                 on the connection and closes without answering: the race
                 of a keep-alive connection the server closes as the client
                 reuses it
  /grow/N?Q      (N > 0) reads the request's Content-Length body, answers
                 302 to /grow/N-1?Q plus 1500 'g's, keep-alive: each hop
                 of a client's redirects has a longer URL; /grow/0 answers
                 with the request method and a newline as its body
  anything else  "HTTP/1.1 200 OK" with a 3-byte body "ok\\n", keep-alive
A stalled connection is held until the client closes it or --hold seconds
pass. The process exits after --lifetime seconds.
"""
import argparse
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pydriver  # noqa: E402


def serve(conn, hold):
    conn.settimeout(hold)
    try:
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            head, _, buf = buf.partition(b"\r\n\r\n")
            path = head.split(b" ")[1] if b" " in head else b"/"
            if path == b"/silent":
                while conn.recv(65536):
                    pass
                return
            if path == b"/close-body":
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"close-delimited\n" * 1000)
                return
            if path == b"/truncated":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"y" * 10)
                return
            if path == b"/reset":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"r" * 10)
                time.sleep(0.1)  # the bytes first, then the reset
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if path == b"/trailers":
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum, X-Note\r\n\r\n"
                             b"5\r\nhello\r\n0\r\nX-Checksum: 5\r\nX-Note: end\r\n\r\n")
                continue
            if path == b"/chunk-ext-noname":
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;\r\nhi\r\n0\r\n\r\n")
                return
            if path == b"/chunk-ext-unclosed":
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"5;a=\"abc\";b=\"def; ghi\r\nhello\r\n0\r\n\r\n")
                return
            if path == b"/garbage":
                conn.sendall(b"HTTP/9 oops\r\n\r\n")
                return
            if path == b"/stall-body":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
                while conn.recv(65536):
                    pass
                return
            if path.startswith(b"/grow/"):
                body_len = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        body_len = int(value.strip())
                while len(buf) < body_len:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                buf = buf[body_len:]
                n, _, query = path[len(b"/grow/"):].partition(b"?")
                if int(n) > 0:
                    loc = b"/grow/%d?%s" % (int(n) - 1, query + b"g" * 1500)
                    conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: " + loc + b"\r\nContent-Length: 0\r\n\r\n")
                else:
                    method = head.split(b" ")[0] + b"\n"
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(method), method))
                continue
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
            if path == b"/drop-next":
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        break
                    buf += data
                return
    except OSError:
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetime", type=float, default=120.0)
    ap.add_argument("--hold", type=float, default=60.0)
    args = ap.parse_args()
    _, socks = pydriver.loopback_sockets(name="http_stall", ipv6=False, reuse=True)
    return pydriver.serve_connections(socks, lambda conn: serve(conn, args.hold), args.lifetime)


if __name__ == "__main__":
    sys.exit(main())
