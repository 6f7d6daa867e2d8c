#!/usr/bin/env bash
# --check-config on both daemons: the config is loaded and validated exactly as at start-up;
# a bad one fails (exit 1) with "file:line: [section] key: reason" and nothing else is
# touched (no store, ledger, socket or token); a good one says OK (exit 0).  The command
# lines the systemd units run as ExecStartPre are run here too.
. "$(dirname "$0")/lib.sh"
ik_setup ec-p256
ik_ra_config 18443 "http_port = 18080"

# expect_bad DAEMON FILE WANT: --check-config FILE fails with exactly WANT on stderr
expect_bad() {
	local d=$1 f=$2 want=$3 out rc=0
	out=$("$d" --check-config "$f" 2>"$TMP/err") || rc=$?
	[ "$rc" = 1 ] || ik_fail "$d accepted $f (exit $rc): want '$want'"
	[ -z "$out" ] || ik_fail "$d printed on stdout for a bad config: $out"
	[ "$(cat "$TMP/err")" = "$d: $want" ] || ik_fail "$d: got '$(cat "$TMP/err")', want '$d: $want'"
}
untouched() {
	for f in "$TMP/ra.sqlite" "$TMP/ledger.sqlite" "$TMP/signer.sock"; do
		[ ! -e "$f" ] || ik_fail "--check-config created $f"
	done
}

# ---- inkan-rad ----
out=$(inkan-rad --check-config "$TMP/ra.conf") || ik_fail "good ra.conf refused"
[ "$out" = "$TMP/ra.conf: OK" ] || ik_fail "good ra.conf: '$out'"
out=$(inkan-rad -c "$TMP/ra.conf" --check-config) || ik_fail "good ra.conf (-c) refused"
[ "$out" = "$TMP/ra.conf: OK" ] || ik_fail "good ra.conf (-c): '$out'"
untouched
ik_ok "inkan-rad --check-config: a good config is OK (exit 0), no store opened"

B="$TMP/bad.conf"
sed 's/^port = /portt = /' "$TMP/ra.conf" > "$B"
expect_bad inkan-rad "$B" "$B:3: [ra] portt: unknown key"
sed 's/^port = .*/port = 70000/' "$TMP/ra.conf" > "$B"
expect_bad inkan-rad "$B" "$B:3: [ra] port: expected a number in 1..65535"
sed 's/^tls = on/tls = maybe/' "$TMP/ra.conf" > "$B"
expect_bad inkan-rad "$B" "$B:4: [ra] tls: expected on or off"
sed 's/^listen = .*/listen = localhost/' "$TMP/ra.conf" > "$B"
expect_bad inkan-rad "$B" "$B:2: [ra] listen: expected an IPv4 or IPv6 address literal"
sed 's/^\[ra\]/[rra]/' "$TMP/ra.conf" > "$B"
expect_bad inkan-rad "$B" "$B:2: [rra] listen: unknown section"
{ cat "$TMP/ra.conf"; printf '[mail]\nfrom = not-an-address\n'; } > "$B"
n=$(wc -l < "$B")
expect_bad inkan-rad "$B" "$B:$n: [mail] from: expected a plain address local@domain of at most 64 characters (it is also the signing certificate's CN)"
{ cat "$TMP/ra.conf"; printf '[mail]\ntimeoutt = 5\n'; } > "$B"
expect_bad inkan-rad "$B" "$B:$n: [mail] timeoutt: unknown key"
sed 's/^\[ra\]/[ra/' "$TMP/ra.conf" > "$B"
expect_bad inkan-rad "$B" "$B:1: syntax error"
# a syntax error before a bad key is reported as what it is, on its own line
sed 's/^port = /port /; s/^tls = on/tlss = on/' "$TMP/ra.conf" > "$B"
expect_bad inkan-rad "$B" "$B:3: syntax error"
sed 's/^http_port = .*/http_port = 18443/' "$TMP/ra.conf" > "$B"
expect_bad inkan-rad "$B" "$B: [ra] http_port must differ from port"
grep -v '^database' "$TMP/ra.conf" > "$B"
expect_bad inkan-rad "$B" "$B: [ra] database is required"
sed "s#^tls_key = .*#tls_key = $TMP/nowhere.key#" "$TMP/ra.conf" > "$B"
expect_bad inkan-rad "$B" "$B: [ra] cannot read $TMP/nowhere.key"
expect_bad inkan-rad "$TMP/missing.conf" "$TMP/missing.conf: cannot read the file"
untouched
ik_ok "inkan-rad --check-config: unknown key, bad value, bad section, syntax, cross-key rules, missing file: exit 1 with file:line: [section] key"

