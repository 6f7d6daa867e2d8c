#!/usr/bin/env bash
# bench_ra: the RA's rows of bench/run (issue 11) — issuance end to end through the RA API,
# `openssl ca` through the pkcs11 engine, revocation latency to CRL and OCSP over HTTP, the
# officer list and search under wrk, PKCS#12 downloads, and the daemons' memory; every
# figure next to a baseline measured in this run.  bench/run calls it after its own part
# (INKAN_BUILD/INKAN_SRC set); alone: bench/bench_ra.sh [N] [BIG] after bench/run built
# build-bench/.  N certificates (default 10000), BIG rows in the RA store and revoked entries
# in the ledger (default 1000000).  About 10 minutes with the defaults, most of it filling.
# A third argument `issuance` stops after the issuance rows (for before -> after runs).
# IK_BENCH_RA_CONF: extra lines for the RA's [ra] section (e.g. "queue_workers = 4").
# IK_BENCH_PERF=FILE: perf record (DWARF call graphs, PERF_F Hz, 499) of inkan-rad over the
# first batch, into FILE.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10000}
big=${2:-1000000}
only=${3:-}
[ "$big" -ge 1000 ] || big=1000
export INKAN_BUILD=${INKAN_BUILD:-$src/build-bench} INKAN_SRC=$src
. "$src/tests/integration/lib.sh"
. "$src/bench/lib.sh"
B=$INKAN_BUILD/bench
client() { printf '%s\n' "$OFFICER_PW" | python3 "$src/bench/bench_ra_client.py" "$@"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
line() { printf '| %-62s | %12s | %12s |\n' "$@"; }
head3() { line "$1" "$2" "$3"; printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..64})" "--------------" "--------------"; }
div() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.${3:-2}f}' if b else '-')" "$1" "$2"; }
t_start=$(date +%s)

echo "== RA rows (N=$n, BIG=$big); load at start: $(load)"
ik_setup ec-p256
ik_write_config

# ---- fill: BIG revoked entries in the ledger and BIG certificates in the RA store, through
# the ledger and store APIs, before the daemons start (both at once: one per core)
ik_ra_officers
t0=$(date +%s)
tool_ledgerfill "$TMP/ledger.sqlite" "$big" > "$TMP/fill.txt" & lf=$!
"$B/bench_ra_fill" "$TMP/ra.sqlite" "$big" "$TMP/ca/issuing-ca.pem" 2>"$TMP/rafill.log"
wait "$lf"
echo "filled: $big revoked in the ledger, $big certificates in the RA store in $(( $(date +%s) - t0 )) s"

ik_start_signer
http_port=$(ik_free_port)
ik_start_ra "http_port = $http_port
${IK_BENCH_RA_CONF:-}"
HTTP="http://127.0.0.1:$http_port"
curl -sf "$HTTP/crl/issuing-ca.crl" -o "$TMP/crl0.der" || ik_fail "no CRL over HTTP"
sleep 2
idle_s=$(rss "$SIGNER_PID"); idle_r=$(rss "$RAD_PID")

# ---- 1. issuance end to end, against the HSM limit (interleaved: limit, run, limit)
lim() { "$B/bench_ra_hsm" limit inkan "$TMP/hsm/user.pin" inkan-issuing-ca "$1" 2; }
singles=$(( n / 5 )); [ "$singles" -ge 100 ] || singles=100
read -r l1 lc1 < <(lim "$n")
# CPU seconds (utime+stime, /proc/PID/stat) of the RA and the signer: whole batch, after its POST
read -r t_batch b_done b_failed t_create cpu_ra cpu_ra_post cpu_sg cpu_sg_post < <(
	INKAN_BENCH_HOOK=${IK_BENCH_PERF:+"perf record -q --call-graph dwarf,16384 -F ${PERF_F:-499} -p $RAD_PID -o $IK_BENCH_PERF 2>/dev/null"} \
	IK_CPU_PIDS="$RAD_PID $SIGNER_PID" client batch "$BASE" "$TMP/tls.pem" "$n")
