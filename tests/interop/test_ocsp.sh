#!/usr/bin/env bash
# Interop: the OCSP responder (inkan-rad in front, the signer answering from its ledger) with
# real clients — `openssl ocsp` over HTTPS and plain HTTP (POST), curl for the GET form, and
# Debian's nginx with `ssl_ocsp` checking client certificates.  good / revoked (with the
# reason) / held then released / unknown / unauthorized / malformed, the nonce echoed, the
# response signature and the delegated responder certificate (OCSPSigning, ocsp-nocheck,
# short validity, in the signer's ledger) checked by OpenSSL and python3-cryptography, and the
# time from a revocation to the first "revoked" answer measured (it must be under 2 s) —
# for openssl, and for nginx without a reload.  Also: a signer without an OCSP key still
# runs and the RA answers tryLater; bad [ocsp] configs are refused.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/nginx.sh"

ICA=$TMP/ca/issuing-ca.pem
ROOT=$TMP/ca/root-ca.pem
LIMIT_MS=2000

ik_setup ec-p256
printf '\n[ocsp]\ncert_days = 7\nlifetime = 3600\nrefresh = 300\n' >> "$TMP/signer.conf"
ik_start_signer
ik_ra_officers
HTTP_PORT=$(free_port)
ik_start_ra "http_port = $HTTP_PORT
ocsp_max_age = 30"
PLAIN="http://127.0.0.1:$HTTP_PORT"
ms() { echo $(( ($2 - $1) / 1000000 )); }

# q NAME URL [openssl ocsp args...]: query for $TMP/NAME.pem; output in $TMP/q.out (stdout and
# stderr), the DER response in $TMP/q.der
q() {
	local name=$1 url=$2
	shift 2
	openssl ocsp -issuer "$ICA" -cert "$TMP/$name.pem" -url "$url" -CAfile "$ROOT" -resp_text \
		-respout "$TMP/q.der" "$@" >"$TMP/q.out" 2>&1 || true
}
# status NAME: good / revoked / unknown as openssl reports it for that certificate
status() { sed -n "s#^$TMP/$1.pem: ##p" "$TMP/q.out" | head -n 1; }
want() {
	local got
	got=$(status "$1")
	[ "$got" = "$2" ] || ik_fail "$1: OCSP status '$got', want '$2': $(head -c 1500 "$TMP/q.out")"
	grep -q "^Response verify OK" "$TMP/q.out" || ik_fail "$1: response does not verify: $(cat "$TMP/q.out")"
}

for u in u1 u2 u3 u4; do ik_issue "$u" "ocsp $u" >/dev/null 2>&1 || ik_fail "issue $u"; done
ik_key u5 -algorithm RSA -pkeyopt rsa_keygen_bits:2048
ik_issue u5 "ocsp rsa" >/dev/null 2>&1 || ik_fail "issue u5"
openssl x509 -in "$TMP/u1.pem" -noout -ocsp_uri | grep -qx "http://127.0.0.1:8080/ocsp" ||
	ik_fail "the certificate does not carry the AIA OCSP URL of the profile"

# ---- good, over HTTPS and plain HTTP, with a nonce (openssl's default) ----------------------
q u1 "$BASE/ocsp"
want u1 good
grep -q "OCSP Nonce" "$TMP/q.out" || ik_fail "no nonce in the response"
if grep -qi "nonce" <(grep -i "warning\|error" "$TMP/q.out"); then ik_fail "nonce problem: $(cat "$TMP/q.out")"; fi
q u1 "$PLAIN/ocsp"
want u1 good
q u5 "$PLAIN/ocsp" -no_nonce
want u5 good
ik_ok "good for issued certificates (EC and RSA), POST over HTTPS and plain HTTP, response verifies against the root"

# the nonce: the one we send comes back, byte for byte (openssl checks it; so do we)
openssl ocsp -issuer "$ICA" -cert "$TMP/u2.pem" -reqout "$TMP/nreq.der" -nonce >/dev/null 2>&1
curl -s --data-binary @"$TMP/nreq.der" -H 'Content-Type: application/ocsp-request' \
	-o "$TMP/nresp.der" "$PLAIN/ocsp"
