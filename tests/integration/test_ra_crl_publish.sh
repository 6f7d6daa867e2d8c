#!/usr/bin/env bash
# The CRL as the RA publishes it, with a ledger of 20 000 revoked entries (a CRL of about
# 1 MB, so it crosses the RA's socket and file in several pieces): the same bytes as the
# signer's over plain HTTP (sendfile) and HTTPS, Content-Length, an ETag and 304 for
# If-None-Match (strong, weak, "*", in a list), 200 for any other tag; a revocation through
# the API gives a new ETag and a CRL that lists it, verified against the CA; the periodic
# check (crl_recheck = 1 here) asks the signer every second but fetches the whole CRL only
# when the signer holds a newer one — after a revocation made at the signer itself, once;
# ten revocations through the API at once all reach the CRL without the check (the queue
# asks the RA's publisher for a new CRL after each, and it serves them together);
# with the signer stopped the last CRL is still served, and no CRL file is left in the
# database's directory.
. "$(dirname "$0")/lib.sh"
N=20000
ik_setup ec-p256
ik_crl_ra "$N"
OFF=$(ik_login olivia "$OFFICER_PW")

# batch N PREFIX: N certificates issued through a batch, waited for
batch() {
	local s b
	s=$(ik_api olivia "$OFF" POST /api/v1/batches "{\"count\":$1,\"cn_pattern\":\"$2-%06d\",\"passphrase\":\"Batch passphrase 0123!\"}")
	ik_expect 202 - "$s" "batch of $1"
	b=$(ik_json 'd["id"]')
	for _ in $(seq 1 300); do
		ik_api olivia "$OFF" GET "/api/v1/batches/$b" >/dev/null
		[ "$(ik_json 'd["state"]')" = running ] || break
		sleep 0.1
	done
	[ "$(ik_json 'd["done"]')" = "$1" ] || ik_fail "batch of $1: $(cat "$TMP/body")"
}
# new_crl ETAG OUT SECONDS: GET /crl with If-None-Match until it is not 304 (a new CRL in
# OUT) or SECONDS have passed; the last status
new_crl() {
	local s
	for _ in $(seq 1 $(($3 * 10))); do
		s=$(ik_get "$HTTP/crl/issuing-ca.crl" "$2" -H "If-None-Match: $1")
		[ "$s" = 304 ] || break
		sleep 0.1
	done
	echo "$s"
}

