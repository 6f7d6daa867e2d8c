#!/usr/bin/env bash
# The RA end to end over HTTPS on loopback, with the real signer on a SoftHSM token and a
# real SQLite file: users and devices, issuance with a one-time download credential, the end
# user's PKCS#12 download (modern and compatible, opened by openssl), the credential spent,
# the CSR path, revoke / suspend / resume reaching the CRL within 2 s, the quota, the roles
# and CSRF, and the operation history's hash chain.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
ik_start_signer
ik_ra_officers
ik_start_ra
J=(-H 'Content-Type: application/json')

ADM=$(ik_login admin "$ADMIN_PW")
OFF=$(ik_login olivia "$OFFICER_PW")
AUD=$(ik_login carol "$AUDITOR_PW")
ik_ok "three officers logged in"

# ---- users and devices ----
s=$(ik_api olivia "$OFF" POST /api/v1/users '{"external_id":"e1001","email":"taro@example.jp","display_name":"山田 太郎"}')
ik_expect 201 - "$s" "add user"; UID1=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST /api/v1/users '{"external_id":"E1001"}')
ik_expect 409 exists "$s" "duplicate external id (case-insensitive)"
s=$(ik_api olivia "$OFF" POST /api/v1/users '{"external_id":"e1002","email":"no-at-sign"}')
ik_expect 400 bad_field "$s" "bad email"
s=$(ik_api olivia "$OFF" POST "/api/v1/users/$UID1/devices" '{"name":"laptop","model":"ThinkPad X1"}')
ik_expect 201 - "$s" "add device"; DEV1=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/users/$UID1/devices" '{"name":"iphone","model":"iPhone 15"}')
ik_expect 201 - "$s" "add device 2"; DEV2=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/users/$UID1/devices" '{"name":"laptop"}')
ik_expect 409 exists "$s" "duplicate device name"
s=$(ik_api olivia "$OFF" POST "/api/v1/users/999999/devices" '{"name":"x"}')
ik_expect 404 not_found "$s" "device for unknown user"
s=$(ik_api carol "$AUD" GET "/api/v1/users/$UID1"); ik_expect 200 - "$s" "auditor reads user"
[ "$(ik_json 'len(d["devices"])')" = 2 ] || ik_fail "user shows two devices"
ik_ok "users and devices: create, show, duplicates and unknown parents refused"

# ---- roles and CSRF on a state-changing call ----
s=$(ik_api carol "$AUD" POST /api/v1/users '{"external_id":"x1"}'); ik_expect 403 forbidden "$s" "auditor adds user"
s=$(ik_req POST /api/v1/users "${J[@]}" -b "$TMP/jar.olivia" --data '{"external_id":"x2"}')
ik_expect 403 csrf "$s" "no CSRF header"
s=$(ik_req POST /api/v1/users "${J[@]}" --data '{"external_id":"x3"}'); ik_expect 401 unauthenticated "$s" "anonymous"
s=$(ik_api olivia "$OFF" PUT /api/v1/settings '{"quota":"5"}'); ik_expect 403 forbidden "$s" "officer changes settings"
s=$(ik_api admin "$ADM" GET /api/v1/users?after=0); ik_expect 200 - "$s" "list users"
[ "$(ik_json 'len(d["items"])')" = 1 ] || ik_fail "refused calls left rows behind"
ik_ok "wrong role, missing CSRF and anonymous refused; nothing stored"

# ---- issue with a download credential ----
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$DEV1/certificates" '{"common_name":"taro-laptop","validity_days":30}')
ik_expect 201 - "$s" "issue for download"
C1=$(ik_json 'd["certificate"]["id"]'); L1=$(ik_json 'd["download"]["login"]'); P1=$(ik_json 'd["download"]["password"]')
[ "$(ik_json 'd["certificate"]["state"]')" = awaiting_download ] || ik_fail "state after issue"
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$DEV1/certificates" '{}')
ik_expect 409 has_live_certificate "$s" "second certificate for one device"
grep -q "$P1" "$TMP/ra.sqlite"* 2>/dev/null && ik_fail "download password stored in clear"
grep -q "$P1" "$TMP/rad.log" && ik_fail "download password in the log"
ik_ok "issuance yields a one-time credential; the secret is in neither database nor log"