/usr/bin/python3 - "$TMP/nreq.der" "$TMP/nresp.der" <<'PY' || ik_fail "nonce not echoed"
import sys
from cryptography import x509
from cryptography.x509 import ocsp
req = ocsp.load_der_ocsp_request(open(sys.argv[1], "rb").read())
resp = ocsp.load_der_ocsp_response(open(sys.argv[2], "rb").read())
a = req.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
b = resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
assert len(a) == 16 and a == b, (a, b)
PY
ik_ok "the request's nonce is echoed in the response"

# ---- the responder certificate and the signature, by an independent parser -----------------
q u1 "$PLAIN/ocsp" -no_nonce
/usr/bin/python3 - "$TMP/q.der" "$ICA" "$TMP/u1.pem" <<'PY' || ik_fail "responder certificate / signature check"
import sys, datetime
from cryptography import x509
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
resp = ocsp.load_der_ocsp_response(open(sys.argv[1], "rb").read())
ica = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
leaf = x509.load_pem_x509_certificate(open(sys.argv[3], "rb").read())
assert resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD
assert resp.serial_number == leaf.serial_number
assert len(resp.certificates) == 1, "the responder certificate is included"
rc = resp.certificates[0]
# delegated: issued by the issuing CA, signature checks
assert rc.issuer == ica.subject
ica.public_key().verify(rc.signature, rc.tbs_certificate_bytes, ec.ECDSA(rc.signature_hash_algorithm))
eku = rc.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
assert list(eku) == [ExtendedKeyUsageOID.OCSP_SIGNING], list(eku)
rc.extensions.get_extension_for_class(x509.OCSPNoCheck)
ku = rc.extensions.get_extension_for_class(x509.KeyUsage)
assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
assert not rc.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
# (Debian's python3-cryptography 38: naive UTC datetimes)
life = rc.not_valid_after - rc.not_valid_before
assert life <= datetime.timedelta(days=7, seconds=300), life
now = datetime.datetime.utcnow()
assert rc.not_valid_before <= now < rc.not_valid_after
# responderID byKey = SHA-1 of the responder's public key bits
assert resp.responder_name is None
import hashlib
bits = rc.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
assert resp.responder_key_hash == hashlib.sha1(bits).digest()
# the response signature, with the responder's key
rc.public_key().verify(resp.signature, resp.tbs_response_bytes, ec.ECDSA(resp.signature_hash_algorithm))
# times: thisUpdate now, nextUpdate = thisUpdate + [ocsp] lifetime (3600)
assert abs((resp.this_update - now).total_seconds()) < 120
assert (resp.next_update - resp.this_update).total_seconds() == 3600
PY
openssl ocsp -respin "$TMP/q.der" -resp_text -noverify >"$TMP/text.out" 2>&1 || true
grep -q "OCSP No Check" "$TMP/text.out" && grep -q "OCSP Signing" "$TMP/text.out" ||
	ik_fail "openssl does not see ocsp-nocheck and OCSPSigning: $(cat "$TMP/text.out")"
rserial=$(/usr/bin/python3 -c 'import sys; from cryptography.x509 import ocsp; print("%X" % ocsp.load_der_ocsp_response(open(sys.argv[1],"rb").read()).certificates[0].serial_number)' "$TMP/q.der")
n=$(sqlite3 "$TMP/ledger.sqlite" "select count(*) from intents i join certs c using (serial) where i.profile = 'ocsp' and i.request_id like 'signer:ocsp:%' and hex(c.serial) like '%$rserial'")
[ "$n" = 1 ] || ik_fail "the responder certificate $rserial is not in the signer's ledger ($n)"
ik_expect_refusal proto-field ik_signctl issue --id "signer:ocsp:mine" --profile client \
	--pubkey "$TMP/u1.pub" --attr CN=x
ik_ok "delegated responder certificate: issued by the CA, OCSPSigning only, ocsp-nocheck, 7 days, in the ledger; byKey responder id; signature verifies (python3-cryptography)"

