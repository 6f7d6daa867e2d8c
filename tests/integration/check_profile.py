#!/usr/bin/python3
"""check_profile: an independent check of Inkan client certificates and CRLs against the
profile, written without looking at the signer's encoder: python3-cryptography (Debian's)
parses, a small strict DER walker here looks at what cryptography hides (string and time
types, serial octets, DER defaults), and GnuTLS certtool parses each file once more.

usage: check_profile.py --config signer.conf [--profile client] --issuer issuing-ca.pem
                        [--root root-ca.pem] [--certtool] FILE...

FILEs are PEM or DER certificates and CRLs, CRLs in the order they were fetched (their
numbers must grow; the same CRL
fetched twice may repeat).  For a CRL FILE, FILE.expect (if present) lists the exact entries
the CRL must hold, one "SERIALHEX REASONCODE" per line (0 = no reasonCode extension).
Every rule broken is reported as "FILE: rule: detail"; the exit status is 1 if any was.
"""
import argparse
import base64
import configparser
import datetime
import os
import re
import subprocess
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import (AuthorityInformationAccessOID, ExtendedKeyUsageOID,
                                   ExtensionOID, NameOID)

DAY = 86400

# AlgorithmIdentifier DER the issuing CA's key calls for (ECDSA: no parameters; RSA: NULL).
ALGID = {
    "ec-P-256": bytes.fromhex("300a06082a8648ce3d040302"),       # ecdsa-with-SHA256
    "ec-P-384": bytes.fromhex("300a06082a8648ce3d040303"),       # ecdsa-with-SHA384
    "rsa": bytes.fromhex("300d06092a864886f70d01010b0500"),      # sha256WithRSAEncryption
}
HASH = {"ec-P-256": hashes.SHA256, "ec-P-384": hashes.SHA384, "rsa": hashes.SHA256}

LEAF_EXTS = {
    # oid: must be critical
    ExtensionOID.BASIC_CONSTRAINTS: True,
    ExtensionOID.KEY_USAGE: True,
    ExtensionOID.EXTENDED_KEY_USAGE: False,
    ExtensionOID.SUBJECT_KEY_IDENTIFIER: False,
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER: False,
    ExtensionOID.CRL_DISTRIBUTION_POINTS: False,
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS: False,
}
ATTR = {"CN": NameOID.COMMON_NAME, "O": NameOID.ORGANIZATION_NAME,
        "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "L": NameOID.LOCALITY_NAME,
        "ST": NameOID.STATE_OR_PROVINCE_NAME, "C": NameOID.COUNTRY_NAME,
        "serialNumber": NameOID.SERIAL_NUMBER}
PRINTABLE_ATTRS = {NameOID.COUNTRY_NAME.dotted_string, NameOID.SERIAL_NUMBER.dotted_string}
REASON_CODE = {x509.ReasonFlags.unspecified: 0, x509.ReasonFlags.key_compromise: 1,
               x509.ReasonFlags.ca_compromise: 2, x509.ReasonFlags.affiliation_changed: 3,
               x509.ReasonFlags.superseded: 4, x509.ReasonFlags.cessation_of_operation: 5,
               x509.ReasonFlags.certificate_hold: 6, x509.ReasonFlags.remove_from_crl: 8,
               x509.ReasonFlags.privilege_withdrawn: 9, x509.ReasonFlags.aa_compromise: 10}

UTF8STRING, PRINTABLESTRING, UTCTIME, GENTIME = 0x0c, 0x13, 0x17, 0x18


class Report:
    def __init__(self):
        self.errors = 0

    def fail(self, name, rule, detail):
        self.errors += 1
        print(f"check_profile: {name}: {rule}: {detail}", file=sys.stderr)


# ---- a strict DER walker (definite, minimal lengths; low tag numbers only) ----

class DERError(Exception):
    pass


