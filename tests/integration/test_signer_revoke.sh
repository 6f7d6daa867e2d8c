#!/usr/bin/env bash
# Revoke / hold / release through the socket; the CRL (checked with openssl) says so, its
# number grows, and a revocation is never undone.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
ik_start_signer

for u in u1 u2 u3; do ik_issue "$u" "$u"; done
s1=$(ik_serial "$TMP/u1.pem"); s2=$(ik_serial "$TMP/u2.pem"); s3=$(ik_serial "$TMP/u3.pem")

crl_number() { openssl crl -in "$1" -noout -crlnumber | cut -d= -f2; }
fetch_crl() { ik_signctl crl -o "$1" 2>/dev/null; }

fetch_crl "$TMP/crl0.pem"
n0=$(( $(crl_number "$TMP/crl0.pem") ))
openssl crl -in "$TMP/crl0.pem" -noout -text | grep -q "No Revoked Certificates" || ik_fail "fresh CRL not empty"
ik_ok "empty CRL number $n0"

ik_signctl revoke "$s1" --reason 1 >/dev/null
ik_signctl hold "$s2" >/dev/null
fetch_crl "$TMP/crl1.pem"
n1=$(( $(crl_number "$TMP/crl1.pem") ))
[ "$n1" -gt "$n0" ] || ik_fail "CRL number did not grow ($n0 -> $n1)"
openssl crl -in "$TMP/crl1.pem" -CAfile "$TMP/ca/bundle.pem" -noout 2>&1 | grep -q "verify OK" \
	|| ik_fail "CRL signature does not verify"
text=$(openssl crl -in "$TMP/crl1.pem" -noout -text)
echo "$text" | grep -A4 "Serial Number: $s1" | grep -q "Key Compromise" || ik_fail "u1 not keyCompromise"
echo "$text" | grep -A4 "Serial Number: $s2" | grep -q "Certificate Hold" || ik_fail "u2 not on hold"
echo "$text" | grep -q "Serial Number: $s3" && ik_fail "u3 listed"
ik_ok "revoke (keyCompromise) and hold appear on CRL $n1, signature verifies"

# openssl verify with the CRL: revoked and held refused, good accepted
cat "$TMP/crl1.pem" > "$TMP/crls.pem"
v() { openssl verify -crl_check -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" \
	-CRLfile "$TMP/crls.pem" "$1" 2>&1 || true; }
v "$TMP/u1.pem" | grep -q "certificate revoked" || ik_fail "u1 accepted"
v "$TMP/u2.pem" | grep -q "certificate revoked" || ik_fail "u2 (held) accepted"
v "$TMP/u3.pem" | grep -q ": OK" || ik_fail "u3 refused"
ik_ok "openssl verify -crl_check refuses revoked and held, accepts good"

ik_signctl release "$s2" >/dev/null
fetch_crl "$TMP/crl2.pem"
n2=$(( $(crl_number "$TMP/crl2.pem") ))
[ "$n2" -gt "$n1" ] || ik_fail "CRL number did not grow after release"
openssl crl -in "$TMP/crl2.pem" -noout -text | grep -q "Serial Number: $s2" && ik_fail "released cert still listed"
ik_ok "release takes the held certificate off CRL $n2"

ik_expect_refusal policy-revoked ik_signctl release "$s1"
ik_expect_refusal policy-revoked ik_signctl hold "$s1"
ik_expect_refusal policy-revoked ik_signctl revoke "$s1" --reason 4
ik_expect_refusal state ik_signctl release "$s3"
ik_expect_refusal not-found ik_signctl revoke 0123456789ABCDEF
ik_expect_refusal policy-reason ik_signctl revoke "$s3" --reason 6
ik_expect_refusal policy-reason ik_signctl revoke "$s3" --reason 8
ik_ok "no un-revoke; wrong transitions and reasons refused"

ik_signctl hold "$s3" >/dev/null
ik_signctl revoke "$s3" --reason 5 >/dev/null
fetch_crl "$TMP/crl3.pem"
openssl crl -in "$TMP/crl3.pem" -noout -text | grep -A4 "Serial Number: $s3" | grep -q "Cessation Of Operation" \
	|| ik_fail "hold -> revoked not on CRL with its new reason"
ik_ok "hold -> revoked carries the new reason"

# the CRL number survives a restart and keeps growing
ik_stop_signer
ik_start_signer
fetch_crl "$TMP/crl4.pem"
n4=$(( $(crl_number "$TMP/crl4.pem") ))
n3=$(( $(crl_number "$TMP/crl3.pem") ))
[ "$n4" -gt "$n3" ] || ik_fail "CRL number went back after restart ($n3 -> $n4)"
ik_ok "CRL number monotonic across restarts ($n3 -> $n4)"

# the ledger refuses to forget
if /usr/bin/python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('delete from events'); c.commit()" "$TMP/ledger.sqlite" 2>/dev/null; then
	ik_fail "ledger events could be deleted"
fi
ik_ok "ledger events are append-only"
