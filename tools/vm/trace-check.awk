# Checks the text of a tracefs trace (/sys/kernel/tracing/trace) holding
# the xiova and xiova_dma events, as tools/vm/guest-trace.sh records it.
# Read the file twice: the first pass collects the expectations, the second
# checks the events against them and against invariants that hold for any
# workload:
#
#   awk -f trace-check.awk TRACE TRACE
#
# Prints one "NAME PASS" or "NAME FAIL reason" line per check, and "trace:
# ..." diagnostics (the first few problems of each failed check).
# Portable to busybox, mawk and gawk awk. Pfns are handled as hex text
# (test domains allocate up to 2^64 - 2, past a double's 53 bits); DMA
# addresses, below 2^53, as numbers.
#
# The workload script writes these to /sys/kernel/tracing/trace_marker:
#
#   XIOVA-PHASE NAME                 starts a phase
#   XIOVA-DOMAIN NAME ID START_PFN GRANULE
#                                    a new xiova domain (the allocator's
#                                    events name domains by id only)
#   XIOVA-DEVICE BDF ID              a device attached to xiova_dma, and the
#                                    id of its domain
#   XIOVA-QUEUED BDF 0|1             every later unmap of BDF must be
#                                    strict (0) or queued (1)
#   XIOVA-EXPECT CHECK EVENT K=V...  some EVENT of this phase, before or
#                                    after the marker, has every K=V
#   XIOVA-COUNT CHECK EVENT N K=V... N EVENTs with every K=V came before
#                                    the marker
#
# Invariant checks: every-event (each of the ten events appears),
# alloc-fields, free-matches-alloc, depot-sequence, rcache-miss-fields,
# flush-fields, map-fields, unmap-matches-map, unmap-mode, fq-accounting,
# shim-accounting. See guest-trace.sh for what the expectations cover.

BEGIN {
	HEX = "0123456789abcdef"
	NCHECK = 0
	split("alloc free rcache_miss depot_push depot_pop depot_trim flush_all map unmap fq_flush", EVENTS, " ")
	NEVENTS = 10
	register("every-event")
	register("alloc-fields")
	register("free-matches-alloc")
	register("rcache-miss-fields")
	register("depot-sequence")
	register("flush-fields")
	register("map-fields")
	register("unmap-matches-map")
	register("unmap-mode")
	register("fq-accounting")
	register("shim-accounting")
}

function register(name) {
	if (name in REGISTERED)
		return
	REGISTERED[name] = 1
	CHECKS[++NCHECK] = name
}

function fail(name, msg) {
	register(name)
	if (!(name in BAD))
		FIRST[name] = msg
	BAD[name]++
	if (BAD[name] <= 3)
		print "trace: " name ": " msg
}

# Hex text ("0x1f", "1F", "0x0") in canonical form: lower case, no 0x,
# no leading zeros, "0" for zero; "" if it is not hex.
function hnorm(s) {
	s = tolower(s)
	sub(/^0x/, "", s)
	if (s !~ /^[0-9a-f]+$/)
		return ""
	sub(/^0+/, "", s)
	return s == "" ? "0" : s
}

# Compares two canonical hex numbers: -1, 0 or 1.
function hcmp(a, b) {
	if (length(a) != length(b))
		return length(a) < length(b) ? -1 : 1
	if (a == b)
		return 0
	return (a "") < (b "") ? -1 : 1
}

# Canonical hex a plus a number n below 2^48.
function hadd(a, n,    i, d, out) {
	out = ""
	for (i = length(a); i >= 1; i--) {
		d = index(HEX, substr(a, i, 1)) - 1 + n
		out = substr(HEX, d % 16 + 1, 1) out
		n = int(d / 16)
	}
	for (; n > 0; n = int(n / 16))
		out = substr(HEX, n % 16 + 1, 1) out
	return hnorm(out)
}

# Canonical hex a modulo p, a power of two up to 2^32.
function hmod(a, p) {
	return hval(length(a) > 8 ? substr(a, length(a) - 7) : a) % p
}

# Hex text to a number (exact below 2^53); -1 if it is not hex.
function hval(s,    i, n) {
	s = hnorm(s)
	if (s == "")
		return -1
	n = 0
	for (i = 1; i <= length(s); i++)
		n = n * 16 + index(HEX, substr(s, i, 1)) - 1
	return n
}

