#!/usr/bin/env bash
# A bad config stops start-up with a message naming the file, line and key.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256

expect_bad() {
	local want=$1 err
	if err=$(inkan-signerd -c "$TMP/bad.conf" --check-config 2>&1); then
		ik_fail "accepted a bad config ($want)"
	fi
	case "$err" in *"$want"*) ;; *) ik_fail "message '$err' does not name '$want'" ;; esac
}

inkan-signerd -c "$TMP/signer.conf" --check-config | grep -q OK || ik_fail "good config refused"

sed 's/^workers = 2/workerz = 2/' "$TMP/signer.conf" > "$TMP/bad.conf"
expect_bad "bad.conf:6: [signer] workerz: unknown key"
sed 's/^workers = 2/workers = 99/' "$TMP/signer.conf" > "$TMP/bad.conf"
expect_bad "[signer] workers: expected a number in 1..16"
sed 's/^max_days = 397/max_days = 2000/' "$TMP/signer.conf" > "$TMP/bad.conf"
expect_bad "[profile.client] max_days"
sed 's/^key_types = .*/key_types = ec-p256 dsa/' "$TMP/signer.conf" > "$TMP/bad.conf"
expect_bad "unknown key type 'dsa'"
sed 's/^C = JP/C = Japan/' "$TMP/signer.conf" > "$TMP/bad.conf"
expect_bad "C: must be two capital letters"
grep -v '^crl_url' "$TMP/signer.conf" > "$TMP/bad.conf"
expect_bad "crl_url: required"
grep -v '^ledger' "$TMP/signer.conf" > "$TMP/bad.conf"
expect_bad "[signer] ledger is required"
sed 's/^key_label = inkan-issuing-ca/&\nsession_copy = maybe/' "$TMP/signer.conf" > "$TMP/bad.conf"
expect_bad "[hsm] session_copy: 'maybe' is not yes or no"
printf '[nonsense]\nx = 1\n' >> "$TMP/bad.conf"
{ cat "$TMP/signer.conf"; printf '[nonsense]\nx = 1\n'; } > "$TMP/bad.conf"
expect_bad "[nonsense] x: unknown section"
ik_ok "bad configs refused with file, line and key"

# the PIN file must not be readable by others
chmod 0644 "$TMP/hsm/user.pin"
if inkan-signerd -c "$TMP/signer.conf" > "$TMP/start.log" 2>&1; then ik_fail "started with a 0644 PIN file"; fi
chmod 0400 "$TMP/hsm/user.pin"
ik_ok "a world-readable PIN file stops start-up"

# a CA certificate that does not match the HSM key stops start-up
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/other.key" \
	-subj "/CN=Other CA" -addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" -out "$TMP/other.pem" 2>/dev/null
sed "s#^cert = .*#cert = $TMP/other.pem#; s#^chain = .*##" "$TMP/signer.conf" > "$TMP/bad.conf"
if inkan-signerd -c "$TMP/bad.conf" > "$TMP/start.log" 2>&1; then ik_fail "started with a foreign CA cert"; fi
grep -q "does not match" "$TMP/start.log" || ik_fail "no clear message: $(cat "$TMP/start.log")"
ik_ok "a CA certificate that does not match the HSM key stops start-up"

# the issuing key signs through a session copy by default, through the token object with
# session_copy = no; both issue certificates that verify
ik_start_signer
ik_issue copied copied >/dev/null
grep -q "key 'inkan-issuing-ca' signs through a session copy" "$TMP/signer.log" ||
	ik_fail "the default signer does not sign through a session copy"
ik_stop_signer
sed -i 's/^key_label = inkan-issuing-ca/&\nsession_copy = no/' "$TMP/signer.conf"
: > "$TMP/signer.log"
ik_start_signer
ik_issue tokenobj tokenobj >/dev/null
! grep -q "session copy" "$TMP/signer.log" || ik_fail "session_copy = no still copies the key"
for c in copied tokenobj; do
	openssl verify -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" "$TMP/$c.pem" \
		>/dev/null || ik_fail "$c.pem does not verify"
done
ik_ok "session copy by default, the token object with session_copy = no; both verify"
