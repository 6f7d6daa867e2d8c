#!/usr/bin/env bash
# The batches pages over HTTPS with curl, against the real inkan-rad + signer on SoftHSM:
# /ui/batches (the form with the remaining quota, refusals worded on the page: over the
# quota, a second batch while one runs, mismatched or weak passphrase, an auditor, a
# missing or wrong CSRF token on start / abort / download), /ui/batches/{id} (progress that
# works without JavaScript: a refresh and a reload link; abort; the one ZIP download with
# the passphrase — every .p12 opens with its password from passwords.csv —, a second
# download a clear 410 page naming who took it, a wrong passphrase 403), and the
# dashboard's batch card and renewal-window banner.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
ik_start_signer
ik_ra_officers
ik_start_ra

ADM=$(ik_login admin "$ADMIN_PW")
OFF=$(ik_login olivia "$OFFICER_PW")
AUD=$(ik_login carol "$AUDITOR_PW")
BPASS='Batch-Passphrase 2026'
EN=(-H 'Accept-Language: en')
db() { sqlite3 "$TMP/ra.sqlite" "$@"; }
# page WHO PATH: GET a page as that officer (English)
page() { ik_req GET "$2" "${EN[@]}" -b "$TMP/jar.$1"; }
# form WHO PATH FIELDS...: POST a form as that officer (English); fields as curl --data-urlencode
form() {
	local who=$1 p=$2; shift 2
	local args=()
	for f in "$@"; do args+=(--data-urlencode "$f"); done
	ik_req POST "$p" "${EN[@]}" -b "$TMP/jar.$who" "${args[@]}"
}
has() { grep -qF -- "$1" "$TMP/body" || ik_fail "$2: the page does not say '$1': $(sed -e 's/<[^>]*>/ /g' "$TMP/body" | tr -s ' \n' ' ' | head -c 900)"; }
hasnt() { ! grep -qF -- "$1" "$TMP/body" || ik_fail "$2: the page says '$1'"; }
location() { tr -d '\r' < "$TMP/hdr" | sed -n 's/^[Ll]ocation: //p'; }
wait_state() { # wait_state ID: until the batch is no longer running and nothing is issuing
	for _ in $(seq 1 600); do
		s=$(ik_api carol "$AUD" GET "/api/v1/batches/$1"); ik_expect 200 - "$s" "batch $1"
		[ "$(ik_json 'd["state"]')" != running ] && [ "$(ik_json 'd["pending"]')" = 0 ] && return 0
		sleep 0.2
	done
	ik_fail "batch $1 did not finish: $(cat "$TMP/body")"
}
START=(count=20 days=30 format=modern key_type=ec-p256 "passphrase=$BPASS" "passphrase2=$BPASS")

