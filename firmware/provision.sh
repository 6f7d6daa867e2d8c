# provision.sh: the bring-up steps shared by firmware/dev-demo.sh (a source checkout) and
# firmware/inkan-firstboot (the appliance's first boot).  Source it, set the IK_* variables
# below, then call the steps in order.  Every step is idempotent: keys, certificates, configs
# and officers that exist are never overwritten.  Needs inkan-ceremony, inkan-signerd,
# inkan-signctl and inkan-rad on PATH and softhsm-token at $IK_SOFTHSM_TOKEN.
#
# Variables (all paths absolute):
#   IK_HSM_DIR       SoftHSM token directory (softhsm2.conf, tokens/, user.pin)
#   IK_CA_DIR        the ceremony's outputs (root-ca.pem, issuing-ca.pem)
#   IK_TOKEN         token label                          [inkan]
#   IK_ORG IK_COUNTRY  subject of the demo CA and fixed O/C of the profiles [Inkan Demo, JP]
#   IK_SIGNER_CONF   signer config to write
#   IK_SOCKET        the signer's Unix socket
#   IK_SOCKET_GROUP  group of the socket ("" leaves it to the directory, e.g. a setgid dir)
#   IK_RA_PEER       "ra_uid = N" or "ra_user = NAME": the only peer the signer admits
#   IK_LEDGER        the signer's ledger
#   IK_CRL_URL IK_OCSP_URL  URLs put in the certificates (the CRL in every profile, OCSP in
#                    the client profile; the RA serves both on IK_HTTP_PORT)
#   IK_HOST          the appliance's name or address (RA TLS certificate CN, public URL)
#   IK_LISTEN IK_PORT  the RA's listening address and port
#   IK_PUBLIC_URL    the RA's public URL                  [https://$IK_HOST:$IK_PORT]
#   IK_HTTP_PORT     the RA's plain-HTTP port for the CRL, OCSP, CA certificates [80]
#   IK_RA_CONF IK_RA_DB IK_TLS_KEY IK_TLS_CERT  the RA's config, store and TLS files
#   IK_MAIL_KEY IK_MAIL_CERT  where the RA keeps its mail-signing key and certificate
#                    ("" = beside IK_RA_CONF, which must then be writable by the RA)
#   IK_MAIL_SENDMAIL the sendmail-compatible command suggested (commented) in ra.conf
#                    [/usr/sbin/sendmail -t -i]
#   IK_ADMIN_PW_FILE where the first administrator's generated password goes (0400)
#   IK_AS_SIGNER IK_AS_RA  command prefixes that run a command as the signer's / the RA's
#                    user ("" = as the caller), e.g. "setpriv --reuid=inkan-ra ... --"

IK_TOKEN=${IK_TOKEN:-inkan}
IK_ORG=${IK_ORG:-Inkan Demo}
IK_COUNTRY=${IK_COUNTRY:-JP}
IK_AS_SIGNER=${IK_AS_SIGNER:-}
IK_AS_RA=${IK_AS_RA:-}
IK_HTTP_PORT=${IK_HTTP_PORT:-80}
IK_MAIL_KEY=${IK_MAIL_KEY:-}
IK_MAIL_CERT=${IK_MAIL_CERT:-}
IK_MAIL_SENDMAIL=${IK_MAIL_SENDMAIL:-/usr/sbin/sendmail -t -i}
IK_SIGNER_PID=

ik_prov_log() { echo "inkan-provision: $*" >&2; }
ik_prov_die() { echo "inkan-provision: $*" >&2; exit 1; }

# The SoftHSM token (random SO and user PINs in 0400 files beside it).
ik_prov_token() {
	export SOFTHSM2_CONF="$IK_HSM_DIR/softhsm2.conf"
	[ -f "$SOFTHSM2_CONF" ] && return 0
	ik_prov_log "creating the SoftHSM token '$IK_TOKEN' in $IK_HSM_DIR"
	"$IK_SOFTHSM_TOKEN" "$IK_HSM_DIR" "$IK_TOKEN" >/dev/null
}