# A number below 2^53 as canonical hex.
function tohex(n,    s) {
	s = ""
	for (; n > 0; n = int(n / 16))
		s = substr(HEX, n % 16 + 1, 1) s
	return s == "" ? "0" : s
}

# Decimal, possibly negative; a non-number gives -1e18.
function dec(s) {
	if (s !~ /^-?[0-9]+$/)
		return -1e18
	return s + 0
}

function pow2up(n,    p) {
	p = 1
	while (p < n)
		p *= 2
	return p
}

# Splits an event line into EV (event name) and A[key] = value. Lines
# look like "  task-123  [001] d..1.  12.345678: alloc: domain=0 pfn=0x1",
# or "... 40213: alloc: ..." with the counter clock.
function parse(line,    s, n, i, t, eq) {
	EV = ""
	REST = ""
	delete A
	if (!match(line, /[0-9]+(\.[0-9]+)?: [a-z_]+: /))
		return 0
	s = substr(line, RSTART, RLENGTH)
	REST = substr(line, RSTART + RLENGTH)
	sub(/^[0-9]+(\.[0-9]+)?: /, "", s)
	sub(/: $/, "", s)
	EV = s
	n = split(REST, t, " ")
	for (i = 1; i <= n; i++) {
		eq = index(t[i], "=")
		if (eq > 1)
			A[substr(t[i], 1, eq - 1)] = substr(t[i], eq + 1)
	}
	return 1
}

# Does the current event carry every K=V of spec J (an expectation, "e",
# or a count, "c")? Hex values compare as numbers: the kernel prints a
# zero pfn as 0x0.
function matches(prefix, j,    m, n, k, want) {
	n = KVN[prefix, j]
	for (m = 1; m <= n; m++) {
		k = KVK[prefix, j, m]
		want = KVV[prefix, j, m]
		if (!(k in A))
			return 0
		if (A[k] == want)
			continue
		if (want !~ /^0x/ && A[k] !~ /^0x/)
			return 0
		if (hnorm(A[k]) == "" || hnorm(A[k]) != hnorm(want))
			return 0
	}
	return 1
}

# Stores the K=V words of fields FROM.. of the marker text in MARK[].
function store_kv(prefix, j, from, nmark,    m, eq, n) {
	n = 0
	for (m = from; m <= nmark; m++) {
		eq = index(MARK[m], "=")
		if (eq < 2)
			continue
		n++
		KVK[prefix, j, n] = substr(MARK[m], 1, eq - 1)
		KVV[prefix, j, n] = substr(MARK[m], eq + 1)
	}
	KVN[prefix, j] = n
}

# ------------------------------------------------------------ pass one

FNR == NR {
	if (!index($0, "tracing_mark_write: XIOVA-") || !parse($0) ||
	    EV != "tracing_mark_write")
		next
	nmark = split(REST, MARK, " ")
	if (MARK[1] == "XIOVA-PHASE") {
		p1++
	} else if (MARK[1] == "XIOVA-EXPECT" && nmark >= 3) {
		NEXP++
		EXP_PH[NEXP] = p1
		EXP_CHECK[NEXP] = MARK[2]
		EXP_EV[NEXP] = MARK[3]
		EXP_TEXT[NEXP] = REST
		store_kv("e", NEXP, 4, nmark)
		register(MARK[2])
		if (!(p1 in PH_LO))
			PH_LO[p1] = NEXP
		PH_HI[p1] = NEXP
	} else if (MARK[1] == "XIOVA-COUNT" && nmark >= 4) {
		NCNT++
		CNT_CHECK[NCNT] = MARK[2]
		CNT_EV[NCNT] = MARK[3]
		CNT_WANT[NCNT] = MARK[4]
		CNT_TEXT[NCNT] = REST
		CNT_SEEN[NCNT] = 0
		CNT_DONE[NCNT] = 0
		store_kv("c", NCNT, 5, nmark)
		register(MARK[2])
	}
	next
}

# ------------------------------------------------------------ pass two

