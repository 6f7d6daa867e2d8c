#!/usr/bin/env bash
# A download whose own ISSUE gets an answer the RA cannot read (a proxy in front of the real
# signer adds a byte to the reply: the frame is whole, the ISSUE reply is not).  The signer
# did issue a certificate, so this is treated like a lost answer, not a refusal: the request
# is parked (503 "try again in a few minutes"), the queue sends it again under the same
# request id, records the signer's certificate and revokes it (cessationOfOperation), the
# same link then downloads a fresh one, and its user gets one download_settled mail.  The
# queue's own resend garbled too keeps the request pending (retried), never failed.  A
# well-formed refusal stays a refusal: 502, the request failed, nothing parked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mail.sh"
. "$(dirname "$0")/fake_signer.sh"
ik_setup ec-p256
ik_start_signer
ik_mail_setup
ik_ra_officers
mv "$TMP/signer.sock" "$TMP/real.sock"
start_proxy() { # start_proxy MODE N: the next N ISSUE answers garbled
	: >"$TMP/proxy.log"
	ik_fake_start drop_signer.py "$1" "$2" "$TMP/signer.sock" "$TMP/real.sock" "$TMP/proxy.log"
}
start_proxy garble 0
ik_start_ra "signer_timeout = 2
$MAILCONF"
OFF=$(ik_login olivia "$OFFICER_PW")
BASE_CERTS=$(sqlite3 "$TMP/ledger.sqlite" 'select count(*) from certs')
ledger_certs() { echo $(($(sqlite3 "$TMP/ledger.sqlite" 'select count(*) from certs') - BASE_CERTS)); }
ra_sql() { sqlite3 "$TMP/ra.sqlite" "$1"; }
PW='Xy7!pass-word'
download() { # download LOGIN SECRET OUT: prints the status
	curl -s --cacert "$TMP/tls.pem" -o "$3" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		--data "{\"login\":\"$1\",\"secret\":\"$2\",\"password\":\"$PW\",\"device\":\"linux\"}" \
		"$BASE/download/p12"
}
cert() { ik_api olivia "$OFF" GET "/api/v1/certificates/$1" >/dev/null; ik_json "$2"; }

s=$(ik_api olivia "$OFF" POST /api/v1/users '{"external_id":"u1","email":"u1@example.jp","lang":"en"}')
ik_expect 201 - "$s" "user u1"
U=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/users/$U/devices" '{"name":"pc"}'); D=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/users/$U/devices" '{"name":"laptop"}'); DR=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D/certificates" '{"common_name":"u1-pc","validity_days":30}')
ik_expect 201 - "$s" "issue u1-pc"
X=$(ik_json 'd["certificate"]["id"]'); L=$(ik_json 'd["download"]["login"]')
S=$(ik_json 'd["download"]["password"]')

# ---- a refusal (an ERROR frame) is not an unreadable answer ----
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$DR/certificates" '{"common_name":"u1-laptop","validity_days":30}')
ik_expect 201 - "$s" "issue u1-laptop"
XR=$(ik_json 'd["certificate"]["id"]'); LR=$(ik_json 'd["download"]["login"]')
SR=$(ik_json 'd["download"]["password"]')
start_proxy refuse 1
s=$(download "$LR" "$SR" "$TMP/r.out")
[ "$s" = 502 ] && grep -q '"refused"' "$TMP/r.out" || ik_fail "download refused by the signer: $s $(head -c 300 "$TMP/r.out")"
[ "$(ra_sql "select state || '/' || ifnull(settle_credential, 'none') from requests where cert_id = $XR")" = failed/none ] ||
	ik_fail "the refused request: $(ra_sql "select state, settle_credential from requests where cert_id = $XR")"
ik_ok "a well-formed refusal of a download's ISSUE: 502 refused, the request failed, not parked"
BASE_CERTS=$(sqlite3 "$TMP/ledger.sqlite" 'select count(*) from certs')

# ---- the download's answer garbled, and the queue's first resend's too ----
start_proxy garble 2
s=$(download "$L" "$S" "$TMP/a.out")
[ "$s" = 503 ] && grep -q 'did not answer in time' "$TMP/a.out" ||
	ik_fail "download whose answer was garbled: $s $(head -c 300 "$TMP/a.out")"
grep -q '^dropped ' "$TMP/proxy.log" || ik_fail "the proxy garbled nothing: $(cat "$TMP/proxy.log")"
[ "$(ledger_certs)" = 1 ] || ik_fail "the signer's ledger has $(ledger_certs) certificates, want 1"
grep -q "answer could not be read: unexpected bytes after the message; its download parks it" "$TMP/rad.log" ||
	ik_fail "the RA log does not say what was wrong with the answer"
ik_ok "ISSUE answer unreadable (a byte too many): 503 'try again in a few minutes', the request parked, not failed"
for _ in $(seq 1 100); do [ "$(grep -c '^dropped ' "$TMP/proxy.log")" = 2 ] && break; sleep 0.1; done
[ "$(grep -c '^dropped ' "$TMP/proxy.log")" = 2 ] || ik_fail "the queue did not resend: $(cat "$TMP/proxy.log")"
sleep 0.5
r=$(ra_sql "select state || '|' || last_error from requests where cert_id = $X and kind = 'issue'")
case "$r" in "pending|"*"answer could not be read"*) ;; *) ik_fail "after the resend's garbled answer: $r" ;; esac
ik_ok "the queue's resend garbled too: pending again ('the signer's answer could not be read'), not failed"

for _ in $(seq 1 300); do
	st=$(cert "$X" 'd["state"] + "/" + str(d.get("revocation_reason", d.get("reason", "")))')
	case "$st" in revoked/5*) break ;; esac
	sleep 0.1
done
case "$st" in revoked/5*) ;; *) ik_fail "the certificate the signer issued: $st, want revoked (cessationOfOperation)" ;; esac
RID=$(ra_sql "select request_id from requests where cert_id = $X and kind = 'issue'")
LS=$(sqlite3 "$TMP/ledger.sqlite" "select lower(hex(serial)) from certs where request_id = '$RID'" | sed 's/^00//')
[ "$(cert "$X" 'd["serial"]')" = "$LS" ] || ik_fail "the RA recorded another serial than the signer's $LS"
[ "$(ledger_certs)" = 1 ] || ik_fail "the resend made a second certificate: $(ledger_certs)"
ik_ok "settled: the RA holds the signer's certificate (same serial, one in the ledger) and revoked it"

for _ in $(seq 1 50); do
	s=$(download "$L" "$S" "$TMP/b.p12"); [ "$s" = 503 ] || break; sleep 0.2
done
[ "$s" = 200 ] || ik_fail "the same link after the settlement: $s $(head -c 300 "$TMP/b.p12")"
[ "$(ledger_certs)" = 2 ] || ik_fail "ledger: $(ledger_certs) certificates, want 2"
M=$(wait_mail download_settled u1@example.jp)
mail_text "$M" >"$TMP/m.txt" # (not piped into grep -q: pipefail)
grep -q "works again" "$TMP/m.txt" || ik_fail "the settled mail: $(cat "$TMP/m.txt")"
ik_ok "the same link then downloads a fresh certificate; u1 was mailed that it works again"

grep -q "$S" "$TMP/rad.log" && ik_fail "a download secret in the log"
ik_stop_ra
inkan-rad verify-history -c "$TMP/ra.conf" | grep -q '^OK' || ik_fail "history chain"
ik_ok "the history chain verifies"