# ---- the end user's download ----
dl() { # dl LOGIN SECRET P12PASS DEVICE [extra JSON]
	ik_req POST /download/p12 "${J[@]}" \
		--data "{\"login\":\"$1\",\"secret\":\"$2\",\"password\":\"$3\",\"device\":\"$4\"${5:-}}"
}
s=$(ik_req POST /download/p12 "${J[@]}" --data "{\"login\":\"$L1\",\"secret\":\"WRONGWRONG99\",\"password\":\"Xy7!pass-word\",\"device\":\"windows\"}")
ik_expect 401 bad_credentials "$s" "wrong download secret"
s=$(ik_req POST /download/p12 "${J[@]}" --data "{\"login\":\"$L1\",\"secret\":\"$P1\",\"password\":\"short\",\"device\":\"windows\"}")
ik_expect 400 password_policy "$s" "weak p12 password"
s=$(ik_req POST /download/p12 "${J[@]}" --data "{\"login\":\"$L1\",\"secret\":\"$P1\",\"password\":\"Xy7!pass-word\",\"device\":\"toaster\"}")
ik_expect 400 bad_field "$s" "unknown device type"
P12PW='Xy7!pass-word'
s=$(ik_req POST /download/p12 "${J[@]}" --data "{\"login\":\"$L1\",\"secret\":\"$P1\",\"password\":\"$P12PW\",\"device\":\"windows\"}"); cp "$TMP/body" "$TMP/taro.p12"
[ "$s" = 200 ] || ik_fail "download: $s $(cat "$TMP/taro.p12" "$TMP/body" 2>/dev/null)"
grep -qi '^Content-Type: application/x-pkcs12' "$TMP/hdr" || ik_fail "p12 content type"
grep -qi 'filename="taro-laptop.p12"' "$TMP/hdr" || ik_fail "p12 file name"
printf '%s' "$P12PW" > "$TMP/p12pw"
openssl pkcs12 -in "$TMP/taro.p12" -passin file:"$TMP/p12pw" -nokeys -out "$TMP/taro-certs.pem" 2>"$TMP/err" || ik_fail "openssl cannot open the p12: $(cat "$TMP/err"; head -c 300 "$TMP/taro.p12" | od -c | head)"
openssl pkcs12 -in "$TMP/taro.p12" -passin file:"$TMP/p12pw" -nocerts -nodes -out "$TMP/taro-key.pem" 2>/dev/null || ik_fail "no key in the p12"
openssl pkcs12 -in "$TMP/taro.p12" -passin file:"$TMP/p12pw" -info -noout 2>&1 | grep -q 'AES-256-CBC' || ik_fail "modern p12 not AES-256"
openssl x509 -in "$TMP/taro-certs.pem" -noout -subject | grep -q 'CN = taro-laptop' || ik_fail "leaf CN"
[ "$(grep -c 'BEGIN CERTIFICATE' "$TMP/taro-certs.pem")" -ge 2 ] || ik_fail "CA chain not in the p12"
awk '/BEGIN CERT/{n++} n==1' "$TMP/taro-certs.pem" > "$TMP/taro-leaf.pem"
openssl verify -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" "$TMP/taro-leaf.pem" >/dev/null || ik_fail "leaf does not verify"
[ "$(openssl x509 -in "$TMP/taro-leaf.pem" -noout -pubkey | openssl sha256)" = "$(openssl pkey -in "$TMP/taro-key.pem" -pubout | openssl sha256)" ] || ik_fail "key does not match certificate"
printf 'wrong-password' > "$TMP/badpw"
openssl pkcs12 -in "$TMP/taro.p12" -passin file:"$TMP/badpw" -nokeys >/dev/null 2>&1 && ik_fail "wrong p12 password opened it"
ik_ok "download: p12 (AES-256) with the chain opens with the chosen password only; the leaf verifies"

