#!/usr/bin/env bash
# signer_timeout and signer_crl_timeout bound a whole call, not each read: a signer that
# answers with a proper reply header and then one byte every half second (never silent for
# the 2 s of signer_timeout) costs the RA 2 s (3 s for GET_CRL), no more.  The connection
# is closed, the error names the setting, a download answers 503 in bounded time, GET /crl
# with no CRL yet answers 503 within the CRL's deadline; and once the real signer is back
# the queued request is issued, once, and the download works.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_signer.sh"
ik_setup ec-p256
ik_start_signer
ik_ra_officers
RA_OPTS="signer_timeout = 2
signer_crl_timeout = 3"
ik_start_ra "$RA_OPTS"
OFF=$(ik_login olivia "$OFFICER_PW")

start_fake() { # start_fake MODE: the stalling signer on the signer's socket
	ik_stop_signer
	: > "$TMP/fake.log"
	ik_fake_start stall_signer.py "$1" "$TMP/signer.sock" "$TMP/fake.log"
}
closed_all() { # closed_all TYPE: every connection that got a trickled TYPE reply was closed
	local n
	for n in $(sed -n "s/^trickle \([0-9]*\) $1\$/\1/p" "$TMP/fake.log"); do
		for _ in $(seq 1 30); do grep -q "^closed $n\$" "$TMP/fake.log" && break; sleep 0.1; done
		grep -q "^closed $n\$" "$TMP/fake.log" || return 1
	done
	grep -q "^trickle [0-9]* $1\$" "$TMP/fake.log"
}
download() { # download LOGIN SECRET: prints the status, body in $TMP/body
	ik_req POST /download/p12 -H 'Content-Type: application/json' \
		--data "{\"login\":\"$1\",\"secret\":\"$2\",\"password\":\"Xy7!pass-word\",\"device\":\"linux\"}"
}

D1=$(ik_new_device olivia "$OFF" u1); D3=$(ik_new_device olivia "$OFF" u3)
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D3/certificates" '{"common_name":"u3-pc"}')
ik_expect 201 - "$s" "credential for u3-pc"
X3=$(ik_json 'd["certificate"]["id"]')
L3=$(ik_json 'd["download"]["login"]'); P3=$(ik_json 'd["download"]["password"]')

# ---- a queued ISSUE whose answer trickles: pending after ~2 s, the error names the setting ----
start_fake trickle
ik_fake_issue_gives_up olivia "$OFF" "$D1" u1 \
	"did not answer within 2 s (signer_timeout); its connection was closed" 1.5 6
R1=$IK_FAKE_REQ
closed_all 2 || ik_fail "a trickled ISSUE connection was kept: $(cat "$TMP/fake.log")"
ik_ok "ISSUE answered a byte every 0.5 s: pending after $IK_FAKE_SECS s with 'did not answer within 2 s (signer_timeout)', the connection closed"

# ---- a download while the signer trickles: its STATUS check gives up after 2 s, 503 ----
t0=$(date +%s.%N)
s=$(download "$L3" "$P3")
t1=$(date +%s.%N)
ik_expect 503 ca_unavailable "$s" "download while the signer trickles"
ik_elapsed_in "$t0" "$t1" 1.5 7 || ik_fail "the download took $(ik_elapsed "$t0" "$t1") s to be refused"
closed_all 8 || ik_fail "a trickled STATUS connection was kept: $(cat "$TMP/fake.log")"
ik_ok "download while the signer trickles: 503 ca_unavailable after $(ik_elapsed "$t0" "$t1") s, the credential still good"

# ---- GET /crl with no CRL yet, against a trickling signer: 503 within signer_crl_timeout ----
ik_stop_ra
t0=$(date +%s.%N)
ik_start_ra "$RA_OPTS" # its first CRL fetch at start gives up after 3 s
t1=$(date +%s.%N)
ik_elapsed_in "$t0" "$t1" 2.5 9 || ik_fail "the RA took $(ik_elapsed "$t0" "$t1") s to start against the trickling signer"
OFF=$(ik_login olivia "$OFFICER_PW")
t0=$(date +%s.%N)
s=$(ik_req GET /crl/issuing-ca.crl)
t1=$(date +%s.%N)
ik_expect 503 signer_unavailable "$s" "GET /crl against a trickling signer"
# (at most the 3 s deadline: it joins the refresh under way, the scheduler's or its own)
ik_elapsed_in "$t0" "$t1" 0 6 || ik_fail "GET /crl took $(ik_elapsed "$t0" "$t1") s (want at most about 3 s)"
closed_all 7 || ik_fail "a trickled GET_CRL connection was kept: $(cat "$TMP/fake.log")"
ik_ok "GET /crl, no CRL yet, the signer trickling: 503 after $(ik_elapsed "$t0" "$t1") s (within signer_crl_timeout = 3), its connection closed"

# ---- the real signer back: the queued request issued once, the download works ----
ik_fake_to_real olivia "$OFF" "$R1"
RID=$(sqlite3 "$TMP/ra.sqlite" "select request_id from requests where id = $R1")
n=$(sqlite3 "$TMP/ledger.sqlite" "select count(*) from certs where request_id = '$RID'")
[ -n "$RID" ] && [ "$n" = 1 ] || ik_fail "the signer's ledger has $n certificates for request $R1 ($RID), want 1"
for _ in $(seq 1 100); do
	s=$(download "$L3" "$P3"); [ "$s" = 503 ] || break; sleep 0.3
done
[ "$s" = 200 ] || ik_fail "download after the signer came back: $s $(head -c 300 "$TMP/body")"
ik_api olivia "$OFF" GET "/api/v1/certificates/$X3" >/dev/null
[ "$(ik_json 'd["state"]')" = active ] || ik_fail "the downloaded certificate $X3: $(cat "$TMP/body")"
s=$(ik_req GET /crl/issuing-ca.crl)
[ "$s" = 200 ] || ik_fail "GET /crl once the signer is back: $s"
grep -q "did not answer within 2 s (signer_timeout)" "$TMP/rad.log" || ik_fail "the RA log does not name signer_timeout"
ik_ok "signer back: the request issued once, the download works, /crl 200"
