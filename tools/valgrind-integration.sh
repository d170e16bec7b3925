#!/bin/sh
# Runs the integration suite with every sluice process under valgrind memcheck, then fails
# when any process had a memory error or a definite/indirect leak. Run as root, from anywhere:
#
#   tools/valgrind-integration.sh                    # the whole suite (see docs/security.md)
#   PYTEST_ARGS="-k reload -x" tools/valgrind-integration.sh
#   tools/valgrind-integration.sh tests/integration/test_faults.py    # extra args go to pytest
#
# It builds a separate, non-sanitized Debug build in build-valgrind (ASan and valgrind do not
# mix), points SLUICE_BIN at tools/valgrind-sluice and sets SLUICE_VALGRIND=1 so the harness
# turns the seccomp filter off and allows more time. Logs: build-valgrind/vg-logs/vg.<pid>.log.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
build=${VG_BUILD:-$repo/build-valgrind}
logdir=${VG_LOGDIR:-$build/vg-logs}
python=${PYTHON:-/usr/bin/python3}
jobs=$(nproc 2>/dev/null || echo 2)

if ! command -v valgrind >/dev/null; then
	echo "valgrind is not installed (apt-get install valgrind)" >&2
	exit 2
fi

# Configured every time, so a cache left with other options cannot put ASan under valgrind.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=OFF >/dev/null
# Only the daemon: the unit tests and fuzz runners have their own targets.
cmake --build "$build" --target sluice -j"$jobs"

mkdir -p "$logdir"
rm -f "$logdir"/vg.*.log
# Some tests run sluice as uid 65534 (test_jail.py): valgrind opens its log as that user.
chmod 1777 "$logdir"

# The whole suite unless the arguments name test files or directories themselves.
suite=tests/integration
case " ${PYTEST_ARGS:-} $* " in *" tests/"*) suite= ;; esac

start=$(date +%s)
set +e
# Same namespace isolation as `make test-integration`: no test packet can leave the machine.
# PYTEST_ARGS and $suite are split on spaces on purpose (e.g. "-k reload -x").
# shellcheck disable=SC2086
SLUICE_BIN="$repo/tools/valgrind-sluice" SLUICE_VG_REAL="$build/sluice" \
	SLUICE_VG_LOGDIR="$logdir" SLUICE_VALGRIND=1 \
	unshare -n -- "$python" -m pytest -q $suite ${PYTEST_ARGS:-} "$@"
pytest_rc=$?
set -e
secs=$(($(date +%s) - start))

"$python" - "$logdir" "$pytest_rc" "$secs" <<'EOF'
import glob, os, re, sys

logdir, pytest_rc, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
logs = sorted(glob.glob(os.path.join(logdir, "vg.*.log")), key=os.path.getmtime)

def lost(text, kind):
    m = re.search(r"%s lost: ([\d,]+) bytes in ([\d,]+) blocks" % kind, text)
    return int(m.group(1).replace(",", "")) if m else 0

def pid_of(path):
    return os.path.basename(path).split(".")[1]

pids = {pid_of(p) for p in logs}
procs = summarised = errors = 0
definite = indirect = possible = 0
bad, execd, killed = [], [], []
for path in logs:
    with open(path, errors="replace") as f:
        text = f.read()
    procs += 1
    m = re.search(r"ERROR SUMMARY: ([\d,]+) errors", text)
    d, i, p = lost(text, "definitely"), lost(text, "indirectly"), lost(text, "possibly")
    definite, indirect, possible = definite + d, indirect + i, possible + p
    cmd = re.search(r"Command: (.*)", text)
    cmd = cmd.group(1).strip() if cmd else "?"
    why = []
    fatal = re.search(r"Process terminating with default action of signal (\d+) \((\w+)\)", text)
    if fatal and fatal.group(2) not in ("SIGTERM", "SIGKILL", "SIGINT"):
        why.append("died of %s" % fatal.group(2))
    if not m:
        # A forked child that exec'd its command (sluice jail), or a process a test SIGKILLed:
        # valgrind writes no summary for either. Errors found before would still be logged.
        parent = re.search(r"Parent PID: (\d+)", text)
        if re.search(r"^==\d+== (Invalid|Conditional jump|Use of uninit|Syscall param|"
                     r"Mismatched|Source and destination|Argument|Process terminating)", text,
                     re.M):
            why.append("errors reported, no summary")
        elif parent and parent.group(1) in pids:
            execd.append(path)
        else:
            killed.append(path)
    else:
        summarised += 1
        n = int(m.group(1).replace(",", ""))
        errors += n
        if n:
            why.append("%d errors" % n)
    if d or i:
        why.append("leaked %d bytes definitely, %d indirectly" % (d, i))
    if why:
        bad.append((path, cmd, "; ".join(why)))

print()
print("valgrind memcheck summary (%s)" % logdir)
print("  %-32s %d" % ("sluice processes checked", procs))
print("  %-32s %d" % ("  with a full summary", summarised))
print("  %-32s %d" % ("  forked, then exec'd (jail)", len(execd)))
print("  %-32s %d" % ("  killed with SIGKILL", len(killed)))
print("  %-32s %d" % ("memory errors", errors))
print("  %-32s %d bytes" % ("definitely lost", definite))
print("  %-32s %d bytes" % ("indirectly lost", indirect))
print("  %-32s %d bytes (reported, not failed)" % ("possibly lost", possible))
print("  %-32s %d" % ("pytest exit status", pytest_rc))
print("  %-32s %dm%02ds" % ("wall time", secs // 60, secs % 60))
for path in killed:
    print("note %s: no summary (SIGKILLed?), leaks unchecked" % path)
for path, cmd, why in bad:
    print("FAIL %s: %s\n     %s" % (path, why, cmd))
if not procs and pytest_rc == 0:
    print("FAIL: no valgrind log was written (did any test start sluice?)")
    sys.exit(1)
sys.exit(1 if bad or pytest_rc else 0)
EOF