s=$(ik_req POST /download/p12 "${J[@]}" --data "{\"login\":\"$L1\",\"secret\":\"$P1\",\"password\":\"$P12PW\",\"device\":\"windows\"}")
ik_expect 410 credential_used "$s" "second use of the credential"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$C1"); ik_expect 200 - "$s" "show certificate"
[ "$(ik_json 'd["state"]')" = active ] || ik_fail "state after download: $(cat "$TMP/body")"
SER1=$(ik_json 'd["serial"]')
[ "$(openssl x509 -in "$TMP/taro-leaf.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)" = "$SER1" ] || ik_fail "serial differs"
# the validity the RA stored (read from the signer's DER without a full parse) is the leaf's
for f in not_before:startdate not_after:enddate; do
	want=$(date -u -d "$(openssl x509 -in "$TMP/taro-leaf.pem" -noout -"${f#*:}" | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
	[ "$(ik_json "d[\"${f%%:*}\"]")" = "$want" ] || ik_fail "${f%%:*} stored differs from the certificate's ($want)"
done
ik_json '[h["op"] for h in d["history"]]' | grep -q "'download'" || ik_fail "download not in the certificate's history"
ik_ok "credential spent: reuse refused (410); the certificate is active with its history"

# ---- compatible PKCS#12 for an iPhone, with a PIN credential ----
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$DEV2/certificates" '{"common_name":"taro-iphone","credential":"pin"}')
ik_expect 201 - "$s" "issue with PIN"
C2=$(ik_json 'd["certificate"]["id"]'); L2=$(ik_json 'd["download"]["login"]'); P2=$(ik_json 'd["download"]["pin"]')
ik_json 'd["download"]["url"]' | grep -q "/download?id=$L2" || ik_fail "PIN retrieval URL"
[[ "$P2" =~ ^[0-9]{8}$ ]] || ik_fail "PIN format"
s=$(ik_req POST /download/p12 "${J[@]}" --data "{\"login\":\"$L2\",\"secret\":\"$P2\",\"password\":\"$P12PW\",\"device\":\"ios\"}"); cp "$TMP/body" "$TMP/iphone.p12"
[ "$s" = 200 ] || ik_fail "ios download: $s"
openssl pkcs12 -in "$TMP/iphone.p12" -passin file:"$TMP/p12pw" -info -noout -legacy 2>&1 | grep -q '3DES\|des-ede3\|pbeWithSHA1And3-KeyTripleDES' || ik_fail "ios p12 not 3DES"
ik_ok "iOS download gets the compatible (3DES, SHA-1 MAC) PKCS#12"

# ---- lockout of a credential after 5 wrong secrets ----
s=$(ik_api olivia "$OFF" POST "/api/v1/users" '{"external_id":"e2002"}'); U2=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/users/$U2/devices" '{"name":"pc"}'); D3=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D3/certificates" '{"common_name":"hanako-pc"}')
L3=$(ik_json 'd["download"]["login"]'); P3=$(ik_json 'd["download"]["password"]')
for i in 1 2 3 4 5; do
	s=$(ik_req POST /download/p12 "${J[@]}" --data "{\"login\":\"$L3\",\"secret\":\"BADBADBAD$i\",\"password\":\"$P12PW\",\"device\":\"linux\"}")
	ik_expect 401 bad_credentials "$s" "wrong secret $i"
done
s=$(ik_req POST /download/p12 "${J[@]}" --data "{\"login\":\"$L3\",\"secret\":\"$P3\",\"password\":\"$P12PW\",\"device\":\"linux\"}")
ik_expect 423 locked "$s" "right secret after 5 failures"
ik_ok "a credential locks after 5 wrong secrets"

# ---- CSR path ----
s=$(ik_api olivia "$OFF" POST "/api/v1/users/$U2/devices" '{"name":"server"}'); D4=$(ik_json 'd["id"]')
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -subj /CN=hanako-server \
	-keyout "$TMP/csr.key" -out "$TMP/csr.pem" 2>/dev/null
csr=$(python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' "$TMP/csr.pem")
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D4/certificates" "$csr"); ik_expect 202 - "$s" "issue from CSR"
R4=$(ik_json 'd["request_id"]'); C4=$(ik_json 'd["certificate_id"]')
for _ in $(seq 1 50); do
	s=$(ik_api carol "$AUD" GET "/api/v1/requests/$R4")
	[ "$(ik_json 'd["state"]')" = done ] && break
	sleep 0.1
done
[ "$(ik_json 'd["state"]')" = done ] || ik_fail "CSR request not done: $(cat "$TMP/body")"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$C4/pem"); cp "$TMP/body" "$TMP/c4.pem"
s=$(ik_req GET "/api/v1/certificates/$C4/pem" -b "$TMP/jar.carol"); cp "$TMP/body" "$TMP/c4.pem"; [ "$s" = 200 ] || ik_fail "PEM download $s"
openssl verify -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" "$TMP/c4.pem" >/dev/null || ik_fail "CSR cert does not verify"
[ "$(openssl x509 -in "$TMP/c4.pem" -noout -pubkey | openssl sha256)" = "$(openssl pkey -in "$TMP/csr.key" -pubout | openssl sha256)" ] || ik_fail "CSR key differs"
bad=$(python3 -c 'import json; print(json.dumps({"csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}))')
s=$(ik_api olivia "$OFF" POST "/api/v1/users/$U2/devices" '{"name":"server2"}'); D5=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D5/certificates" "$bad"); ik_expect 400 bad_csr "$s" "malformed CSR"
ik_ok "CSR path: issued through the queue with the customer's key; a malformed CSR refused"

# ---- revoke / suspend / resume reach the CRL within 2 s ----
crl_has() { # crl_has SERIAL -> prints the reason line or nothing
	curl -s --cacert "$TMP/tls.pem" -o "$TMP/crl.der" "$BASE/crl/issuing-ca.crl"
	openssl crl -inform DER -in "$TMP/crl.der" -noout -text 2>/dev/null | tr a-z A-Z | grep -A4 "SERIAL NUMBER: $(echo "$1" | tr a-z A-Z)" || true
}
wait_crl() { # wait_crl SERIAL PATTERN|- : within 2 s
	local t0 now
	t0=$(date +%s.%N)
	while :; do
		out=$(crl_has "$1")
		if [ "$2" = - ]; then [ -z "$out" ] && break; else echo "$out" | grep -qi "$2" && break; fi
		now=$(date +%s.%N)
		python3 -c "import sys; sys.exit(0 if $now - $t0 < 2.0 else 1)" || { ik_api carol "$AUD" GET "/api/v1/certificates?filter=all" >/dev/null; cat "$TMP/body" >&2; openssl crl -inform DER -in "$TMP/crl.der" -noout -text >&2; ik_fail "CRL not updated within 2 s for $1 ($2)"; }
		sleep 0.05
	done
	python3 -c "print('%.2f' % ($(date +%s.%N) - $t0))"
}
s=$(ik_req GET /crl/issuing-ca.crl); cp "$TMP/body" "$TMP/crl0.der"; [ "$s" = 200 ] || ik_fail "CRL $s"
grep -qi '^Content-Type: application/pkix-crl' "$TMP/hdr" || ik_fail "CRL content type"
openssl crl -inform DER -in "$TMP/crl0.der" -CAfile "$TMP/ca/bundle.pem" -noout 2>&1 | grep -q 'verify OK' || ik_fail "CRL signature"
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$C4/suspend" '{}'); ik_expect 202 - "$s" "suspend"
t=$(wait_crl "$(openssl x509 -in "$TMP/c4.pem" -noout -serial | cut -d= -f2)" 'Hold')
ik_ok "suspend on the CRL after ${t}s"
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$C4/resume" '{}'); ik_expect 202 - "$s" "resume"
t=$(wait_crl "$(openssl x509 -in "$TMP/c4.pem" -noout -serial | cut -d= -f2)" -)
ik_ok "resume off the CRL after ${t}s"
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$C1/revoke" '{"reason":"keyCompromise"}'); ik_expect 202 - "$s" "revoke"
t=$(wait_crl "$SER1" 'Key Compromise')
ik_ok "revoke (keyCompromise) on the CRL after ${t}s"
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$C1/resume" '{}'); ik_expect 409 state "$s" "resume a revoked certificate"
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$C4/revoke" '{"reason":"certificateHold"}'); ik_expect 400 bad_field "$s" "hold as a revocation reason"
s=$(ik_req GET /ca/issuing-ca.pem); cp "$TMP/body" "$TMP/ica.pem"; [ "$s" = 200 ] || ik_fail "CA PEM"
cmp -s <(openssl x509 -in "$TMP/ica.pem" -outform DER) <(openssl x509 -in "$TMP/ca/issuing-ca.pem" -outform DER) || ik_fail "published CA differs"
s=$(ik_req GET /ca/root-ca.der); cp "$TMP/body" "$TMP/root.der"; [ "$s" = 200 ] || ik_fail "root DER"
ik_ok "CA certificates published as PEM and DER"

# ---- renewal: through a download (old one revoked as superseded) and from a CSR ----
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$C2/renew" '{"revoke_old":true,"validity_days":60}')
ik_expect 201 - "$s" "renew for download"
C2N=$(ik_json 'd["certificate_id"]'); L2N=$(ik_json 'd["download"]["login"]'); P2N=$(ik_json 'd["download"]["password"]')
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$C2"); [ "$(ik_json 'd["state"]')" = active ] || ik_fail "old certificate not active until the renewal is issued"
SER2=$(ik_json 'd["serial"]')
s=$(ik_req POST /download/p12 "${J[@]}" --data "{\"login\":\"$L2N\",\"secret\":\"$P2N\",\"password\":\"$P12PW\",\"device\":\"ios\"}"); cp "$TMP/body" "$TMP/renewed.p12"
[ "$s" = 200 ] || ik_fail "renewal download: $s $(cat "$TMP/body")"
openssl pkcs12 -in "$TMP/renewed.p12" -passin file:"$TMP/p12pw" -nokeys -legacy 2>/dev/null | openssl x509 -noout -subject | grep -q 'CN = taro-iphone' || ik_fail "renewed CN"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$C2N"); [ "$(ik_json 'd["state"]')" = active ] || ik_fail "renewed certificate not active: $(cat "$TMP/body")"
t=$(wait_crl "$SER2" 'Superseded')
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$C2"); [ "$(ik_json 'd["state"]')" = revoked ] || ik_fail "old certificate state: $(cat "$TMP/body")"
ik_ok "renewal by download: new certificate active, old one revoked as superseded (on the CRL after ${t}s)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=ignored \
	-keyout "$TMP/csr2.key" -out "$TMP/csr2.pem" 2>/dev/null
csr=$(python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' "$TMP/csr2.pem")
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$C4/renew" "$csr"); ik_expect 202 - "$s" "renew from CSR"
R5=$(ik_json 'd["request_id"]'); C5=$(ik_json 'd["certificate_id"]')
for _ in $(seq 1 50); do
	s=$(ik_api carol "$AUD" GET "/api/v1/requests/$R5"); [ "$(ik_json 'd["state"]')" = done ] && break; sleep 0.1
done
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$C5"); [ "$(ik_json 'd["cn"]')" = hanako-server ] && [ "$(ik_json 'd["state"]')" = active ] || ik_fail "CSR renewal: $(cat "$TMP/body")"
# without revoke_old the two overlap: the old one stays valid, no longer the device's current
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$C4"); [ "$(ik_json 'd["state"]')" = active ] && [ "$(ik_json 'd["current"]')" = False ] || ik_fail "old after CSR renewal: $(cat "$TMP/body")"
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$C1/renew" '{}'); ik_expect 409 state "$s" "renew a revoked certificate"
ik_ok "renewal from a CSR keeps the CN; old and new overlap (old no longer current); a revoked certificate cannot be renewed"

# ---- listing, counters, quota ----
s=$(ik_api carol "$AUD" GET "/api/v1/certificates?filter=revoked"); ik_expect 200 - "$s" "list revoked"
[ "$(ik_json 'd["total"]')" = 2 ] || ik_fail "revoked count: $(cat "$TMP/body")"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates?cn=TARO"); [ "$(ik_json 'd["total"]')" = 3 ] || ik_fail "CN search"
[ "$(ik_json 'd["total_capped"]')" = False ] || ik_fail "a small search's total is exact: $(cat "$TMP/body")"
# 1 or 2 characters: the start of the CN (taro-laptop…), not anywhere in it (…-laptop)
s=$(ik_api carol "$AUD" GET "/api/v1/certificates?cn=Ta"); [ "$(ik_json 'd["total"]')" = 3 ] || ik_fail "CN prefix: $(cat "$TMP/body")"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates?cn=la"); [ "$(ik_json 'd["total"]')" = 0 ] || ik_fail "CN prefix, not substring: $(cat "$TMP/body")"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates?cn=lap"); [ "$(ik_json 'd["total"]')" -ge 1 ] || ik_fail "CN substring from 3: $(cat "$TMP/body")"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates?filter=bogus"); ik_expect 400 bad_query "$s" "bad filter"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates?cursor=garbage"); ik_expect 400 bad_query "$s" "bad cursor"
s=$(ik_api carol "$AUD" GET /api/v1/counters); ik_expect 200 - "$s" counters
used=$(ik_json 'd["issued"]')
s=$(ik_api admin "$ADM" PUT /api/v1/settings "{\"quota\":\"$used\"}"); ik_expect 200 - "$s" "set quota"
s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"quota":"many"}'); ik_expect 400 bad_field "$s" "bad quota"
s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"colour":"blue"}'); ik_expect 400 unknown_setting "$s" "unknown setting"
s=$(ik_api olivia "$OFF" POST "/api/v1/users/$U2/devices" '{"name":"tablet"}'); D6=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D6/certificates" '{}'); ik_expect 409 quota_exceeded "$s" "over the quota"
s=$(ik_api carol "$AUD" GET /api/v1/counters)
[ "$(ik_json 'd["issued"]')" = "$used" ] && [ "$(ik_json 'd["issuable"]')" = 0 ] || ik_fail "counters after refusal: $(cat "$TMP/body")"
ik_ok "filters, search, counters; issuing past the quota refused and nothing stored"

