#!/usr/bin/env bash
# The end user's web pages with curl against inkan-rad + the signer on a SoftHSM token, with
# real mail (msmtp -> an aiosmtpd sink on loopback):
#  - the users' own renewal (/download/renew): window closed; ask (user id, address on
#    file, password) -> link by mail -> the renewed .p12 opened by openssl with the chosen
#    password -> switch: the old certificate revoked (superseded) and on the CRL; skip;
#    refusals: missing fields, mismatch, weak password, wrong / spent / locked link,
#    window closed after the link was sent, certificate no longer eligible, ineligible
#    certificate (no mail), CSRF;
#  - the iPhone/iPad configuration profile (first download and renewal): parsed by
#    plistlib, payload types, fresh UUIDs, no password inside, the PKCS#12 opened with the
#    chosen password, the root payload equal to the CA's root;
#  - the first download's clear pages: missing fields, wrong, expired, spent, timed out.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mail.sh"
command -v sqlite3 >/dev/null || ik_fail "sqlite3 is not installed"
ik_mail_ra_start

renewal_link() { mail_text "$1" | sed -n 's/.*id=\(rn-[A-Z0-9]*\).*/\1/p' | sed -n 1p; }

# ---- the pages as a browser sees them: a cookie jar, the form's CSRF field ----
UJ="$TMP/ujar"
# page GET PATH [curl args]: status; the page's CSRF token in $TMP/csrf
page() {
	local s
	s=$(ik_req GET "$1" -b "$UJ" -c "$UJ" "${@:2}")
	sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$TMP/body" | sed -n 1p > "$TMP/csrf"
	echo "$s"
}
# post PATH field=value... : the form with the CSRF token (values URL-encoded), in the
# language of $LANGH (Japanese, the default, when empty)
LANGH=()
post() {
	local p=$1; shift
	local args=() kv
	for kv in "$@"; do args+=(--data-urlencode "$kv"); done
	ik_req POST "$p" -b "$UJ" -c "$UJ" "${LANGH[@]}" --data-urlencode "csrf=$(cat "$TMP/csrf")" "${args[@]}"
}
# outcome: the data-outcome of the page just fetched
outcome() { sed -n 's/.*data-outcome="\([^"]*\)".*/\1/p' "$TMP/body" | sed -n 1p; }
# expect_page STATUS OUTCOME GOT WHAT
expect_page() {
	[ "$3" = "$1" ] || ik_fail "$4: status $3, want $1: $(outcome) $(head -c 400 "$TMP/body")"
	[ "$(outcome)" = "$2" ] || ik_fail "$4: outcome '$(outcome)', want '$2'"
}
cert_field() { ik_api carol "$AUD" GET "/api/v1/certificates/$1" >/dev/null; ik_json "d[\"$2\"]"; }
DER_ROOT="$TMP/root.der"
openssl x509 -in "$TMP/ca/root-ca.pem" -outform DER -out "$DER_ROOT"

# ---- users, devices, certificates; the first downloads by JSON ----
newcert() { # USER EMAIL LANG CN DAYS -> "certid login password"
	local s u d
	s=$(ik_api olivia "$OFF" POST /api/v1/users "{\"external_id\":\"$1\",\"email\":\"$2\",\"lang\":\"$3\"}")
	ik_expect 201 - "$s" "user $1" >&2; u=$(ik_json 'd["id"]')
	s=$(ik_api olivia "$OFF" POST "/api/v1/users/$u/devices" '{"name":"dev"}'); d=$(ik_json 'd["id"]')
	s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$d/certificates" "{\"common_name\":\"$4\",\"validity_days\":$5}")
	ik_expect 201 - "$s" "issue $4" >&2
	echo "$(ik_json 'd["certificate"]["id"]') $(ik_json 'd["download"]["login"]') $(ik_json 'd["download"]["password"]')"
}
P12PW='Xy7!pass-word'
json_download() { # LOGIN SECRET
	local s
	s=$(ik_req POST /download/p12 "${J[@]}" --data "{\"login\":\"$1\",\"secret\":\"$2\",\"password\":\"$P12PW\",\"device\":\"linux\"}")
	[ "$s" = 200 ] || ik_fail "download $1: $s $(cat "$TMP/body")"
}
read -r CA LA PA < <(newcert alice alice@example.jp en alice-phone 20); json_download "$LA" "$PA"
read -r CB LB PB < <(newcert bob bob@example.jp en bob-laptop 300); json_download "$LB" "$PB"
read -r CD LD PD < <(newcert dave dave@example.jp ja dave-pc 20); json_download "$LD" "$PD"
read -r CK LK PK < <(newcert kenji kenji@example.jp ja kenji-iphone 20)
read -r CE LE PE < <(newcert emi emi@example.jp en emi-tablet 20)