# The demo key ceremony: root, issuing-CA and OCSP responder keys on the token, the
# certificates in IK_CA_DIR.
ik_prov_ceremony() {
	[ -f "$IK_CA_DIR/issuing-ca.pem" ] && return 0
	ik_prov_log "running the demo key ceremony (org '$IK_ORG', country $IK_COUNTRY)"
	SOFTHSM2_CONF="$IK_HSM_DIR/softhsm2.conf" inkan-ceremony demo --out "$IK_CA_DIR" \
		--token "$IK_TOKEN" --pin-file "$IK_HSM_DIR/user.pin" --org "$IK_ORG" \
		--country "$IK_COUNTRY" >/dev/null
}

# Import a ceremony's outputs instead: SRC/ca/{root-ca,issuing-ca}.pem and the SoftHSM token
# SRC/hsm/{tokens/,user.pin} (as written by a ceremony run elsewhere).  The token's config is
# written anew so that it points at its new place.
ik_prov_import() {
	local src=$1 f
	[ -f "$IK_CA_DIR/issuing-ca.pem" ] && { ik_prov_log "CA already present in $IK_CA_DIR; not importing"; return 0; }
	for f in ca/root-ca.pem ca/issuing-ca.pem hsm/user.pin; do
		[ -f "$src/$f" ] || ik_prov_die "import: $src/$f is missing"
	done
	[ -d "$src/hsm/tokens" ] || ik_prov_die "import: $src/hsm/tokens is not a directory"
	openssl x509 -in "$src/ca/issuing-ca.pem" -noout 2>/dev/null || ik_prov_die "import: $src/ca/issuing-ca.pem is not a PEM certificate"
	ik_prov_log "importing the ceremony outputs from $src"
	(
		umask 077
		mkdir -p "$IK_CA_DIR" "$IK_HSM_DIR"
		cp "$src/ca/root-ca.pem" "$src/ca/issuing-ca.pem" "$IK_CA_DIR/"
		cp -R "$src/hsm/tokens" "$IK_HSM_DIR/"
		cp "$src/hsm/user.pin" "$IK_HSM_DIR/user.pin"
		chmod 0400 "$IK_HSM_DIR/user.pin"
		cat > "$IK_HSM_DIR/softhsm2.conf" <<CONF
directories.tokendir = $IK_HSM_DIR/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
	)
	chmod 0644 "$IK_CA_DIR/root-ca.pem" "$IK_CA_DIR/issuing-ca.pem"
	export SOFTHSM2_CONF="$IK_HSM_DIR/softhsm2.conf"
}

# The signer's [profile.mail]: the RA's mail-signing certificate (S/MIME notices).
ik_prov_mail_profile() {
	cat <<CONF
# the RA's mail-signing certificate (S/MIME notices; the RA asks for it at first start)
[profile.mail]
usage = email
max_days = 397
key_types = ec-p256
subject_allowed = CN
subject_required = CN
O = $IK_ORG
C = $IK_COUNTRY
crl_url = $IK_CRL_URL
CONF
}

