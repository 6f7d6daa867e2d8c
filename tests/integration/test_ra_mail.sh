#!/usr/bin/env bash
# Notices by mail end to end with real mail software on loopback: msmtp (Debian) is the
# RA's sendmail command and delivers over SMTP to an aiosmtpd server (Debian's
# python3-aiosmtpd) that writes each message to a folder.  Asserted: the RA's mail-signing
# key (0600, beside ra.conf) and the certificate the signer issued it (usage = email); every
# mail is S/MIME-signed and `openssl smime -verify -CAfile root` accepts it; content,
# language (ja/en per recipient), recipients; the revocation TSV attached to a renewal's
# download notice; the renewal window and the users' own renewal through the download
# endpoint with the confirmed switch; no password or PIN in any mail; and a sendmail that
# fails (SMTP server down) is retried with backoff and the mail delivered exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mail.sh"
ik_mail_ra_start
s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"notify_addresses":"ra-officers@example.jp, second@example.jp","notify_lang":"en","pin_distributor_addresses":"pins@example.jp"}')
ik_expect 200 - "$s" "notification settings"
s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"notify_addresses":"not an address"}')
ik_expect 400 bad_field "$s" "bad notify address refused"

# ---- the mail-signing identity ----
for _ in $(seq 1 100); do [ -s "$TMP/mail-signing.pem" ] && break; sleep 0.1; done
[ -s "$TMP/mail-signing.pem" ] || ik_fail "no mail-signing certificate: $(tail -n 5 "$TMP/rad.log")"
[ "$(stat -c %a "$TMP/mail-signing.key")" = 600 ] || ik_fail "signing key not 0600"
openssl x509 -in "$TMP/mail-signing.pem" -noout -ext subjectAltName | grep -q 'email:inkan-ra@example.jp' || ik_fail "signing certificate SAN"
openssl verify -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" -purpose smimesign "$TMP/mail-signing.pem" >/dev/null || ik_fail "signing certificate not for S/MIME"
[ "$(openssl x509 -in "$TMP/mail-signing.pem" -noout -pubkey | openssl sha256)" = "$(openssl pkey -in "$TMP/mail-signing.key" -pubout | openssl sha256)" ] || ik_fail "key and certificate differ"
ik_ok "first start: the RA made its mail key (0600 beside ra.conf) and the signer issued its S/MIME certificate"

# ---- helpers over the mail folder ----
mj() { "$PY" "$INKAN_SRC/tests/integration/mail_show.py" "$1" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$2"; }
verify_mail() {
	openssl smime -verify -in "$1" -CAfile "$TMP/ca/root-ca.pem" -out "$TMP/verified" 2>"$TMP/verr" \
		|| ik_fail "openssl smime -verify refused $1: $(cat "$TMP/verr")"
	[ "$(mj "$1" 'd["signed"]')" = True ] || ik_fail "$1 is not multipart/signed"
}

# ---- users, issuance: "issued" to the user in the user's language ----
s=$(ik_api olivia "$OFF" POST /api/v1/users '{"external_id":"taro","email":"taro@example.jp","display_name":"山田 太郎","lang":"ja"}')
ik_expect 201 - "$s" "user taro"; U1=$(ik_json 'd["id"]')
[ "$(ik_json 'd["lang"]')" = ja ] || ik_fail "user lang"
s=$(ik_api olivia "$OFF" POST /api/v1/users '{"external_id":"alice","email":"alice@example.jp","display_name":"Alice","lang":"en"}')
ik_expect 201 - "$s" "user alice"; U2=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST /api/v1/users '{"external_id":"x","lang":"fr"}')
ik_expect 400 bad_field "$s" "unknown language refused"
s=$(ik_api olivia "$OFF" POST "/api/v1/users/$U1/devices" '{"name":"laptop"}'); D1=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/users/$U2/devices" '{"name":"phone"}'); D2=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D1/certificates" '{"common_name":"taro-laptop","validity_days":300}')
ik_expect 201 - "$s" "issue taro"; C1=$(ik_json 'd["certificate"]["id"]'); L1=$(ik_json 'd["download"]["login"]'); P1=$(ik_json 'd["download"]["password"]')
m=$(wait_mail issued taro@example.jp); verify_mail "$m"
[ "$(mj "$m" 'd["lang"]')" = ja ] || ik_fail "issued mail to taro not in Japanese"
mj "$m" 'd["subject"]' | grep >/dev/null '証明書（taro-laptop）をダウンロードできます' || ik_fail "issued subject: $(mj "$m" 'd["subject"]')"
mj "$m" 'd["text"]' | grep >/dev/null "ログインID: *$L1" || ik_fail "login id not in the issued mail"
mj "$m" 'd["text"]' | grep >/dev/null "$BASE/download" || ik_fail "URL not in the issued mail"
[ "$(mj "$m" 'd["to"]')" = taro@example.jp ] || ik_fail "issued To"
[ "$(mj "$m" 'd["from"]')" = inkan-ra@example.jp ] || ik_fail "issued From"
ik_ok "issued: to the user, in Japanese, URL and login id, signed and verified"

