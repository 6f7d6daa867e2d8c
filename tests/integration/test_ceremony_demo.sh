#!/usr/bin/env bash
# test_ceremony_demo: `inkan-ceremony demo` on a throw-away SoftHSM token, for EC P-256 and
# RSA-3072 — a valid chain with the right CA extensions, keys that never leave the token,
# and every refusal (keys already there, files already there, loose PIN file, usage).
set -euo pipefail

: "${INKAN_BUILD:?set INKAN_BUILD to the build directory}"
: "${INKAN_SRC:?set INKAN_SRC to the source directory}"
export INKAN_BUILD
CEREMONY="$INKAN_BUILD/ceremony/inkan-ceremony"
ATTRS="$INKAN_BUILD/tests/tool_p11attrs"
MODULE=/usr/lib/softhsm/libsofthsm2.so

TMP=$(mktemp -d /tmp/inkan-ceremony-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
[ -x "$CEREMONY" ] || fail "$CEREMONY not built"
[ -x "$ATTRS" ] || fail "$ATTRS not built"

# expect_rc WANT OUTFILE CMD...: run CMD (stdout+stderr to OUTFILE), insist on exit code WANT
expect_rc() {
	local want=$1 out=$2 rc=0
	shift 2
	"$@" >"$out" 2>&1 || rc=$?
	[ "$rc" -eq "$want" ] || { cat "$out" >&2; fail "exit $rc, wanted $want: $*"; }
}

# x509_has FILE PATTERN: the text dump of FILE contains PATTERN (fixed string)
x509_has() {
	openssl x509 -in "$1" -noout -text -nameopt utf8,sep_comma_plus_space >"$TMP/text" ||
		fail "openssl cannot read $1"
	grep -qF -- "$2" "$TMP/text" || fail "$(basename "$1") lacks '$2'"
}

# fpr FILE: the SHA-256 fingerprint as openssl computes it (colon hex, upper case)
fpr() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'; }

run_alg() {
	local alg=$1 keytext=$2 sigtext=$3 dir="$TMP/$1" ca out
	ca="$dir/ca"
	"$INKAN_SRC/hsm/softhsm-token" "$dir/hsm" "tok-$alg" >/dev/null
	export SOFTHSM2_CONF="$dir/hsm/softhsm2.conf"
	local pin="$dir/hsm/user.pin"

	# --- the ceremony itself
	expect_rc 0 "$dir/run1.out" "$CEREMONY" demo --out "$ca" --token "tok-$alg" \
		--pin-file "$pin" --alg "$alg" --org "Inkan Test" --country JP
	for f in root-ca.pem root-ca.der issuing-ca.pem issuing-ca.der chain.pem fingerprints.txt; do
		[ -f "$ca/$f" ] || fail "$alg: $f not written"
		[ "$(stat -c %a "$ca/$f")" = 644 ] || fail "$alg: $f mode $(stat -c %a "$ca/$f")"
	done
	grep -q "keys stay on token tok-$alg: inkan-root (id 01), inkan-issuing-ca (id 02), inkan-ocsp (id 03" \
		"$dir/run1.out" || fail "$alg: summary lacks the key line"
	ok "$alg: demo ran, six files written (0644)"

	out=$(openssl verify -x509_strict -CAfile "$ca/root-ca.pem" "$ca/issuing-ca.pem" 2>&1) ||
		fail "$alg: openssl verify: $out"
	[ "$out" = "$ca/issuing-ca.pem: OK" ] || fail "$alg: openssl verify said: $out"
	out=$(openssl verify -x509_strict -check_ss_sig -CAfile "$ca/root-ca.pem" "$ca/root-ca.pem" 2>&1) ||
		fail "$alg: root does not verify itself: $out"
	ok "$alg: openssl verify -x509_strict: issuing CA chains to the root; root self-signature good"

	# the issuing CA
	local ica="$ca/issuing-ca.pem" root="$ca/root-ca.pem"
	x509_has "$ica" "Version: 3"
	x509_has "$ica" "Subject: C=JP, O=Inkan Test, CN=Inkan Test Issuing CA 1"
	x509_has "$ica" "Issuer: C=JP, O=Inkan Test, CN=Inkan Test Root CA"
	x509_has "$ica" "X509v3 Basic Constraints: critical"
	x509_has "$ica" "CA:TRUE, pathlen:0"
	x509_has "$ica" "X509v3 Key Usage: critical"
	x509_has "$ica" "Certificate Sign, CRL Sign"
	x509_has "$ica" "X509v3 Subject Key Identifier"
	x509_has "$ica" "X509v3 Authority Key Identifier"
	x509_has "$ica" "$keytext"
	x509_has "$ica" "Signature Algorithm: $sigtext"
	if grep -q "Digital Signature" "$TMP/text"; then fail "$alg: issuing CA has digitalSignature"; fi
	# the root
	x509_has "$root" "Subject: C=JP, O=Inkan Test, CN=Inkan Test Root CA"
	x509_has "$root" "Issuer: C=JP, O=Inkan Test, CN=Inkan Test Root CA"
	x509_has "$root" "X509v3 Basic Constraints: critical"
	x509_has "$root" "CA:TRUE"
	if grep -q "pathlen" "$TMP/text"; then fail "$alg: root has a path length"; fi
	x509_has "$root" "Certificate Sign, CRL Sign"
	x509_has "$root" "$keytext"
	x509_has "$root" "Signature Algorithm: $sigtext"
	ok "$alg: CA:TRUE, pathlen:0 (issuing only), keyCertSign+cRLSign critical, SKI/AKI, $keytext"

	# the AKI of the issuing CA is the root's SKI
	local ski aki
	ski=$(openssl x509 -in "$root" -noout -ext subjectKeyIdentifier | tail -n 1 | tr -d ' ')
	aki=$(openssl x509 -in "$ica" -noout -ext authorityKeyIdentifier | tail -n 1 | tr -d ' ' |
		sed 's/^keyid://')
	[ -n "$ski" ] && [ "$ski" = "$aki" ] || fail "$alg: AKI '$aki' is not the root SKI '$ski'"
	# serials: 16 octets, positive
	for c in "$root" "$ica"; do
		s=$(openssl x509 -in "$c" -noout -serial | sed 's/^serial=//')
		[ "${#s}" -eq 32 ] || fail "$alg: serial $s is not 16 octets"
		case "$s" in [0-7]*) ;; *) fail "$alg: serial $s is negative";; esac
	done
	# validity: root 20 years, issuing 10 years, issuing ends before the root
	local rend iend now
	rend=$(date -d "$(openssl x509 -in "$root" -noout -enddate | sed 's/^notAfter=//')" +%s)
	iend=$(date -d "$(openssl x509 -in "$ica" -noout -enddate | sed 's/^notAfter=//')" +%s)
	now=$(date +%s)
	[ $((rend - now)) -gt $((20 * 365 * 86400)) ] && [ $((rend - now)) -lt $((20 * 366 * 86400)) ] ||
		fail "$alg: root validity is not 20 years"
	[ $((iend - now)) -gt $((10 * 365 * 86400)) ] && [ $((iend - now)) -lt $((10 * 366 * 86400)) ] ||
		fail "$alg: issuing validity is not 10 years"
	[ "$iend" -le "$rend" ] || fail "$alg: issuing CA outlives the root"
	openssl x509 -in "$root" -noout -checkend 0 >/dev/null || fail "$alg: root not valid now"
	ok "$alg: AKI = root SKI, 16-octet positive serials, 20/10-year validity"

	# DER = PEM, chain = issuing then root, fingerprints match openssl's
	cmp -s <(openssl x509 -in "$ca/root-ca.der" -inform DER -outform DER) \
		<(openssl x509 -in "$root" -outform DER) || fail "$alg: root-ca.der differs from the PEM"
	cmp -s <(openssl x509 -in "$ca/issuing-ca.der" -inform DER -outform DER) \
		<(openssl x509 -in "$ica" -outform DER) || fail "$alg: issuing-ca.der differs from the PEM"
	cmp -s "$ca/chain.pem" <(cat "$ica" "$root") || fail "$alg: chain.pem is not issuing+root"
	grep -qx "root-ca.pem SHA256 Fingerprint=$(fpr "$root")" "$ca/fingerprints.txt" ||
		fail "$alg: root fingerprint wrong in fingerprints.txt"
	grep -qx "issuing-ca.pem SHA256 Fingerprint=$(fpr "$ica")" "$ca/fingerprints.txt" ||
		fail "$alg: issuing fingerprint wrong in fingerprints.txt"
	grep -qF "$(fpr "$root")" "$dir/run1.out" || fail "$alg: summary lacks the root fingerprint"
	ok "$alg: DER = PEM, chain.pem order, fingerprints.txt and summary match openssl"

	# the private keys stay in the token: sensitive, never extractable, value unreadable
	expect_rc 0 "$dir/attrs.out" "$ATTRS" "$MODULE" "tok-$alg" "$pin" inkan-root inkan-issuing-ca \
		inkan-ocsp
	[ "$(grep -c 'sensitive=1 extractable=0 always_sensitive=1 never_extractable=1 read_secret=refused' \
		"$dir/attrs.out")" -eq 3 ] || { cat "$dir/attrs.out" >&2; fail "$alg: key attributes"; }
	ok "$alg: the three private keys (root, issuing CA, OCSP responder) sensitive and non-extractable; the token refuses to reveal them"

	# --- refusals
	# keys already on the token: exit 1, names the key, writes nothing (dir not even created)
	expect_rc 1 "$dir/run2.out" "$CEREMONY" demo --out "$dir/ca2" --token "tok-$alg" \
		--pin-file "$pin" --alg "$alg"
	grep -q "key inkan-root already exists on token tok-$alg: refusing to overwrite" \
		"$dir/run2.out" || { cat "$dir/run2.out" >&2; fail "$alg: no 'already exists' message"; }
	[ ! -e "$dir/ca2" ] || fail "$alg: refused run left $dir/ca2 behind"
	mkdir "$dir/ca2b"
	expect_rc 1 "$dir/run2b.out" "$CEREMONY" demo --out "$dir/ca2b" --token "tok-$alg" \
		--pin-file "$pin" --alg "$alg"
	[ -z "$(ls -A "$dir/ca2b")" ] || fail "$alg: refused run wrote into an existing dir"
	ok "$alg: second run refused (keys exist), nothing written"

	# output file already there: refused before the token is touched, file untouched
	local before
	before=$(sha256sum "$ca/root-ca.pem")
	expect_rc 1 "$dir/run3.out" "$CEREMONY" demo --out "$ca" --token "tok-$alg" --pin-file "$pin"
	grep -q "$ca/root-ca.pem already exists: refusing to overwrite" "$dir/run3.out" ||
		{ cat "$dir/run3.out" >&2; fail "$alg: existing file not named"; }
	[ "$before" = "$(sha256sum "$ca/root-ca.pem")" ] || fail "$alg: root-ca.pem changed"
	mkdir "$dir/ca3" && : >"$dir/ca3/chain.pem"
	expect_rc 1 "$dir/run3b.out" "$CEREMONY" demo --out "$dir/ca3" --token "tok-$alg" --pin-file "$pin"
	grep -q "$dir/ca3/chain.pem already exists" "$dir/run3b.out" || fail "$alg: chain.pem not named"
	[ "$(ls -A "$dir/ca3")" = chain.pem ] || fail "$alg: refused run wrote into ca3"
	ok "$alg: existing output files refused and named"

	# PIN file readable by others (0644, 0640): refused; and an unreadable path
	for mode in 0644 0640; do
		cp "$pin" "$dir/pin.$mode"
		chmod "$mode" "$dir/pin.$mode"
		expect_rc 1 "$dir/run4.out" "$CEREMONY" demo --out "$dir/ca4" --token "tok-$alg" \
			--pin-file "$dir/pin.$mode"
		grep -q "PIN file $dir/pin.$mode" "$dir/run4.out" || fail "$alg: PIN $mode message"
		[ ! -e "$dir/ca4" ] || fail "$alg: PIN refusal left $dir/ca4"
	done
	expect_rc 1 "$dir/run4.out" "$CEREMONY" demo --out "$dir/ca4" --token "tok-$alg" \
		--pin-file "$dir/no-such-pin"
	ok "$alg: PIN files of mode 0644/0640 and a missing PIN file refused"

	# usage errors exit 2 (and touch nothing)
	expect_rc 2 "$dir/u.out" "$CEREMONY"
	expect_rc 2 "$dir/u.out" "$CEREMONY" no-such-subcommand
	grep -q "unknown subcommand" "$dir/u.out" || fail "unknown subcommand not named"
	expect_rc 2 "$dir/u.out" "$CEREMONY" demo --token "tok-$alg" --pin-file "$pin"
	expect_rc 2 "$dir/u.out" "$CEREMONY" demo --out "$dir/ca5" --token "tok-$alg" \
		--pin-file "$pin" --alg ec-p384
	expect_rc 2 "$dir/u.out" "$CEREMONY" demo --out "$dir/ca5" --token "tok-$alg" \
		--pin-file "$pin" --country jpn
	expect_rc 2 "$dir/u.out" "$CEREMONY" demo --out "$dir/ca5" --token "tok-$alg" \
		--pin-file "$pin" --bogus
	expect_rc 2 "$dir/u.out" "$CEREMONY" demo --out "$dir/ca5" --token "tok-$alg" \
		--pin-file "$pin" extra-arg
	expect_rc 2 "$dir/u.out" "$CEREMONY" demo --out "$dir/ca5" --token "tok-$alg" \
		--pin-file "$pin" --org ""
	[ ! -e "$dir/ca5" ] || fail "usage error created $dir/ca5"
	ok "$alg: usage errors exit 2"

	# the wrong token or a wrong PIN: exit 1, no keys generated, nothing written
	printf 'not-the-pin\n' >"$dir/wrong.pin" && chmod 0600 "$dir/wrong.pin"
	expect_rc 1 "$dir/run6.out" "$CEREMONY" demo --out "$dir/ca6" --token "tok-$alg" \
		--pin-file "$dir/wrong.pin"
	expect_rc 1 "$dir/run6.out" "$CEREMONY" demo --out "$dir/ca6" --token "no-such-token" \
		--pin-file "$pin"
	[ ! -e "$dir/ca6" ] || fail "$alg: failed run left $dir/ca6"
	ok "$alg: wrong PIN and unknown token refused"
}

