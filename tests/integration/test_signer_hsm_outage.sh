#!/usr/bin/env bash
# HSM outage: the token disappears under a running signer (its directory moved away), requests
# get the distinct "hsm-unavailable" error, the outage is logged once (not per request), and
# when the token is back the same signer process recovers by itself — no restart.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
ik_start_signer
pid=$SIGNER_PID

ik_issue before before >/dev/null
ik_ok "issued before the outage"

mv "$TMP/hsm/tokens" "$TMP/hsm/tokens.away"
mkdir "$TMP/hsm/tokens"
for i in 1 2 3 4 5; do
	ik_expect_refusal hsm-unavailable ik_issue "out$i" "out$i"
done
ik_ok "five requests during the outage refused with hsm-unavailable"

# status still answers and says the HSM is down
ik_signctl status 2>&1 | grep -qi 'hsm.*\(down\|unavailable\)' || ik_fail "status does not report the outage: $(ik_signctl status 2>&1)"
ik_ok "status reports the HSM as unavailable"

n=$(grep -c 'HSM unavailable' "$TMP/signer.log" || true)
[ "$n" -eq 1 ] || ik_fail "outage logged $n times (want once)"
ik_ok "outage logged once"

rmdir "$TMP/hsm/tokens"
mv "$TMP/hsm/tokens.away" "$TMP/hsm/tokens"
ok=
for _ in $(seq 1 50); do
	if ik_issue after after >/dev/null 2>&1; then ok=1; break; fi
	sleep 0.2
done
[ -n "$ok" ] || ik_fail "signer did not recover after the token came back"
kill -0 "$pid" 2>/dev/null || ik_fail "signer process died"
[ "$SIGNER_PID" = "$pid" ] || ik_fail "signer restarted"
ik_ok "recovered without restart (pid $pid)"

openssl verify -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" "$TMP/after.pem" >/dev/null \
	|| ik_fail "certificate issued after recovery does not verify"
grep -q 'HSM .*\(back\|recovered\|available again\)' "$TMP/signer.log" || ik_fail "recovery not logged"
ik_ok "certificate after recovery verifies; recovery logged"

# the failed requests did not leave half-issued rows: retrying one id now issues it once
ik_issue out1 out1 >/dev/null
s=$(ik_serial "$TMP/out1.pem")
ik_issue out1 out1 >/dev/null
[ "$(ik_serial "$TMP/out1.pem")" = "$s" ] || ik_fail "retry after outage issued a second certificate"
ik_ok "request refused during the outage issues exactly once afterwards"
