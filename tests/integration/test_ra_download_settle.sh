#!/usr/bin/env bash
# A download whose own ISSUE reached the signer but whose answer the RA never got (a proxy in
# front of the real signer swallows it: the connection stalls until signer_timeout, or
# closes).  The signer issued a certificate; the RA must end up knowing it: the request is
# parked, the queue sends it again under the same request id (the signer replays the same
# certificate), records it and revokes it (cessationOfOperation: its key died with the
# download), and the same link then gives a fresh certificate.  Also an officer's renewal
# with revoke_old whose download is interrupted (the RA killed): the orphan never revokes the
# old certificate, which stays valid and current.  And a user's own renewal whose answer is
# lost: the orphan is settled the same way and the same renewal link then renews.  Each
# settlement that makes a link work again mails its user once (download_settled, in the
# user's language, the URL and login id as the "issued" mail has them, never the secret).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mail.sh"
. "$(dirname "$0")/fake_signer.sh"
command -v gdb >/dev/null || ik_fail "gdb is not installed (firmware/debian-packages.txt)"
ik_setup ec-p256
ik_start_signer
ik_mail_setup
ik_ra_officers
# the RA reaches the signer through the proxy; the signer itself listens on real.sock
mv "$TMP/signer.sock" "$TMP/real.sock"
start_proxy() { # start_proxy MODE N: the next N ISSUE answers lost
	: >"$TMP/proxy.log"
	ik_fake_start drop_signer.py "$1" "$2" "$TMP/signer.sock" "$TMP/real.sock" "$TMP/proxy.log"
}
RA_OPTS="signer_timeout = 2
$MAILCONF"
start_proxy stall 0
ik_start_ra "$RA_OPTS"
OFF=$(ik_login olivia "$OFFICER_PW")
# the ledger's certificates beyond those made before the test proper (the RA's own mail
# signing certificate)
BASE_CERTS=$(sqlite3 "$TMP/ledger.sqlite" 'select count(*) from certs')
J=(-H 'Content-Type: application/json')
PW='Xy7!pass-word'
printf '%s' "$PW" >"$TMP/p12pw"

download() { # download LOGIN SECRET OUT: prints the status
	curl -s --cacert "$TMP/tls.pem" -o "$3" -w '%{http_code}' -X POST "${J[@]}" \
		--data "{\"login\":\"$1\",\"secret\":\"$2\",\"password\":\"$PW\",\"device\":\"linux\"}" \
		"$BASE/download/p12"
}
cert() { ik_api olivia "$OFF" GET "/api/v1/certificates/$1" >/dev/null; ik_json "$2"; }
wait_state() { # wait_state ID STATE/REASON
	local st=
	for _ in $(seq 1 300); do
		st=$(cert "$1" 'd["state"] + "/" + str(d.get("revocation_reason", d.get("reason", "")))')
		case "$st" in "$2"*) return 0 ;; esac
		sleep 0.1
	done
	ik_fail "certificate $1: state $st, want $2"
}
ledger_certs() { echo $(($(sqlite3 "$TMP/ledger.sqlite" 'select count(*) from certs') - BASE_CERTS)); }
ra_sql() { sqlite3 "$TMP/ra.sqlite" "$1"; }
newest_cert() { ra_sql "select max(id) from certificates where device_id = $1"; }
p12_serial() { # p12_serial FILE: the serial of the .p12's certificate, lowercase hex
	openssl pkcs12 -in "$1" -passin file:"$TMP/p12pw" -nokeys -clcerts 2>/dev/null |
		openssl x509 -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f' | sed 's/^00//'
}