# ---- the page, the quota, the roles ----
s=$(page olivia /ui/batches); ik_expect 200 - "$s" "batches page"
has 'id="start"' "officer sees the form"; has 'No limit on the number' "no quota"
has 'href="/ui/batches"' "navigation link"
has 'name="csrf"' "the form carries the CSRF token"
s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"quota":"300"}'); ik_expect 200 - "$s" "quota 300"
s=$(page olivia /ui/batches); ik_expect 200 - "$s" "batches page"
has 'Still issuable: 300 of the contracted 300.' "remaining quota shown"
has 'max="300"' "the count input stops at the remaining quota"
s=$(page carol /ui/batches); ik_expect 200 - "$s" "auditor's batches page"
hasnt 'id="start"' "auditor has no start form"; has 'Still issuable: 300' "auditor sees the quota"
s=$(form carol /ui/batches "csrf=$AUD" "${START[@]}"); ik_expect 403 - "$s" "auditor starts a batch"
s=$(form olivia /ui/batches "${START[@]}"); ik_expect 403 - "$s" "start without CSRF"
has 'did not come from this site' "CSRF refusal page"
s=$(form olivia /ui/batches "csrf=forged${OFF:6}" "${START[@]}"); ik_expect 403 - "$s" "start with a wrong CSRF token"
s=$(form olivia /ui/batches "csrf=$OFF" count=301 "passphrase=$BPASS" "passphrase2=$BPASS"); ik_expect 409 - "$s" "301 over a quota of 300"
has '301 more certificates do not fit: 300 of the contracted 300 remain.' "quota refusal"
s=$(form olivia /ui/batches "csrf=$OFF" count=5 "passphrase=$BPASS" "passphrase2=${BPASS}x"); ik_expect 400 - "$s" "passphrases differ"
has 'The two passphrases differ.' "mismatch"
has 'value="5"' "the count is kept after a refusal"; hasnt "$BPASS" "the passphrase is not echoed"
s=$(form olivia /ui/batches "csrf=$OFF" count=5 passphrase=short passphrase2=short); ik_expect 400 - "$s" "weak passphrase"
has 'The password is too short.' "policy refusal"
s=$(form olivia /ui/batches "csrf=$OFF" count=abc "passphrase=$BPASS" "passphrase2=$BPASS"); ik_expect 400 - "$s" "count abc"
has 'Enter the number of certificates (1 to 10000).' "bad count"
s=$(form olivia /ui/batches "csrf=$OFF" count=5 cn_pattern=x "passphrase=$BPASS" "passphrase2=$BPASS"); ik_expect 400 - "$s" "bad pattern"
has 'must hold exactly one number' "bad pattern"
[ "$(db 'SELECT COUNT(*) FROM batches')" = 0 ] || ik_fail "a refused start left a batch"
ik_ok "form with the remaining quota; auditor, missing/wrong CSRF, over quota, bad input refused on the page; nothing stored"

# ---- a batch that waits for the signer: progress without JavaScript, one at a time ----
ik_stop_signer
s=$(form olivia /ui/batches "csrf=$OFF" "${START[@]}"); ik_expect 303 - "$s" "start 20"
B1=$(location | sed -n 's|^/ui/batches/\([0-9][0-9]*\)$|\1|p')
[ -n "$B1" ] || ik_fail "start did not go to the batch's page: $(location)"
s=$(page olivia "/ui/batches/$B1"); ik_expect 200 - "$s" "progress page"
has "data-batch=\"$B1\" data-state=\"running\"" "live block"; has '<progress class="batch-bar" max="20"' "progress bar"
has '<noscript><meta http-equiv="refresh"' "refresh without JavaScript"; has 'id="reload"' "reload link"
has '<script src="/static/batches.js" defer></script>' "the polling script"
has 'id="abort"' "abort button"; hasnt 'id="download"' "no download while running"
grep -q '<script>' "$TMP/body" && ik_fail "inline script on the progress page"
s=$(ik_req GET /static/batches.js); ik_expect 200 - "$s" "batches.js"
grep -q "/api/v1/batches/" "$TMP/body" || ik_fail "batches.js does not poll the API"
s=$(form olivia /ui/batches "csrf=$OFF" "${START[@]}"); ik_expect 409 - "$s" "second batch while one runs"
has "Batch #$B1 is still running (0 of 20 done). No second batch can start while one runs." "one at a time"
s=$(page olivia /ui/batches); ik_expect 200 - "$s" "batches page while running"
has 'id="running"' "running notice"; grep -q 'class="primary" disabled' "$TMP/body" || ik_fail "start button not disabled while one runs"
s=$(page olivia /ui); ik_expect 200 - "$s" "dashboard while running"
has "href=\"/ui/batches/$B1\"" "dashboard links the batch"; has "data-batch=\"$B1\" data-state=\"running\"" "dashboard progress bar"
s=$(form olivia "/ui/batches/$B1/download" "csrf=$OFF" "passphrase=$BPASS"); ik_expect 409 - "$s" "download while running"
has 'can be downloaded when the batch has finished' "download while running"
s=$(form olivia "/ui/batches/$B1/abort" go=1); ik_expect 403 - "$s" "abort without CSRF"
# a wrong token: the real one with its first character changed (never equal to it)
BAD=$([ "${OFF:0:1}" = x ] && echo "y${OFF:1}" || echo "x${OFF:1}")
s=$(form olivia "/ui/batches/$B1/abort" "csrf=$BAD"); ik_expect 403 - "$s" "abort with a wrong CSRF token"
s=$(form carol "/ui/batches/$B1/abort" "csrf=$AUD"); ik_expect 403 - "$s" "auditor aborts"
s=$(page carol "/ui/batches/$B1"); ik_expect 200 - "$s" "auditor's progress page"
hasnt 'id="abort"' "auditor has no abort button"
s=$(ik_api carol "$AUD" GET "/api/v1/batches/$B1"); [ "$(ik_json 'd["state"]')" = running ] || ik_fail "a refused abort stopped the batch"
ik_ok "progress page works without JavaScript; second batch refused with the message; abort refused without/with a wrong CSRF token and for an auditor"

