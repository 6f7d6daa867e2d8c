#!/usr/bin/env bash
# kill -9 in the middle of a 1000-certificate batch (issue 3): the RA while it is still
# adding the batch's certificates, the signer while it is issuing them, the RA again, and
# both at once; each restarted.  At the end: exactly 1000 certificates in the batch, 1000
# distinct serials and common names (client_000001..client_001000, no gap), every one with
# its sealed key, and the signer's ledger holding exactly the RA's certificates (same
# serials, same request ids) — nothing lost, nothing issued twice.  The keys sealed before
# the first kill are IKB2 (under the batch's content key, held in the RA's memory only),
# those after it IKB1 (the restarted RA no longer has that key): the one download opens all.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
ik_start_signer
ik_ra_officers
ik_start_ra

OFF=$(ik_login olivia "$OFFICER_PW")
AUD=$(ik_login carol "$AUDITOR_PW")
BPASS='Batch-Passphrase 2026'
N=1000
db() { sqlite3 "$TMP/ra.sqlite" "$@"; }
ledger() { sqlite3 "$TMP/ledger.sqlite" "$@"; }
now() { date +%s.%N; }
since() { python3 -c "print('%.1f' % ($(now) - $1))"; }

# progress ID -> "added done failed state" (from the API)
progress() {
	local s
	s=$(ik_api carol "$AUD" GET "/api/v1/batches/$1")
	[ "$s" = 200 ] || { echo "0 0 0 unreachable"; return; }
	ik_json '"%d %d %d %s" % (d["added"], d["done"], d["failed"], d["state"])'
}
# wait_for ID FIELD(added|done) AT_LEAST TIMEOUT_S
wait_for() {
	local id=$1 field=$2 min=$3 limit=$4 t0 p added done failed state
	t0=$(date +%s)
	while :; do
		p=$(progress "$id")
		read -r added done failed state <<<"$p"
		[ "$failed" = 0 ] || ik_fail "requests failed: $p"
		if [ "$field" = added ] && [ "$added" -ge "$min" ]; then break; fi
		if [ "$field" = done ] && [ "$done" -ge "$min" ]; then break; fi
		if [ "$field" = state ] && [ "$state" = finished ]; then break; fi
		[ $(( $(date +%s) - t0 )) -lt "$limit" ] || ik_fail "waited ${limit}s for $field >= $min: $p"
		sleep 0.1
	done
	echo "$p"
}