# ---- an expired credential ----
s=$(ik_api olivia "$OFF" POST "/api/v1/users/$U2/devices" '{"name":"kiosk"}'); D7=$(ik_json 'd["id"]')
s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"quota":"0"}'); ik_expect 200 - "$s" "lift the quota"
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D7/certificates" '{"common_name":"kiosk-1"}'); ik_expect 201 - "$s" "issue for the expiry test"
L7=$(ik_json 'd["download"]["login"]'); P7=$(ik_json 'd["download"]["password"]')
# the administrators' PKCS#12 password policy applies to downloads
s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"p12_password_min_length":"5"}'); ik_expect 400 bad_field "$s" "min length below 8"
s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"p12_password_min_length":"20"}'); ik_expect 200 - "$s" "min length 20"
s=$(ik_req POST /download/p12 "${J[@]}" --data "{\"login\":\"$L7\",\"secret\":\"$P7\",\"password\":\"$P12PW\",\"device\":\"linux\"}")
ik_expect 400 password_policy "$s" "password shorter than the set policy"
grep -q 'password-too-short' "$TMP/body" || ik_fail "policy rule not named: $(cat "$TMP/body")"
s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"p12_password_min_length":"10"}'); ik_expect 200 - "$s" "min length back to 10"
ik_ok "the PKCS#12 password policy setting is enforced on downloads and checked when set"
sqlite3 "$TMP/ra.sqlite" "UPDATE download_credentials SET expires_at = strftime('%s','now') - 1 WHERE login = '$L7'"
s=$(ik_req POST /download/p12 "${J[@]}" --data "{\"login\":\"$L7\",\"secret\":\"$P7\",\"password\":\"$P12PW\",\"device\":\"linux\"}")
ik_expect 410 credential_expired "$s" "expired credential"
ik_ok "an expired credential is refused (410) and nothing is issued"