def tlv(buf, pos, end):
    """(tag, content start, content end) of the element at pos."""
    if pos + 2 > end:
        raise DERError(f"truncated element at offset {pos}")
    tag, first = buf[pos], buf[pos + 1]
    if tag & 0x1f == 0x1f:
        raise DERError(f"high tag number at offset {pos}")
    if first < 0x80:
        n, hdr = first, 2
    else:
        k = first & 0x7f
        if k == 0 or k > 4 or pos + 2 + k > end:
            raise DERError(f"bad length at offset {pos}")
        n = int.from_bytes(buf[pos + 2:pos + 2 + k], "big")
        if n < 0x80 or buf[pos + 2] == 0:
            raise DERError(f"non-minimal length at offset {pos}")
        hdr = 2 + k
    if pos + hdr + n > end:
        raise DERError(f"element at offset {pos} overruns its parent")
    return tag, pos + hdr, pos + hdr + n


def elems(buf, start, end):
    """The children of a constructed element: [(tag, cstart, cend, whole start)]."""
    out, pos = [], start
    while pos < end:
        tag, cs, ce = tlv(buf, pos, end)
        out.append((tag, cs, ce, pos))
        pos = ce
    return out


def only(buf, tag):
    """The content bounds of buf, which must be exactly one element with this tag."""
    t, cs, ce = tlv(buf, 0, len(buf))
    if t != tag or ce != len(buf):
        raise DERError(f"expected one element with tag {tag:#x}")
    return cs, ce


def decode_oid(b):
    arcs, v = [], 0
    for i, c in enumerate(b):
        v = v << 7 | (c & 0x7f)
        if not c & 0x80:
            arcs.append(v)
            v = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first] + arcs[1:])


# ---- helpers ----

def key_kind(pub):
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return {"secp256r1": "ec-P-256", "secp384r1": "ec-P-384"}.get(pub.curve.name,
                                                                      "ec-" + pub.curve.name)
    if isinstance(pub, rsa.RSAPublicKey):
        return "rsa"
    return type(pub).__name__


def verify_sig(pub, sig, data, kind):
    try:
        if kind.startswith("ec-"):
            pub.verify(sig, data, ec.ECDSA(HASH[kind]()))
        else:
            pub.verify(sig, data, padding.PKCS1v15(), HASH[kind]())
        return True
    except (InvalidSignature, KeyError):
        return False


def utc(dt):
    return dt.replace(tzinfo=datetime.timezone.utc).timestamp()


def check_time_tag(rep, name, what, tag, when):
    year = datetime.datetime.utcfromtimestamp(when).year
    want = UTCTIME if year < 2050 else GENTIME
    if tag != want:
        rep.fail(name, "time-encoding",
                 f"{what} in {year} must be {'UTCTime' if want == UTCTIME else 'GeneralizedTime'}"
                 " (RFC 5280 4.1.2.5)")


def check_serial_octets(rep, name, content):
    if len(content) == 0 or content[0] & 0x80:
        rep.fail(name, "serial-positive", f"serial {content.hex()} is not positive")
        return
    if len(content) > 1 and content[0] == 0 and not content[1] & 0x80:
        rep.fail(name, "serial-der", f"serial {content.hex()} is not minimally encoded")
    if len(content) > 20:
        rep.fail(name, "serial-length", f"serial is {len(content)} octets (> 20, RFC 5280 4.1.2.2)")
    if int.from_bytes(content, "big") == 0:
        rep.fail(name, "serial-positive", "serial is zero")


def load(path):
    """(kind, parsed object, the DER bytes from the file) for a PEM or DER cert or CRL."""
    data = open(path, "rb").read()
    m = re.search(rb"-----BEGIN (CERTIFICATE|X509 CRL)-----(.*?)-----END \1-----", data, re.S)
    if m:
        der = base64.b64decode(b"".join(m.group(2).split()), validate=True)
        if m.group(1) == b"X509 CRL":
            return "crl", x509.load_der_x509_crl(der), der
        return "cert", x509.load_der_x509_certificate(der), der
    try:
        return "cert", x509.load_der_x509_certificate(data), data
    except ValueError:
        return "crl", x509.load_der_x509_crl(data), data


