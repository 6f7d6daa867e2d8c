#!/usr/bin/env bash
# The RA killed (SIGKILL through gdb) in the middle of a user's own renewal download
# (POST /download/renew): A inside the transaction that adds the renewal and attaches its
# key (nothing of it may stay), then after the key was attached (B before the signer was
# asked, C after it issued but before the .p12 left).  After B and C the new certificate,
# whose key died with the process, is revoked (cessationOfOperation).  After B the queue
# settles it as an orphan, never made current, so the old certificate stays the device's
# current one; after C (made current by its download) the next attempt (the same link, or a
# new renewal request) resets the renewal: the old certificate, still valid, is its device's
# current one again.  Either way the same link and password give a working .p12.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mail.sh"
command -v gdb >/dev/null || ik_fail "gdb is not installed (firmware/debian-packages.txt)"
ik_mail_ra_start
RPW='Renew-Me-2027!'

cert() { # cert ID EXPR: a field of the certificate
	ik_api olivia "$OFF" GET "/api/v1/certificates/$1" >/dev/null
	ik_json "$2"
}
wait_state() { # wait_state ID STATE[/REASON]
	local st=
	for _ in $(seq 1 100); do
		st=$(cert "$1" 'd["state"] + ("/" + str(d["reason"]) if d.get("reason") is not None else "")')
		case "$st" in "$2"*) return 0 ;; esac
		sleep 0.1
	done
	ik_fail "certificate $1: state $st, want $2"
}
# user NAME: a user with a mail address and one device holding an active 20-day
# certificate (made from a CSR); sets OLD (its id)
user() {
	local s uid dev
	s=$(ik_api olivia "$OFF" POST /api/v1/users "{\"external_id\":\"$1\",\"email\":\"$1@example.jp\",\"lang\":\"en\"}")
	ik_expect 201 - "$s" "user $1"; uid=$(ik_json 'd["id"]')
	s=$(ik_api olivia "$OFF" POST "/api/v1/users/$uid/devices" '{"name":"pc"}'); dev=$(ik_json 'd["id"]')
	s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$dev/certificates" \
		"$(ik_csr_json "$1-pc" | python3 -c 'import json,sys; d=json.load(sys.stdin); d["validity_days"]=20; print(json.dumps(d))')")
	ik_expect 202 - "$s" "certificate for $1"; OLD=$(ik_json 'd["certificate_id"]')
	wait_state "$OLD" active
}
# link NAME: asks for a renewal and prints the link's login id from the mail
link() {
	local s m
	s=$(ik_req POST /download/renew/request "${J[@]}" --data "{\"user\":\"$1\",\"email\":\"$1@example.jp\",\"password\":\"$RPW\"}")
	ik_expect 202 - "$s" "renewal request $1"
	m=$(wait_mail renewal_ready "$1@example.jp")
	mail_text "$m" | sed -n 's/.*id=\(rn-[A-Za-z0-9]*\).*/\1/p' | sed -n 1p
}
renew() { # renew LOGIN OUT: prints the status
	curl -s --cacert "$TMP/tls.pem" -o "$2" -w '%{http_code}' -X POST "${J[@]}" \
		--data "{\"login\":\"$1\",\"secret\":\"$RPW\",\"device\":\"linux\"}" "$BASE/download/renew"
}
crash_at() { # crash_at FUNCTION LOGIN: the RA is killed when the renewal reaches FUNCTION
	ik_ra_kill_at "$1" renew "$2" "$TMP/crashed.out"
	[ "$(cat "$TMP/crashed.status")" = 200 ] && ik_fail "a .p12 was handed out although the RA died at $1"
	ik_start_ra "$MAILCONF"
	OFF=$(ik_login olivia "$OFFICER_PW")
}
# the certificate the interrupted renewal made: the newest of the old one's device
orphan_of() {
	local dev; dev=$(cert "$1" 'd["device_id"]')
	sqlite3 "$TMP/ra.sqlite" "select max(id) from certificates where device_id = $dev"
}

today=$(TZ=Asia/Tokyo date +%Y-%m-%d); later=$(TZ=Asia/Tokyo date -d '+30 days' +%Y-%m-%d)
s=$(ik_api admin "$ADM" PUT /api/v1/settings "{\"renewal_window_start\":\"$today\",\"renewal_window_end\":\"$later\"}")
ik_expect 200 - "$s" "open the renewal window"
user alice; OA=$OLD; LA=$(link alice)
user bob; OB=$OLD; LB=$(link bob)
user dave; OD=$OLD; LD=$(link dave)
[ -n "$LA" ] && [ -n "$LB" ] && [ -n "$LD" ] || ik_fail "no renewal links ($LA, $LB, $LD)"