s=$(ik_api olivia "$OFF" POST /api/v1/users '{"external_id":"u1","email":"u1@example.jp","lang":"ja"}')
ik_expect 201 - "$s" "user u1"
s=$(ik_api olivia "$OFF" POST "/api/v1/users/$(ik_json 'd["id"]')/devices" '{"name":"pc"}')
D=$(ik_json 'd["id"]')
settled_mails() { # settled_mails [RCPT]: how many download_settled mails (to RCPT) arrived
	local f n=0
	for f in "$SINK"/*.eml; do
		[ -f "$f" ] || continue
		grep -qE $'^X-Inkan-Notice: download_settled\r?$' "$f" || continue
		[ -z "${1:-}" ] || grep -qx "$1" "${f%.eml}.rcpt" || continue
		n=$((n + 1))
	done
	echo "$n"
}
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D/certificates" '{"common_name":"u1-pc","validity_days":30}')
ik_expect 201 - "$s" "issue u1-pc"
X=$(ik_json 'd["certificate"]["id"]'); L=$(ik_json 'd["download"]["login"]')
S=$(ik_json 'd["download"]["password"]')

# ---- 1. the signer issues, the answer is lost: the user is told to try again ----
start_proxy stall 2 # the download's answer, and the queue's first resend's
t0=$(date +%s)
s=$(download "$L" "$S" "$TMP/a.out")
t1=$(date +%s)
[ "$s" = 503 ] && grep -q 'did not answer in time' "$TMP/a.out" ||
	ik_fail "download whose answer was lost: $s $(head -c 300 "$TMP/a.out")"
[ $((t1 - t0)) -le 10 ] || ik_fail "the download took $((t1 - t0)) s"
grep -q '^dropped ' "$TMP/proxy.log" || ik_fail "the proxy lost no answer: $(cat "$TMP/proxy.log")"
[ "$(ledger_certs)" = 1 ] || ik_fail "the signer's ledger has $(ledger_certs) certificates, want 1: $(sqlite3 "$TMP/ledger.sqlite" "select request_id, issued from certs") $(ra_sql "select id, request_id, kind, state, cert_id from requests")"
RID=$(ra_sql "select request_id from requests where cert_id = $X and kind = 'issue'")
[ -n "$RID" ] || ik_fail "no request for certificate $X"
# at once again, while the queue settles it: the same answer, nothing spent
s=$(download "$L" "$S" "$TMP/b.out")
[ "$s" = 503 ] && grep -q 'did not answer in time' "$TMP/b.out" ||
	ik_fail "retry while the request is settled: $s $(head -c 300 "$TMP/b.out")"
ik_ok "ISSUE answer lost: 503 'try again in a few minutes' after $((t1 - t0)) s, the signer issued it, a retry meanwhile 503 too"

# ---- 2. the queue settles it: the RA records the signer's certificate and revokes it ----
wait_state "$X" revoked/5
XS=$(cert "$X" 'd["serial"]')
LS=$(sqlite3 "$TMP/ledger.sqlite" "select lower(hex(serial)) from certs where request_id = '$RID'" | sed 's/^00//')
[ -n "$XS" ] && [ "$XS" = "$LS" ] || ik_fail "the RA recorded serial '$XS', the signer issued '$LS' for $RID"
[ "$(ledger_certs)" = 1 ] || ik_fail "the resend made a second certificate: $(ledger_certs)"
[ "$(cert "$X" 'd["current"]')" = False ] || ik_fail "the orphan became its device's current certificate"
ik_api olivia "$OFF" GET "/api/v1/certificates?q=u1-pc" >/dev/null
grep -qi "$XS" "$TMP/body" || ik_fail "the certificate is not in the officer's list: $(head -c 300 "$TMP/body")"
for _ in $(seq 1 50); do
	curl -s --cacert "$TMP/tls.pem" -o "$TMP/crl.der" "$BASE/crl/issuing-ca.crl"
	openssl crl -inform DER -in "$TMP/crl.der" -noout -text 2>/dev/null | grep -qi "$XS" && break
	sleep 0.1
done
openssl crl -inform DER -in "$TMP/crl.der" -noout -text | grep -A5 -i "$XS" | grep -q 'Cessation Of Operation' ||
	ik_fail "the orphan is not on the CRL as cessationOfOperation"
ik_api olivia "$OFF" GET "/api/v1/history?q=$L" >/dev/null
grep -q '"download_parked"' "$TMP/body" || ik_fail "no download_parked in the history: $(head -c 400 "$TMP/body")"
ik_ok "settled: the RA holds the signer's certificate (same serial, one in the ledger), listed, revoked (cessationOfOperation) and on the CRL"
M=$(wait_mail download_settled u1@example.jp)
mail_text "$M" >"$TMP/m.txt"
grep -q "改めてダウンロード" "$TMP/m.txt" && grep -q "ログインID: *$L" "$TMP/m.txt" &&
	grep -qF "$BASE/download" "$TMP/m.txt" || ik_fail "the settled mail: $(cat "$TMP/m.txt")"
grep -qE $'^Content-Language: ja\r?$' "$M" || ik_fail "the settled mail is not in Japanese"
grep -qF "$S" "$M" "$TMP/m.txt" && ik_fail "the download secret in the settled mail"
sleep 1 # a second mail for the same settlement would be on its way by now
[ "$(settled_mails)" = 1 ] || ik_fail "$(settled_mails) settled mails, want 1"
ik_ok "settled: one mail to u1 (Japanese): the link works again, its URL and login id, no secret"

# ---- 3. the same link gives a fresh certificate, once ----
s=$(download "$L" "$S" "$TMP/c.p12")
[ "$s" = 200 ] || ik_fail "the same link after the settlement: $s $(head -c 300 "$TMP/c.p12")"
Y=$(newest_cert "$D")
[ "$Y" != "$X" ] && [ "$(cert "$Y" 'd["state"]')/$(cert "$Y" 'd["current"]')" = active/True ] ||
	ik_fail "the new certificate $Y: $(cat "$TMP/body")"
[ "$(p12_serial "$TMP/c.p12")" = "$(cert "$Y" 'd["serial"]')" ] || ik_fail "the .p12 does not hold certificate $Y"
[ "$(ledger_certs)" = 2 ] || ik_fail "ledger: $(ledger_certs) certificates, want 2"
s=$(download "$L" "$S" "$TMP/d.out"); [ "$s" = 410 ] || ik_fail "the link works twice: $s"
ik_api olivia "$OFF" GET "/api/v1/history?q=download_reoffer" >/dev/null
grep -q '"download_reoffer"' "$TMP/body" || ik_fail "no download_reoffer in the history"
ik_ok "the same link and password then give a working .p12 of a new certificate (active, current); the link is then spent"

# ---- 4. an officer's renewal with revoke_old, its download killed: the old one stays ----
renew_offer() { # sets N L2 S2: an officer's renewal of $1 with revoke_old, key at download
	local s
	s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$1/renew" '{"revoke_old":true}')
	ik_expect 201 - "$s" "renew $1 with revoke_old"
	N=$(ik_json 'd["certificate_id"]'); L2=$(ik_json 'd["download"]["login"]')
	S2=$(ik_json 'd["download"]["password"]')
}
renew_offer "$Y"
ik_ra_kill_at ra_queue_run_claimed download "$L2" "$S2" "$TMP/crashed.out"
ik_start_ra "$RA_OPTS"; OFF=$(ik_login olivia "$OFFICER_PW")
wait_state "$N" revoked/5
sleep 1 # anything else the completion queued runs meanwhile
[ "$(ra_sql "select count(*) from requests where cert_id = $Y and kind = 'revoke'")" = 0 ] ||
	ik_fail "the orphaned renewal queued the revocation of the old certificate"
[ "$(cert "$Y" 'd["state"]')/$(cert "$Y" 'd["current"]')" = active/True ] ||
	ik_fail "the old certificate after the orphaned renewal: $(cat "$TMP/body")"
s=$(download "$L2" "$S2" "$TMP/e.out"); [ "$s" = 409 ] || ik_fail "the killed download's link: $s"
[ "$(settled_mails)" = 1 ] || ik_fail "a settled mail for a download that was never parked: $(settled_mails)"
ik_ok "revoke_old renewal, its download killed: the orphan revoked (cessationOfOperation), the old certificate still active and current; no settled mail"

# ---- 5. the same renewal, its answer lost (the connection closed, twice: the RA's own
# resend too): the orphan settled without touching the old one, and the same link renews ----
start_proxy close 2
renew_offer "$Y"
s=$(download "$L2" "$S2" "$TMP/f.out")
[ "$s" = 503 ] && grep -q 'did not answer in time' "$TMP/f.out" ||
	ik_fail "renewal download whose answer was lost: $s $(head -c 300 "$TMP/f.out")"
[ "$(grep -c '^dropped ' "$TMP/proxy.log")" = 2 ] || ik_fail "proxy: $(cat "$TMP/proxy.log")"
wait_state "$N" revoked/5
[ "$(cert "$Y" 'd["state"]')/$(cert "$Y" 'd["current"]')" = active/True ] ||
	ik_fail "the old certificate after the lost renewal: $(cat "$TMP/body")"
for _ in $(seq 1 50); do
	s=$(download "$L2" "$S2" "$TMP/g.p12"); [ "$s" = 503 ] || break; sleep 0.2
done
[ "$s" = 200 ] || ik_fail "the same renewal link after the settlement: $s $(head -c 300 "$TMP/g.p12")"
mail_text "$(wait_mail download_settled u1@example.jp)" >"$TMP/m.txt" # (not piped: pipefail)
grep -q "ログインID: *$L2" "$TMP/m.txt" || ik_fail "no settled mail naming the renewal's login $L2: $(cat "$TMP/m.txt")"
Z=$(newest_cert "$D")
[ "$Z" != "$N" ] && [ "$(p12_serial "$TMP/g.p12")" = "$(cert "$Z" 'd["serial"]')" ] ||
	ik_fail "the renewal's .p12 does not hold the new certificate $Z"
[ "$(cert "$Z" 'd["state"]')/$(cert "$Z" 'd["current"]')" = active/True ] || ik_fail "the renewal $Z: $(cat "$TMP/body")"
wait_state "$Y" revoked/4
ik_ok "revoke_old renewal, answer lost: the orphan revoked, the old one kept until the same link renewed, then superseded"

# ---- 6. a user's own renewal (POST /download/renew), its answer lost ----
RPW='Renew-Me-2027!'
ADM=$(ik_login admin "$ADMIN_PW")
today=$(TZ=Asia/Tokyo date +%Y-%m-%d); later=$(TZ=Asia/Tokyo date -d '+30 days' +%Y-%m-%d)
s=$(ik_api admin "$ADM" PUT /api/v1/settings "{\"renewal_window_start\":\"$today\",\"renewal_window_end\":\"$later\"}")
ik_expect 200 - "$s" "open the renewal window"
start_proxy stall 0
s=$(ik_api olivia "$OFF" POST /api/v1/users '{"external_id":"carol","email":"carol@example.jp","lang":"en"}')
ik_expect 201 - "$s" "user carol"; CU=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/users/$CU/devices" '{"name":"pc"}'); CD=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$CD/certificates" \
	"$(ik_csr_json carol-pc | python3 -c 'import json,sys; d=json.load(sys.stdin); d["validity_days"]=20; print(json.dumps(d))')")
ik_expect 202 - "$s" "certificate for carol"; CO=$(ik_json 'd["certificate_id"]')
wait_state "$CO" active
s=$(ik_req POST /download/renew/request "${J[@]}" --data "{\"user\":\"carol\",\"email\":\"carol@example.jp\",\"password\":\"$RPW\"}")
ik_expect 202 - "$s" "renewal request carol"
LC=$(mail_text "$(wait_mail renewal_ready carol@example.jp)" | sed -n 's/.*id=\(rn-[A-Za-z0-9]*\).*/\1/p' | sed -n 1p)
[ -n "$LC" ] || ik_fail "no renewal link for carol"
renew() { # renew OUT: prints the status
	curl -s --cacert "$TMP/tls.pem" -o "$1" -w '%{http_code}' -X POST "${J[@]}" \
		--data "{\"login\":\"$LC\",\"secret\":\"$RPW\",\"device\":\"linux\"}" "$BASE/download/renew"
}
start_proxy stall 2
s=$(renew "$TMP/h.out")
[ "$s" = 503 ] && grep -q 'did not answer in time' "$TMP/h.out" ||
	ik_fail "own renewal whose answer was lost: $s $(head -c 300 "$TMP/h.out")"
CN=$(newest_cert "$CD")
s=$(renew "$TMP/i.out")
[ "$s" = 503 ] && grep -q 'did not answer in time' "$TMP/i.out" ||
	ik_fail "own renewal retried while settled: $s $(head -c 300 "$TMP/i.out")"
wait_state "$CN" revoked/5
[ "$(cert "$CO" 'd["state"]')/$(cert "$CO" 'd["current"]')" = active/True ] ||
	ik_fail "carol's certificate after the lost renewal: $(cat "$TMP/body")"
s=$(renew "$TMP/j.p12")
[ "$s" = 200 ] || ik_fail "the same renewal link after the settlement: $s $(head -c 300 "$TMP/j.p12")"
printf '%s' "$RPW" >"$TMP/p12pw"
CR=$(newest_cert "$CD")
[ "$CR" != "$CN" ] && [ "$(p12_serial "$TMP/j.p12")" = "$(cert "$CR" 'd["serial"]')" ] ||
	ik_fail "the renewal's .p12 does not hold the new certificate $CR"
[ "$(cert "$CR" 'd["current"]')" = True ] || ik_fail "carol's renewal is not current"
M=$(wait_mail download_settled carol@example.jp)
mail_text "$M" >"$TMP/m.txt"
grep -q "works again" "$TMP/m.txt" && grep -qF "$BASE/download/renew?id=$LC" "$TMP/m.txt" ||
	ik_fail "carol's settled mail: $(cat "$TMP/m.txt")"
grep -qE $'^Content-Language: en\r?$' "$M" || ik_fail "carol's settled mail is not in English"
grep -qF "$RPW" "$M" "$TMP/m.txt" && ik_fail "carol's renewal password in the settled mail"
ik_ok "own renewal, answer lost: 503 twice, the orphan revoked, the old one still current, the same link then renews; carol told in English, with her renewal link"

# ---- 7. the same through the web pages: the page says to try again, and later it works ----
UJ="$TMP/ujar"
page() { # page GET PATH: status; the page's CSRF token in $TMP/csrf
	local s
	s=$(ik_req GET "$1" -b "$UJ" -c "$UJ")
	sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$TMP/body" | sed -n 1p > "$TMP/csrf"
	echo "$s"
}
post() { # post PATH field=value...: the form with its CSRF token, in English
	local p=$1 args=() kv; shift
	for kv in "$@"; do args+=(--data-urlencode "$kv"); done
	ik_req POST "$p" -b "$UJ" -c "$UJ" -H 'Accept-Language: en' --data-urlencode "csrf=$(cat "$TMP/csrf")" "${args[@]}"
}
outcome() { sed -n 's/.*data-outcome="\([^"]*\)".*/\1/p' "$TMP/body" | sed -n 1p; }
page_download() { # page_download LOGIN SECRET: the status of the file step
	local s t
	s=$(page /download); s=$(post /download login="$1" secret="$2")
	[ "$s" = 200 ] || ik_fail "download page login: $s $(outcome)"
	t=$(sed -n 's/.*name="ticket" value="\([^"]*\)".*/\1/p' "$TMP/body")
	sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$TMP/body" | sed -n 1p > "$TMP/csrf"
	post /download/file ticket="$t" password="$PW" password2="$PW" device=linux
}
D2=$(ik_new_device olivia "$OFF" u2)
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D2/certificates" '{"common_name":"u2-pc","validity_days":30}')
ik_expect 201 - "$s" "issue u2-pc"
X2=$(ik_json 'd["certificate"]["id"]'); L3=$(ik_json 'd["download"]["login"]')
S3=$(ik_json 'd["download"]["password"]')
start_proxy stall 1
s=$(page_download "$L3" "$S3")
[ "$s" = 503 ] && [ "$(outcome)" = dl.retry ] || ik_fail "download page whose answer was lost: $s '$(outcome)'"
grep -q 'try again in a few minutes' "$TMP/body" || ik_fail "the page does not say to try again"
grep -q 'name="login"' "$TMP/body" || ik_fail "the page offers no way to try again"
wait_state "$X2" revoked/5
printf '%s' "$PW" >"$TMP/p12pw"
for _ in $(seq 1 50); do
	s=$(page_download "$L3" "$S3"); [ "$s" = 503 ] || break; sleep 0.2
done
[ "$s" = 200 ] || ik_fail "the download page after the settlement: $s '$(outcome)'"
[ "$(p12_serial "$TMP/body")" = "$(cert "$(newest_cert "$D2")" 'd["serial"]')" ] ||
	ik_fail "the page's .p12 does not hold the fresh certificate"
ik_ok "web pages: the lost answer gives the 'try again in a few minutes' page (dl.retry) with the login form; later the same credential downloads"

grep -q "$S" "$TMP/rad.log" && ik_fail "a download secret in the log"
grep -qF "$RPW" "$TMP/rad.log" && ik_fail "a renewal password in the log"
n="$(settled_mails u1@example.jp)/$(settled_mails carol@example.jp)/$(settled_mails)"
[ "$n" = 2/1/3 ] || ik_fail "settled mails (u1/carol/all): $n, want 2/1/3: one per settlement"
ik_ok "one settled mail per settlement: u1 twice (issue, renewal), carol once, none for the killed download or for u2 (no address)"
ik_stop_ra
inkan-rad verify-history -c "$TMP/ra.conf" | grep -q '^OK' || ik_fail "history chain"
ik_ok "the history chain verifies"
