#!/usr/bin/env python3
"""A name server the tests control, for lookups that are slow on purpose.

It answers DNS queries over UDP on --addr, port 53 (the port a resolv.conf
cannot change), for the zone wasio.test:
  * fast.wasio.test    A 127.0.0.1, at once;
  * slow.wasio.test    A 127.0.0.1, after --slow-ms milliseconds;
  * any other name of the zone: NXDOMAIN, at once;
  * a name outside the zone: REFUSED, at once.
Every answer to another type than A (AAAA, ...) is an empty NOERROR, with
the same delay as the name's A. A delayed answer holds up nothing else: the
server keeps answering other queries meanwhile (pending answers wait in a
queue ordered by due time), so a test can tell a resolver that waits for
one lookup from one that waits for all.

tests/run.py starts it for a program that declares `wasio-test: resolver`,
on a loopback address of its own (127.53.x.y), and runs the program in a
mount namespace whose /etc/resolv.conf names that address (unshare -m:
tests/run.py, "The test resolver"). The host's getaddrinfo (wasmtime's,
node's, the native program's) then asks this server for every name that
/etc/hosts does not have. Prints 53 on the first stdout line (the helper
protocol: the port first), then serves --lifetime seconds."""
import argparse
import heapq
import select
import socket
import struct
import sys
import time

ZONE = ("wasio", "test")
FAST, SLOW = "fast", "slow"
ANSWER_ADDR = "127.0.0.1"
TTL_S = 1
DNS_PORT = 53
MAX_QUERY = 512  # DNS over UDP without EDNS: the largest message
HEADER = struct.Struct("!HHHHHH")
TYPE_A, CLASS_IN = 1, 1
RCODE_NOERROR, RCODE_FORMERR, RCODE_NXDOMAIN, RCODE_REFUSED = 0, 1, 3, 5
FLAG_QR, FLAG_AA, FLAG_RA, FLAG_RD, OPCODE_MASK = 0x8000, 0x0400, 0x0080, 0x0100, 0x7800


def parse_question(msg):
    """(id, flags, labels, qtype, qclass, end of the question) or None if
    the message is not one query with one question."""
    if len(msg) < HEADER.size:
        return None
    qid, flags, qd, _an, _ns, _ar = HEADER.unpack_from(msg)
    if flags & FLAG_QR or qd != 1:
        return None
    labels, pos = [], HEADER.size
    while True:
        if pos >= len(msg):
            return None
        n = msg[pos]
        pos += 1
        if n == 0:
            break
        if n & 0xC0 or pos + n > len(msg):  # no compression in a question
            return None
        labels.append(msg[pos:pos + n].decode("ascii", "replace").lower())
        pos += n
    if pos + 4 > len(msg):
        return None
    qtype, qclass = struct.unpack_from("!HH", msg, pos)
    return qid, flags, labels, qtype, qclass, pos + 4


def answer(msg, q, slow_s):
    """(delay in seconds, the reply) for the query `msg`, parsed as `q`."""
    qid, flags, labels, qtype, qclass, qend = q
    question = msg[HEADER.size:qend]
    in_zone = tuple(labels[-len(ZONE):]) == ZONE
    name = labels[:-len(ZONE)] if in_zone else None
    delay, records = 0.0, b""
    if not in_zone:
        rcode = RCODE_REFUSED
    elif name not in ([FAST], [SLOW]):
        rcode = RCODE_NXDOMAIN
    else:
        rcode = RCODE_NOERROR
        delay = slow_s if name == [SLOW] else 0.0
        if qtype == TYPE_A and qclass == CLASS_IN:
            # the name as a pointer to the question's (offset 12)
            records = struct.pack("!HHHIH", 0xC000 | HEADER.size, TYPE_A, CLASS_IN, TTL_S, 4) + \
                socket.inet_aton(ANSWER_ADDR)
    out_flags = FLAG_QR | FLAG_AA | FLAG_RA | (flags & (OPCODE_MASK | FLAG_RD)) | rcode
    head = HEADER.pack(qid, out_flags, 1, 1 if records else 0, 0, 0)
    return delay, head + question + records


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True, help="the loopback address to serve on (port 53)")
    ap.add_argument("--slow-ms", type=int, default=2000, help="how long slow.wasio.test takes")
    ap.add_argument("--lifetime", type=float, default=300.0)
    args = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((args.addr, DNS_PORT))
    print(DNS_PORT, flush=True)
    pending = []  # (due, sequence, reply, peer)
    seq = 0
    end = time.monotonic() + args.lifetime
    while time.monotonic() < end:
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, reply, peer = heapq.heappop(pending)
            s.sendto(reply, peer)
        wait = min(end - now, pending[0][0] - now if pending else 1.0)
        r, _, _ = select.select([s], [], [], max(wait, 0))
        if not r:
            continue
        msg, peer = s.recvfrom(MAX_QUERY)
        q = parse_question(msg)
        if q is None:
            if len(msg) >= 2:  # FORMERR, the id kept
                s.sendto(msg[:2] + struct.pack("!HHHHH", FLAG_QR | RCODE_FORMERR, 0, 0, 0, 0), peer)
            continue
        delay, reply = answer(msg, q, args.slow_ms / 1000.0)
        seq += 1
        heapq.heappush(pending, (time.monotonic() + delay, seq, reply, peer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
