# Summarises results.csv (collect.awk) for tools/bench/run.sh.
#
# Variables: OUT, the directory to write to; META, one line describing the
# run, for results.inc. Writes OUT/summary.txt (the terminal table),
# summary.csv, results.inc (reStructuredText that
# Documentation/benchmarks.rst includes; not .rst, or Sphinx would take it
# for a page of its own), ratios.dat, w1.dat, w3.dat and w7.dat (gnuplot
# input).
#
# Every metric is a list of values per allocator: one per repetition, or
# one per window for W3. A metric shows the median and the range of each
# list, and the median and range of the ratios ours/stock taken pair by
# pair (same repetition or window, which ran back to back in the same
# boot). A metric may take stock's values from another workload: W7's
# DMA-SQ row (ours only) compares with stock's DMA-FQ run of the same
# repetition. Portable awk: mawk has no asort().

function def(id, label, wl, key, unit, better, goal_kind, goal, stock_wl) {
	nm++
	M_ID[nm] = id
	M_LABEL[nm] = label
	M_WL[nm] = wl
	M_SWL[nm] = stock_wl == "" ? wl : stock_wl
	M_KEY[nm] = key
	M_UNIT[nm] = unit
	M_BETTER[nm] = better
	M_GKIND[nm] = goal_kind
	M_GOAL[nm] = goal
}

function add_index(wl, al, idx) {
	if ((wl, al, idx) in SEEN)
		return
	SEEN[wl, al, idx] = 1
	NIDX[wl, al]++
	IDX[wl, al, NIDX[wl, al]] = idx
}

function has(wl, al, idx, key) {
	return (wl, al, idx, key) in R
}

function get(wl, al, idx, key) {
	return (wl, al, idx, key) in R ? R[wl, al, idx, key] + 0 : 0
}

# The cache of the kernel's magazines the guest found (runs before it
# recorded one were on 6.1: kmalloc-1k).
function stock_mags() {
	return ("env", "any", 0, "stock_mags") in R ? R["env", "any", 0, "stock_mags"] : "kmalloc_1k"
}

# Bytes the domain's caches held at idle per /proc/slabinfo (after a shrink):
# idle minus after the domain was destroyed, objects times object size.
function slab_bytes(al, idx,    caches, n, i, c, idle, after, sum) {
	if (al == "ours")
		n = split("xiova_magazine xiova_node", caches, " ")
	else
		n = split(stock_mags() " iommu_iova", caches, " ")
	sum = 0
	for (i = 1; i <= n; i++) {
		c = caches[i]
		idle = get("mem", al, idx, "slab_idle_" c "_objs")
		after = get("mem", al, idx, "slab_after_" c "_objs")
		sum += (idle - after) * get("mem", al, idx, "slab_idle_" c "_size")
	}
	return sum
}

# The workload whose runs give metric m's values for allocator al.
function mwl(m, al) {
	return al == "stock" ? M_SWL[m] : M_WL[m]
}

# The value of metric m for one repetition or window; "" if missing.
function value(m, al, idx,    key, wl, parts, n, i, sum, cnt) {
	key = M_KEY[m]
	wl = mwl(m, al)
	if (key ~ /^@mean:/) {
		sum = 0
		cnt = 0
		for (i = 0; i < 6; i++)
			if (has(wl, al, idx, substr(key, 7) i)) {
				sum += get(wl, al, idx, substr(key, 7) i)
				cnt++
			}
		return cnt ? sum / cnt : ""
	}
	if (key ~ /^@sum:/) {
		n = split(substr(key, 6), parts, ":")
		sum = 0
		for (i = 1; i <= n; i++) {
			if (!has(wl, al, idx, parts[i]))
				return ""
			sum += get(wl, al, idx, parts[i])
		}
		return sum
	}
	if (key ~ /^@div:/) {
		split(substr(key, 6), parts, ":")
		if (!has(wl, al, idx, parts[1]) || !get(wl, al, idx, parts[2]))
			return ""
		return get(wl, al, idx, parts[1]) / get(wl, al, idx, parts[2])
	}
	if (key == "@slab")
		return has(wl, al, idx, "wait_ms") ? slab_bytes(al, idx) : ""
	return has(wl, al, idx, key) ? get(wl, al, idx, key) : ""
}