# a check is only a check: not with a subcommand, not with two files
inkan-rad --check-config "$TMP/ra.conf" "$TMP/ra.conf" >/dev/null 2>&1 && ik_fail "two files accepted"
inkan-rad add-officer --check-config -c "$TMP/ra.conf" --login x --role auditor </dev/null >/dev/null 2>&1 \
	&& ik_fail "--check-config with add-officer accepted"
untouched
ik_ok "inkan-rad --check-config takes one file and no subcommand (usage, exit 2)"

# ---- inkan-signerd ----
out=$(inkan-signerd --check-config "$TMP/signer.conf") || ik_fail "good signer.conf refused"
[ "$out" = "$TMP/signer.conf: OK (2 profiles)" ] || ik_fail "good signer.conf: '$out'"
untouched
sed 's/^workers = 2/workerz = 2/' "$TMP/signer.conf" > "$B"
expect_bad inkan-signerd "$B" "$B:6: [signer] workerz: unknown key"
sed 's/^crl_lifetime = .*/crl_lifetime = soon/' "$TMP/signer.conf" > "$B"
expect_bad inkan-signerd "$B" "$B:7: [signer] crl_lifetime: expected a number in 60..7776000"
sed 's/^\[hsm\]/[hsn]/' "$TMP/signer.conf" > "$B"
expect_bad inkan-signerd "$B" "$B:11: [hsn] token: unknown section"
sed 's/^ledger = /ledger /; s/^workers = 2/workerz = 2/' "$TMP/signer.conf" > "$B"
expect_bad inkan-signerd "$B" "$B:5: syntax error"
expect_bad inkan-signerd "$TMP/missing.conf" "$TMP/missing.conf: cannot read the file"
untouched
ik_ok "inkan-signerd --check-config FILE: unknown key, bad value, bad section, missing file refused with file:line: [section] key"

# ---- the units' ExecStartPre, as written, against a bad and a good file ----
for u in inkan-signerd inkan-rad; do
	conf=$([ "$u" = inkan-rad ] && echo ra.conf || echo signer.conf)
	pre=$(sed -n 's/^ExecStartPre=//p' "$INKAN_SRC/firmware/systemd/$u.service")
	[ -n "$pre" ] || ik_fail "$u.service has no ExecStartPre"
	case "$pre" in "/usr/sbin/$u "*"--check-config"*"/etc/inkan/$conf"*) ;;
	*"/etc/inkan/$conf"*"--check-config"*) ;;
	*) ik_fail "$u.service ExecStartPre does not check /etc/inkan/$conf: $pre" ;; esac
	dir=$([ "$u" = inkan-rad ] && echo ra || echo signer)
	cmd=${pre//\/usr\/sbin\//$INKAN_BUILD/$dir/}
	$cmd >/dev/null 2>&1 && ik_fail "$u: ExecStartPre accepted a missing /etc/inkan/$conf" || true
	sed 's/^\[/[x/' "$TMP/$conf" > "$B"
	# shellcheck disable=SC2086
	${cmd//\/etc\/inkan\/$conf/$B} 2>"$TMP/err" && ik_fail "$u: ExecStartPre accepted a bad file"
	grep -qF "$B:" "$TMP/err" || ik_fail "$u: ExecStartPre message: $(cat "$TMP/err")"
	${cmd//\/etc\/inkan\/$conf/$TMP/$conf} >/dev/null || ik_fail "$u: ExecStartPre refused a good file"
done
untouched
ik_ok "the units' ExecStartPre lines run --check-config on /etc/inkan (bad file stops them, good passes)"