# ---- unknown, unauthorized, malformed, HTTP-level refusals ----------------------------------
openssl ocsp -issuer "$ICA" -serial 0x1122334455667788 -url "$PLAIN/ocsp" -CAfile "$ROOT" \
	>"$TMP/q.out" 2>&1 || true
grep -q "^0x1122334455667788: unknown" "$TMP/q.out" || ik_fail "unknown serial: $(cat "$TMP/q.out")"
grep -q "^Response verify OK" "$TMP/q.out" || ik_fail "unknown: response does not verify"
ik_ok "a serial the signer never issued: unknown (signed)"
openssl ocsp -issuer "$ROOT" -cert "$ICA" -url "$PLAIN/ocsp" -CAfile "$ROOT" >"$TMP/q.out" 2>&1 || true
grep -q "Responder Error: unauthorized (6)" "$TMP/q.out" || ik_fail "other issuer: $(cat "$TMP/q.out")"
ik_ok "a CertID of another issuer (the root): unauthorized"

post() { curl -s -o "$TMP/r.der" -D "$TMP/r.hdr" -w '%{http_code}' "$@" "$PLAIN/ocsp"; }
resp_status() {
	openssl ocsp -respin "$TMP/r.der" -resp_text -noverify >"$TMP/rs.out" 2>&1 || true
	sed -n 's/.*OCSP Response Status: //p; s/.*Responder Error: //p' "$TMP/rs.out" | head -n 1
}
[ "$(post -H 'Content-Type: application/ocsp-request' --data-binary 'not DER at all')" = 200 ] ||
	ik_fail "garbage: HTTP status"
[ "$(od -An -tx1 "$TMP/r.der" | tr -d ' \n')" = 30030a0101 ] || ik_fail "garbage: not malformedRequest"
case "$(resp_status)" in malformedrequest*) ;; *) ik_fail "openssl reads '$(resp_status)'";; esac
grep -qi '^Cache-Control: no-store' "$TMP/r.hdr" || ik_fail "malformedRequest is cacheable"
head -c 100 "$TMP/nreq.der" > "$TMP/cut.der"
post -H 'Content-Type: application/ocsp-request' --data-binary @"$TMP/cut.der" >/dev/null
[ "$(od -An -tx1 "$TMP/r.der" | tr -d ' \n')" = 30030a0101 ] || ik_fail "truncated: not malformedRequest"
{ cat "$TMP/nreq.der"; printf 'x'; } > "$TMP/trail.der"
post -H 'Content-Type: application/ocsp-request' --data-binary @"$TMP/trail.der" >/dev/null
[ "$(od -An -tx1 "$TMP/r.der" | tr -d ' \n')" = 30030a0101 ] || ik_fail "trailing byte: not malformedRequest"
[ "$(post -H 'Content-Type: application/json' --data-binary @"$TMP/nreq.der")" = 415 ] ||
	ik_fail "wrong Content-Type accepted"
[ "$(post --data-binary @"$TMP/nreq.der")" = 415 ] || ik_fail "form Content-Type accepted"
head -c 9000 /dev/zero > "$TMP/big.der"
[ "$(post -H 'Content-Type: application/ocsp-request' --data-binary @"$TMP/big.der")" = 413 ] ||
	ik_fail "a 9000-byte request accepted"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$PLAIN/ocsp/%25%25%25%25")" = 200 ] ||
	ik_fail "bad base64: HTTP status"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$PLAIN/api/v1/counters")" = 404 ] ||
	ik_fail "the officer API is reachable over plain HTTP"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$PLAIN/crl/issuing-ca.crl")" = 200 ] ||
	ik_fail "the CRL is not served over plain HTTP"
ik_ok "malformed (garbage, truncated, trailing bytes, bad base64) -> malformedRequest, not cached; wrong Content-Type 415, > 8192 bytes 413; only public URLs on plain HTTP"

