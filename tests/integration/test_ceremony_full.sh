#!/usr/bin/env bash
# test_ceremony_full: `inkan-ceremony run` from ceremony files on SoftHSM — a full ceremony
# (offline root token with its PIN split 3-of-5, online issuing token with a 0400 PIN file),
# the chain verifying with openssl, the signer issuing with the result, the signed transcript
# verifying and failing after one changed byte, refusals to overwrite, a later ceremony
# unlocked by shares (M-1 shares and a corrupted share refused and named) that re-signs the
# issuing CA, signs a CA from a CSR and revokes the old one, interactive confirmation and
# shares typed at a terminal, and malformed ceremony files each named by line and key.
. "$(dirname "$0")/lib.sh"

ATTRS="$INKAN_BUILD/tests/tool_p11attrs"
MODULE=/usr/lib/softhsm/libsofthsm2.so
CER="$INKAN_BUILD/ceremony/inkan-ceremony"
[ -x "$CER" ] || ik_fail "$CER not built"

# expect_fail WANT CMD...: CMD exits 1 and its stderr contains WANT (a fixed string)
expect_fail() {
	local want=$1 rc=0
	shift
	"$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
	[ "$rc" -eq 1 ] || { cat "$TMP/out" "$TMP/err" >&2; ik_fail "exit $rc, wanted 1: $*"; }
	grep -qF -- "$want" "$TMP/err" || { cat "$TMP/err" >&2; ik_fail "stderr lacks '$want': $*"; }
}

# flip_byte FILE OFFSET: change one byte in place
flip_byte() {
	python3 - "$1" "$2" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, 'rb').read())
b[off] ^= 0x01
open(p, 'wb').write(bytes(b))
PY
}

# a SoftHSM store with no token yet: the ceremony initialises both (same config as softhsm-token)
mkdir -p "$TMP/hsm/tokens"
cat >"$TMP/hsm/softhsm2.conf" <<CONF
directories.tokendir = $TMP/hsm/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
export SOFTHSM2_CONF="$TMP/hsm/softhsm2.conf"

# paths are relative to the ceremony file's directory ($TMP)
cat >"$TMP/ceremony.ini" <<'INI'
# Inkan Test: offline root and online issuing CA
[ceremony]
title = Inkan Test root and issuing CA
out = ca
custodians = alice, bob, carol, dave, eve
threshold = 3
shares_dir = shares

[token.offline]
label = inkan-root
pin = shares

[token.online]
label = inkan
pin = file
pin_file = hsm/user.pin
so_pin_file = hsm/so.pin

[step.init-offline]
action = init-token
token = offline

[step.init-online]
action = init-token
token = online

[step.root-key]
action = generate-key
token = offline
key_label = inkan-root
key_id = 01
algorithm = ec-p384

[step.root]
action = self-sign
token = offline
key_label = inkan-root
country = JP
organization = Inkan Test
common_name = Inkan Test Root CA
validity_years = 20
output = root-ca

[step.ica-key]
action = generate-key
token = online
key_label = inkan-issuing-ca
key_id = 02
algorithm = ec-p256

[step.ica]
action = sign-ca
issuer = root
token = online
key_label = inkan-issuing-ca
country = JP
organization = Inkan Test
common_name = Inkan Test Issuing CA 1
validity_years = 10
path_length = 0
crl_url = http://127.0.0.1:8080/crl/root.crl
output = issuing-ca

[step.root-crl]
action = sign-crl
issuer = root
next_update_days = 365
INI

# ---- the dry run touches nothing
(cd / && "$CER" run "$TMP/ceremony.ini" --dry-run) >"$TMP/dry.out" 2>&1 || { cat "$TMP/dry.out"; ik_fail "dry run"; }
grep -q "generate a ec-p384 key \"inkan-root\" (id 01) on token \"inkan-root\"" "$TMP/dry.out" ||
	ik_fail "dry run does not describe the root key"
grep -q "new PIN split into 5 shares, any 3 of which unlock it" "$TMP/dry.out" || ik_fail "dry run: shares"
grep -q "dry run: the file and its inputs are valid; nothing was done" "$TMP/dry.out" || ik_fail "dry run end"
[ ! -e "$TMP/ca" ] && [ ! -e "$TMP/shares" ] && [ -z "$(ls -A "$TMP/hsm/tokens")" ] ||
	ik_fail "the dry run changed something"
