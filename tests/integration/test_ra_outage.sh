#!/usr/bin/env bash
# The RA while the signer is away: requests wait, visibly (pending, attempts, last error,
# /metrics), and go out by themselves when it is back; a download is refused with 503 and
# its credential stays good; kill -9 of the RA with requests in the queue loses nothing and
# issues nothing twice.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
ik_start_signer
ik_ra_officers
ik_start_ra
OFF=$(ik_login olivia "$OFFICER_PW")

csr_body() { ik_csr_json "$1"; }
new_device() { ik_new_device olivia "$OFF" "$1"; }
ledger_certs() { sqlite3 "$TMP/ledger.sqlite" 'select count(*) from certs'; }

D1=$(new_device u1); D2=$(new_device u2); D3=$(new_device u3)
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D3/certificates" '{"common_name":"u3-pc"}')
L3=$(ik_json 'd["download"]["login"]'); P3=$(ik_json 'd["download"]["password"]')

# ---- signer away ----
ik_stop_signer
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D1/certificates" "$(csr_body u1)"); ik_expect 202 - "$s" "issue while the signer is down"
R1=$(ik_json 'd["request_id"]')
sleep 2.5
s=$(ik_api olivia "$OFF" GET "/api/v1/requests/$R1")
[ "$(ik_json 'd["state"]')" = pending ] || ik_fail "request not pending: $(cat "$TMP/body")"
[ "$(ik_json 'd["attempts"]')" -ge 1 ] || ik_fail "no attempt recorded"
[ -n "$(ik_json 'd["last_error"]')" ] || ik_fail "no last_error while the signer is down"
s=$(ik_api olivia "$OFF" GET /api/v1/counters); [ "$(ik_json 'd["requests"]["pending"]')" = 1 ] || ik_fail "counters: $(cat "$TMP/body")"
curl -s --cacert "$TMP/tls.pem" "$BASE/metrics" | grep -q '^inkan_signer_up 0' || ik_fail "metrics do not show the signer down"
ik_ok "signer down: the request waits, visibly (pending, attempts, last error, counters, metrics)"

s=$(ik_req POST /download/p12 -H 'Content-Type: application/json' \
	--data "{\"login\":\"$L3\",\"secret\":\"$P3\",\"password\":\"Xy7!pass-word\",\"device\":\"linux\"}")
ik_expect 503 ca_unavailable "$s" "download while the signer is down"
ik_ok "download while the signer is down: 503, nothing spent"

# ---- kill -9 the RA with a request queued, then bring both back ----
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D2/certificates" "$(csr_body u2)"); R2=$(ik_json 'd["request_id"]')
kill -9 "$RAD_PID"; wait "$RAD_PID" 2>/dev/null || true; RAD_PID=
ik_start_signer
ik_start_ra
OFF=$(ik_login olivia "$OFFICER_PW")
for _ in $(seq 1 100); do
	s1=$(ik_api olivia "$OFF" GET "/api/v1/requests/$R1" >/dev/null; ik_json 'd["state"]')
	s2=$(ik_api olivia "$OFF" GET "/api/v1/requests/$R2" >/dev/null; ik_json 'd["state"]')
	[ "$s1" = done ] && [ "$s2" = done ] && break
	sleep 0.1
done
[ "$s1" = done ] && [ "$s2" = done ] || ik_fail "queued requests not done after the restart ($s1, $s2)"
[ "$(ledger_certs)" = 2 ] || ik_fail "ledger has $(ledger_certs) certificates, want 2"
ik_ok "RA killed with queued requests: after restart both issued, once each"

s=$(ik_req POST /download/p12 -H 'Content-Type: application/json' \
	--data "{\"login\":\"$L3\",\"secret\":\"$P3\",\"password\":\"Xy7!pass-word\",\"device\":\"linux\"}")
[ "$s" = 200 ] || ik_fail "download after the outage: $s $(cat "$TMP/body")"
[ "$(ledger_certs)" = 3 ] || ik_fail "ledger count after download"
ik_ok "the credential refused during the outage works afterwards"

# ---- a revocation queued while the signer is away reaches the CRL when it is back ----
s=$(ik_api olivia "$OFF" GET '/api/v1/certificates?filter=valid&cn=u1'); C1=$(ik_json 'd["items"][0]["id"]'); SER=$(ik_json 'd["items"][0]["serial"]')
ik_stop_signer
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$C1/revoke" '{"reason":"keyCompromise"}'); ik_expect 202 - "$s" "revoke while down"
RR=$(ik_json 'd["request_id"]')
sleep 1
ik_start_signer
for _ in $(seq 1 100); do
	st=$(ik_api olivia "$OFF" GET "/api/v1/requests/$RR" >/dev/null; ik_json 'd["state"]')
	[ "$st" = done ] && break
	sleep 0.1
done
[ "$st" = done ] || ik_fail "revocation not done after the signer came back"
ik_signctl crl -o "$TMP/crl.pem" 2>/dev/null
openssl crl -in "$TMP/crl.pem" -noout -text | tr a-z A-Z | grep -q "SERIAL NUMBER: $(echo "$SER" | tr a-z A-Z)" || ik_fail "revocation not on the CRL"
ik_ok "a revocation queued during the outage is on the CRL once the signer is back"