s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D2/certificates" '{"common_name":"alice-phone","validity_days":20,"credential":"pin"}')
ik_expect 201 - "$s" "issue alice (PIN)"; C2=$(ik_json 'd["certificate"]["id"]'); L2=$(ik_json 'd["download"]["login"]'); P2=$(ik_json 'd["download"]["pin"]')
m=$(wait_mail issued_pin alice@example.jp); verify_mail "$m"
[ "$(mj "$m" 'd["lang"]')" = en ] || ik_fail "issued_pin not in English"
mj "$m" 'd["subject"]' | grep >/dev/null 'Your certificate for alice-phone is ready' || ik_fail "issued_pin subject"
mj "$m" 'd["text"]' | grep >/dev/null "download?id=$L2" || ik_fail "retrieval URL not in the user mail: $L2 $(mj "$m" 'd["text"]')"
m=$(wait_mail pin_ready pins@example.jp); verify_mail "$m"
mj "$m" 'd["text"]' | grep >/dev/null "download?id=$L2" || ik_fail "retrieval URL not in pin_ready"
ik_ok "PIN credential: the user and the PIN distributor are told, with the retrieval URL"

# ---- downloads: "downloaded" to the officers (English, by setting) ----
P12PW='Xy7!pass-word'
s=$(ik_req POST /download/p12 "${J[@]}" --data "{\"login\":\"$L1\",\"secret\":\"$P1\",\"password\":\"$P12PW\",\"device\":\"linux\"}")
[ "$s" = 200 ] || ik_fail "taro download: $s $(cat "$TMP/body")"
s=$(ik_req POST /download/p12 "${J[@]}" --data "{\"login\":\"$L2\",\"secret\":\"$P2\",\"password\":\"$P12PW\",\"device\":\"linux\"}")
[ "$s" = 200 ] || ik_fail "alice download: $s"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$C1"); SER1=$(ik_json 'd["serial"]')
m=$(wait_mail downloaded ra-officers@example.jp); verify_mail "$m"
m2=$(wait_mail downloaded ra-officers@example.jp); verify_mail "$m2"
grep -qx second@example.jp "${m%.eml}.rcpt" || ik_fail "second officer address not a recipient"
[ "$(mj "$m" 'd["lang"]')" = en ] || ik_fail "officer mail not in English"
mj "$m" 'd["subject"]' | grep >/dev/null '^\[Inkan\] Certificate downloaded: ' || ik_fail "downloaded subject"
grep -q "^Subject: .*($SER1)" "$m" "$m2" || ik_fail "taro's serial in no downloaded mail"
t=$(mj "$m" 'd["text"]'; mj "$m2" 'd["text"]')
echo "$t" | grep >/dev/null "Serial: *$SER1" || ik_fail "serial in downloaded: $t"
echo "$t" | grep >/dev/null 'Subject DN: *CN=taro-laptop,O=Inkan Test,C=JP' || ik_fail "subject DN in downloaded: $t"
ik_ok "downloaded: both officers told, subject DN and serial"

