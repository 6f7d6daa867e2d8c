#!/usr/bin/env bash
# The signer deadline counts from the start of a call, and GET /crl has one deadline for the
# CRL and the chain together.  With signer_timeout = 4, signer_crl_timeout = 5 and a pool of
# 4 connections (queue_workers 1 + heavy_workers 1 + 2):
#   - six GET /crl at once against a trickling signer: the two that wait for a free
#     connection still answer 503 within the CRL deadline (before: twice it);
#   - a signer that no longer accepts (its listen queue full): connect() is bounded too,
#     503 within the deadline, and a queued ISSUE pending with "it did not take the
#     connection" (before: the RA's call blocked in connect() for ever);
#   - a signer that sends the whole CRL after 4 s and then trickles the chain: GET /crl
#     answers 503 within the one 5 s deadline (before: 4 s + GET_CHAIN's own 4 s).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_signer.sh"
ik_setup ec-p256
ik_ra_officers
RA_OPTS="signer_timeout = 4
signer_crl_timeout = 5
workers = 16
queue_workers = 1
heavy_workers = 1"
SLACK_MAX=7.5 # the 5 s deadline and 2.5 s for a loaded machine; the old gaps were 8 s and up

start_fake() { # start_fake MODE [ARG]: the stalling signer on the signer's socket
	: > "$TMP/fake.log"
	ik_fake_start stall_signer.py "$1" "$TMP/signer.sock" "$TMP/fake.log" "${@:2}"
}
crl_timed() { # crl_timed N: N GET /crl 0.3 s apart (each on an HTTP worker of its own:
	# started together, one worker may take two connections and serve them one after the
	# other); $TMP/crl.K holds "STATUS SECONDS" each
	local k pids=()
	for k in $(seq 1 "$1"); do
		(
			t0=$(date +%s.%N)
			s=$(curl -s --cacert "$TMP/tls.pem" --max-time 40 -o "$TMP/crlbody.$k" \
				-w '%{http_code}' "$BASE/crl/issuing-ca.crl") || true
			t1=$(date +%s.%N)
			echo "$s $(ik_elapsed "$t0" "$t1")" > "$TMP/crl.$k"
		) &
		pids+=($!)
		sleep 0.3
	done
	wait "${pids[@]}"
}
crl_all_within() { # crl_all_within N MIN WHAT: every answer 503 signer_unavailable in MIN..SLACK_MAX s
	local k s e
	for k in $(seq 1 "$1"); do
		read -r s e < "$TMP/crl.$k"
		[ "$s" = 503 ] || ik_fail "$3: GET /crl $k answered $s after $e s, want 503: $(head -c 300 "$TMP/crlbody.$k")"
		grep -q '"code":"signer_unavailable"' "$TMP/crlbody.$k" || ik_fail "$3: GET /crl $k: $(head -c 300 "$TMP/crlbody.$k")"
		python3 -c "import sys; sys.exit(0 if float(sys.argv[2]) <= float(sys.argv[1]) <= float(sys.argv[3]) else 1)" \
			"$e" "$2" "$SLACK_MAX" || ik_fail "$3: GET /crl $k took $e s (want at most the 5 s deadline + slack)"
	done
}
times() { local k; for k in $(seq 1 "$1"); do cut -d' ' -f2 "$TMP/crl.$k"; done | paste -sd' '; }

# ---- the wait for a free connection counts: 6 calls, 4 connections, all within 5 s (the
# last two start 1.2 and 1.5 s in: before, they waited until about 5 s for a connection and
# then had 5 s more) ----
start_fake trickle
ik_start_ra "$RA_OPTS" # its first CRL fetch gives up after 5 s
crl_timed 6
crl_all_within 6 3 "pool of 4, 6 GET /crl, the signer trickling"
ik_ok "six GET /crl at once, a pool of 4, the signer trickling: all 503 within the deadline ($(times 6) s)"

# ---- connect() counts: a signer whose listen queue is full ----
start_fake noaccept
crl_timed 3
crl_all_within 3 3 "a signer that no longer accepts"
ik_ok "a signer that no longer accepts: three GET /crl 503 within the deadline ($(times 3) s), none stuck in connect()"
# and a queued ISSUE: pending, its last error says the signer did not take the connection
OFF=$(ik_login olivia "$OFFICER_PW")
D1=$(ik_new_device olivia "$OFF" u1)
ik_fake_issue_gives_up olivia "$OFF" "$D1" u1 \
	"did not answer within 4 s (signer_timeout); it did not take the connection" 3 9
R1=$IK_FAKE_REQ
ik_ok "a queued ISSUE, the signer accepting nothing: pending after $IK_FAKE_SECS s, 'did not answer within 4 s (signer_timeout); it did not take the connection'"

# ---- one deadline for the CRL and the chain: the CRL whole after 4 s, then the chain trickles ----
ik_stop_ra
start_fake slowcrl 4
ik_start_ra "$RA_OPTS" # its first refresh gives up after 5 s in all
t0=$(date +%s.%N)
s=$(ik_req GET /crl/issuing-ca.crl --max-time 40)
t1=$(date +%s.%N)
ik_expect 503 signer_unavailable "$s" "GET /crl, the CRL slow and the chain trickling"
ik_elapsed_in "$t0" "$t1" 4 "$SLACK_MAX" || ik_fail "GET /crl took $(ik_elapsed "$t0" "$t1") s (want the one 5 s deadline, not 4 s + GET_CHAIN's 4 s)"
grep -q '^crl sent ' "$TMP/fake.log" || ik_fail "the CRL was never sent whole: $(cat "$TMP/fake.log")"
grep -q '^trickle [0-9]* 6$' "$TMP/fake.log" || ik_fail "GET_CHAIN was never asked for: $(cat "$TMP/fake.log")"
for n in $(sed -n 's/^trickle \([0-9]*\) 6$/\1/p' "$TMP/fake.log"); do
	for _ in $(seq 1 30); do grep -q "^closed $n\$" "$TMP/fake.log" && break; sleep 0.1; done
	grep -q "^closed $n\$" "$TMP/fake.log" || ik_fail "a trickled GET_CHAIN connection was kept: $(cat "$TMP/fake.log")"
done
ik_ok "GET /crl, the CRL whole after 4 s and the chain trickling: 503 after $(ik_elapsed "$t0" "$t1") s (one signer_crl_timeout = 5 for both), the connection closed"
ik_fake_stop
