#!/usr/bin/env bash
# The heavy-request pool (ra/http_heavy.c) with one heavy thread and room for one waiting
# request: with both taken (two downloads waiting for a held signer) more downloads get
# "503 busy" at once (JSON for the API, a page in the visitor's language for the forms) while
# officers' calls are answered; the held downloads then finish; a burst loses nothing;
# stopping the RA with requests in flight answers them and exits cleanly; the heavy threads run
# at a lower priority (heavy_nice); heavy_* settings are validated.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
ik_start_signer
ik_ra_officers
ik_start_ra "heavy_workers = 1
heavy_queue = 1"
OFF=$(ik_login olivia "$OFFICER_PW")

# thread_nice PID NAME: the nice value of each of PID's threads named NAME, one a line
thread_nice() {
	local t
	for t in /proc/"$1"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = "$2" ] && sed 's/.*) //' "$t/stat" | awk '{print $17}'
	done
	return 0
}
# the heavy thread runs at a lower priority (heavy_nice, 10 by default), the HTTP threads not
[ "$(thread_nice "$RAD_PID" ra-heavy)" = 10 ] ||
	ik_fail "the heavy thread's nice is '$(thread_nice "$RAD_PID" ra-heavy)', not 10"
[ "$(sed 's/.*) //' "/proc/$RAD_PID/stat" | awk '{print $17}')" = 0 ] || ik_fail "the RA's main thread is not at nice 0"
ik_ok "the heavy thread runs at nice 10, the RA's main thread at 0"

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
wait_bg() { for j in $(jobs -p); do [ "$j" = "$SIGNER_PID" ] || [ "$j" = "$RAD_PID" ] || wait "$j" || true; done; }

# two certificates waiting for their end users' downloads
s=$(ik_api olivia "$OFF" POST /api/v1/users '{"external_id":"h1"}'); ik_expect 201 - "$s" "user"; U=$(ik_json 'd["id"]')
for d in a b; do
	s=$(ik_api olivia "$OFF" POST "/api/v1/users/$U/devices" "{\"name\":\"$d\"}"); ik_expect 201 - "$s" "device $d"
	s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$(ik_json 'd["id"]')/certificates" "{\"common_name\":\"heavy-$d\"}")
	ik_expect 201 - "$s" "issue $d"
	printf '%s %s\n' "$(ik_json 'd["download"]["login"]')" "$(ik_json 'd["download"]["password"]')" >"$TMP/cred.$d"
done
# the real signer held (SIGSTOP): download a then occupies the one heavy thread (it waits for
# the signer) and download b the one waiting place, for as long as the signer is held
kill -STOP "$SIGNER_PID"
for d in a b; do
	read -r L P <"$TMP/cred.$d"
	curl -s --max-time 120 --cacert "$TMP/tls.pem" -o "$TMP/dl.$d" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' \
		--data "{\"login\":\"$L\",\"secret\":\"$P\",\"password\":\"Xy7!pass-word\",\"device\":\"windows\"}" \
		"$BASE/download/p12" >"$TMP/dl.$d.status" &
	sleep 2.5 # it reaches the pool (no answer can come while the signer is held)
done
for i in 1 2 3 4 5; do
	s=$(ik_req POST /download/p12 -H 'Content-Type: application/json' \
		--data "{\"login\":\"dl-NOPE$i\",\"secret\":\"WRONGWRONG99\",\"password\":\"Xy7!pass-word\",\"device\":\"windows\"}")
	ik_expect 503 busy "$s" "download $i with the heavy thread and its waiting place taken"