# ---- officer renewal: downloaded_renewal with the revocation TSV for the old serial ----
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$C1/renew" '{}')
ik_expect 201 - "$s" "renew taro"; C1N=$(ik_json 'd["certificate_id"]'); L1N=$(ik_json 'd["download"]["login"]'); P1N=$(ik_json 'd["download"]["password"]')
m=$(wait_mail issued taro@example.jp)
mj "$m" 'd["text"]' | grep >/dev/null "$L1N" || ik_fail "renewal credential login not mailed: $L1N $(mj "$m" 'd["text"]') $(cat "$TMP/body")"
s=$(ik_req POST /download/p12 "${J[@]}" --data "{\"login\":\"$L1N\",\"secret\":\"$P1N\",\"password\":\"$P12PW\",\"device\":\"linux\"}")
[ "$s" = 200 ] || ik_fail "renewal download: $s $(cat "$TMP/body")"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$C1N"); SER1N=$(ik_json 'd["serial"]')
m=$(wait_mail downloaded_renewal ra-officers@example.jp); verify_mail "$m"
[ "$(mj "$m" 'len(d["attachments"])')" = 1 ] || ik_fail "no attachment"
[ "$(mj "$m" 'd["attachments"][0]["name"]')" = "revoke-$SER1.tsv" ] || ik_fail "TSV name: $(mj "$m" 'd["attachments"][0]["name"]')"
[ "$(mj "$m" 'd["attachments"][0]["type"]')" = text/tab-separated-values ] || ik_fail "TSV type"
[ "$(mj "$m" 'd["attachments"][0]["text"]')" = "$(printf 'serial\treason\tnote\n%s\tsuperseded\trenewed as %s' "$SER1" "$SER1N")" ] \
	|| ik_fail "TSV content: $(mj "$m" 'd["attachments"][0]["text"]')"
mj "$m" 'd["attachments"][0]["text"]' > "$TMP/revoke.tsv"
s=$(ik_req POST "/api/v1/bulk?kind=revoke&dry_run=1" -b "$TMP/jar.olivia" -H "X-CSRF-Token: $OFF" -H 'Content-Type: text/tab-separated-values' --data-binary @"$TMP/revoke.tsv")
[ "$s" = 200 ] || ik_fail "the attached TSV is not a good revocation file: $s $(cat "$TMP/body")"
mj "$m" 'd["text"]' | grep >/dev/null "Replaces: *$SER1" || ik_fail "old serial not named: $SER1 $(mj "$m" 'd["text"]')"
ik_ok "renewal downloaded: officers get the revocation TSV for the old serial (a valid bulk revoke file)"

# ---- the officer confirms the switch: the old one is revoked as superseded ----
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$C1/switch"); ik_expect 409 not_renewal "$s" "switch on the old certificate"
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$C1N/switch"); ik_expect 202 - "$s" "switch"
m=$(wait_mail revoked taro@example.jp); verify_mail "$m"
[ "$(mj "$m" 'd["lang"]')" = ja ] || ik_fail "revoked to taro not Japanese"
mj "$m" 'd["text"]' | grep >/dev/null 'superseded' || ik_fail "reason in revoked"
mj "$m" 'd["text"]' | grep >/dev/null "$SER1" || ik_fail "serial in revoked"
m=$(wait_mail revoked ra-officers@example.jp)
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$C1"); [ "$(ik_json 'd["state"]')" = revoked ] || ik_fail "old not revoked"
[ "$(ik_json 'd["reason"]')" = 4 ] || ik_fail "old not superseded"
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$C1N/switch"); ik_expect 409 state "$s" "second switch"
ik_ok "switch confirmed by the officer: old certificate revoked (superseded); user and officers told"

# ---- suspend and resume ----
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$C2/suspend"); ik_expect 202 - "$s" "suspend"
m=$(wait_mail suspended alice@example.jp); verify_mail "$m"
mj "$m" 'd["text"]' | grep >/dev/null certificateHold || ik_fail "suspended reason"
for _ in $(seq 1 50); do s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$C2/resume"); [ "$s" = 202 ] && break; sleep 0.1; done
ik_expect 202 - "$s" "resume"
m=$(wait_mail resumed alice@example.jp); verify_mail "$m"
m=$(wait_mail resumed ra-officers@example.jp)
ik_ok "suspended / resumed: told to the user and the officers"

