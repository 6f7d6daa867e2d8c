# Shared harness for the integration tests: a throw-away SoftHSM token, the demo CA on it,
# a signer config, and starting/stopping the real inkan-signerd.  Source it; it sets
# TMP, SOFTHSM2_CONF and the helpers below, and cleans up on exit.
set -euo pipefail

: "${INKAN_BUILD:?set INKAN_BUILD to the build directory}"
: "${INKAN_SRC:?set INKAN_SRC to the source directory}"

TMP=$(mktemp -d /tmp/inkan-test.XXXXXX)
chmod 0711 "$TMP"
SIGNER_PID=
RAD_PID=
export PATH="$INKAN_BUILD/signer:$INKAN_BUILD/hsm:$INKAN_BUILD/ceremony:$INKAN_BUILD/tests:$PATH"

ik_cleanup() {
	local rc=$? p
	# helpers a test ran in the background (IK_BG_PIDS): ctest waits for whatever holds
	# the test's output
	for p in ${IK_BG_PIDS:-}; do kill "$p" 2>/dev/null || true; done
	ik_stop_ra || rc=1
	ik_stop_signer || rc=1
	if [ -f "$TMP/rad.log" ] && grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/rad.log"; then
		echo "FAIL: sanitizer report in the RA log" >&2
		rc=1
	fi
	if [ "$rc" -ne 0 ] && [ -f "$TMP/rad.log" ]; then
		echo "--- inkan-rad log ---" >&2
		tail -n 50 "$TMP/rad.log" >&2 || true
	fi
	# a sanitizer report from any daemon run fails the test (ASan+UBSan builds)
	if [ -f "$TMP/signer.log" ] && grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/signer.log"; then
		echo "FAIL: sanitizer report in the signer log" >&2
		rc=1
	fi
	if [ "$rc" -ne 0 ] && [ -f "$TMP/signer.log" ]; then
		echo "--- signer log ---" >&2
		tail -n 50 "$TMP/signer.log" >&2 || true
	fi
	rm -rf "$TMP"
	exit "$rc"
}
trap ik_cleanup EXIT

ik_fail() { echo "FAIL: $*" >&2; exit 1; }
ik_ok() { echo "ok - $*"; }

# ik_setup [alg]: token + demo CA + signer.conf
ik_setup() {
	local alg=${1:-ec-p256}
	"$INKAN_SRC/hsm/softhsm-token" "$TMP/hsm" inkan >/dev/null
	export SOFTHSM2_CONF="$TMP/hsm/softhsm2.conf"
	inkan-ceremony demo --out "$TMP/ca" --token inkan --pin-file "$TMP/hsm/user.pin" \
		--alg "$alg" --org "Inkan Test" --country JP >/dev/null
	cat "$TMP/ca/issuing-ca.pem" "$TMP/ca/root-ca.pem" > "$TMP/ca/bundle.pem"
	ik_write_config
}

# ik_write_config [extra lines for [signer]]
ik_write_config() {
	cat > "$TMP/signer.conf" <<CONF
[signer]
socket = $TMP/signer.sock
socket_mode = ${SOCKET_MODE:-0660}
ra_uid = $(id -u)
ledger = $TMP/ledger.sqlite
workers = ${SIGNER_WORKERS:-2}
crl_lifetime = 3600
${1:-}

[hsm]
token = inkan
pin_file = $TMP/hsm/user.pin
key_label = inkan-issuing-ca

[ca]
cert = $TMP/ca/issuing-ca.pem
chain = $TMP/ca/root-ca.pem

[profile.client]
max_days = 397
key_types = ec-p256 ec-p384 rsa
subject_allowed = CN OU serialNumber
subject_required = CN
O = Inkan Test
C = JP
crl_url = http://127.0.0.1:8080/crl/issuing-ca.crl
ocsp_url = http://127.0.0.1:8080/ocsp

# the RA's own mail-signing certificate ([mail] profile = mail in ra.conf)
[profile.mail]
usage = email
max_days = 397
key_types = ec-p256 rsa
subject_allowed = CN
subject_required = CN
O = Inkan Test
C = JP
crl_url = http://127.0.0.1:8080/crl/issuing-ca.crl
CONF
}

ik_start_signer() {
	inkan-signerd -c "$TMP/signer.conf" >>"$TMP/signer.log" 2>&1 &
	SIGNER_PID=$!
	for _ in $(seq 1 100); do
		if [ -S "$TMP/signer.sock" ] && ik_signctl hello 2>/dev/null; then
			return 0
		fi
		kill -0 "$SIGNER_PID" 2>/dev/null || ik_fail "signer exited at start: $(tail -n 5 "$TMP/signer.log")"
		sleep 0.1
	done
	ik_fail "signer did not come up"
}

