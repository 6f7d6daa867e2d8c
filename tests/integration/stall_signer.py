#!/usr/bin/env python3
"""A signer that stops answering, for test_ra_signer_timeout.sh: it listens on the signer's
socket, accepts, reads the RA's HELLO and then
  hello     says nothing more (the connection stays open), or
  midframe  answers the HELLO properly, then answers the next request with half a frame
            header and says nothing more, or
  trickle   answers the HELLO properly, then answers every other request with a proper
            reply header announcing a 4096-byte body, and then one byte of it every half
            second, for ever (never 2 s without a byte: only a deadline for the whole call
            stops the RA waiting), or
  slowcrl   as trickle, but answers GET_CRL with a whole, well-formed reply (a 6-byte CRL)
            whose last byte comes only CRL_DELAY seconds later (argv[4], default 3), or
  noaccept  listens with a queue of one and never accepts: the RA's first connect() lands
            in the queue (its HELLO unanswered), every later one finds the queue full.
Every event goes to LOG, one line each: "accept N", "frame N TYPE", "closed N" (the RA closed
connection N)."""
import os
import selectors
import socket
import struct
import sys
import time

mode, path, log = sys.argv[1], sys.argv[2], sys.argv[3]
CRL_DELAY = float(sys.argv[4]) if len(sys.argv) > 4 else 3.0
GET_CHAIN, GET_CRL = 6, 7
HDR = 16
REPLY = 0x8000
TRICKLE_LEN = 4096
TRICKLE_EVERY = 0.5


def note(line):
    with open(log, "a") as f:
        f.write(line + "\n")


def hello_reply(req_id):
    peer = b"stall-signer"
    body = struct.pack(">I", 1) + struct.pack(">I", len(peer)) + peer
    return struct.pack(">HHIII", 1, 1 | REPLY, len(body), req_id, 0) + body


def crl_reply(req_id):
    crl = b"\x30\x04\x00\x01\x02\x03"
    body = struct.pack(">QQQI", 7, int(time.time()), int(time.time()) + 3600, len(crl)) + crl
    return struct.pack(">HHIII", 1, GET_CRL | REPLY, len(body), req_id, 0) + body


if os.path.exists(path):
    os.unlink(path)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
if mode == "noaccept":
    srv.listen(0)  # Linux: one connection waits in the queue, the next finds it full
    note("listening")
    while True:
        time.sleep(3600)
srv.listen(16)
sel = selectors.DefaultSelector()
sel.register(srv, selectors.EVENT_READ)
conns = {}  # socket -> [number, bytes read so far, frames seen]
trickling = {}  # socket -> body bytes still to trickle
delayed = {}  # socket -> (when, bytes): the rest of a slowcrl answer
count = 0
next_drip = time.monotonic() + TRICKLE_EVERY
while True:
    now = time.monotonic()
    if now >= next_drip:
        next_drip = now + TRICKLE_EVERY
        for s, left in list(trickling.items()):
            try:
                s.sendall(b"\0")
            except OSError:
                del trickling[s]
                continue
            trickling[s] = left - 1
            if trickling[s] <= 0:
                del trickling[s]
    for s, (when, rest) in list(delayed.items()):
        if now >= when:
            del delayed[s]
            try:
                s.sendall(rest)
                note("crl sent %d" % conns[s][0])
            except (OSError, KeyError):
                pass
    wake = min([next_drip] + [w for w, _ in delayed.values()])
    for key, _ in sel.select(max(0.0, wake - time.monotonic())):
        s = key.fileobj
        if s is srv:
            c, _ = srv.accept()
            count += 1
            conns[c] = [count, b"", 0]
            sel.register(c, selectors.EVENT_READ)
            note("accept %d" % count)
            continue
        st = conns[s]
        try:
            data = s.recv(65536)
        except OSError:  # the RA closed with our bytes unread: ECONNRESET
            data = b""
        if not data:
            note("closed %d" % st[0])
            sel.unregister(s)
            s.close()
            del conns[s]
            trickling.pop(s, None)
            delayed.pop(s, None)
            continue
        st[1] += data
        while len(st[1]) >= HDR:
            _, typ, ln, rid, _ = struct.unpack(">HHIII", st[1][:HDR])
            if len(st[1]) < HDR + ln:
                break
            st[1] = st[1][HDR + ln:]
            st[2] += 1
            note("frame %d %d" % (st[0], typ))
            if mode == "midframe" and st[2] == 1:
                s.sendall(hello_reply(rid))
            elif mode == "midframe" and st[2] == 2:
                s.sendall(hello_reply(rid)[:7])  # and then nothing
            elif mode in ("trickle", "slowcrl") and typ == 1:
                s.sendall(hello_reply(rid))
            elif mode == "slowcrl" and typ == GET_CRL:
                r = crl_reply(rid)
                s.sendall(r[:-1])
                delayed[s] = (time.monotonic() + CRL_DELAY, r[-1:])
            elif mode in ("trickle", "slowcrl"):
                s.sendall(struct.pack(">HHIII", 1, typ | REPLY, TRICKLE_LEN, rid, 0))
                trickling[s] = TRICKLE_LEN
                note("trickle %d %d" % (st[0], typ))
