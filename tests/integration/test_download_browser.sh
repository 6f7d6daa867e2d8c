#!/usr/bin/env bash
# The end user's pages in a real browser: Debian's headless Chromium driven by
# playwright-core (tests/browser/enduser.mjs) against inkan-rad + the signer on a SoftHSM
# token, with real mail (msmtp -> an aiosmtpd sink): the first download for an iPhone as a
# configuration profile, and the users' own renewal (ask, link from the mail, renewed .p12,
# switch).  Screenshots go to $INKAN_BUILD/screenshots.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mail.sh"
BROWSER_DIR="$INKAN_SRC/tests/browser"
command -v node >/dev/null || ik_fail "node is not installed (firmware/debian-packages.txt: nodejs)"
[ -x /usr/bin/chromium ] || ik_fail "chromium is not installed (firmware/debian-packages.txt)"
[ -d "$BROWSER_DIR/node_modules/playwright-core" ] ||
	ik_fail "playwright-core is missing: run 'npm ci' in tests/browser (firmware/install-deps.sh does)"
ik_mail_ra_start

newcert() { # USER EMAIL LANG CN DAYS -> "certid login password"
	local s u d
	s=$(ik_api olivia "$OFF" POST /api/v1/users "{\"external_id\":\"$1\",\"email\":\"$2\",\"lang\":\"$3\"}")
	ik_expect 201 - "$s" "user $1" >&2; u=$(ik_json 'd["id"]')
	s=$(ik_api olivia "$OFF" POST "/api/v1/users/$u/devices" '{"name":"dev"}'); d=$(ik_json 'd["id"]')
	s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$d/certificates" "{\"common_name\":\"$4\",\"validity_days\":$5}")
	ik_expect 201 - "$s" "issue $4" >&2
	echo "$(ik_json 'd["certificate"]["id"]') $(ik_json 'd["download"]["login"]') $(ik_json 'd["download"]["password"]')"
}
read -r CI LI PI < <(newcert hanako hanako@example.jp en hanako-iphone 300)
read -r CR LR PR < <(newcert taro taro@example.jp ja taro-laptop 20)
s=$(ik_req POST /download/p12 "${J[@]}" --data "{\"login\":\"$LR\",\"secret\":\"$PR\",\"password\":\"Xy7!pass-word\",\"device\":\"windows\"}")
[ "$s" = 200 ] || ik_fail "taro's first download: $s"
today=$(TZ=Asia/Tokyo date +%Y-%m-%d); later=$(TZ=Asia/Tokyo date -d '+30 days' +%Y-%m-%d)
s=$(ik_api admin "$ADM" PUT /api/v1/settings "{\"renewal_window_start\":\"$today\",\"renewal_window_end\":\"$later\"}")
ik_expect 200 - "$s" "open the renewal window"
openssl x509 -in "$TMP/ca/root-ca.pem" -outform DER -out "$TMP/root.der"

BASE="$BASE" TMP="$TMP" SHOTS="$INKAN_BUILD/screenshots" SINK="$SINK" INKAN_SRC="$INKAN_SRC" \
	IOS_LOGIN="$LI" IOS_SECRET="$PI" RENEW_USER=taro RENEW_EMAIL=taro@example.jp \
	node "$BROWSER_DIR/enduser.mjs" || ik_fail "browser test"

# what the browser did is what the RA recorded
s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$CI"); [ "$(ik_json 'd["state"]')" = active ] || ik_fail "hanako's certificate not issued"
for _ in $(seq 1 100); do
	s=$(ik_api carol "$AUD" GET "/api/v1/certificates/$CR"); [ "$(ik_json 'd["state"]')" = revoked ] && break; sleep 0.1
done
[ "$(ik_json 'd["state"]')" = revoked ] && [ "$(ik_json 'd["reason"]')" = 4 ] || ik_fail "taro's old certificate not revoked as superseded: $(cat "$TMP/body")"
inkan-rad verify-history -c "$TMP/ra.conf" | grep -q '^OK' || ik_fail "history chain after the browser test"
ik_ok "browser test; the old certificate revoked as superseded; history chain intact"
