#!/usr/bin/env bash
# A profile with "usage = email" (the RA's own mail-signing certificate): EKU
# emailProtection, keyUsage digitalSignature only (RSA too), and the CN — an e-mail
# address — repeated as the single subjectAltName rfc822Name; a CN that is not an e-mail
# address is refused; openssl accepts it for S/MIME signing and not for TLS.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256   # its signer.conf has [profile.mail] (usage = email)
ik_start_signer

ik_key ec
ik_key rsa -algorithm RSA -pkeyopt rsa_keygen_bits:2048
ik_signctl issue --id mail-ec --profile mail --pubkey "$TMP/ec.pub" --attr CN=inkan-ra@example.jp --days 30 -o "$TMP/ec.pem" 2>/dev/null
ik_signctl issue --id mail-rsa --profile mail --pubkey "$TMP/rsa.pub" --attr CN=ra.notices@mail.example.jp --days 30 -o "$TMP/rsa.pem" 2>/dev/null
for f in ec rsa; do
	openssl verify -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" -purpose smimesign "$TMP/$f.pem" >/dev/null \
		|| ik_fail "$f: not valid for S/MIME signing"
	for purpose in sslclient sslserver; do
		openssl verify -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" -purpose $purpose "$TMP/$f.pem" >/dev/null 2>&1 \
			&& ik_fail "$f: a mail-signing certificate also valid for $purpose"
	done
	openssl x509 -in "$TMP/$f.pem" -noout -ext keyUsage | grep -q 'Digital Signature$' || ik_fail "$f: keyUsage not digitalSignature only"
	openssl x509 -in "$TMP/$f.pem" -noout -ext extendedKeyUsage | grep -q 'E-mail Protection' || ik_fail "$f: EKU"
done
openssl x509 -in "$TMP/ec.pem" -noout -ext subjectAltName | grep -q 'email:inkan-ra@example.jp' || ik_fail "rfc822Name SAN"
openssl x509 -in "$TMP/rsa.pem" -noout -ext subjectAltName | grep -q 'email:ra.notices@mail.example.jp' || ik_fail "rfc822Name SAN (RSA)"
openssl x509 -in "$TMP/ec.pem" -noout -checkemail inkan-ra@example.jp | grep -q 'does match' || ik_fail "checkemail"
ik_ok "mail-signing certificates: emailProtection, digitalSignature only, the CN as the one rfc822Name"

printf 'To: someone@example.jp\nSubject: t\n\nhello\n' > "$TMP/msg.txt"
openssl smime -sign -in "$TMP/msg.txt" -signer "$TMP/ec.pem" -inkey "$TMP/ec.key" -certfile "$TMP/ca/issuing-ca.pem" -out "$TMP/msg.smime" \
	|| ik_fail "openssl cannot sign with the certificate"
openssl smime -verify -in "$TMP/msg.smime" -CAfile "$TMP/ca/root-ca.pem" -out /dev/null 2>/dev/null || ik_fail "signed mail does not verify"
ik_ok "a mail signed with it verifies against the root"

for bad in 'not-an-address' 'a@localhost' '@example.jp' 'a@b@example.jp' 'a..b@example.jp' 'a b@example.jp'; do
	ik_expect_refusal policy-subject ik_signctl issue --id "bad-$RANDOM" --profile mail --pubkey "$TMP/ec.pub" --attr "CN=$bad" --days 30
done
ik_ok "CNs that are not e-mail addresses refused"

ik_issue cli alice
openssl x509 -in "$TMP/cli.pem" -noout -ext subjectAltName 2>/dev/null | grep -q 'Alternative' && ik_fail "client certificate has a SAN"
openssl verify -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" -purpose smimesign "$TMP/cli.pem" >/dev/null 2>&1 \
	&& ik_fail "client certificate valid for S/MIME signing"
ik_ok "client profile unchanged: clientAuth, no SAN"

printf '\n[profile.bad]\nusage = smime\ncrl_url = http://x/crl\n' >> "$TMP/signer.conf"
out=$(inkan-signerd -c "$TMP/signer.conf" --check-config 2>&1) && ik_fail "bad usage accepted"
case "$out" in *"usage"*"client, server or email"*) ;; *) ik_fail "bad usage message: $out" ;; esac
ik_ok "usage other than client/server/email refused at start with the key named"