read -r l2 lc2 < <(lim "$n")
read -r t_single t_posted < <(client singles "$BASE" "$TMP/tls.pem" "$singles" 8)
read -r l3 lc3 < <(lim "$n")
lmed=$(printf '%s\n' "$l1" "$l2" "$l3" | sort -n | sed -n 2p)
lcmed=$(printf '%s\n' "$lc1" "$lc2" "$lc3" | sort -n | sed -n 2p)
us_per() { python3 -c "import sys; print(f'{float(sys.argv[1]) * 1e6 / float(sys.argv[2]):.1f}' if float(sys.argv[2]) else '-')" "$1" "$2"; }
r_batch=$(div "$b_done" "$t_batch" 0); r_single=$(div "$singles" "$t_single" 0)
r_issue=$(div "$b_done" "$(python3 -c "print($t_batch - $t_create)")" 0)
after_s=$(rss "$SIGNER_PID"); after_r=$(rss "$RAD_PID")
ledger_n=$(sqlite3 -readonly "$TMP/ledger.sqlite" "SELECT COUNT(*) FROM certs" 2>/dev/null || echo "?")
echo
head3 "issuance through the RA (EC P-256, SoftHSM, 2 cores)" "per second" "ratio"
line "HSM limit: EVP_DigestSign of a prepared TBS, 2 threads (median)" "$lmed" "1.00"
line "  (the three measurements around the runs)" "$l1 $l2 $l3" ""
line "RA batch: $b_done certs, POST /api/v1/batches -> finished" "$r_batch" "$(div "$r_batch" "$lmed")"
line "  the same after the POST (its envelope key: ${t_create} s)" "$r_issue" "$(div "$r_issue" "$lmed")"
line "RA singles: $singles CSRs, 8 connections, -> all active" "$r_single" "$(div "$r_single" "$lmed")"
line "  of which the POSTs alone (answered 202)" "$(div "$singles" "$t_posted" 0)" "$(div "$(div "$singles" "$t_posted" 3)" "$lmed")"
echo "(batch failures: $b_failed; signer ledger now holds $ledger_n certificate rows; load $(load))"
u_ra=$(us_per "$cpu_ra" "$b_done"); u_sg=$(us_per "$cpu_sg" "$b_done")
u_rap=$(us_per "$cpu_ra_post" "$b_done"); u_sgp=$(us_per "$cpu_sg_post" "$b_done")
echo
head3 "CPU per certificate, RA batch of $b_done (utime+stime)" "µs" "ratio"
line "HSM limit, 2 threads: one signature (median)" "$lcmed" "1.00"
line "  (the three measurements around the runs)" "$lc1 $lc2 $lc3" ""
line "RA (inkan-rad), POST -> finished" "$u_ra" ""
line "signer (inkan-signerd, SoftHSM included)" "$u_sg" ""
line "RA + signer: limit CPU per signature / this" "$(python3 -c "print(f'{$u_ra + $u_sg:.1f}')")" "$(div "$lcmed" "$(python3 -c "print($u_ra + $u_sg)")")"
line "  the same after the POST: RA $u_rap + signer $u_sgp" "$(python3 -c "print(f'{$u_rap + $u_sgp:.1f}')")" "$(div "$lcmed" "$(python3 -c "print($u_rap + $u_sgp)")")"
[ "$only" != issuance ] || exit 0

# ---- 2. openssl ca per certificate through the pkcs11 engine, the same 1000 CSRs' worth
m=1000; [ "$n" -ge 1000 ] || m=$n
mkdir -p "$TMP/oca/new"; : > "$TMP/oca/index.txt"; echo 1000 > "$TMP/oca/serial"
cat > "$TMP/oca/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
dir = $TMP/oca
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
certificate = $TMP/ca/issuing-ca.pem
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
x509_extensions = x
[p]
commonName = supplied
[x]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
CNF
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=oca \
	-keyout "$TMP/oca/k.pem" -out "$TMP/oca/r.pem" 2>/dev/null
