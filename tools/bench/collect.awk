# Turns the "XIOVA-BENCH:" lines of a serial log into results.csv, one row
# per value: workload,allocator,rep,window,key,value. Lines may follow
# kernel output on the same line (printk interleaves with the guest
# script), so the marker is searched anywhere; CRs are dropped.
BEGIN {
	OFS = ","
	print "workload,allocator,rep,window,key,value"
}

{
	gsub(/\r/, "")
	at = index($0, "XIOVA-BENCH: ")
	if (!at)
		next
	n = split(substr($0, at + 13), w, " ")
	if (n < 2)
		next
	rep = ""
	win = ""
	for (i = 3; i <= n; i++) {
		if (w[i] ~ /^rep=/)
			rep = substr(w[i], 5)
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
