#!/usr/bin/env bash
# A hostile RA: malformed frames and off-profile requests are each refused with their own
# error, and the signer keeps serving.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
SOCKET_MODE=0666 ik_write_config   # so that a process of another uid can reach SO_PEERCRED
ik_start_signer

tool_hostile "$TMP/signer.sock" || ik_fail "framing scenarios"

# requests outside the profile: each refused with the rule that failed
ik_key k1
ik_expect_refusal policy-ca ik_issue ca1 ca1 --ca
ik_expect_refusal policy-flags ik_issue fl1 fl1 --flags 2
ik_expect_refusal policy-validity ik_issue long1 long1 --days 398
ik_expect_refusal policy-validity ik_issue past1 past1 --not-before 1000 --not-after 2000
ik_key p521 -algorithm EC -pkeyopt ec_paramgen_curve:P-521
ik_expect_refusal policy-key ik_signctl issue --id p521 --profile client --pubkey "$TMP/p521.pub" --attr CN=x
ik_key rsa1024 -algorithm RSA -pkeyopt rsa_keygen_bits:1024
ik_expect_refusal policy-key ik_signctl issue --id rsa1024 --profile client --pubkey "$TMP/rsa1024.pub" --attr CN=x
ik_key ed -algorithm ED25519
ik_expect_refusal policy-key ik_signctl issue --id ed --profile client --pubkey "$TMP/ed.pub" --attr CN=x
ik_expect_refusal policy-subject ik_issue l1 l1 --attr L=Tokyo
ik_expect_refusal policy-subject ik_issue o1 o1 --attr "O=Someone Else"
ik_expect_refusal policy-subject ik_signctl issue --id nocn --profile client --pubkey "$TMP/k1.pub" --attr OU=x
ik_expect_refusal policy-profile ik_signctl issue --id prof --profile server --pubkey "$TMP/k1.pub" --attr CN=x
ik_ok "off-profile requests refused: CA flag, unknown flag, validity, key type/size, subject attribute, fixed O, missing CN, unknown profile"

# nothing was recorded for any refused request
n=$(/usr/bin/python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('select (select count(*) from intents)+(select count(*) from certs)').fetchone()[0])" "$TMP/ledger.sqlite")
[ "$n" = 0 ] || ik_fail "refused requests left $n ledger rows"
ik_ok "refusals leave no trace in the ledger"

tool_hostile "$TMP/signer.sock" --wrong-peer 65534 || ik_fail "wrong peer accepted"
grep -q "refused peer uid 65534" "$TMP/signer.log" || ik_fail "refused peer not logged"

tool_hostile "$TMP/signer.sock" --stall || ik_fail "a stalled frame is not cut off"
grep -q "frame not completed within 10 s; closing" "$TMP/signer.log" || ik_fail "stalled peer not logged"

ik_issue ok1 ok1
ik_ok "the signer still issues after all of it"
kill -0 "$SIGNER_PID" || ik_fail "signer died"