class Profile:
    def __init__(self, conf_path, name):
        cp = configparser.ConfigParser(interpolation=None)
        cp.optionxform = str  # O and C are keys; keep their case
        if not cp.read(conf_path):
            raise SystemExit(f"check_profile: {conf_path}: cannot read")
        sect = f"profile.{name}"
        if sect not in cp:
            raise SystemExit(f"check_profile: {conf_path}: no [{sect}]")
        p = cp[sect]
        self.name = name
        self.max_days = int(p.get("max_days", "397"))
        self.backdate = int(p.get("backdate", "300"))
        self.key_types = set(p.get("key_types", "ec-p256 ec-p384 rsa").split())
        self.rsa_min_bits = int(p.get("rsa_min_bits", "2048"))
        self.allowed = {ATTR[a].dotted_string for a in p.get("subject_allowed", "CN").split()}
        self.required = {ATTR[a].dotted_string for a in p.get("subject_required", "CN").split()}
        self.fixed = {ATTR[a].dotted_string: p[a] for a in ("O", "OU", "L", "ST", "C") if a in p}
        self.crl_url = p.get("crl_url", "")
        self.ocsp_url = p.get("ocsp_url", "")
        self.ca_issuers_url = p.get("ca_issuers_url", "")
        self.crl_lifetime = int(cp["signer"].get("crl_lifetime", "86400")) if "signer" in cp \
            else 86400


class Issuer:
    def __init__(self, path):
        kind, self.cert, _ = load(path)
        if kind != "cert":
            raise SystemExit(f"check_profile: {path}: not a certificate")
        self.pub = self.cert.public_key()
        self.kind = key_kind(self.pub)
        if self.kind not in ALGID:
            raise SystemExit(f"check_profile: {path}: issuer key {self.kind} is not in the profile")
        self.ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        der = self.cert.tbs_certificate_bytes
        f = elems(der, *only(der, 0x30))
        self.subject_der = der[f[5][3]:f[5][2]]


# ---- certificates ----

def cert_der_fields(rep, name, der):
    """From the DER: serial octets, both AlgorithmIdentifiers, issuer, validity tags, subject
    attributes (oid, string tag, value), and per extension (critical octets, value bytes)."""
    top = elems(der, *only(der, 0x30))
    if len(top) != 3:
        raise DERError("Certificate is not SEQUENCE { tbs, algorithm, signature }")
    outer_alg = der[top[1][3]:top[1][2]]
    f = elems(der, top[0][1], top[0][2])
    if f[0][0] != 0xa0 or der[f[0][1]:f[0][2]] != b"\x02\x01\x02":
        rep.fail(name, "version", "not an explicit v3 version [0] INTEGER 2")
    serial = der[f[1][1]:f[1][2]]
    inner_alg = der[f[2][3]:f[2][2]]
    issuer = der[f[3][3]:f[3][2]]
    validity = elems(der, f[4][1], f[4][2])
    subject = []
    for rdn in elems(der, f[5][1], f[5][2]):
        atvs = elems(der, rdn[1], rdn[2])
        if rdn[0] != 0x31 or len(atvs) != 1:
            rep.fail(name, "subject-rdn", "an RDN is not a SET of exactly one attribute")
        for atv in atvs:
            parts = elems(der, atv[1], atv[2])
            subject.append((decode_oid(der[parts[0][1]:parts[0][2]]), parts[1][0],
                            der[parts[1][1]:parts[1][2]]))
    exts = {}
    if len(f) != 8 or f[7][0] != 0xa3:
        rep.fail(name, "extensions", "no [3] extensions after the key")
    else:
        for e in elems(der, *elems(der, f[7][1], f[7][2])[0][1:3]):
            parts = elems(der, e[1], e[2])
            oid = decode_oid(der[parts[0][1]:parts[0][2]])
            crit = der[parts[1][1]:parts[1][2]] if len(parts) == 3 else None
            exts[oid] = (crit, der[parts[-1][1]:parts[-1][2]])
    return serial, inner_alg, outer_alg, issuer, [v[0] for v in validity], subject, exts


