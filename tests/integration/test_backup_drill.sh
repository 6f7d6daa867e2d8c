#!/usr/bin/env bash
# The backup drill: issue and revoke certificates through the RA, take an online backup
# with inkan-admin while both daemons run, wipe every file of the installation, refuse a
# wrong passphrase and a flipped byte, restore, start both daemons from the restored files,
# and show that every certificate, revocation and history entry is back, the CRL number
# goes on rising, a new issuance gets a serial never used before, and the history chain
# still verifies.
. "$(dirname "$0")/lib.sh"
export PATH="$INKAN_BUILD/admin:$PATH"
ik_setup ec-p256
ik_start_signer
ik_ra_officers
ik_start_ra
OFF=$(ik_login olivia "$OFFICER_PW")
AUD=$(ik_login carol "$AUDITOR_PW")

# issue_csr DEVICE CN: a certificate from a CSR through the queue; sets CID
issue_csr() {
	local s rid
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
		-keyout "$TMP/$2.key" -out "$TMP/$2.csr" 2>/dev/null
	s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$1/certificates" \
		"$(python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' "$TMP/$2.csr")")
	ik_expect 202 - "$s" "issue $2"
	rid=$(ik_json 'd["request_id"]'); CID=$(ik_json 'd["certificate_id"]')
	for _ in $(seq 1 100); do
		s=$(ik_api carol "$AUD" GET "/api/v1/requests/$rid")
		[ "$(ik_json 'd["state"]')" = done ] && return 0
		sleep 0.05
	done
	ik_fail "request for $2 not done: $(cat "$TMP/body")"
}
crl_fetch() { # crl_fetch FILE: the current CRL from the RA, DER
	curl -sf --cacert "$TMP/tls.pem" -o "$1" "$BASE/crl/issuing-ca.crl" || ik_fail "CRL download"
}
crl_number() { openssl crl -inform DER -in "$1" -noout -crlnumber | cut -d= -f2 | sed "s/^0x//"; }
crl_serials() { openssl crl -inform DER -in "$1" -noout -text | awk '/Serial Number:/ {print tolower($3)}' | sort; }
wait_on_crl() { # wait_on_crl SERIAL
	for _ in $(seq 1 100); do
		crl_fetch "$TMP/crl.der"
		crl_serials "$TMP/crl.der" | grep -qx "$1" && return 0
		sleep 0.05
	done
	ik_fail "serial $1 not on the CRL"
}

# ---- the appliance in use: users, devices, certificates, revocations ----
s=$(ik_api olivia "$OFF" POST /api/v1/users '{"external_id":"drill-1","email":"drill@example.jp"}')
ik_expect 201 - "$s" "add user"; U=$(ik_json 'd["id"]')
CIDS=()
for n in 1 2 3 4; do
	s=$(ik_api olivia "$OFF" POST "/api/v1/users/$U/devices" "{\"name\":\"dev$n\"}")
	ik_expect 201 - "$s" "add device $n"
	issue_csr "$(ik_json 'd["id"]')" "drill-$n"
	CIDS+=("$CID")
done
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/${CIDS[0]}/revoke" '{"reason":"keyCompromise"}'); ik_expect 202 - "$s" "revoke 1"
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/${CIDS[1]}/suspend" '{}'); ik_expect 202 - "$s" "suspend 2"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/${CIDS[0]}"); SER_REVOKED=$(ik_json 'd["serial"]')
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/${CIDS[1]}"); SER_HELD=$(ik_json 'd["serial"]')
wait_on_crl "$SER_REVOKED"
wait_on_crl "$SER_HELD"
crl_fetch "$TMP/crl-before.der"
CRLNUM_BEFORE=$(crl_number "$TMP/crl-before.der")
ik_ok "4 certificates issued, one revoked and one suspended; CRL number $CRLNUM_BEFORE lists both"

