#!/usr/bin/env bash
# bench_ra_singles: the singles row of bench_ra.sh on its own, with the daemons' CPU time per
# certificate (utime + stime from /proc, less noisy than rates on a shared machine) and,
# optionally, a profile of inkan-rad during the timed part.
#   bench/bench_ra_singles.sh [N] [THREADS]     (after building build-bench/)
#   PROFILE=perf   perf record --call-graph dwarf of inkan-rad -> $OUT/perf.data (PERF_F=Hz, 499)
#   PROFILE=strace strace -c -f of inkan-rad (syscall counts: fdatasync per request)
#   PROFILE=files  strace of its openat/unlink/access (temporary files) -> $OUT/files.txt
#   OUT=dir        where the profile goes (default /tmp); RA_EXTRA="key = value" for ra.conf
#   KEEP_LOG=file  a copy of inkan-rad's log
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-1000}
threads=${2:-8}
out=${OUT:-/tmp}
export INKAN_BUILD=${INKAN_BUILD:-$src/build-bench} INKAN_SRC=$src
. "$src/tests/integration/lib.sh"
[ -z "${KEEP_LOG:-}" ] || trap 'ik_stop_ra; cp "$TMP/rad.log" "$KEEP_LOG"; ik_cleanup' EXIT
B=$INKAN_BUILD/bench
load() { cut -d' ' -f1-3 /proc/loadavg; }

ik_setup ec-p256
ik_write_config
ik_ra_officers
ik_start_signer
ik_start_ra "${RA_EXTRA:-}"
lim=$("$B/bench_ra_hsm" limit inkan "$TMP/hsm/user.pin" inkan-issuing-ca 2000 2 | cut -d" " -f1)
case ${PROFILE:-} in
perf) export INKAN_BENCH_HOOK="perf record -q --call-graph dwarf,16384 -F ${PERF_F:-499} -p $RAD_PID -o $out/perf.data 2>/dev/null" ;;
strace) export INKAN_BENCH_HOOK="strace -c -f -w -p $RAD_PID -o $out/strace.txt" ;;
files) export INKAN_BENCH_HOOK="strace -f -e trace=openat,unlink,access -p $RAD_PID -o $out/files.txt" ;;
esac
export INKAN_BENCH_PIDS="rad:$RAD_PID signer:$SIGNER_PID"
read -r t_all t_posted < <(printf '%s\n' "$OFFICER_PW" |
	python3 "$src/bench/bench_ra_client.py" singles "$BASE" "$TMP/tls.pem" "$n" "$threads")
python3 - "$n" "$t_all" "$t_posted" "$lim" <<'PY'
import sys
n, t_all, t_posted, lim = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print(f"singles {n}: {n / t_all:.0f}/s to all active ({n / t_all / lim:.3f} of the HSM limit "
      f"{lim:.0f}/s), POSTs alone {n / t_posted:.0f}/s")
PY
echo "load $(load)"
