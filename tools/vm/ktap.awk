# The KTAP parser of judge.sh: reads a serial log (CR and escape sequences
# already removed) and checks the guest's KTAP document, whose lines carry
# the prefix "XIOVA-KTAP: " (guest-lib.sh); every other line is ignored,
# which keeps out the KTAP the kernel logs itself (KUnit) and kselftest
# output a guest script prints. The prefix may follow kernel text on the
# same line (a printk timestamp, or kernel output the line was appended
# to); what follows it must be a whole KTAP line.
#
# Usage: awk -f ktap.awk LOG
# Prints one tab-separated record per line:
#   R <TAB> ok|fail|skip <TAB> NAME <TAB> REASON   a result, in order
#   E <TAB> TEXT                                 a problem with the document
# Problems: no header, a second header, a line before the header or after
# the plan, a malformed line (a result that does not parse, a SKIP on
# "not ok", a directive other than SKIP on "ok", "Bail out!", anything that
# is not KTAP), a number out of sequence, a duplicate name (its result is
# dropped), no plan, or a plan that does not match the number of results.
BEGIN {
	prefix = "XIOVA-KTAP: "
	header = 0
	plan = -1
	results = 0
}

function problem(text) {
	gsub(/\t/, " ", text)
	printf "E\t%s\n", text
}

{
	i = index($0, prefix)
	if (!i)
		next
	line = substr($0, i + length(prefix))
	sub(/[ \t]+$/, "", line)
	if (line == "KTAP version 1") {
		if (header)
			problem("second KTAP header")
		header = 1
		next
	}
	if (line ~ /^#( |$)/)
		next
	if (!header) {
		problem("before the KTAP header: " line)
		next
	}
	if (plan >= 0) {
		problem("after the plan: " line)
		next
	}
	if (line ~ /^1\.\.[0-9]+$/) {
		plan = substr(line, 4) + 0
		next
	}
	if (line !~ /^(not )?ok [1-9][0-9]* [^ \t#]+( # .*)?$/) {
		if (line ~ /^Bail out!/)
			problem("bail out: " line)
		else
			problem("malformed KTAP line: " line)
		next
	}
	verdict = "ok"
	if (line ~ /^not /) {
		verdict = "fail"
		line = substr(line, 5)
	}
	# line is now "ok NUM NAME[ # DIRECTIVE]"
	rest = substr(line, 4)
	num = substr(rest, 1, index(rest, " ") - 1) + 0
	rest = substr(rest, index(rest, " ") + 1)
	directive = ""
	j = index(rest, " # ")
	if (j) {
		name = substr(rest, 1, j - 1)
		directive = substr(rest, j + 3)
	} else {
		name = rest
	}
	if (directive ~ /^SKIP( |$)/) {
		if (verdict == "fail") {
			problem("malformed KTAP line (SKIP on not ok): not " line)
			next
		}
		verdict = "skip"
		directive = substr(directive, 6)
	} else if (verdict == "ok" && directive != "") {
		problem("malformed KTAP line (directive other than SKIP): " line)
		next
	}
	results++
	if (num != results)
		problem("result " num " out of sequence (expected " results "): " name)
	if (name in seen) {
		problem("duplicate test name: " name " (results " seen[name] " and " num ")")
		next
	}
	seen[name] = num
	printf "R\t%s\t%s\t%s\n", verdict, name, directive
}

END {
	if (!header) {
		problem("no KTAP header ('KTAP version 1'): no KTAP output")
		exit
	}
	if (plan < 0)
		problem("no plan: the KTAP output ends after " results " result(s)")
	else if (plan != results)
		problem("plan 1.." plan " but " results " result(s)")
}