# The signer's config (docs/CONFIG.md): a client profile (CRL and OCSP URLs), the tls
# profile the RA's own HTTPS certificate is issued under and the RA's mail profile.
ik_prov_signer_conf() {
	[ -f "$IK_SIGNER_CONF" ] && return 0
	local group_line= ocsp_line=
	[ -n "${IK_SOCKET_GROUP:-}" ] && group_line="socket_group = $IK_SOCKET_GROUP"
	[ -n "${IK_OCSP_URL:-}" ] && ocsp_line="ocsp_url = $IK_OCSP_URL"
	ik_prov_log "writing $IK_SIGNER_CONF"
	(umask 027; cat > "$IK_SIGNER_CONF" <<CONF
# Inkan signer (see docs/CONFIG.md for every key).
[signer]
socket = $IK_SOCKET
socket_mode = 0660
$group_line
$IK_RA_PEER
ledger = $IK_LEDGER
crl_lifetime = 86400

[hsm]
module = /usr/lib/softhsm/libsofthsm2.so
token = $IK_TOKEN
pin_file = $IK_HSM_DIR/user.pin
key_label = inkan-issuing-ca

[ca]
cert = $IK_CA_DIR/issuing-ca.pem
chain = $IK_CA_DIR/root-ca.pem

[profile.client]
max_days = 397
key_types = ec-p256 ec-p384 rsa
subject_allowed = CN OU serialNumber
subject_required = CN
O = $IK_ORG
C = $IK_COUNTRY
crl_url = $IK_CRL_URL
$ocsp_line

# the appliance's own TLS certificate (the RA's HTTPS)
[profile.tls]
usage = server
max_days = 397
key_types = ec-p256
subject_allowed = CN
subject_required = CN
O = $IK_ORG
C = $IK_COUNTRY
crl_url = $IK_CRL_URL

$(ik_prov_mail_profile)
CONF
	)
}

# A signer config from before the mail profile existed gets it appended (nothing else in it
# is touched).
ik_prov_signer_conf_mail() {
	grep -q '^\[profile\.mail\]' "$IK_SIGNER_CONF" && return 0
	ik_prov_log "adding [profile.mail] to $IK_SIGNER_CONF"
	{ echo; ik_prov_mail_profile; } >> "$IK_SIGNER_CONF"
}

# The OCSP responder's key (label inkan-ocsp, id 03; docs/OCSP.md), as the signer's user: the
# demo ceremony makes it, an older token or an imported ceremony may lack it.
ik_prov_ocsp_key() {
	local out
	if out=$(SOFTHSM2_CONF="$IK_HSM_DIR/softhsm2.conf" $IK_AS_SIGNER inkan-token keygen \
		--label "$IK_TOKEN" --pin-file "$IK_HSM_DIR/user.pin" --key-label inkan-ocsp \
		--key-id 03 --alg ec-p256 2>&1); then
		ik_prov_log "generated the OCSP responder key 'inkan-ocsp' on token '$IK_TOKEN'"
		return 0
	fi
	case "$out" in
	*"already exists"*) return 0 ;;
	*) ik_prov_die "the OCSP responder key: $out" ;;
	esac
}

ik_signctl_as_ra() { $IK_AS_RA inkan-signctl -s "$IK_SOCKET" "$@"; }

# Start the signer in the background (log in $1) and wait for its socket to answer.
ik_prov_start_signer() {
	local log=$1 mask
	mask=$(umask)
	umask 077 # the ledger it creates
	SOFTHSM2_CONF="$IK_HSM_DIR/softhsm2.conf" nohup $IK_AS_SIGNER inkan-signerd \
		-c "$IK_SIGNER_CONF" >>"$log" 2>&1 &
	IK_SIGNER_PID=$!
	umask "$mask"
	# up to 2 minutes: a first start under software emulation (an image build's VM) is slow
	for _ in $(seq 1 1200); do
		ik_signctl_as_ra hello >/dev/null 2>&1 && return 0
		kill -0 "$IK_SIGNER_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 5 "$log" >&2 || true
	ik_prov_die "the signer did not come up (config $IK_SIGNER_CONF, log $log)"
}

ik_prov_stop_signer() {
	[ -n "$IK_SIGNER_PID" ] || return 0
	if kill -TERM "$IK_SIGNER_PID" 2>/dev/null; then
		wait "$IK_SIGNER_PID" 2>/dev/null || true
	elif [ -d "/proc/$IK_SIGNER_PID" ]; then
		ik_prov_log "cannot stop the temporary signer (pid $IK_SIGNER_PID)"
	fi
	IK_SIGNER_PID=
}