# ---- it finishes; the one ZIP download ----
ik_start_signer
wait_state "$B1"
s=$(page olivia "/ui/batches/$B1"); ik_expect 200 - "$s" "finished batch"
has 'data-state="finished"' "finished"; has '20 / 20' "all settled"; has 'id="download"' "download form"
hasnt '<noscript><meta' "no refresh once finished"
s=$(page carol "/ui/batches/$B1"); hasnt 'id="download"' "auditor has no download form"
s=$(form carol "/ui/batches/$B1/download" "csrf=$AUD" "passphrase=$BPASS"); ik_expect 403 - "$s" "auditor downloads"
s=$(form olivia "/ui/batches/$B1/download" "passphrase=$BPASS"); ik_expect 403 - "$s" "download without CSRF"
s=$(form olivia "/ui/batches/$B1/download" "csrf=${OFF}0" "passphrase=$BPASS"); ik_expect 403 - "$s" "download with a wrong CSRF token"
s=$(form olivia "/ui/batches/$B1/download" "csrf=$OFF" "passphrase=Wrong-Passphrase 2026"); ik_expect 403 - "$s" "wrong passphrase"
has 'The batch passphrase is wrong.' "wrong passphrase page"; has 'id="download"' "the form is offered again"
[ "$(db "SELECT COUNT(*) FROM history WHERE op = 'batch_download_failed'")" -ge 1 ] || ik_fail "wrong passphrase not recorded"
s=$(form olivia "/ui/batches/$B1/download" "csrf=$OFF" "passphrase=$BPASS"); ik_expect 200 - "$s" "download the ZIP"
grep -qi '^content-type: application/zip' "$TMP/hdr" || ik_fail "not a ZIP: $(cat "$TMP/hdr")"
grep -qi "^content-disposition: attachment; filename=\"batch-$B1.zip\"" "$TMP/hdr" || ik_fail "no attachment name: $(cat "$TMP/hdr")"
mkdir "$TMP/zip" && cp "$TMP/body" "$TMP/batch.zip" && (cd "$TMP/zip" && unzip -q ../batch.zip)
[ "$(ls "$TMP/zip"/*.p12 | wc -l)" = 20 ] || ik_fail "ZIP has $(ls "$TMP/zip"/*.p12 | wc -l) .p12 files, want 20"
for f in issuing-ca.pem issuing-ca.der root-ca.pem root-ca.der passwords.csv; do
	[ -s "$TMP/zip/$f" ] || ik_fail "ZIP lacks $f: $(ls "$TMP/zip")"
done
[ "$(wc -l < "$TMP/zip/passwords.csv")" = 21 ] || ik_fail "passwords.csv: $(wc -l < "$TMP/zip/passwords.csv") lines"
tail -n +2 "$TMP/zip/passwords.csv" | while IFS=, read -r cn serial pw; do
	printf '%s' "$pw" > "$TMP/pw"
	openssl pkcs12 -in "$TMP/zip/$cn.p12" -passin "file:$TMP/pw" -nokeys -clcerts 2>/dev/null |
		openssl x509 -noout -subject | grep -q "CN *= *$cn" || ik_fail "$cn.p12 does not open with its password"
