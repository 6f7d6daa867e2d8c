# fake_signer.sh: a stand-in on the RA's signer socket ($TMP/signer.sock), sourced after lib.sh
# (and mail.sh, when used): stall_signer.py, a signer that stalls or trickles, or
# drop_signer.py, a proxy in front of the real signer that loses, garbles or refuses answers.
#   ik_fake_start SCRIPT ARGS...   SCRIPT (in tests/integration) up with ARGS, its socket there;
#                                  a stand-in already running is stopped first
#   ik_fake_stop                   it down and its socket gone
# Starting one sets the EXIT trap that stops it (and the SMTP server, if mail.sh started one).
FAKE_PID=

ik_fake_stop() {
	if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; fi
	FAKE_PID=
	rm -f "$TMP/signer.sock"
}

ik_fake_start() {
	local script=$1
	shift
	ik_fake_stop
	trap 'rc=$?; ik_fake_stop; [ -n "${SMTP_PID:-}" ] && kill "$SMTP_PID" 2>/dev/null; set +e; (exit $rc); ik_cleanup' EXIT
	python3 "$INKAN_SRC/tests/integration/$script" "$@" &
	FAKE_PID=$!
	for _ in $(seq 1 50); do [ -S "$TMP/signer.sock" ] && return 0; sleep 0.1; done
	ik_fail "$script did not come up"
}
