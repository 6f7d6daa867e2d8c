#!/usr/bin/env bash
# Start Inkan from a source checkout on its embedded defaults: installs the Debian packages,
# builds, creates a SoftHSM token under ./var/hsm, runs the demo key ceremony, starts the
# signer, has it issue the RA's own TLS certificate, creates the first administrator and
# starts the RA (HTTPS on port 8443) in the background.  Safe to run again: keys,
# certificates and officers are never overwritten; running daemons are restarted.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
var="$src/var"
bld="$src/build/demo"

"$src/firmware/install-deps.sh"
cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$bld" -j"$(nproc)" >/dev/null
export PATH="$bld/signer:$bld/hsm:$bld/ceremony:$bld/ra:$PATH"
port=${INKAN_PORT:-8443}
export INKAN_BUILD="$bld"

mkdir -p "$var"
chmod 0700 "$var"

# The steps shared with the appliance's first boot (firmware/inkan-firstboot).
. "$src/firmware/provision.sh"
IK_SOFTHSM_TOKEN="$src/hsm/softhsm-token"
IK_HSM_DIR="$var/hsm"
IK_CA_DIR="$var/ca"
IK_SIGNER_CONF="$var/signer.conf"
IK_SOCKET="$var/signer.sock"
IK_RA_PEER="ra_uid = $(id -u)"
IK_LEDGER="$var/signer-ledger.sqlite"
IK_CRL_URL=http://127.0.0.1:8080/crl/issuing-ca.crl
IK_OCSP_URL=http://127.0.0.1:8080/ocsp
IK_HOST=127.0.0.1
IK_LISTEN=127.0.0.1
IK_PORT=$port
IK_RA_CONF="$var/ra.conf"
IK_RA_DB="$var/ra.sqlite"
IK_TLS_KEY="$var/ra-tls.key"
IK_TLS_CERT="$var/ra-tls.pem"
IK_ADMIN_PW_FILE="$var/admin.password"

ik_prov_token
ik_prov_ceremony
ik_prov_signer_conf

if [ -f "$var/signer.pid" ] && kill -0 "$(cat "$var/signer.pid")" 2>/dev/null; then
	kill -TERM "$(cat "$var/signer.pid")"
	sleep 0.5
fi
ik_prov_start_signer "$var/signer.log"
echo "$IK_SIGNER_PID" > "$var/signer.pid"
inkan-signctl -s "$var/signer.sock" status >/dev/null || { tail "$var/signer.log"; exit 1; }

ik_prov_ra_tls
ik_prov_ra_conf
ik_prov_admin

if [ -f "$var/rad.pid" ] && kill -0 "$(cat "$var/rad.pid")" 2>/dev/null; then
	kill -TERM "$(cat "$var/rad.pid")"
	sleep 0.5
fi
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
  RA:       https://127.0.0.1:$port  (pid $(cat "$var/rad.pid"), log $var/rad.log)
            trust anchor: $var/ca/root-ca.pem
            administrator: admin, password in $var/admin.password (mode 0400)
  signer:   pid $(cat "$var/signer.pid"), socket $var/signer.sock, log $var/signer.log
  CA:       $var/ca/root-ca.pem -> $var/ca/issuing-ca.pem (keys on SoftHSM token "inkan")

Try the JSON API (see docs/API.md):
  C="curl -s --cacert $var/ca/root-ca.pem -b /tmp/inkan.jar -c /tmp/inkan.jar"
  python3 -c 'import json,sys; print(json.dumps({"login":"admin","password":open(sys.argv[1]).read().strip()}))' \\
      $var/admin.password | \$C -H 'Content-Type: application/json' --data @- https://127.0.0.1:$port/api/v1/login
  # -> {"csrf": "...", ...}; send it back as X-CSRF-Token on every POST/PUT/DELETE
  \$C https://127.0.0.1:$port/api/v1/counters
  \$C -o /tmp/crl.der https://127.0.0.1:$port/crl/issuing-ca.crl && openssl crl -inform DER -in /tmp/crl.der -noout -text
MSG
