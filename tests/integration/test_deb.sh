#!/usr/bin/env bash
# The Debian package: built with CPack from this build tree, its control fields, contents,
# conffiles and maintainer scripts checked with dpkg-deb; then extracted (never installed
# system-wide) and used: every program answers --help, the units verify and keep their
# systemd-analyze security exposure, sysusers/tmpfiles make the users and directories in a
# scratch root, the firewall parses, and the packaged first-boot script brings up a working
# signer and RA from the extracted binaries (the admin logs in over HTTPS).
. "$(dirname "$0")/lib.sh"
for t in cpack dpkg-deb systemd-analyze systemd-sysusers systemd-tmpfiles nft; do
	command -v "$t" >/dev/null || ik_fail "$t not found (firmware/debian-packages.txt)"
done

# ---- build ----
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$INKAN_BUILD/CMakeCache.txt")
arch=$(dpkg --print-architecture)
[ -n "$version" ] || ik_fail "no project version in $INKAN_BUILD/CMakeCache.txt"
(cd "$INKAN_BUILD" && cpack -G DEB -B "$TMP/pkg" --config "$INKAN_BUILD/CPackConfig.cmake") >"$TMP/cpack.log" 2>&1 \
	|| ik_fail "cpack: $(tail -n 20 "$TMP/cpack.log")"
DEB="$TMP/pkg/inkan_${version}_${arch}.deb"
[ -f "$DEB" ] || ik_fail "no $DEB: $(ls "$TMP/pkg")"
ik_ok "cpack -G DEB made $(basename "$DEB")"

# ---- control fields ----
field() { dpkg-deb -f "$DEB" "$1"; }
[ "$(field Package)" = inkan ] || ik_fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || ik_fail "Version: $(field Version)"
[ "$(field Architecture)" = "$arch" ] || ik_fail "Architecture: $(field Architecture)"
[ "$(field Section)" = admin ] || ik_fail "Section: $(field Section)"
field Maintainer | grep '@' >/dev/null || ik_fail "Maintainer: $(field Maintainer)"
field Description | grep 'HSM' >/dev/null || ik_fail "Description: $(field Description)"
deps=$(field Depends)
for d in softhsm2 openssl systemd libssl3 libsqlite3-0 libp11-3 libmicrohttpd12 libjansson4 libinih1 libcsv3 libc6; do
	echo "$deps" | tr ',' '\n' | grep -E "^ *$d( |\$)" >/dev/null || ik_fail "Depends lacks $d: $deps"
done
ik_ok "control: Package inkan $version $arch, Section admin; Depends has the runtime libraries (dpkg-shlibdeps) and softhsm2"