pin=$(cat "$TMP/hsm/user.pin")
export PKCS11_MODULE_PATH=/usr/lib/softhsm/libsofthsm2.so
t0=$(date +%s%N)
for i in $(seq 1 "$m"); do
	printf '%s\n' "$pin" | OPENSSL_CONF=/dev/null openssl ca -batch -config "$TMP/oca/ca.cnf" \
		-engine pkcs11 -keyform engine -keyfile "pkcs11:token=inkan;object=inkan-issuing-ca;type=private" \
		-passin stdin -in "$TMP/oca/r.pem" -subj "/CN=oca-$i" -days 30 -out /dev/null \
		>/dev/null 2>"$TMP/oca/err" || { cat "$TMP/oca/err" >&2; ik_fail "openssl ca failed"; }
done
t_oca=$(( ($(date +%s%N) - t0) / 1000000 ))
unset pin
r_oca=$(div "$m" "$(div "$t_oca" 1000 3)" 1)
echo
head3 "the same $m certificates" "per second" "Inkan ×"
line "openssl ca per certificate, pkcs11 engine (baseline)" "$r_oca" "1"
line "Inkan RA singles (above)" "$r_single" "$(div "$r_single" "$r_oca" 1)"
line "Inkan RA batch (above)" "$r_batch" "$(div "$r_batch" "$r_oca" 1)"

# ---- 4. officer list and search under wrk, while an N batch runs
ik_login olivia "$OFFICER_PW" >/dev/null
awk '$6 == "inkan_session" {printf "inkan_session=%s", $7}' "$TMP/jar.olivia" > "$TMP/cookie"
day=$(( $(date +%s) - 400 * 86400 )); d1=$(date -u -d "@$day" +%F); d2=$(date -u -d "@$(( day + 86400 ))" +%F)
cat > "$TMP/paths.json" <<P
{"api": ["/api/v1/certificates", "/api/v1/certificates?filter=revoked",
  "/api/v1/certificates?filter=valid&sort=cn", "/api/v1/certificates?cn=0012345",
  "/api/v1/certificates?cn=osaka", "/api/v1/certificates?issued_from=$day&issued_to=$(( day + 86400 ))",
  "/api/v1/certificates?filter=suspended&cn=kyoto"],
 "ui": ["/ui/certs", "/ui/certs?filter=revoked", "/ui/certs?filter=valid&sort=cn",
  "/ui/certs?cn=0012345", "/ui/certs?cn=osaka", "/ui/certs?from=$d1&to=$d2",
  "/ui/certs?filter=suspended&cn=kyoto"],
 "base": ["/healthz"]}
