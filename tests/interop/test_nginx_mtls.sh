#!/usr/bin/env bash
# Interop: Debian's nginx on loopback with ssl_verify_client on, the Inkan chain as
# ssl_client_certificate and the Inkan CRL as ssl_crl.  curl with an issued certificate gets
# 200; after revoke (CRL refresh + reload) and hold it gets nginx's 400 "The SSL certificate
# error"; after release 200 again; an expired certificate gets 400.  Prints the seconds from
# revoke/hold to the first refused request.  nginx runs in the foreground as our child, with
# its own prefix, config, pid, logs and temp paths under $TMP: no system file is touched.
# nginx checks a CRL for every CA in the chain (X509_V_FLAG_CRL_CHECK_ALL), so ssl_crl also
# holds a CRL from the root, signed on the token by tool_rootcrl: the demo ceremony makes none.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/nginx.sh"
NGX_VERIFY="ssl_crl $NGX/crl.pem;"

# refresh_crl N [SERIAL:REASON...]: fetch the signer's CRL as crlN.pem and install it (with
# the root's) for nginx; the entries it must hold go to crlN.pem.expect for the checker.
refresh_crl() {
	local n=$1 e
	shift
	ik_signctl crl -o "$TMP/crl$n.pem" 2>/dev/null || ik_fail "crl fetch $n"
	for e in "$@"; do echo "${e%:*} ${e#*:}"; done > "$TMP/crl$n.pem.expect"
	cat "$TMP/crl$n.pem" "$TMP/ca/root.crl" > "$NGX/crl.pem.new"
	mv "$NGX/crl.pem.new" "$NGX/crl.pem"
	CRLS+=("$TMP/crl$n.pem")
}

CRLS=()
ik_setup ec-p256
tool_rootcrl inkan "$TMP/hsm/user.pin" inkan-root "$TMP/ca/root-ca.pem" 30 "$TMP/ca/root.crl" ||
	ik_fail "root CRL"
ik_start_signer

# Expiry: the signer refuses a validity in the past, so "expired" is a certificate whose
# notAfter is a few seconds ahead, used after that moment.
now=$(date +%s)
ik_key past
ik_expect_refusal policy-validity ik_signctl issue --id past --profile client \
	--pubkey "$TMP/past.pub" --attr CN=past --not-before $((now - 7200)) --not-after $((now - 3600))
ik_ok "the signer refuses to issue with a notAfter in the past"
expires=$(( $(date +%s) + 6 ))
ik_issue short "short lived" --not-after "$expires" >/dev/null 2>&1

ik_issue u1 "alice" >/dev/null 2>&1
ik_key u2 -algorithm RSA -pkeyopt rsa_keygen_bits:2048
ik_issue u2 "bob (RSA)" >/dev/null 2>&1
ik_key u3 -algorithm EC -pkeyopt ec_paramgen_curve:P-384
ik_issue u3 "carol (P-384)" --attr OU=interop >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=alice" \
	-keyout "$TMP/foreign.key" -out "$TMP/foreign.pem" 2>/dev/null

server_cert
refresh_crl 0
ngx_start
ik_ok "nginx $("$NGINX" -v 2>&1 | cut -d/ -f2) up on 127.0.0.1:$PORT with the Inkan chain and CRL"

if [ "$(date +%s)" -lt $((expires - 1)) ]; then
	expect short 200
	ik_ok "short-lived certificate accepted while valid"
fi
expect u1 200
expect u2 200
expect u3 200
ik_ok "issued certificates (EC P-256, RSA-2048, EC P-384) get HTTP 200"
got=$(req -)
[ "$got" = 400 ] && grep -q "No required SSL certificate was sent" "$NGX/body" ||
	ik_fail "no client certificate: HTTP $got"
expect foreign 400
ik_ok "no certificate and a foreign self-signed certificate refused (400)"

# Revoke: nginx keeps the CRL it loaded until reload, then refuses at once.
s1=$(ik_serial "$TMP/u1.pem")
t0=$(now_ns)
ik_signctl revoke "$s1" --reason 1 >/dev/null 2>&1
expect u1 200
refresh_crl 1 "$s1:1"
t1=$(now_ns)
reload
t2=$(now_ns)
expect u1 400 "certificate revoked"
t3=$(now_ns)
expect u2 200
ik_ok "revoked u1 refused (400, certificate revoked); u2 still accepted"
echo "# revoke -> refused: $(secs $((t3 - t0))) s (revoke+CRL fetch $(secs $((t1 - t0))) s," \
	"reload until the old workers are gone $(secs $((t2 - t1))) s, request $(secs $((t3 - t2))) s)"

# Hold, then release.
s2=$(ik_serial "$TMP/u2.pem")
t0=$(now_ns)
ik_signctl hold "$s2" >/dev/null 2>&1
refresh_crl 2 "$s1:1" "$s2:6"
reload
expect u2 400 "certificate revoked"
t3=$(now_ns)
expect u3 200
ik_ok "held u2 refused (400)"
echo "# hold -> refused: $(secs $((t3 - t0))) s"
t0=$(now_ns)
ik_signctl release "$s2" >/dev/null 2>&1
refresh_crl 3 "$s1:1"
reload
expect u2 200
t3=$(now_ns)
expect u1 400 "certificate revoked"
ik_ok "released u2 accepted again; u1 stays refused"
echo "# release -> accepted: $(secs $((t3 - t0))) s"

# Expired.
while [ "$(date +%s)" -le "$expires" ]; do sleep 0.2; done
expect short 400 "certificate has expired"
expect u3 200
ik_ok "expired certificate refused (400, certificate has expired)"

# nginx survived it all, and every certificate and CRL here passes the independent profile
# check (the root's CRL is not the signer's: it is not checked against the leaf profile).
kill -0 "$NGINX_PID" 2>/dev/null || ik_fail "nginx died"
$CHECK --config "$TMP/signer.conf" --issuer "$TMP/ca/issuing-ca.pem" --root "$TMP/ca/root-ca.pem" --certtool \
	"$TMP/short.pem" "$TMP/u1.pem" "$TMP/u2.pem" "$TMP/u3.pem" "${CRLS[@]}" ||
	ik_fail "independent profile check"
ik_ok "independent profile check of ${#CRLS[@]} CRLs and 4 certificates"