# ---- the first download's pages: clear refusals ----
s=$(page /download); [ "$s" = 200 ] || ik_fail "download page: $s"
s=$(post /download login="$LK"); expect_page 401 dl.missing "$s" "first download without the password"
s=$(post /download login="$LK" secret=WRONGWRONG99); expect_page 401 dl.bad "$s" "first download, wrong password"
grep -q 'name="secret"' "$TMP/body" || ik_fail "the wrong-password page offers no retry"
sqlite3 "$TMP/ra.sqlite" ".timeout 5000" "UPDATE download_credentials SET expires_at = strftime('%s','now') - 60 WHERE login = '$LE'"
s=$(post /download login="$LE" secret="$PE"); expect_page 410 dl.expired "$s" "first download, expired credential"
s=$(page /download); s=$(post /download/file ticket="$LK.9999999999.forged" password="$P12PW" password2="$P12PW" device=ios)
expect_page 401 dl.ticket_expired "$s" "first download, forged or timed-out ticket"
grep -q 'name="login"' "$TMP/body" || ik_fail "the timed-out page offers no new login"
s=$(post /download login="$LB" secret="$PB"); expect_page 410 dl.used "$s" "first download, spent credential"
ik_ok "first download pages: missing field, wrong, expired, spent credential and a timed-out page each get their own page"

# ---- the first download as an iPhone configuration profile (Japanese page) ----
s=$(page /download); s=$(post /download login="$LK" secret="$PK")
[ "$s" = 200 ] || ik_fail "first download login: $s $(outcome)"
grep -q 'id="ios-file"' "$TMP/body" || ik_fail "no iPhone/iPad file choice on the download page"
grep -q '構成プロファイル' "$TMP/body" || ik_fail "no Japanese profile text / install steps"
TICKET=$(sed -n 's/.*name="ticket" value="\([^"]*\)".*/\1/p' "$TMP/body")
sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$TMP/body" | sed -n 1p > "$TMP/csrf"
s=$(post /download/file ticket="$TICKET" password="$P12PW" password2="$P12PW" device=ios file=zip)
[ "$s" = 400 ] && grep -q 'notice error' "$TMP/body" || ik_fail "a bad file kind is not refused: $s"
s=$(post /download/file ticket="$TICKET" password="$P12PW" password2="$P12PW" device=ios file=mobileconfig)
[ "$s" = 200 ] || ik_fail "mobileconfig download: $s $(head -c 300 "$TMP/body")"
grep -qi '^content-type: application/x-apple-aspen-config' "$TMP/hdr" || ik_fail "profile content type: $(cat "$TMP/hdr")"
grep -qi 'filename="kenji-iphone.mobileconfig"' "$TMP/hdr" || ik_fail "profile file name: $(grep -i disposition "$TMP/hdr")"
cp "$TMP/body" "$TMP/kenji.mobileconfig"
# check_profile FILE PREFIX-OF-P12-OUT: signed (CMS, by the RA's TLS certificate: openssl cms
# -verify) around a plist; plistlib, payloads, UUIDs, no password; writes .p12 and root
check_profile() {
	openssl cms -verify -inform DER -in "$1" -CAfile "$TMP/tls.pem" -out "$1.plist" 2>"$TMP/cms.err" \
		|| ik_fail "the configuration profile does not verify: $(cat "$TMP/cms.err")"
	"$PY" - "$1.plist" "$2" <<'PY' || ik_fail "the configuration profile is wrong"
import plistlib, sys, uuid
d = plistlib.load(open(sys.argv[1], "rb"))
assert d["PayloadType"] == "Configuration", d["PayloadType"]
assert d["PayloadVersion"] == 1
pc = d["PayloadContent"]
assert [p["PayloadType"] for p in pc] == ["com.apple.security.pkcs12", "com.apple.security.root"], pc
uuids = [d["PayloadUUID"]] + [p["PayloadUUID"] for p in pc]
assert len(set(uuids)) == 3, uuids
for u in uuids:
    assert uuid.UUID(u).version == 4, u
ids = [d["PayloadIdentifier"]] + [p["PayloadIdentifier"] for p in pc]
assert ids[0].startswith("local.inkan.certificate."), ids
assert ids[1] == ids[0] + ".pkcs12" and ids[2] == ids[0] + ".root", ids
assert len(set(ids)) == 3
for p in pc:
    assert "Password" not in p, "the password is in the profile"
    assert p["PayloadVersion"] == 1
assert pc[0]["PayloadCertificateFileName"].endswith(".p12")
assert d["PayloadRemovalDisallowed"] is False
open(sys.argv[2] + ".p12", "wb").write(pc[0]["PayloadContent"])
open(sys.argv[2] + ".root.der", "wb").write(pc[1]["PayloadContent"])
print(d["PayloadDisplayName"] + "|" + d["PayloadDescription"] + "|" + pc[1]["PayloadDisplayName"] + "|" + d["PayloadUUID"])
PY
}
info=$(check_profile "$TMP/kenji.mobileconfig" "$TMP/kenji")
case "$info" in "クライアント証明書 kenji-iphone|"*"Inkan Test"*) ;; *) ik_fail "profile names not in Japanese: $info" ;; esac
printf '%s' "$P12PW" > "$TMP/p12pw"
openssl pkcs12 -in "$TMP/kenji.p12" -passin file:"$TMP/p12pw" -nokeys -clcerts 2>/dev/null | grep -q 'CN *= *kenji-iphone' \
	|| ik_fail "the profile's PKCS#12 does not open with the chosen password"
