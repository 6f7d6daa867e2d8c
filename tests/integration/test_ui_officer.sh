#!/usr/bin/env bash
# The officer pages of issue #4 over real HTTP (curl against inkan-rad and the signer on a
# SoftHSM token): the account page's password change (policy, wrong current password,
# CSRF), the login lockout message in both languages, the administrators' settings page
# (roles, CSRF, field errors, all or nothing, the signer's chain shown), the certificate
# CSV export (page and API, every row across keyset pages), bulk errors in Japanese with
# the JSON API unchanged, and the renewal-window banner.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
ik_start_signer
ik_ra_officers
ik_start_ra
ADM=$(ik_login admin "$ADMIN_PW")
OFF=$(ik_login olivia "$OFFICER_PW")
AUD=$(ik_login carol "$AUDITOR_PW")

# page WHO LANG METHOD PATH [curl args...]: a page request with that officer's cookies
page() {
	local who=$1 lang=$2 m=$3 p=$4; shift 4
	ik_req "$m" "$p" -b "$TMP/jar.$who" -H "Accept-Language: $lang" "$@"
}
has() { grep -qF -- "$1" "$TMP/body" || ik_fail "$2: no '$1' in: $(sed 's/<[^>]*>/ /g' "$TMP/body" | tr -s ' \n' ' ' | head -c 800)"; }
hasnt() { ! grep -qF -- "$1" "$TMP/body" || ik_fail "$2: '$1' should not be there"; }
hist_count() { # hist_count OP: entries of that operation
	ik_api admin "$ADM" GET "/api/v1/history?op=$1" >/dev/null
	ik_json 'len(d["items"])'
}

# ---- navigation ----
s=$(page olivia ja GET /ui/certs); ik_expect 200 - "$s" "certs page"
has 'href="/ui/account"' "account link for an officer"; hasnt 'href="/ui/settings"' "no settings link for an officer"
s=$(page admin ja GET /ui/certs); ik_expect 200 - "$s" "certs page (admin)"
has 'href="/ui/settings"' "settings link for an administrator"
ik_ok "navigation: account for everyone, settings for administrators only"

# ---- account: password change ----
s=$(page olivia ja GET /ui/account); ik_expect 200 - "$s" "account page"
has "12〜128文字" "policy shown"; has "ログイン名と同じにしない" "policy: not the login"
s=$(page olivia en GET /ui/account); has "12 to 128 characters" "policy in English"
NEWPW='a brand new officer passphrase'
pw() { # pw LANG CSRF CURRENT NEW AGAIN
	page olivia "$1" POST /ui/account --data-urlencode "csrf=$2" --data-urlencode "current=$3" \
		--data-urlencode "new=$4" --data-urlencode "again=$5"
}
s=$(page olivia ja POST /ui/account --data-urlencode "current=$OFFICER_PW" \
	--data-urlencode "new=$NEWPW" --data-urlencode "again=$NEWPW"); ik_expect 403 - "$s" "password form without CSRF"