# ---- the renewal window and the users' own renewal ----
today=$(TZ=Asia/Tokyo date +%Y-%m-%d); later=$(TZ=Asia/Tokyo date -d '+30 days' +%Y-%m-%d)
s=$(ik_req GET /download/renewal-window); ik_expect 200 - "$s" "window (unset)"
[ "$(ik_json 'd["open"]')" = False ] || ik_fail "window open while unset"
s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"renewal_window_start":"2026-13-01"}'); ik_expect 400 bad_field "$s" "bad window date"
s=$(ik_api admin "$ADM" PUT /api/v1/settings "{\"renewal_window_start\":\"$today\",\"renewal_window_end\":\"$later\"}")
ik_expect 200 - "$s" "set the window"
s=$(ik_req GET /download/renewal-window); ik_expect 200 - "$s" "window"
[ "$(ik_json 'd["open"]')" = True ] || ik_fail "window not open: $(cat "$TMP/body")"
[ "$(ik_json 'd["end"]')" = "$later" ] || ik_fail "window end"
s=$(ik_api carol "$AUD" GET /api/v1/renewal-window); ik_expect 200 - "$s" "officer window"
[ "$(ik_json 'd["eligible"]')" = 1 ] || ik_fail "eligible count (alice's 20-day certificate only): $(cat "$TMP/body")"
RPW='Renew-Me-2027!'
s=$(ik_req POST /download/renew/request "${J[@]}" --data "{\"user\":\"alice\",\"email\":\"mallory@example.jp\",\"password\":\"$RPW\"}")
ik_expect 202 - "$s" "renewal request, wrong address"
reply_wrong=$(cat "$TMP/body")
s=$(ik_req POST /download/renew/request "${J[@]}" --data "{\"user\":\"alice\",\"email\":\"Alice@Example.jp\",\"password\":\"$RPW\"}")
ik_expect 202 - "$s" "renewal request"
[ "$(cat "$TMP/body")" = "$reply_wrong" ] || ik_fail "the reply tells a match from a miss"
s=$(ik_req POST /download/renew/request "${J[@]}" --data '{"user":"alice","email":"alice@example.jp","password":"short"}')
ik_expect 400 password_policy "$s" "weak renewal password"
m=$(wait_mail renewal_ready alice@example.jp); verify_mail "$m"
RL=$(mj "$m" 'd["text"]' | sed -n 's/.*id=\(rn-[A-Z0-9]*\).*/\1/p' | sed -n 1p)
[ -n "$RL" ] || ik_fail "no renewal link: $(mj "$m" 'd["text"]')"
s=$(ik_req POST /download/renew "${J[@]}" --data "{\"login\":\"$RL\",\"secret\":\"wrong-password-1\",\"device\":\"linux\"}")
ik_expect 401 bad_credentials "$s" "renewal with the wrong password"
s=$(ik_req POST /download/renew "${J[@]}" --data "{\"login\":\"$RL\",\"secret\":\"$RPW\",\"device\":\"linux\"}"); cp "$TMP/body" "$TMP/alice2.p12"
[ "$s" = 200 ] || ik_fail "self-service renewal: $s $(cat "$TMP/body")"
printf '%s' "$RPW" > "$TMP/rpw"
openssl pkcs12 -in "$TMP/alice2.p12" -passin file:"$TMP/rpw" -nokeys -clcerts -out "$TMP/alice2.pem" 2>/dev/null || ik_fail "renewed p12 does not open with the chosen password"
openssl x509 -in "$TMP/alice2.pem" -noout -subject | grep -q 'CN = alice-phone' || ik_fail "renewed CN"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$C2"); SER2=$(ik_json 'd["serial"]')
[ "$(ik_json 'd["state"]')" = active ] || ik_fail "old certificate not valid during the overlap"
m=$(wait_mail downloaded_renewal ra-officers@example.jp); verify_mail "$m"
[ "$(mj "$m" 'd["attachments"][0]["name"]')" = "revoke-$SER2.tsv" ] || ik_fail "self-service renewal TSV"
s=$(ik_req POST /download/renew "${J[@]}" --data "{\"login\":\"$RL\",\"secret\":\"$RPW\",\"device\":\"linux\"}")
ik_expect 410 credential_used "$s" "renewal link used twice"
ik_ok "self-service renewal: link by mail + chosen password -> renewed .p12; old one valid meanwhile; officers get the TSV"

s=$(ik_req POST /download/switch "${J[@]}" --data "{\"login\":\"$RL\",\"secret\":\"wrong-password-1\"}")
ik_expect 401 bad_credentials "$s" "switch with the wrong password"
s=$(ik_req POST /download/switch "${J[@]}" --data "{\"login\":\"$RL\",\"secret\":\"$RPW\"}")
ik_expect 202 - "$s" "user confirms the switch"
m=$(wait_mail revoked alice@example.jp); verify_mail "$m"
mj "$m" 'd["text"]' | grep >/dev/null "$SER2" || ik_fail "revoked serial (alice)"
for _ in $(seq 1 50); do
	s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$C2"); [ "$(ik_json 'd["state"]')" = revoked ] && break; sleep 0.1
