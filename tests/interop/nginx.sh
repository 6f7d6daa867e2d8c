# Shared nginx harness for the interop tests (source it after integration/lib.sh): Debian's
# nginx in the foreground as our child, with its own prefix, config, pid, logs and temp paths
# under $TMP (no system file is touched), a throw-away server certificate, curl as the
# client.  The caller sets NGX_VERIFY to the nginx directives that check the client
# certificate's status (ssl_crl ... or ssl_ocsp ...) before ngx_start.
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || ik_fail "nginx not found (Debian package nginx, firmware/debian-packages.txt)"
CHECK="/usr/bin/python3 $INKAN_SRC/tests/integration/check_profile.py"
NGX=$TMP/nginx
NGINX_PID=
PORT=
NGX_VERIFY=${NGX_VERIFY:-}

ngx() { "$NGINX" -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log" "$@"; }

ngx_stop() {
	if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
		kill -QUIT "$NGINX_PID" 2>/dev/null || true
		wait "$NGINX_PID" 2>/dev/null || true
	fi
	NGINX_PID=
}

ngx_cleanup() {
	local rc=$?
	set +e
	if [ "$rc" -ne 0 ] && [ -f "$NGX/error.log" ]; then
		echo "--- nginx error log ---" >&2
		tail -n 20 "$NGX/error.log" >&2 || true
	fi
	ngx_stop
	(exit "$rc")
	ik_cleanup
}
trap ngx_cleanup EXIT

now_ns() { date +%s%N; }
secs() { printf '%d.%03d' $(($1 / 1000000000)) $(($1 / 1000000 % 1000)); }

# A throw-away server CA and a server certificate for 127.0.0.1 (not Inkan's business).
server_cert() {
	mkdir -p "$NGX/srv"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=interop server CA" -keyout "$NGX/srv/ca.key" -out "$NGX/srv/ca.pem" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$NGX/srv/key.pem" -out "$NGX/srv/req.pem" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$NGX/srv/ext"
	openssl x509 -req -in "$NGX/srv/req.pem" -CA "$NGX/srv/ca.pem" -CAkey "$NGX/srv/ca.key" \
		-days 1 -extfile "$NGX/srv/ext" -out "$NGX/srv/cert.pem" 2>/dev/null
}

write_config() {
	cat > "$NGX/nginx.conf" <<CONF
pid $NGX/nginx.pid;
error_log $NGX/error.log info;
worker_processes 1;
events { worker_connections 64; }
http {
	access_log $NGX/access.log;
	client_body_temp_path $NGX/tmp/body;
	proxy_temp_path $NGX/tmp/proxy;
	fastcgi_temp_path $NGX/tmp/fastcgi;
	uwsgi_temp_path $NGX/tmp/uwsgi;
	scgi_temp_path $NGX/tmp/scgi;
	server {
		listen 127.0.0.1:$PORT ssl;
		ssl_certificate $NGX/srv/cert.pem;
		ssl_certificate_key $NGX/srv/key.pem;
		ssl_verify_client on;
		ssl_client_certificate $TMP/ca/bundle.pem;
		$NGX_VERIFY
		ssl_verify_depth 2;
		location / {
			default_type text/plain;
			return 200 "verify=\$ssl_client_verify serial=\$ssl_client_serial\n";
		}
	}
}
CONF
}

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# req NAME: HTTP status of GET / with the client certificate NAME (or none for "-"); the
# body is left in $NGX/body.
req() {
	local auth=()
	[ "$1" = - ] || auth=(--cert "$TMP/$1.pem" --key "$TMP/$1.key")
	curl -s --max-time 5 -o "$NGX/body" -w '%{http_code}' --cacert "$NGX/srv/ca.pem" \
		"${auth[@]}" "https://127.0.0.1:$PORT/" || true
}

ngx_start() {
	mkdir -p "$NGX/tmp"
	for _ in 1 2 3; do
		PORT=$(free_port)
		write_config
		ngx -t -q || ik_fail "nginx -t refused the generated configuration"
		"$NGINX" -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log" -g 'daemon off;' \
			>>"$NGX/stderr" 2>&1 &
		NGINX_PID=$!
		for _ in $(seq 1 50); do
			kill -0 "$NGINX_PID" 2>/dev/null || break
			[ "$(req -)" = 400 ] && return 0
			sleep 0.1
		done
		ngx_stop # the port was taken in between: try another
	done
	ik_fail "nginx did not come up: $(tail -n 3 "$NGX/error.log")"
}

workers() { ps -o pid= --ppid "$NGINX_PID" | tr -d ' ' | sort; }

# reload: nginx -s reload, and wait until every worker that runs the old configuration has
# gone (until then a request may still be served with the old CRL).
reload() {
	local old now
	old=$(workers)
	ngx -s reload 2>>"$NGX/stderr" || ik_fail "nginx -s reload failed"
	for _ in $(seq 1 200); do
		now=$(workers)
		if [ -n "$now" ] && [ -z "$(comm -12 <(echo "$old") <(echo "$now"))" ]; then
			return 0
		fi
		sleep 0.02
	done
	ik_fail "nginx reload: old workers ($old) still running after 4 s"
}

# expect NAME CODE [WHY]: one request gives CODE; for a 400, nginx's page names a certificate
# error and the error log names WHY (the OpenSSL verify error) as the last verify error.
expect() {
	local got
	got=$(req "$1")
	[ "$got" = "$2" ] || ik_fail "$1: HTTP $got, expected $2"
	case "$2" in
	200)
		grep -q "verify=SUCCESS serial=$(ik_serial "$TMP/$1.pem")" "$NGX/body" ||
			ik_fail "$1: nginx did not see the expected client certificate: $(cat "$NGX/body")"
		;;
	400)
		grep -q "The SSL certificate error" "$NGX/body" || ik_fail "$1: 400 but not a certificate error"
		if [ -n "${3:-}" ]; then
			grep "client SSL certificate verify error" "$NGX/error.log" | tail -n 1 |
				grep -q "$3" || ik_fail "$1: refused, but not for '$3'"
		fi
		;;
	esac
}