{
	if (!parse($0))
		next
	if (EV == "tracing_mark_write") {
		marker()
		next
	}
	SEEN[EV]++
	NEVENT++
	if (p2 in PH_LO)
		for (j = PH_LO[p2]; j <= PH_HI[p2]; j++)
			if (!EXP_OK[j] && EXP_EV[j] == EV && matches("e", j))
				EXP_OK[j] = 1
	for (j = 1; j <= NCNT; j++)
		if (!CNT_DONE[j] && CNT_EV[j] == EV && matches("c", j))
			CNT_SEEN[j]++

	if (EV == "alloc")
		on_alloc()
	else if (EV == "free")
		on_free()
	else if (EV == "rcache_miss")
		on_miss()
	else if (EV == "depot_push" || EV == "depot_pop" || EV == "depot_trim")
		on_depot()
	else if (EV == "flush_all")
		on_flush()
	else if (EV == "map")
		on_map()
	else if (EV == "unmap")
		on_unmap()
	else if (EV == "fq_flush")
		on_fq_flush()
}

function marker(    nmark, j, c, id) {
	nmark = split(REST, MARK, " ")
	if (MARK[1] == "XIOVA-PHASE") {
		p2++
		PHNAME[p2] = MARK[2]
	} else if (MARK[1] == "XIOVA-DOMAIN") {
		id = MARK[3]
		DNAME[id] = MARK[2]
		DSTART[id] = hnorm(MARK[4])
		DGRAN[id] = MARK[5] + 0
		ALLOCS[id] = 0
		FREES[id] = 0
		delete TORN[id]
		for (c = 0; c < 6; c++)
			DEPOT[id, c] = 0
	} else if (MARK[1] == "XIOVA-DEVICE") {
		DEVDOM[MARK[2]] = MARK[3]
		DOMDEV[MARK[3]] = MARK[2]
		MAPS[MARK[2]] = 0
		UNMAPS[MARK[2]] = 0
		QUEUEDN[MARK[2]] = 0
		FQFREED[MARK[2]] = 0
	} else if (MARK[1] == "XIOVA-QUEUED") {
		QEXP[MARK[2]] = MARK[3]
	} else if (MARK[1] == "XIOVA-COUNT") {
		for (j = 1; j <= NCNT; j++) {
			if (CNT_DONE[j] || CNT_TEXT[j] != REST)
				continue
			CNT_DONE[j] = 1
			if (CNT_SEEN[j] != CNT_WANT[j])
				fail(CNT_CHECK[j], CNT_SEEN[j] " " CNT_EV[j] " events, expected " CNT_WANT[j] " (" REST ")")
			break
		}
	}
}

function on_alloc(    d, pfn, size, lim, key) {
	NALLOC++
	d = A["domain"]
	pfn = hnorm(A["pfn"])
	size = dec(A["size"])
	lim = hnorm(A["limit_pfn"])
	if (!(d in DSTART)) {
		fail("alloc-fields", "alloc in domain " d ", which no XIOVA-DOMAIN marker named: " REST)
		return
	}
	if (A["fast"] != "0" && A["fast"] != "1") {
		fail("alloc-fields", "fast is neither 0 nor 1: " REST)
		return
	}
	if (A["result"] == "fail") {
		if (pfn != "0")
			fail("alloc-fields", "failed allocation with a pfn: " REST)
		return
	}
	if (A["result"] != "tree" && A["result"] != "flushed" && A["result"] != "cache") {
		fail("alloc-fields", "unknown result: " REST)
		return
	}
	if (A["fast"] == "0" && A["result"] != "tree") {
		fail("alloc-fields", "a slow allocation not from the tree: " REST)
		return
	}
	if (size < 1 || pfn == "" || lim == "" || hcmp(pfn, DSTART[d]) < 0 ||
	    hcmp(hadd(pfn, size - 1), lim) > 0) {
		fail("alloc-fields", "range outside [start_pfn " DSTART[d] ", limit]: " REST)
		return
	}
	if (A["fast"] == "1" && hmod(pfn, pow2up(size)) != 0) {
		fail("alloc-fields", "fast allocation not size-aligned: " REST)
		return
	}
	key = d SUBSEP pfn
	if (key in LIVE) {
		fail("alloc-fields", "pfn handed out twice without a free: " REST)
		return
	}
	LIVE[key] = size
	ALLOCS[d]++
}

function on_free(    d, pfn, size, key) {
	NFREE++
	d = A["domain"]
	pfn = hnorm(A["pfn"])
	size = dec(A["size"])
	key = d SUBSEP pfn
	if (!(key in LIVE)) {
		fail("free-matches-alloc", "free of a range not allocated: " REST)
		return
	}
	if (LIVE[key] != size)
		fail("free-matches-alloc", "freed with size " size ", allocated with " LIVE[key] ": " REST)
	delete LIVE[key]
	FREES[d]++
}