ik_stop_signer() {
	if [ -n "$SIGNER_PID" ] && kill -0 "$SIGNER_PID" 2>/dev/null; then
		kill -TERM "$SIGNER_PID" 2>/dev/null || true
		local st=0
		wait "$SIGNER_PID" 2>/dev/null || st=$?
		SIGNER_PID=
		[ "$st" -eq 0 ] || { echo "FAIL: signer exited with status $st on SIGTERM" >&2; return 1; }
	fi
	SIGNER_PID=
}

ik_signctl() { inkan-signctl -s "$TMP/signer.sock" "$@"; }

# ik_key NAME [openssl genpkey args...]: a PEM public key at $TMP/NAME.pub
ik_key() {
	local name=$1; shift
	[ $# -gt 0 ] || set -- -algorithm EC -pkeyopt ec_paramgen_curve:P-256
	openssl genpkey "$@" -out "$TMP/$name.key" 2>/dev/null
	openssl pkey -in "$TMP/$name.key" -pubout -out "$TMP/$name.pub"
}

# ik_issue ID CN [more signctl args]: certificate at $TMP/ID.pem (key ID unless --pubkey given)
ik_issue() {
	local id=$1 cn=$2; shift 2
	[ -f "$TMP/$id.pub" ] || ik_key "$id"
	ik_signctl issue --id "$id" --profile client --pubkey "$TMP/$id.pub" --attr "CN=$cn" \
		--days 30 -o "$TMP/$id.pem" "$@"
}

ik_serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

# ik_expect_refusal CODE cmd...: the command fails and its stderr names CODE
ik_expect_refusal() {
	local code=$1; shift
	local err
	if err=$("$@" 2>&1 >/dev/null); then
		ik_fail "expected refusal '$code' from: $*"
	fi
	case "$err" in
	*"$code"*) ;;
	*) ik_fail "expected '$code' from: $* -- got: $err" ;;
	esac
}

# ---- the RA (inkan-rad) over HTTPS on loopback ----------------------------------------

ADMIN_PW='correct horse battery staple 42'
OFFICER_PW='officer passphrase 0123'
AUDITOR_PW='auditor passphrase 4567'
export PATH="$INKAN_BUILD/ra:$PATH"