s=$(pw ja "${OFF}x" "$OFFICER_PW" "$NEWPW" "$NEWPW"); ik_expect 403 - "$s" "password form with a wrong CSRF"
s=$(pw ja "$ADM" "$OFFICER_PW" "$NEWPW" "$NEWPW"); ik_expect 403 - "$s" "password form with another session's CSRF"
ik_ok "password form: missing, wrong or another session's CSRF token -> 403"
before=$(hist_count login_failed)
s=$(pw ja "$OFF" 'not my password at all' "$NEWPW" "$NEWPW"); ik_expect 401 - "$s" "wrong current password"
has "現在のパスワードが違います" "wrong current password in Japanese"
[ "$(hist_count login_failed)" -eq $((before + 1)) ] || ik_fail "a wrong current password is not in the history"
s=$(pw en "$OFF" 'not my password at all' "$NEWPW" "$NEWPW"); ik_expect 401 - "$s" "wrong current password (en)"
has "The current password is wrong" "wrong current password in English"
ik_ok "wrong current password: 401 with the reason in the page's language, counted as a failed login"
s=$(pw ja "$OFF" "$OFFICER_PW" "short pw" "short pw"); ik_expect 400 - "$s" "too short"
has "12〜128文字にしてください" "length rule named (ja)"
s=$(pw en "$OFF" "$OFFICER_PW" "short pw" "short pw"); has "must be 12 to 128 characters" "length rule named (en)"
s=$(pw ja "$OFF" "$OFFICER_PW" "$OFFICER_PW" "$OFFICER_PW"); ik_expect 400 - "$s" "same as the old one"
has "現在のパスワードと別のもの" "same password refused (ja)"
s=$(pw ja "$OFF" "$OFFICER_PW" "$NEWPW" "${NEWPW}!"); ik_expect 400 - "$s" "the two new ones differ"
has "2回で一致しません" "mismatch (ja)"
s=$(pw ja "$OFF" "$OFFICER_PW" "line1
line2 long enough" "line1
line2 long enough"); ik_expect 400 - "$s" "a control character"
has "制御文字" "control character refused (ja)"
s=$(page olivia ja POST /ui/account --data-urlencode "csrf=$OFF"); ik_expect 400 - "$s" "empty form"
ik_ok "password policy: too short, same as before, mismatch, control character -> 400 naming the rule"
# a second session of olivia (another browser) ends with the change
cp "$TMP/jar.olivia" "$TMP/jar.keep"
ik_login olivia "$OFFICER_PW" >/dev/null
mv "$TMP/jar.olivia" "$TMP/jar.olivia2"; mv "$TMP/jar.keep" "$TMP/jar.olivia"
s=$(ik_req GET /ui/account -b "$TMP/jar.olivia2"); ik_expect 200 - "$s" "second session before the change"
s=$(pw ja "$OFF" "$OFFICER_PW" "$NEWPW" "$NEWPW"); ik_expect 303 - "$s" "password change"
grep -qi '^location: /ui/account?done=password' "$TMP/hdr" || ik_fail "no redirect to the notice: $(cat "$TMP/hdr")"
s=$(page olivia ja GET "/ui/account?done=password"); has "パスワードを変更しました" "success notice"
s=$(ik_req GET /ui/account -b "$TMP/jar.olivia2"); [ "$s" = 303 ] || [ "$s" = 401 ] || ik_fail "the other session still works: $s"
s=$(ik_req POST /api/v1/login -H 'Content-Type: application/json' --data "{\"login\":\"olivia\",\"password\":\"$OFFICER_PW\"}")
ik_expect 401 - "$s" "old password after the change"
OFF=$(ik_login olivia "$NEWPW")
[ "$(hist_count password_changed)" -ge 1 ] || ik_fail "no password_changed history entry"
ik_ok "password change: 303 + notice, other sessions ended, old password refused, new one works, history entry"

# ---- settings: roles, CSRF ----
s=$(page carol ja GET /ui/settings); ik_expect 403 - "$s" "auditor on the settings page"
s=$(page olivia ja GET /ui/settings); ik_expect 403 - "$s" "officer on the settings page"
s=$(page olivia ja POST /ui/settings --data-urlencode "csrf=$OFF" --data-urlencode "quota=5"); ik_expect 403 - "$s" "officer posting settings"
s=$(page admin ja POST /ui/settings --data-urlencode "quota=5"); ik_expect 403 - "$s" "settings without CSRF"
s=$(page admin ja POST /ui/settings --data-urlencode "csrf=${ADM}x" --data-urlencode "quota=5"); ik_expect 403 - "$s" "settings with a wrong CSRF"
ik_api admin "$ADM" GET /api/v1/settings >/dev/null
[ "$(ik_json 'd.get("quota")')" = None ] || ik_fail "a refused settings form changed the quota"
ik_ok "settings: auditor / officer 403 (page and form), missing / wrong CSRF 403, nothing saved"

s=$(page admin ja GET /ui/settings); ik_expect 200 - "$s" "settings page"
for k in quota ip_allowlist renewal_window_start renewal_window_end notify_addresses expiry_notice_days p12_password_min_length p12_password_classes; do
	has "name=\"$k\"" "settings field $k"
done
has "証明書プロファイル (表示のみ)" "profiles section"; has '<dd class="mono">client</dd>' "client profile name"
has "発行 CA" "issuing CA shown"; has "SHA-256" "CA fingerprint"
ik_ok "settings page: every setting as a field, profiles and the CA chain read-only"

st() { page admin "$1" POST /ui/settings --data-urlencode "csrf=$ADM" "${@:2}"; }
s=$(st ja --data-urlencode "quota=abc" --data-urlencode "expiry_notice_days=30,7"); ik_expect 400 - "$s" "bad quota"
has "契約数 (証明書の上限) (quota): 値が正しくありません" "bad quota named (ja)"; has 'class="field bad"' "field marked"
s=$(st en --data-urlencode "quota=abc"); has "Contracted number of certificates (quota): this value is not valid" "bad quota named (en)"
s=$(st ja --data-urlencode "quota=10" --data-urlencode "renewal_window_start=13-45"); ik_expect 400 - "$s" "bad renewal start"
has "(renewal_window_start)" "renewal start named"; hasnt "(quota):" "the good field is not flagged"
s=$(st ja --data-urlencode "notify_addresses=ok@example.jp, not an address"); ik_expect 400 - "$s" "bad address"
has "(notify_addresses)" "address field named"
s=$(st ja --data-urlencode "p12_password_classes=9"); ik_expect 400 - "$s" "bad p12 classes"
has "(p12_password_classes)" "p12 field named"
s=$(st ja --data-urlencode "ip_allowlist=10.0.0.0/8"); ik_expect 400 - "$s" "self lock-out"
has "ご自身が担当者用の画面を使えなくなります" "self lock-out explained"
s=$(st ja --data-urlencode "ip_allowlist=300.1.1.1/8"); ik_expect 400 - "$s" "bad CIDR"
s=$(st ja --data-urlencode "expiry_notice_days=soon"); ik_expect 400 - "$s" "bad reminder days"
ik_api admin "$ADM" GET /api/v1/settings >/dev/null
[ "$(ik_json 'd.get("quota")')" = None ] && [ "$(ik_json 'd.get("expiry_notice_days")')" = None ] ||
	ik_fail "a refused form saved something: $(cat "$TMP/body")"
ik_ok "settings errors: 400 naming each bad field in the page's language; nothing saved (all or nothing)"

before=$(hist_count setting_change)
s=$(st ja --data-urlencode "quota=500" --data-urlencode "expiry_notice_days=30,7" \
	--data-urlencode "ip_allowlist=127.0.0.0/8
::1/128" --data-urlencode "notify_lang=en" --data-urlencode "notify_addresses="); ik_expect 303 - "$s" "good settings"
grep -qi '^location: /ui/settings?saved=4' "$TMP/hdr" || ik_fail "saved count: $(cat "$TMP/hdr")"
ik_api admin "$ADM" GET /api/v1/settings >/dev/null
[ "$(ik_json 'd["quota"]')" = 500 ] && [ "$(ik_json 'd["expiry_notice_days"]')" = 30,7 ] &&
	[ "$(ik_json 'd["ip_allowlist"]')" = "127.0.0.0/8
::1/128" ] && [ "$(ik_json 'd["notify_lang"]')" = en ] || ik_fail "settings not saved: $(cat "$TMP/body")"
[ "$(hist_count setting_change)" -eq $((before + 4)) ] || ik_fail "history: one setting_change per changed key"
s=$(page admin ja GET "/ui/settings?saved=4"); has "設定を保存しました (4 項目を変更)" "saved notice"
has '>127.0.0.0/8' "allow-list shown back"
s=$(st ja --data-urlencode "quota=500"); ik_expect 303 - "$s" "unchanged"
grep -qi '^location: /ui/settings?saved=0' "$TMP/hdr" || ik_fail "an unchanged value was saved again"
# the same validation as the API (one shared rule set)
s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"quota":"abc"}'); ik_expect 400 bad_field "$s" "API bad quota"
grep -q '"field":"quota"' "$TMP/body" || ik_fail "API error does not name the field"
ik_ok "settings saved: 4 changed keys (CRLF allow-list kept as lines), one history entry each; the API refuses the same values"

# ---- certificate CSV export ----
{ printf 'user\temail\tdevice\tcommon_name\n'
  for i in $(seq 1 230); do printf 'c%03d\tc%03d@example.jp\tpc\tcsv-%03d\n' "$i" "$i" "$i"; done
  printf 'eq1\teq1@example.jp\tpc\t=cmd|evil\n'; } > "$TMP/many.tsv"
s=$(ik_req POST "/api/v1/bulk?kind=issue&format=tsv" -b "$TMP/jar.olivia" -H "X-CSRF-Token: $OFF" \
	-H 'Content-Type: text/tab-separated-values' --data-binary @"$TMP/many.tsv"); ik_expect 200 - "$s" "bulk issue 231"
[ "$(ik_json 'd["registered"]')" = 231 ] || ik_fail "registered: $(head -c 300 "$TMP/body")"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates.csv?cn=csv-&sort=cn&order=asc"); ik_expect 200 - "$s" "API CSV"
grep -qi '^content-type: text/csv' "$TMP/hdr" || ik_fail "CSV content type"
grep -qi '^content-disposition: attachment; filename="certificates.csv"' "$TMP/hdr" || ik_fail "CSV disposition"
python3 - "$TMP/body" <<'PY' || ik_fail "API CSV rows"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
assert rows[0][:3] == ["id", "common_name", "state"], rows[0]
cns = [r[1] for r in rows[1:]]
assert cns == ["csv-%03d" % i for i in range(1, 231)], (len(cns), cns[:3], cns[-3:])
assert all(r[2] == "awaiting_download" for r in rows[1:]), rows[1]
PY
s=$(page carol ja GET "/ui/certs.csv?cn=csv-1&filter=all"); ik_expect 200 - "$s" "page CSV"
[ "$(($(wc -l < "$TMP/body") - 1))" = 100 ] || ik_fail "page CSV for cn=csv-1: $(wc -l < "$TMP/body") lines"
s=$(page carol ja GET "/ui/certs.csv?cn=%3Dcmd"); grep -q "\"'=cmd|evil\"" "$TMP/body" || ik_fail "a formula is not defused: $(cat "$TMP/body")"
s=$(page carol ja GET "/ui/certs.csv?filter=revoked&cn=csv-"); [ "$(wc -l < "$TMP/body")" = 1 ] || ik_fail "revoked filter in CSV"
s=$(ik_req GET "/api/v1/certificates.csv"); ik_expect 401 - "$s" "anonymous CSV"
s=$(ik_api carol "$AUD" GET "/api/v1/certificates.csv?filter=bogus"); ik_expect 400 bad_query "$s" "bad filter"
s=$(page carol ja GET "/ui/certs.csv?from=2026-99-99"); ik_expect 400 - "$s" "bad date in the page CSV"
s=$(page carol ja GET "/ui/certs?cn=csv-&sort=cn&order=asc"); has 'href="/ui/certs.csv?filter=all&amp;sort=cn&amp;order=asc&amp;cn=csv-"' "export link keeps the filter"
hasnt 'href="/ui/bulk?kind=revoke"' "no bulk revoke link for an auditor"
s=$(page olivia ja GET "/ui/certs"); has 'href="/ui/bulk?kind=revoke"' "bulk revoke link for an officer"
s=$(page olivia ja GET "/ui/bulk?kind=revoke"); has 'value="revoke" checked' "bulk page with revoke chosen"
ik_ok "CSV export: all 230 matching rows across 3 keyset pages (API and page), filters kept, formulas defused, 401/400 refusals; bulk revoke link"

# ---- bulk errors in the page's language; the API keeps English (+ code) ----
BAD=$'user\temail\tdevice\tcommon_name\nb1\tnot-an-email\tpc\tbulk-b1\nb2\tb2@example.jp\tpc\tbulk-b2\tx\n'
s=$(page olivia ja POST /ui/bulk -F "csrf=$OFF" -F step=preview -F kind=issue -F mode=abort -F "text=$BAD"); ik_expect 422 - "$s" "bulk preview (ja): the file would be refused"
has "@ はちょうど1つ必要です。" "email error in Japanese"
has "見出しは 4列しかありません" "extra column error in Japanese"
hasnt "must have exactly one @</" "no English reason as the text"
s=$(page olivia en POST /ui/bulk -F "csrf=$OFF" -F step=preview -F kind=issue -F mode=abort -F "text=$BAD"); has "The address must have exactly one @." "email error in English"
s=$(page olivia ja POST /ui/bulk -F step=preview -F kind=issue -F mode=abort -F "text=$BAD"); ik_expect 403 - "$s" "bulk form without CSRF"
printf '%s' "$BAD" > "$TMP/bad.tsv"
s=$(ik_req POST "/api/v1/bulk?kind=issue&format=tsv" -b "$TMP/jar.olivia" -H "X-CSRF-Token: $OFF" \
	-H 'Content-Type: text/tab-separated-values' --data-binary @"$TMP/bad.tsv"); ik_expect 422 - "$s" "API bulk"
[ "$(ik_json '[e["reason"] for e in d["errors"] if e["row"] == 2][0]')" = "must have exactly one @" ] || ik_fail "API reason changed: $(cat "$TMP/body")"
[ "$(ik_json '[e["code"] for e in d["errors"] if e["row"] == 2][0]')" = email_at ] || ik_fail "API code: $(cat "$TMP/body")"
ik_ok "bulk errors: Japanese on a Japanese page, English on an English one; the API keeps its English reason and adds code/args"

# ---- renewal-window banner ----
UID1=$(sqlite3 "$TMP/ra.sqlite" "SELECT id FROM users WHERE external_id='c001'")
DID1=$(sqlite3 "$TMP/ra.sqlite" "SELECT id FROM devices WHERE user_id=$UID1 LIMIT 1")
s=$(page olivia ja GET "/ui/users/$UID1"); ik_expect 200 - "$s" "user page"; hasnt 'id="renewal-banner"' "no banner while closed"
TODAY=$(TZ=Asia/Tokyo date +%Y-%m-%d); LATER=$(TZ=Asia/Tokyo date -d '+10 days' +%Y-%m-%d)
s=$(ik_api admin "$ADM" PUT /api/v1/settings "{\"renewal_window_start\":\"$TODAY\",\"renewal_window_end\":\"$LATER\"}"); ik_expect 200 - "$s" "open the window"
s=$(page olivia ja GET "/ui/users/$UID1"); has 'id="renewal-banner"' "banner on the user page"; has "更新期間中です ($TODAY〜$LATER)" "banner dates"
s=$(page olivia en GET "/ui/devices/$DID1"); has "The renewal window is open ($TODAY to $LATER)" "banner on the device page (en)"
ik_ok "renewal banner on user and device pages while the window is open, not before"

# ---- login lockout message (both languages) ----
anon_login() { # anon_login LANG PASSWORD: the login form as a browser would send it
	ik_req GET /login -c "$TMP/jar.anon" -b "$TMP/jar.anon" -H "Accept-Language: $1" >/dev/null
	local c; c=$(grep -o 'name="csrf" value="[^"]*"' "$TMP/body" | head -1 | sed 's/.*value="//; s/"$//')
	ik_req POST /login -c "$TMP/jar.anon" -b "$TMP/jar.anon" -H "Accept-Language: $1" \
		--data-urlencode "csrf=$c" --data-urlencode "login=carol" --data-urlencode "password=$2"
}
for i in 1 2 3 4; do s=$(anon_login ja "wrong password $i"); ik_expect 401 - "$s" "wrong login $i"; done
s=$(anon_login ja "wrong password 5"); ik_expect 423 - "$s" "the fifth wrong login locks"
has "このアカウントは" "lockout in Japanese"; has "までロックされています" "lockout until (ja)"
s=$(anon_login en "$AUDITOR_PW"); ik_expect 423 - "$s" "right password while locked"
has "this account is locked until" "lockout in English"
ik_ok "login lockout: 423 page saying until when, in Japanese and English, even with the right password"

ik_stop_ra
inkan-rad verify-history -c "$TMP/ra.conf" | grep -q '^OK' || ik_fail "history chain"
ik_ok "history chain intact"
