#!/usr/bin/env bash
# A profile with "usage = server" (the appliance's own TLS certificate): EKU serverAuth and
# the CN repeated as the single subjectAltName (iPAddress or dNSName); a CN that is neither
# a DNS name nor an IP address is refused; client profiles still carry no subjectAltName.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
cat >> "$TMP/signer.conf" <<CONF

[profile.tls]
usage = server
max_days = 397
key_types = ec-p256 rsa
subject_allowed = CN
subject_required = CN
O = Inkan Test
crl_url = http://127.0.0.1:8080/crl/issuing-ca.crl
CONF
ik_start_signer

ik_key srv
ik_signctl issue --id srv-ip --profile tls --pubkey "$TMP/srv.pub" --attr CN=127.0.0.1 --days 30 -o "$TMP/ip.pem" 2>/dev/null
ik_signctl issue --id srv-dns --profile tls --pubkey "$TMP/srv.pub" --attr CN=inkan.example.jp --days 30 -o "$TMP/dns.pem" 2>/dev/null
ik_signctl issue --id srv-v6 --profile tls --pubkey "$TMP/srv.pub" --attr CN=::1 --days 30 -o "$TMP/v6.pem" 2>/dev/null
for f in ip dns v6; do
	openssl verify -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" -purpose sslserver "$TMP/$f.pem" >/dev/null \
		|| ik_fail "$f: not valid for TLS servers"
	openssl verify -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" -purpose sslclient "$TMP/$f.pem" >/dev/null 2>&1 \
		&& ik_fail "$f: a server certificate also valid for TLS clients"
done
openssl x509 -in "$TMP/ip.pem" -noout -ext subjectAltName | grep -q 'IP Address:127.0.0.1' || ik_fail "IP SAN"
openssl x509 -in "$TMP/dns.pem" -noout -ext subjectAltName | grep -q 'DNS:inkan.example.jp' || ik_fail "DNS SAN"
openssl x509 -in "$TMP/v6.pem" -noout -ext subjectAltName | grep -q 'IP Address:0:0:0:0:0:0:0:1' || ik_fail "IPv6 SAN"
openssl x509 -in "$TMP/dns.pem" -noout -checkhost inkan.example.jp | grep -q 'does match' || ik_fail "checkhost"
openssl x509 -in "$TMP/ip.pem" -noout -checkip 127.0.0.1 | grep -q 'does match' || ik_fail "checkip"
ik_ok "server certificates: serverAuth only, CN as the one SAN (IPv4, IPv6, DNS)"

for bad in 'not a host' 'a..b' '-lead.example' 'trail-.example' 'x.example.' "$(printf 'a%.0s' $(seq 1 64)).example"; do
	ik_expect_refusal policy-subject ik_signctl issue --id "bad-$RANDOM" --profile tls --pubkey "$TMP/srv.pub" --attr "CN=$bad" --days 30
done
ik_ok "CNs that are neither DNS names nor IP addresses refused"

ik_issue cli alice
openssl x509 -in "$TMP/cli.pem" -noout -ext subjectAltName 2>/dev/null | grep -q 'Alternative' && ik_fail "client certificate has a SAN"
openssl verify -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" -purpose sslserver "$TMP/cli.pem" >/dev/null 2>&1 \
	&& ik_fail "client certificate valid for TLS servers"
ik_ok "client profile unchanged: clientAuth, no SAN"

printf '\n[profile.bad]\nusage = both\ncrl_url = http://x/crl\n' >> "$TMP/signer.conf"
out=$(inkan-signerd -c "$TMP/signer.conf" --check-config 2>&1) && ik_fail "bad usage accepted"
case "$out" in *"usage"*"client, server or email"*) ;; *) ik_fail "bad usage message: $out" ;; esac
ik_ok "usage other than client/server refused at start with the key named"
