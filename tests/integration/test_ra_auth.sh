#!/usr/bin/env bash
# inkan-rad authentication end to end: the real daemon over HTTPS (throw-away certificate),
# a real SQLite file, officers added by the CLI, curl for login / CSRF / lockout / limits.
set -euo pipefail

: "${INKAN_BUILD:?set INKAN_BUILD to the build directory}"
RAD="$INKAN_BUILD/ra/inkan-rad"
[ -x "$RAD" ] || { echo "FAIL: $RAD not built" >&2; exit 1; }

TMP=$(mktemp -d /tmp/inkan-ra-auth.XXXXXX)
RAD_PID=
cleanup() {
	local rc=$?
	if [ -n "$RAD_PID" ] && kill -0 "$RAD_PID" 2>/dev/null; then
		kill -TERM "$RAD_PID" 2>/dev/null || true
		wait "$RAD_PID" 2>/dev/null || true
	fi
	if [ "$rc" -ne 0 ] && [ -f "$TMP/rad.log" ]; then
		echo "--- inkan-rad log ---" >&2
		tail -n 40 "$TMP/rad.log" >&2 || true
	fi
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

ADMIN_PW='correct horse battery staple 42'
AUDITOR_PW='auditor password 0123'
NEW_PW='a brand new passphrase 7'

# ---- throw-away TLS certificate for 127.0.0.1 ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$TMP/tls.key" -out "$TMP/tls.pem" 2>/dev/null

write_config() { # write_config PORT [extra lines]
	cat > "$TMP/ra.conf" <<CONF
[ra]
listen = 127.0.0.1
port = $1
tls = on
tls_cert = $TMP/tls.pem
tls_key = $TMP/tls.key
database = $TMP/ra.sqlite
signer_socket = $TMP/signer.sock
public_url = https://127.0.0.1:$1
max_body = 65536
lockout_threshold = 5
lockout_seconds = 600
workers = 2
${2:-}
CONF
}

# ---- config refusals ----
write_config 8443 "colour = blue"
if out=$("$RAD" verify-history -c "$TMP/ra.conf" 2>&1); then fail "unknown key accepted"; fi
case "$out" in *"ra.conf:14: [ra] colour: unknown key"*) ;; *) fail "unknown key message: $out" ;; esac
write_config 8443 "batch_cn_pattern = client_%s"
if out=$("$RAD" verify-history -c "$TMP/ra.conf" 2>&1); then fail "bad pattern accepted"; fi
case "$out" in *"[ra] batch_cn_pattern:"*) ;; *) fail "bad pattern message: $out" ;; esac
for bad in "queue_workers = 0" "queue_workers = 17" "queue_workers = two" "queue_group = 0" \
	"queue_group = 129"; do
	write_config 8443 "$bad"
	if out=$("$RAD" verify-history -c "$TMP/ra.conf" 2>&1); then fail "$bad accepted"; fi
	case "$out" in *"ra.conf:14: [ra] ${bad%% *}:"*) ;; *) fail "$bad message: $out" ;; esac
done
write_config 8443 "queue_workers = 4
queue_group = 128"
out=$("$RAD" verify-history -c "$TMP/ra.conf" 2>&1) || fail "queue_workers 4, queue_group 128 refused: $out"
write_config 8443
sed -i '/^tls_cert/d' "$TMP/ra.conf"
if out=$("$RAD" verify-history -c "$TMP/ra.conf" 2>&1); then fail "tls without cert accepted"; fi
case "$out" in *"tls is on but tls_cert is not set"*) ;; *) fail "tls message: $out" ;; esac
ok "config refusals name file, line and key"

# ---- officers by the CLI (password on stdin only) ----
write_config 8443
printf '%s\n' "$ADMIN_PW" | "$RAD" add-officer -c "$TMP/ra.conf" --login admin \
	--role administrator >/dev/null
printf '%s\n' "$AUDITOR_PW" | "$RAD" add-officer -c "$TMP/ra.conf" --login carol \
	--role auditor >/dev/null
if printf 'short\n' | "$RAD" add-officer -c "$TMP/ra.conf" --login bob --role officer \
	2>/dev/null; then fail "short password accepted"; fi
if printf '%s\n' "$ADMIN_PW" | "$RAD" add-officer -c "$TMP/ra.conf" --login admin \
	--role officer 2>/dev/null; then fail "duplicate login accepted"; fi
if printf '%s\n' "$ADMIN_PW" | "$RAD" add-officer -c "$TMP/ra.conf" --login eve \
	--role root 2>/dev/null; then fail "bad role accepted"; fi
ok "add-officer"