openssl pkcs12 -in "$TMP/kenji.p12" -passin file:"$TMP/p12pw" -nocerts -nodes 2>/dev/null | grep -q 'PRIVATE KEY' \
	|| ik_fail "no key in the profile's PKCS#12"
cmp -s "$TMP/kenji.root.der" "$DER_ROOT" || ik_fail "the root payload is not the CA's root certificate"
grep -qF "$P12PW" "$TMP/kenji.mobileconfig" && ik_fail "the password is in the profile"
ik_ok "first download for iPhone: a .mobileconfig (plistlib: pkcs12 + root payloads, fresh UUIDs, no password, Japanese names); its PKCS#12 opens with the chosen password; the root payload is the CA root"

# ---- the renewal pages: window closed ----
s=$(page /download/renew); expect_page 409 renew.closed "$s" "renewal page while no window is set"
s=$(post /download/renew/ask user=alice email=alice@example.jp password=Renew-Me-2027! password2=Renew-Me-2027!)
expect_page 409 renew.closed "$s" "renewal request while closed"
today=$(TZ=Asia/Tokyo date +%Y-%m-%d); later=$(TZ=Asia/Tokyo date -d '+30 days' +%Y-%m-%d)
s=$(ik_api admin "$ADM" PUT /api/v1/settings "{\"renewal_window_start\":\"$today\",\"renewal_window_end\":\"$later\"}")
ik_expect 200 - "$s" "open the window"
s=$(ik_api carol "$AUD" GET /api/v1/renewal-window); [ "$(ik_json 'd["eligible"]')" = 3 ] || ik_fail "eligible: $(cat "$TMP/body")"
ik_ok "window closed: the renewal page and the request say so (409)"