# ---- the officer IP allow-list ----
s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"ip_allowlist":"10.0.0.0/8"}'); ik_expect 400 bad_field "$s" "allow-list without the admin's own address"
s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"ip_allowlist":"10.0.0.0/8 127.0.0.1/33"}'); ik_expect 400 bad_field "$s" "malformed allow-list"
s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"ip_allowlist":"127.0.0.1/32, 10.0.0.0/8"}'); ik_expect 200 - "$s" "allow-list with the admin's address"
s=$(ik_api carol "$AUD" GET /api/v1/counters); ik_expect 200 - "$s" "allowed address"
# the list changed behind the RA's back (or the office moved): loopback is no longer in it
sqlite3 "$TMP/ra.sqlite" "UPDATE settings SET value = '10.0.0.0/8' WHERE key = 'ip_allowlist'"
s=$(ik_api carol "$AUD" GET /api/v1/counters); ik_expect 403 ip_not_allowed "$s" "officer call from outside the list"
s=$(ik_req POST /api/v1/login "${J[@]}" --data "{\"login\":\"carol\",\"password\":\"$AUDITOR_PW\"}"); ik_expect 403 ip_not_allowed "$s" "login from outside the list"
s=$(ik_req GET /crl/issuing-ca.crl); [ "$s" = 200 ] || ik_fail "CRL refused by the officer allow-list"
sqlite3 "$TMP/ra.sqlite" "UPDATE settings SET value = '' WHERE key = 'ip_allowlist'"
ik_ok "IP allow-list: refuses to lock the admin out, enforced on officer calls and login, not on public URLs"