# Each kill is sent by a watcher of the store, started before what it waits for (an API
# poll, or a sqlite3 process per look, takes longer than the RA needs for several groups of
# keys or answers; the whole batch can be added before the POST's answer is read).
# watch COLUMN MIN NAME...: in the background, every 2 ms, once batches.COLUMN >= MIN,
# SIGKILL to each daemon NAME (its pid read then from $TMP/NAME.pid: written after each
# start) and "total done" into $TMP/watch; returns once the watcher has looked once.
watch() {
	rm -f "$TMP/watch.ready"
	python3 - "$TMP/ra.sqlite" "$TMP" "$@" > "$TMP/watch" <<'PY' &
import os, signal, sqlite3, sys, time
db, tmp, col, least, names = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
con = sqlite3.connect(db, timeout=2)
t0 = time.time()
row = None
while time.time() - t0 < 300:
    try:
        row = con.execute(f"SELECT total, done, {col} FROM batches ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        row = None
    if row is not None and row[2] >= least:
        break
    open(f"{tmp}/watch.ready", "w").close()
    time.sleep(0.002)
else:
    print("none 0")
    sys.exit(0)
for name in names:  # a daemon being restarted: its new pid is written once it is up
    while time.time() - t0 < 300:
        try:
            os.kill(int(open(f"{tmp}/{name}.pid").read()), signal.SIGKILL)
            break
        except (OSError, ValueError):
            time.sleep(0.002)
print(row[0], row[1])
PY
	WATCHER=$!
	while [ ! -e "$TMP/watch.ready" ]; do sleep 0.01; done # it is looking
	rm -f "$TMP/watch.ready"
}
# watched: waits for the watcher; its "total done" once it has killed in $a $d
watched() {
	wait "$WATCHER" || true
	read -r a d < "$TMP/watch" || true
}
pids() { echo "$RAD_PID" > "$TMP/rad.pid"; echo "$SIGNER_PID" > "$TMP/signer.pid"; }
# reap NAME PID: a daemon the watcher killed; its pid file emptied until the next start (a
# watcher waiting to kill it again waits for the new pid, never a reused old one)
reap() { wait "$2" 2>/dev/null || true; : > "$TMP/$1.pid"; }

# 1. the RA, while its batch worker is still adding certificates
pids
watch total 150 rad
T0=$(now)
s=$(ik_api olivia "$OFF" POST /api/v1/batches "{\"count\":$N,\"passphrase\":\"$BPASS\",\"validity_days\":30}") || s=none
watched
a1=$a d1=$d
[ "$a1" != none ] || ik_fail "waited for 150 added"
if [ "$s" = none ]; then
	# on a busy machine the kill can come before curl has read the 202 (the batch was
	# committed before it was sent, and 150 of its keys since): the batch is in the store
	B=$(db "SELECT id FROM batches WHERE planned = $N AND envelope_key IS NOT NULL")
	[ -n "$B" ] || ik_fail "start a $N-certificate batch: no answer and no batch"
	ik_ok "the RA was killed before curl read the POST's answer; batch $B is in the store"
else
	ik_expect 202 - "$s" "start a $N-certificate batch"
	B=$(ik_json 'd["id"]')
fi
reap rad "$RAD_PID"; RAD_PID=
p="$a1 of $N"
[ "$a1" -lt "$N" ] || ik_fail "the batch was fully added before the first kill ($p): too fast to test this"
ik_ok "kill -9 inkan-rad at ${a1} of $N added, ${d1} issued ($(since "$T0")s)"
# 2. the signer, while it issues
watch done 400 signer
ik_start_ra
pids
watched
[ "$a" != none ] || ik_fail "waited for 400 issued"
[ "$d" -lt "$N" ] || ik_fail "the batch was fully issued before the signer's kill"
reap signer "$SIGNER_PID"; SIGNER_PID=
ik_ok "kill -9 inkan-signerd at $d issued ($(since "$T0")s)"

# 3. the RA again, while requests are with the signer
watch done 650 rad
sleep 1
ik_start_signer
pids
watched
[ "$a" != none ] || ik_fail "waited for 650 issued"
[ "$d" -lt "$N" ] || ik_fail "the batch was fully issued before the RA's second kill"
reap rad "$RAD_PID"; RAD_PID=
ik_ok "kill -9 inkan-rad at $d issued ($(since "$T0")s)"

# 4. both at once
watch done 850 rad signer
ik_start_ra
pids
watched
[ "$a" != none ] || ik_fail "waited for 850 issued"
[ "$d" -lt "$N" ] || ik_fail "the batch was fully issued before both were killed"
reap rad "$RAD_PID"; RAD_PID=
reap signer "$SIGNER_PID"; SIGNER_PID=
ik_ok "kill -9 of both at $d issued ($(since "$T0")s)"
ik_start_signer
ik_start_ra

p=$(wait_for "$B" state finished 400)
read -r added done failed state <<<"$p"
[ "$added" = "$N" ] && [ "$done" = "$N" ] && [ "$failed" = 0 ] || ik_fail "batch at the end: $p"
ik_ok "batch finished: $added added, $done issued, $failed failed in $(since "$T0")s with four kill -9"
ik_stop_ra

# ---- the RA's view ----
[ "$(db "SELECT COUNT(*) FROM requests WHERE batch_id = $B")" = "$N" ] || ik_fail "requests of the batch: not $N"
[ "$(db "SELECT COUNT(*) FROM requests WHERE batch_id = $B AND state = 'done'")" = "$N" ] || ik_fail "not all requests done"
CERTS="certificates c JOIN requests r ON r.cert_id = c.id WHERE r.batch_id = $B"
[ "$(db "SELECT COUNT(*) FROM $CERTS AND c.state = 'active' AND c.serial IS NOT NULL")" = "$N" ] || ik_fail "active certificates: not $N"
[ "$(db "SELECT COUNT(DISTINCT c.serial) FROM $CERTS")" = "$N" ] || ik_fail "serials repeat"
[ "$(db "SELECT COUNT(DISTINCT c.cn) FROM $CERTS")" = "$N" ] || ik_fail "common names repeat"
[ "$(db "SELECT MIN(c.cn) || ' ' || MAX(c.cn) FROM $CERTS")" = "client_000001 client_001000" ] || ik_fail "common names have a gap: $(db "SELECT MIN(c.cn), MAX(c.cn) FROM $CERTS")"
[ "$(db "SELECT COUNT(*) FROM $CERTS AND c.key_envelope IS NOT NULL")" = "$N" ] || ik_fail "a certificate without its sealed key"
[ "$(db "SELECT COUNT(*) FROM certificates")" = "$N" ] || ik_fail "certificates outside the batch: $(db 'SELECT COUNT(*) FROM certificates')"
[ "$(db "SELECT COUNT(*) FROM requests")" = "$N" ] || ik_fail "stray requests (an orphan revocation?)"
ik_ok "RA: exactly $N requests and certificates, $N distinct serials and CNs (client_000001..client_001000), each with its sealed key"

# ---- the signer's ledger agrees ----
[ "$(ledger "SELECT COUNT(*) FROM certs")" = "$N" ] || ik_fail "ledger holds $(ledger 'SELECT COUNT(*) FROM certs') certificates, not $N"
[ "$(ledger "SELECT COUNT(*) FROM intents")" = "$N" ] || ik_fail "ledger intents: $(ledger 'SELECT COUNT(*) FROM intents')"
[ "$(ledger "SELECT COUNT(DISTINCT serial) FROM certs")" = "$N" ] || ik_fail "ledger serials repeat"
db "SELECT c.serial FROM $CERTS ORDER BY 1" > "$TMP/ra.serials"
ledger "SELECT lower(hex(serial)) FROM certs" | sed 's/^00//' | sort > "$TMP/ledger.serials"
cmp -s "$TMP/ra.serials" "$TMP/ledger.serials" || ik_fail "serials differ: $(diff "$TMP/ra.serials" "$TMP/ledger.serials" | head -5)"
db "SELECT request_id FROM requests WHERE batch_id = $B ORDER BY 1" > "$TMP/ra.rids"
ledger "SELECT request_id FROM certs ORDER BY 1" > "$TMP/ledger.rids"
cmp -s "$TMP/ra.rids" "$TMP/ledger.rids" || ik_fail "request ids differ"
ik_ok "ledger: exactly $N certificates and intents, the same serials and request ids as the RA"
# how much of the recovery path the kills exercised (it varies with timing)
resent=$({ grep -o '[0-9]* request(s) were with the signer when the RA stopped' "$TMP/rad.log" || true; } | awk '{n += $1} END {print n + 0}')
replayed=$(db "SELECT COUNT(*) FROM history WHERE op = 'issue' AND detail LIKE '%replayed by the signer%'")
echo "# requests resent after the RA restarts: $resent; answered by the signer as replays: $replayed"
[ "$(db "SELECT COUNT(*) FROM history WHERE op = 'issue'")" = "$N" ] || ik_fail "issue history entries: not $N"
inkan-rad verify-history -c "$TMP/ra.conf" | grep -q '^OK' || ik_fail "history chain after the kills"
ik_ok "history chain intact after four kill -9"

# ---- the one download opens every key: IKB2 ones (before the first kill) and IKB1 ones
# (the restarted RA, without the content key, seals the rest each to the envelope key)
ikb1=$(db "SELECT COUNT(*) FROM $CERTS AND substr(c.key_envelope, 1, 4) = CAST('IKB1' AS BLOB)")
ikb2=$(db "SELECT COUNT(*) FROM $CERTS AND substr(c.key_envelope, 1, 4) = CAST('IKB2' AS BLOB)")
[ "$((ikb1 + ikb2))" = "$N" ] && [ "$ikb2" -gt 0 ] && [ "$ikb1" -gt 0 ] || ik_fail "sealed key formats: $ikb2 IKB2, $ikb1 IKB1"
[ "$(db "SELECT length(envelope_cek) FROM batches WHERE id = $B")" = 384 ] || ik_fail "the batch's wrapped content key"
ik_start_ra
OFF=$(ik_login olivia "$OFFICER_PW")
s=$(ik_api olivia "$OFF" POST "/api/v1/batches/$B/download" "{\"passphrase\":\"$BPASS\"}")
[ "$s" = 200 ] || ik_fail "download: $s $(head -c 400 "$TMP/body")"
grep -qi "^X-Inkan-Included: $N" "$TMP/hdr" && grep -qi '^X-Inkan-Not-Included: 0' "$TMP/hdr" || ik_fail "download counts: $(cat "$TMP/hdr")"
[ "$(db "SELECT COUNT(*) FROM certificates WHERE key_envelope IS NOT NULL")" = 0 ] || ik_fail "sealed keys left after the download"
ik_ok "the download opens all $N keys: $ikb2 sealed as IKB2 before the first kill, $ikb1 as IKB1 after the restart"
