#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_proto: valid frames for every verb, request and reply.

Each file is a selector byte 0 (fuzz_proto's frame mode) followed by one or more complete
frames.  The encoding here is written from signer/PROTOCOL.md, independently of
proto/proto.c; tests/unit/test_proto.c (test_seed_corpus) checks that every seed decodes
with the C codec, so the two cannot drift apart unnoticed.

Usage: tests/fuzz/gen_corpus_proto.py [OUTDIR]   (default: tests/fuzz/corpus/fuzz_proto)
"""
import os
import struct
import sys

VERSION = 1
HELLO, ISSUE, REVOKE, HOLD, RELEASE, GET_CHAIN, GET_CRL, STATUS, OCSP, PROFILES = range(1, 11)
REPLY = 0x8000
ERROR = 0xFFFF
CN, O, OU, L, ST, C, SERIALNUMBER = range(1, 8)

# A real P-256 SubjectPublicKeyInfo (the public key is the curve's generator point).
SPKI_P256 = bytes.fromhex(
    "3059301306072a8648ce3d020106082a8648ce3d030107034200"
    "04"
    "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")
# Stand-ins for DER certificates and CRLs: the codec carries them as opaque bytes.
CERT = bytes.fromhex("308201") + bytes(range(0x30, 0x70))
CRL = bytes.fromhex("3082") + bytes(range(0x10, 0x50))
SERIAL = bytes.fromhex("00c1a2b3c4d5e6f708192a3b4c5d6e7f80")


def u8(v):
    return struct.pack(">B", v)


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def string(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return u32(len(b)) + b


def frame(type_, id_, body=b""):
    return struct.pack(">HHIII", VERSION, type_, len(body), id_, 0) + body


def hello(vmin=1, vmax=1, peer="inkan-rad"):
    return u32(vmin) + u32(vmax) + string(peer)


def hello_reply(version=1, peer="inkan-signerd"):
    return u32(version) + string(peer)


def issue(request_id, profile, spki, attrs, not_before, not_after, flags=0):
    b = string(request_id) + string(profile) + string(spki) + u8(len(attrs))
    for t, v in attrs:
        b += u8(t) + string(v)
    return b + u64(not_before) + u64(not_after) + u32(flags)


def issue_reply(serial, cert, replayed=0):
    return string(serial) + string(cert) + u8(replayed)


def revoke(serial, reason=0, when=0):
    return string(serial) + u8(reason) + u64(when)


def revoke_reply(when, state):
    return u64(when) + u8(state)


def chain_reply(certs):
    return u8(len(certs)) + b"".join(string(c) for c in certs)


def crl_reply(number, this_update, next_update, crl):
    return u64(number) + u64(this_update) + u64(next_update) + string(crl)


def status_reply(hsm_ok, issued, revoked, held, crl_number, uptime):
    return u8(hsm_ok) + u64(issued) + u64(revoked) + u64(held) + u64(crl_number) + u64(uptime)


HASH_LEN = {1: 20, 2: 32, 3: 48, 4: 64}  # SHA-1, SHA-256, SHA-384, SHA-512


def ocsp(ids, nonce=b""):
    b = u8(len(ids))
    for h, name_hash, key_hash, serial in ids:
        assert len(name_hash) == len(key_hash) == HASH_LEN[h]
        b += u8(h) + string(name_hash) + string(key_hash) + string(serial)
    return b + string(nonce)


def ocsp_reply(status, this_update, next_update, response):
    return u8(status) + u64(this_update) + u64(next_update) + string(response)


CLIENT, SERVER, EMAIL = range(3)              # profile usage
EC_P256, EC_P384, RSA = 1, 2, 4                # key types (bit mask)


def mask(*attrs):
    m = 0
    for a in attrs:
        m |= 1 << a
    return m


def profile(name, usage=CLIENT, key_types=EC_P256 | EC_P384 | RSA, rsa_min_bits=2048,
            max_days=397, backdate=300, allowed=mask(CN), required=mask(CN), fixed=(),
            crl_url="http://ra.example/crl/issuing-ca.crl", ocsp_url="", ca_issuers_url=""):
    b = (string(name) + u8(usage) + u8(key_types) + u32(rsa_min_bits) + u32(max_days) +
         u32(backdate) + u8(allowed) + u8(required) + u8(len(fixed)))
    for t, v in fixed:
        b += u8(t) + string(v)
    return (b + string(crl_url.encode("ascii")) + string(ocsp_url.encode("ascii")) +
            string(ca_issuers_url.encode("ascii")))


def profiles_reply(profiles):
    return u8(len(profiles)) + b"".join(profiles)


def error(status, detail):
    return u32(status) + string(detail.encode("ascii"))


T0 = 1700000000


def seeds():
    s = {}
    s["hello"] = [frame(HELLO, 1, hello()),
                  frame(HELLO | REPLY, 1, hello_reply())]
    s["hello-range"] = [frame(HELLO, 7, hello(1, 3, "a")),
                        frame(HELLO | REPLY, 7, hello_reply(1, "s"))]
    s["issue"] = [
        frame(ISSUE, 2, issue("req-0001", "client", SPKI_P256,
                              [(CN, "alice"), (O, "Example"), (SERIALNUMBER, "pc-01")],
                              0, T0 + 397 * 86400)),
        frame(ISSUE | REPLY, 2, issue_reply(SERIAL, CERT, 0))]
    s["issue-utf8-replayed"] = [
        frame(ISSUE, 3, issue("batch-7:row.12_A", "client-2y", SPKI_P256,
                              [(CN, "田中 太郎"), (L, "東京都"), (C, "JP")],
                              T0, T0 + 86400, 0)),
        frame(ISSUE | REPLY, 3, issue_reply(SERIAL[:1], CERT, 1))]
    s["issue-limits"] = [
        frame(ISSUE, 4, issue("Z" * 64, "p" * 32, bytes([0x5A]) * 2048,
                              [(1 + i % 7, chr(ord("a") + i) * 128) for i in range(8)],
                              T0, 2**64 - 1, 1)),
        frame(ISSUE | REPLY, 4, issue_reply(b"\x7f" * 20, CERT, 0))]
    s["revoke"] = [frame(REVOKE, 5, revoke(SERIAL, 1, 0)),
                   frame(REVOKE | REPLY, 5, revoke_reply(T0, 2))]
    s["revoke-dated"] = [frame(REVOKE, 6, revoke(b"\x01", 10, T0 - 3600)),
                         frame(REVOKE | REPLY, 6, revoke_reply(T0 - 3600, 2))]
    s["hold"] = [frame(HOLD, 8, revoke(SERIAL)),
                 frame(HOLD | REPLY, 8, revoke_reply(T0, 1))]
    s["release"] = [frame(RELEASE, 9, revoke(SERIAL)),
                    frame(RELEASE | REPLY, 9, revoke_reply(T0, 0))]
    s["get-chain"] = [frame(GET_CHAIN, 10),
                      frame(GET_CHAIN | REPLY, 10, chain_reply([CERT, CERT[:20]]))]
    s["get-chain-max"] = [frame(GET_CHAIN, 11),
                          frame(GET_CHAIN | REPLY, 11, chain_reply([CERT] * 4))]
    s["get-crl"] = [frame(GET_CRL, 12),
                    frame(GET_CRL | REPLY, 12, crl_reply(42, T0, T0 + 86400, CRL))]
    s["status"] = [frame(STATUS, 13),
                   frame(STATUS | REPLY, 13, status_reply(1, 1000, 20, 3, 42, 3600))]
    s["error-profile"] = [frame(ISSUE, 14, issue("r", "nope", SPKI_P256, [], 0, T0)),
                          frame(ERROR, 14, error(40, "unknown profile 'nope'"))]
    s["error-id0"] = [frame(ERROR, 0, error(26, "peer credentials not allowed"))]
    s["error-long"] = [frame(ERROR, 15, error(25, "".join(chr(0x20 + i % 95)
                                                          for i in range(256))))]
    s["error-empty"] = [frame(ERROR, 16, error(14, ""))]
    s["ocsp"] = [frame(OCSP, 17, ocsp([(1, bytes(range(20)), bytes(range(20, 40)), SERIAL)])),
                 frame(OCSP | REPLY, 17, ocsp_reply(0, T0, T0 + 3600, CERT))]
    s["ocsp-nonce-multi"] = [
        frame(OCSP, 18, ocsp([(h, bytes([h]) * HASH_LEN[h], bytes([0x80 | h]) * HASH_LEN[h],
                               SERIAL[:h * 5]) for h in (1, 2, 3, 4)], b"\x5a" * 32)),
        frame(OCSP | REPLY, 18, ocsp_reply(0, T0, T0 + 60, CERT))]
    s["ocsp-unauthorized"] = [
        frame(OCSP, 19, ocsp([(2, b"\x00" * 32, b"\xff" * 32, b"\x80")], b"\x01")),
        frame(OCSP | REPLY, 19, ocsp_reply(6, 0, 0, bytes.fromhex("30030a0106")))]
    s["ocsp-off"] = [frame(OCSP, 20, ocsp([(1, b"\x01" * 20, b"\x02" * 20, b"\x03")])),
                     frame(ERROR, 20, error(6, "OCSP is off: no OCSP signing key"))]
    s["profiles"] = [frame(PROFILES, 21),
                     frame(PROFILES | REPLY, 21, profiles_reply([
                         profile("client", allowed=mask(CN, OU, SERIALNUMBER),
                                 fixed=[(O, "株式会社 Example"), (C, "JP")],
                                 ocsp_url="http://ra.example/ocsp",
                                 ca_issuers_url="http://ra.example/ca/issuing-ca.crt"),
                         profile("tls", SERVER, EC_P384, 4096, 90, 0),
                         profile("mail", EMAIL, RSA, 3072, 1095, 86400)]))]
    s["profiles-max"] = [frame(PROFILES, 22),
                         frame(PROFILES | REPLY, 22, profiles_reply([
                             profile(chr(ord("a") + i) * 32, i % 3, 7, 8192, 1095, 86400,
                                     mask(*range(1, 8)), mask(*range(1, 8)),
                                     [(t, chr(ord("A") + t) * 128) for t in range(7, 0, -1)],
                                     "c" * 256, "o" * 256, "~" * 256) for i in range(8)]))]
    # a whole conversation on one connection, as the RA runs it
    s["session"] = (s["hello"] + s["issue"] + s["hold"] + s["release"] + s["revoke"] +
                    s["get-crl"] + s["status"] + s["ocsp"] + s["profiles"])
    return s


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "fuzz_proto")
    os.makedirs(out, exist_ok=True)
    for name, fs in sorted(seeds().items()):
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(b"\x00" + b"".join(fs))
    print(f"wrote {len(seeds())} seeds to {out}")


if __name__ == "__main__":
    main()
