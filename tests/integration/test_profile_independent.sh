#!/usr/bin/env bash
# Independent profile check: ~50 certificates (EC P-256, P-384 and RSA keys, varied subjects
# and validity) and the CRLs after each revocation, hold and release, all checked by
# check_profile.py (python3-cryptography + a strict DER walker + GnuTLS certtool) — under an
# EC P-256 CA, then under an RSA-3072 CA.  First the checker itself is shown to catch each
# kind of defect, one rule at a time, on certificates made with openssl.
. "$(dirname "$0")/lib.sh"

CHECK=(/usr/bin/python3 "$INKAN_SRC/tests/integration/check_profile.py")
command -v certtool >/dev/null || ik_fail "certtool not found (Debian package gnutls-bin)"

# ---- the checker catches what it should ----

# expect_rules "rule ..." ARGS...: the checker fails, and the rules it names are exactly these
expect_rules() {
	local want=$1 got
	shift
	if "${CHECK[@]}" --config "$TMP/signer.conf" "$@" >/dev/null 2>"$TMP/check.err"; then
		ik_fail "checker accepted ($want expected): $*"
	fi
	got=$(sed -n 's/^check_profile: [^:]*: \([a-z0-9-]*\): .*/\1/p' "$TMP/check.err" | sort -u | xargs)
	[ "$got" = "$want" ] || ik_fail "checker named '$got', expected '$want': $(cat "$TMP/check.err")"
}

# A throw-away CA with openssl, named like ours, and leaves with one defect each.
mkdir -p "$TMP/neg"
ik_write_config
N=$TMP/neg
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 800 \
	-subj "/C=JP/O=Inkan Test/CN=Openssl Test CA" -keyout "$N/ca.key" -out "$N/ca.pem" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
GOOD_EXT='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
crlDistributionPoints=URI:http://127.0.0.1:8080/crl/issuing-ca.crl
authorityInfoAccess=OCSP;URI:http://127.0.0.1:8080/ocsp'

# leaf NAME EXTS [openssl x509 args...] (key, subject, days, serial from $KEYOPT $SUBJ_CONF
# $DAYS $SERIAL)
leaf() {
	local name=$1 exts=$2
	shift 2
	openssl genpkey ${KEYOPT:--algorithm EC -pkeyopt ec_paramgen_curve:P-256} -out "$N/$name.key" 2>/dev/null
	openssl req -new -key "$N/$name.key" -utf8 -config "${SUBJ_CONF:-$N/subj.cnf}" -out "$N/$name.csr"
	printf '%s\n' "$exts" > "$N/$name.ext"
	openssl x509 -req -in "$N/$name.csr" -CA "$N/ca.pem" -CAkey "$N/ca.key" -extfile "$N/$name.ext" \
		-days "${DAYS:-30}" -set_serial "${SERIAL:-0x5$(openssl rand -hex 15)}" -out "$N/$name.pem" "$@" 2>/dev/null
}
printf '[req]\ndistinguished_name=dn\nprompt=no\nstring_mask=utf8only\n[dn]\nC=JP\nO=Inkan Test\nCN=good\n' > "$N/subj.cnf"
printf '[req]\ndistinguished_name=dn\nprompt=no\nstring_mask=default\n[dn]\nC=JP\nO=Inkan Test\nCN=printable\n' > "$N/printable.cnf"

neg() { "${CHECK[@]}" --config "$TMP/signer.conf" --issuer "$N/ca.pem" "$@"; }
leaf good "$GOOD_EXT"
neg "$N/good.pem" >/dev/null || ik_fail "checker refused the control certificate: $(neg "$N/good.pem" 2>&1)"
ik_ok "checker accepts a conforming openssl-made control certificate"

