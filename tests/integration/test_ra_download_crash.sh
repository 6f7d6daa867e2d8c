#!/usr/bin/env bash
# The RA killed (SIGKILL, through gdb at an exact point) in the middle of an end user's
# PKCS#12 download, at three points: inside the transaction that adds the request row,
# attaches its key and claims it (not committed: nothing of it may remain), the key attached
# but not yet sent to the signer, the certificate issued but the .p12 not yet handed out.
# After a restart nothing is half-issued: no certificate whose key died with the process
# stays valid (it is revoked, cessationOfOperation, and on the CRL), the RA and the signer
# agree, the user gets a clear answer, and the history chain still verifies.
. "$(dirname "$0")/lib.sh"
command -v gdb >/dev/null || ik_fail "gdb is not installed (firmware/debian-packages.txt)"
ik_setup ec-p256
ik_start_signer
ik_ra_officers
ik_start_ra
J=(-H 'Content-Type: application/json')
OFF=$(ik_login olivia "$OFFICER_PW")
s=$(ik_api olivia "$OFF" POST /api/v1/users '{"external_id":"e1","email":"e1@example.jp"}')
ik_expect 201 - "$s" "add user"; U=$(ik_json 'd["id"]')

# issue CN: a device and a certificate awaiting download; sets CERT LOGIN SECRET
issue() {
	local s
	s=$(ik_api olivia "$OFF" POST "/api/v1/users/$U/devices" "{\"name\":\"$1\"}")
	ik_expect 201 - "$s" "add device $1"
	s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$(ik_json 'd["id"]')/certificates" \
		"{\"common_name\":\"$1\",\"validity_days\":30}")
	ik_expect 201 - "$s" "issue $1"
	CERT=$(ik_json 'd["certificate"]["id"]'); LOGIN=$(ik_json 'd["download"]["login"]')
	SECRET=$(ik_json 'd["download"]["password"]')
}
download() { # download LOGIN SECRET OUT: prints the status
	curl -s --cacert "$TMP/tls.pem" -o "$3" -w '%{http_code}' -X POST "${J[@]}" \
		--data "{\"login\":\"$1\",\"secret\":\"$2\",\"password\":\"Xy7!pass-word\",\"device\":\"windows\"}" \
		"$BASE/download/p12"
}
# crash_at FUNCTION LOGIN SECRET: the RA is killed when the download reaches FUNCTION
crash_at() {
	ik_ra_kill_at "$1" download "$2" "$3" "$TMP/crashed.out"
	[ "$(cat "$TMP/crashed.status")" = 200 ] && ik_fail "a .p12 was handed out although the RA died at $1"
	return 0
}
cert_state() { # cert_state ID: prints state/reason
	ik_api olivia "$OFF" GET "/api/v1/certificates/$1" >/dev/null
	ik_json 'd["state"] + "/" + str(d.get("revocation_reason", d.get("reason", "")))'
}
wait_state() { # wait_state ID STATE-PREFIX
	local i st=
	for i in $(seq 1 100); do
		st=$(cert_state "$1"); case "$st" in "$2"*) return 0 ;; esac; sleep 0.1
	done
	ik_fail "certificate $1: state $st, want $2"
}

issue dev-a; CA=$CERT; LA=$LOGIN; SA=$SECRET
issue dev-b; CB=$CERT; LB=$LOGIN; SB=$SECRET
issue dev-c; CC=$CERT; LC=$LOGIN; SC=$SECRET

# A: killed in the middle of the transaction that makes the request row and attaches its key
crash_at ra_store_request_set_spki "$LA" "$SA"
ik_start_ra; OFF=$(ik_login olivia "$OFFICER_PW")
# B: killed with the key attached (committed), before the signer was asked
crash_at ra_queue_run_claimed "$LB" "$SB"
ik_start_ra; OFF=$(ik_login olivia "$OFFICER_PW")
# C: killed after the signer issued, before the .p12 was built and handed out
crash_at ra_p12_build "$LC" "$SC"
ik_start_ra; OFF=$(ik_login olivia "$OFFICER_PW")
ik_ok "the RA was killed at three points of three downloads and restarted"