# ---- contents ----
dpkg-deb -c "$DEB" | awk '{print $1, $2, $6}' > "$TMP/contents"
has() { # has MODE PATH
	grep -qE "^$1 root/root \./${2#/}\$" "$TMP/contents" || ik_fail "package lacks $2 ($1 root/root): $(grep -F "${2#/}" "$TMP/contents")"
}
for b in inkan-signerd inkan-signctl inkan-rad inkan-ceremony inkan-token inkan-admin; do
	has -rwxr-xr-x "/usr/sbin/$b"
done
for f in inkan-firstboot softhsm-token; do has -rwxr-xr-x "/usr/lib/inkan/$f"; done
has -rw-r--r-- /usr/lib/inkan/provision.sh
for u in inkan-signerd inkan-rad inkan-firstboot; do has -rw-r--r-- "/usr/lib/systemd/system/$u.service"; done
for f in sysusers.d/inkan.conf tmpfiles.d/inkan.conf sysctl.d/90-inkan.conf systemd/journald.conf.d/inkan.conf; do
	has -rw-r--r-- "/usr/lib/$f"
done
for m in inkan-signerd inkan-rad inkan-signctl inkan-ceremony inkan-admin; do has -rw-r--r-- "/usr/share/man/man8/$m.8.gz"; done
for d in APPLIANCE.md CONFIG.md API.md README.md; do has -rw-r--r-- "/usr/share/doc/inkan/$d"; done
has -rw-r--r-- /etc/inkan/firstboot.env
has -rw-r--r-- /etc/inkan/inkan.nft
awk '{print $3}' "$TMP/contents" | grep -vE '^\./(usr|etc)(/|$)|^\./$' && ik_fail "files outside /usr and /etc"
grep -qE 'tool_|bench|test_' "$TMP/contents" && ik_fail "test or benchmark programs packaged: $(grep -E 'tool_|bench|test_' "$TMP/contents")"
ik_ok "contents: 6 programs, first boot, units, sysusers/tmpfiles/sysctl/journald, 5 man pages, docs, 2 conffiles; nothing else"

# ---- maintainer scripts and conffiles ----
dpkg-deb -e "$DEB" "$TMP/control"
diff <(sort "$TMP/control/conffiles") <(printf '/etc/inkan/firstboot.env\n/etc/inkan/inkan.nft\n') >/dev/null \
	|| ik_fail "conffiles: $(cat "$TMP/control/conffiles")"
for s in postinst prerm postrm; do
	[ -x "$TMP/control/$s" ] || ik_fail "$s not executable"
	sh -n "$TMP/control/$s" || ik_fail "$s does not parse"
done
grep -q 'systemd-sysusers' "$TMP/control/postinst" && grep -q 'systemd-tmpfiles' "$TMP/control/postinst" \
	|| ik_fail "postinst does not create the users and directories"
grep -q 'rm -rf' "$TMP/control/postrm" && ik_fail "postrm deletes files (the CA's keys must survive a purge)"
for m in inkan-signerd inkan-rad inkan-signctl inkan-ceremony inkan-admin; do
	dpkg-deb --fsys-tarfile "$DEB" | tar -xO "./usr/share/man/man8/$m.8.gz" | gzip -dc | grep "^\.SH NAME" >/dev/null \
		|| ik_fail "man page $m is not a man page"
done
ik_ok "maintainer scripts parse; conffiles list the site settings; man pages are roff"

# ---- extracted: programs, units, users, directories, firewall ----
R="$TMP/root"
dpkg-deb -x "$DEB" "$R"
for b in inkan-signerd inkan-signctl inkan-rad inkan-ceremony inkan-admin; do
	"$R/usr/sbin/$b" --help >"$TMP/help" 2>&1 || ik_fail "$b --help failed: $(cat "$TMP/help")"
	grep -qi "usage: $b" "$TMP/help" || ik_fail "$b --help: $(cat "$TMP/help")"
done
{ "$R/usr/sbin/inkan-token" --help 2>&1 || true; } | grep "inkan-token init" >/dev/null || ik_fail "inkan-token usage"
"$R/usr/lib/inkan/inkan-firstboot" --help | grep -- '--import DIR' >/dev/null || ik_fail "inkan-firstboot --help"
ik_ok "the extracted programs answer --help"

mkdir "$TMP/units"
for u in "$R"/usr/lib/systemd/system/*.service; do
	sed "s|/usr/sbin/|$R/usr/sbin/|g; s|/usr/lib/inkan/|$R/usr/lib/inkan/|g" "$u" > "$TMP/units/$(basename "$u")"
done
systemd-analyze verify --man=no "$TMP"/units/*.service >"$TMP/verify" 2>&1 || ik_fail "systemd-analyze verify: $(cat "$TMP/verify")"
[ -s "$TMP/verify" ] && ik_fail "systemd-analyze verify warns: $(cat "$TMP/verify")"
exposure() { systemd-analyze security --offline=true --root="$R" "$1" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p'; }
sg=$(exposure inkan-signerd.service); ra=$(exposure inkan-rad.service)
[ -n "$sg" ] && [ -n "$ra" ] || ik_fail "no exposure score from systemd-analyze security"
awk -v s="$sg" -v r="$ra" 'BEGIN { exit !(s <= 1.0 && r <= 2.0) }' || ik_fail "exposure rose: signer $sg (max 1.0), RA $ra (max 2.0)"
grep -q '^PrivateNetwork=yes' "$R/usr/lib/systemd/system/inkan-signerd.service" && \
	grep -q '^RestrictAddressFamilies=AF_UNIX$' "$R/usr/lib/systemd/system/inkan-signerd.service" || ik_fail "the signer has network"
ik_ok "units verify; systemd-analyze security exposure: signer $sg, RA $ra"

S="$TMP/sysroot"
mkdir -p "$S/etc"
systemd-sysusers --root="$S" "$R/usr/lib/sysusers.d/inkan.conf" >/dev/null 2>&1 || ik_fail "systemd-sysusers"
uid() { awk -F: -v n="$1" '$1 == n {print $3}' "$S/etc/passwd"; }
gid() { awk -F: -v n="$1" '$1 == n {print $3}' "$S/etc/group"; }
[ -n "$(uid inkan-signer)" ] && [ -n "$(uid inkan-ra)" ] && [ -n "$(gid inkan-sock)" ] || ik_fail "users: $(cat "$S/etc/passwd")"
awk -F: '$1 == "inkan-sock" {print $4}' "$S/etc/group" | tr ',' '\n' | grep -x inkan-ra >/dev/null || ik_fail "inkan-ra not in inkan-sock"
awk -F: '$1 == "inkan-sock" {print $4}' "$S/etc/group" | tr ',' '\n' | grep -x inkan-signer >/dev/null && ik_fail "inkan-signer need not be in inkan-sock"
grep -E '^inkan-(signer|ra):' "$S/etc/passwd" | cut -d: -f7 | grep -vx /usr/sbin/nologin >/dev/null && ik_fail "a daemon user has a shell"
systemd-tmpfiles --root="$S" --create "$R/usr/lib/tmpfiles.d/inkan.conf" >/dev/null 2>&1 || ik_fail "systemd-tmpfiles"
st() { stat -c '%a %u %g' "$S$1"; }
[ "$(st /var/lib/inkan/signer)" = "700 $(uid inkan-signer) $(gid inkan-signer)" ] || ik_fail "signer dir: $(st /var/lib/inkan/signer)"
[ "$(st /var/lib/inkan/ra)" = "700 $(uid inkan-ra) $(gid inkan-ra)" ] || ik_fail "RA dir: $(st /var/lib/inkan/ra)"
[ "$(st /run/inkan)" = "2750 $(uid inkan-signer) $(gid inkan-sock)" ] || ik_fail "socket dir: $(st /run/inkan)"
nft -c -f "$R/etc/inkan/inkan.nft" || ik_fail "inkan.nft does not parse"
grep -qE '^\s*ip saddr \$ADMIN_NET tcp dport 22' "$R/etc/inkan/inkan.nft" || ik_fail "SSH not limited to ADMIN_NET"
ik_ok "sysusers: inkan-signer, inkan-ra (in inkan-sock), no shells; tmpfiles: 0700 state dirs, setgid 2750 socket dir; nftables parses"

# ---- the packaged first boot, with the packaged programs, into a scratch root ----
port=$(ik_free_port)
hport=$(ik_free_port)
[ "$hport" != "$port" ] || hport=$((port + 1))
I="$TMP/inst"
env -u INKAN_BUILD PATH="$R/usr/sbin:/usr/sbin:/usr/bin:/sbin:/bin" "$R/usr/lib/inkan/inkan-firstboot" \
	--root "$I" --no-users --host 127.0.0.1 --listen 127.0.0.1 --port "$port" --http-port "$hport" \
	--org "Inkan Deb" >"$TMP/fb.out" 2>&1 \
	|| ik_fail "inkan-firstboot: $(cat "$TMP/fb.out")"
for f in /etc/inkan/signer.conf /etc/inkan/ra.conf /var/lib/inkan/admin.password /var/lib/inkan/ra/tls.key /var/lib/inkan/signer/hsm/user.pin; do
	[ -f "$I$f" ] || ik_fail "first boot did not make $f"
done
[ "$(stat -c %a "$I/var/lib/inkan/admin.password")" = 400 ] || ik_fail "admin password file mode"
[ "$(stat -c %a "$I/var/lib/inkan/signer")" = 700 ] || ik_fail "signer state mode"
export SOFTHSM2_CONF="$I/var/lib/inkan/signer/hsm/softhsm2.conf"
"$R/usr/sbin/inkan-signerd" -c "$I/etc/inkan/signer.conf" --check-config | grep ': OK (3 profiles)' >/dev/null \
	|| ik_fail "--check-config on the first-boot signer config"
"$R/usr/sbin/inkan-rad" --check-config "$I/etc/inkan/ra.conf" | grep ': OK$' >/dev/null \
	|| ik_fail "--check-config on the first-boot RA config"
# the same features as the demo (firmware/provision.sh): OCSP URL, mail profile, plain HTTP,
# [mail] with its defaults commented and the key in the RA's state directory
grep -qx "ocsp_url = http://127.0.0.1:$hport/ocsp" "$I/etc/inkan/signer.conf" || ik_fail "no ocsp_url in signer.conf"
grep -qx "crl_url = http://127.0.0.1:$hport/crl/issuing-ca.crl" "$I/etc/inkan/signer.conf" || ik_fail "crl_url in signer.conf"
grep -qx '\[profile.mail\]' "$I/etc/inkan/signer.conf" || ik_fail "no [profile.mail] in signer.conf"
grep -qx "http_port = $hport" "$I/etc/inkan/ra.conf" || ik_fail "no http_port in ra.conf"
for l in '[mail]' '#from = inkan@example.jp' '#sendmail = /usr/bin/msmtp -t' "key = $I/var/lib/inkan/ra/mail-signing.key" '#retry_max = 3600'; do
	grep -qxF "$l" "$I/etc/inkan/ra.conf" || ik_fail "ra.conf lacks '$l': $(cat "$I/etc/inkan/ra.conf")"
done
printf '[signer]\nsocket = /x\nbogus_key = 1\n' > "$TMP/bad.conf"
"$R/usr/sbin/inkan-signerd" -c "$TMP/bad.conf" --check-config 2>"$TMP/err" && ik_fail "unknown key accepted"
grep -q 'bogus_key' "$TMP/err" || ik_fail "--check-config does not name the bad key: $(cat "$TMP/err")"

"$R/usr/sbin/inkan-signerd" -c "$I/etc/inkan/signer.conf" >>"$TMP/signer.log" 2>&1 &
SIGNER_PID=$!
for _ in $(seq 1 100); do
	"$R/usr/sbin/inkan-signctl" -s "$I/run/inkan/signer.sock" hello >/dev/null 2>&1 && break
	sleep 0.1
done
"$R/usr/sbin/inkan-rad" -c "$I/etc/inkan/ra.conf" >>"$TMP/rad.log" 2>&1 &
RAD_PID=$!
BASE="https://127.0.0.1:$port"
CA="$I/var/lib/inkan/signer/ca/root-ca.pem"
for _ in $(seq 1 100); do
	curl -sf --cacert "$CA" "$BASE/healthz" >/dev/null 2>&1 && break
	kill -0 "$RAD_PID" 2>/dev/null || ik_fail "inkan-rad exited: $(tail -n 5 "$TMP/rad.log")"
	sleep 0.1
done
python3 -c 'import json,sys; print(json.dumps({"login":"admin","password":open(sys.argv[1]).read().strip()}))' \
	"$I/var/lib/inkan/admin.password" > "$TMP/login.json"
s=$(curl -s --cacert "$CA" -o "$TMP/body" -w '%{http_code}' -H 'Content-Type: application/json' --data @"$TMP/login.json" "$BASE/api/v1/login")
[ "$s" = 200 ] && grep -q '"role":"administrator"' "$TMP/body" || ik_fail "admin login: $s $(cat "$TMP/body")"
curl -sf --cacert "$CA" -o "$TMP/crl.der" "$BASE/crl/issuing-ca.crl" || ik_fail "CRL"
openssl crl -inform DER -in "$TMP/crl.der" -noout -issuer | grep 'Inkan Deb' >/dev/null || ik_fail "CRL issuer"
ik_ok "packaged first boot: demo CA, configs, RA TLS certificate from the signer (verified by curl against the root), admin logs in"

# the URLs in the certificates answer over plain HTTP: the CRL, and OCSP for the RA's own TLS
# certificate, signed by the responder key first boot put on the token
curl -sf -o "$TMP/crl80.der" "http://127.0.0.1:$hport/crl/issuing-ca.crl" || ik_fail "CRL over plain HTTP"
cmp -s "$TMP/crl.der" "$TMP/crl80.der" || ik_fail "the plain-HTTP CRL differs from the HTTPS one"
openssl x509 -in "$I/var/lib/inkan/ra/tls.pem" -out "$TMP/ra-leaf.pem"
openssl ocsp -issuer "$I/var/lib/inkan/signer/ca/issuing-ca.pem" -cert "$TMP/ra-leaf.pem" \
	-url "http://127.0.0.1:$hport/ocsp" -CAfile "$CA" >"$TMP/ocsp.out" 2>&1 || ik_fail "openssl ocsp: $(cat "$TMP/ocsp.out")"
grep -q 'Response verify OK' "$TMP/ocsp.out" && grep -q "ra-leaf.pem: good" "$TMP/ocsp.out" \
	|| ik_fail "OCSP for the RA's TLS certificate: $(cat "$TMP/ocsp.out")"
ik_ok "first boot's plain-HTTP port serves the CRL and OCSP (good, verified) like the demo's"
