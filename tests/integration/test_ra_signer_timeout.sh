#!/usr/bin/env bash
# A signer that accepts and then stops answering (after reading the HELLO, or midway through
# a reply frame) costs the RA signer_timeout seconds, no more: the RA closes the connection,
# the request stays queued with a last error naming the timeout, a download answers 503 in
# bounded time, and once the real signer is back the request is issued, once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_signer.sh"
ik_setup ec-p256
ik_start_signer
ik_ra_officers

# ---- the settings are checked at load ----
ik_ra_config 18443 "signer_timeout = 0"
rc=0; inkan-rad --check-config "$TMP/ra.conf" 2>"$TMP/err" >/dev/null || rc=$?
[ "$rc" = 1 ] && grep -q "\[ra\] signer_timeout: expected a number in 1..3600" "$TMP/err" ||
	ik_fail "signer_timeout = 0 accepted (exit $rc): $(cat "$TMP/err")"
ik_ra_config 18443 "signer_crl_timeout = 3601"
rc=0; inkan-rad --check-config "$TMP/ra.conf" 2>"$TMP/err" >/dev/null || rc=$?
[ "$rc" = 1 ] && grep -q "\[ra\] signer_crl_timeout: expected a number in 1..3600" "$TMP/err" ||
	ik_fail "signer_crl_timeout = 3601 accepted (exit $rc): $(cat "$TMP/err")"
ik_ok "signer_timeout / signer_crl_timeout out of range: refused at load, naming the key"

ik_start_ra "signer_timeout = 2
signer_crl_timeout = 3"
OFF=$(ik_login olivia "$OFFICER_PW")

new_device() { ik_new_device olivia "$OFF" "$1"; }
ledger_certs() { sqlite3 "$TMP/ledger.sqlite" 'select count(*) from certs'; }
start_fake() { # start_fake MODE: the stalling signer on the signer's socket
	ik_stop_signer
	: > "$TMP/fake.log"
	ik_fake_start stall_signer.py "$1" "$TMP/signer.sock" "$TMP/fake.log"
}
request() { ik_api olivia "$OFF" GET "/api/v1/requests/$1" >/dev/null; }

D1=$(new_device u1); D3=$(new_device u3)
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D3/certificates" '{"common_name":"u3-pc"}')
L3=$(ik_json 'd["download"]["login"]'); P3=$(ik_json 'd["download"]["password"]')
[ "$(ledger_certs)" = 0 ] || ik_fail "ledger not empty at the start"

# ---- the signer reads the HELLO and says nothing more ----
start_fake hello
ik_fake_issue_gives_up olivia "$OFF" "$D1" u1 "did not answer within 2 s (signer_timeout)" 1.5 8
R1=$IK_FAKE_REQ
grep -q '^frame 1 1$' "$TMP/fake.log" || ik_fail "the fake never saw a HELLO: $(cat "$TMP/fake.log")"
for _ in $(seq 1 30); do grep -q '^closed 1$' "$TMP/fake.log" && break; sleep 0.1; done
grep -q '^closed 1$' "$TMP/fake.log" || ik_fail "the RA did not close the stalled connection: $(cat "$TMP/fake.log")"
ik_ok "HELLO unanswered: the request is pending after ~2 s with 'did not answer within 2 s (signer_timeout)', the connection closed"

t0=$(date +%s)
s=$(ik_req POST /download/p12 -H 'Content-Type: application/json' \
	--data "{\"login\":\"$L3\",\"secret\":\"$P3\",\"password\":\"Xy7!pass-word\",\"device\":\"linux\"}")
t1=$(date +%s)
ik_expect 503 ca_unavailable "$s" "download while the signer stalls"
[ $((t1 - t0)) -le 12 ] || ik_fail "the download took $((t1 - t0)) s to be refused"
ik_ok "download while the signer stalls: 503 ca_unavailable after $((t1 - t0)) s"

# ---- the signer answers the HELLO, then stops midway through the next reply's header ----
start_fake midframe
for _ in $(seq 1 200); do grep -q '^frame [0-9]* 2$' "$TMP/fake.log" && break; sleep 0.1; done
n=$(sed -n 's/^frame \([0-9]*\) 2$/\1/p' "$TMP/fake.log" | head -n 1)
[ -n "$n" ] || ik_fail "the queue did not retry against the second fake: $(cat "$TMP/fake.log")"
for _ in $(seq 1 60); do grep -q "^closed $n\$" "$TMP/fake.log" && break; sleep 0.1; done
grep -q "^closed $n\$" "$TMP/fake.log" || ik_fail "the RA kept the connection with half a frame: $(cat "$TMP/fake.log")"
request "$R1"
[ "$(ik_json 'd["state"]')" = pending ] || ik_fail "request not pending after the half frame: $(cat "$TMP/body")"
ik_ok "a reply stopped midway through its header: the connection is closed, the request still pending"

# ---- the real signer back: issued, once; the credential still good ----
ik_fake_to_real olivia "$OFF" "$R1"
[ "$(ledger_certs)" = 1 ] || ik_fail "ledger has $(ledger_certs) certificates, want 1"
s=$(ik_req POST /download/p12 -H 'Content-Type: application/json' \
	--data "{\"login\":\"$L3\",\"secret\":\"$P3\",\"password\":\"Xy7!pass-word\",\"device\":\"linux\"}")
[ "$s" = 200 ] || ik_fail "download after the stall: $s $(cat "$TMP/body")"
[ "$(ledger_certs)" = 2 ] || ik_fail "ledger has $(ledger_certs) certificates after the download, want 2"
grep -q "did not answer within 2 s (signer_timeout)" "$TMP/rad.log" || ik_fail "the RA log does not name the timeout"
ik_ok "signer back: the request issued once, the refused download works, the log names the timeout"