# ---- ask: refusals, then alice asks ----
s=$(page /download/renew -H 'Accept-Language: en'); [ "$s" = 200 ] || ik_fail "renewal page: $s $(outcome)"
grep -q "data-end=\"$later\"" "$TMP/body" || ik_fail "the window's end is not shown"
grep -q 'id="strength"' "$TMP/body" && grep -q 'id="policy"' "$TMP/body" || ik_fail "no policy / strength hint"
RPW='Renew-Me-2027!'
s=$(post /download/renew/ask user=alice password="$RPW" password2="$RPW"); expect_page 400 renew.missing "$s" "ask without the address"
s=$(post /download/renew/ask user=alice email=alice@example.jp password="$RPW" password2=other); expect_page 400 dl.mismatch "$s" "ask, passwords differ"
s=$(post /download/renew/ask user=alice email=alice@example.jp password=short password2=short)
expect_page 400 pw.password-too-short "$s" "ask, weak password"
grep -q 'value="alice@example.jp"' "$TMP/body" || ik_fail "the address is not kept on the refused form"
s=$(ik_req POST /download/renew/ask -b "$UJ" --data-urlencode user=alice --data-urlencode email=alice@example.jp)
[ "$s" = 403 ] || ik_fail "ask without CSRF: $s"
s=$(post /download/renew/ask user=alice email=mallory@example.jp password="$RPW" password2="$RPW")
expect_page 202 renew.sent "$s" "ask with the wrong address"; miss=$(sed 's/value="[^"]*"//g' "$TMP/body")
s=$(post /download/renew/ask user=alice email=Alice@Example.jp password="$RPW" password2="$RPW")
expect_page 202 renew.sent "$s" "alice asks"
[ "$(sed 's/value="[^"]*"//g' "$TMP/body")" = "$miss" ] || ik_fail "the page tells a match from a miss"
s=$(post /download/renew/ask user=bob email=bob@example.jp password="$RPW" password2="$RPW")
expect_page 202 renew.sent "$s" "bob (not eligible) asks"
m=$(wait_mail renewal_ready alice@example.jp); RL=$(renewal_link "$m")
[ -n "$RL" ] || ik_fail "no renewal link in: $(mail_text "$m")"
mail_text "$m" | grep -F "$BASE/download/renew?id=$RL" >/dev/null || ik_fail "the mail's link is not the renewal page"
ik_ok "ask: missing field, mismatch, weak password, CSRF refused; the same page for a match and a miss; alice's link mailed"

# ---- alice's link: the page, refusals, the renewed .p12 ----
s=$(page "/download/renew?id=$RL"); [ "$s" = 200 ] || ik_fail "link page: $s"
grep -q 'id="renewform"' "$TMP/body" && grep -q 'id="switchform"' "$TMP/body" || ik_fail "the link page lacks the download or switch form"
s=$(post /download/renew/file secret="$RPW" device=linux); expect_page 400 renew.bad_link "$s" "download without the link id"
s=$(post /download/renew/file login="$RL" device=linux); expect_page 400 renew.missing_password "$s" "download without the password"
s=$(post /download/renew/file login="$RL" secret="$RPW" device=toaster); expect_page 400 dl.bad_device "$s" "unknown device"
s=$(post /download/renew/file login="$RL" secret="$RPW" device=ios file=zip); expect_page 400 mc.bad_file "$s" "unknown file kind"
s=$(post /download/renew/file login="$RL" secret=Wrong-Pass-123 device=linux); expect_page 401 renew.bad "$s" "wrong password"
s=$(post /download/renew/switch login="$RL" secret="$RPW" action=switch); expect_page 409 renew.not_downloaded "$s" "switch before the download"
s=$(post /download/renew/file login="$RL" secret="$RPW" device=linux)
[ "$s" = 200 ] || ik_fail "renewed download: $s $(outcome)"
grep -qi '^content-type: application/x-pkcs12' "$TMP/hdr" || ik_fail "renewal content type"
cp "$TMP/body" "$TMP/alice2.p12"; printf '%s' "$RPW" > "$TMP/rpw"
openssl pkcs12 -in "$TMP/alice2.p12" -passin file:"$TMP/rpw" -nokeys -clcerts -out "$TMP/alice2.pem" 2>/dev/null \
	|| ik_fail "the renewed .p12 does not open with the chosen password"
openssl x509 -in "$TMP/alice2.pem" -noout -subject | grep -q 'CN *= *alice-phone' || ik_fail "renewed CN"
NEWSER=$(openssl x509 -in "$TMP/alice2.pem" -noout -serial | cut -d= -f2)
ik_api carol "$AUD" GET "/api/v1/certificates/$CA/pem" >/dev/null; OLDSER=$(openssl x509 -in "$TMP/body" -noout -serial | cut -d= -f2)
[ "$(cert_field "$CA" state)" = active ] || ik_fail "the old certificate is not valid during the overlap"
s=$(post /download/renew/file login="$RL" secret="$RPW" device=linux); expect_page 410 renew.used "$s" "the spent link"
grep -q 'id="switchform"' "$TMP/body" || ik_fail "the spent link's page does not offer the switch"
ik_ok "renewal link: missing link/password, bad device or file kind, wrong password refused; the renewed .p12 opens with the chosen password; spent link -> 'already downloaded' with the switch"

# ---- the switch ----
s=$(post /download/renew/switch login="$RL" secret=Wrong-Pass-123 action=switch); expect_page 401 renew.bad "$s" "switch, wrong password"
s=$(post /download/renew/switch login="$RL" action=switch); expect_page 400 renew.missing_password "$s" "switch without password"
s=$(ik_req POST /download/renew/switch -b "$UJ" --data-urlencode "login=$RL" --data-urlencode "secret=$RPW")
[ "$s" = 403 ] || ik_fail "switch without CSRF: $s"
[ "$(cert_field "$CA" state)" = active ] || ik_fail "a refused switch revoked something"
s=$(post /download/renew/switch login="$RL" secret="$RPW" action=switch); expect_page 202 renew.switched "$s" "switch"
grep -qi "$NEWSER" "$TMP/body" || ik_fail "the switched page does not name the new serial"
for _ in $(seq 1 300); do [ "$(cert_field "$CA" state)" = revoked ] && break; sleep 0.1; done
[ "$(cert_field "$CA" state)" = revoked ] || ik_fail "old certificate not revoked"
[ "$(cert_field "$CA" reason)" = 4 ] || ik_fail "old certificate not revoked as superseded"
oncrl=0
for _ in $(seq 1 300); do
	curl -s --cacert "$TMP/tls.pem" -o "$TMP/crl.der" "$BASE/crl/issuing-ca.crl"
	if openssl crl -inform DER -in "$TMP/crl.der" -noout -text 2>/dev/null | tr -d ' ' | grep -qix "SerialNumber:$OLDSER"; then oncrl=1; break; fi
	sleep 0.1
done
[ "$oncrl" = 1 ] || ik_fail "old serial $OLDSER not on the CRL: $(openssl crl -inform DER -in "$TMP/crl.der" -noout -text | head -30)"
openssl crl -inform DER -in "$TMP/crl.der" -noout -text | tr -d ' ' | grep -A5 -ix "SerialNumber:$OLDSER" | grep -q 'Superseded' || ik_fail "CRL reason not superseded"
s=$(post /download/renew/switch login="$RL" secret="$RPW" action=switch); expect_page 409 renew.switch_state "$s" "second switch"
ik_ok "switch: wrong/missing password and CSRF refused; confirmed -> old certificate revoked (superseded) and on the CRL; a second switch says it is done"

# ---- kenji renews his iPhone: the renewal as a configuration profile, then skips ----
s=$(page /download/renew -H 'Accept-Language: en')
s=$(post /download/renew/ask user=kenji email=kenji@example.jp password="$RPW" password2="$RPW"); expect_page 202 renew.sent "$s" "kenji asks"
m=$(wait_mail renewal_ready kenji@example.jp); RK=$(renewal_link "$m")
s=$(page "/download/renew?id=$RK" -H 'Accept-Language: en')
LANGH=(-H 'Accept-Language: en')
s=$(post /download/renew/file login="$RK" secret="$RPW" device=ipados file=mobileconfig)
LANGH=()
[ "$s" = 200 ] || ik_fail "renewal profile: $s $(outcome)"
grep -qi '^content-type: application/x-apple-aspen-config' "$TMP/hdr" || ik_fail "renewal profile content type"
cp "$TMP/body" "$TMP/kenji2.mobileconfig"
info2=$(check_profile "$TMP/kenji2.mobileconfig" "$TMP/kenji2")
case "$info2" in "Client certificate kenji-iphone|"*) ;; *) ik_fail "profile names not in English: $info2" ;; esac
[ "${info2##*|}" != "${info##*|}" ] || ik_fail "two profiles share a PayloadUUID"
openssl pkcs12 -in "$TMP/kenji2.p12" -passin file:"$TMP/rpw" -nokeys -clcerts 2>/dev/null | grep -q 'CN *= *kenji-iphone' \
	|| ik_fail "the renewal profile's PKCS#12 does not open with the chosen password"