function on_miss(    d, c) {
	NMISS++
	d = A["domain"]
	c = dec(A["class"])
	if (!(d in DSTART) || c < 0 || c > 5 || dec(A["size"]) != class_size(c))
		fail("rcache-miss-fields", "bad domain, class or size: " REST)
}

function class_size(c,    s) {
	s = 1
	while (c-- > 0)
		s *= 2
	return s
}

function on_depot(    d, c, n, key, want) {
	NDEPOT++
	d = A["domain"]
	# The trim work may still run while the domain is put.
	if (d in TORN)
		return
	c = dec(A["class"])
	n = dec(A["depot_size"])
	if (!(d in DSTART) || c < 0 || c > 5 || n < 0) {
		fail("depot-sequence", "bad domain, class or depot size: " EV " " REST)
		return
	}
	key = d SUBSEP c
	if (key in DEPOT) {
		want = DEPOT[key] + (EV == "depot_push" ? 1 : -1)
		if (n != want)
			fail("depot-sequence", EV " left " n " magazines, expected " want ": " REST)
	}
	DEPOT[key] = n
}

function on_flush(    d, r, cpu, c, key, part) {
	NFLUSH++
	d = A["domain"]
	r = A["reason"]
	cpu = dec(A["cpu"])
	if (!(d in DSTART))
		fail("flush-fields", "flush of a domain no marker named: " REST)
	if (r == "cpu-dead") {
		if (cpu < 0)
			fail("flush-fields", "cpu-dead without a cpu: " REST)
	} else if (r != "retry" && r != "request" && r != "teardown") {
		fail("flush-fields", "unknown reason: " REST)
	} else if (cpu != -1) {
		fail("flush-fields", "a cpu for a flush that is not cpu-dead: " REST)
	}
	# The depot is emptied without push/pop events: start over.
	if (r == "retry" || r == "request" || r == "teardown")
		for (c = 0; c < 6; c++)
			delete DEPOT[d, c]
	if (r != "teardown")
		return
	if (d in DOMDEV)
		shim_teardown(d, DOMDEV[d])
	# Whatever is left is freed with the tree, without events.
	for (key in LIVE) {
		split(key, part, SUBSEP)
		if (part[1] == d)
			delete LIVE[key]
	}
	delete DSTART[d]
	TORN[d] = 1
}

# The device's domain is put at detach: every mapping must be undone and
# every IOVA back, one allocation per map and one free per unmap.
function shim_teardown(d, dev,    key, c, live, mapped) {
	NSHIM++
	live = 0
	for (key in LIVE) {
		split(key, c, SUBSEP)
		if (c[1] == d)
			live++
	}
	mapped = 0
	for (key in MAPLIVE) {
		split(key, c, SUBSEP)
		if (c[1] == dev)
			mapped++
	}
	if (live || mapped)
		fail("shim-accounting", dev ": " live " IOVA ranges and " mapped " mappings live at detach")
	if (ALLOCS[d] != MAPS[dev] || FREES[d] != UNMAPS[dev])
		fail("shim-accounting", dev ": " MAPS[dev] " maps and " ALLOCS[d] " allocations, " UNMAPS[dev] " unmaps and " FREES[d] " frees")
	if (!MAPS[dev])
		fail("shim-accounting", dev ": no map between attach and detach")
	delete DOMDEV[d]
	delete DEVDOM[dev]
}