# The RA's TLS certificate, issued by the running signer under [profile.tls]; the key never
# leaves IK_TLS_KEY (0400 for the RA's user).  Needs the signer up.
ik_prov_ra_tls() {
	[ -f "$IK_TLS_CERT" ] && return 0
	local tmp
	tmp=$(mktemp -d)
	chmod 0755 "$tmp"
	ik_prov_log "issuing the RA's TLS certificate for CN=$IK_HOST through the signer"
	(umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$IK_TLS_KEY")
	openssl pkey -in "$IK_TLS_KEY" -pubout -out "$tmp/ra-tls.pub"
	chmod 0644 "$tmp/ra-tls.pub"
	if ! ik_signctl_as_ra issue --id "ra-tls-$(date +%Y%m%d%H%M%S)" --profile tls \
		--pubkey "$tmp/ra-tls.pub" --attr "CN=$IK_HOST" --days 397 > "$tmp/leaf.pem"; then
		rm -rf "$tmp" "$IK_TLS_KEY"
		ik_prov_die "the signer refused the RA's TLS certificate"
	fi
	cat "$tmp/leaf.pem" "$IK_CA_DIR/issuing-ca.pem" > "$IK_TLS_CERT"
	chmod 0644 "$IK_TLS_CERT"
	chmod 0400 "$IK_TLS_KEY"
	rm -rf "$tmp"
}

ik_prov_ra_conf() {
	[ -f "$IK_RA_CONF" ] && return 0
	local key_line="#key = $(dirname "$IK_RA_CONF")/mail-signing.key"
	local cert_line="#cert = $(dirname "$IK_RA_CONF")/mail-signing.pem"
	[ -n "$IK_MAIL_KEY" ] && key_line="key = $IK_MAIL_KEY"
	[ -n "$IK_MAIL_CERT" ] && cert_line="cert = $IK_MAIL_CERT"
	ik_prov_log "writing $IK_RA_CONF"
	(umask 027; cat > "$IK_RA_CONF" <<CONF
# Inkan RA (keys in ra/config.c and docs/CONFIG.md).
[ra]
listen = $IK_LISTEN
port = $IK_PORT
tls = on
tls_cert = $IK_TLS_CERT
tls_key = $IK_TLS_KEY
database = $IK_RA_DB
signer_socket = $IK_SOCKET
public_url = ${IK_PUBLIC_URL:-https://$IK_HOST:$IK_PORT}
profile = client
# OCSP, the CRL and the CA certificates over plain HTTP (the URLs in the certificates)
http_port = $IK_HTTP_PORT

# Notices by mail, S/MIME-signed with a certificate the signer issues to the RA at its first
# start (docs/CONFIG.md).  Off until from is set; set it and a working sendmail-compatible
# command (msmtp or postfix), then restart the RA.  The values shown are the defaults.
[mail]
#from = inkan@example.jp
#sendmail = $IK_MAIL_SENDMAIL
$key_line
$cert_line
#cert_days = 365
#timeout = 60
#retry_min = 30
#retry_max = 3600
CONF
	)
}

# The first administrator: login "admin", a generated password kept in IK_ADMIN_PW_FILE
# (0400, the caller's); it goes to inkan-rad on stdin, never on a command line.
ik_prov_admin() {
	[ -f "$IK_ADMIN_PW_FILE" ] && return 0
	ik_prov_log "creating the first administrator 'admin' (password in $IK_ADMIN_PW_FILE)"
	(umask 277; head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 20 > "$IK_ADMIN_PW_FILE")
	if ! (umask 077; $IK_AS_RA inkan-rad add-officer -c "$IK_RA_CONF" --login admin --role administrator \
		< "$IK_ADMIN_PW_FILE" >/dev/null); then
		rm -f "$IK_ADMIN_PW_FILE"
		ik_prov_die "inkan-rad add-officer failed (config $IK_RA_CONF)"
	fi
}