def check_named_bits(rep, name, what, value):
    """A DER BIT STRING of named bits: the unused-bits count drops every trailing zero."""
    cs, ce = only(value, 0x03)
    unused, bits = value[cs], value[cs + 1:ce]
    if not bits or bits[-1] == 0 or unused > 7 or (bits[-1] >> unused) & 1 == 0 or \
            bits[-1] & ((1 << unused) - 1):
        rep.fail(name, "der-bitstring", f"{what} BIT STRING {value.hex()} is not minimal DER")


def check_cert(rep, name, cert, der, prof, iss):
    try:
        serial, inner_alg, outer_alg, issuer, vtags, subject, raw_exts = \
            cert_der_fields(rep, name, der)
    except (DERError, IndexError) as e:
        rep.fail(name, "der", str(e))
        return None
    check_serial_octets(rep, name, serial)
    if cert.serial_number.bit_length() < 64:
        rep.fail(name, "serial-entropy",
                 f"serial {cert.serial_number:x} has {cert.serial_number.bit_length()} bits (< 64)")

    want_alg = ALGID[iss.kind]
    if inner_alg != outer_alg:
        rep.fail(name, "signature-algorithm", "tbsCertificate.signature != signatureAlgorithm")
    if outer_alg != want_alg:
        rep.fail(name, "signature-algorithm",
                 f"{outer_alg.hex()} is not {want_alg.hex()} for an issuer key {iss.kind}")
    if not verify_sig(iss.pub, cert.signature, cert.tbs_certificate_bytes, iss.kind):
        rep.fail(name, "signature", "does not verify with the issuing CA's key")
    if issuer != iss.subject_der:
        rep.fail(name, "issuer", "issuer name is not byte-for-byte the CA's subject")

    # validity
    nb, na = utc(cert.not_valid_before), utc(cert.not_valid_after)
    check_time_tag(rep, name, "notBefore", vtags[0], nb)
    check_time_tag(rep, name, "notAfter", vtags[1], na)
    if na <= nb:
        rep.fail(name, "validity", "notAfter is not after notBefore")
    limit = prof.max_days * DAY + prof.backdate
    if na - nb > limit:
        rep.fail(name, "validity", f"{(na - nb) / DAY:.3f} days > max_days {prof.max_days}"
                 f" (+{prof.backdate} s backdate)")
    if na > utc(iss.cert.not_valid_after):
        rep.fail(name, "validity", "notAfter beyond the issuing CA's notAfter")

    # subject: UTF8String except C and serialNumber (PrintableString); profile attributes
    seen = {}
    for oid, tag, value in subject:
        want = PRINTABLESTRING if oid in PRINTABLE_ATTRS else UTF8STRING
        if tag != want:
            rep.fail(name, "subject-string-type", f"attribute {oid} has tag {tag:#x}, not "
                     f"{'PrintableString' if want == PRINTABLESTRING else 'UTF8String'}")
        if oid in seen:
            rep.fail(name, "subject-duplicate", f"attribute {oid} twice")
        seen[oid] = value.decode("utf-8", "replace")
    for oid in seen:
        if oid not in prof.allowed and oid not in prof.fixed:
            rep.fail(name, "subject-allowed", f"attribute {oid} not allowed by the profile")
    for oid in prof.required | set(prof.fixed):
        if oid not in seen:
            rep.fail(name, "subject-required", f"attribute {oid} missing")
    for oid, v in prof.fixed.items():
        if oid in seen and seen[oid] != v:
            rep.fail(name, "subject-fixed", f"attribute {oid} is '{seen[oid]}', profile says '{v}'")

    # key
    pub = cert.public_key()
    kind = key_kind(pub)
    kt = {"ec-P-256": "ec-p256", "ec-P-384": "ec-p384", "rsa": "rsa"}.get(kind)
    if kt not in prof.key_types:
        rep.fail(name, "key-type", f"{kind} not in key_types {' '.join(sorted(prof.key_types))}")
    if kind == "rsa" and (pub.key_size < prof.rsa_min_bits or pub.public_numbers().e < 65537 or
                          pub.public_numbers().e % 2 == 0):
        rep.fail(name, "key-rsa", f"RSA {pub.key_size} bits, e={pub.public_numbers().e}")

    check_cert_exts(rep, name, cert, prof, iss, raw_exts, kind)
    return serial


