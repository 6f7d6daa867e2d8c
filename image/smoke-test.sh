#!/usr/bin/env bash
# smoke-test.sh IMAGE.qcow2: boot an appliance image built with `build-image.sh ... --smoke`
# under qemu-system-x86_64 (UEFI/OVMF; KVM when /dev/kvm is usable, else software emulation)
# with user-mode networking restricted to the guest (no traffic leaves this machine; only the
# guest's 443 and 80 are forwarded to loopback ports), and check from the host that first boot
# ran, both daemons are active under systemd, the UI answers over HTTPS with a certificate from
# the appliance's own CA, the administrator logs in, a certificate is issued from a CSR, and
# its CRL and OCSP URLs answer over plain HTTP (port 80).
# Long (minutes under software emulation): not part of every CI run.
set -euo pipefail
img=${1:?usage: smoke-test.sh IMAGE.qcow2}
limit=${INKAN_SMOKE_TIMEOUT:-900}
for t in qemu-system-x86_64 qemu-img curl openssl python3; do
	command -v "$t" >/dev/null || { echo "smoke-test: $t missing" >&2; exit 1; }
done
ovmf=/usr/share/ovmf/OVMF.fd
[ -f "$ovmf" ] || { echo "smoke-test: $ovmf missing (apt install ovmf)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/inkan-smoke.XXXXXX)
qpid=
cleanup() {
	local rc=$?
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	if [ "$rc" -ne 0 ]; then
		echo "--- serial console (last 60 lines) ---" >&2
		tail -n 60 "$tmp/console.log" >&2 2>/dev/null || true
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

qemu-img create -q -f qcow2 -F qcow2 -b "$(cd "$(dirname "$img")" && pwd)/$(basename "$img")" "$tmp/disk.qcow2"
free_port() {
	local p
	for _ in $(seq 1 20); do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || break
	done
	echo "$p"
}
port=$(free_port)
hport=$(free_port)
[ "$hport" != "$port" ] || hport=$((port + 1))
accel=(-accel tcg)
if [ "${INKAN_SMOKE_KVM:-0}" = 1 ] && [ -w /dev/kvm ]; then accel=(-accel kvm -cpu host); fi
t0=$(date +%s)
qemu-system-x86_64 -machine q35 "${accel[@]}" -m 2048 -smp 2 -bios "$ovmf" \
	-drive file="$tmp/disk.qcow2",if=virtio,format=qcow2 \
	-netdev user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:"$port"-:443,hostfwd=tcp:127.0.0.1:"$hport"-:80 -device virtio-net-pci,netdev=n0 \
	-display none -monitor none -serial file:"$tmp/console.log" -no-reboot &
qpid=$!
echo "smoke-test: booting ($(echo "${accel[1]}" | cut -d, -f1)), HTTPS on 127.0.0.1:$port, HTTP on 127.0.0.1:$hport"

# first boot tells the smoke image's console the admin password and the units' state
while ! grep -q 'INKAN-SMOKE done' "$tmp/console.log" 2>/dev/null; do
	kill -0 "$qpid" 2>/dev/null || fail "qemu exited"
	[ $(($(date +%s) - t0)) -lt "$limit" ] || fail "no INKAN-SMOKE line within ${limit}s"
	sleep 2
done
ok "booted and first boot ran in $(($(date +%s) - t0))s"
tr -d '\r' < "$tmp/console.log" > "$tmp/console.txt"
grep -q 'INKAN-SMOKE active inkan-signerd' "$tmp/console.txt" || fail "inkan-signerd not active: $(grep INKAN-SMOKE "$tmp/console.txt")"
grep -q 'INKAN-SMOKE active inkan-rad' "$tmp/console.txt" || fail "inkan-rad not active"
grep 'INKAN-SMOKE exposure' "$tmp/console.txt" | sed 's/^.*INKAN-SMOKE /  /'
failed=$(sed -n 's/.*INKAN-SMOKE failed-units: *//p' "$tmp/console.txt" | head -n 1 | tr -d ' ')
[ -z "$failed" ] || fail "failed units in the guest: $(grep 'INKAN-SMOKE' "$tmp/console.txt")"
pw=$(sed -n 's/.*INKAN-SMOKE admin-password=\([A-Za-z0-9]*\).*/\1/p' "$tmp/console.txt" | head -n 1)
[ -n "$pw" ] || fail "no admin password on the console"
ok "inkan-signerd and inkan-rad are active under systemd; no unit failed (first boot, nftables, ssh, ...)"

# the appliance's own CA: fetched once, then every call is verified against it
curl -sk -o "$tmp/root.pem" "https://127.0.0.1:$port/ca/root-ca.pem" || fail "no /ca/root-ca.pem"
openssl s_client -connect "127.0.0.1:$port" -showcerts </dev/null 2>/dev/null \
	| openssl x509 -noout -ext subjectAltName > "$tmp/san" || fail "no TLS certificate"
host=$(grep -oE 'IP Address:[0-9.]+|DNS:[^,]+' "$tmp/san" | head -n 1 | sed 's/^IP Address://; s/^DNS://')
[ -n "$host" ] || fail "no name in the TLS certificate: $(cat "$tmp/san")"
C=(curl -s --cacert "$tmp/root.pem" --connect-to "$host:443:127.0.0.1:$port")
"${C[@]}" -f "https://$host/healthz" >/dev/null || fail "healthz through TLS verified against the appliance root"
"${C[@]}" -o "$tmp/ica.pem" "https://$host/ca/issuing-ca.pem"
ok "the UI answers over HTTPS (certificate for $host, verified against the appliance's root)"

j() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$tmp/body" "$1"; }
api() { # api METHOD PATH [JSON]
	local extra=()
	[ $# -ge 3 ] && extra=(-H 'Content-Type: application/json' --data "$3")
	"${C[@]}" -b "$tmp/jar" -c "$tmp/jar" -H "X-CSRF-Token: ${csrf:-}" -X "$1" -o "$tmp/body" -w '%{http_code}' "${extra[@]}" "https://$host$2"
}
csrf=
s=$(api POST /api/v1/login "{\"login\":\"admin\",\"password\":\"$pw\"}"); [ "$s" = 200 ] || fail "login: $s $(cat "$tmp/body")"
csrf=$(j 'd["csrf"]')
s=$(api POST /api/v1/users '{"external_id":"smoke-1"}'); [ "$s" = 201 ] || fail "user: $s $(cat "$tmp/body")"
uid=$(j 'd["id"]')
s=$(api POST "/api/v1/users/$uid/devices" '{"name":"laptop"}'); [ "$s" = 201 ] || fail "device: $s"
dev=$(j 'd["id"]')
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=smoke-laptop \
	-keyout "$tmp/leaf.key" -out "$tmp/leaf.csr" 2>/dev/null
s=$(api POST "/api/v1/devices/$dev/certificates" "$(python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' "$tmp/leaf.csr")")
[ "$s" = 202 ] || fail "issue: $s $(cat "$tmp/body")"
rid=$(j 'd["request_id"]'); cid=$(j 'd["certificate_id"]')
for _ in $(seq 1 100); do
	api GET "/api/v1/requests/$rid" >/dev/null
	[ "$(j 'd["state"]')" = done ] && break
	sleep 0.3
done
s=$(api GET "/api/v1/certificates/$cid/pem"); [ "$s" = 200 ] || fail "certificate PEM: $s"
cp "$tmp/body" "$tmp/leaf.pem"
openssl verify -CAfile "$tmp/root.pem" -untrusted "$tmp/ica.pem" "$tmp/leaf.pem" >/dev/null || fail "issued certificate does not verify"
openssl x509 -in "$tmp/leaf.pem" -noout -subject | grep -q smoke-laptop || fail "issued certificate subject"
ok "admin logged in; a certificate issued from a CSR verifies against the appliance's root"

# the URLs in the certificate (http://HOST/crl/..., http://HOST/ocsp, port 80) answer from the
# host through the guest's nftables (CRL_PORT): the CRL and a verified OCSP "good"
openssl x509 -in "$tmp/leaf.pem" -noout -ext crlDistributionPoints | grep -qF "URI:http://$host/crl/issuing-ca.crl" \
	|| fail "CRL URL in the certificate: $(openssl x509 -in "$tmp/leaf.pem" -noout -ext crlDistributionPoints)"
[ "$(openssl x509 -in "$tmp/leaf.pem" -noout -ocsp_uri)" = "http://$host/ocsp" ] \
	|| fail "OCSP URL in the certificate: $(openssl x509 -in "$tmp/leaf.pem" -noout -ocsp_uri)"
curl -sf -o "$tmp/crl.der" "http://127.0.0.1:$hport/crl/issuing-ca.crl" || fail "CRL over plain HTTP"
openssl crl -inform DER -in "$tmp/crl.der" -CAfile "$tmp/ica.pem" -noout 2>&1 | grep -q 'verify OK' || fail "the CRL does not verify"
openssl ocsp -issuer "$tmp/ica.pem" -cert "$tmp/leaf.pem" -url "http://127.0.0.1:$hport/ocsp" \
	-CAfile "$tmp/root.pem" > "$tmp/ocsp.out" 2>&1 || fail "openssl ocsp: $(cat "$tmp/ocsp.out")"
grep -q 'Response verify OK' "$tmp/ocsp.out" && grep -q 'leaf.pem: good' "$tmp/ocsp.out" || fail "OCSP: $(cat "$tmp/ocsp.out")"
ok "port 80: the CRL (verified) and OCSP (good, verified) at the certificate's URLs"
