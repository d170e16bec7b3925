#!/bin/sh
# Checks the layering of src/ (docs/internals/layers.md, the tier order):
#  - every folder under src/ is a tier, and a file includes only headers of its own tier or of
#    tiers below it in TIERS, so no two tiers use each other (a cycle is named as well);
#  - a quoted include names its tier ("parse/http1.h", not "http1.h"), so it can be checked;
#  - the pure tiers (everything below io) include no event loop, resolver or socket header:
#    they build alone as sluice_core, unit-tested and fuzzed without an event loop;
#  - nothing in src/ calls strcpy, strcat, sprintf, gets or atoi (unbounded or unchecked).
# Prints "layering ok", or every violation and exits 1.
#
#   tools/check-layers.sh [SRC_DIR]        (CTest: layering)
set -u

src=${1:-src}
# Bottom to top: a tier may include its own headers and those of the tiers before it.
TIERS="base parse policy config emit io daemon"
# The tiers that build into sluice_core (CMakeLists.txt): no I/O.
PURE="base parse policy config emit"

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

for d in "$src"/*/; do
	t=$(basename "$d")
	case " $TIERS " in
	*" $t "*) ;;
	*)
		echo "layering: $src/$t/ is not a tier; add it to TIERS here and to" \
			"docs/internals/layers.md" >&2
		fail=1
		;;
	esac
done

# One pass over every file. Comments and string literals are blanked first, so that a word in a
# comment or a message is not taken for a call; include lines are read as written.
find "$src" -name '*.[ch]' | sort | xargs awk -v tiers="$TIERS" -v pure="$PURE" \
	-v edges="$tmp/edges" '
BEGIN {
	n = split(tiers, t, " ")
	for (i = 1; i <= n; i++)
		rank[t[i]] = i
	split(pure, p, " ")
	for (i in p)
		is_pure[p[i]] = 1
	bad = 0
}
FNR == 1 {
	in_comment = 0
	m = split(FILENAME, part, "/")
	from = part[m - 1]
	below = ""
	for (i = 1; i < rank[from]; i++)
		below = below (below == "" ? "" : ", ") t[i]
}
function report(msg) {
	print FILENAME ":" FNR ": " msg > "/dev/stderr"
	bad = 1
}
# Quoted includes: the tier of the header against the tier of the file.
!in_comment && /^[ \t]*#[ \t]*include[ \t]*"/ {
	hdr = $0
	sub(/^[^"]*"/, "", hdr)
	sub(/".*$/, "", hdr)
	if (index(hdr, "/") == 0) {
		report("#include \"" hdr "\" names no tier folder (write \"tier/" hdr "\")")
	} else {
		to = substr(hdr, 1, index(hdr, "/") - 1)
		if (!(to in rank))
			report("#include \"" hdr "\": " to "/ is not a tier")
		else if (from in rank && to != from) {
			print from, to > edges
			if (rank[to] > rank[from])
				report("#include \"" hdr "\": " from "/ may use " \
				       (below == "" ? "no other tier" : below) \
				       ", not " to "/ (tier order: " tiers ")")
		}
	}
	next
}
# Angle includes: no event loop, resolver or sockets below io/.
!in_comment && /^[ \t]*#[ \t]*include[ \t]*</ {
	hdr = $0
	sub(/^[^<]*</, "", hdr)
	sub(/>.*$/, "", hdr)
	if ((from in is_pure) && hdr ~ /^(event2\/|ares|sys\/socket\.h$|netinet\/|arpa\/inet\.h$|netdb\.h$|sys\/epoll\.h$)/)
		report("#include <" hdr "> is I/O; " from "/ is a pure tier (only io/ and daemon/ do I/O)")
	next
}
{
	line = $0
	code = ""
	len = length(line)
	i = 1
	while (i <= len) {
		c = substr(line, i, 1)
		c2 = substr(line, i, 2)
		if (in_comment) {
			if (c2 == "*/") {
				in_comment = 0
				i += 2
			} else {
				i++
			}
			continue
		}
		if (c2 == "/*") {
			in_comment = 1
			i += 2
			continue
		}
		if (c2 == "//")
			break
		if (c == "\"" || c == "\047") {
			i++
			while (i <= len) {
				d = substr(line, i, 1)
				if (d == "\\") {
					i += 2
					continue
				}
				i++
				if (d == c)
					break
			}
			code = code c c
			continue
		}
		code = code c
		i++
	}
	while (match(code, /(^|[^A-Za-z0-9_])(strcpy|strcat|sprintf|gets|atoi)[ \t]*\(/)) {
		name = substr(code, RSTART, RLENGTH)
		sub(/^[^A-Za-z_]*/, "", name)
		sub(/[ \t]*\($/, "", name)
		use = name == "atoi" ? "strtol with an end pointer, or slice_parse_u64" : \
		      name == "gets" ? "fgets" : \
		      name == "sprintf" ? "snprintf" : "memcpy of a checked length, or snprintf"
		report(name "() is banned in src/ (unbounded or unchecked); use " use)
		code = substr(code, RSTART + RLENGTH)
	}
}
END { exit bad }
' || fail=1

# Tiers that use each other, directly or round a longer loop. The order check above already
# refuses the upward include of any loop; this names the loop.
if [ -s "$tmp/edges" ]; then
	if ! sort -u "$tmp/edges" | tsort >/dev/null 2>"$tmp/loop"; then
		# tsort names each loop it breaks: a header line, then one line per member.
		awk '/input contains a loop/ { if (l != "") print l; l = ""; next }
		     { sub(/^tsort: /, ""); l = l (l == "" ? "" : " ") $0 }
		     END { if (l != "") print l }' "$tmp/loop" | sort -u |
			sed 's/^/layering: tiers in a cycle (each uses the next, the last the first): /' >&2
		fail=1
	fi
fi

if [ $fail -ne 0 ]; then
	echo "layering violations (tier order: $TIERS; see docs/internals/layers.md)" >&2
	exit 1
fi
# Inside io/, files use each other in one direction only: the way back is the protocol table
# (io/flow.h) a connection dispatches through (docs/internals/layers.md). Each include of
# "io/b.h" in io/a.c or io/a.h is an edge a -> b; tsort names a loop when there is one.
edges=$(for f in "$src"/io/*.[ch]; do
	from=$(basename "$f")
	from=${from%.*}
	sed -nE 's/^#[[:space:]]*include[[:space:]]*"io\/([a-z0-9_]+)\.h".*/\1/p' "$f" |
		while read -r to; do
			[ "$to" = "$from" ] || echo "$from $to"
		done
done)
loop=$(printf '%s\n' "$edges" | tsort 2>&1 >/dev/null)
if [ -n "$loop" ]; then
	echo "layering violation: io/ files include each other in a cycle:" >&2
	echo "$loop" >&2
	exit 1
fi
echo "layering ok"
