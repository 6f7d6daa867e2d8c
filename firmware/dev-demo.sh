#!/usr/bin/env bash
# Start Inkan from a source checkout on its embedded defaults: installs the Debian packages,
# builds, creates a SoftHSM token under ./var/hsm, runs the demo key ceremony (root, issuing
# CA and OCSP responder keys), starts the signer, has it issue the RA's own TLS certificate,
# creates the first administrator and starts the RA (HTTPS on port 8443, and plain HTTP on
# port 8080 for the OCSP and CRL URLs in the certificates) in the background.  Safe to run again: keys,
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
http_port=${INKAN_HTTP_PORT:-8080}
export INKAN_BUILD="$bld"

mkdir -p "$var"
chmod 0700 "$var"
export SOFTHSM2_CONF="$var/hsm/softhsm2.conf"
if [ ! -f "$SOFTHSM2_CONF" ]; then
	"$src/hsm/softhsm-token" "$var/hsm" inkan >/dev/null
fi
if [ ! -f "$var/ca/issuing-ca.pem" ]; then
	inkan-ceremony demo --out "$var/ca" --token inkan --pin-file "$var/hsm/user.pin" \
		--org "Inkan Demo" --country JP
fi

if [ ! -f "$var/signer.conf" ]; then
	cat > "$var/signer.conf" <<CONF
# Inkan signer, demo defaults (see docs/CONFIG.md for every key).
[signer]
socket = $var/signer.sock
socket_mode = 0660
ra_uid = $(id -u)
ledger = $var/signer-ledger.sqlite
crl_lifetime = 86400

[hsm]
module = /usr/lib/softhsm/libsofthsm2.so
token = inkan
pin_file = $var/hsm/user.pin
key_label = inkan-issuing-ca

[ca]
cert = $var/ca/issuing-ca.pem
chain = $var/ca/root-ca.pem

[profile.client]
max_days = 397
key_types = ec-p256 ec-p384 rsa
subject_allowed = CN OU serialNumber
subject_required = CN
O = Inkan Demo
C = JP
crl_url = http://127.0.0.1:$http_port/crl/issuing-ca.crl
ocsp_url = http://127.0.0.1:$http_port/ocsp

# the appliance's own TLS certificate (the RA's HTTPS)
[profile.tls]
usage = server
max_days = 397
key_types = ec-p256
subject_allowed = CN
subject_required = CN
O = Inkan Demo
C = JP
crl_url = http://127.0.0.1:$http_port/crl/issuing-ca.crl

# the RA's mail-signing certificate (S/MIME notices; the RA asks for it at first start)
[profile.mail]
usage = email
max_days = 397
key_types = ec-p256
subject_allowed = CN
subject_required = CN
O = Inkan Demo
C = JP
crl_url = http://127.0.0.1:$http_port/crl/issuing-ca.crl
CONF
fi
# a signer.conf from before the mail profile existed gets it added
if ! grep -q '^\[profile.mail\]' "$var/signer.conf"; then
	cat >> "$var/signer.conf" <<CONF

# the RA's mail-signing certificate (S/MIME notices; the RA asks for it at first start)
[profile.mail]
usage = email
max_days = 397
key_types = ec-p256
subject_allowed = CN
subject_required = CN
O = Inkan Demo
C = JP
crl_url = http://127.0.0.1:$http_port/crl/issuing-ca.crl
CONF
fi

# The OCSP responder's key: the demo ceremony makes it; a ./var from before OCSP has none.
if ! out=$(inkan-token keygen --label inkan --pin-file "$var/hsm/user.pin" --key-label inkan-ocsp \
	--key-id 03 --alg ec-p256 2>&1); then
	case "$out" in
	*exists*) ;;
	*) echo "$out" >&2; exit 1 ;;
	esac
fi

if [ -f "$var/signer.pid" ] && kill -0 "$(cat "$var/signer.pid")" 2>/dev/null; then
	kill -TERM "$(cat "$var/signer.pid")"
	sleep 0.5
fi
nohup inkan-signerd -c "$var/signer.conf" >>"$var/signer.log" 2>&1 &
echo $! > "$var/signer.pid"
for _ in $(seq 1 50); do
	inkan-signctl -s "$var/signer.sock" hello 2>/dev/null && break
	sleep 0.1
done
inkan-signctl -s "$var/signer.sock" status >/dev/null || { tail "$var/signer.log"; exit 1; }

# ---- the RA's TLS certificate, issued by the signer (key stays in ./var, mode 0600) ----
if [ ! -f "$var/ra-tls.pem" ]; then
	(umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$var/ra-tls.key")
	openssl pkey -in "$var/ra-tls.key" -pubout -out "$var/ra-tls.pub"
	inkan-signctl -s "$var/signer.sock" issue --id "ra-tls-$(date +%Y%m%d%H%M%S)" --profile tls \
		--pubkey "$var/ra-tls.pub" --attr CN=127.0.0.1 --days 397 -o "$var/ra-tls.leaf.pem" 2>/dev/null
	cat "$var/ra-tls.leaf.pem" "$var/ca/issuing-ca.pem" > "$var/ra-tls.pem"
	rm -f "$var/ra-tls.leaf.pem" "$var/ra-tls.pub"
fi

if [ ! -f "$var/ra.conf" ]; then
	cat > "$var/ra.conf" <<CONF
# Inkan RA, demo defaults.
[ra]
listen = 127.0.0.1
port = $port
tls = on
tls_cert = $var/ra-tls.pem
tls_key = $var/ra-tls.key
database = $var/ra.sqlite
signer_socket = $var/signer.sock
public_url = https://127.0.0.1:$port
profile = client
# OCSP, the CRL and the CA certificates over plain HTTP (the URLs in the certificates)
http_port = $http_port

# Notices by mail (S/MIME-signed; see docs/CONFIG.md).  Set from and a working
# sendmail-compatible command (msmtp or postfix) to turn them on:
#[mail]
#from = inkan@example.jp
#sendmail = /usr/sbin/sendmail -t -i
CONF
fi

# ---- the first administrator (password generated once, kept 0400 in ./var) ----
if [ ! -f "$var/admin.password" ]; then
	(umask 277; head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 20 > "$var/admin.password")
	inkan-rad add-officer -c "$var/ra.conf" --login admin --role administrator \
		< "$var/admin.password" >/dev/null
fi

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
  Officer web UI: https://127.0.0.1:$port/  (log in as admin; Japanese or English)
  End users' download page: https://127.0.0.1:$port/download
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
  # OCSP for a certificate CERT.pem the RA issued (docs/OCSP.md):
  openssl ocsp -issuer $var/ca/issuing-ca.pem -cert CERT.pem -url http://127.0.0.1:$http_port/ocsp -CAfile $var/ca/root-ca.pem
MSG