# Fills V[1..n] (and VI[], their indices) for metric m; returns n.
function values(m, al,    wl, i, v, n, key, first, last) {
	wl = mwl(m, al)
	n = 0
	if (M_KEY[m] ~ /^@lastfirst:/) {
		key = substr(M_KEY[m], 12)
		if (NIDX[wl, al] < 2)
			return 0
		first = get(wl, al, IDX[wl, al, 1], key)
		last = get(wl, al, IDX[wl, al, NIDX[wl, al]], key)
		if (!first)
			return 0
		V[1] = last / first
		VI[1] = "all"
		return 1
	}
	for (i = 1; i <= NIDX[wl, al]; i++) {
		v = value(m, al, IDX[wl, al, i])
		if (v == "")
			continue
		n++
		V[n] = v
		VI[n] = IDX[wl, al, i]
	}
	return n
}

function sort_n(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
}

# Quantile q of the sorted a[1..n], linearly interpolated.
function quant(a, n, q,    pos, lo) {
	if (!n)
		return ""
	pos = 1 + (n - 1) * q
	lo = int(pos)
	return lo >= n ? a[n] : a[lo] + (pos - lo) * (a[lo + 1] - a[lo])
}

# Sets S_N, S_MED, S_MIN, S_MAX, S_Q1, S_Q3 from a[1..n].
function stats(a, n,    s, i) {
	for (i = 1; i <= n; i++)
		s[i] = a[i]
	sort_n(s, n)
	S_N = n
	S_MED = quant(s, n, 0.5)
	S_MIN = n ? s[1] : ""
	S_MAX = n ? s[n] : ""
	S_Q1 = quant(s, n, 0.25)
	S_Q3 = quant(s, n, 0.75)
}

function fmt(v,    a) {
	if (v == "")
		return "-"
	a = v < 0 ? -v : v
	if (a >= 1e6)
		return sprintf("%.2fM", v / 1e6)
	if (a >= 1e4)
		return sprintf("%.1fk", v / 1e3)
	if (a >= 100)
		return sprintf("%.0f", v)
	if (a && a < 0.1)
		return sprintf("%.2g", v)
	return sprintf("%.2f", v)
}

function cell(n, med, lo, hi) {
	if (!n)
		return "-"
	if (n == 1)
		return fmt(med)
	return fmt(med) " [" fmt(lo) ", " fmt(hi) "]"
}

function goal_text(m) {
	if (M_GKIND[m] == "")
		return ""
	if (M_GKIND[m] == "ratio<=")
		return "ratio <= " M_GOAL[m]
	if (M_GKIND[m] == "ratio>=")
		return "ratio >= " M_GOAL[m]
	if (M_GKIND[m] == "ours<=")
		return "ours <= " M_GOAL[m]
	return "ours >= " M_GOAL[m]
}

function meets(v, m) {
	if (M_GKIND[m] == "ratio<=" || M_GKIND[m] == "ours<=")
		return v <= M_GOAL[m]
	return v >= M_GOAL[m]
}

# "yes" when the median and every value meet the goal, "median" when only
# the median does, "no" otherwise.
function verdict(m, med, lo, hi) {
	if (M_GKIND[m] == "" || med == "")
		return ""
	if (!meets(med, m))
		return "no"
	return meets(lo, m) && meets(hi, m) ? "yes" : "median"
}

function csvq(s) {
	gsub(/"/, "\"\"", s)
	return "\"" s "\""
}

BEGIN {
	FS = ","
}

NR == 1 {
	next
}

{
	wl = $1
	al = $2
	idx = wl == "w3" ? $4 : $3
	R[wl, al, idx, $5] = $6
	add_index(wl, al, idx)
}

# dma_defs MODE LABEL: the four DMA operations of a W7 or W8 mode, ns per
# call; W7's DMA-SQ mode (ours only) is set against stock's DMA-FQ run,
# with no goal.
function dma_defs(mode, label,    ops, olabel, okey, j, sq) {
	split("pm pu gm gu", ops, " ")
	olabel["pm"] = "map 1 page"
	olabel["pu"] = "unmap 1 page"
	olabel["gm"] = "map 4-page sg"
	olabel["gu"] = "unmap 4-page sg"
	okey["pm"] = "page_map_ns"
	okey["pu"] = "page_unmap_ns"
	okey["gm"] = "sg_map_ns"
	okey["gu"] = "sg_unmap_ns"
	sq = mode == "w7q"
	for (j = 1; j <= 4; j++)
		def(mode "-" ops[j], label olabel[ops[j]], mode, okey[ops[j]],
		    "ns", "lower", sq ? "" : "ratio<=", sq ? 0 : 1, sq ? "w7l" : "")
}