# A: killed inside the transaction that adds the renewal and attaches its key: nothing of
# it stays, the old certificate stays current, the same link renews
crash_at ra_store_request_set_spki "$LD"
[ "$(orphan_of "$OD")" = "$OD" ] || ik_fail "A: a certificate row survived the rolled-back renewal"
[ "$(cert "$OD" 'd["state"]')/$(cert "$OD" 'd["current"]')" = active/True ] || ik_fail "A: old certificate: $(cat "$TMP/body")"
s=$(renew "$LD" "$TMP/dave.p12"); [ "$s" = 200 ] || ik_fail "A: retry: $s $(head -c 300 "$TMP/dave.p12")"
ik_ok "dave, killed at A (before the key was committed): nothing stayed, the same link renews"

for point in B C; do
	case $point in
	B) crash_at ra_queue_run_claimed "$LA"; O=$OA; L=$LA; who=alice ;;
	C) crash_at ra_p12_build "$LB"; O=$OB; L=$LB; who=bob ;;
	esac
	N=$(orphan_of "$O")
	[ "$N" != "$O" ] || ik_fail "$point: no new certificate was made"
	wait_state "$N" revoked/5
	wait_state "$O" active
	if [ "$point" = B ]; then
		# the queue settled the orphan after the restart: it never became current, so the
		# old certificate stays the device's current one
		[ "$(cert "$O" 'd["current"]')" = True ] || ik_fail "$point: the old certificate is no longer current"
	else
		# what the restart leaves: the device has no current certificate (the new one was
		# made current by its download, then revoked); the next attempt resets that
		[ "$(cert "$O" 'd["current"]')" = False ] || ik_fail "$point: the old certificate stayed current"
	fi
	ik_ok "$who, killed at $point: the orphaned renewal revoked (cessationOfOperation), the old certificate still valid"
	if [ "$point" = C ]; then
		# asking for a new link resets it too (no second mail within 10 minutes: the
		# unused link stays the one to use)
		s=$(ik_req POST /download/renew/request "${J[@]}" --data "{\"user\":\"$who\",\"email\":\"$who@example.jp\",\"password\":\"$RPW\"}")
		ik_expect 202 - "$s" "$point: renewal request after the restart"
		[ "$(cert "$O" 'd["current"]')" = True ] || ik_fail "$point: a new renewal request did not reset: $(cat "$TMP/body")"
		ik_ok "$who: a new renewal request makes the old certificate current again"
	fi

	s=$(renew "$L" "$TMP/$who.p12")
	[ "$s" = 200 ] || ik_fail "$point: retry of the renewal link: $s $(head -c 300 "$TMP/$who.p12")"
	printf '%s' "$RPW" >"$TMP/rpw"
	openssl pkcs12 -in "$TMP/$who.p12" -passin file:"$TMP/rpw" -nokeys -clcerts -out "$TMP/$who.pem" 2>/dev/null ||
		ik_fail "$point: the retried renewal's .p12 does not open"
	openssl x509 -in "$TMP/$who.pem" -noout -subject | grep -q "CN = $who-pc" || ik_fail "$point: renewed CN"
	N2=$(orphan_of "$O")
	[ "$N2" != "$N" ] && [ "$(cert "$N2" 'd["state"]')" = active ] && [ "$(cert "$N2" 'd["current"]')" = True ] ||
		ik_fail "$point: the retried renewal is not the device's current certificate"
	[ "$(cert "$O" 'd["state"]')" = active ] || ik_fail "$point: the old certificate not valid during the overlap"
	s=$(renew "$L" "$TMP/again.out"); [ "$s" = 410 ] || ik_fail "$point: the link works twice: $s"
	ik_ok "$who, killed at $point: the same link and password renew; the link is then spent"
done

# a renewal request while the device has its current certificate resets nothing
s=$(ik_req POST /download/renew/request "${J[@]}" --data '{"user":"alice","email":"alice@example.jp","password":"Renew-Me-2027!"}')
ik_expect 202 - "$s" "renewal request, nothing interrupted"
ik_api olivia "$OFF" GET "/api/v1/history?q=renewal_reset" >/dev/null
[ "$(ik_json 'sum(1 for e in d["items"] if e["op"] == "renewal_reset")')" = 1 ] ||
	ik_fail "history: want one renewal_reset entry (C's): $(head -c 400 "$TMP/body")"
ik_stop_ra
inkan-rad verify-history -c "$TMP/ra.conf" | grep -q '^OK' || ik_fail "history chain"
ik_ok "the history records both resets and its chain verifies"
