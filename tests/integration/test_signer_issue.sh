#!/usr/bin/env bash
# Issue through the signer's socket; the chain verifies with openssl and the certificate
# carries exactly the profile's extensions; a retried request id returns the same one.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
ik_start_signer

t0=$(( $(date +%s%N) / 1000000 ))
ik_issue alice alice --attr OU=Sales
t1=$(( $(date +%s%N) / 1000000 ))
openssl verify -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" \
	-purpose sslclient "$TMP/alice.pem" >/dev/null || ik_fail "chain does not verify"
ik_ok "EC P-256 leaf verifies root -> issuing CA -> leaf for sslclient"

# serial: 19 bytes, the drawing time in ms (6 bytes) then 104 random bits; a second one
# differs in its random part
s=$(ik_serial "$TMP/alice.pem")
[ "${#s}" -eq 38 ] || ik_fail "serial $s is not 19 bytes"
ms=$(( 16#${s:0:12} ))
[ "$ms" -ge "$t0" ] && [ "$ms" -le "$t1" ] || ik_fail "serial $s: time $ms not in [$t0, $t1]"
ik_issue alice2 alice2
s2=$(ik_serial "$TMP/alice2.pem")
[ "${#s2}" -eq 38 ] && [ "${s2:12}" != "${s:12}" ] && [ "$(( 16#${s2:0:12} ))" -ge "$ms" ] ||
	ik_fail "second serial $s2 after $s"
ik_ok "serials are the drawing time in ms and 104 random bits (19 bytes, positive)"

text=$(openssl x509 -in "$TMP/alice.pem" -noout -text)
subject=$(openssl x509 -in "$TMP/alice.pem" -noout -subject -nameopt RFC2253)
[ "$subject" = "subject=CN=alice,OU=Sales,O=Inkan Test,C=JP" ] || ik_fail "subject: $subject"
ik_ok "subject carries the request's CN/OU and the profile's fixed O and C"

# exactly the profile's extensions, with criticality, checked by an independent parser
/usr/bin/python3 - "$TMP/alice.pem" "$TMP/ca/issuing-ca.pem" <<'PY' || ik_fail "extension check"
import sys
from cryptography import x509
from cryptography.x509.oid import ExtensionOID as E, ExtendedKeyUsageOID, AuthorityInformationAccessOID
cert = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())
ca = x509.load_pem_x509_certificate(open(sys.argv[2], 'rb').read())
exts = {e.oid: e for e in cert.extensions}
want = {E.BASIC_CONSTRAINTS: True, E.KEY_USAGE: True, E.EXTENDED_KEY_USAGE: False,
        E.SUBJECT_KEY_IDENTIFIER: False, E.AUTHORITY_KEY_IDENTIFIER: False,
        E.CRL_DISTRIBUTION_POINTS: False, E.AUTHORITY_INFORMATION_ACCESS: False}
assert set(exts) == set(want), f"extension set {set(exts)}"
for oid, crit in want.items():
    assert exts[oid].critical == crit, f"{oid} critical={exts[oid].critical}"
assert exts[E.BASIC_CONSTRAINTS].value.ca is False
ku = exts[E.KEY_USAGE].value
assert ku.digital_signature and not ku.key_encipherment and not ku.key_cert_sign and not ku.crl_sign
assert list(exts[E.EXTENDED_KEY_USAGE].value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
ski = x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
assert exts[E.SUBJECT_KEY_IDENTIFIER].value.digest == ski.digest
ca_ski = ca.extensions.get_extension_for_oid(E.SUBJECT_KEY_IDENTIFIER).value.digest
assert exts[E.AUTHORITY_KEY_IDENTIFIER].value.key_identifier == ca_ski
dp = exts[E.CRL_DISTRIBUTION_POINTS].value[0].full_name[0].value
assert dp == "http://127.0.0.1:8080/crl/issuing-ca.crl", dp
aia = [(a.access_method, a.access_location.value) for a in exts[E.AUTHORITY_INFORMATION_ACCESS].value]
assert aia == [(AuthorityInformationAccessOID.OCSP, "http://127.0.0.1:8080/ocsp")], aia
assert cert.version == x509.Version.v3
s = cert.serial_number
assert 0 < s and s.bit_length() >= 121 and s.bit_length() <= 160, s.bit_length()
days = (cert.not_valid_after - cert.not_valid_before).days
assert 29 <= days <= 31, days
for attr in cert.subject:
    want_tag = 19 if attr.oid == x509.NameOID.COUNTRY_NAME else 12  # PrintableString / UTF8String
    assert attr._type.value == want_tag, (attr.oid, attr._type)
PY
ik_ok "extensions exactly as the profile (criticality, SKI/AKI, CRL DP, AIA, EKU clientAuth, UTF8 names)"

# RSA-2048 leaf: keyEncipherment too
ik_key bob -algorithm RSA -pkeyopt rsa_keygen_bits:2048
ik_issue bob bob
openssl verify -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" "$TMP/bob.pem" >/dev/null \
	|| ik_fail "RSA leaf does not verify"
openssl x509 -in "$TMP/bob.pem" -noout -ext keyUsage | grep -q "Digital Signature, Key Encipherment" \
	|| ik_fail "RSA leaf keyUsage"
ik_ok "RSA-2048 leaf with digitalSignature+keyEncipherment"

# P-384 leaf
ik_key carol -algorithm EC -pkeyopt ec_paramgen_curve:P-384
ik_issue carol carol
openssl verify -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" "$TMP/carol.pem" >/dev/null \
	|| ik_fail "P-384 leaf does not verify"
ik_ok "EC P-384 leaf"

# the same request id again: the same certificate, marked replayed
cp "$TMP/alice.pem" "$TMP/alice.first.pem"
out=$(ik_issue alice alice --attr OU=Sales 2>&1 >/dev/null)
case "$out" in *replayed*) ;; *) ik_fail "retry not marked replayed: $out" ;; esac
cmp -s "$TMP/alice.pem" "$TMP/alice.first.pem" || ik_fail "retry returned a different certificate"
ik_ok "a retried request id returns the same certificate"

# the same request id for a different request: refused
ik_expect_refusal exists ik_signctl issue --id alice --profile client --pubkey "$TMP/alice.pub" \
	--attr CN=mallory --days 30
ik_ok "a request id reused for a different request is refused"

# serials are distinct and the ledger has one row per certificate
n=$(/usr/bin/python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from certs').fetchone()[0])" "$TMP/ledger.sqlite")
[ "$n" = 4 ] || ik_fail "ledger has $n certificates, expected 4"
ik_ok "ledger holds exactly one row per certificate"

ik_signctl chain -o "$TMP/chain.pem"
[ "$(grep -c 'BEGIN CERTIFICATE' "$TMP/chain.pem")" = 2 ] || ik_fail "chain length"
ik_signctl status | grep -q '^hsm: ok' || ik_fail "status"
ik_ok "chain and status verbs"
