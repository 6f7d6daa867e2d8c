#!/usr/bin/env bash
# Start Inkan from a source checkout on its embedded defaults: installs the Debian packages,
# builds, creates a SoftHSM token under ./var/hsm, runs the demo key ceremony and starts the
# signer (and the RA, once built) in the background.  Safe to run again: keys and
# certificates are never overwritten; running daemons are restarted.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
var="$src/var"
bld="$src/build/demo"

"$src/firmware/install-deps.sh"
cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$bld" -j"$(nproc)" >/dev/null
export PATH="$bld/signer:$bld/hsm:$bld/ceremony:$PATH"
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
crl_url = http://127.0.0.1:8080/crl/issuing-ca.crl
ocsp_url = http://127.0.0.1:8080/ocsp
CONF
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

cat <<MSG

Inkan is running on its demo defaults.
  signer:   pid $(cat "$var/signer.pid"), socket $var/signer.sock, log $var/signer.log
  CA:       $var/ca/root-ca.pem -> $var/ca/issuing-ca.pem (keys on SoftHSM token "inkan")

Try it:
  export PATH=$bld/signer:\$PATH
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out /tmp/alice.key
  openssl pkey -in /tmp/alice.key -pubout -out /tmp/alice.pub
  inkan-signctl -s $var/signer.sock issue --id demo-1 --profile client \\
      --pubkey /tmp/alice.pub --attr CN=alice -o /tmp/alice.pem
  openssl verify -CAfile $var/ca/root-ca.pem -untrusted $var/ca/issuing-ca.pem /tmp/alice.pem
  inkan-signctl -s $var/signer.sock crl | openssl crl -noout -text
MSG
