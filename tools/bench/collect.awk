# Turns the "XIOVA-BENCH:" lines of a serial log into results.csv, one row
# per value: workload,allocator,rep,window,key,value. Lines may follow
# kernel output on the same line (printk interleaves with the guest
# script), so the marker is searched anywhere; CRs are dropped.
#
# For the logs of further boots, appended to the first one's rows:
#   -v ONLY=RE       only workloads matching RE
#   -v REP_BASE=N    added to every repetition number
#   -v HEADER=0      no header line
BEGIN {
	OFS = ","
	if (HEADER != "0")
		print "workload,allocator,rep,window,key,value"
	REP_BASE += 0
}

{
	gsub(/\r/, "")
	at = index($0, "XIOVA-BENCH: ")
	if (!at)
		next
	n = split(substr($0, at + 13), w, " ")
	if (n < 2 || (ONLY != "" && w[1] !~ ONLY))
		next
	rep = ""
	win = ""
	for (i = 3; i <= n; i++) {
		if (w[i] ~ /^rep=/)
			rep = substr(w[i], 5) + REP_BASE
		else if (w[i] ~ /^window=/)
			win = substr(w[i], 8)
	}
	for (i = 3; i <= n; i++) {
		eq = index(w[i], "=")
		if (!eq)
			continue
		k = substr(w[i], 1, eq - 1)
		if (k == "rep" || k == "window")
			continue
		print w[1], w[2], rep, win, k, substr(w[i], eq + 1)
	}
}