def check_cert_exts(rep, name, cert, prof, iss, raw, kind):
    got = {e.oid.dotted_string: e for e in cert.extensions}
    want = {o.dotted_string: c for o, c in LEAF_EXTS.items()}
    if not prof.ocsp_url and not prof.ca_issuers_url:
        del want[ExtensionOID.AUTHORITY_INFORMATION_ACCESS.dotted_string]
    for oid in sorted(set(got) | set(want)):
        if oid not in got:
            rep.fail(name, "extension-missing", f"{oid} absent")
        elif oid not in want:
            rep.fail(name, "extension-unexpected", f"{oid} not in the profile")
        else:
            if got[oid].critical != want[oid]:
                rep.fail(name, "extension-critical",
                         f"{oid} critical={got[oid].critical}, profile says {want[oid]}")
            crit = raw.get(oid, (None, b""))[0]
            if crit is not None and crit != b"\xff":
                rep.fail(name, "der-boolean", f"{oid} critical encoded as {crit.hex()} (DER: "
                         "only TRUE, as ff, may be present)")

    def ext(cls):
        try:
            return cert.extensions.get_extension_for_class(cls).value
        except x509.ExtensionNotFound:
            return None

    bc = ext(x509.BasicConstraints)
    if bc is not None and (bc.ca or bc.path_length is not None):
        rep.fail(name, "basic-constraints", f"ca={bc.ca} pathlen={bc.path_length}")
    if ExtensionOID.BASIC_CONSTRAINTS.dotted_string in raw and \
            raw[ExtensionOID.BASIC_CONSTRAINTS.dotted_string][1] != b"\x30\x00":
        rep.fail(name, "der-default", "basicConstraints is not an empty SEQUENCE (cA FALSE is "
                 "DEFAULT and must be absent in DER)")

    ku = ext(x509.KeyUsage)
    if ku is not None:
        if not ku.digital_signature:
            rep.fail(name, "key-usage", "digitalSignature not set")
        if ku.key_encipherment and kind != "rsa":
            rep.fail(name, "key-usage", f"keyEncipherment on a {kind} key (RSA only)")
        for bit in ("content_commitment", "data_encipherment", "key_agreement", "key_cert_sign",
                    "crl_sign"):
            if getattr(ku, bit):
                rep.fail(name, "key-usage", f"{bit} set")
        check_named_bits(rep, name, "keyUsage", raw[ExtensionOID.KEY_USAGE.dotted_string][1])

    eku = ext(x509.ExtendedKeyUsage)
    if eku is not None and list(eku) != [ExtendedKeyUsageOID.CLIENT_AUTH]:
        rep.fail(name, "extended-key-usage",
                 f"{[o.dotted_string for o in eku]} is not exactly [clientAuth]")

    ski = ext(x509.SubjectKeyIdentifier)
    if ski is not None and ski.digest != x509.SubjectKeyIdentifier.from_public_key(
            cert.public_key()).digest:
        rep.fail(name, "ski", "not the SHA-1 of the subjectPublicKey (RFC 5280 4.2.1.2 (1))")
    aki = ext(x509.AuthorityKeyIdentifier)
    if aki is not None:
        if aki.key_identifier != iss.ski:
            rep.fail(name, "aki", f"keyIdentifier {aki.key_identifier and aki.key_identifier.hex()}"
                     f" != issuer SKI {iss.ski.hex()}")
        if aki.authority_cert_issuer is not None or aki.authority_cert_serial_number is not None:
            rep.fail(name, "aki", "carries issuer/serial, not only keyIdentifier")

    dps = ext(x509.CRLDistributionPoints)
    if dps is not None:
        if len(dps) != 1 or dps[0].full_name != [x509.UniformResourceIdentifier(prof.crl_url)] \
                or dps[0].relative_name or dps[0].reasons or dps[0].crl_issuer:
            rep.fail(name, "crl-dp", f"{dps} is not one fullName URI {prof.crl_url}")

    aia = ext(x509.AuthorityInformationAccess)
    if aia is not None:
        ocsp = [d.access_location for d in aia
                if d.access_method == AuthorityInformationAccessOID.OCSP]
        cai = [d.access_location for d in aia
               if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS]
        want_ocsp = [x509.UniformResourceIdentifier(prof.ocsp_url)] if prof.ocsp_url else []
        want_cai = [x509.UniformResourceIdentifier(prof.ca_issuers_url)] \
            if prof.ca_issuers_url else []
        if ocsp != want_ocsp:
            rep.fail(name, "aia-ocsp", f"{ocsp} != {want_ocsp}")
        if cai != want_cai:
            rep.fail(name, "aia-ca-issuers", f"{cai} != {want_cai}")
        if len(ocsp) + len(cai) != len(aia):
            rep.fail(name, "aia", "an access method other than OCSP and caIssuers")


