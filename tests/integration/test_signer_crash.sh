#!/usr/bin/env bash
# kill -9 of the signer between the steps of an issuance; after a restart the same request
# id yields the same certificate (same serial) and the ledger holds one row.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256

ledger_rows() {
	/usr/bin/python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(\"select count(*) from intents where request_id=?\",(sys.argv[2],)).fetchone()[0], c.execute(\"select count(*) from certs where request_id=?\",(sys.argv[2],)).fetchone()[0])" "$TMP/ledger.sqlite" "$1"
}
intent_serial() {
	/usr/bin/python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute('select hex(serial) from intents where request_id=?',(sys.argv[2],)).fetchone(); print((r[0][2:] if r[0].startswith('00') else r[0]) if r else '')" "$TMP/ledger.sqlite" "$1"
}

for point in crash-after-intent crash-after-sign crash-after-commit; do
	id="req-$point"
	ik_write_config "fault = $point"
	ik_start_signer
	if ik_issue "$id" "$id" 2>/dev/null; then ik_fail "$point: issue succeeded"; fi
	wait "$SIGNER_PID" 2>/dev/null || true
	kill -0 "$SIGNER_PID" 2>/dev/null && ik_fail "$point: signer still alive"
	SIGNER_PID=
	before=$(intent_serial "$id")
	[ -n "$before" ] || ik_fail "$point: no intent recorded before the crash"

	ik_write_config
	ik_start_signer
	out=$(ik_issue "$id" "$id" 2>&1 >/dev/null) || ik_fail "$point: retry failed: $out"
	case "$out" in *replayed*) ;; *) ik_fail "$point: retry not replayed: $out" ;; esac
	after=$(ik_serial "$TMP/$id.pem")
	[ "$after" = "$before" ] || ik_fail "$point: serial changed ($before -> $after)"
	rows=$(ledger_rows "$id")
	[ "$rows" = "1 1" ] || ik_fail "$point: ledger rows (intents certs) = $rows"
	openssl verify -CAfile "$TMP/ca/root-ca.pem" -untrusted "$TMP/ca/issuing-ca.pem" "$TMP/$id.pem" >/dev/null \
		|| ik_fail "$point: certificate does not verify"
	# a second retry: still the same certificate
	cp "$TMP/$id.pem" "$TMP/$id.1.pem"
	ik_issue "$id" "$id" 2>/dev/null
	cmp -s "$TMP/$id.pem" "$TMP/$id.1.pem" || ik_fail "$point: second retry differs"
	ik_stop_signer
	ik_ok "$point: kill -9, restart, resend -> same serial $after, one ledger row"
done
