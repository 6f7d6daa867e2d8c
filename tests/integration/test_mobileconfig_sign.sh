#!/usr/bin/env bash
# The signed iPhone/iPad configuration profile: inkan-rad + the signer on a SoftHSM token, the
# RA's TLS certificate issued by a local CA (tls_cert holds the certificate and that CA):
#  - the .mobileconfig is CMS SignedData (DER): openssl cms -verify with only the CA as trust
#    anchor gives back a plist (plistlib: the same structure as the unsigned one), SHA-256,
#    both certificates inside, no S/MIME capabilities; a tampered byte or another CA fails;
#  - profile_signing = no gives the plain plist; a bad value, a key that is not the
#    certificate's, are refused at start naming the key.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
PY=/usr/bin/python3
ik_start_signer

# ---- the RA's TLS certificate from a local CA; tls.pem = certificate + CA ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=Inkan Test TLS CA" -keyout "$TMP/tlsca.key" -out "$TMP/tlsca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
	-keyout "$TMP/tls.key" -out "$TMP/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$TMP/tls.ext"
openssl x509 -req -in "$TMP/tls.csr" -CA "$TMP/tlsca.pem" -CAkey "$TMP/tlsca.key" \
	-CAcreateserial -days 1 -extfile "$TMP/tls.ext" -out "$TMP/tls.leaf.pem" 2>/dev/null
cat "$TMP/tls.leaf.pem" "$TMP/tlsca.pem" > "$TMP/tls.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj "/CN=Other CA" -keyout "$TMP/other.key" -out "$TMP/other.pem" 2>/dev/null

ik_ra_officers

# ---- refused at start: a bad value, a key that is not the certificate's ----
B="$TMP/bad.conf"
ik_ra_config 18443 "profile_signing = maybe"
cp "$TMP/ra.conf" "$B"
line=$(grep -n '^profile_signing' "$B" | cut -d: -f1)
rc=0; inkan-rad --check-config "$B" >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] && [ "$(cat "$TMP/err")" = "inkan-rad: $B:$line: [ra] profile_signing: expected on or off" ] \
	|| ik_fail "profile_signing = maybe (--check-config): exit $rc, $(cat "$TMP/err")"
rc=0; timeout 30 inkan-rad -c "$B" >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] && grep -qF "[ra] profile_signing: expected on or off" "$TMP/err" \
	|| ik_fail "profile_signing = maybe at start: exit $rc, $(cat "$TMP/err")"
ik_ra_config 18443
sed "s|^tls_key = .*|tls_key = $TMP/other.key|" "$TMP/ra.conf" > "$B"
rc=0; timeout 30 inkan-rad -c "$B" >"$TMP/err" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -qF "[ra] profile_signing: $TMP/other.key: the key does not belong to the certificate in $TMP/tls.pem" "$TMP/err" \
	|| ik_fail "a key not the certificate's: exit $rc, $(cat "$TMP/err")"
grep -q 'PRIVATE KEY\|BEGIN' "$TMP/err" && ik_fail "key material in the log"
ik_ok "profile_signing = maybe refused (--check-config and at start, naming file, line and key); a key that is not tls_cert's refused at start, naming both files"

# ---- a user and the first download as a profile, through the pages ----
ik_start_ra
J=(-H 'Content-Type: application/json')
OFF=$(ik_login olivia "$OFFICER_PW")
UJ="$TMP/ujar"
page() {
	local s
	s=$(ik_req GET "$1" -b "$UJ" -c "$UJ")
	sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$TMP/body" | sed -n 1p > "$TMP/csrf"
	echo "$s"
}
post() {
	local p=$1; shift
	local args=() kv
	for kv in "$@"; do args+=(--data-urlencode "$kv"); done
	ik_req POST "$p" -b "$UJ" -c "$UJ" --data-urlencode "csrf=$(cat "$TMP/csrf")" "${args[@]}"
}
newcert() { # USER CN -> "login password"
	local s u d
	s=$(ik_api olivia "$OFF" POST /api/v1/users "{\"external_id\":\"$1\",\"email\":\"$1@example.jp\",\"lang\":\"en\"}")
	ik_expect 201 - "$s" "user $1" >&2; u=$(ik_json 'd["id"]')
	s=$(ik_api olivia "$OFF" POST "/api/v1/users/$u/devices" '{"name":"dev"}'); d=$(ik_json 'd["id"]')
	s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$d/certificates" "{\"common_name\":\"$2\",\"validity_days\":20}")
	ik_expect 201 - "$s" "issue $2" >&2
	echo "$(ik_json 'd["download"]["login"]') $(ik_json 'd["download"]["password"]')"
}
P12PW='Xy7!pass-word'
profile() { # LOGIN SECRET OUT: the .mobileconfig through the pages
	local s t
	s=$(page /download); s=$(post /download login="$1" secret="$2")
	[ "$s" = 200 ] || ik_fail "download login $1: $s"
	t=$(sed -n 's/.*name="ticket" value="\([^"]*\)".*/\1/p' "$TMP/body")
	s=$(post /download/file ticket="$t" password="$P12PW" password2="$P12PW" device=ios file=mobileconfig)
	[ "$s" = 200 ] || ik_fail "profile download $1: $s $(head -c 300 "$TMP/body")"
	grep -qi '^content-type: application/x-apple-aspen-config' "$TMP/hdr" || ik_fail "profile content type"
	cp "$TMP/body" "$3"
}
read -r L1 P1 < <(newcert aiko aiko-iphone)
read -r L2 P2 < <(newcert ben ben-ipad)
profile "$L1" "$P1" "$TMP/signed.mobileconfig"
M="$TMP/signed.mobileconfig"