# W7: the shim against the kernel's dma-iommu, strict and lazy, and the
# shim's DMA-SQ.
function w7_defs() {
	dma_defs("w7s", "W7 real DMA, strict: ")
	dma_defs("w7l", "W7 real DMA, lazy: ")
	dma_defs("w7q", "W7 ours DMA-SQ / stock FQ: ")
}

# W8: W7's four operations through the kernel's dma-iommu, with the live
# patch enabled (ours) and disabled (stock), in one boot. Only when the run
# had W8 (runs before it did not).
function w8_defs() {
	if (!(("w8s", "ours") in NIDX))
		return
	dma_defs("w8s", "W8 live patch, strict: ")
	dma_defs("w8l", "W8 live patch, lazy: ")
}

# w7.dat, for the plot: one row per operation, then the median, min and
# max of each configuration (workload:allocator, in the order of conf).
function w7_dat(    f, conf, n, ops, keys, i, j, k, wl, al, line, cnt, idx, vals) {
	f = OUT "/w7.dat"
	n = split("w7s:stock w7s:ours w7l:stock w7l:ours w7q:ours", conf, " ")
	split("map_page unmap_page map_sg unmap_sg", ops, " ")
	split("page_map_ns page_unmap_ns sg_map_ns sg_unmap_ns", keys, " ")
	printf "# op" > f
	for (j = 1; j <= n; j++)
		printf " %s_median %s_min %s_max", conf[j], conf[j], conf[j] > f
	print "" > f
	for (i = 1; i <= 4; i++) {
		line = ops[i]
		for (j = 1; j <= n; j++) {
			split(conf[j], k, ":")
			wl = k[1]
			al = k[2]
			cnt = 0
			for (idx = 1; idx <= NIDX[wl, al]; idx++)
				if (has(wl, al, IDX[wl, al, idx], keys[i]))
					vals[++cnt] = get(wl, al, IDX[wl, al, idx], keys[i])
			stats(vals, cnt)
			line = line " " (cnt ? S_MED " " S_MIN " " S_MAX : "NaN NaN NaN")
		}
		print line > f
	}
}

# Ours' counters are cumulative: the share of fast allocations that
# missed the magazines in each W3 window is a difference between windows.
function w3_miss_rates(    i, idx, h, m, ph, pm) {
	ph = 0
	pm = 0
	for (i = 1; i <= NIDX["w3", "ours"]; i++) {
		idx = IDX["w3", "ours", i]
		if (!has("w3", "ours", idx, "misses"))
			return
		h = get("w3", "ours", idx, "hits")
		m = get("w3", "ours", idx, "misses")
		if (h + m > ph + pm)
			R["w3", "ours", idx, "miss_rate"] = (m - pm) / (h + m - ph - pm)
		ph = h
		pm = m
	}
}