done
ik_ok "heavy thread and waiting place taken: further downloads get 503 busy (JSON) at once"
# an officer's call never waits for the heavy pool
s=$(ik_api olivia "$OFF" GET "/api/v1/certificates?limit=10"); ik_expect 200 - "$s" "officer list while the heavy pool is full"
ik_ok "officer list answered while the heavy pool is full"
# the download form's busy answer is a page in the visitor's language
UJ=$TMP/jar.user
s=$(ik_req GET /download -c "$UJ" -H 'Accept-Language: ja'); [ "$s" = 200 ] || ik_fail "GET /download: $s"
CSRF=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$TMP/body" | sed -n 1p)
[ -n "$CSRF" ] || ik_fail "no CSRF field on /download"
s=$(ik_req POST /download -b "$UJ" -H 'Accept-Language: ja' -H 'Accept: text/html' \
	--data-urlencode "csrf=$CSRF" --data "login=dl-NOPE9&password=WRONGWRONG99")
[ "$s" = 503 ] || ik_fail "form post with the pool full: $s"
grep -q '混み合っています' "$TMP/body" || ik_fail "the busy answer is not a Japanese page: $(head -c 400 "$TMP/body")"
ik_ok "the download form's busy answer is a Japanese page"
# the signer let go: both held downloads finish with their .p12
kill -CONT "$SIGNER_PID"
wait_bg
for d in a b; do
	[ "$(cat "$TMP/dl.$d.status")" = 200 ] || ik_fail "held download $d: $(cat "$TMP/dl.$d.status") $(head -c 300 "$TMP/dl.$d")"
	printf '%s' 'Xy7!pass-word' >"$TMP/p12pw"
	openssl pkcs12 -in "$TMP/dl.$d" -passin file:"$TMP/p12pw" -nokeys 2>/dev/null | grep -q 'BEGIN CERTIFICATE' ||
		ik_fail "held download $d: the .p12 does not open"
done
ik_ok "the two held downloads completed (200, .p12 opens) once the signer ran again"

# a burst of 24 at once: every one answered, 401 (checked) or 503 (busy), none lost
burst "$TMP/b1" 24
wait_bg
busy=$(grep -c '^503$' "$TMP/b1/status" || true)
denied=$(grep -c '^401$' "$TMP/b1/status" || true)
[ $((busy + denied)) = 24 ] || ik_fail "statuses other than 401 and 503: $(sort "$TMP/b1/status" | uniq -c)"
[ "$denied" -ge 1 ] || ik_fail "no download of the burst was checked"
ik_ok "a burst of 24: $denied checked (401), $busy busy (503), none lost"

# stopping with requests waiting: every client gets an answer, the RA exits 0
burst "$TMP/b3" 6
sleep 0.3
ik_stop_ra || ik_fail "inkan-rad did not stop cleanly with heavy requests in flight"
wait_bg
while read -r st; do
	case "$st" in
	401|503|000) ;; # 000: the connection closed by the stopping daemon, no hang
	*) ik_fail "during stop, a download got $st" ;;
	esac
done <"$TMP/b3/status"
ik_ok "SIGTERM with heavy requests in flight: clean exit, every client answered or closed"

# settings are validated
for bad in "heavy_workers = 0" "heavy_workers = 17" "heavy_queue = 0" "heavy_queue = many" \
	"heavy_nice = 20" "heavy_nice = -1"; do
	ik_ra_config 1 "$bad"
	inkan-rad --check-config "$TMP/ra.conf" >"$TMP/cc.out" 2>&1 && ik_fail "accepted: $bad"
	grep -q "heavy_" "$TMP/cc.out" || ik_fail "the error does not name the key ($bad): $(cat "$TMP/cc.out")"
done
ik_ok "bad heavy_workers / heavy_queue / heavy_nice refused, naming the key"

# another heavy_nice is the one the threads get; 0 leaves them as they were
for v in 3 0; do
	ik_start_ra "heavy_workers = 2
heavy_nice = $v"
	[ "$(thread_nice "$RAD_PID" ra-heavy | sort -u)" = "$v" ] ||
		ik_fail "heavy_nice = $v: the heavy threads' nice values are '$(thread_nice "$RAD_PID" ra-heavy | tr '\n' ' ')'"
	ik_stop_ra
done
ik_ok "heavy_nice = 3 and 0 are what the two heavy threads run at"