P
cat > "$TMP/wrk.lua" <<'LUA'
local f = io.open(os.getenv("IK_COOKIE_FILE")); local cookie = f:read("*a"); f:close()
local paths = {}
for p in string.gmatch(os.getenv("IK_PATHS"), "[^ ]+") do paths[#paths + 1] = p end
local i = 0
request = function()
	i = i + 1
	return wrk.format("GET", paths[(i % #paths) + 1], { ["Cookie"] = cookie })
end
done = function(summary, latency, requests)
	io.write(string.format("WRK %.1f %.1f %.1f %d %d\n", latency:percentile(50) / 1000,
		latency:percentile(99) / 1000, latency.max / 1000, summary.requests,
		summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
LUA
wrk_run() { # KEY SECONDS: "p50 p99 max requests errors" (ms)
	IK_COOKIE_FILE="$TMP/cookie" IK_PATHS="$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))[sys.argv[2]]))' "$TMP/paths.json" "$1")" \
		wrk -t2 -c4 -d"$2"s --timeout 10s -s "$TMP/wrk.lua" "$BASE" 2>&1 | awk '/^WRK/ {print $2, $3, $4, $5, $6}'
}
one_ms() { # PATH: ms of one request (the list's shape on its own)
	curl -s -o /dev/null -w '%{time_total}' --cacert "$TMP/tls.pem" -b "$(cat "$TMP/cookie")" "$BASE$1" |
		awk '{printf "%.1f", $1 * 1000}'
}
echo
head3 "one request each, idle (ms; the slowest shapes show here)" "API" "UI"
for k in 0 1 2 3 4 5 6; do
	pa=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"][int(sys.argv[2])])' "$TMP/paths.json" "$k")
	pu=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ui"][int(sys.argv[2])])' "$TMP/paths.json" "$k")
	line "${pa#/api/v1/certificates}" "$(one_ms "$pa")" "$(one_ms "$pu")"
done
read -r b50 b99 bmax breq berr < <(wrk_run base 5)
client batch "$BASE" "$TMP/tls.pem" "$n" > "$TMP/batch2.out" & bp=$!
sleep 2
read -r a50 a99 amax areq aerr < <(wrk_run api 15)
read -r u50 u99 umax ureq uerr < <(wrk_run ui 15)
wait "$bp" || true
echo
head3 "wrk, 4 connections, $big certificates, a $n batch running" "p50 / p99 ms" "max ms (reqs)"
line "baseline: GET /healthz" "$b50 / $b99" "$bmax ($breq)"
line "JSON: /api/v1/certificates, 7 query shapes in turn" "$a50 / $a99" "$amax ($areq)"
line "HTML: /ui/certs, the same 7 shapes" "$u50 / $u99" "$umax ($ureq)"
echo "(errors: api $aerr, ui $uerr; p99 vs /healthz: $(div "$a99" "$b99" 1)× and $(div "$u99" "$b99" 1)×; batch: $(cat "$TMP/batch2.out"); load $(load))"

# ---- 5. PKCS#12 downloads: k of each format, in rounds that take the in-process figure
# and the downloads in turn (this machine's load moves within seconds: both halves of the
# ratio then see the same); means over all rounds
# The RA also times its own downloads (/metrics: handler time and the key-derivation part of
# it: credential check, key generation, PKCS#12 KDFs), read around each round.
k=20; rounds=4
dl_metrics() { # "count handler_s kdf_s" so far
	curl -s --cacert "$TMP/tls.pem" "$BASE/metrics" | awk '$1 == "inkan_downloads_total" {n = $2}
		$1 == "inkan_download_seconds_total" {t = $2} $1 == "inkan_download_kdf_seconds_total" {k = $2}
		END {print n + 0, t + 0, k + 0}'
}
p12_rounds() { # FORMAT: "http_ms verify_ms keygen_ms build_ms ra_handler_ms ra_kdf_ms"
	local i a b c d all= m0 m1
	for i in $(seq 1 "$rounds"); do
		read -r a b c < <("$B/bench_ra_hsm" p12 "$TMP/ca/issuing-ca.pem" $(( k / rounds )) "$1")
		m0=$(dl_metrics)
		read -r d _ < <(client p12 "$BASE" "$TMP/tls.pem" "$1" $(( k / rounds )) 1)
		m1=$(dl_metrics)
		all="$all $d $a $b $c $m0 $m1"
	done
	python3 -c "import sys; v = [float(x) for x in sys.argv[1:]]; r = [v[i:i + 10] for i in range(0, len(v), 10)]
m = [sum(x[j] for x in r) / len(r) for j in range(4)]
n = sum(x[7] - x[4] for x in r) or 1
m += [sum(x[8] - x[5] for x in r) * 1000 / n, sum(x[9] - x[6] for x in r) * 1000 / n]
print(' '.join(f'{x:.1f}' for x in m))" $all
}
read -r dm_ms pv_m pk_m pb_m rh_m rk_m < <(p12_rounds modern)
read -r dc_ms pv_c pk_c pb_c rh_c rk_c < <(p12_rounds compatible)
kd_m=$(python3 -c "print(f'{$pv_m + $pk_m + $pb_m:.1f}')"); kd_c=$(python3 -c "print(f'{$pv_c + $pk_c + $pb_c:.1f}')")
echo
head3 "PKCS#12 download, one at a time ($k each)" "ms per file" "keygen+KDF"
line "modern: POST /download/p12 (credential, key, issue, .p12)" "$dm_ms" "$(div "$kd_m" "$dm_ms")"
line "  in process: scrypt check $pv_m + keygen $pk_m + PKCS#12 $pb_m" "$kd_m" ""
line "  the RA's own timing: handler $rh_m ms, key derivation $rk_m ms" "$rh_m" "$(div "$rk_m" "$rh_m")"
line "  the RA's key derivation against the client's ms per file" "$dm_ms" "$(div "$rk_m" "$dm_ms")"
line "compatible: POST /download/p12" "$dc_ms" "$(div "$kd_c" "$dc_ms")"
line "  in process: scrypt check $pv_c + keygen $pk_c + PKCS#12 $pb_c" "$kd_c" ""
line "  the RA's own timing: handler $rh_c ms, key derivation $rk_c ms" "$rh_c" "$(div "$rk_c" "$rh_c")"
line "  the RA's key derivation against the client's ms per file" "$dc_ms" "$(div "$rk_c" "$dc_ms")"
client p12 "$BASE" "$TMP/tls.pem" modern 50 50 > "$TMP/p12x50.out" & pp=$!
sleep 1
read -r c50 c99 cmax creq cerr < <(wrk_run ui 10)
wait "$pp"
read -r x_ms x_wall < "$TMP/p12x50.out"
line "50 concurrent modern downloads: ms per file / wall s" "$x_ms" "$x_wall s"
line "  /ui/certs meanwhile, p50 / p99 ms (max)" "$c50 / $c99" "$cmax"
line "  RA peak RSS so far (VmHWM, MiB)" "$(hwm "$RAD_PID")" ""
echo "(load $(load))"

# ---- 3. revocation latency at BIG revoked entries (CRL over HTTP and OCSP both say so)
kr=100
cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"; }
cs0=$(cpu "$SIGNER_PID"); cr0=$(cpu "$RAD_PID"); l_rv=$(load)
client revoke "$BASE" "$TMP/tls.pem" "$HTTP" "$TMP/ca/issuing-ca.pem" "$kr" > "$TMP/revoke.out" \
	2> "$TMP/revoke.err" &
rv=$!
rss_peaks "$rv"
wait "$rv" || { cat "$TMP/revoke.err" >&2; ik_fail "the revocation client failed"; }
read -r rv_med rv_max < "$TMP/revoke.out"
echo
head3 "revocation at $big revoked: API call -> CRL over HTTP and OCSP" "median ms" "worst ms"
line "$kr revocations, each polled until both show it" "$rv_med" "$rv_max"
cat "$TMP/revoke.err"
echo "(CRL: $(( $(stat -c %s "$TMP/crl0.der") / 1000 )) kB DER before; CPU per revocation: signer" \
	"$(python3 -c "print(f'{($(cpu "$SIGNER_PID") - $cs0) * 1000 / $kr:.0f}')") ms, RA" \
	"$(python3 -c "print(f'{($(cpu "$RAD_PID") - $cr0) * 1000 / $kr:.0f}')") ms; load $l_rv -> $(load))"
# a burst, as after an incident: kr more posted at once, until the CRL lists every one
read -r b_post b_all b_fetch < <(client revoke_burst "$BASE" "$TMP/tls.pem" "$HTTP" "$kr")
echo "burst: $kr more revocations posted at once (in $b_post ms): the CRL over HTTP listed all" \
	"after $b_all ms; the RA fetched $b_fetch CRLs from the signer meanwhile"

# ---- 6. memory
echo
head3 "resident memory (MiB)" "signer" "RA"
line "at idle ($big rows in each store)" "$idle_s" "$idle_r"
line "after the issuance runs ($(( n + singles )) certificates)" "$after_s" "$after_r"
line "during the revocations (CRL of $big, sampled every 0.2 s: max)" "$peak_s" "$peak_r"
line "peak over the whole run (VmHWM)" "$(hwm "$SIGNER_PID")" "$(hwm "$RAD_PID")"
echo
echo "RA rows took $(( $(date +%s) - t_start )) s; load at the end: $(load)"
