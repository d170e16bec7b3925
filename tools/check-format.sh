#!/bin/sh
# Fails when a C file of the project is not as clang-format (the repo's .clang-format) would
# write it; `make format` rewrites them. Run from CTest as `format`.
root=${1:-.}
cd "$root" || exit 2
files=$(find src tests/unit fuzz bench -name '*.[ch]' | sort)
if ! clang-format --dry-run -Werror $files 2>/tmp/sluice-format.$$; then
	grep -E '^[^ ].*error:' /tmp/sluice-format.$$ | cut -d: -f1 | sort -u |
		sed 's/^/not clang-formatted: /' >&2
	echo "run: make format" >&2
	rm -f /tmp/sluice-format.$$
	exit 1
fi
rm -f /tmp/sluice-format.$$