SERIAL=1 leaf serial1 "$GOOD_EXT"
expect_rules "serial-entropy" --issuer "$N/ca.pem" "$N/serial1.pem"
leaf eku "${GOOD_EXT/extendedKeyUsage=clientAuth/extendedKeyUsage=serverAuth,clientAuth}"
expect_rules "extended-key-usage" --issuer "$N/ca.pem" "$N/eku.pem"
leaf kunc "${GOOD_EXT/keyUsage=critical,/keyUsage=}"
expect_rules "extension-critical" --issuer "$N/ca.pem" "$N/kunc.pem"
leaf kuenc "${GOOD_EXT/digitalSignature/digitalSignature,keyEncipherment}"
expect_rules "key-usage" --issuer "$N/ca.pem" "$N/kuenc.pem"
leaf catrue "${GOOD_EXT/CA:FALSE/CA:TRUE}"
expect_rules "basic-constraints der-default" --issuer "$N/ca.pem" "$N/catrue.pem"
leaf noaki "${GOOD_EXT/authorityKeyIdentifier=keyid:always/authorityKeyIdentifier=none}"
expect_rules "extension-missing" --issuer "$N/ca.pem" "$N/noaki.pem"
leaf crldp "${GOOD_EXT/issuing-ca.crl/other.crl}"
expect_rules "crl-dp" --issuer "$N/ca.pem" "$N/crldp.pem"
leaf ocsp "${GOOD_EXT/8080\/ocsp/8081\/ocsp}"
expect_rules "aia-ocsp" --issuer "$N/ca.pem" "$N/ocsp.pem"
leaf san "$GOOD_EXT
subjectAltName=email:a@example.com"
expect_rules "extension-unexpected" --issuer "$N/ca.pem" "$N/san.pem"
DAYS=400 leaf long "$GOOD_EXT"
expect_rules "validity" --issuer "$N/ca.pem" "$N/long.pem"
leaf sha384 "$GOOD_EXT" -sha384
expect_rules "signature signature-algorithm" --issuer "$N/ca.pem" "$N/sha384.pem"
SUBJ_CONF=$N/printable.cnf leaf printable "$GOOD_EXT"
expect_rules "subject-string-type" --issuer "$N/ca.pem" "$N/printable.pem"
SERIAL=0x5a5a5a5a5a5a5a5a0000000000000001 leaf seq1 "$GOOD_EXT"
SERIAL=0x5a5a5a5a5a5a5a5a0000000000000002 leaf seq2 "$GOOD_EXT"
expect_rules "serial-prefix" --issuer "$N/ca.pem" "$N/seq1.pem" "$N/seq2.pem"
ik_ok "checker names exactly the broken rule for 13 kinds of defective certificate"

# A CRL with a duplicate entry and an explicit 'unspecified' reason, signed by the test CA.
/usr/bin/python3 - "$N/ca.pem" "$N/ca.key" "$N/dup.crl" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
ca = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
key = serialization.load_pem_private_key(open(sys.argv[2], "rb").read(), None)
now = datetime.datetime.utcnow()
b = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject).last_update(now)
     .next_update(now + datetime.timedelta(minutes=30))
     .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), False)
     .add_extension(x509.CRLNumber(7), False))
for reason in (x509.ReasonFlags.key_compromise, x509.ReasonFlags.unspecified):
    b = b.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(0x5123456789abcdef)
        .revocation_date(now).add_extension(x509.CRLReason(reason), False).build())
open(sys.argv[3], "wb").write(b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
PY
expect_rules "crl-duplicate crl-reason" --issuer "$N/ca.pem" "$N/dup.crl"
ik_ok "checker refuses a CRL with a duplicate entry and an explicit unspecified reason"

# ---- the signer's certificates and CRLs ----

declare -A STATE # serial (hex) -> reason code currently on the CRL
CRLS=()
CERTS=()
NCRL=0

crl_snapshot() {
	local f=$TMP/$CA_TAG-crl$NCRL.pem s
	ik_signctl crl -o "$f" 2>/dev/null || ik_fail "crl fetch $NCRL"
	for s in "${!STATE[@]}"; do echo "$s ${STATE[$s]}"; done > "$f.expect"
	CRLS+=("$f")
	NCRL=$((NCRL + 1))
}

# issue_many COUNT: COUNT certificates, cycling through key types, subjects and validity
issue_many() {
	local i id key cn extra now
	for i in $(seq -w 1 "$1"); do
		id=$CA_TAG-u$i
		case $((10#$i % 4)) in
		0) key=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256) ;;
		1) key=(-algorithm EC -pkeyopt ec_paramgen_curve:P-384) ;;
		2) key=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048) ;;
		3) if [ $((10#$i % 8)) = 3 ]; then key=(-algorithm RSA -pkeyopt rsa_keygen_bits:3072)
		   else key=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256); fi ;;
		esac
		ik_key "$id" "${key[@]}"
		now=$(date +%s)
		case $((10#$i % 6)) in
		0) cn="user $i"; extra=(--days 1) ;;
		1) cn="山田 太郎 $i"; extra=(--attr "OU=Ünït $i" --days 397) ;;
		2) cn="$(printf 'x%.0s' $(seq 1 61))$i"; extra=(--attr "serialNumber=EMP-$i") ;;
		3) cn="Zoë O'Brien-Łukasz $i"; extra=(--not-before $((now + 3600)) --not-after $((now + 3600 + 397 * 86400))) ;;
		4) cn="device-$i.example"; extra=(--attr OU=devices --attr serialNumber=SN$i --days 90) ;;
		5) cn="ü$i"; extra=(--not-after $((now + 600))) ;;
		esac
		ik_issue "$id" "$cn" "${extra[@]}" >/dev/null 2>&1 || ik_fail "issue $id ($cn)"
		CERTS+=("$TMP/$id.pem")
	done
}