def check_serial_set(rep, serials):
    """Across the set: no duplicates, no shared 8-octet prefix or suffix, and (with 20 or
    more) at least 64 bit positions that vary — a counter or a fixed prefix shows up here."""
    mags = {}
    for name, s in serials:
        mag = s.lstrip(b"\x00")
        for other, omag in mags.items():
            if omag == mag:
                rep.fail(name, "serial-unique", f"same serial as {other}")
            elif omag[:8] == mag[:8]:
                rep.fail(name, "serial-prefix", f"first 8 octets {mag[:8].hex()} shared with {other}")
            elif omag[-8:] == mag[-8:]:
                rep.fail(name, "serial-suffix", f"last 8 octets {mag[-8:].hex()} shared with {other}")
        mags[name] = mag
    if len(mags) >= 20:
        vals = [int.from_bytes(m, "big") for m in mags.values()]
        width = min(v.bit_length() for v in vals) - 1
        varying = sum(1 for b in range(width) if len({(v >> b) & 1 for v in vals}) == 2)
        if varying < 64:
            rep.fail(f"{len(vals)} certificates", "serial-entropy",
                     f"only {varying} bit positions vary across the serials (< 64)")
        return varying
    return None


# ---- CRLs ----

def crl_der_fields(der):
    top = elems(der, *only(der, 0x30))
    if len(top) != 3:
        raise DERError("CertificateList is not SEQUENCE { tbs, algorithm, signature }")
    f = elems(der, top[0][1], top[0][2])
    if f[0][0] != 0x02 or der[f[0][1]:f[0][2]] != b"\x01":
        raise DERError("version is not v2 (INTEGER 1)")
    rest = f[5:]
    entries = []
    if rest and rest[0][0] == 0x30:
        ents = elems(der, rest[0][1], rest[0][2])
        if not ents:
            raise DERError("revokedCertificates present but empty (must be absent)")
        for e in ents:
            parts = elems(der, e[1], e[2])
            entries.append((der[parts[0][1]:parts[0][2]], parts[1][0]))
        rest = rest[1:]
    return {"inner_alg": der[f[1][3]:f[1][2]], "outer_alg": der[top[1][3]:top[1][2]],
            "issuer": der[f[2][3]:f[2][2]], "this_tag": f[3][0], "next_tag": f[4][0],
            "entries": entries, "has_exts": bool(rest) and rest[0][0] == 0xa0}


def read_expect(path):
    want = {}
    for line in open(path):
        if line.strip():
            s, r = line.split()
            want[int(s, 16)] = int(r)
    return want


