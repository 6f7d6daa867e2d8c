#!/usr/bin/env bash
# bench_ra_list: the officer list and search of issue 11 item 5, shape by shape — BIG
# certificates in the RA store (bench_ra_fill), then wrk on each query shape alone (JSON and
# HTML) while an N-certificate batch runs, against wrk on /healthz in the same run.
# Usage: bench/bench_ra_list.sh [BIG] [N] [SECONDS] once INKAN_BUILD (default build-bench/)
# holds inkan-rad, inkan-signerd and bench/bench_ra_fill.  IK_RA_FILLED=FILE keeps the filled
# store: the first run fills and copies it there, later runs start from a copy of it (the
# officers are in it; filling a million rows takes about ten minutes).  IK_SHAPES="0 3"
# runs only those shapes (0..6, the rows below).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
big=${1:-1000000}
n=${2:-3000}
secs=${3:-6}
export INKAN_BUILD=${INKAN_BUILD:-$src/build-bench} INKAN_SRC=$src
. "$src/tests/integration/lib.sh"
B=$INKAN_BUILD/bench
load() { cut -d' ' -f1-3 /proc/loadavg; }
line() { printf '| %-34s | %16s | %16s |\n' "$@"; }

echo "== officer list, BIG=$big, batch N=$n, wrk ${secs}s a shape; load at start: $(load)"
ik_setup ec-p256
ik_write_config
filled=${IK_RA_FILLED:-}
if [ -n "$filled" ] && [ -f "$filled" ]; then
	cp "$filled" "$TMP/ra.sqlite"
	echo "filled: a copy of $filled"
else
	ik_ra_officers
	t0=$(date +%s)
	"$B/bench_ra_fill" "$TMP/ra.sqlite" "$big" "$TMP/ca/issuing-ca.pem" 2>"$TMP/rafill.log"
	echo "filled: $(cat "$TMP/rafill.log") ($(( $(date +%s) - t0 )) s wall, load $(load))"
	if [ -n "$filled" ]; then
		sqlite3 "$TMP/ra.sqlite" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
		cp "$TMP/ra.sqlite" "$filled"
	fi
fi
shapes=${IK_SHAPES:-0 1 2 3 4 5 6}
ik_start_signer
ik_start_ra
ik_login olivia "$OFFICER_PW" >/dev/null
awk '$6 == "inkan_session" {printf "inkan_session=%s", $7}' "$TMP/jar.olivia" > "$TMP/cookie"
day=$(( $(date +%s) - 400 * 86400 )); d1=$(date -u -d "@$day" +%F); d2=$(date -u -d "@$(( day + 86400 ))" +%F)
names=("first page" "state: revoked" "state: valid, sort cn" "cn: 0012345 (1 row)"
	"cn: osaka (~6 %)" "issued: one day" "suspended + cn kyoto")
api=("" "?filter=revoked" "?filter=valid&sort=cn" "?cn=0012345" "?cn=osaka"
	"?issued_from=$day&issued_to=$(( day + 86400 ))" "?filter=suspended&cn=kyoto")
ui=("" "?filter=revoked" "?filter=valid&sort=cn" "?cn=0012345" "?cn=osaka"
	"?from=$d1&to=$d2" "?filter=suspended&cn=kyoto")
cat > "$TMP/wrk.lua" <<'LUA'
local f = io.open(os.getenv("IK_COOKIE_FILE")); local cookie = f:read("*a"); f:close()
local path = os.getenv("IK_PATH")
request = function() return wrk.format("GET", path, { ["Cookie"] = cookie }) end
done = function(summary, latency, requests)
	io.write(string.format("WRK %.1f %.1f %.1f %d %d\n", latency:percentile(50) / 1000,
		latency:percentile(99) / 1000, latency.max / 1000, summary.requests,
		summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
LUA
http_ticks() { # CPU ticks (utime + stime) of the RA's HTTP threads so far
	cat /proc/"$RAD_PID"/task/*/stat 2>/dev/null |
		awk '$2 == "(MHD-worker)" {t += $14 + $15} END {print t + 0}'
}
wrk_run() { # PATH: "p50 p99 max requests errors" (ms) and the HTTP threads' CPU µs a request
	local t0 out
	t0=$(http_ticks)
	out=$(IK_COOKIE_FILE="$TMP/cookie" IK_PATH="$1" wrk -t2 -c4 -d"$secs"s --timeout 10s \
		-s "$TMP/wrk.lua" "$BASE" 2>&1 | awk '/^WRK/ {print $2 " / " $3, $4, $5, $6}')
	echo "$out $(( ($(http_ticks) - t0) * 1000000 / $(getconf CLK_TCK) / ($(echo "$out" | awk '{print $5}') + 1) ))"
}
one_ms() {
	curl -s -o /dev/null -w '%{time_total}' --cacert "$TMP/tls.pem" -b "$(cat "$TMP/cookie")" "$BASE$1" |
		awk '{printf "%.1f", $1 * 1000}'
}
echo
line "one request, idle (ms)" "JSON" "HTML"
for k in $shapes; do
	line "${names[$k]}" "$(one_ms "/api/v1/certificates${api[$k]}")" "$(one_ms "/ui/certs${ui[$k]}")"
done
read -r b50 _ b99 _ _ _ bcpu < <(wrk_run /healthz)
# batches of N one after another until every shape has run: each row sees a batch running
(while [ ! -f "$TMP/stop" ]; do
	printf '%s\n' "$OFFICER_PW" | python3 "$src/bench/bench_ra_client.py" batch "$BASE" \
		"$TMP/tls.pem" "$n" >> "$TMP/batch.out" || break
done) & bp=$!
sleep 2
echo
echo "wrk -t2 -c4 ${secs}s per row, $n batches running: p50 / p99 ms, max ms, requests, errors"
line "baseline /healthz" "$b50 / $b99" ""
echo "    (HTTP threads' CPU a request $bcpu µs)"
for k in $shapes; do
	read -r a50 _ a99 amax areq aerr acpu < <(wrk_run "/api/v1/certificates${api[$k]}")
	read -r u50 _ u99 umax ureq uerr ucpu < <(wrk_run "/ui/certs${ui[$k]}")
	line "${names[$k]}" "$a50 / $a99" "$u50 / $u99"
	echo "    (max $amax / $umax ms; requests $areq / $ureq; errors $aerr / $uerr;" \
		"HTTP threads' CPU a request $acpu / $ucpu µs)"
done
echo "load before the last batch ends: $(load)"
touch "$TMP/stop"
wait "$bp" || true
echo "batches (seconds, done, failed, POST s): $(tr '\n' ';' < "$TMP/batch.out")"