# run_ca ALG COUNT: a fresh token and CA, COUNT certificates, revocations, holds, releases
run_ca() {
	local alg=$1 count=$2 s t0 reasons=(1 2 3 4 5 9 10 0)
	CA_TAG=$alg
	STATE=()
	CRLS=()
	CERTS=()
	NCRL=0
	ik_setup "$alg"
	ik_start_signer
	t0=$(date +%s)
	issue_many "$count"
	echo "# $alg CA: $count certificates issued in $(($(date +%s) - t0)) s"
	crl_snapshot
	# one revocation per allowed reason (0 = unspecified, listed with no reason extension)
	for i in "${!reasons[@]}"; do
		s=$(ik_serial "${CERTS[$i]}")
		ik_signctl revoke "$s" --reason "${reasons[$i]}" >/dev/null 2>&1 || ik_fail "revoke $s"
		STATE[$s]=${reasons[$i]}
		[ $((i % 3)) = 2 ] && crl_snapshot
	done
	crl_snapshot
	# holds: one released, one revoked while held, one left on hold
	for i in 8 9 10; do
		s=$(ik_serial "${CERTS[$i]}")
		ik_signctl hold "$s" >/dev/null 2>&1 || ik_fail "hold $s"
		STATE[$s]=6
	done
	crl_snapshot
	sleep 1 # so that the CRLs below have a later thisUpdate than the first
	s=$(ik_serial "${CERTS[8]}"); ik_signctl release "$s" >/dev/null 2>&1; unset "STATE[$s]"
	s=$(ik_serial "${CERTS[9]}"); ik_signctl revoke "$s" --reason 4 >/dev/null 2>&1; STATE[$s]=4
	crl_snapshot
	crl_snapshot # unchanged: the same CRL again, with the same number
	t0=$(date +%s)
	"${CHECK[@]}" --config "$TMP/signer.conf" --issuer "$TMP/ca/issuing-ca.pem" \
		--root "$TMP/ca/root-ca.pem" --certtool "${CERTS[@]}" "${CRLS[@]}" ||
		ik_fail "$alg CA: independent profile check"
	echo "# $alg CA: checked in $(($(date +%s) - t0)) s"
	ik_ok "$alg CA: ${#CERTS[@]} certificates and ${#CRLS[@]} CRLs pass the independent check"

	# the checker on the real output: CRLs out of order, a wrong expected reason, a forged
	# signature, and the wrong issuer are all noticed
	expect_rules "crl-number-monotonic crl-this-update" --issuer "$TMP/ca/issuing-ca.pem" \
		"${CRLS[-1]}" "${CRLS[0]}"
	cp "${CRLS[1]}" "$TMP/wrong.pem"
	sed 's/ 1$/ 3/' "${CRLS[1]}.expect" > "$TMP/wrong.pem.expect"
	expect_rules "crl-reason" --issuer "$TMP/ca/issuing-ca.pem" "$TMP/wrong.pem"
	/usr/bin/python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[-3] ^= 1; open(sys.argv[2], "wb").write(d)' \
		<(openssl x509 -in "${CERTS[0]}" -outform DER) "$TMP/forged.der"
	expect_rules "signature" --issuer "$TMP/ca/issuing-ca.pem" "$TMP/forged.der"
	ik_ok "$alg CA: reordered CRLs, a wrong reason and a forged signature are caught"
	ik_stop_signer
}

run_ca ec-p256 50
# the same under an RSA-3072 CA, on a fresh token
rm -rf "$TMP/hsm" "$TMP/ca" "$TMP"/ledger.sqlite* "$TMP/signer.sock"
run_ca rsa-3072 16