# A: nothing was issued; the certificate waits again and the same credential works
wait_state "$CA" awaiting_download
s=$(download "$LA" "$SA" "$TMP/a.p12"); [ "$s" = 200 ] || ik_fail "retry of download A: $s $(head -c 300 "$TMP/a.p12")"
printf '%s' 'Xy7!pass-word' >"$TMP/p12pw"
openssl pkcs12 -in "$TMP/a.p12" -passin file:"$TMP/p12pw" -nokeys 2>/dev/null | grep -q 'BEGIN CERTIFICATE' ||
	ik_fail "the retried download's .p12 does not open"
wait_state "$CA" active
ik_ok "killed before the request committed: nothing issued, the credential works again, .p12 opens"

# B and C: issued to a key that died with the process -> revoked (cessationOfOperation = 5)
wait_state "$CB" revoked/5
wait_state "$CC" revoked/5
SB_SERIAL=$(ik_api olivia "$OFF" GET "/api/v1/certificates/$CB" >/dev/null; ik_json 'd["serial"]')
SC_SERIAL=$(ik_api olivia "$OFF" GET "/api/v1/certificates/$CC" >/dev/null; ik_json 'd["serial"]')
for i in $(seq 1 50); do
	curl -s --cacert "$TMP/tls.pem" -o "$TMP/crl.der" "$BASE/crl/issuing-ca.crl"
	openssl crl -inform DER -in "$TMP/crl.der" -noout -text >"$TMP/crl.txt" 2>/dev/null
	grep -qi "$SB_SERIAL" "$TMP/crl.txt" && grep -qi "$SC_SERIAL" "$TMP/crl.txt" && break
	sleep 0.1
done
grep -qi "$SB_SERIAL" "$TMP/crl.txt" || ik_fail "B's serial not on the published CRL"
grep -qi "$SC_SERIAL" "$TMP/crl.txt" || ik_fail "C's serial not on the published CRL"
grep -A5 -i "$SC_SERIAL" "$TMP/crl.txt" | grep -q 'Cessation Of Operation' || ik_fail "C's CRL reason"
# the signer's own ledger says so too (its CRL, straight from the socket)
ik_signctl crl -o "$TMP/signer-crl.pem" || ik_fail "signctl crl"
openssl crl -in "$TMP/signer-crl.pem" -noout -text | grep -qi "$SC_SERIAL" || ik_fail "the signer's CRL lacks C"
ik_ok "killed after the key was made (before and after signing): revoked, on the RA's and the signer's CRL"

# the users are told clearly; their credentials give nothing
s=$(download "$LB" "$SB" "$TMP/b.out"); [ "$s" = 409 ] || ik_fail "retry of B: $s"
grep -q '"code":"state"' "$TMP/b.out" || ik_fail "retry of B: $(cat "$TMP/b.out")"
s=$(download "$LC" "$SC" "$TMP/c.out"); [ "$s" = 409 ] || ik_fail "retry of C: $s"
ik_ok "retries of B and C: 409 'no longer waiting for a download'"

# the history tells what happened and its chain verifies: A's interrupted start left no
# trace (its transaction never committed, so no request needed resetting), only the retry
ik_api olivia "$OFF" GET "/api/v1/history?q=$LA" >/dev/null
n=$(ik_json 'sum(1 for e in d["items"] if e["op"] == "download_started")')
[ "$n" = 1 ] || ik_fail "download A: $n download_started entries, want 1 (the retry): $(head -c 400 "$TMP/body")"
grep -q 'download(s) stopped by the restart' "$TMP/rad.log" &&
	ik_fail "a keyless request was left behind: $(grep 'stopped by the restart' "$TMP/rad.log")"
ik_api olivia "$OFF" GET "/api/v1/history?q=$SC_SERIAL" >/dev/null
grep -q 'key is lost' "$TMP/body" || ik_fail "no history entry for C's revocation"
grep -q "$SECRET" "$TMP/rad.log" && ik_fail "a download secret in the log"
ik_stop_ra
inkan-rad verify-history -c "$TMP/ra.conf" | grep -q '^OK' || ik_fail "history chain"
ik_ok "history records the reset and the revocations; the chain verifies"
