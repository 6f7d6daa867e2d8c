#!/usr/bin/env bash
# Certificates requested one by one from CSRs, many at once (ra/api_certs.c: the connection is
# suspended and answered by the store's group committer): every 202 names a request that is
# already in the database file, two requests for one device in the same burst give one 202
# and one 409, all are issued; refusals still come first (CSRF, role, bad CSR); and stopping
# the RA while the commit waits for a held database lock answers the waiting requests once
# their rows are durable and exits cleanly.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
ik_start_signer
ik_ra_officers
ik_start_ra
OFF=$(ik_login olivia "$OFFICER_PW")
AUD=$(ik_login carol "$AUDITOR_PW")
N=24

s=$(ik_api olivia "$OFF" POST /api/v1/users '{"external_id":"singles"}'); ik_expect 201 - "$s" "user"
U=$(ik_json 'd["id"]')
newdev() { s=$(ik_api olivia "$OFF" POST "/api/v1/users/$U/devices" "{\"name\":\"$1\"}"); ik_expect 201 - "$s" "device $1"; ik_json 'd["id"]'; }
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=single \
	-keyout "$TMP/s.key" -out "$TMP/s.pem" 2>/dev/null
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' "$TMP/s.pem" >"$TMP/csr.json"

# burst DIR DEVICE...: one CSR POST per device, all at once; DIR/status has one status a line
burst() {
	local dir=$1 args=() i=0 d; shift
	mkdir -p "$dir"
	for d in "$@"; do
		i=$((i + 1))
		[ "$i" -gt 1 ] && args+=(--next)
		args+=(-s --max-time 60 --cacert "$TMP/tls.pem" -b "$TMP/jar.olivia" -o "$dir/$i.body"
			-w '%{http_code}\n' -X POST -H "X-CSRF-Token: $OFF" -H 'Content-Type: application/json'
			--data @"$TMP/csr.json" "$BASE/api/v1/devices/$d/certificates")
	done
	curl --parallel --parallel-immediate --parallel-max "$i" "${args[@]}" >"$dir/status" 2>"$dir/stderr"
}
# every 202 body's request in the database file, as issuing or later
check_202s() {
	local f id n=0
	for f in "$1"/*.body; do
		grep -q '"state":"issuing"' "$f" || continue
		id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["request_id"])' "$f")
		[ "$(sqlite3 "$TMP/ra.sqlite" "SELECT COUNT(*) FROM requests WHERE id = $id")" = 1 ] ||
			ik_fail "$2: request $id answered 202 but not in the database"
		n=$((n + 1))
	done
	echo "$n"
}

DEVS=()
for i in $(seq 1 $N); do DEVS+=("$(newdev "d$i")"); done
burst "$TMP/b1" "${DEVS[@]}" "${DEVS[0]}"
[ "$(grep -c '^202$' "$TMP/b1/status")" = $N ] || ik_fail "burst: $(sort "$TMP/b1/status" | uniq -c | tr '\n' ' ')"
[ "$(grep -c '^409$' "$TMP/b1/status")" = 1 ] || ik_fail "burst: the second request for one device not refused once"
grep -l has_live_certificate "$TMP/b1"/*.body >/dev/null || ik_fail "burst: no has_live_certificate"
[ "$(check_202s "$TMP/b1" burst)" = $N ] || ik_fail "burst: not $N requests found"
ik_ok "$N CSRs at once (and one device twice): $N x 202, each already in the database, one 409"
for _ in $(seq 1 100); do
	n=$(sqlite3 "$TMP/ra.sqlite" "SELECT COUNT(*) FROM certificates WHERE state = 'active' AND cn = 'single'")
	[ "$n" = $N ] && break
	sleep 0.2
done
[ "$n" = $N ] || ik_fail "only $n of $N certificates active"
ik_ok "all $N issued"

# the CN: given > the request's > the user's id
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /O=nocn \
	-keyout "$TMP/n.key" -out "$TMP/n.pem" 2>/dev/null
nocn=$(python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' "$TMP/n.pem")
D1=$(newdev cn1); D2=$(newdev cn2)
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D1/certificates" "$nocn"); ik_expect 202 - "$s" "CSR without a CN"
C1=$(ik_json 'd["certificate_id"]')
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D2/certificates" "{\"common_name\":\"given-cn\",${nocn#\{}"); ik_expect 202 - "$s" "CN given"
C2=$(ik_json 'd["certificate_id"]')
[ "$(sqlite3 "$TMP/ra.sqlite" "SELECT cn FROM certificates WHERE id = $C1")" = singles ] || ik_fail "no CN: not the user's id"
[ "$(sqlite3 "$TMP/ra.sqlite" "SELECT cn FROM certificates WHERE id = $C2")" = given-cn ] || ik_fail "given CN not used"
ik_ok "CN: the user's id when the request has none, the given one first"

# refusals before anything is queued
D=$(newdev refused)
s=$(ik_req POST "/api/v1/devices/$D/certificates" -b "$TMP/jar.olivia" -H 'Content-Type: application/json' --data @"$TMP/csr.json")
ik_expect 403 csrf "$s" "no CSRF token"
s=$(ik_api carol "$AUD" POST "/api/v1/devices/$D/certificates" "$(cat "$TMP/csr.json")"); ik_expect 403 forbidden "$s" "auditor"
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/$D/certificates" '{"csr":"-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n"}')
ik_expect 400 bad_csr "$s" "malformed CSR"
s=$(ik_api olivia "$OFF" POST "/api/v1/devices/999999/certificates" "$(cat "$TMP/csr.json")"); ik_expect 404 not_found "$s" "no such device"
[ "$(sqlite3 "$TMP/ra.sqlite" "SELECT COUNT(*) FROM requests WHERE device_id = $D")" = 0 ] || ik_fail "a refused request was queued"
ik_ok "CSRF, role, bad CSR and unknown device refused; nothing queued"

# stopping while the commit waits: another process holds the database's write lock
DEVS=()
for i in $(seq 1 8); do DEVS+=("$(newdev "stop$i")"); done
python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE"); open(sys.argv[2], "w").close(); time.sleep(3); c.execute("ROLLBACK")' \
	"$TMP/ra.sqlite" "$TMP/locked" &
LOCKER=$!
for _ in $(seq 1 50); do [ -f "$TMP/locked" ] && break; sleep 0.1; done
burst "$TMP/b2" "${DEVS[@]}" &
BURST=$!
sleep 1
[ "$(sqlite3 "$TMP/ra.sqlite" "SELECT COUNT(*) FROM requests WHERE device_id IN ($(IFS=,; echo "${DEVS[*]}"))")" = 0 ] ||
	ik_fail "rows visible while the lock is held"
ik_stop_ra || ik_fail "inkan-rad did not stop cleanly with CSR requests waiting for their commit"
wait "$LOCKER"
wait "$BURST" || true
[ "$(grep -c '^202$' "$TMP/b2/status")" = 8 ] || ik_fail "stop: $(sort "$TMP/b2/status" | uniq -c | tr '\n' ' ')"
[ "$(check_202s "$TMP/b2" stop)" = 8 ] || ik_fail "stop: not 8 requests found"
ik_ok "SIGTERM while 8 CSR requests wait for their commit: each answered 202 once durable, clean exit"