# ik_ra_config PORT [extra lines]: ra.conf with a throw-away TLS certificate
ik_ra_config() {
	[ -f "$TMP/tls.pem" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$TMP/tls.key" -out "$TMP/tls.pem" 2>/dev/null
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
profile = client
workers = 4
${2:-}
CONF
}

# ik_ra_officers: admin, officer and auditor (passwords on stdin, never argv)
ik_ra_officers() {
	[ -f "$TMP/ra.conf" ] || ik_ra_config 8443
	printf '%s\n' "$ADMIN_PW" | inkan-rad add-officer -c "$TMP/ra.conf" --login admin --role administrator >/dev/null
	printf '%s\n' "$OFFICER_PW" | inkan-rad add-officer -c "$TMP/ra.conf" --login olivia --role officer >/dev/null
	printf '%s\n' "$AUDITOR_PW" | inkan-rad add-officer -c "$TMP/ra.conf" --login carol --role auditor >/dev/null
}

# ik_free_port: a loopback TCP port nothing listens on now, below the kernel's ephemeral
# range (32768 up), so that no test's outgoing connection takes it before it is bound
ik_free_port() {
	local port
	for _ in $(seq 1 50); do
		port=$((20000 + RANDOM % 12000))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
	done
	ik_fail "no free loopback port"
}

# ik_start_ra [extra config lines]: on a free port; sets BASE
ik_start_ra() {
	local port
	for _ in $(seq 1 20); do
		port=$(ik_free_port)
		ik_ra_config "$port" "${1:-}"
		inkan-rad -c "$TMP/ra.conf" >>"$TMP/rad.log" 2>&1 &
		RAD_PID=$!
		BASE="https://127.0.0.1:$port"
		for _ in $(seq 1 100); do
			curl -sf --cacert "$TMP/tls.pem" "$BASE/healthz" >/dev/null 2>&1 && return 0
			kill -0 "$RAD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -TERM "$RAD_PID" 2>/dev/null || true
		wait "$RAD_PID" 2>/dev/null || true
		RAD_PID=
	done
	ik_fail "inkan-rad did not come up: $(tail -n 5 "$TMP/rad.log")"
}

ik_stop_ra() {
	if [ -n "$RAD_PID" ] && kill -0 "$RAD_PID" 2>/dev/null; then
		kill -TERM "$RAD_PID" 2>/dev/null || true
		local st=0
		wait "$RAD_PID" 2>/dev/null || st=$?
		RAD_PID=
		[ "$st" -eq 0 ] || { echo "FAIL: inkan-rad exited with status $st on SIGTERM" >&2; return 1; }
	fi
	RAD_PID=
}

# ik_req METHOD PATH [curl args...]: body in $TMP/body, headers in $TMP/hdr; prints the status
ik_req() {
	local m=$1 p=$2; shift 2
	curl -s --cacert "$TMP/tls.pem" -X "$m" -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' "$@" "$BASE$p"
}
# ik_expect STATUS CODE|- GOT WHAT
ik_expect() {
	local want=$1 code=$2 got=$3 what=$4
	[ "$got" = "$want" ] || ik_fail "$what: status $got, want $want: $(head -c 600 "$TMP/body")"
	if [ "$code" != "-" ]; then
		grep -q "\"code\":\"$code\"" "$TMP/body" || ik_fail "$what: no code $code: $(head -c 600 "$TMP/body")"
	fi
}
ik_json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$TMP/body" "$1"; }

# ik_login LOGIN PASSWORD: cookie jar $TMP/jar.LOGIN; prints the CSRF token
ik_login() {
	local s
	s=$(ik_req POST /api/v1/login -H 'Content-Type: application/json' -c "$TMP/jar.$1" \
		--data "{\"login\":\"$1\",\"password\":\"$2\"}")
	ik_expect 200 - "$s" "login $1" >&2
	ik_json 'd["csrf"]'
}
# ik_api LOGIN CSRF METHOD PATH [JSON]: as that officer, with the CSRF header
ik_api() {
	local who=$1 csrf=$2 m=$3 p=$4
	if [ $# -ge 5 ]; then
		ik_req "$m" "$p" -b "$TMP/jar.$who" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' --data "$5"
	else
		ik_req "$m" "$p" -b "$TMP/jar.$who" -H "X-CSRF-Token: $csrf"
	fi
}

# ik_csr_json CN: a fresh P-256 key ($TMP/CN.key) and its CSR; prints {"csr": PEM} for the API
ik_csr_json() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
		-keyout "$TMP/$1.key" -out "$TMP/$1.csr" 2>/dev/null
	python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' "$TMP/$1.csr"
}
# ik_new_device LOGIN CSRF NAME: as that officer, a user NAME with one device; prints its id
ik_new_device() {
	ik_api "$1" "$2" POST /api/v1/users "{\"external_id\":\"$3\"}" >/dev/null
	local uid; uid=$(ik_json 'd["id"]')
	ik_api "$1" "$2" POST "/api/v1/users/$uid/devices" '{"name":"pc"}' >/dev/null
	ik_json 'd["id"]'
}

# ik_ra_kill_at FUNCTION CMD...: inkan-rad is killed (SIGKILL, through gdb) when CMD, run in
# the background (its stdout in $TMP/crashed.status), makes it reach FUNCTION.  Fails when
# it never got there or still runs; RAD_PID is then empty.
ik_ra_kill_at() {
	local fn=$1 gdb_pid cmd_pid; shift
	: >"$TMP/gdb.log"
	gdb -p "$RAD_PID" -batch -ex 'set pagination off' -ex "break $fn" -ex continue \
		-ex 'kill' >"$TMP/gdb.log" 2>&1 &
	gdb_pid=$!
	for _ in $(seq 1 300); do grep -q '^Breakpoint 1 at' "$TMP/gdb.log" && break; sleep 0.1; done
	grep -q '^Breakpoint 1 at' "$TMP/gdb.log" || ik_fail "gdb did not attach: $(tail -5 "$TMP/gdb.log")"
	sleep 0.5 # from the breakpoint set to the process running again
	"$@" >"$TMP/crashed.status" &
	cmd_pid=$!
	wait "$gdb_pid" || true
	grep -q "Breakpoint 1, $fn" "$TMP/gdb.log" || ik_fail "inkan-rad did not reach $fn: $(tail -5 "$TMP/gdb.log")"
	wait "$cmd_pid" || true
	kill -0 "$RAD_PID" 2>/dev/null && ik_fail "inkan-rad still runs after the kill at $fn"
	wait "$RAD_PID" 2>/dev/null || true
	RAD_PID=
}

# ik_crl_ra N: a ledger of N revoked entries (tool_ledgerfill), the signer, the officers and
# the RA with a plain-HTTP port and crl_recheck = 1; HTTP is the plain listener's URL
ik_crl_ra() {
	tool_ledgerfill "$TMP/ledger.sqlite" "$1" > "$TMP/fill.txt" || ik_fail "could not fill the ledger"
	ik_start_signer
	ik_ra_officers
	http_port=$(ik_free_port)
	ik_start_ra "http_port = $http_port
crl_recheck = 1"
	HTTP="http://127.0.0.1:$http_port"
}
# ik_get URL OUT [curl args]: the status; the headers in $TMP/h (ik_hdr NAME reads one)
ik_get() { local u=$1 o=$2; shift 2; curl -s --cacert "$TMP/tls.pem" -D "$TMP/h" -o "$o" -w '%{http_code}' "$@" "$u"; }
ik_hdr() { awk -v k="$1" 'BEGIN { IGNORECASE = 1 } $1 == k ":" { sub(/\r$/, ""); sub(/^[^:]*: */, ""); print }' "$TMP/h"; }
# ik_metric NAME: its value in the RA's /metrics
ik_metric() { curl -s --cacert "$TMP/tls.pem" "$BASE/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