# what must come back (taken before the backup; the backup may only add to it)
SAFE="$TMP/safe"
mkdir -m 0700 "$SAFE"
q() { sqlite3 -readonly "$1" "$2"; }
q "$TMP/ra.sqlite" "SELECT id, serial, state, reason, hex(sha256) FROM certificates ORDER BY id" > "$SAFE/certs.before"
q "$TMP/ra.sqlite" "SELECT id, actor, op, target, hex(hash) FROM history ORDER BY id" > "$SAFE/history.before"
# the ledger keeps the DER integer's bytes (a leading 00 when the top bit is set); the RA not
ledger_serials() { q "$TMP/ledger.sqlite" "SELECT lower(hex(serial)) FROM intents ORDER BY 1" | sed 's/^\(00\)*//'; }
ledger_serials > "$SAFE/serials.before"
grep -qx "$SER_REVOKED" "$SAFE/serials.before" || ik_fail "RA and ledger serials not comparable"
q "$TMP/ledger.sqlite" "SELECT lower(hex(serial)), kind, reason FROM events ORDER BY id" > "$SAFE/events.before"
[ "$(wc -l < "$SAFE/certs.before")" = 4 ] && [ "$(wc -l < "$SAFE/serials.before")" -ge 4 ] \
	|| ik_fail "unexpected state before the backup: $(cat "$SAFE/certs.before")"
cp "$TMP/tls.pem" "$SAFE/ra-trust.pem"

# ---- the online backup, both daemons running ----
(umask 077; printf 'drill passphrase: correct horse battery\n' > "$SAFE/pass")
(umask 077; printf 'not the drill passphrase\n' > "$SAFE/wrong")
BK="$SAFE/inkan.backup"
printf 'short\n' | inkan-admin backup -o "$SAFE/short.backup" --passphrase-fd 0 --signer-config "$TMP/signer.conf" \
	--ra-config "$TMP/ra.conf" 2>"$TMP/err" && ik_fail "a 5-character passphrase was accepted"
grep -q 'at least 12 characters' "$TMP/err" || ik_fail "short passphrase message: $(cat "$TMP/err")"
chmod 0644 "$SAFE/pass"
inkan-admin backup -o "$BK" --passphrase-file "$SAFE/pass" --signer-config "$TMP/signer.conf" \
	--ra-config "$TMP/ra.conf" 2>"$TMP/err" && ik_fail "a world-readable passphrase file was accepted"
grep -q 'mode 0400 or 0600' "$TMP/err" || ik_fail "passphrase file mode message: $(cat "$TMP/err")"
chmod 0400 "$SAFE/pass"
inkan-admin backup -o "$BK" --passphrase-fd 3 3<"$SAFE/pass" --kdf-cost 14 \
	--signer-config "$TMP/signer.conf" --ra-config "$TMP/ra.conf" --include "$TMP/ca" >"$TMP/out" \
	|| ik_fail "backup failed: $(cat "$TMP/out")"
[ "$(stat -c %a "$BK")" = 600 ] || ik_fail "archive mode $(stat -c %a "$BK")"
inkan-admin backup -o "$BK" --passphrase-fd 3 3<"$SAFE/pass" --signer-config "$TMP/signer.conf" \
	--ra-config "$TMP/ra.conf" 2>"$TMP/err" && ik_fail "an existing archive was overwritten"
grep -q 'refusing to overwrite' "$TMP/err" || ik_fail "overwrite message: $(cat "$TMP/err")"
for secret in "$(cat "$TMP/hsm/user.pin")" "PRIVATE KEY" "SQLite format 3" "drill-1"; do
	grep -aqF "$secret" "$BK" && ik_fail "the archive holds '$secret' in clear"
done
inkan-admin list -i "$BK" --passphrase-file "$SAFE/pass" > "$TMP/list" || ik_fail "list failed"
for f in "$TMP/ra.sqlite" "$TMP/ledger.sqlite"; do
	grep -qE "^sqlite .* $f\$" "$TMP/list" || ik_fail "$f is not a snapshot in the archive: $(cat "$TMP/list")"
done
for f in "$TMP/signer.conf" "$TMP/ra.conf" "$TMP/hsm/user.pin" "$TMP/hsm/softhsm2.conf" "$TMP/tls.key" \
	"$TMP/ca/issuing-ca.pem" "$TMP/ca/root-ca.pem"; do
	grep -qE "^file .* $f\$" "$TMP/list" || ik_fail "$f is not in the archive"
done
grep -qE "^file .* $TMP/hsm/tokens/.*\.object\$" "$TMP/list" || ik_fail "no token objects in the archive"
ik_ok "online backup: $(wc -l < "$TMP/list") entries, two SQLite snapshots, the token, configs and keys; nothing in clear; weak or exposed passphrases refused"