# the signer's own checks, with bodies the RA never sends (tool_ocsp talks to the socket)
out=$(tool_ocsp "$TMP/signer.sock" "$ICA" 0001) || ik_fail "tool_ocsp"
case "$out" in "error proto-field: ocsp: a serial is not a DER INTEGER"*) ;; *) ik_fail "non-DER serial: $out";; esac
out=$(tool_ocsp "$TMP/signer.sock" "$ROOT" 01) || ik_fail "tool_ocsp"
[ "$out" = "status 6 len 5" ] || ik_fail "root CertID at the signer: $out"
out=$(tool_ocsp "$TMP/signer.sock" "$ICA" 80 "$TMP/neg.der") || ik_fail "tool_ocsp"
case "$out" in "status 0 len "*) ;; *) ik_fail "negative serial: $out";; esac
/usr/bin/python3 -c 'import sys; from cryptography.x509 import ocsp; r = ocsp.load_der_ocsp_response(open(sys.argv[1],"rb").read()); assert r.certificate_status == ocsp.OCSPCertStatus.UNKNOWN and r.serial_number == -128' \
	"$TMP/neg.der" || ik_fail "negative serial: not unknown"
ik_ok "at the signer: a serial that is not a DER INTEGER refused (proto-field), another issuer unauthorized, a negative serial unknown"

# ---- the GET form (RFC 5019) and its caching headers ----------------------------------------
openssl ocsp -issuer "$ICA" -cert "$TMP/u3.pem" -no_nonce -reqout "$TMP/greq.der" >/dev/null 2>&1
b64=$(base64 -w0 "$TMP/greq.der" | /usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read().strip(), safe=""))')
code=$(curl -s -o "$TMP/g.der" -D "$TMP/g.hdr" -w '%{http_code}' "$PLAIN/ocsp/$b64")
[ "$code" = 200 ] || ik_fail "GET: HTTP $code"
grep -qi '^Content-Type: application/ocsp-response' "$TMP/g.hdr" || ik_fail "GET: Content-Type"
grep -qi '^Cache-Control: max-age=30, public, no-transform, must-revalidate' "$TMP/g.hdr" ||
	ik_fail "GET: Cache-Control: $(grep -i cache-control "$TMP/g.hdr")"
for h in Last-Modified Expires ETag; do grep -qi "^$h: " "$TMP/g.hdr" || ik_fail "GET: no $h"; done
openssl ocsp -respin "$TMP/g.der" -issuer "$ICA" -cert "$TMP/u3.pem" -CAfile "$ROOT" \
	>"$TMP/q.out" 2>&1 || true
want u3 good
# the same request unencoded ('/' and '+' as they are) and over HTTPS
raw=$(base64 -w0 "$TMP/greq.der")
[ "$(curl -s -o "$TMP/g2.der" -w '%{http_code}' "$PLAIN/ocsp/$raw")" = 200 ] || ik_fail "GET raw base64"
cmp -s "$TMP/g.der" "$TMP/g2.der" || ik_fail "GET: the cached answer differs"
curl -s --cacert "$TMP/tls.pem" -o "$TMP/g3.der" "$BASE/ocsp/$b64"
cmp -s "$TMP/g.der" "$TMP/g3.der" || ik_fail "GET over HTTPS: the cached answer differs"
post -H 'Content-Type: application/ocsp-request' --data-binary @"$TMP/greq.der" >/dev/null
grep -qi '^Cache-Control: no-store' "$TMP/r.hdr" || ik_fail "POST answer is cacheable"
ik_ok "GET /ocsp/{base64} (percent-encoded or not, HTTP and HTTPS): good, application/ocsp-response, Cache-Control max-age=30 public no-transform must-revalidate, Last-Modified/Expires/ETag"

