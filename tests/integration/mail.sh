# mail.sh: real mail for the integration tests, sourced after lib.sh: msmtp as the RA's
# sendmail command delivering over SMTP on loopback to Debian's aiosmtpd, which writes each
# message to $SINK (smtp_sink.py: NAME.eml and NAME.rcpt).
#   ik_mail_setup     checks the tools, starts the SMTP server, writes $TMP/msmtprc and sets
#                     MAILCONF (the [mail] section for ik_start_ra); call after ik_setup
#   smtp_start / smtp_stop   the SMTP server up / down (a failing sendmail)
#   wait_mail KIND RCPT      the file of the first such mail not seen before (up to 20 s)
#   mail_text FILE           the mail's text part
PY=/usr/bin/python3   # Debian's python3, which has aiosmtpd

# smtp_start [try]: the SMTP server up on $SMTP_PORT; with "try", returns 1 instead of failing
# when it exits (its port taken meanwhile by another test's connection)
smtp_start() {
	PYTHONPATH="$INKAN_SRC/tests/integration" "$PY" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" \
		-c smtp_sink.Sink "$SINK" >>"$TMP/smtp.log" 2>&1 &
	SMTP_PID=$!
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null && return 0
		kill -0 "$SMTP_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill "$SMTP_PID" 2>/dev/null; wait "$SMTP_PID" 2>/dev/null; SMTP_PID=
	[ "${1:-}" = try ] && return 1
	ik_fail "the SMTP server did not come up: $(tail -n 5 "$TMP/smtp.log")"
}
smtp_stop() { kill "$SMTP_PID"; wait "$SMTP_PID" 2>/dev/null || true; SMTP_PID=; }

ik_mail_setup() {
	command -v msmtp >/dev/null || ik_fail "msmtp is not installed (firmware/debian-packages.txt)"
	"$PY" -c 'import aiosmtpd' 2>/dev/null || ik_fail "python3-aiosmtpd is not installed"
	SINK="$TMP/mail"
	SMTP_PID=
	trap 'rc=$?; [ -n "$SMTP_PID" ] && kill "$SMTP_PID" 2>/dev/null; set +e; (exit $rc); ik_cleanup' EXIT
	for _ in $(seq 1 5); do
		SMTP_PORT=$(ik_free_port)
		smtp_start try && break
	done
	[ -n "$SMTP_PID" ] || ik_fail "the SMTP server did not come up: $(tail -n 5 "$TMP/smtp.log")"
	cat > "$TMP/msmtprc" <<CONF
account default
host 127.0.0.1
port $SMTP_PORT
from inkan-ra@example.jp
auth off
tls off
CONF
	chmod 600 "$TMP/msmtprc"
	MAILCONF="
[mail]
from = inkan-ra@example.jp
sendmail = $(command -v msmtp) -C $TMP/msmtprc -t -i
retry_min = 1
retry_max = 2
timeout = 10"
	touch "$TMP/seen"
}

# (m=$(wait_mail ...) runs in a subshell: the mails already taken are listed in a file)
wait_mail() {
	local f
	for _ in $(seq 1 200); do
		for f in "$SINK"/*.eml; do
			[ -f "$f" ] || continue
			grep -qxF "$f" "$TMP/seen" && continue
			if grep -qE "^X-Inkan-Notice: $1"$'\r?$' "$f" && grep -qx "$2" "${f%.eml}.rcpt"; then
				echo "$f" >> "$TMP/seen"
				echo "$f"
				return 0
			fi
		done
		sleep 0.1
	done
	ik_fail "no '$1' mail to $2 arrived: $(ls "$SINK"; tail -n 5 "$TMP/rad.log")"
}
mail_text() { "$PY" "$INKAN_SRC/tests/integration/mail_show.py" "$1" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["text"])'; }

# The usual start of a test that mails: a signer, the mail sink, the three officers, the RA
# sending through the sink, and a session for each officer: ADM, OFF, AUD (J: the JSON
# content-type arguments for curl).
ik_mail_ra_start() {
	ik_setup ec-p256
	ik_start_signer
	ik_mail_setup
	ik_ra_officers
	ik_start_ra "$MAILCONF"
	J=(-H 'Content-Type: application/json')
	ADM=$(ik_login admin "$ADMIN_PW")
	OFF=$(ik_login olivia "$OFFICER_PW")
	AUD=$(ik_login carol "$AUDITOR_PW")
}