# ---- the disaster: every file of the installation is gone ----
ik_stop_ra
ik_stop_signer
find "$TMP" -mindepth 1 -maxdepth 1 ! -name safe -exec rm -rf {} +
[ -z "$(ls -A "$TMP" | grep -v '^safe$')" ] || ik_fail "wipe left: $(ls -A "$TMP")"

# a wrong passphrase and a flipped byte are refused, and nothing is written
rc=0; inkan-admin restore -i "$BK" --passphrase-file "$SAFE/wrong" 2>"$TMP/err" || rc=$?
[ "$rc" = 3 ] && grep -q 'wrong passphrase' "$TMP/err" || ik_fail "wrong passphrase: rc $rc: $(cat "$TMP/err")"
size=$(stat -c %s "$BK")
for off in $((size / 2)) $((size - 1)) 100; do
	cp "$BK" "$SAFE/flipped"
	python3 -c 'import sys; p, o = sys.argv[1], int(sys.argv[2]); b = bytearray(open(p, "rb").read()); b[o] ^= 0x01; open(p, "wb").write(b)' "$SAFE/flipped" "$off"
	rc=0; inkan-admin restore -i "$SAFE/flipped" --passphrase-file "$SAFE/pass" 2>"$TMP/err" || rc=$?
	[ "$rc" = 4 ] && grep -q 'altered or is damaged' "$TMP/err" \
		|| ik_fail "flipped byte at $off of $size: rc $rc: $(cat "$TMP/err")"
done
head -c $((size - 20)) "$BK" > "$SAFE/truncated"
inkan-admin restore -i "$SAFE/truncated" --passphrase-file "$SAFE/pass" 2>"$TMP/err" && ik_fail "a truncated archive was restored"
rm -f "$SAFE/flipped" "$SAFE/truncated" "$TMP/err"
[ -z "$(ls -A "$TMP" | grep -v '^safe$')" ] || ik_fail "a refused restore wrote: $(ls -A "$TMP")"
ik_ok "wrong passphrase (exit 3) and a flipped byte in the body, the tag or the header (exit 4) refused; nothing written"

# ---- restore onto the empty tree ----
inkan-admin restore -i "$BK" --passphrase-fd 3 3<"$SAFE/pass" >"$SAFE/out" || ik_fail "restore failed: $(cat "$SAFE/out")"
[ "$(stat -c %a "$TMP/hsm/user.pin")" = 400 ] || ik_fail "PIN file mode $(stat -c %a "$TMP/hsm/user.pin")"
[ "$(stat -c %a "$TMP/hsm")" = 700 ] || ik_fail "token directory mode $(stat -c %a "$TMP/hsm")"
[ "$(stat -c %a "$TMP/tls.key")" = 600 ] || ik_fail "TLS key mode $(stat -c %a "$TMP/tls.key")"
inkan-admin restore -i "$BK" --passphrase-fd 3 3<"$SAFE/pass" 2>"$SAFE/err" && ik_fail "restore over existing files"
grep -q 'exists; restore writes a fresh tree' "$SAFE/err" || ik_fail "second restore message: $(cat "$SAFE/err")"
cmp -s "$SAFE/ra-trust.pem" "$TMP/tls.pem" || ik_fail "RA TLS certificate differs"
inkan-signerd -c "$TMP/signer.conf" --check-config >/dev/null || ik_fail "restored signer config does not validate"
ik_ok "restored: modes kept (PIN 0400, token dir 0700, TLS key 0600); a second restore refuses to overwrite"

# ---- both daemons from the restored files ----
ik_start_signer
port=$(awk -F' = ' '$1 == "port" {print $2}' "$TMP/ra.conf")
inkan-rad -c "$TMP/ra.conf" >>"$TMP/rad.log" 2>&1 &
RAD_PID=$!
BASE="https://127.0.0.1:$port"
for _ in $(seq 1 100); do
	curl -sf --cacert "$TMP/tls.pem" "$BASE/healthz" >/dev/null 2>&1 && break
	kill -0 "$RAD_PID" 2>/dev/null || ik_fail "restored RA exited: $(tail -n 5 "$TMP/rad.log")"
	sleep 0.1
done
OFF=$(ik_login olivia "$OFFICER_PW")
AUD=$(ik_login carol "$AUDITOR_PW")