# ---- revocation reaches OCSP at once ----------------------------------------------------------
# u1's answer is in the signer's cache (pre-signed): the same bytes twice
q u1 "$PLAIN/ocsp" -no_nonce; cp "$TMP/q.der" "$TMP/c1.der"
q u1 "$PLAIN/ocsp" -no_nonce
cmp -s "$TMP/c1.der" "$TMP/q.der" || ik_fail "the answer for u1 was not served from the cache"
s1=$(ik_serial "$TMP/u1.pem")
t0=$(now_ns)
ik_signctl revoke "$s1" --reason 1 >/dev/null 2>&1 || ik_fail "revoke u1"
q u1 "$PLAIN/ocsp" -no_nonce
t1=$(now_ns)
want u1 revoked
grep -q "Reason: keyCompromise" "$TMP/q.out" || ik_fail "no keyCompromise reason: $(cat "$TMP/q.out")"
grep -q "Revocation Time:" "$TMP/q.out" || ik_fail "no revocation time"
lat=$(ms "$t0" "$t1")
echo "# revoke -> OCSP revoked (openssl): ${lat} ms (revoke command + one query)"
[ "$lat" -lt "$LIMIT_MS" ] || ik_fail "revocation took ${lat} ms to reach OCSP"
q u1 "$BASE/ocsp"
want u1 revoked
ik_ok "revoked u1: revoked, reason keyCompromise, with its time, ${lat} ms after the revoke (cached good answer dropped)"

s2=$(ik_serial "$TMP/u2.pem")
q u2 "$PLAIN/ocsp" -no_nonce
want u2 good
t0=$(now_ns)
ik_signctl hold "$s2" >/dev/null 2>&1 || ik_fail "hold u2"
q u2 "$PLAIN/ocsp" -no_nonce
t1=$(now_ns)
want u2 revoked
grep -q "Reason: certificateHold" "$TMP/q.out" || ik_fail "hold: no certificateHold reason"
echo "# hold -> OCSP revoked/certificateHold: $(ms "$t0" "$t1") ms"
[ "$(ms "$t0" "$t1")" -lt "$LIMIT_MS" ] || ik_fail "hold took too long to reach OCSP"
t0=$(now_ns)
ik_signctl release "$s2" >/dev/null 2>&1 || ik_fail "release u2"
q u2 "$PLAIN/ocsp" -no_nonce
t1=$(now_ns)
want u2 good
echo "# release -> OCSP good: $(ms "$t0" "$t1") ms"
ik_ok "held u2: revoked (certificateHold); released: good again"

# several CertIDs in one request: each gets its own answer
openssl ocsp -issuer "$ICA" -cert "$TMP/u1.pem" -cert "$TMP/u2.pem" -serial 0x01 -url "$PLAIN/ocsp" \
	-CAfile "$ROOT" >"$TMP/q.out" 2>&1 || true
[ "$(status u1)" = revoked ] && [ "$(status u2)" = good ] && grep -q "^0x01: unknown" "$TMP/q.out" ||
	ik_fail "three CertIDs: $(cat "$TMP/q.out")"
ik_ok "one request with three CertIDs: revoked, good, unknown"

# ---- nginx with ssl_ocsp: no CRL, no reload ---------------------------------------------------
NGX_VERIFY="ssl_ocsp leaf; ssl_ocsp_responder $PLAIN/ocsp;"
server_cert
ngx_start
ik_ok "nginx $("$NGINX" -v 2>&1 | cut -d/ -f2) up on 127.0.0.1:$PORT, ssl_ocsp leaf against $PLAIN/ocsp"
expect u3 200
expect u4 200
expect u5 200
expect u1 400
ik_ok "nginx: good certificates 200, the revoked one 400"
s3=$(ik_serial "$TMP/u3.pem")
t0=$(now_ns)
ik_signctl revoke "$s3" --reason 4 >/dev/null 2>&1 || ik_fail "revoke u3"
got=$(req u3)
t1=$(now_ns)
[ "$got" = 400 ] || ik_fail "nginx still accepts u3 after the revoke (HTTP $got)"
grep -q "The SSL certificate error" "$NGX/body" || ik_fail "u3: 400 but not a certificate error"
grep "client SSL certificate verify error" "$NGX/error.log" | tail -n 1 | grep -q "revoked" ||
	ik_fail "nginx did not log a revoked certificate: $(tail -n 3 "$NGX/error.log")"
