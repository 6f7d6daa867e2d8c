#!/usr/bin/env bash
# Interop: the OCSP responder certificate is renewed by a long-running signer when half its
# life is over, and answers keep verifying with `openssl ocsp` across two renewals and past
# the first responder certificate's expiry.  The signer runs under Debian's libfaketime with
# a clock read from a file, so days pass in seconds without a restart; openssl runs at the
# same fake time.
# libfaketime and AddressSanitizer both hook the clock at start-up and deadlock together, so
# the ASan build skips this test (exit 77); the gcc build runs it.
if [ "${INKAN_SANITIZE:-0}" = 1 ]; then
	echo "skipped: libfaketime cannot be preloaded into an ASan-instrumented signer"
	exit 77
fi
. "$(dirname "$0")/../integration/lib.sh"

FT=/usr/lib/x86_64-linux-gnu/faketime
[ -r "$FT/libfaketimeMT.so.1" ] || ik_fail "libfaketime is not installed (firmware/debian-packages.txt: faketime)"
ICA=$TMP/ca/issuing-ca.pem
ROOT=$TMP/ca/root-ca.pem
CLOCK=$TMP/clock
echo "+0d" >"$CLOCK"
# at the fake time (FAKETIME_NO_CACHE: every clock call reads $CLOCK again)
fake() {
	local lib=$1; shift
	LD_PRELOAD="$FT/$lib" FAKETIME_TIMESTAMP_FILE="$CLOCK" FAKETIME_NO_CACHE=1 DONT_FAKE_MONOTONIC=1 \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" "$@"
}

ik_setup ec-p256
printf '\n[ocsp]\ncert_days = 2\nlifetime = 3600\nrefresh = 300\n' >> "$TMP/signer.conf"
LD_PRELOAD="$FT/libfaketimeMT.so.1" FAKETIME_TIMESTAMP_FILE="$CLOCK" FAKETIME_NO_CACHE=1 DONT_FAKE_MONOTONIC=1 \
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
	inkan-signerd -c "$TMP/signer.conf" >>"$TMP/signer.log" 2>&1 &
SIGNER_PID=$!
for _ in $(seq 1 100); do
	[ -S "$TMP/signer.sock" ] && ik_signctl hello >/dev/null 2>&1 && break
	kill -0 "$SIGNER_PID" 2>/dev/null || ik_fail "signer exited: $(tail -5 "$TMP/signer.log")"
	sleep 0.1
done
ik_ra_officers
ik_start_ra "ocsp_max_age = 0"
ik_issue u1 "renewal u1" >/dev/null 2>&1 || ik_fail "issue u1"
ik_issue u2 "renewal u2" >/dev/null 2>&1 || ik_fail "issue u2"

# ask NAME: an OCSP query at the fake time; checks it verifies; prints status and the
# responder certificate's serial, notBefore and notAfter (unix time)
ask() {
	fake libfaketime.so.1 openssl ocsp -issuer "$ICA" -cert "$TMP/$1.pem" -url "$BASE/ocsp" \
		-CAfile "$ROOT" -respout "$TMP/q.der" >"$TMP/q.out" 2>&1 || true
	grep -q '^Response verify OK' "$TMP/q.out" && ! grep -qi 'error' "$TMP/q.out" ||
		ik_fail "$1 at $(cat "$CLOCK"): the response does not verify: $(cat "$TMP/q.out")"
	/usr/bin/python3 - "$TMP/q.der" <<'PY'
import calendar, sys
from cryptography.x509 import ocsp
r = ocsp.load_der_ocsp_response(open(sys.argv[1], "rb").read())
c = r.certificates[0]
print(r.certificate_status.name, "%X" % c.serial_number,
      calendar.timegm(c.not_valid_before.utctimetuple()),
      calendar.timegm(c.not_valid_after.utctimetuple()))
PY
}
at() { echo "$1" >"$CLOCK"; sleep 0.2; }
now0=$(date +%s)

read -r st0 rs0 nb0 na0 < <(ask u1)
[ "$st0" = GOOD ] || ik_fail "u1 at +0: $st0"
[ $((na0 - nb0)) -le $((2 * 86400 + 600)) ] || ik_fail "responder certificate lives $((na0 - nb0)) s, configured 2 days"
ik_ok "day 0: good, responder certificate $rs0"

# a day and a half later: past half the responder certificate's life -> a new one
at "+36h"
read -r st1 rs1 nb1 na1 < <(ask u1)
[ "$st1" = GOOD ] || ik_fail "u1 at +36h: $st1"
[ "$rs1" != "$rs0" ] || ik_fail "the responder certificate was not renewed after half its life"
[ "$nb1" -gt $((now0 + 86400)) ] || ik_fail "the new responder certificate starts at $nb1, not at the fake time"
[ "$na1" -gt "$na0" ] || ik_fail "the new responder certificate does not outlive the old one"
ik_ok "+36 h: renewed without a restart ($rs0 -> $rs1), answer verifies"

# revoke u2 at the fake time: the renewed responder says so
ik_signctl revoke "$(ik_serial "$TMP/u2.pem")" --reason 1 >/dev/null || ik_fail "revoke u2"
read -r st2 rs2 _ _ < <(ask u2)
[ "$st2" = REVOKED ] || ik_fail "u2 after revocation: $st2"
[ "$rs2" = "$rs1" ] || ik_fail "the responder certificate changed again within its period"
ik_ok "+36 h: a revocation is answered by the renewed responder"

# three days on: the first responder certificate has expired; a second renewal answers
at "+3d"
read -r st3 rs3 nb3 _ < <(ask u1)
[ "$st3" = GOOD ] || ik_fail "u1 at +3d: $st3"
[ "$rs3" != "$rs1" ] && [ "$rs3" != "$rs0" ] || ik_fail "no second renewal at +3 d"
[ $((now0 + 3 * 86400)) -gt "$na0" ] || ik_fail "the test clock did not pass the first certificate's expiry"
read -r st4 _ _ _ < <(ask u2)
[ "$st4" = REVOKED ] || ik_fail "u2 at +3d: $st4"
ik_ok "+3 d: past the first responder certificate's expiry, a second renewal ($rs3) answers good and revoked"

ik_stop_ra
ik_stop_signer
ik_ok "OCSP responder certificate renewal across its half-life"