q "$TMP/ra.sqlite" "SELECT id, serial, state, reason, hex(sha256) FROM certificates ORDER BY id" > "$SAFE/certs.after"
cmp -s "$SAFE/certs.before" "$SAFE/certs.after" || ik_fail "certificates differ: $(diff "$SAFE/certs.before" "$SAFE/certs.after")"
q "$TMP/ra.sqlite" "SELECT id, actor, op, target, hex(hash) FROM history ORDER BY id" > "$SAFE/history.after"
head -n "$(wc -l < "$SAFE/history.before")" "$SAFE/history.after" | cmp -s - "$SAFE/history.before" \
	|| ik_fail "history entries differ after restore"
q "$TMP/ledger.sqlite" "SELECT lower(hex(serial)), kind, reason FROM events ORDER BY id" | cmp -s - "$SAFE/events.before" \
	|| ik_fail "ledger revocation events differ"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/${CIDS[0]}")
[ "$(ik_json 'd["state"]')" = revoked ] && [ "$(ik_json 'd["serial"]')" = "$SER_REVOKED" ] || ik_fail "revoked certificate: $(cat "$TMP/body")"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/${CIDS[1]}")
[ "$(ik_json 'd["state"]')" = suspended ] || ik_fail "suspended certificate: $(cat "$TMP/body")"
s=$(ik_api carol "$AUD" GET /api/v1/history/verify); [ "$(ik_json 'd["intact"]')" = True ] || ik_fail "history chain: $(cat "$TMP/body")"
crl_fetch "$TMP/crl-restored.der"
crl_serials "$TMP/crl-restored.der" | grep -qx "$SER_REVOKED" || ik_fail "revoked serial not on the CRL after restore"
crl_serials "$TMP/crl-restored.der" | grep -qx "$SER_HELD" || ik_fail "held serial not on the CRL after restore"
[ $((16#$(crl_number "$TMP/crl-restored.der"))) -ge $((16#$CRLNUM_BEFORE)) ] || ik_fail "CRL number went back"
ik_ok "every certificate, revocation, ledger event and history entry is back; the chain verifies; the CRL lists both"

# ---- and the appliance goes on: a revocation makes a higher CRL number, new serials are fresh ----
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/${CIDS[2]}/revoke" '{"reason":"superseded"}'); ik_expect 202 - "$s" "revoke after restore"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/${CIDS[2]}"); SER3=$(ik_json 'd["serial"]')
wait_on_crl "$SER3"
CRLNUM_AFTER=$(crl_number "$TMP/crl.der")
[ $((16#$CRLNUM_AFTER)) -gt $((16#$CRLNUM_BEFORE)) ] || ik_fail "CRL number $CRLNUM_AFTER not above $CRLNUM_BEFORE"
openssl crl -inform DER -in "$TMP/crl.der" -CAfile "$TMP/ca/bundle.pem" -noout 2>&1 | grep -q 'verify OK' \
	|| ik_fail "the CRL signed after restore does not verify"
s=$(ik_api olivia "$OFF" POST "/api/v1/users/$U/devices" '{"name":"after-restore"}'); ik_expect 201 - "$s" "device after restore"
issue_csr "$(ik_json 'd["id"]')" "drill-after"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$CID"); NEWSER=$(ik_json 'd["serial"]')
[ "$(ik_json 'd["state"]')" = active ] || ik_fail "new certificate: $(cat "$TMP/body")"
grep -qx "$NEWSER" "$SAFE/serials.before" && ik_fail "serial $NEWSER was used before the backup"
[ "$(ledger_serials | grep -cx "$NEWSER")" = 1 ] || ik_fail "new serial $NEWSER not exactly once in the ledger"
[ "$(ledger_serials | wc -l)" -gt "$(wc -l < "$SAFE/serials.before")" ] || ik_fail "the ledger did not grow"
[ "$(q "$TMP/ra.sqlite" "SELECT max(id) FROM certificates")" -gt "$(tail -n 1 "$SAFE/certs.before" | cut -d'|' -f1)" ] \
	|| ik_fail "certificate ids did not continue"
ik_ok "after restore: CRL number $CRLNUM_BEFORE -> $CRLNUM_AFTER; new serial $NEWSER never used before"

ik_stop_ra
inkan-rad verify-history -c "$TMP/ra.conf" | grep -q '^OK' || ik_fail "offline history verification after restore"
[ "$(q "$TMP/ra.sqlite" "SELECT count(*) FROM history")" -gt "$(wc -l < "$SAFE/history.before")" ] \
	|| ik_fail "history did not grow after restore"
ik_ok "history chain (old and new entries) verifies offline with inkan-rad verify-history"
