#!/usr/bin/env bash
# "Issue N more" in a real browser: Debian's headless Chromium driven by playwright-core
# (tests/browser/batches.mjs) against inkan-rad + the signer on a SoftHSM token.  A batch of
# 200 started from the form, its progress bar moving without a reload, 100 %, the one ZIP
# downloaded and opened with openssl, the page saying who took it, the dashboard's
# renewal-window banner.  Screenshots go to $INKAN_BUILD/screenshots.
. "$(dirname "$0")/lib.sh"
BROWSER_DIR="$INKAN_SRC/tests/browser"
command -v node >/dev/null || ik_fail "node is not installed (firmware/debian-packages.txt: nodejs)"
[ -x /usr/bin/chromium ] || ik_fail "chromium is not installed (firmware/debian-packages.txt)"
[ -d "$BROWSER_DIR/node_modules/playwright-core" ] ||
	ik_fail "playwright-core is missing: run 'npm ci' in tests/browser (firmware/install-deps.sh does)"
ik_setup ec-p256
ik_start_signer
ik_ra_officers
# small groups; the browser script holds the signer (SIGSTOP) while the batch starts and lets
# it run in 20 ms steps until the page has shown a value between 0 and 100 %, so the bar is
# seen moving however fast the queue is
ik_start_ra "queue_group = 8"
rc=0
BASE="$BASE" TMP="$TMP" SHOTS="$INKAN_BUILD/screenshots" OFFICER_PW="$OFFICER_PW" \
	ADMIN_PW="$ADMIN_PW" COUNT="${COUNT:-200}" SIGNER_PID="$SIGNER_PID" \
	node "$BROWSER_DIR/batches.mjs" || rc=$?
kill -CONT "$SIGNER_PID" 2>/dev/null || true
[ "$rc" = 0 ] || ik_fail "browser test"
# what the browser did is in the RA's own record, and the chain is intact
n=$(sqlite3 "$TMP/ra.sqlite" "SELECT COUNT(*) FROM history WHERE op = 'batch_download' AND actor = 'olivia'")
[ "$n" = 1 ] || ik_fail "batch_download recorded $n times"
inkan-rad verify-history -c "$TMP/ra.conf" | grep -q '^OK' || ik_fail "history chain after the browser test"
ik_ok "browser test; one download recorded; history chain intact"
