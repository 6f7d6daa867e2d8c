#!/usr/bin/env bash
# The officer pages of issue #4 in a real browser: Debian's headless Chromium driven by
# playwright-core (tests/browser/officer.mjs) against inkan-rad + the signer on a SoftHSM
# token.  Password change, settings (an error, then saved), bulk errors in Japanese, the
# CSV export's rows, bulk revoke from the list, no CSP violation.  Screenshots go to
# $INKAN_BUILD/screenshots (officer-*.png).
. "$(dirname "$0")/lib.sh"
BROWSER_DIR="$INKAN_SRC/tests/browser"
command -v node >/dev/null || ik_fail "node is not installed (firmware/debian-packages.txt: nodejs)"
[ -x /usr/bin/chromium ] || ik_fail "chromium is not installed (firmware/debian-packages.txt)"
[ -d "$BROWSER_DIR/node_modules/playwright-core" ] ||
	ik_fail "playwright-core is missing: run 'npm ci' in tests/browser (firmware/install-deps.sh does)"
ik_setup ec-p256
ik_start_signer
ik_ra_officers
ik_start_ra
BASE="$BASE" TMP="$TMP" SHOTS="$INKAN_BUILD/screenshots" ADMIN_PW="$ADMIN_PW" \
	node "$BROWSER_DIR/officer.mjs" || ik_fail "browser test"
# what the browser did is in the RA's records
n=$(sqlite3 "$TMP/ra.sqlite" "SELECT count(*) FROM history WHERE op='password_changed' AND actor='admin'")
[ "$n" = 1 ] || ik_fail "password_changed entries: $n"
n=$(sqlite3 "$TMP/ra.sqlite" "SELECT count(*) FROM history WHERE op='setting_change'")
[ "$n" = 3 ] || ik_fail "setting_change entries: $n"
inkan-rad verify-history -c "$TMP/ra.conf" | grep -q '^OK' || ik_fail "history chain after the browser test"
ik_ok "officer pages in the browser; history has the password change and 3 settings; chain intact"
