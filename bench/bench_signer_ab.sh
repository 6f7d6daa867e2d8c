#!/usr/bin/env bash
# bench_signer_ab: two two-core signers on one throw-away token, compared in interleaved rounds
# (bench_issue's A/B mode): A is another build's inkan-signerd (e.g. main's), B this tree's.
# Usage: INKAN_BUILD=<this tree's Release build> bench/bench_signer_ab.sh A_SIGNERD [N] [ROUNDS]
# Environment: B_SIGNERD another inkan-signerd as B (default: this tree's), A_WORKERS /
# SIGNER_WORKERS (B) workers each (2), IK_BENCH_WINDOW (128), AB_CPUS both signers kept to
# these CPUs (taskset -c; e.g. AB_CPUS=0 A_WORKERS=1 SIGNER_WORKERS=1: bench/run's one core).
# Prints bench_issue's rounds (rates, CPU per certificate, per-thread run/wait/sleep shares),
# both signers' VmHWM and the load average before and after.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
a_bin=${1:?usage: bench_signer_ab.sh A_SIGNERD [N] [ROUNDS]}
n=${2:-10000}
export IK_BENCH_ROUNDS=${3:-5} IK_BENCH_AB=1
export INKAN_BUILD=${INKAN_BUILD:-$src/build-bench} INKAN_SRC="$src"
. "$src/tests/integration/lib.sh"
ik_setup ec-p256
if [ -n "${B_SIGNERD:-}" ]; then # ik_start_signer runs the inkan-signerd found first in PATH
	mkdir "$TMP/b-bin"
	ln -s "$(readlink -f "$B_SIGNERD")" "$TMP/b-bin/inkan-signerd"
	PATH="$TMP/b-bin:$PATH"
fi
ik_start_signer
sed -e "s|^socket = .*|socket = $TMP/a.sock|" -e "s|^ledger = .*|ledger = $TMP/a.sqlite|" \
	-e "s|^workers = .*|workers = ${A_WORKERS:-2}|" "$TMP/signer.conf" >"$TMP/a.conf"
"$a_bin" -c "$TMP/a.conf" >>"$TMP/a.log" 2>&1 &
a_pid=$!
for _ in $(seq 1 100); do [ -S "$TMP/a.sock" ] && break; sleep 0.1; done
[ -S "$TMP/a.sock" ] || ik_fail "signer A did not come up: $(tail -n 5 "$TMP/a.log")"
if [ -n "${AB_CPUS:-}" ]; then # every thread of both (they are all started by now)
	taskset -a -p -c "$AB_CPUS" "$a_pid" >/dev/null
	taskset -a -p -c "$AB_CPUS" "$SIGNER_PID" >/dev/null
fi
load0=$(cut -d' ' -f1-3 /proc/loadavg)
"$INKAN_BUILD/bench/bench_issue" "$TMP/a.sock" "$TMP/signer.sock" inkan "$TMP/hsm/user.pin" \
	inkan-issuing-ca "$n" "$TMP/ca/issuing-ca.pem" | grep -E '^(AB round|   [AB] threads)'
echo "VmHWM: A $(awk '/VmHWM/ {print $2, $3}' /proc/$a_pid/status), B $(awk '/VmHWM/ {print $2, $3}' /proc/$SIGNER_PID/status)"
echo "load average before: $load0, after: $(cut -d' ' -f1-3 /proc/loadavg)"
kill -TERM "$a_pid"
wait "$a_pid" || true
ik_stop_signer
