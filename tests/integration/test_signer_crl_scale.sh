#!/usr/bin/env bash
# A CRL of 100 000 entries built by the signer: a ledger filled through the ledger API
# (tool_ledgerfill), then the signer's CRL checked with openssl (signature, count, every
# reason); one more revocation and a release merged into the next CRL; after a restart the
# CRL (every entry read again) lists exactly the same entries.
. "$(dirname "$0")/lib.sh"
N=100000
ik_setup ec-p256
tool_ledgerfill "$TMP/ledger.sqlite" "$N" > "$TMP/fill.txt" || ik_fail "could not fill the ledger"
ik_start_signer

reason_name() {
	case $1 in
	1) echo "Key Compromise" ;; 2) echo "CA Compromise" ;; 3) echo "Affiliation Changed" ;;
	4) echo "Superseded" ;; 5) echo "Cessation Of Operation" ;; 6) echo "Certificate Hold" ;;
	9) echo "Privilege Withdrawn" ;; 10) echo "AA Compromise" ;; *) echo "?" ;;
	esac
}

# "total N" and one "NAME|COUNT" line per reason found in the CRL's text
crl_counts() {
	openssl crl -in "$1" -noout -text | awk '
		/Serial Number:/ { n++ }
		/X509v3 CRL Reason Code/ { getline; gsub(/^ +| +$/, ""); r[$0]++ }
		END { print "total", n; for (k in r) print k "|" r[k] }'
}

# the entries alone, in order: serial, date and reason of each
crl_entries() {
	openssl crl -in "$1" -noout -text | sed -n '/Revoked Certificates:/,/Signature Algorithm:/p' |
		grep -v 'Signature Algorithm'
}

crl_number() { openssl crl -in "$1" -noout -crlnumber | cut -d= -f2; }

check_reasons() { # crl file, expected total, fill output, adjustments "NAME|DELTA"...
	local crl=$1 total=$2 fill=$3; shift 3
	local counts got want r c name
	counts=$(crl_counts "$crl")
	got=$(echo "$counts" | awk '$1 == "total" {print $2}')
	[ "$got" = "$total" ] || ik_fail "$crl lists $got entries, want $total"
	while read -r _ r c; do
		[ "$r" = 0 ] && continue
		name=$(reason_name "$r")
		want=$c
		for adj in "$@"; do
			[ "${adj%%|*}" = "$name" ] && want=$(( want + ${adj##*|} ))
		done
		got=$(echo "$counts" | awk -F'|' -v n="$name" '$1 == n {print $2}')
		[ "${got:-0}" = "$want" ] || ik_fail "$crl: $name on ${got:-0} entries, want $want"
	done < <(grep '^reason ' "$fill")
}

t0=$(date +%s%N)
ik_signctl crl -o "$TMP/crl1.pem" 2>/dev/null || ik_fail "no CRL"
t1=$(date +%s%N)
openssl crl -in "$TMP/crl1.pem" -CAfile "$TMP/ca/bundle.pem" -noout 2>&1 | grep -q "verify OK" \
	|| ik_fail "CRL signature does not verify"
check_reasons "$TMP/crl1.pem" "$N" "$TMP/fill.txt"
read -r _ rserial rreason < <(grep '^revoked ' "$TMP/fill.txt")
crl_entries "$TMP/crl1.pem" | grep -A4 "Serial Number: $rserial" | grep -q "$(reason_name "$rreason")" \
	|| ik_fail "revoked $rserial not listed with reason $rreason"
ik_ok "CRL of $N entries ($(stat -c %s "$TMP/crl1.pem") bytes PEM, fetched in $(( (t1 - t0) / 1000000 )) ms): signature, count and every reason right"

# one more revocation (a real certificate) and the release of a held one: merged
ik_issue u1 u1
s1=$(ik_serial "$TMP/u1.pem")
read -r _ held < <(grep '^held ' "$TMP/fill.txt")
ik_signctl revoke "$s1" --reason 3 >/dev/null
ik_signctl release "$held" >/dev/null
ik_signctl crl -o "$TMP/crl2.pem" 2>/dev/null || ik_fail "no CRL after the changes"
[ "$(( $(crl_number "$TMP/crl2.pem") ))" -gt "$(( $(crl_number "$TMP/crl1.pem") ))" ] \
	|| ik_fail "CRL number did not grow"
check_reasons "$TMP/crl2.pem" "$N" "$TMP/fill.txt" "Affiliation Changed|1" "Certificate Hold|-1"
crl_entries "$TMP/crl2.pem" | grep -A4 "Serial Number: $s1" | grep -q "Affiliation Changed" \
	|| ik_fail "the new revocation is not on the CRL"
crl_entries "$TMP/crl2.pem" | grep -q "Serial Number: $held" && ik_fail "released $held still listed"
grep -q "changes merged" "$TMP/signer.log" || ik_fail "the signer did not merge the changes"
ik_ok "one more revocation and a release merged into the next CRL"

# a restart reads every entry again: the same entries, in the same order
ik_stop_signer
ik_start_signer
ik_signctl crl -o "$TMP/crl3.pem" 2>/dev/null || ik_fail "no CRL after restart"
cmp -s <(crl_entries "$TMP/crl2.pem") <(crl_entries "$TMP/crl3.pem") \
	|| ik_fail "the merged CRL and the one read from the whole ledger differ"
ik_ok "after a restart the CRL built from every entry equals the merged one"