done
[ "$(ik_json 'd["reason"]')" = 4 ] || ik_fail "alice's old certificate not revoked as superseded"
ik_ok "the user confirms the switch: the old certificate is revoked as superseded"

s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"renewal_window_start":"2020-01-01","renewal_window_end":"2020-01-31"}')
ik_expect 200 - "$s" "window in the past"
s=$(ik_req GET /download/renewal-window); [ "$(ik_json 'd["open"]')" = False ] || ik_fail "past window open"
s=$(ik_req POST /download/renew/request "${J[@]}" --data "{\"user\":\"alice\",\"email\":\"alice@example.jp\",\"password\":\"$RPW\"}")
ik_expect 409 window_closed "$s" "renewal request while closed"
ik_ok "window closed: users' renewal refused"

# ---- sendmail fails (the SMTP server is down): retried, then delivered exactly once ----
smtp_stop
s=$(ik_api olivia "$OFF" POST /api/v1/users '{"external_id":"hana","email":"hana@example.jp","lang":"en"}'); U3=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/users/$U3/devices" '{"name":"pc"}'); D3=$(ik_json 'd["id"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D3/certificates" '{"common_name":"hana-pc"}'); ik_expect 201 - "$s" "issue hana"
L3=$(ik_json 'd["download"]["login"]')
for _ in $(seq 1 100); do
	s=$(ik_api carol "$AUD" GET "/api/v1/mails?state=pending")
	n=$(ik_json "[m['attempts'] for m in d['items'] if m['event'] == 'issued:$L3']")
	[ "$n" != "[]" ] && [ "${n//[^0-9]/}" -ge 3 ] 2>/dev/null && break
	sleep 0.2
done
ik_json "[m for m in d['items'] if m['event'] == 'issued:$L3'][0]['last_error']" | grep -q 'msmtp exited with status' \
	|| ik_fail "no retry recorded: $(cat "$TMP/body")"
# (between attempts it is pending; during one it is briefly being sent: look a few times)
pm=0
for _ in $(seq 1 25); do
	curl -s --cacert "$TMP/tls.pem" "$BASE/metrics" | grep -q 'inkan_mails{state="pending"} [1-9]' && { pm=1; break; }
	sleep 0.2
done
[ "$pm" = 1 ] || ik_fail "pending mail not in /metrics"
# the RA dies with the mail undelivered: after the restart it is still there and goes out
kill -9 "$RAD_PID"; wait "$RAD_PID" 2>/dev/null || true; RAD_PID=
ik_start_ra "$MAILCONF"
smtp_start
m=$(wait_mail issued hana@example.jp); verify_mail "$m"
mid=$(mj "$m" 'd["message_id"]')
sleep 3
[ "$(grep -l "^Message-ID: $mid" "$SINK"/*.eml | wc -l)" = 1 ] || ik_fail "the retried mail arrived more than once"
s=$(ik_api carol "$AUD" GET "/api/v1/mails?state=sent")
[ "$(ik_json "[m['attempts'] >= 3 for m in d['items'] if m['event'] == 'issued:$L3']")" = "[True]" ] || ik_fail "sent mail attempts: $(cat "$TMP/body")"
ik_ok "sendmail failing (SMTP down): retried with backoff, kept across a kill -9 of the RA, delivered exactly once when it came back"

# ---- across all mails: signed, verified, no secret ----
n=0
for f in "$SINK"/*.eml; do
	verify_mail "$f"
	for secret in "$P1" "$P2" "$P1N" "$RPW" "$P12PW"; do
		grep -qF -- "$secret" "$f" && ik_fail "a secret is in $f"
		mj "$f" 'd["text"]' | grep -F >/dev/null -- "$secret" && ik_fail "a secret is in the text of $f"
	done
	n=$((n + 1))
done
[ "$n" -ge 15 ] || ik_fail "only $n mails"
grep -q "$P1\|$P2\|$RPW" "$TMP/rad.log" && ik_fail "a secret is in the RA log"
ik_ok "$n mails: every one verifies with openssl smime against the root; no password or PIN in any"