ik_ok "dry run prints the plan and touches no token or file"

# ---- without --yes and without a terminal: refused before anything is touched
expect_fail "no terminal to confirm on" setsid -w "$CER" run "$TMP/ceremony.ini"
[ ! -e "$TMP/ca" ] && [ -z "$(ls -A "$TMP/hsm/tokens")" ] || ik_fail "unconfirmed run changed something"
ik_ok "no confirmation without a terminal: refused, nothing done"

# ---- the ceremony
(cd / && "$CER" run "$TMP/ceremony.ini" --yes) >"$TMP/run1.out" 2>&1 || { cat "$TMP/run1.out"; ik_fail "ceremony failed"; }
grep -q "transcript: $TMP/ca/transcript.json (signed: transcript.json.sig)" "$TMP/run1.out" ||
	ik_fail "no signed transcript announced"
for f in root-key.pub.pem root-ca.pem root-ca.der ica-key.pub.pem issuing-ca.pem issuing-ca.der \
	root-crl.crl root-crl.crl.pem fingerprints.txt ceremony.ini transcript.json transcript.json.sig; do
	[ -f "$TMP/ca/$f" ] || ik_fail "$f not written"
	[ "$(stat -c %a "$TMP/ca/$f")" = 644 ] || ik_fail "$f mode $(stat -c %a "$TMP/ca/$f")"
done
for c in alice bob carol dave eve; do
	[ "$(stat -c %a "$TMP/shares/$c.share")" = 400 ] || ik_fail "$c.share is not 0400"
	grep -q "^# custodian: $c (share [1-5] of 5; any 3 shares rebuild the PIN)" "$TMP/shares/$c.share" ||
		ik_fail "$c.share header"
done
[ "$(stat -c %a "$TMP/hsm/user.pin")" = 400 ] && [ "$(stat -c %a "$TMP/hsm/so.pin")" = 400 ] ||
	ik_fail "PIN files are not 0400"
cmp -s "$TMP/ceremony.ini" "$TMP/ca/ceremony.ini" || ik_fail "ceremony.ini copy differs"
ik_ok "ceremony ran: artifacts 0644, five share files 0400, online PIN and SO PIN files 0400"

# secrets never in the public output: no PIN, no share text
pin=$(cat "$TMP/hsm/user.pin")
so=$(cat "$TMP/hsm/so.pin")
[ "${#pin}" -ge 20 ] || ik_fail "online PIN too short"
if grep -rqF -e "$pin" -e "$so" "$TMP/ca" "$TMP/run1.out"; then ik_fail "a PIN leaked into the output"; fi
share_line=$(grep -v '^#' "$TMP/shares/bob.share" | head -n 1)
if grep -rqF -- "$share_line" "$TMP/ca" "$TMP/run1.out"; then ik_fail "a share leaked into the output"; fi
ik_ok "no PIN or share text in the artifacts, transcript or console output"

# the chain, as a relying party checks it
out=$(openssl verify -x509_strict -CAfile "$TMP/ca/root-ca.pem" "$TMP/ca/issuing-ca.pem" 2>&1) ||
	ik_fail "openssl verify: $out"
openssl verify -x509_strict -check_ss_sig -CAfile "$TMP/ca/root-ca.pem" "$TMP/ca/root-ca.pem" >/dev/null ||
	ik_fail "root self-signature"
openssl x509 -in "$TMP/ca/issuing-ca.pem" -noout -text >"$TMP/ica.txt"
grep -q "CA:TRUE, pathlen:0" "$TMP/ica.txt" && grep -q "Certificate Sign, CRL Sign" "$TMP/ica.txt" &&
	grep -q "URI:http://127.0.0.1:8080/crl/root.crl" "$TMP/ica.txt" &&
	grep -q "Signature Algorithm: ecdsa-with-SHA384" "$TMP/ica.txt" || ik_fail "issuing CA extensions"
openssl x509 -in "$TMP/ca/root-ca.pem" -noout -text | grep -q "NIST CURVE: P-384" || ik_fail "root not P-384"
openssl crl -in "$TMP/ca/root-crl.crl" -inform DER -CAfile "$TMP/ca/root-ca.pem" -noout 2>&1 |
	grep -q "verify OK" || ik_fail "root CRL does not verify"
openssl crl -in "$TMP/ca/root-crl.crl" -inform DER -noout -text | grep -A1 "CRL Number" | grep -q "1$" ||
	ik_fail "CRL number"
