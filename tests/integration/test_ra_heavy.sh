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

# burst DIR N: N concurrent wrong-credential downloads (each a full scrypt check)
burst() {
	mkdir -p "$1"
	for i in $(seq 1 "$2"); do
		curl -s --max-time 60 --cacert "$TMP/tls.pem" -o "$1/$i.body" -w '%{http_code}' -X POST \
			-H 'Content-Type: application/json' \
			--data "{\"login\":\"dl-NOPE$i\",\"secret\":\"WRONGWRONG99\",\"password\":\"Xy7!pass-word\",\"device\":\"windows\"}" \
			"$BASE/download/p12" >"$1/$i.status" &
	done
}
burst "$TMP/b1" 12
# an officer's call is answered while the burst runs (it never waits for the heavy pool)
s=$(ik_api olivia "$OFF" GET "/api/v1/certificates?limit=10"); ik_expect 200 - "$s" "officer list during the burst"
wait_burst() { for j in $(jobs -p); do [ "$j" = "$SIGNER_PID" ] || [ "$j" = "$RAD_PID" ] || wait "$j" || true; done; }
wait_burst
busy=0 denied=0
for i in $(seq 1 12); do
	case "$(cat "$TMP/b1/$i.status")" in
	503) grep -q '"code":"busy"' "$TMP/b1/$i.body" || ik_fail "503 without code busy: $(cat "$TMP/b1/$i.body")"
	     busy=$((busy + 1)) ;;
	401) grep -q '"code":"bad_credentials"' "$TMP/b1/$i.body" || ik_fail "401 body: $(cat "$TMP/b1/$i.body")"
	     denied=$((denied + 1)) ;;
	*) ik_fail "download $i: status $(cat "$TMP/b1/$i.status") $(head -c 300 "$TMP/b1/$i.body")" ;;
	esac
done
[ "$busy" -ge 1 ] || ik_fail "no 503 busy with 12 concurrent downloads, 1 thread and 1 waiting place"
[ "$denied" -ge 2 ] || ik_fail "fewer than two downloads were actually checked ($denied)"
ik_ok "12 concurrent downloads on 1 heavy thread + 1 waiting place: $denied checked (401), $busy busy (503 JSON)"

# the form route gets the busy page in Japanese when the pool is full
mkdir -p "$TMP/b2"
UJ=$TMP/jar.user
s=$(ik_req GET /download -c "$UJ" -H 'Accept-Language: ja'); [ "$s" = 200 ] || ik_fail "GET /download: $s"
CSRF=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$TMP/body" | sed -n 1p)
[ -n "$CSRF" ] || ik_fail "no CSRF field on /download"
for i in $(seq 1 10); do
	curl -s --max-time 60 --cacert "$TMP/tls.pem" -b "$UJ" -o "$TMP/b2/$i.body" -w '%{http_code}' \
		-X POST -H 'Accept-Language: ja' -H 'Accept: text/html' --data-urlencode "csrf=$CSRF" \
		--data "login=dl-NOPE$i&password=WRONGWRONG99" "$BASE/download" >"$TMP/b2/$i.status" &
done
wait_burst
page=0
for i in $(seq 1 10); do
	if [ "$(cat "$TMP/b2/$i.status")" = 503 ]; then
		grep -q '混み合っています' "$TMP/b2/$i.body" || ik_fail "busy page not in Japanese: $(head -c 400 "$TMP/b2/$i.body")"
		page=1
	fi
done
[ "$page" = 1 ] || ik_fail "no busy page among 10 concurrent form posts"
ik_ok "the download form's busy answer is a Japanese page"

# stopping with requests waiting: every client gets an answer, the RA exits 0
burst "$TMP/b3" 6
sleep 0.3
ik_stop_ra || ik_fail "inkan-rad did not stop cleanly with heavy requests in flight"
wait_burst
for i in $(seq 1 6); do
	case "$(cat "$TMP/b3/$i.status")" in
	401|503|000) ;; # 000: the connection closed by the stopping daemon, no hang
	*) ik_fail "during stop, download $i: $(cat "$TMP/b3/$i.status")" ;;
	esac
done
ik_ok "SIGTERM with heavy requests in flight: clean exit, every client answered or closed"

# settings are validated
for bad in "heavy_workers = 0" "heavy_workers = 17" "heavy_queue = 0" "heavy_queue = many"; do
	ik_ra_config 1 "$bad"
	inkan-rad --check-config "$TMP/ra.conf" >"$TMP/cc.out" 2>&1 && ik_fail "accepted: $bad"
	grep -q "heavy_" "$TMP/cc.out" || ik_fail "the error does not name the key ($bad): $(cat "$TMP/cc.out")"
done
ik_ok "bad heavy_workers / heavy_queue refused, naming the key"