# ---- start on a free port ----
start_rad() {
	for _ in $(seq 1 20); do
		PORT=$((20000 + RANDOM % 12000)) # below the ephemeral range, as lib.sh's ik_free_port
		if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then continue; fi
		write_config "$PORT"
		"$RAD" -c "$TMP/ra.conf" >>"$TMP/rad.log" 2>&1 &
		RAD_PID=$!
		for _ in $(seq 1 50); do
			if curl -sf --cacert "$TMP/tls.pem" "https://127.0.0.1:$PORT/healthz" \
				>/dev/null 2>&1; then
				return 0
			fi
			kill -0 "$RAD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -TERM "$RAD_PID" 2>/dev/null || true
		wait "$RAD_PID" 2>/dev/null || true
		RAD_PID=
	done
	fail "inkan-rad did not come up"
}
start_rad
BASE="https://127.0.0.1:$PORT"
ok "inkan-rad listening on $PORT"

# req METHOD PATH [curl args...]: body in $TMP/body, headers in $TMP/hdr, prints the status
req() {
	local m=$1 p=$2; shift 2
	curl -s --cacert "$TMP/tls.pem" -X "$m" -o "$TMP/body" -D "$TMP/hdr" \
		-w '%{http_code}' "$@" "$BASE$p"
}
expect() { # expect STATUS CODE-or-- what; reads $TMP/body
	local want=$1 code=$2 got=$3 what=$4
	[ "$got" = "$want" ] || fail "$what: status $got, want $want: $(cat "$TMP/body")"
	if [ "$code" != "-" ]; then
		grep -q "\"code\":\"$code\"" "$TMP/body" || fail "$what: no code $code: $(cat "$TMP/body")"
	fi
}
JSON=(-H 'Content-Type: application/json')

# ---- healthz and security headers ----
s=$(req GET /healthz); expect 200 - "$s" healthz
grep -q '"status":"ok"' "$TMP/body" || fail "healthz body"
for h in 'Strict-Transport-Security: max-age=' \
	"Content-Security-Policy: default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'" \
	'X-Content-Type-Options: nosniff' 'Referrer-Policy: no-referrer' 'X-Frame-Options: DENY' \
	'Cache-Control: no-store'; do
	grep -qiF "$h" "$TMP/hdr" || fail "missing header: $h"
done
ok "security headers"

# TLS: 1.2+ only
if curl -s --cacert "$TMP/tls.pem" --tls-max 1.1 "$BASE/healthz" >/dev/null 2>&1; then
	fail "TLS 1.1 accepted"
fi
ok "TLS 1.1 refused"

# ---- unknown route, wrong method, bad body ----
s=$(req GET /api/v1/nothing-here); expect 404 not_found "$s" "unknown route"
grep -qi '^Content-Type: application/json' "$TMP/hdr" || fail "404 not JSON"
s=$(req GET /api/v1/login); expect 405 method_not_allowed "$s" "GET login"
grep -qi '^Allow: POST' "$TMP/hdr" || fail "405 without Allow"
s=$(req POST /api/v1/login -H 'Content-Type: text/plain' --data '{}')
expect 415 content_type "$s" "login as text/plain"
s=$(req POST /api/v1/login "${JSON[@]}" --data '{"login":"admin",')
expect 400 bad_json "$s" "truncated JSON"
s=$(req POST /api/v1/login "${JSON[@]}" --data '{"login":"admin","login":"x","password":"y"}')
expect 400 bad_json "$s" "duplicate keys"
s=$(req POST /api/v1/login "${JSON[@]}" --data '{"login":"admin","password":5}')
expect 400 bad_field "$s" "password not a string"
grep -q '"field":"password"' "$TMP/body" || fail "bad_field without field"
head -c 70000 /dev/zero | tr '\0' 'a' > "$TMP/big"
s=$(req POST /api/v1/login "${JSON[@]}" --data-binary @"$TMP/big")
expect 413 too_large "$s" "body over max_body"
s=$(req POST /api/v1/login "${JSON[@]}" -H 'Expect: 100-continue' --data-binary @"$TMP/big")
expect 413 too_large "$s" "body over max_body, refused before 100-continue"
s=$(req POST /api/v1/login "${JSON[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/big")
expect 413 too_large "$s" "chunked body over max_body"
ok "404 / 405 / 415 / 400 / 413 as JSON"

# ---- not logged in ----
s=$(req GET /api/v1/whoami); expect 401 unauthenticated "$s" "whoami anonymous"
s=$(req GET /api/v1/whoami -H 'Cookie: inkan_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')
expect 401 unauthenticated "$s" "forged cookie"
s=$(req GET /api/v1/whoami -H 'Authorization: Bearer ikt_nonsense')
expect 401 unauthenticated "$s" "bad bearer"
ok "anonymous refused"