END {
	w3_miss_rates()
	def("w1", "W1 fast path: alloc+free pair", "w1", "ns_pair", "ns",
	    "lower", "ratio<=", 0.9)
	def("w1c", "W1 control: irqs off+on, one load, one store", "w1",
	    "ns_floor", "ns", "lower", "", 0)
	def("w1r", "W1 pair / control (same run)", "w1",
	    "@div:ns_pair:ns_floor", "x", "lower", "ours<=", 1.5)
	def("w1a", "W1 fast path: alloc alone", "w1", "@mean:ns_alloc_c",
	    "ns", "lower", "", 0)
	def("w1f", "W1 fast path: free alone", "w1", "@mean:ns_free_c", "ns",
	    "lower", "", 0)
	def("w2", "W2 flush-queue bursts", "w2", "ops_per_sec", "allocs/s",
	    "higher", "ratio>=", 2)
	def("w3", "W3 aging: throughput per window", "w3", "ops_per_sec",
	    "allocs/s", "higher", "ratio>=", 2)
	def("w3lf", "W3 aging: last window / first", "w3",
	    "@lastfirst:ops_per_sec", "x", "higher", "ours>=", 0.95)
	def("w3n", "W3 aging: tree nodes per window", "w3", "tree_nodes",
	    "nodes", "lower", "", 0)
	def("w3m", "W3 aging: magazine bytes per window", "w3", "mag_bytes",
	    "bytes", "lower", "", 0)
	def("w3x", "W3 aging: fast allocs that missed (ours)", "w3",
	    "miss_rate", "share", "lower", "", 0)
	def("w4", "W4 uncached sizes, fragmented tree", "w4", "ns_pair", "ns",
	    "lower", "ratio<=", 0.1)
	def("w4a", "W4a aligned sizes, misaligned tree", "w4a", "ns_pair",
	    "ns", "lower", "ratio<=", 0.5)
	def("w5f", "W5 32-bit full: fast fail", "w5", "fail_ns", "ns",
	    "lower", "", 0)
	def("w5b", "W5 32-bit full: fail + 64-bit alloc + free", "w5",
	    "fallback_ns", "ns", "lower", "", 0)
	def("w5w", "W5 32-bit full: fail after a free (walk)", "w5",
	    "walk_fail_ns", "ns", "lower", "", 0)
	def("w6n", "W6 control: empty loop, two vCPUs / one", "w6",
	    "w0_scaling", "x", "higher", "", 0)
	def("w6a", "W6 scaling of W1, two vCPUs / one", "w6", "w1_scaling",
	    "x", "higher", "ours>=", 1.8)
	def("w6b", "W6 scaling of W2, two vCPUs / one", "w6", "w2_scaling",
	    "x", "higher", "ours>=", 1.8)
	def("w6ra", "W6 scaling of W1 / scaling of the control", "w6",
	    "@div:w1_scaling:w0_scaling", "x", "higher", "", 0)
	def("w6rb", "W6 scaling of W2 / scaling of the control", "w6",
	    "@div:w2_scaling:w0_scaling", "x", "higher", "", 0)
	def("mem", "Idle after trim: magazines + tree", "mem",
	    "@sum:idle_mag_bytes:idle_tree_bytes", "bytes", "lower",
	    "ratio<=", 1)
	def("memm", "Idle after trim: magazines", "mem", "idle_mag_bytes",
	    "bytes", "lower", "", 0)
	def("memn", "Idle after trim: tree nodes", "mem", "idle_tree_nodes",
	    "nodes", "lower", "", 0)
	def("mems", "Idle after trim: slab delta (check)", "mem", "@slab",
	    "bytes", "lower", "", 0)
	def("memb", "Right after the bursts: mags + tree", "mem",
	    "@sum:busy_mag_bytes:busy_tree_bytes", "bytes", "lower", "", 0)
	w7_defs()
	w8_defs()

	txt = OUT "/summary.txt"
	csv = OUT "/summary.csv"
	rst = OUT "/results.inc"
	rat = OUT "/ratios.dat"
	hdr = "%-44s %-8s %-28s %-28s %-22s %-14s %s\n"
	printf hdr, "metric", "unit", "ours median [min, max]",
	       "stock median [min, max]", "ours/stock [min, max]", "goal",
	       "met" > txt
	print "id,label,unit,better,n_ours,ours_median,ours_min,ours_max,ours_q1,ours_q3,n_stock,stock_median,stock_min,stock_max,stock_q1,stock_q3,n_ratio,ratio_median,ratio_min,ratio_max,goal,met" > csv
	print "# id ratio_median ratio_min ratio_max goal better" > rat
	# Before the first row: summary.csv is comma-separated.
	OFS = ","

	print ".. SPDX-License-Identifier: GPL-2.0-only" > rst
	print "" > rst
	print ".. Generated by tools/bench/run.sh; do not edit." > rst
	print "" > rst
	print META > rst
	print "" > rst
	print ".. csv-table:: Medians and [min, max] over the repetitions (W3: over the windows)" > rst
	print "   :header: \"Metric\", \"Unit\", \"ours\", \"stock\", \"ours/stock\", \"Goal\", \"Met\"" > rst
	print "   :widths: 34, 7, 19, 19, 15, 11, 6" > rst
	print "" > rst

	for (m = 1; m <= nm; m++) {
		no = values(m, "ours")
		for (i = 1; i <= no; i++) {
			VO[i] = V[i]
			VOI[i] = VI[i]
		}
		ns = values(m, "stock")
		for (i = 1; i <= ns; i++) {
			VS[VI[i]] = V[i]
			VSI[i] = V[i]
		}
		nr = 0
		for (i = 1; i <= no; i++)
			if ((VOI[i] in VS) && VS[VOI[i]] != 0)
				RT[++nr] = VO[i] / VS[VOI[i]]
		stats(VO, no)
		o_n = S_N; o_med = S_MED; o_min = S_MIN; o_max = S_MAX
		o_q1 = S_Q1; o_q3 = S_Q3
		stats(VSI, ns)
		s_n = S_N; s_med = S_MED; s_min = S_MIN; s_max = S_MAX
		s_q1 = S_Q1; s_q3 = S_Q3
		stats(RT, nr)
		r_n = S_N; r_med = S_MED; r_min = S_MIN; r_max = S_MAX
		if (M_GKIND[m] ~ /^ours/)
			met = verdict(m, o_med, o_min, o_max)
		else
			met = verdict(m, r_med, r_min, r_max)
		split("", VS)
		split("", VSI)

		ratio = r_n ? cell(r_n, r_med, r_min, r_max) : "-"
		printf hdr, M_LABEL[m], M_UNIT[m], cell(o_n, o_med, o_min, o_max),
		       cell(s_n, s_med, s_min, s_max), ratio, goal_text(m),
		       met > txt
		print M_ID[m], csvq(M_LABEL[m]), M_UNIT[m], M_BETTER[m], o_n,
		      o_med, o_min, o_max, o_q1, o_q3, s_n, s_med, s_min, s_max,
		      s_q1, s_q3, r_n, r_med, r_min, r_max,
		      csvq(goal_text(m)), met > csv
		print "   " csvq(M_LABEL[m]) ", " csvq(M_UNIT[m]) ", " \
		      csvq(cell(o_n, o_med, o_min, o_max)) ", " \
		      csvq(cell(s_n, s_med, s_min, s_max)) ", " csvq(ratio) \
		      ", " csvq(goal_text(m)) ", " csvq(met) > rst
		if (r_n && M_ID[m] !~ /^(w3n|w3m|w3x|mems|memm|memn|memb|w1a|w1f|w1c|w1r|w6n|w6ra|w6rb|w7q-..)$/)
			printf "%s %g %g %g %s %s\n", M_ID[m], r_med, r_min,
			       r_max, M_GKIND[m] ~ /^ratio/ ? M_GOAL[m] : "NaN",
			       M_BETTER[m] > rat
	}
	w7_dat()

	# W1 per size class, for the plot.
	w1 = OUT "/w1.dat"
	print "# size ours_median ours_min ours_max stock_median stock_min stock_max" > w1
	for (c = 0; c < 6; c++) {
		line = 2 ^ c
		for (a = 1; a <= 2; a++) {
			al = a == 1 ? "ours" : "stock"
			n = 0
			for (i = 1; i <= NIDX["w1", al]; i++)
				if (has("w1", al, IDX["w1", al, i], "ns_pair_c" c))
					T[++n] = get("w1", al, IDX["w1", al, i], "ns_pair_c" c)
			stats(T, n)
			line = line " " (n ? S_MED " " S_MIN " " S_MAX : "NaN NaN NaN")
		}
		print line > w1
	}

	# W3 time series: one gnuplot data block per allocator.
	w3 = OUT "/w3.dat"
	for (a = 1; a <= 2; a++) {
		al = a == 1 ? "ours" : "stock"
		print "# " al ": window t_s ops_per_sec tree_nodes mag_bytes bursts live" > w3
		for (i = 1; i <= NIDX["w3", al]; i++) {
			idx = IDX["w3", al, i]
			printf "%s %g %s %s %s %s %s\n", idx,
			       get("w3", al, idx, "t_ms") / 1000,
			       get("w3", al, idx, "ops_per_sec"),
			       get("w3", al, idx, "tree_nodes"),
			       has("w3", al, idx, "mag_bytes") ? get("w3", al, idx, "mag_bytes") : "NaN",
			       get("w3", al, idx, "bursts"),
			       get("w3", al, idx, "live") > w3
		}
		print "" > w3
		print "" > w3
	}
}