# ---- the same bytes everywhere ----
ik_signctl crl --der -o "$TMP/signer.der" || ik_fail "signctl crl"
s=$(ik_get "$HTTP/crl/issuing-ca.crl" "$TMP/plain.der"); [ "$s" = 200 ] || ik_fail "plain CRL: $s"
[ "$(ik_hdr Content-Type)" = application/pkix-crl ] || ik_fail "content type: $(ik_hdr Content-Type)"
[ "$(ik_hdr Content-Length)" = "$(stat -c %s "$TMP/plain.der")" ] || ik_fail "Content-Length"
ETAG=$(ik_hdr ETag); [[ "$ETAG" =~ ^\"[0-9]+-[0-9a-f]{16}\"$ ]] || ik_fail "ETag: '$ETAG'"
s=$(ik_get "$BASE/crl/issuing-ca.crl" "$TMP/tls.der"); [ "$s" = 200 ] || ik_fail "HTTPS CRL: $s"
[ "$(ik_hdr ETag)" = "$ETAG" ] || ik_fail "HTTPS ETag differs"
cmp -s "$TMP/plain.der" "$TMP/tls.der" || ik_fail "plain and HTTPS CRLs differ"
cmp -s "$TMP/plain.der" "$TMP/signer.der" || ik_fail "the RA's CRL is not the signer's"
[ "$(stat -c %s "$TMP/plain.der")" -gt 600000 ] || ik_fail "CRL smaller than expected"
openssl crl -inform DER -in "$TMP/plain.der" -CAfile "$TMP/ca/bundle.pem" -noout 2>&1 | grep -q 'verify OK' ||
	ik_fail "CRL signature"
n=$(openssl crl -inform DER -in "$TMP/plain.der" -noout -text | grep -c 'Serial Number:')
[ "$n" = "$N" ] || ik_fail "CRL lists $n entries, want $N"
ik_ok "plain HTTP and HTTPS serve the signer's CRL ($N entries) byte for byte, with an ETag"

# ---- conditional requests ----
for inm in "$ETAG" "W/$ETAG" '*' "\"1-0000000000000000\", $ETAG"; do
	s=$(ik_get "$HTTP/crl/issuing-ca.crl" "$TMP/c.der" -H "If-None-Match: $inm")
	[ "$s" = 304 ] || ik_fail "If-None-Match $inm: $s"
	[ ! -s "$TMP/c.der" ] || ik_fail "a 304 with a body"
	[ "$(ik_hdr ETag)" = "$ETAG" ] || ik_fail "304 without the ETag"
done
for inm in '"1-0000000000000000"' "${ETAG%\"}0\"" '""'; do
	s=$(ik_get "$HTTP/crl/issuing-ca.crl" "$TMP/c.der" -H "If-None-Match: $inm")
	[ "$s" = 200 ] || ik_fail "If-None-Match $inm: $s"
	cmp -s "$TMP/c.der" "$TMP/plain.der" || ik_fail "If-None-Match $inm: not the whole CRL"
done
ik_ok "If-None-Match: 304 for the current tag (strong, weak, *, in a list), 200 otherwise"

# ---- a revocation through the API: a new CRL, a new tag ----
batch 2 crlpub
s=$(ik_api olivia "$OFF" GET "/api/v1/certificates?filter=valid&limit=1"); ik_expect 200 - "$s" "list"
CID=$(ik_json 'd["items"][0]["id"]'); SER=$(ik_json 'd["items"][0]["serial"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/$CID/revoke" '{"reason":"keyCompromise"}')
ik_expect 202 - "$s" "revoke"
s=$(new_crl "$ETAG" "$TMP/new.der" 5)
[ "$s" = 200 ] || ik_fail "no new CRL within 5 s: $s"
[ "$(ik_hdr ETag)" != "$ETAG" ] || ik_fail "a new CRL with the old ETag"
ETAG2=$(ik_hdr ETag)
openssl crl -inform DER -in "$TMP/new.der" -CAfile "$TMP/ca/bundle.pem" -noout 2>&1 | grep -q 'verify OK' ||
	ik_fail "new CRL signature"
openssl crl -inform DER -in "$TMP/new.der" -noout -text | tr a-z A-Z | grep -A4 "SERIAL NUMBER: $(echo "$SER" | tr a-z A-Z)" |
	grep -q 'KEY COMPROMISE' || ik_fail "new CRL does not list $SER"
ik_ok "a revocation through the API: a new CRL listing it, with a new ETag"

# ---- the periodic check: the whole CRL only when the signer holds a newer one ----
f0=$(ik_metric inkan_crl_fetches_total); c0=$(ik_metric inkan_crl_checks_total)
[[ "$f0" =~ ^[0-9]+$ && "$c0" =~ ^[0-9]+$ ]] || ik_fail "no CRL counters in /metrics"
sleep 4
f1=$(ik_metric inkan_crl_fetches_total); c1=$(ik_metric inkan_crl_checks_total)
[ "$c1" -ge $((c0 + 2)) ] || ik_fail "checks in 4 s with crl_recheck = 1: $c0 -> $c1"
[ "$f1" = "$f0" ] || ik_fail "the whole CRL fetched again with nothing changed: $f0 -> $f1"
s=$(ik_get "$HTTP/crl/issuing-ca.crl" "$TMP/c.der" -H "If-None-Match: $ETAG2"); [ "$s" = 304 ] || ik_fail "unchanged CRL: $s"
ik_ok "nothing changed: $((c1 - c0)) checks with the signer in 4 s, no CRL fetched"

s=$(ik_api olivia "$OFF" GET "/api/v1/certificates?filter=valid&limit=1"); ik_expect 200 - "$s" "list"
SER2=$(ik_json 'd["items"][0]["serial"]')
[ -n "$SER2" ] && [ "$SER2" != "$SER" ] || ik_fail "no second certificate to revoke"
ik_signctl revoke "$SER2" --reason 1 >/dev/null || ik_fail "signctl revoke"
s=$(new_crl "$ETAG2" "$TMP/new2.der" 10)
[ "$s" = 200 ] || ik_fail "a revocation at the signer not published within 10 s: $s"
openssl crl -inform DER -in "$TMP/new2.der" -noout -text > "$TMP/new2.txt"
grep -qi "Serial Number: $SER2\$" "$TMP/new2.txt" || ik_fail "the CRL does not list $SER2"
sleep 3
f2=$(ik_metric inkan_crl_fetches_total)
[ "$f2" = $((f1 + 1)) ] || ik_fail "fetches after one revocation at the signer: $f1 -> $f2, want one"
ETAG2=$(ik_hdr ETag)
cp "$TMP/new2.der" "$TMP/new.der"
ik_ok "a revocation made at the signer: published by the next check, one CRL fetched"

# ---- a burst: ten revocations at once, all published by the queue's requests for a new
# CRL (served together by the RA's publisher), not by the check (now every hour) ----
ik_stop_ra
ik_start_ra "http_port = $http_port
crl_recheck = 3600"
OFF=$(ik_login olivia "$OFFICER_PW")
batch 10 crlburst
s=$(ik_api olivia "$OFF" GET "/api/v1/certificates?filter=valid&limit=10"); ik_expect 200 - "$s" "list"
mapfile -t IDS < <(python3 -c 'import json,sys; [print(i["id"], i["serial"]) for i in json.load(open(sys.argv[1]))["items"]]' "$TMP/body")
[ "${#IDS[@]}" = 10 ] || ik_fail "want 10 certificates to revoke, have ${#IDS[@]}"
f0=$(ik_metric inkan_crl_fetches_total)
t0=$(date +%s.%N)
for e in "${IDS[@]}"; do
	s=$(ik_api olivia "$OFF" POST "/api/v1/certificates/${e%% *}/revoke" '{"reason":"keyCompromise"}')
	ik_expect 202 - "$s" "revoke ${e#* }"
done
missing=10
for _ in $(seq 1 150); do
	s=$(ik_get "$HTTP/crl/issuing-ca.crl" "$TMP/burst.der")
	[ "$s" = 200 ] || ik_fail "GET /crl during the burst: $s"
	openssl crl -inform DER -in "$TMP/burst.der" -noout -text > "$TMP/burst.txt"
	missing=0
	for e in "${IDS[@]}"; do grep -qi "Serial Number: ${e#* }\$" "$TMP/burst.txt" || missing=$((missing + 1)); done
	[ "$missing" = 0 ] && break
	sleep 0.1
done
t1=$(date +%s.%N)
[ "$missing" = 0 ] || ik_fail "$missing of 10 revocations not on the CRL after 15 s"
f1=$(ik_metric inkan_crl_fetches_total)
[ "$((f1 - f0))" -ge 1 ] && [ "$((f1 - f0))" -le 10 ] || ik_fail "CRLs fetched for 10 revocations: $((f1 - f0))"
ETAG2=$(ik_hdr ETag)
cp "$TMP/burst.der" "$TMP/new.der"
ik_ok "ten revocations at once: all on the CRL after $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$t1") s, $((f1 - f0)) CRL(s) fetched, no check in between"

# ---- the signer away: the last CRL stays served; no file left behind ----
ik_stop_signer
s=$(ik_get "$HTTP/crl/issuing-ca.crl" "$TMP/away.der"); [ "$s" = 200 ] || ik_fail "signer away: $s"
cmp -s "$TMP/away.der" "$TMP/new.der" || ik_fail "signer away: a different CRL"
[ "$(ik_hdr ETag)" = "$ETAG2" ] || ik_fail "signer away: another ETag"
ls -a "$TMP" | grep -q 'inkan-crl' && ik_fail "a named CRL file left in the database's directory"
ik_ok "signer stopped: the last CRL is still served"
