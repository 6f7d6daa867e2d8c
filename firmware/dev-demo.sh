#!/usr/bin/env bash
# Start Inkan from a source checkout on its embedded defaults: installs the Debian packages,
# builds, creates a SoftHSM token under ./var/hsm, runs the demo key ceremony (root, issuing
# CA and OCSP responder keys), starts the signer, has it issue the RA's own TLS certificate,
# creates the first administrator and starts the RA (HTTPS on port 8443, and plain HTTP on
# port 8080 for the OCSP and CRL URLs in the certificates) in the background.  Safe to run
# again: keys, certificates, configs and officers are never overwritten; running daemons are
# restarted.  The steps are firmware/provision.sh's, which the appliance's first boot runs too.
# `dev-demo.sh stop` stops the two daemons.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
var="$src/var"
bld="$src/build/demo"

# stop_daemon NAME PROGRAM: TERM the daemon in var/NAME.pid (if that pid still runs PROGRAM)
# and wait for it (up to 10 s)
stop_daemon() {
	local pid
	[ -f "$var/$1.pid" ] || return 0
	pid=$(cat "$var/$1.pid")
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && kill -TERM "$pid" 2>/dev/null; then
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && { echo "dev-demo: $1 (pid $pid) did not stop" >&2; return 1; }
		echo "dev-demo: stopped $1 (pid $pid)"
	fi
	rm -f "$var/$1.pid"
}
if [ "${1:-}" = stop ]; then
	stop_daemon rad inkan-rad
	stop_daemon signer inkan-signerd
	exit 0
fi
[ $# -eq 0 ] || { echo "usage: dev-demo.sh [stop]" >&2; exit 2; }

"$src/firmware/install-deps.sh"
cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$bld" -j"$(nproc)" >/dev/null
export PATH="$bld/signer:$bld/hsm:$bld/ceremony:$bld/ra:$PATH"
port=${INKAN_PORT:-8443}
http_port=${INKAN_HTTP_PORT:-8080}
export INKAN_BUILD="$bld"

mkdir -p "$var"
chmod 0700 "$var"

# The bring-up steps are firmware/provision.sh's, shared with the appliance's first boot
# (firmware/inkan-firstboot): here as the caller, under ./var, on loopback.
. "$src/firmware/provision.sh"
IK_SOFTHSM_TOKEN="$src/hsm/softhsm-token"
IK_HSM_DIR="$var/hsm"
IK_CA_DIR="$var/ca"
IK_SIGNER_CONF="$var/signer.conf"
IK_SOCKET="$var/signer.sock"
IK_RA_PEER="ra_uid = $(id -u)"
IK_LEDGER="$var/signer-ledger.sqlite"
IK_CRL_URL="http://127.0.0.1:$http_port/crl/issuing-ca.crl"
IK_OCSP_URL="http://127.0.0.1:$http_port/ocsp"
IK_HOST=127.0.0.1
IK_LISTEN=127.0.0.1
IK_PORT=$port
IK_HTTP_PORT=$http_port
IK_PUBLIC_URL="https://127.0.0.1:$port"
IK_RA_CONF="$var/ra.conf"
IK_RA_DB="$var/ra.sqlite"
IK_TLS_KEY="$var/ra-tls.key"
IK_TLS_CERT="$var/ra-tls.pem"
IK_ADMIN_PW_FILE="$var/admin.password"

ik_prov_token
ik_prov_ceremony
ik_prov_signer_conf
ik_prov_signer_conf_mail  # a ./var from before the mail profile
ik_prov_ocsp_key          # a ./var from before OCSP
inkan-signerd -c "$IK_SIGNER_CONF" --check-config >/dev/null

# running daemons are restarted (the RA first: it keeps no signer connection it needs)
stop_daemon rad inkan-rad >/dev/null
stop_daemon signer inkan-signerd >/dev/null
ik_prov_start_signer "$var/signer.log"
echo "$IK_SIGNER_PID" > "$var/signer.pid"
ik_prov_ra_tls
ik_prov_ra_conf
ik_prov_admin
inkan-rad --check-config "$IK_RA_CONF" >/dev/null

nohup inkan-rad -c "$var/ra.conf" >>"$var/rad.log" 2>&1 &
echo $! > "$var/rad.pid"
for _ in $(seq 1 50); do
	curl -sf --cacert "$var/ca/root-ca.pem" "https://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -sf --cacert "$var/ca/root-ca.pem" "https://127.0.0.1:$port/healthz" >/dev/null \
	|| { tail "$var/rad.log"; exit 1; }

cat <<MSG

Inkan is running on its demo defaults.
  Officer web UI: https://127.0.0.1:$port/  (log in as admin; Japanese or English)
  End users' download page: https://127.0.0.1:$port/download
  RA:       https://127.0.0.1:$port  (pid $(cat "$var/rad.pid"), log $var/rad.log)
            trust anchor: $var/ca/root-ca.pem
            administrator: admin, password in $var/admin.password (mode 0400)
  signer:   pid $(cat "$var/signer.pid"), socket $var/signer.sock, log $var/signer.log
  CA:       $var/ca/root-ca.pem -> $var/ca/issuing-ca.pem (keys on SoftHSM token "inkan")
  plain HTTP: http://127.0.0.1:$http_port/ocsp and /crl/issuing-ca.crl (the URLs in the certificates)
  mail:     off; set [mail] from and sendmail in $var/ra.conf, then run this again
  stop:     bash $src/firmware/dev-demo.sh stop

Try the JSON API (see docs/API.md):
  C="curl -s --cacert $var/ca/root-ca.pem -b /tmp/inkan.jar -c /tmp/inkan.jar"
  python3 -c 'import json,sys; print(json.dumps({"login":"admin","password":open(sys.argv[1]).read().strip()}))' \\
      $var/admin.password | \$C -H 'Content-Type: application/json' --data @- https://127.0.0.1:$port/api/v1/login
  # -> {"csrf": "...", ...}; send it back as X-CSRF-Token on every POST/PUT/DELETE
  \$C https://127.0.0.1:$port/api/v1/counters
  \$C -o /tmp/crl.der https://127.0.0.1:$port/crl/issuing-ca.crl && openssl crl -inform DER -in /tmp/crl.der -noout -text
  # OCSP for a certificate CERT.pem the RA issued (docs/OCSP.md):
  openssl ocsp -issuer $var/ca/issuing-ca.pem -cert CERT.pem -url http://127.0.0.1:$http_port/ocsp -CAfile $var/ca/root-ca.pem
MSG
