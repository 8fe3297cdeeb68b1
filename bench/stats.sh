# Summaries of repeated samples for the shell benches (sourced): one number a line on stdin.
# `median` prints the median alone (for arithmetic); `spread` prints
# `median M (p10 A, p90 B, min C, max D; n=N)`, the form every figure is reported in.
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
spread() {
  sort -n | awk -v unit="${1:-}" '
    { a[NR] = $1 }
    function at(q) { i = int((NR - 1) * q + 0.5) + 1; return a[i] }
    END {
      if (NR == 0) { print "no samples"; exit }
      m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
      printf "median %g%s (p10 %g, p90 %g, min %g, max %g; n=%d)\n", m, unit, at(0.1), at(0.9), a[1], a[NR], NR
    }'
}