done
ik_ok "wrong passphrase, missing/wrong CSRF and an auditor refused; the ZIP has 20 .p12 (each opens with its password), the CA as PEM and DER, passwords.csv"

s=$(form olivia "/ui/batches/$B1/download" "csrf=$OFF" "passphrase=$BPASS"); ik_expect 410 - "$s" "second download"
grep -qi '^content-type: text/html' "$TMP/hdr" || ik_fail "second download is not a page"
has "ZIP has already been downloaded; its keys are gone." "second download page"
has 'The ZIP was downloaded by olivia on' "who took it"; hasnt 'id="download"' "no form after the download"
s=$(page carol "/ui/batches/$B1"); ik_expect 200 - "$s" "after the download"
has 'The ZIP was downloaded by olivia on' "the page says who took it"
s=$(ik_req GET "/ui/batches/$B1" -H 'Accept-Language: ja' -b "$TMP/jar.carol"); ik_expect 200 - "$s" "Japanese page"
has 'olivia がダウンロードしました' "the Japanese page says who took it"
[ "$(db "SELECT COUNT(*) FROM certificates WHERE key_envelope IS NOT NULL")" = 0 ] || ik_fail "keys left after the download"
s=$(page olivia /ui/batches); has "<a href=\"/ui/batches/$B1\">#$B1</a>" "recent list"
ik_ok "a second download is a clear 410 page naming who took it and when; the keys are gone"

# ---- abort from the page ----
ik_stop_signer
s=$(form olivia /ui/batches "csrf=$OFF" count=5 "passphrase=$BPASS" "passphrase2=$BPASS"); ik_expect 303 - "$s" "start 5"
B2=$(location | sed -n 's|^/ui/batches/||p')
s=$(form olivia "/ui/batches/$B2/abort" "csrf=$OFF"); ik_expect 303 - "$s" "abort"
[ "$(location)" = "/ui/batches/$B2" ] || ik_fail "abort went to $(location)"
s=$(page olivia "/ui/batches/$B2"); has 'data-state="failed"' "stopped"; has '>stopped<' "stopped badge"
s=$(form olivia "/ui/batches/$B2/abort" "csrf=$OFF"); ik_expect 409 - "$s" "abort again"
has 'This batch is not running.' "abort a stopped batch"
[ "$(db "SELECT COUNT(*) FROM history WHERE op = 'batch_aborted' AND actor = 'olivia'")" = 1 ] || ik_fail "abort not recorded once"
ik_start_signer
ik_ok "abort from the page; a second abort is a 409 page"

# ---- the dashboard's renewal-window banner ----
s=$(page olivia /ui); ik_expect 200 - "$s" "dashboard"
hasnt 'id="renewal-banner"' "no banner without a window"
has 'Contracted' "counters"
s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"renewal_window_start":"01-01","renewal_window_end":"12-31"}'); ik_expect 200 - "$s" "open a yearly window"
s=$(page olivia /ui); ik_expect 200 - "$s" "dashboard with a window"
has 'id="renewal-banner"' "banner"; has 'The renewal window is open: users can renew their certificates until' "banner text"
has "-12-31" "the window's last day"
y=$(date +%Y); s=$(ik_api admin "$ADM" PUT /api/v1/settings "{\"renewal_window_start\":\"$((y - 2))-01-01\",\"renewal_window_end\":\"$((y - 2))-01-31\"}"); ik_expect 200 - "$s" "a closed window"
s=$(page olivia /ui); hasnt 'id="renewal-banner"' "no banner for a closed window"
ik_ok "dashboard: the renewal-window banner while it is open, not otherwise"

inkan-rad verify-history -c "$TMP/ra.conf" | grep -q '^OK' || ik_fail "history chain"
ik_ok "history chain intact"