lat=$(ms "$t0" "$t1")
echo "# revoke -> refused by nginx (no reload): ${lat} ms"
[ "$lat" -lt "$LIMIT_MS" ] || ik_fail "nginx refused u3 only after ${lat} ms"
expect u4 200
s4=$(ik_serial "$TMP/u4.pem")
ik_signctl hold "$s4" >/dev/null 2>&1 || ik_fail "hold u4"
expect u4 400
ik_signctl release "$s4" >/dev/null 2>&1 || ik_fail "release u4"
expect u4 200
ik_ok "nginx: revoked u3 refused ${lat} ms after the revoke, without a reload; u4 held -> 400, released -> 200"
ngx_stop

# ---- a restart finds the responder certificate in the ledger: no second one -------------------
ik_stop_signer
ik_start_signer
q u4 "$PLAIN/ocsp" -no_nonce
want u4 good
again=$(/usr/bin/python3 -c 'import sys; from cryptography.x509 import ocsp; print("%X" % ocsp.load_der_ocsp_response(open(sys.argv[1],"rb").read()).certificates[0].serial_number)' "$TMP/q.der")
[ "$again" = "$rserial" ] || ik_fail "after a restart the responder certificate changed ($rserial -> $again)"
n=$(sqlite3 "$TMP/ledger.sqlite" "select count(*) from intents where profile = 'ocsp'")
[ "$n" = 1 ] || ik_fail "$n responder certificates in the ledger after a restart"
ik_ok "after a restart the signer answers with the same responder certificate, taken from its ledger"

# ---- a signer without an OCSP key: runs, the RA answers tryLater -------------------------------
ik_stop_signer
printf 'key_label = no-such-key\n' >> "$TMP/signer.conf"
ik_start_signer
grep -q "OCSP is off: no OCSP signing key 'no-such-key'" "$TMP/signer.log" ||
	ik_fail "the signer did not say why OCSP is off"
ik_issue u6 "no ocsp" >/dev/null 2>&1 || ik_fail "the signer without an OCSP key does not issue"
q u6 "$PLAIN/ocsp"
grep -q "Responder Error: trylater (3)" "$TMP/q.out" || ik_fail "no OCSP key: $(cat "$TMP/q.out")"
for _ in $(seq 1 20); do grep -q "ocsp: the signer did not answer (not-found" "$TMP/rad.log" && break; sleep 0.1; done
grep -q "ocsp: the signer did not answer (not-found: OCSP is off" "$TMP/rad.log" ||
	ik_fail "the RA did not log why: $(tail -n 3 "$TMP/rad.log")"
out=$(tool_ocsp "$TMP/signer.sock" "$ICA" 01) || ik_fail "tool_ocsp"
case "$out" in "error not-found: OCSP is off: no OCSP signing key 'no-such-key'"*) ;; *) ik_fail "verb without a key: $out";; esac
ik_ok "no OCSP key on the token: the signer runs and issues, refuses the verb (not-found, saying why), the RA answers tryLater and logs it"

# ---- [ocsp] config refusals -------------------------------------------------------------------
bad_conf() {
	local want=$1 err
	if err=$(inkan-signerd -c "$TMP/bad.conf" --check-config 2>&1); then ik_fail "accepted: $want"; fi
	case "$err" in *"$want"*) ;; *) ik_fail "'$err' does not say '$want'" ;; esac
}
sed 's/^refresh = 300/refresh = 3600/' "$TMP/signer.conf" > "$TMP/bad.conf"
bad_conf "[ocsp] refresh must be less than lifetime"
sed 's/^cert_days = 7/cert_days = 31/' "$TMP/signer.conf" > "$TMP/bad.conf"
bad_conf "[ocsp] cert_days: expected a number in 1..30"
sed 's/^cert_days = 7/certdays = 7/' "$TMP/signer.conf" > "$TMP/bad.conf"
bad_conf "[ocsp] certdays: unknown key"
sed 's/^\[profile.client\]/[profile.ocsp]/' "$TMP/signer.conf" > "$TMP/bad.conf"
bad_conf "the profile name ocsp is the signer's own"
ik_ok "bad [ocsp] settings and a [profile.ocsp] refused at load"

echo "PASS test_ocsp"
