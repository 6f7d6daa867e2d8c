# fake_signer.sh: a stand-in on the RA's signer socket ($TMP/signer.sock), sourced after lib.sh
# (and mail.sh, when used): stall_signer.py, a signer that stalls or trickles, or
# drop_signer.py, a proxy in front of the real signer that loses, garbles or refuses answers.
#   ik_fake_start SCRIPT ARGS...   SCRIPT (in tests/integration) up with ARGS, its socket there;
#                                  a stand-in already running is stopped first
#   ik_fake_stop                   it down and its socket gone
#   ik_fake_wait_error WHO CSRF REQ TEXT
#                                  polls request REQ as officer WHO (0.1 s apart, 15 s at
#                                  most) until its last error holds TEXT; fails unless it is
#                                  then pending with that error (the body stays in $TMP/body)
#   ik_fake_to_real WHO CSRF REQ   the stand-in down, the real signer up, and request REQ
#                                  done through it (40 s at most)
#   ik_elapsed T0 T1 / ik_elapsed_in T0 T1 MIN MAX
#                                  seconds between two `date +%s.%N`; within [MIN, MAX]?
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

ik_fake_wait_error() {
	local who=$1 csrf=$2 req=$3 text=$4
	for _ in $(seq 1 150); do
		ik_api "$who" "$csrf" GET "/api/v1/requests/$req" >/dev/null
		case "$(ik_json 'd.get("last_error") or ""')" in *"$text"*) break ;; esac
		sleep 0.1
	done
	[ "$(ik_json 'd["state"]')" = pending ] || ik_fail "request $req not pending: $(cat "$TMP/body")"
	case "$(ik_json 'd.get("last_error") or ""')" in
	*"$text"*) ;;
	*) ik_fail "request $req: not '$text' as the last error: $(cat "$TMP/body")" ;;
	esac
}

# ik_fake_issue_gives_up WHO CSRF DEVICE CN TEXT LO HI: a CSR issue for DEVICE is accepted
# (202), then left pending with TEXT in its last error after LO to HI seconds; the request's
# id in IK_FAKE_REQ, the seconds it took in IK_FAKE_SECS
ik_fake_issue_gives_up() {
	local who=$1 csrf=$2 dev=$3 cn=$4 text=$5 t0 t1 s
	t0=$(date +%s.%N)
	s=$(ik_api "$who" "$csrf" POST "/api/v1/devices/$dev/certificates" "$(ik_csr_json "$cn")")
	ik_expect 202 - "$s" "issue for device $dev while the signer misbehaves"
	IK_FAKE_REQ=$(ik_json 'd["request_id"]')
	ik_fake_wait_error "$who" "$csrf" "$IK_FAKE_REQ" "$text"
	t1=$(date +%s.%N)
	IK_FAKE_SECS=$(ik_elapsed "$t0" "$t1")
	ik_elapsed_in "$t0" "$t1" "$6" "$7" ||
		ik_fail "the issue took $IK_FAKE_SECS s to give up with '$text' (want $6 to $7 s)"
}

ik_fake_to_real() {
	ik_fake_stop
	ik_start_signer
	for _ in $(seq 1 400); do
		ik_api "$1" "$2" GET "/api/v1/requests/$3" >/dev/null
		[ "$(ik_json 'd["state"]')" = done ] && return 0
		sleep 0.1
	done
	ik_fail "request $3 not done once the signer is back: $(cat "$TMP/body")"
}

ik_elapsed() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2])-float(sys.argv[1])))" "$1" "$2"; }
ik_elapsed_in() {
	python3 -c "import sys; e=float(sys.argv[2])-float(sys.argv[1]); sys.exit(0 if float(sys.argv[3]) <= e <= float(sys.argv[4]) else 1)" "$@"
}
