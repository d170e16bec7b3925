#!/usr/bin/env bash
# Runs every libFuzzer target in a fuzz build for a bounded time on its committed corpus and
# prints one line per target. Exits non-zero if any target crashed, leaked, timed out or hit a
# sanitizer report; the input that did it is kept under BUILD/artifacts/ and named in the output.
#
#   tools/fuzz-run.sh BUILD_DIR SECONDS [TARGET ...]     (TARGET: http1_request, cidr, ...)
#
# The committed corpus (fuzz/corpus/NAME) is read, never written: new inputs go to
# BUILD_DIR/corpus/NAME, so a run leaves the work tree as it was. Targets run FUZZ_JOBS at a time
# (default: the number of cores).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: fuzz-run.sh BUILD_DIR SECONDS [TARGET ...]}
seconds=${2:?usage: fuzz-run.sh BUILD_DIR SECONDS [TARGET ...]}
shift 2
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}

case $seconds in '' | *[!0-9]*) echo "fuzz-run: SECONDS must be a whole number" >&2; exit 2 ;; esac

if [ $# -eq 0 ]; then
	for t in "$build"/fuzz_*; do
		case $t in *_replay) continue ;; esac
		[ -x "$t" ] && set -- "$@" "$(basename "$t" | sed 's/^fuzz_//')"
	done
fi
if [ $# -eq 0 ]; then
	echo "fuzz-run: no fuzz targets in $build (configure with -DSLUICE_FUZZ=ON and clang)" >&2
	exit 2
fi

mkdir -p "$build/logs" "$build/artifacts"

# One target: its dictionary is fuzz/NAME.dict, or the shared http1.dict for the HTTP/1 ones.
run_one() {
	local name=$1 dict=() seeds="$here/fuzz/corpus/$1" work="$build/corpus/$1"
	if [ -f "$here/fuzz/$name.dict" ]; then
		dict=(-dict="$here/fuzz/$name.dict")
	elif [ "${name#http1_}" != "$name" ]; then
		dict=(-dict="$here/fuzz/http1.dict")
	fi
	mkdir -p "$work"
	if [ ! -x "$build/fuzz_$name" ]; then
		echo "fuzz_$name: not built in $build" >"$build/logs/$name.log"
		echo 3 >"$build/logs/$name.rc"
		return
	fi
	# Coverage feedback and ASan only see instrumented code: a target whose library (src/)
	# was built without -fsanitize=fuzzer-no-link would mutate blindly and miss overflows.
	if ! "$build/fuzz_$name" -runs=0 -print_coverage=1 "$seeds" 2>&1 |
		grep -qE 'COVERED_FUNC: .* [^ ]*/src/[a-z]+/[a-z0-9_]+\.c:'; then
		echo "fuzz_$name: no code under src/ is instrumented for coverage" \
			>"$build/logs/$name.log"
		echo 3 >"$build/logs/$name.rc"
		return
	fi
	# -timeout: one input taking over 10 s is a hang; -rss_limit_mb: a blow-up is a failure.
	"$build/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
		-print_final_stats=1 -artifact_prefix="$build/artifacts/$name-" "${dict[@]}" \
		"$work" "$seeds" >"$build/logs/$name.log" 2>&1
	echo $? >"$build/logs/$name.rc"
}
export -f run_one
export build seconds here

printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {}

failed=0
printf '%-16s %12s %10s %8s %8s  %s\n' target executions exec/s edges corpus result
for name in "$@"; do
	log="$build/logs/$name.log"
	rc=$(cat "$build/logs/$name.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	# Instrumented edges in the binary: a few dozen would mean the library is not.
	edges=$(sed -n 's/^INFO: Loaded 1 modules *(\([0-9]*\) inline.*/\1/p' "$log" | head -1)
	units=$(find "$build/corpus/$name" "$here/fuzz/corpus/$name" -type f | wc -l)
	if [ "$rc" = 0 ]; then
		result=ok
	else
		result="FAILED (exit $rc, log $log)"
		failed=1
	fi
	printf '%-16s %12s %10s %8s %8s  %s\n' "$name" "${execs:-?}" "${rate:-?}" "${edges:-?}" \
		"$units" "$result"
done
if [ $failed -ne 0 ]; then
	for name in "$@"; do
		[ "$(cat "$build/logs/$name.rc")" = 0 ] && continue
		echo "---- $name: last lines of $build/logs/$name.log"
		tail -n 30 "$build/logs/$name.log"
		for a in "$build/artifacts/$name-"*; do
			[ -e "$a" ] && echo "reproduce: $build/fuzz_$name $a"
		done
	done
	exit 1
fi
