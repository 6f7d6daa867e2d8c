#!/usr/bin/env bash
# The RA's mail-signing key rotation (issue #7), driven by the scheduler's injectable clock
# (tool_mailrotate) against the real signer on SoftHSM, the real SQLite store and a real
# sendmail-compatible command (a script that keeps each message).  Asserted: at two thirds
# of its life the RA gets a new key and certificate from the signer (new serial, new key,
# key file still 0600, one mail_cert_rotated history entry); the mail before is signed with
# the old certificate and the mail after with the new one, and both pass
# `openssl smime -verify` against the root CA; with the signer gone the rotation fails, the
# old certificate stays, and the next mail still goes out signed.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
ik_start_signer
mkdir -p "$TMP/out"
cat > "$TMP/sink.sh" <<'SH'
#!/bin/sh
# a sendmail-compatible command for the test: each message into its own file
exec cat > "$1/$(date +%s%N).eml"
SH
chmod 755 "$TMP/sink.sh"
ik_ra_config 18443 "
[mail]
from = inkan-ra@example.jp
sendmail = $TMP/sink.sh $TMP/out
cert_days = 30"
# the store's schema comes with inkan-rad's first use of the database
printf '%s\n' "$ADMIN_PW" | inkan-rad add-officer -c "$TMP/ra.conf" --login admin --role administrator >/dev/null
tool_mailrotate "$TMP/ra.conf" "$SIGNER_PID" > "$TMP/rot.out" 2> "$TMP/rot.err" \
	|| ik_fail "tool_mailrotate: $(cat "$TMP/rot.err") $(cat "$TMP/rot.out")"
SIGNER_PID=   # stopped by the tool in phase C
cat "$TMP/rot.out"
SA=$(awk '$1=="serial" && $2=="A" {print $3}' "$TMP/rot.out")
SB=$(awk '$1=="serial" && $2=="B" {print $3}' "$TMP/rot.out")
SC=$(awk '$1=="serial" && $2=="C" {print $3}' "$TMP/rot.out")
[ -n "$SA" ] && [ -n "$SB" ] && [ "$SA" != "$SB" ] && [ "$SB" = "$SC" ] || ik_fail "serials A=$SA B=$SB C=$SC"
grep -q "^history mail_cert_rotated .*\"old_serial\":\"$(echo "$SA" | tr A-F a-f)\".*\"new_serial\":\"$(echo "$SB" | tr A-F a-f)\"" "$TMP/rot.out" \
	|| ik_fail "history entry: $(grep history "$TMP/rot.out")"
[ "$(stat -c %a "$TMP/mail-signing.key")" = 600 ] || ik_fail "new key not 0600"
[ "$(openssl x509 -in "$TMP/mail-signing.pem" -noout -pubkey | openssl sha256)" = "$(openssl pkey -in "$TMP/mail-signing.key" -pubout | openssl sha256)" ] || ik_fail "key and certificate files differ"
ik_ok "rotation at 2/3 of the life: new serial $SB (was $SA), new key 0600, one history entry"

n=0
for m in "$TMP"/out/*.eml; do
	subj=$(grep -m1 '^Subject:' "$m" | sed 's/^Subject: *//; s/\r$//')
	phase=${subj#phase }
	grep -q '^Content-Type: multipart/signed' "$m" || ik_fail "$subj: not multipart/signed"
	openssl smime -verify -in "$m" -CAfile "$TMP/ca/root-ca.pem" -signer "$TMP/signer.$phase.pem" \
		-out /dev/null 2>"$TMP/verr" || ik_fail "$subj does not verify: $(cat "$TMP/verr")"
	got=$(ik_serial "$TMP/signer.$phase.pem")
	case $phase in
	A) want=$SA ;; B) want=$SB ;; C) want=$SC ;; *) ik_fail "unexpected mail '$subj'" ;;
	esac
	[ "$got" = "$want" ] || ik_fail "$subj signed by $got, want $want"
	n=$((n + 1))
done
[ "$n" = 3 ] || ik_fail "$n mails, want 3"
ik_ok "before rotation signed by $SA, after by $SB, with the signer down still by $SB: all verify against the root CA"
