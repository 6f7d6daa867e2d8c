#!/usr/bin/env bash
# The heavy-request pool (ra/http_heavy.c): with one heavy thread and room for one waiting
# request, a burst of downloads gets some real answers and some "503 busy" (JSON for the API,
# a page in the visitor's language for the forms) — never a hang; officers' calls go on
# meanwhile; heavy_* settings are validated; and stopping the RA with requests still waiting
# answers them and exits cleanly.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
ik_start_signer
ik_ra_officers
ik_start_ra "heavy_workers = 1
heavy_queue = 1"
OFF=$(ik_login olivia "$OFFICER_PW")

# burst DIR N: N wrong-credential downloads (each a full scrypt check), all at once from one
# curl (--parallel): the statuses in DIR/status, one line each, the bodies in DIR/<i>.body
burst() {
	local args=() i
	mkdir -p "$1"
	for i in $(seq 1 "$2"); do
		[ "$i" -gt 1 ] && args+=(--next)
		args+=(-s --max-time 60 --cacert "$TMP/tls.pem" -o "$1/$i.body" -w '%{http_code}\n'
			-X POST -H 'Content-Type: application/json'
			--data "{\"login\":\"dl-NOPE$i\",\"secret\":\"WRONGWRONG99\",\"password\":\"Xy7!pass-word\",\"device\":\"windows\"}"
			"$BASE/download/p12")
	done
	curl --parallel --parallel-immediate --parallel-max "$2" "${args[@]}" >"$1/status" &
}
burst "$TMP/b1" 24
# an officer's call is answered while the burst runs (it never waits for the heavy pool)
s=$(ik_api olivia "$OFF" GET "/api/v1/certificates?limit=10"); ik_expect 200 - "$s" "officer list during the burst"
wait_burst() { for j in $(jobs -p); do [ "$j" = "$SIGNER_PID" ] || [ "$j" = "$RAD_PID" ] || wait "$j" || true; done; }
wait_burst
busy=$(grep -c '^503$' "$TMP/b1/status" || true)
denied=$(grep -c '^401$' "$TMP/b1/status" || true)
[ $((busy + denied)) = 24 ] || ik_fail "statuses other than 401 and 503: $(sort "$TMP/b1/status" | uniq -c)"
for f in "$TMP"/b1/*.body; do
	grep -q '"code":"busy"\|"code":"bad_credentials"' "$f" || ik_fail "a body: $(head -c 300 "$f")"
done
[ "$busy" -ge 1 ] || ik_fail "no 503 busy with 24 concurrent downloads, 1 thread and 1 waiting place"
[ "$denied" -ge 2 ] || ik_fail "fewer than two downloads were actually checked ($denied)"
ik_ok "24 concurrent downloads on 1 heavy thread + 1 waiting place: $denied checked (401), $busy busy (503 JSON)"

# the form route gets the busy page in Japanese when the pool is full
mkdir -p "$TMP/b2"
UJ=$TMP/jar.user
s=$(ik_req GET /download -c "$UJ" -H 'Accept-Language: ja'); [ "$s" = 200 ] || ik_fail "GET /download: $s"
CSRF=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$TMP/body" | sed -n 1p)
[ -n "$CSRF" ] || ik_fail "no CSRF field on /download"
args=()
for i in $(seq 1 16); do
	[ "$i" -gt 1 ] && args+=(--next)
	args+=(-s --max-time 60 --cacert "$TMP/tls.pem" -b "$UJ" -o "$TMP/b2/$i.body" -w '%{http_code}\n'
		-X POST -H 'Accept-Language: ja' -H 'Accept: text/html' --data-urlencode "csrf=$CSRF"
		--data "login=dl-NOPE$i&password=WRONGWRONG99" "$BASE/download")
done
curl --parallel --parallel-immediate --parallel-max 16 "${args[@]}" >"$TMP/b2/status"
grep -q '^503$' "$TMP/b2/status" || ik_fail "no busy answer among 16 concurrent form posts"
grep -l '混み合っています' "$TMP"/b2/*.body >/dev/null || ik_fail "the busy answer is not a Japanese page"
ik_ok "the download form's busy answer is a Japanese page"

# stopping with requests waiting: every client gets an answer, the RA exits 0
burst "$TMP/b3" 6
sleep 0.3
ik_stop_ra || ik_fail "inkan-rad did not stop cleanly with heavy requests in flight"
wait_burst
while read -r st; do
	case "$st" in
	401|503|000) ;; # 000: the connection closed by the stopping daemon, no hang
	*) ik_fail "during stop, a download got $st" ;;
	esac
done <"$TMP/b3/status"
ik_ok "SIGTERM with heavy requests in flight: clean exit, every client answered or closed"

# settings are validated
for bad in "heavy_workers = 0" "heavy_workers = 17" "heavy_queue = 0" "heavy_queue = many"; do
	ik_ra_config 1 "$bad"
	inkan-rad --check-config "$TMP/ra.conf" >"$TMP/cc.out" 2>&1 && ik_fail "accepted: $bad"
	grep -q "heavy_" "$TMP/cc.out" || ik_fail "the error does not name the key ($bad): $(cat "$TMP/cc.out")"
done
ik_ok "bad heavy_workers / heavy_queue refused, naming the key"