grep -qx "root-ca.pem SHA256 Fingerprint=$(openssl x509 -in "$TMP/ca/root-ca.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')" \
	"$TMP/ca/fingerprints.txt" || ik_fail "fingerprints.txt"
ik_ok "openssl: issuing CA chains to the P-384 root (pathlen 0, CRL DP), root CRL #1 verifies"

# the keys stay in the tokens (online token: PIN from the credential file the ceremony wrote)
"$ATTRS" "$MODULE" inkan "$TMP/hsm/user.pin" inkan-issuing-ca >"$TMP/attrs.out" ||
	{ cat "$TMP/attrs.out"; ik_fail "issuing key attributes"; }
ik_ok "issuing-CA key sensitive and non-extractable; the PIN file opens the online token"

# ---- the signer runs on the result and issues a leaf that verifies
ik_write_config
ik_start_signer
ik_issue leaf1 "device-1"
openssl verify -x509_strict -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" \
	-purpose sslclient "$TMP/leaf1.pem" >/dev/null || ik_fail "leaf does not verify"
ik_stop_signer
ik_ok "inkan-signerd starts with the ceremony's PIN file and certificates; its leaf verifies"

# ---- the transcript
fpr=$(openssl x509 -in "$TMP/ca/root-ca.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')
"$CER" verify "$TMP/ca/transcript.json" --root-fingerprint "$fpr" >"$TMP/v.out" 2>&1 ||
	{ cat "$TMP/v.out"; ik_fail "transcript does not verify"; }
grep -q "transcript OK: \"Inkan Test root and issuing CA\", 7 steps, 10 artifacts" "$TMP/v.out" ||
	{ cat "$TMP/v.out"; ik_fail "verify summary"; }
openssl dgst -sha384 -verify <(openssl x509 -in "$TMP/ca/root-ca.pem" -pubkey -noout) \
	-signature "$TMP/ca/transcript.json.sig" "$TMP/ca/transcript.json" >/dev/null ||
	ik_fail "openssl does not verify the transcript signature"
python3 - "$TMP/ca/transcript.json" <<'PY' || ik_fail "transcript content"
import json, sys, hashlib, os
t = json.load(open(sys.argv[1]))
d = os.path.dirname(sys.argv[1])
assert t["format"] == "inkan-ceremony-transcript/1" and t["result"] == "completed"
assert [s["id"] for s in t["steps"]] == ["init-offline", "init-online", "root-key", "root", "ica-key", "ica", "root-crl"]
assert all(s["result"] == "ok" and s["started"] and s["finished"] for s in t["steps"])
assert t["custodians"]["present"] == ["alice", "bob", "carol", "dave", "eve"] and t["custodians"]["threshold"] == 3
ica = t["steps"][5]
assert ica["inputs"]["common_name"] == "Inkan Test Issuing CA 1" and ica["line"] > 1
for a in t["artifacts"]:
    assert hashlib.sha256(open(os.path.join(d, a["file"]), "rb").read()).hexdigest() == a["sha256"], a
assert t["signature"]["cert"] == "root-ca.pem"
assert t["steps"][0]["made"]["share_set"] == t["share_set"]
PY
expect_fail "not the one expected" "$CER" verify "$TMP/ca/transcript.json" --root-fingerprint "00:11"
cp -a "$TMP/ca" "$TMP/tamper"
flip_byte "$TMP/tamper/transcript.json" 300
expect_fail "the signature does not verify" "$CER" verify "$TMP/tamper/transcript.json"
cp "$TMP/ca/transcript.json" "$TMP/tamper/transcript.json"
"$CER" verify "$TMP/tamper/transcript.json" >/dev/null 2>&1 || ik_fail "restored copy does not verify"
flip_byte "$TMP/tamper/issuing-ca.der" 200
expect_fail "issuing-ca.der: SHA-256" "$CER" verify "$TMP/tamper/transcript.json"
cp "$TMP/ca/issuing-ca.der" "$TMP/tamper/issuing-ca.der"
flip_byte "$TMP/tamper/transcript.json.sig" 20
expect_fail "the signature does not verify" "$CER" verify "$TMP/tamper/transcript.json"
cp "$TMP/ca/transcript.json.sig" "$TMP/tamper/"
rm "$TMP/tamper/root-crl.crl"
expect_fail "root-crl.crl: No such file" "$CER" verify "$TMP/tamper/transcript.json"
ik_ok "transcript verifies (also with openssl dgst); one changed byte in it, its signature or an artifact fails"

# ---- never overwrite: the same file again, and the same tokens with new output paths
# every file, and every object on the tokens (SoftHSM rewrites token.object at each login)
tree_sums() { (cd "$TMP" && find ca shares hsm -type f ! -name token.object -exec sha256sum {} + | sort); }
sum_before=$(tree_sums)
expect_fail "already exists: refusing to overwrite" "$CER" run "$TMP/ceremony.ini" --yes
sed -e 's/^out = ca$/out = ca-again/' -e 's/^shares_dir = shares$/shares_dir = shares-again/' \
	-e 's#^pin_file = hsm/user.pin#pin_file = hsm/user2.pin#' -e 's#^so_pin_file = hsm/so.pin#so_pin_file = hsm/so2.pin#' \
	"$TMP/ceremony.ini" >"$TMP/again.ini"
expect_fail "token inkan-root already exists: refusing to initialise it again" "$CER" run "$TMP/again.ini" --yes
python3 - "$TMP/again.ini" "$TMP/again2.ini" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
s = re.sub(r"\[step\.init-[a-z]+\]\naction = init-token\ntoken = [a-z]+\n\n", "", s)
s = s.replace("so_pin_file = hsm/so2.pin\n", "").replace("hsm/user2.pin", "hsm/user.pin")
open(sys.argv[2], "w").write(s)
PY
expect_fail "key inkan-root already exists on token inkan-root: refusing to overwrite" \
	"$CER" run "$TMP/again2.ini" --yes --share "$TMP/shares/alice.share" --share "$TMP/shares/bob.share" \
	--share "$TMP/shares/carol.share"
[ ! -e "$TMP/ca-again" ] && [ ! -e "$TMP/shares-again" ] && [ ! -e "$TMP/hsm/user2.pin" ] ||
	ik_fail "a refused run wrote files"
diff <(echo "$sum_before") <(tree_sums) >&2 ||
	ik_fail "a refused run changed a token, a share or an artifact"
ik_ok "second run refused (files exist; token exists; key exists), nothing changed"

# ---- a later ceremony: the root unlocked by 3 of 5 shares; re-sign, CSR, revoke
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/ext.key" 2>/dev/null
openssl req -new -key "$TMP/ext.key" -subj "/CN=ignored" -out "$TMP/ext.csr"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/weak.key" 2>/dev/null
openssl req -new -key "$TMP/weak.key" -subj "/CN=weak" -out "$TMP/weak.csr"
cat >"$TMP/later.ini" <<'INI'
[ceremony]
title = Inkan Test: issuing CA 2
out = later
custodians = alice, bob, carol, dave, eve
threshold = 3
present = alice, carol, eve, bob

[token.offline]
label = inkan-root
pin = shares

[token.online]
label = inkan
pin = file
pin_file = hsm/user.pin

[step.root]
action = use-root
token = offline
key_label = inkan-root
cert = ca/root-ca.pem
output = root-ca

[step.ica-2]
action = sign-ca
issuer = root
token = online
key_label = inkan-issuing-ca
country = JP
organization = Inkan Test
common_name = Inkan Test Issuing CA 2
validity_years = 5

[step.ext-ca]
action = sign-ca
issuer = root
csr = ext.csr
country = JP
organization = Inkan Test
organizational_unit = Partner
common_name = Inkan Partner CA
validity_days = 730

[step.crl-2]
action = sign-crl
issuer = root
previous_crl = ca/root-crl.crl
revoke = ca/issuing-ca.pem
reason = superseded
INI
S="$TMP/shares"
expect_fail "not enough shares: 2 given, 3 needed" \
	"$CER" run "$TMP/later.ini" --yes --share "$S/alice.share" --share "$S/carol.share"
grep -qF "share 2: share file $S/carol.share (custodian carol)" "$TMP/err" || ik_fail "shares not listed"
python3 - "$S/carol.share" "$TMP/carol-typo.share" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
i = next(n for n, l in enumerate(lines) if l and not l.startswith("#"))
c = lines[i][5]
lines[i] = lines[i][:5] + ("A" if c != "A" else "B") + lines[i][6:]
open(sys.argv[2], "w").write("\n".join(lines))
PY
expect_fail "share file $TMP/carol-typo.share: corrupted share: checksum mismatch" \
	"$CER" run "$TMP/later.ini" --yes --share "$S/alice.share" --share "$TMP/carol-typo.share" \
	--share "$S/eve.share"
expect_fail "the share of custodian dave, who is not listed in [ceremony] present" \
	"$CER" run "$TMP/later.ini" --yes --share "$S/alice.share" --share "$S/dave.share" --share "$S/eve.share"
expect_fail "are the same custodian's share" \
	"$CER" run "$TMP/later.ini" --yes --share "$S/alice.share" --share "$S/alice.share" --share "$S/eve.share"
[ ! -e "$TMP/later" ] || ik_fail "a refused later ceremony wrote files"
ik_ok "M-1 shares, a mistyped share (named), an absent custodian's share, a duplicate: refused"

sed 's#^csr = ext.csr#csr = weak.csr#' "$TMP/later.ini" >"$TMP/later-weak.ini"
line=$(grep -n '^csr = weak.csr' "$TMP/later-weak.ini" | cut -d: -f1)
expect_fail "$TMP/later-weak.ini:$line: [step.ext-ca] csr: $TMP/weak.csr: weak: an RSA key of 2048 bits" \
	"$CER" run "$TMP/later-weak.ini" --yes --share "$S/alice.share" --share "$S/carol.share" --share "$S/eve.share"
ik_ok "a CSR with a weak key refused before the HSM, naming line and key"

"$CER" run "$TMP/later.ini" --yes --share "$S/eve.share" --share "$S/alice.share" --share "$S/carol.share" \
	>"$TMP/later.out" 2>&1 || { cat "$TMP/later.out"; ik_fail "later ceremony failed"; }
openssl verify -x509_strict -CAfile "$TMP/ca/root-ca.pem" "$TMP/later/ica-2.pem" "$TMP/later/ext-ca.pem" >/dev/null ||
	ik_fail "re-signed / CSR CAs do not verify"
[ "$(openssl x509 -in "$TMP/later/ica-2.pem" -noout -pubkey)" = "$(openssl x509 -in "$TMP/ca/issuing-ca.pem" -noout -pubkey)" ] ||
	ik_fail "ica-2 is not the same online key"
[ "$(openssl x509 -in "$TMP/later/ext-ca.pem" -noout -pubkey)" = "$(openssl pkey -in "$TMP/ext.key" -pubout)" ] ||
	ik_fail "ext-ca does not carry the CSR's key"
openssl x509 -in "$TMP/later/ext-ca.pem" -noout -subject -nameopt RFC2253 |
	grep -qx "subject=CN=Inkan Partner CA,OU=Partner,O=Inkan Test,C=JP" || ik_fail "ext-ca subject is not from the file"
openssl crl -in "$TMP/later/crl-2.crl" -inform DER -CAfile "$TMP/ca/root-ca.pem" -noout -text >"$TMP/crl2.txt" 2>&1
grep -q "verify OK" "$TMP/crl2.txt" && grep -A1 "CRL Number" "$TMP/crl2.txt" | grep -q " 2$" &&
	grep -q "Serial Number: $(ik_serial "$TMP/ca/issuing-ca.pem")" "$TMP/crl2.txt" &&
	grep -q "Superseded" "$TMP/crl2.txt" || { cat "$TMP/crl2.txt"; ik_fail "CRL 2"; }
"$CER" verify "$TMP/later/transcript.json" --root-fingerprint "$fpr" >/dev/null || ik_fail "later transcript"
python3 - "$TMP/later/transcript.json" <<'PY' || ik_fail "later transcript content"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["custodians"]["shares_used"] == ["alice", "carol", "eve"], t["custodians"]
assert t["custodians"]["present"] == ["alice", "bob", "carol", "eve"]
files = {f["key"]: f for s in t["steps"] for f in s.get("input_files", [])}
assert set(files) == {"cert", "csr", "previous_crl", "revoke"}, files
PY
ik_ok "later ceremony (3 of 5 shares): issuing CA re-signed, CA from a CSR, old CA revoked in CRL #2"

# ---- a second store made by softhsm-token: RSA-3072 root, an existing online token, a
# confirmation and the shares typed at a terminal
"$INKAN_SRC/hsm/softhsm-token" "$TMP/hsm2" online2 >/dev/null
export SOFTHSM2_CONF="$TMP/hsm2/softhsm2.conf"
cat >"$TMP/rsa.ini" <<'INI'
[ceremony]
title = RSA root on a second store
out = rsa
custodians = ann, ben, cho
threshold = 2

[token.root]
label = rsa-root
pin = shares

[token.online]
label = online2
pin = file
pin_file = hsm2/user.pin

[step.init]
action = init-token
token = root

[step.key]
action = generate-key
token = root
key_label = rsa-root
key_id = 0a
algorithm = rsa-3072

[step.ica-key]
action = generate-key
token = online
key_label = ica
key_id = 0b
algorithm = ec-p256

[step.root]
action = self-sign
token = root
key_label = rsa-root
country = JP
organization = Inkan Test
common_name = Inkan RSA Root
validity_years = 25

[step.ica]
action = sign-ca
issuer = root
token = online
key_label = ica
country = JP
organization = Inkan Test
common_name = Inkan RSA Issuing
validity_years = 25
INI
printf 'no\n' | script -qec "$CER run $TMP/rsa.ini" /dev/null >"$TMP/tty.out" 2>&1 && ik_fail "'no' went on"
grep -q "not confirmed: nothing was done" "$TMP/tty.out" || { cat "$TMP/tty.out"; ik_fail "'no' message"; }
[ ! -e "$TMP/rsa" ] || ik_fail "'no' wrote files"
printf 'yes\n' | script -qec "$CER run $TMP/rsa.ini" /dev/null >"$TMP/tty.out" 2>&1 ||
	{ cat "$TMP/tty.out"; ik_fail "'yes' at the terminal did not run the ceremony"; }
openssl verify -x509_strict -CAfile "$TMP/rsa/root.pem" "$TMP/rsa/ica.pem" >/dev/null || ik_fail "RSA chain"
openssl x509 -in "$TMP/rsa/root.pem" -noout -text | grep -q "Public-Key: (3072 bit)" || ik_fail "not RSA-3072"
"$CER" verify "$TMP/rsa/transcript.json" >/dev/null || ik_fail "RSA transcript"
"$ATTRS" "$MODULE" online2 "$TMP/hsm2/user.pin" ica >/dev/null || ik_fail "ica key attributes on online2"
ik_ok "confirmed at a terminal ('no' stops, 'yes' runs): RSA-3072 root, key on an existing token"

cat >"$TMP/rsa-crl.ini" <<'INI'
[ceremony]
title = RSA root CRL, shares typed
out = rsa-crl
custodians = ann, ben, cho
threshold = 2

[token.root]
label = rsa-root
pin = shares

[token.spare]
label = spare
pin = file
pin_file = spare.pin
so_pin_file = spare-so.pin
pin_owner = nobody

[step.init-spare]
action = init-token
token = spare

[step.root]
action = use-root
token = root
key_label = rsa-root
cert = rsa/root.pem

[step.crl]
action = sign-crl
issuer = root
revoke = rsa/ica.pem
reason = cessationOfOperation
INI
share_text() { grep -v '^#' "$1"; }
{
	sleep 1; printf 'yes\n'; sleep 1
	share_text "$TMP/rsa/shares/ben.share"
	printf '\n'; sleep 0.5
	share_text "$TMP/rsa/shares/cho.share" | tr 'A-Z' 'a-z' | tr ' ' '-'
	printf '\n'; sleep 3
} | script -qec "$CER run $TMP/rsa-crl.ini" /dev/null >"$TMP/tty2.out" 2>&1 ||
	{ cat "$TMP/tty2.out"; ik_fail "shares typed at the terminal"; }
grep -q "share of custodian ben accepted" "$TMP/tty2.out" && grep -q "share of custodian cho accepted" "$TMP/tty2.out" ||
	{ cat "$TMP/tty2.out"; ik_fail "typed shares not accepted"; }
if grep -qF "$(share_text "$TMP/rsa/shares/ben.share" | head -n1)" "$TMP/tty2.out"; then ik_fail "typed share echoed"; fi
openssl crl -in "$TMP/rsa-crl/crl.crl" -inform DER -CAfile "$TMP/rsa/root.pem" -noout 2>&1 | grep -q "verify OK" ||
	ik_fail "RSA CRL"
"$CER" verify "$TMP/rsa-crl/transcript.json" >/dev/null || ik_fail "RSA CRL transcript"
[ "$(stat -c '%a %U' "$TMP/spare.pin")" = "400 nobody" ] || ik_fail "spare.pin: $(stat -c '%a %U' "$TMP/spare.pin")"
[ "$(stat -c '%a %U' "$TMP/spare-so.pin")" = "400 $(id -un)" ] || ik_fail "spare-so.pin owner/mode"
ik_ok "shares typed at the terminal (echo off, lower case and dashes accepted) unlock the root"
ik_ok "a new token's PIN file is 0400 and owned by pin_owner (the signer's user)"

# a failure half-way (a file appears in the output while the run waits for "yes"): the run
# stops, says what stays done, and leaves an unsigned transcript marked failed
cat >"$TMP/fail.ini" <<'INI'
[ceremony]
title = Fails at the root certificate
out = fail
custodians = ann, ben
threshold = 2

[token.root]
label = fail-root
pin = shares

[step.init]
action = init-token
token = root

[step.key]
action = generate-key
token = root
key_label = fail-root
key_id = 01
algorithm = ec-p256

[step.root]
action = self-sign
token = root
key_label = fail-root
country = JP
organization = Inkan Test
common_name = Never Written
validity_years = 1
output = root-ca
INI
mkdir "$TMP/fail"
{
	for _ in $(seq 1 100); do
		grep -q "Carry out this ceremony" "$TMP/fail.out" 2>/dev/null && break
		sleep 0.1
	done
	echo placeholder >"$TMP/fail/root-ca.pem"
	printf 'yes\n'
	sleep 2
} | script -qec "$CER run $TMP/fail.ini" /dev/null >"$TMP/fail.out" 2>&1 && ik_fail "the run did not fail"
for want in "$TMP/fail/root-ca.pem already exists: refusing to overwrite" \
	"done: [init] token fail-root initialised (it stays)" \
	"done: [key] key fail-root generated on token fail-root (it stays)" \
	"transcript: $TMP/fail/transcript.json (NOT signed"; do
	grep -qF -- "$want" "$TMP/fail.out" || { cat "$TMP/fail.out"; ik_fail "failure report lacks '$want'"; }
done
[ "$(cat "$TMP/fail/root-ca.pem")" = placeholder ] || ik_fail "the placeholder was overwritten"
python3 - "$TMP/fail/transcript.json" <<'PY' || ik_fail "failed transcript content"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["result"] == "failed" and t["error"].startswith("cannot write ") and t["error"].endswith("/fail/root-ca.pem"), t
assert [s["result"] for s in t["steps"]] == ["ok", "ok", "failed"]
assert "signature" not in t
PY
expect_fail "the transcript is not signed" "$CER" verify "$TMP/fail/transcript.json"
ik_ok "a failure half-way: reported with what stays done, unsigned transcript marked failed"
export SOFTHSM2_CONF="$TMP/hsm/softhsm2.conf"

# ---- malformed ceremony files: each error names the file, the line and the key
mkdir -p "$TMP/bad"
# bad NAME SED-EXPR AT WANT [N]: sed the good file, find the (Nth) line holding AT (a fixed
# string), and expect "FILE:LINE: WANT" on stderr with nothing touched
bad() {
	local name=$1 expr=$2 at=$3 want=$4 nth=${5:-1} f="$TMP/bad/$1.ini" line
	sed "$expr" "$TMP/ceremony.ini" | sed 's/^out = ca$/out = bad-out/' >"$f"
	line=$(grep -n -F -- "$at" "$f" | sed -n "${nth}p" | cut -d: -f1)
	[ -n "$line" ] || ik_fail "bad case $name: '$at' not in the file"
	expect_fail "$f:$line: $want" "$CER" run "$f" --yes
	[ ! -e "$TMP/bad-out" ] || ik_fail "bad case $name created the output directory"
}
bad weak-rsa 's/^algorithm = ec-p384$/algorithm = rsa-2048/' "algorithm = rsa-2048" \
	"[step.root-key] algorithm: weak: a CA key must be RSA of at least 3072 bits"
bad weak-ec 's/^algorithm = ec-p256$/algorithm = ec-p224/' "algorithm = ec-p224" \
	"[step.ica-key] algorithm: weak: a CA key must be EC P-256 or stronger"
bad root-30y 's/^validity_years = 20$/validity_years = 30/' "validity_years = 30" \
	"[step.root] validity_years: validity beyond 25 years is refused"
bad root-days '/^validity_years = 20$/c validity_days = 9200' "validity_days = 9200" \
	"[step.root] validity_days: validity beyond 25 years is refused"
bad outlives 's/^validity_years = 10$/validity_years = 21/' "validity_years = 21" \
	"[step.ica] validity_years: the certificate would outlive its issuer 'root'"
bad threshold 's/^threshold = 3$/threshold = 6/' "threshold = 6" \
	"[ceremony] threshold: 6 is more than the 5 custodians"
bad missing '/^common_name = Inkan Test Root CA$/d' "[step.root]" \
	"[step.root] common_name: required key missing"
bad unknown-key 's/^output = root-ca$/colour = blue/' "colour = blue" \
	"[step.root] colour: unknown key for action self-sign"
bad wrong-action-key '/^action = init-token$/a key_label = x' "key_label = x" \
	"[step.init-offline] key_label: unknown key for action init-token"
bad issuer 's/^issuer = root$/issuer = nope/' "issuer = nope" \
	"[step.ica] issuer: no step 'nope' above this one"
bad duplicate 's/^key_id = 02$/key_id = 02\nkey_id = 03/' "key_id = 03" \
	"[step.ica-key] key_id: duplicate key (first on line"
bad country 's/^country = JP$/country = Japan/' "country = Japan" \
	"[step.root] country: must be two capital letters"
bad syntax 's/^pin = shares$/pin shares/' "pin shares" \
	"expected 'key = value', a [section] or a comment"
bad section 's/^\[token.online\]$/[tokens.online]/' "[tokens.online]" \
	"[tokens.online]: unknown section"
bad action 's/^action = sign-crl$/action = sign-ocsp/' "action = sign-ocsp" \
	"[step.root-crl] action: unknown action"
bad key-id 's/^key_id = 01$/key_id = xyz/' "key_id = xyz" \
	"[step.root-key] key_id: expected 1..32 bytes of hex"
bad pin-mode 's/^pin = shares$/pin = maybe/' "pin = maybe" \
	"[token.offline] pin: expected 'shares'"
bad long-line "s/^title = .*/title = $(printf 'x%.0s' $(seq 1 250))/" "title = xxx" \
	"line longer than 198 characters"
bad dup-section 's/^\[step.ica-key\]$/[step.root-key]/' "[step.root-key]" \
	"[step.root-key]: duplicate section (first on line" 2
bad https 's#^crl_url = http://#crl_url = https://#' "crl_url = https://" \
	"[step.ica] crl_url: must be an http:// URL"
bad path-length 's/^path_length = 0$/path_length = 99/' "path_length = 99" \
	"[step.ica] path_length: expected a whole number in 0..8"
bad no-root 's/^action = self-sign$/action = sign-ca/' "[ceremony]" \
	"[ceremony]: no self-sign or use-root step"
bad ref-later 's/^issuer = root$/issuer = root-crl/' "issuer = root-crl" \
	"[step.ica] issuer: no step 'root-crl' above this one"
bad same-pin-file 's#^so_pin_file = hsm/so.pin#so_pin_file = hsm/user.pin#' "so_pin_file = hsm/user.pin" \
	"[token.online] so_pin_file: the same file as pin_file"
# all problems at once, each with its line
sed -e 's/^algorithm = ec-p384$/algorithm = rsa-1024/' -e 's/^threshold = 3$/threshold = 1/' \
	-e 's/^country = JP$/country = jp/' -e 's/^out = ca$/out = bad-out/' "$TMP/ceremony.ini" >"$TMP/bad/many.ini"
expect_fail "problem(s) in the ceremony file; nothing was done" "$CER" run "$TMP/bad/many.ini" --yes
for w in "algorithm = rsa-1024:[step.root-key] algorithm: weak" "threshold = 1:[ceremony] threshold: expected" \
	"country = jp:[step.root] country: must be"; do
	line=$(grep -n -m1 -F -- "${w%%:*}" "$TMP/bad/many.ini" | cut -d: -f1)
	grep -qF -- "$TMP/bad/many.ini:$line: ${w#*:}" "$TMP/err" || { cat "$TMP/err"; ik_fail "many: ${w#*:}"; }
done
[ "$(grep -c "^$TMP/bad/many.ini:" "$TMP/err")" -ge 4 ] || { cat "$TMP/err"; ik_fail "many: not all errors"; }
ik_ok "malformed ceremony files: every error names file, line and key; nothing touched"

echo "PASS test_ceremony_full"