# ---- verified with only the CA as trust anchor: the chain is inside ----
openssl cms -verify -inform DER -in "$M" -CAfile "$TMP/tlsca.pem" -purpose any -out "$TMP/signed.plist" 2>"$TMP/cms.err" \
	|| ik_fail "the signed profile does not verify against the RA's CA: $(cat "$TMP/cms.err")"
head -c 5 "$TMP/signed.plist" | grep -q '<?xml' || ik_fail "the signed content is not the plist"
n=$(openssl pkcs7 -inform DER -in "$M" -print_certs 2>/dev/null | grep -c '^subject=')
[ "$n" = 2 ] || ik_fail "certificates in the profile: $n, want 2 (the RA's and its CA)"
openssl pkcs7 -inform DER -in "$M" -print_certs 2>/dev/null | grep -q 'subject=.*CN *= *127.0.0.1' || ik_fail "the RA's certificate is not inside"
openssl cms -cmsout -print -inform DER -in "$M" > "$TMP/cms.txt" 2>/dev/null || ik_fail "cms -print"
grep -q 'contentType: pkcs7-signedData' "$TMP/cms.txt" || ik_fail "not SignedData"
grep -q 'algorithm: sha256 ' "$TMP/cms.txt" || ik_fail "digest is not SHA-256: $(grep -A1 digestAlgorithm "$TMP/cms.txt")"
grep -qi 'SMIMECapabilities\|S/MIME Capabilities' "$TMP/cms.txt" && ik_fail "S/MIME capabilities in the signed attributes"
grep -q 'eContent:' "$TMP/cms.txt" && ! grep -q 'eContent: <ABSENT>' "$TMP/cms.txt" || ik_fail "the plist is not attached"
grep -qF "$P12PW" "$M" && ik_fail "the password is in the signed profile"
ik_ok "the .mobileconfig is CMS SignedData (DER), plist attached, SHA-256, no S/MIME capabilities; openssl cms -verify with only the RA's CA verifies it (the RA's certificate and the CA inside)"

# ---- a tampered byte (in the plist, in the signature) and another CA fail ----
"$PY" - "$M" "$TMP/tampered1" "$TMP/tampered2" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
i = d.find(b"PayloadDisplayName")
assert i > 0
t = bytearray(d); t[i] ^= 0x20; open(sys.argv[2], "wb").write(t)
t = bytearray(d); t[len(t) - 5] ^= 0x01; open(sys.argv[3], "wb").write(t)
PY
for f in "$TMP/tampered1" "$TMP/tampered2"; do
	openssl cms -verify -inform DER -in "$f" -CAfile "$TMP/tlsca.pem" -purpose any -out /dev/null 2>/dev/null \
		&& ik_fail "a tampered profile verifies ($f)"
done
openssl cms -verify -inform DER -in "$M" -CAfile "$TMP/other.pem" -purpose any -out /dev/null 2>/dev/null \
	&& ik_fail "the profile verifies against another CA"
ik_ok "a byte changed in the plist or in the signature, or another CA: openssl cms -verify fails"

# ---- profile_signing = no: the plain plist, with the same structure ----
ik_stop_ra
ik_start_ra "profile_signing = no"
OFF=$(ik_login olivia "$OFFICER_PW")
profile "$L2" "$P2" "$TMP/plain.mobileconfig"
head -c 5 "$TMP/plain.mobileconfig" | grep -q '<?xml' || ik_fail "profile_signing = no: not a plain plist"
openssl cms -verify -inform DER -in "$TMP/plain.mobileconfig" -noverify -out /dev/null 2>/dev/null \
	&& ik_fail "profile_signing = no: the profile is CMS"
"$PY" - "$TMP/signed.plist" "$TMP/plain.mobileconfig" <<'PY' || ik_fail "signed and unsigned profiles differ in structure"
import plistlib, sys
a = plistlib.load(open(sys.argv[1], "rb"))
b = plistlib.load(open(sys.argv[2], "rb"))
def shape(v):
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(x) for x in v]
    return type(v).__name__
assert shape(a) == shape(b), (shape(a), shape(b))
for k in ("PayloadType", "PayloadVersion", "PayloadRemovalDisallowed", "PayloadOrganization"):
    assert a[k] == b[k], k
assert [p["PayloadType"] for p in a["PayloadContent"]] == [p["PayloadType"] for p in b["PayloadContent"]]
assert a["PayloadContent"][1]["PayloadContent"] == b["PayloadContent"][1]["PayloadContent"], "root payload"
assert a["PayloadDisplayName"] == "クライアント証明書 aiko-iphone", a["PayloadDisplayName"]
assert b["PayloadDisplayName"] == "クライアント証明書 ben-ipad", b["PayloadDisplayName"]
PY
ik_ok "profile_signing = no: the plain plist, the same structure (plistlib) as the signed profile's content"
