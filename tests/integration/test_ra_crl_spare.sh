#!/usr/bin/env bash
# The RA's CRL files are reused: a spare file of the CRL's size is made ahead and the next CRL
# is written over it, and a CRL's file nothing reads any more becomes the next spare.  What
# must never happen is a file written over while a reply still sends it: here a CRL of
# 150 000 entries (~7 MB, more than the kernel's socket buffers hold) is read by two slow
# clients, over plain HTTP (sendfile) and HTTPS (read by the RA), which stop after the first
# bytes; two revocations at the signer bring two newer CRLs meanwhile (each fetched into a
# file the RA may reuse); then the clients read on, and must get the old CRL byte for byte.
# Every CRL the RA serves is the signer's, byte for byte, and its Content-Length, whether it
# went into a spare larger than itself, a reused file or a new one.
. "$(dirname "$0")/lib.sh"
N=150000
ik_setup ec-p256
ik_crl_ra "$N"
for i in 1 2 3; do ik_issue "c$i" "spare-$i" >/dev/null || ik_fail "issue c$i"; done

# same_as_signer FILE WHAT: the RA's CRL in FILE is the signer's current one, whole
same_as_signer() {
	ik_signctl crl --der -o "$TMP/signer.der" || ik_fail "signctl crl"
	cmp -s "$1" "$TMP/signer.der" || ik_fail "$2: the RA's CRL is not the signer's"
	[ "$(ik_hdr Content-Length)" = "$(stat -c %s "$TMP/signer.der")" ] || ik_fail "$2: Content-Length $(ik_hdr Content-Length)"
	openssl crl -inform DER -in "$1" -CAfile "$TMP/ca/bundle.pem" -noout 2>&1 | grep -q 'verify OK' ||
		ik_fail "$2: CRL signature"
}
# revoke NAME ETAG: revoke it at the signer, wait until the RA serves a CRL newer than ETAG
# (its check, every second) into $TMP/NAME.crl, and check that CRL
revoke() {
	local s
	ik_signctl revoke "$(ik_serial "$TMP/$1.pem")" --reason 1 >/dev/null || ik_fail "revoke $1"
	for _ in $(seq 1 100); do
		s=$(ik_get "$HTTP/crl/issuing-ca.crl" "$TMP/$1.crl" -H "If-None-Match: $2")
		[ "$s" = 304 ] || break
		sleep 0.1
	done
	[ "$s" = 200 ] || ik_fail "revoke $1: no new CRL within 10 s ($s)"
	openssl crl -inform DER -in "$TMP/$1.crl" -noout -text | grep -qi "Serial Number: $(ik_serial "$TMP/$1.pem")\$" ||
		ik_fail "revoke $1: the new CRL does not list it"
	same_as_signer "$TMP/$1.crl" "revoke $1"
}

s=$(ik_get "$HTTP/crl/issuing-ca.crl" "$TMP/old.der"); [ "$s" = 200 ] || ik_fail "GET /crl: $s"
same_as_signer "$TMP/old.der" "first CRL"
ETAG=$(ik_hdr ETag)
[ "$(stat -c %s "$TMP/old.der")" -gt 6000000 ] || ik_fail "CRL smaller than the socket buffers could hold"
for _ in $(seq 1 100); do
	[ "$(ik_metric inkan_crl_spares_made_total)" -ge 1 ] && break
	sleep 0.1
done
[ "$(ik_metric inkan_crl_spares_made_total)" -ge 1 ] || ik_fail "no spare CRL file made in 10 s"
used0=$(ik_metric inkan_crl_spares_used_total)
ik_ok "a spare CRL file made ahead for a CRL of $(( $(stat -c %s "$TMP/old.der") / 1000 )) kB"

# two slow readers of the current CRL: headers and a few bytes, then they wait for $TMP/go
cat > "$TMP/slow.py" <<'PY'
import os, socket, ssl, sys, time
port, tls, ca, out = int(sys.argv[1]), sys.argv[2] == "tls", sys.argv[3], sys.argv[4]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
if tls:
    s = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname="127.0.0.1")
s.sendall(b"GET /crl/issuing-ca.crl HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
buf = b""
while b"\r\n\r\n" not in buf:
    d = s.recv(1024)
    if not d:
        sys.exit("connection closed before the body")
    buf += d
head, body = buf.split(b"\r\n\r\n", 1)
open(out + ".ready", "w").close()
end = time.monotonic() + 60
while not os.path.exists(os.path.join(os.path.dirname(out), "go")):
    if time.monotonic() > end:
        sys.exit("not told to read on within 60 s")
    time.sleep(0.05)
while True:
    d = s.recv(65536)
    if not d:
        break
    body += d
open(out, "wb").write(body)
PY
python3 "$TMP/slow.py" "$http_port" plain "$TMP/tls.pem" "$TMP/slow-plain.der" >"$TMP/slow1.log" 2>&1 & p1=$!
python3 "$TMP/slow.py" "${BASE##*:}" tls "$TMP/tls.pem" "$TMP/slow-tls.der" >"$TMP/slow2.log" 2>&1 & p2=$!
IK_BG_PIDS="$p1 $p2"
for _ in $(seq 1 100); do
	[ -f "$TMP/slow-plain.der.ready" ] && [ -f "$TMP/slow-tls.der.ready" ] && break
	sleep 0.1
done
[ -f "$TMP/slow-plain.der.ready" ] && [ -f "$TMP/slow-tls.der.ready" ] ||
	ik_fail "the slow readers did not start: $(cat "$TMP/slow1.log" "$TMP/slow2.log")"

revoke c1 "$ETAG"
E1=$(ik_hdr ETag)
revoke c2 "$E1"
E2=$(ik_hdr ETag)
[ "$(ik_metric inkan_crl_spares_used_total)" -gt "$used0" ] || ik_fail "no CRL was fetched into a spare file"
touch "$TMP/go"
wait "$p1" || ik_fail "the slow plain-HTTP reader failed"
wait "$p2" || ik_fail "the slow HTTPS reader failed"
cmp -s "$TMP/slow-plain.der" "$TMP/old.der" || ik_fail "plain HTTP: a CRL sent while two newer came is not the one it began"
cmp -s "$TMP/slow-tls.der" "$TMP/old.der" || ik_fail "HTTPS: a CRL sent while two newer came is not the one it began"
ik_ok "two newer CRLs fetched while slow readers held the old one: both got the old one whole (plain and HTTPS)"

# the old CRL's file is free now: the next CRLs may go into it, or the spare made meanwhile
used1=$(ik_metric inkan_crl_spares_used_total)
revoke c3 "$E2"
[ "$(ik_metric inkan_crl_spares_used_total)" -gt "$used1" ] || ik_fail "the CRL after the readers was not fetched into a reused file"
ik_ok "the next CRL went into a reused file: the signer's bytes, with its own length"
