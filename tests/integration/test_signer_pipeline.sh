#!/usr/bin/env bash
# Issuance under load (tool_pipeline): thousands of ISSUE requests pipelined over four
# connections, with copies of one request id among them — every id one certificate, every
# copy the same one; then kill -9 of the signer in the middle of such a load, restart, and
# the same requests again: every certificate delivered before the crash comes back the
# same, nothing is issued twice, and the ledger holds one intent and one certificate per id.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
ik_start_signer
not_after=$(( $(date +%s) + 30 * 86400 ))

ledger() { /usr/bin/python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(*c.execute(sys.argv[2]).fetchone())" "$TMP/ledger.sqlite" "$1"; }

tool_pipeline "$TMP/signer.sock" "$TMP/keys.bin" "$not_after" p 3000 4 40 "$TMP/run1.txt" \
	|| ik_fail "pipelined issuance refused or inconsistent"
[ "$(wc -l < "$TMP/run1.txt")" = 3040 ] || ik_fail "$(wc -l < "$TMP/run1.txt") replies, want 3040"
[ "$(cut -d' ' -f1 "$TMP/run1.txt" | sort -u | wc -l)" = 3001 ] || ik_fail "not 3001 request ids"
[ "$(cut -d' ' -f1,2 "$TMP/run1.txt" | sort -u | wc -l)" = 3001 ] || ik_fail "an id got two serials"
[ "$(cut -d' ' -f2 "$TMP/run1.txt" | sort -u | wc -l)" = 3001 ] || ik_fail "a serial was given twice"
[ "$(grep -c '^p-dup .* 0 ' "$TMP/run1.txt")" = 1 ] || ik_fail "the copies were issued more than once"
[ "$(ledger 'select count(*), count(distinct serial) from certs')" = "3001 3001" ] \
	|| ik_fail "ledger: $(ledger 'select count(*), count(distinct serial) from certs') certificates"
ik_ok "3000 pipelined requests and 40 copies of one id over 4 connections: one certificate per id"

# kill -9 in the middle of a load, then the same requests again
tool_pipeline "$TMP/signer.sock" "$TMP/keys.bin" "$not_after" k 6000 4 0 "$TMP/run2.txt" \
	--until-gone & tool=$!
for _ in $(seq 1 200); do
	[ "$(wc -l < "$TMP/run2.txt" 2>/dev/null || echo 0)" -ge 1000 ] && break
	sleep 0.02
done
kill -9 "$SIGNER_PID"
wait "$SIGNER_PID" 2>/dev/null || true
SIGNER_PID=
wait "$tool" || true
before=$(wc -l < "$TMP/run2.txt")
[ "$before" -ge 1 ] && [ "$before" -lt 6000 ] || ik_fail "the crash did not fall inside the load ($before replies)"
ik_start_signer
tool_pipeline "$TMP/signer.sock" "$TMP/keys.bin" "$not_after" k 6000 4 0 "$TMP/run3.txt" \
	|| ik_fail "the requests after the restart were refused"
[ "$(wc -l < "$TMP/run3.txt")" = 6000 ] || ik_fail "$(wc -l < "$TMP/run3.txt") replies after restart"
# every certificate delivered before the crash: the same id, serial and bytes afterwards
missing=$(cut -d' ' -f1,2,4 "$TMP/run2.txt" | sort | comm -23 - <(cut -d' ' -f1,2,4 "$TMP/run3.txt" | sort) | wc -l)
[ "$missing" = 0 ] || ik_fail "$missing certificates delivered before the crash changed after it"
replayed=$(awk '$3 == 1' "$TMP/run3.txt" | wc -l)
[ "$replayed" -ge "$before" ] || ik_fail "only $replayed replayed, $before were delivered"
[ "$(cut -d' ' -f2 "$TMP/run3.txt" | sort -u | wc -l)" = 6000 ] || ik_fail "a serial was given twice"
[ "$(ledger "select count(*), count(distinct request_id) from intents where request_id like 'k-%'")" = "6000 6000" ] \
	|| ik_fail "ledger intents: $(ledger "select count(*), count(distinct request_id) from intents where request_id like 'k-%'")"
[ "$(ledger "select count(*) from certs where request_id like 'k-%'")" = 6000 ] \
	|| ik_fail "ledger certificates: $(ledger "select count(*) from certs where request_id like 'k-%'")"
ik_ok "kill -9 under load after $before replies: the same $before certificates after restart ($replayed replayed), one row each"