cmp -s "$TMP/kenji2.root.der" "$DER_ROOT" || ik_fail "renewal profile root payload"
s=$(post /download/renew/switch login="$RK" action=skip); expect_page 200 renew.skipped "$s" "skip the switch"
sleep 1
[ "$(cert_field "$CK" state)" = active ] || ik_fail "skipping revoked the old certificate"
ik_ok "renewal for iPad as a .mobileconfig (English names, new UUIDs, PKCS#12 opens with the chosen password, root payload); skip -> the old one stays valid"

# ---- bob (certificate not eligible): no mail; dave: window closed after the link, then
# no longer eligible, then the link locks ----
s=$(page /download/renew)
s=$(post /download/renew/ask user=dave email=dave@example.jp password="$RPW" password2="$RPW"); expect_page 202 renew.sent "$s" "dave asks"
m=$(wait_mail renewal_ready dave@example.jp); RD=$(renewal_link "$m")
for f in $(grep -l '^X-Inkan-Notice: renewal_ready' "$SINK"/*.eml); do
	if grep -qx bob@example.jp "${f%.eml}.rcpt"; then ik_fail "bob, whose certificate is not eligible, got a renewal link"; fi
done
s=$(ik_api admin "$ADM" PUT /api/v1/settings '{"renewal_window_start":"2020-01-01","renewal_window_end":"2020-01-31"}')
ik_expect 200 - "$s" "close the window"
s=$(page "/download/renew?id=$RD")
s=$(post /download/renew/file login="$RD" secret="$RPW" device=linux); expect_page 409 renew.closed "$s" "link used after the window closed"
s=$(ik_api admin "$ADM" PUT /api/v1/settings "{\"renewal_window_start\":\"$today\",\"renewal_window_end\":\"$later\"}")
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$CD/revoke" '{"reason":"keyCompromise"}'); ik_expect 202 - "$s" "revoke dave's certificate"
for _ in $(seq 1 300); do [ "$(cert_field "$CD" state)" = revoked ] && break; sleep 0.1; done
s=$(post /download/renew/file login="$RD" secret="$RPW" device=linux); expect_page 409 renew.not_eligible "$s" "link for a revoked certificate"
for _ in 1 2 3 4 5; do s=$(post /download/renew/file login="$RD" secret=Wrong-Pass-123 device=linux); done
s=$(post /download/renew/file login="$RD" secret="$RPW" device=linux); expect_page 423 renew.locked "$s" "locked link"
s=$(post /download/renew/file login=rn-NOSUCHLINK secret="$RPW" device=linux); expect_page 401 renew.bad "$s" "unknown link"
ik_ok "not eligible: no mail for bob; a link after the window closed -> 'closed'; for a revoked certificate -> 'not eligible'; 5 wrong passwords lock the link; unknown link -> 'wrong'"

# ---- CSRF on the renewal file form; no secret in the log or the mails ----
s=$(ik_req POST /download/renew/file -b "$UJ" --data-urlencode "login=$RK" --data-urlencode "secret=$RPW" --data-urlencode device=linux)
[ "$s" = 403 ] || ik_fail "renewal download without CSRF: $s"
grep -qF -- "$RPW" "$TMP/rad.log" && ik_fail "the renewal password is in the RA log"
for f in "$SINK"/*.eml; do grep -qF -- "$RPW" "$f" && ik_fail "the renewal password is in $f"; done
inkan-rad verify-history -c "$TMP/ra.conf" | grep -q '^OK' || ik_fail "history chain"
ik_ok "CSRF on the renewal forms; no password in the log or any mail; history chain intact"