function on_map(    dev, d, g, iova, size, phys, off, key) {
	NMAP++
	dev = A["dev"]
	if (!(dev in DEVDOM)) {
		fail("map-fields", "map for a device no XIOVA-DEVICE marker named: " REST)
		return
	}
	d = DEVDOM[dev]
	g = DGRAN[d]
	iova = hval(A["iova"])
	size = dec(A["size"])
	phys = hval(A["phys"])
	if (iova <= 0 || size < 1 || phys < 0 || g < 1) {
		fail("map-fields", "zero or bad iova, size or phys: " REST)
		return
	}
	if (length(hnorm(A["iova"])) > 13 || length(hnorm(A["phys"])) > 13) {
		fail("map-fields", "address at or above 2^52, beyond this checker: " REST)
		return
	}
	off = iova % g
	if (phys % g != off) {
		fail("map-fields", "iova and phys differ in their offset in the granule: " REST)
		return
	}
	if (!index(A["prot"], "R") && !index(A["prot"], "W")) {
		fail("map-fields", "neither readable nor writable: " REST)
		return
	}
	key = d SUBSEP tohex((iova - off) / g)
	if (!(key in LIVE)) {
		fail("map-fields", "no live allocation starts at the mapping's granule: " REST)
		return
	}
	if (LIVE[key] * g < off + size) {
		fail("map-fields", "the allocation of " LIVE[key] " granules is too small: " REST)
		return
	}
	key = dev SUBSEP A["iova"]
	if (key in MAPLIVE) {
		fail("map-fields", "address mapped twice without an unmap: " REST)
		return
	}
	MAPLIVE[key] = size
	MAPS[dev]++
}

function on_unmap(    dev, key) {
	NUNMAP++
	dev = A["dev"]
	key = dev SUBSEP A["iova"]
	if (!(key in MAPLIVE)) {
		fail("unmap-matches-map", "unmap of an address not mapped: " REST)
		return
	}
	if (MAPLIVE[key] != dec(A["size"]))
		fail("unmap-matches-map", "unmapped with size " A["size"] ", mapped with " MAPLIVE[key] ": " REST)
	delete MAPLIVE[key]
	UNMAPS[dev]++
	if (A["queued"] != "0" && A["queued"] != "1")
		fail("unmap-mode", "queued is neither 0 nor 1: " REST)
	else if ((dev in QEXP) && A["queued"] != QEXP[dev])
		fail("unmap-mode", "queued=" QEXP[dev] " expected: " REST)
	if (A["queued"] == "1")
		QUEUEDN[dev]++
}

function on_fq_flush(    dev, freed) {
	NFQ++
	dev = A["dev"]
	freed = dec(A["freed"])
	if (A["type"] != "DMA-FQ" && A["type"] != "DMA-SQ")
		fail("fq-accounting", "a flush queue of type " A["type"] ": " REST)
	if (A["reason"] != "full" && A["reason"] != "timer" && A["reason"] != "teardown" &&
	    A["reason"] != "reclaim")
		fail("fq-accounting", "unknown reason: " REST)
	if (freed < 0) {
		fail("fq-accounting", "bad freed count: " REST)
		return
	}
	FQFREED[dev] += freed
	if (FQFREED[dev] > QUEUEDN[dev])
		fail("fq-accounting", dev ": " FQFREED[dev] " entries freed by flushes, only " QUEUEDN[dev] " unmaps queued: " REST)
}

END {
	for (j = 1; j <= NEVENTS; j++)
		if (!(EVENTS[j] in SEEN))
			fail("every-event", "no " EVENTS[j] " event in the trace")
	if (!NALLOC)
		fail("alloc-fields", "no alloc event")
	if (!NFREE)
		fail("free-matches-alloc", "no free event")
	if (!NMISS)
		fail("rcache-miss-fields", "no rcache_miss event")
	if (!NDEPOT)
		fail("depot-sequence", "no depot event")
	if (!NFLUSH)
		fail("flush-fields", "no flush_all event")
	if (!NMAP)
		fail("map-fields", "no map event")
	if (!NUNMAP)
		fail("unmap-matches-map", "no unmap event")
	if (!NFQ)
		fail("fq-accounting", "no fq_flush event")
	if (!NSHIM)
		fail("shim-accounting", "no device's domain was torn down")
	for (j = 1; j <= NEXP; j++)
		if (!EXP_OK[j])
			fail(EXP_CHECK[j], "nothing matched in phase " (EXP_PH[j] in PHNAME ? PHNAME[EXP_PH[j]] : EXP_PH[j]) ": " EXP_TEXT[j])
	for (j = 1; j <= NCNT; j++)
		if (!CNT_DONE[j])
			fail(CNT_CHECK[j], "marker not reached: " CNT_TEXT[j])
	print "trace: " NEVENT " events checked"
	for (j = 1; j <= NCHECK; j++) {
		if (CHECKS[j] in BAD)
			print CHECKS[j] " FAIL " FIRST[CHECKS[j]] (BAD[CHECKS[j]] > 1 ? " (and " BAD[CHECKS[j]] - 1 " more)" : "")
		else
			print CHECKS[j] " PASS"
	}
}