def check_crl(rep, name, crl, der, prof, iss, path):
    try:
        d = crl_der_fields(der)
    except (DERError, IndexError) as e:
        rep.fail(name, "der", str(e))
        return None
    if d["inner_alg"] != d["outer_alg"]:
        rep.fail(name, "signature-algorithm", "tbsCertList.signature != signatureAlgorithm")
    if d["outer_alg"] != ALGID[iss.kind]:
        rep.fail(name, "signature-algorithm",
                 f"{d['outer_alg'].hex()} is not {ALGID[iss.kind].hex()} for {iss.kind}")
    if not crl.is_signature_valid(iss.pub):
        rep.fail(name, "signature", "does not verify with the issuing CA's key")
    if d["issuer"] != iss.subject_der:
        rep.fail(name, "issuer", "issuer name is not byte-for-byte the CA's subject")
    this = utc(crl.last_update)
    check_time_tag(rep, name, "thisUpdate", d["this_tag"], this)
    if crl.next_update is None:
        rep.fail(name, "next-update", "absent")
    else:
        nxt = utc(crl.next_update)
        check_time_tag(rep, name, "nextUpdate", d["next_tag"], nxt)
        if not this < nxt <= this + prof.crl_lifetime:
            rep.fail(name, "next-update", f"{nxt - this:.0f} s after thisUpdate, not in "
                     f"(0, crl_lifetime {prof.crl_lifetime}]")

    if not d["has_exts"]:
        rep.fail(name, "crl-extensions", "no crlExtensions")
    got = {e.oid: e for e in crl.extensions}
    for oid in set(got) - {ExtensionOID.AUTHORITY_KEY_IDENTIFIER, ExtensionOID.CRL_NUMBER}:
        rep.fail(name, "crl-extensions", f"unexpected {oid.dotted_string}")
    number = None
    aki = got.get(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    if aki is None or aki.critical or aki.value.key_identifier != iss.ski:
        rep.fail(name, "crl-aki", "AKI missing, critical, or not the issuer's SKI")
    num = got.get(ExtensionOID.CRL_NUMBER)
    if num is None or num.critical:
        rep.fail(name, "crl-number", "cRLNumber missing or critical")
    else:
        number = num.value.crl_number
        if not 0 <= number < 1 << 159:
            rep.fail(name, "crl-number", f"{number} outside 0 .. 2^159-1 (20 octets)")

    seen = {}
    for (octets, ttag), ent in zip(d["entries"], crl):
        s = ent.serial_number
        if int.from_bytes(octets, "big", signed=True) != s:
            rep.fail(name, "der", f"entry order: DER serial {octets.hex()} is not {s:x}")
        check_serial_octets(rep, f"{name} entry {s:x}", octets)
        if s in seen:
            rep.fail(name, "crl-duplicate", f"serial {s:x} listed twice")
        when = utc(ent.revocation_date)
        check_time_tag(rep, f"{name} entry {s:x}", "revocationDate", ttag, when)
        if when > this:
            rep.fail(name, "crl-entry-date", f"serial {s:x} revoked after thisUpdate")
        reason = 0
        for e in ent.extensions:
            if e.oid != x509.oid.CRLEntryExtensionOID.CRL_REASON or e.critical:
                rep.fail(name, "crl-entry-extension", f"serial {s:x}: {e.oid.dotted_string}"
                         f" critical={e.critical}")
                continue
            reason = REASON_CODE[e.value.reason]
            if reason in (0, 8):
                rep.fail(name, "crl-reason", f"serial {s:x}: reason {e.value.reason.name} "
                         "(unspecified must be absent; removeFromCRL is for delta CRLs)")
        seen[s] = reason
    exp = path + ".expect"
    if os.path.exists(exp):
        want = read_expect(exp)
        for s in sorted(set(want) | set(seen)):
            if s not in seen:
                rep.fail(name, "crl-expected", f"serial {s:x} (reason {want[s]}) not listed")
            elif s not in want:
                rep.fail(name, "crl-expected", f"serial {s:x} listed but not revoked or held")
            elif seen[s] != want[s]:
                rep.fail(name, "crl-reason", f"serial {s:x}: reason {seen[s]}, expected {want[s]}")
    return number, this, len(seen)


# ---- GnuTLS ----

def certtool(rep, name, path, kind, serial, root, issuer_path, now):
    if kind == "cert":
        r = subprocess.run(["certtool", "-i", "--infile", path], capture_output=True, text=True)
        if r.returncode != 0:
            rep.fail(name, "gnutls-parse", r.stderr.strip() or f"certtool -i exit {r.returncode}")
            return
        m = re.search(r"Serial Number \(hex\): ([0-9a-f]+)", r.stdout)
        if not m or int(m.group(1), 16) != serial:
            rep.fail(name, "gnutls-parse", "GnuTLS reads a different serial")
        if root is None or now is None:
            return
        chain = open(path).read() + open(issuer_path).read()
        r = subprocess.run(["certtool", "--verify", "--load-ca-certificate", root,
                            "--verify-purpose", ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string],
                           input=chain, capture_output=True, text=True)
        if r.returncode != 0 or "Chain verification output: Verified." not in r.stdout:
            rep.fail(name, "gnutls-verify", "GnuTLS does not verify the chain for clientAuth: " +
                     " ".join(r.stdout.split("\n")[-3:]).strip())
    else:
        r = subprocess.run(["certtool", "--crl-info", "--infile", path], capture_output=True,
                           text=True)
        if r.returncode != 0:
            rep.fail(name, "gnutls-parse", r.stderr.strip() or f"certtool --crl-info exit {r.returncode}")
            return
        r = subprocess.run(["certtool", "--verify-crl", "--load-ca-certificate", issuer_path,
                            "--infile", path], capture_output=True, text=True)
        if r.returncode != 0 or "Verification output: Verified." not in r.stdout:
            rep.fail(name, "gnutls-verify", "GnuTLS does not verify the CRL: " +
                     r.stdout.strip().replace("\n", " "))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="the signer configuration (INI)")
    ap.add_argument("--profile", default="client")
    ap.add_argument("--issuer", required=True, help="the issuing CA certificate (PEM)")
    ap.add_argument("--root", help="the root CA (PEM): GnuTLS verifies each valid chain")
    ap.add_argument("--certtool", action="store_true", help="also parse with GnuTLS certtool")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    prof, iss, rep = Profile(a.config, a.profile), Issuer(a.issuer), Report()
    now = datetime.datetime.utcnow().timestamp()
    serials, last, ncert, ncrl = [], None, 0, 0
    for path in a.files:
        name = os.path.basename(path)
        try:
            kind, obj, der = load(path)
        except (ValueError, OSError) as e:
            rep.fail(name, "parse", str(e))
            continue
        if kind == "cert":
            ncert += 1
            try:
                s = check_cert(rep, name, obj, der, prof, iss)
            except (DERError, ValueError, IndexError) as e:
                rep.fail(name, "parse", f"{type(e).__name__}: {e}")
                continue
            if s is not None:
                serials.append((name, s))
            valid = utc(obj.not_valid_before) <= now < utc(obj.not_valid_after)
            if a.certtool:
                certtool(rep, name, path, kind, obj.serial_number, a.root, a.issuer,
                         now if valid else None)
        else:
            ncrl += 1
            try:
                r = check_crl(rep, name, obj, der, prof, iss, path)
            except (DERError, ValueError, IndexError) as e:
                rep.fail(name, "parse", f"{type(e).__name__}: {e}")
                continue
            if r is not None and r[0] is not None:
                # the same CRL served again keeps its number; any other must have a greater one
                if last is not None and r[0] <= last[1] and not (r[0] == last[1] and der == last[3]):
                    rep.fail(name, "crl-number-monotonic",
                             f"number {r[0]} not greater than {last[1]} of {last[0]}")
                if last is not None and r[1] < last[2]:
                    rep.fail(name, "crl-this-update", f"thisUpdate earlier than {last[0]}'s")
                last = (name, r[0], r[1], der)
            if a.certtool:
                certtool(rep, name, path, kind, None, a.root, a.issuer, now)
    varying = check_serial_set(rep, serials)
    if rep.errors:
        print(f"check_profile: {rep.errors} rule(s) broken", file=sys.stderr)
        return 1
    extra = f"; {varying} serial bit positions vary" if varying is not None else ""
    print(f"check_profile: {ncert} certificates, {ncrl} CRLs (issuer {iss.kind}, profile "
          f"{prof.name}): every rule holds{' (and GnuTLS agrees)' if a.certtool else ''}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
