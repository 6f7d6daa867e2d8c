#!/usr/bin/env bash
# The web pages in a real browser: Debian's headless Chromium driven by playwright-core
# (tests/browser/ui.mjs) against inkan-rad + the signer on a SoftHSM token.  Login, issue
# one, the end user's download opened by openssl, revoke selected, bulk upload with a bad
# row in both modes, history search, language switch, CSRF on every form, escaping.
# Screenshots go to $INKAN_BUILD/screenshots.
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
BASE="$BASE" TMP="$TMP" SHOTS="$INKAN_BUILD/screenshots" OFFICER_PW="$OFFICER_PW" \
	node "$BROWSER_DIR/ui.mjs" || ik_fail "browser test"
# the RA's own record agrees: the chain is intact after everything the browser did
inkan-rad verify-history -c "$TMP/ra.conf" | grep -q '^OK' || ik_fail "history chain after the browser test"
ik_ok "browser test; history chain intact"
