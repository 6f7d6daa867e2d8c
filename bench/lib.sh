# bench/lib.sh: what the bench scripts share (sourced by bench_ra.sh and bench_revoke.sh
# after tests/integration/lib.sh, which sets SIGNER_PID and RAD_PID).

# rss PID / hwm PID: resident memory now / its peak (VmHWM), MiB
rss() { awk '$1 == "VmRSS:" {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
hwm() { awk '$1 == "VmHWM:" {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# rss_peaks PID: while PID runs, samples the signer's and the RA's resident memory every
# 0.2 s; sets peak_s and peak_r to the largest sample of each (MiB).  awk, not python, for
# the comparison: a python start every sample cost a noticeable share of one core.
rss_peaks() {
	local s r
	peak_s=0; peak_r=0
	while kill -0 "$1" 2>/dev/null; do
		s=$(rss "$SIGNER_PID"); r=$(rss "$RAD_PID")
		read -r peak_s peak_r < <(awk -v a="$peak_s" -v b="$s" -v c="$peak_r" -v d="$r" \
			'BEGIN { print (b + 0 > a + 0 ? b : a), (d + 0 > c + 0 ? d : c) }')
		sleep 0.2
	done
}