# ---- login ----
login() { # login LOGIN PASSWORD JAR
	req POST /api/v1/login "${JSON[@]}" -c "$3" \
		--data "{\"login\":\"$1\",\"password\":\"$2\"}"
}
s=$(login admin "$ADMIN_PW" "$TMP/jar"); expect 200 - "$s" "login"
CSRF=$(sed -n 's/.*"csrf":"\([A-Za-z0-9_-]*\)".*/\1/p' "$TMP/body")
[ ${#CSRF} -eq 43 ] || fail "csrf token: $(cat "$TMP/body")"
grep -q '"role":"administrator"' "$TMP/body" || fail "login role"
setc=$(grep -i '^Set-Cookie:' "$TMP/hdr") || fail "no Set-Cookie"
for f in 'inkan_session=' 'Path=/' 'Secure' 'HttpOnly' 'SameSite=Strict'; do
	case "$setc" in *"$f"*) ;; *) fail "cookie lacks $f: $setc" ;; esac
done
COOKIE=$(awk '$6 == "inkan_session" { print $7 }' "$TMP/jar")
[ ${#COOKIE} -eq 43 ] || fail "session cookie value"
ok "login sets a Secure HttpOnly SameSite=Strict cookie and returns a CSRF token"

s=$(req GET /api/v1/whoami -b "$TMP/jar"); expect 200 - "$s" whoami
grep -q '"login":"admin"' "$TMP/body" || fail "whoami login"
grep -q "\"csrf\":\"$CSRF\"" "$TMP/body" || fail "whoami csrf"
grep -qi '^Cache-Control: no-store' "$TMP/hdr" || fail "authenticated reply cacheable"
ok whoami

# ---- CSRF ----
s=$(req POST /api/v1/tokens "${JSON[@]}" -b "$TMP/jar" --data '{"name":"ci"}')
expect 403 csrf "$s" "POST without CSRF"
s=$(req POST /api/v1/tokens "${JSON[@]}" -b "$TMP/jar" -H "X-CSRF-Token: ${CSRF}x" \
	--data '{"name":"ci"}')
expect 403 csrf "$s" "POST with a wrong CSRF"
s=$(req POST /api/v1/tokens "${JSON[@]}" -b "$TMP/jar" -H "X-CSRF-Token: $CSRF" \
	--data '{"name":"ci"}')
expect 201 - "$s" "POST with the right CSRF"
TOKEN=$(sed -n 's/.*"token":"\(ikt_[A-Za-z0-9_-]*\)".*/\1/p' "$TMP/body")
[ ${#TOKEN} -eq 47 ] || fail "api token: $(cat "$TMP/body")"
ok "CSRF missing / wrong -> 403, right -> created an API token"

# ---- API token: bearer, no CSRF ----
s=$(req GET /api/v1/whoami -H "Authorization: Bearer $TOKEN"); expect 200 - "$s" "bearer whoami"
grep -q '"via":"token"' "$TMP/body" || fail "bearer via"
s=$(req POST /api/v1/tokens "${JSON[@]}" -H "Authorization: Bearer $TOKEN" --data '{"name":"x2"}')
expect 201 - "$s" "bearer POST without CSRF"
c=${TOKEN:10:1}; [ "$c" = B ] && r=C || r=B
s=$(req GET /api/v1/whoami -H "Authorization: Bearer ${TOKEN:0:10}$r${TOKEN:11}")
expect 401 unauthenticated "$s" "tampered bearer"
ok "API token works as Bearer, tampered token refused"

# ---- roles ----
s=$(login carol "$AUDITOR_PW" "$TMP/jar2"); expect 200 - "$s" "auditor login"
CSRF2=$(sed -n 's/.*"csrf":"\([A-Za-z0-9_-]*\)".*/\1/p' "$TMP/body")
s=$(req POST /api/v1/tokens "${JSON[@]}" -b "$TMP/jar2" -H "X-CSRF-Token: $CSRF2" \
	--data '{"name":"nope"}')
expect 403 forbidden "$s" "auditor creating a token"
s=$(req POST /api/v1/tokens "${JSON[@]}" -b "$TMP/jar2" -H "X-CSRF-Token: $CSRF" \
	--data '{"name":"nope"}')
expect 403 - "$s" "another session's CSRF token"
ok "roles: auditor cannot create tokens; CSRF tokens are per session"

# ---- wrong password, lockout ----
s=$(login admin 'wrong password!!' "$TMP/jarx"); expect 401 bad_credentials "$s" "wrong password"
s=$(login nobody 'wrong password!!' "$TMP/jarx"); expect 401 bad_credentials "$s" "unknown login"
sqlite3 "$TMP/ra.sqlite" .dump > "$TMP/dump.sql"
grep 'login_failed' "$TMP/dump.sql" | grep -q '127.0.0.1' ||
	fail "history has no login_failed with the source IP"
for i in 2 3 4; do
	s=$(login admin "wrong password $i" "$TMP/jarx"); expect 401 bad_credentials "$s" "failure $i"
done
s=$(login admin 'wrong password 5' "$TMP/jarx"); expect 423 locked "$s" "fifth failure"
grep -q 'locked until 20' "$TMP/body" || fail "423 does not say until when"
s=$(login admin "$ADMIN_PW" "$TMP/jarx"); expect 423 locked "$s" "right password while locked"
s=$(req GET /api/v1/whoami -b "$TMP/jar"); expect 200 - "$s" "existing session survives lock"
ok "wrong password -> 401 recorded with IP; 5 failures -> 423 locked"

# ---- password change ----
s=$(req POST /api/v1/password "${JSON[@]}" -b "$TMP/jar2" -H "X-CSRF-Token: $CSRF2" \
	--data "{\"old\":\"$AUDITOR_PW\",\"new\":\"too short\"}")
expect 400 weak_password "$s" "weak new password"
s=$(req POST /api/v1/password "${JSON[@]}" -b "$TMP/jar2" -H "X-CSRF-Token: $CSRF2" \
	--data "{\"old\":\"not the old one\",\"new\":\"$NEW_PW\"}")
expect 401 bad_credentials "$s" "wrong old password"
s=$(req POST /api/v1/password "${JSON[@]}" -b "$TMP/jar2" \
	--data "{\"old\":\"$AUDITOR_PW\",\"new\":\"$NEW_PW\"}")
expect 403 csrf "$s" "password change without CSRF"
s=$(req POST /api/v1/password "${JSON[@]}" -b "$TMP/jar2" -H "X-CSRF-Token: $CSRF2" \
	--data "{\"old\":\"$AUDITOR_PW\",\"new\":\"$NEW_PW\"}")
expect 200 - "$s" "password change"
s=$(login carol "$AUDITOR_PW" "$TMP/jarx"); expect 401 bad_credentials "$s" "old password after change"
s=$(login carol "$NEW_PW" "$TMP/jar3"); expect 200 - "$s" "new password"
ok "password change (old required, policy, CSRF)"

# ---- logout and rotation ----
OLD2=$(awk '$6 == "inkan_session" { print $7 }' "$TMP/jar2")
NEW3=$(awk '$6 == "inkan_session" { print $7 }' "$TMP/jar3")
[ "$OLD2" != "$NEW3" ] || fail "session id not rotated at login"
CSRF3=$(sed -n 's/.*"csrf":"\([A-Za-z0-9_-]*\)".*/\1/p' "$TMP/body")
s=$(req POST /api/v1/logout -b "$TMP/jar3"); expect 403 csrf "$s" "logout without CSRF"
s=$(req POST /api/v1/logout -b "$TMP/jar3" -H "X-CSRF-Token: $CSRF3"); expect 200 - "$s" logout
s=$(req GET /api/v1/whoami -b "$TMP/jar3"); expect 401 unauthenticated "$s" "after logout"
ok "logout ends the session; ids rotate"

# ---- secrets at rest and in logs ----
kill -TERM "$RAD_PID"
wait "$RAD_PID" || fail "inkan-rad did not exit cleanly on SIGTERM"
RAD_PID=
grep -q 'stopping' "$TMP/rad.log" || fail "no graceful stop in the log"
for f in "$TMP"/ra.sqlite*; do
	for secret in "$COOKIE" "$NEW3" "$CSRF" "${TOKEN#ikt_}" "$ADMIN_PW" "$AUDITOR_PW" "$NEW_PW"; do
		if grep -aqF "$secret" "$f"; then fail "a secret is stored in clear in $(basename "$f")"; fi
	done
done
for secret in "$COOKIE" "$ADMIN_PW" "$AUDITOR_PW" "$NEW_PW" "${TOKEN#ikt_}"; do
	if grep -aqF "$secret" "$TMP/rad.log"; then fail "a secret is in the log"; fi
done
grep -aq '\$scrypt\$ln=15,r=8,p=1\$' "$TMP"/ra.sqlite* || fail "no scrypt PHC hash in the DB"
ok "no session id, token or password in the database or the log"

out=$("$RAD" verify-history -c "$TMP/ra.conf") || fail "verify-history: $out"
[ "$out" = OK ] || fail "verify-history said: $out"
ok "history chain verifies"