run_alg ec-p256 "NIST CURVE: P-256" ecdsa-with-SHA256
run_alg rsa-3072 "Public-Key: (3072 bit)" sha256WithRSAEncryption

# an existing key under only one of the two labels is enough to refuse, before any keygen
dir="$TMP/partial"
"$INKAN_SRC/hsm/softhsm-token" "$dir/hsm" tok-partial >/dev/null
export SOFTHSM2_CONF="$dir/hsm/softhsm2.conf"
"$INKAN_BUILD/hsm/inkan-token" keygen --label tok-partial --pin-file "$dir/hsm/user.pin" \
	--key-label inkan-issuing-ca --key-id 02 --alg ec-p256 >/dev/null
expect_rc 1 "$dir/run.out" "$CEREMONY" demo --out "$dir/ca" --token tok-partial \
	--pin-file "$dir/hsm/user.pin"
grep -q "key inkan-issuing-ca already exists on token tok-partial" "$dir/run.out" ||
	{ cat "$dir/run.out" >&2; fail "partial: issuing key not named"; }
expect_rc 2 "$dir/attrs.out" "$ATTRS" "$MODULE" tok-partial "$dir/hsm/user.pin" inkan-root
grep -q "0 private keys labelled inkan-root" "$dir/attrs.out" ||
	{ cat "$dir/attrs.out" >&2; fail "partial: a root key was generated before refusing"; }
[ ! -e "$dir/ca" ] || fail "partial: files written"
ok "one existing CA key refuses the whole ceremony; no root key generated"

echo "PASS test_ceremony_demo"