# ---- history ----
s=$(ik_api carol "$AUD" GET "/api/v1/history?op=download_failed"); [ "$(ik_json 'len(d["items"])')" -ge 6 ] || ik_fail "failed downloads not in history"
s=$(ik_api carol "$AUD" GET /api/v1/history/verify); [ "$(ik_json 'd["intact"]')" = True ] || ik_fail "history chain: $(cat "$TMP/body")"
s=$(ik_req GET /api/v1/history.csv -b "$TMP/jar.carol"); cp "$TMP/body" "$TMP/h.csv"; [ "$s" = 200 ] || ik_fail "history CSV"
head -1 "$TMP/h.csv" | grep -q "^id,time,actor,ip,operation,target,detail,hash" || ik_fail "CSV header: $(head -c 300 "$TMP/h.csv")"
curl -s --cacert "$TMP/tls.pem" "$BASE/metrics" -o "$TMP/metrics"
grep -q 'inkan_certificates{state="revoked"} 2' "$TMP/metrics" || ik_fail "metrics"
# the downloads handed out, their handlers' time and the key-derivation part of it
python3 - "$TMP/metrics" <<'PY' || ik_fail "download metrics: $(grep download "$TMP/metrics")"
import sys
m = dict(l.split() for l in open(sys.argv[1]) if l.startswith("inkan_download"))
n, t, k = int(m["inkan_downloads_total"]), float(m["inkan_download_seconds_total"]), float(m["inkan_download_kdf_seconds_total"])
assert n >= 1 and 0 < k < t, (n, t, k)
PY
ik_stop_ra
inkan-rad verify-history -c "$TMP/ra.conf" | grep -q '^OK' || ik_fail "offline verify"
sqlite3 "$TMP/ra.sqlite" "UPDATE history SET actor = 'mallory' WHERE id = 3" 2>/dev/null && ik_fail "history row updated"
# someone with the database file in hand drops the guard and edits one row
sqlite3 "$TMP/ra.sqlite" "DROP TRIGGER history_no_update; UPDATE history SET actor = 'mallory' WHERE id = 3"
if inkan-rad verify-history -c "$TMP/ra.conf" >"$TMP/v.out" 2>&1; then ik_fail "edited history verifies"; fi
grep -q 'BROKEN' "$TMP/v.out" || ik_fail "verify output: $(cat "$TMP/v.out")"
ik_ok "history: searchable, CSV export, chain verifies online and offline, and fails after one edit"
