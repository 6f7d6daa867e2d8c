#!/usr/bin/env bash
# bench_revoke: only the revocation row of bench_ra.sh (issue 11, items 3 and 4), to iterate
# on it without the RA store fill: BIG revoked entries in the ledger (tool_ledgerfill), a
# small batch through the RA for certificates to revoke, then K revocations through
# POST /api/v1/certificates/{id}/revoke, each polled until the CRL over HTTP and OCSP both
# show it (median and worst), the daemons' CPU time and memory around them; then K more
# posted at once (a burst), and the time until the CRL lists them all.
#   INKAN_BUILD=$PWD/build-bench bench/bench_revoke.sh [BIG] [K]   (defaults 1000000 100)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
big=${1:-1000000}
k=${2:-100}
export INKAN_BUILD=${INKAN_BUILD:-$src/build-bench} INKAN_SRC=$src
. "$src/tests/integration/lib.sh"
. "$src/bench/lib.sh"
client() { printf '%s\n' "$OFFICER_PW" | python3 "$src/bench/bench_ra_client.py" "$@"; }
cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== revocation row (BIG=${big}, K=$k, build $INKAN_BUILD); load $(load)"
ik_setup ec-p256
ik_ra_officers
t0=$(date +%s)
# IK_LEDGER_CACHE=DIR keeps a filled ledger per BIG there and copies it on the next run
# (the ledger is not tied to the CA; a fresh token and CA are made every run)
cache=${IK_LEDGER_CACHE:+$IK_LEDGER_CACHE/ledger-$big.sqlite}
if [ -n "$cache" ] && [ -f "$cache" ]; then
	cp "$cache" "$TMP/ledger.sqlite"
elif [ "$big" -gt 0 ]; then
	tool_ledgerfill "$TMP/ledger.sqlite" "$big" > "$TMP/fill.txt"
	[ -z "$cache" ] || { [ ! -f "$TMP/ledger.sqlite-wal" ] || ik_fail "ledger left a WAL"; cp "$TMP/ledger.sqlite" "$cache"; }
fi
echo "ledger filled with $big in $(( $(date +%s) - t0 )) s"
ik_start_signer
http_port=$(ik_free_port)
ik_start_ra "http_port = $http_port"
HTTP="http://127.0.0.1:$http_port"
curl -sf "$HTTP/crl/issuing-ca.crl" -o "$TMP/crl0.der" || ik_fail "no CRL over HTTP"
read -r _ done failed _ < <(client batch "$BASE" "$TMP/tls.pem" "$(( 2 * k + 10 ))")
echo "issued $done for revocation ($failed failed); CRL $(( $(stat -c %s "$TMP/crl0.der") / 1000 )) kB"
sleep 2
s_idle=$(rss "$SIGNER_PID"); r_idle=$(rss "$RAD_PID")
c_s0=$(cpu "$SIGNER_PID"); c_r0=$(cpu "$RAD_PID")
client revoke "$BASE" "$TMP/tls.pem" "$HTTP" "$TMP/ca/issuing-ca.pem" "$k" \
	> "$TMP/revoke.out" 2> "$TMP/revoke.err" & rv=$!
rss_peaks "$rv"
wait "$rv" || { cat "$TMP/revoke.err" >&2; ik_fail "revoke client failed"; }
read -r med worst < "$TMP/revoke.out"
c_s=$(python3 -c "print(f'{($(cpu "$SIGNER_PID") - $c_s0) * 1000 / $k:.0f}')")
c_r=$(python3 -c "print(f'{($(cpu "$RAD_PID") - $c_r0) * 1000 / $k:.0f}')")
echo
echo "| revocation at $big revoked: API call -> CRL over HTTP and OCSP | median ms | worst ms |"
echo "|---|---|---|"
echo "| $k revocations, each polled until both show it | $med | $worst |"
cat "$TMP/revoke.err"
echo "CPU per revocation: signer $c_s ms, RA $c_r ms"
echo "RSS MiB signer/RA: idle $s_idle/$r_idle, during (max of 0.2 s samples) $peak_s/$peak_r, VmHWM $(hwm "$SIGNER_PID")/$(hwm "$RAD_PID")"

# a burst: K revocations posted at once, then the CRL polled until it lists all of them
read -r b_post b_all b_fetch < <(client revoke_burst "$BASE" "$TMP/tls.pem" "$HTTP" "$k")
echo "| $k revocations posted at once (${b_post} ms), until the CRL lists every one | $b_all ms, $b_fetch CRLs fetched | |"

# the signer alone, in the same run: REVOKE of a fresh certificate + GET_CRL of the new CRL
# (inkan-signctl, the CRL's 48 MB to a file), 20 times, as bench/run does it
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
times=()
for i in $(seq 1 20); do
	ik_issue "r$i" "r$i" >/dev/null 2>&1
	sr=$(ik_serial "$TMP/r$i.pem")
	t0=$(ms_now)
	ik_signctl revoke "$sr" --reason 1 >/dev/null
	ik_signctl crl --der -o "$TMP/crl.der" 2>/dev/null
	times+=($(( $(ms_now) - t0 )))
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
echo "signer alone, 20 times REVOKE + GET_CRL ($(( $(stat -c %s "$TMP/crl.der") / 1000 )) kB): median $(echo "$sorted" | sed -n 10p) ms, worst $(echo "$sorted" | tail -1) ms"
echo "load at the end: $(load)"
