#!/usr/bin/env python3
"""A proxy in front of the real signer that loses answers, for test_ra_download_settle.sh:
it listens on PATH, forwards every connection to the real signer's socket REAL, and passes
every frame both ways, except the replies to the first N ISSUE requests: the signer has
received the request (and issued the certificate), but the RA never gets the answer.
  stall  the reply is swallowed and the connection stays open (the RA times out), or
  close  the reply is swallowed and the RA's connection is closed, or
  garble the reply is passed on with one byte too many at the end of its body (a frame
         that is whole, an ISSUE reply that is not: the RA cannot read the certificate), or
  refuse the reply is replaced by a well-formed refusal (ERROR, policy-subject).
Usage: drop_signer.py MODE N PATH REAL LOG.  Every event goes to LOG, one line each:
"issue ID" (an ISSUE forwarded), "dropped ID" (its reply swallowed or garbled)."""
import os
import socket
import struct
import sys
import threading

mode, left, path, real, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
HDR = 16
ISSUE = 2
REPLY = 0x8000
ERROR = 0xFFFF
lock = threading.Lock()


def note(line):
    with lock, open(log, "a") as f:
        f.write(line + "\n")


def frames(sock):
    """Yields (header, body) of each frame read from sock until it closes."""
    buf = b""
    while True:
        data = sock.recv(65536)
        if not data:
            return
        buf += data
        while len(buf) >= HDR:
            ln = struct.unpack(">HHIII", buf[:HDR])[2]
            if len(buf) < HDR + ln:
                break
            yield buf[:HDR], buf[HDR:HDR + ln]
            buf = buf[HDR + ln:]


def shut(*socks):
    """Both directions of each socket closed (the peer sees the hang-up); errors ignored."""
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def upstream_to_client(up, client, issues):
    global left
    try:
        for hdr, body in frames(up):
            _, typ, _, rid, _ = struct.unpack(">HHIII", hdr)
            drop = False
            with lock:
                if rid in issues and typ in (ISSUE | REPLY, ERROR) and left > 0:
                    left -= 1
                    drop = True
            if drop:
                note("dropped %d" % rid)
                if mode == "refuse":
                    detail = b"refused by the test proxy"
                    body = struct.pack(">II", 44, len(detail)) + detail
                    client.sendall(struct.pack(">HHIII", 1, ERROR, len(body), rid, 0) + body)
                    continue
                if mode == "garble":
                    v, t, ln, i, f = struct.unpack(">HHIII", hdr)
                    client.sendall(struct.pack(">HHIII", v, t, ln + 1, i, f) + body + b"\0")
                    continue
                if mode == "close":
                    client.shutdown(socket.SHUT_RDWR)
                    return
                continue
            client.sendall(hdr + body)
    except OSError:
        pass
    finally:
        shut(client, up)


def serve(client):
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    up.connect(real)
    issues = set()
    threading.Thread(target=upstream_to_client, args=(up, client, issues), daemon=True).start()
    try:
        for hdr, body in frames(client):
            typ, rid = struct.unpack(">HHIII", hdr)[1], struct.unpack(">HHIII", hdr)[3]
            if typ == ISSUE:
                with lock:
                    issues.add(rid)
                note("issue %d" % rid)
            up.sendall(hdr + body)
    except OSError:
        pass
    finally:
        shut(client, up)


if os.path.exists(path):
    os.unlink(path)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(16)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
