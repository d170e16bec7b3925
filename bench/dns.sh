#!/usr/bin/env bash
# bench/dns.sh - sluice's DNS listener (listen.dns) against dnsmasq and unbound as caching
# forwarders, all on 127.0.0.1. An origin dnsmasq (127.0.0.1:15353) answers every name under
# bench.test with 192.0.2.10; each target forwards to it. bench/dnsload.c (built with gcc -O2 in
# the temp dir) measures cached and uncached queries per second, p99 latency, CPU per 100k
# queries and RSS per cached name. Prints a markdown table on stdout, progress on stderr.
# Knobs: ROUNDS (3, medians), DURATION (5 s), CONC (64), BENCH_SLUICE_LOG (file|null),
# SLUICE_BIN (build/sluice), INSTALL (1), KEEP_WORK (0), FILL (8000: below every cache's cap). See bench/README.md.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SLUICE_BIN=${SLUICE_BIN:-build/sluice}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONC=${CONC:-64}
FILL=${FILL:-8000}
BENCH_SLUICE_LOG=${BENCH_SLUICE_LOG:-file}
INSTALL=${INSTALL:-1}
KEEP_WORK=${KEEP_WORK:-0}
LO=127.0.0.1
ORIGIN_PORT=15353
declare -A PORT=([sluice]=15300 [dnsmasq]=15301 [unbound]=15302)
TARGETS=(sluice dnsmasq unbound)
CMD="ROUNDS=$ROUNDS DURATION=$DURATION CONC=$CONC BENCH_SLUICE_LOG=$BENCH_SLUICE_LOG bench/dns.sh"

log() { printf '[dns-bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
[[ $BENCH_SLUICE_LOG == file || $BENCH_SLUICE_LOG == null ]] || die "BENCH_SLUICE_LOG must be file or null"
[[ -x $SLUICE_BIN ]] || die "no sluice binary at $SLUICE_BIN (cmake --build build)"
SLUICE_BIN=$(cd "$(dirname "$SLUICE_BIN")" && pwd)/$(basename "$SLUICE_BIN")

if ! command -v dnsmasq >/dev/null || ! command -v unbound >/dev/null; then
    if [[ $INSTALL == 1 && $(id -u) == 0 ]]; then
        log "installing dnsmasq-base unbound"
        apt-get install -y --no-install-recommends dnsmasq-base unbound >&2 ||
            { apt-get update -q >&2 && apt-get install -y --no-install-recommends dnsmasq-base unbound >&2; }
    else
        die "needs dnsmasq and unbound: apt-get install -y --no-install-recommends dnsmasq-base unbound"
    fi
fi
command -v gcc >/dev/null || die "needs gcc"

WORK=$(mktemp -d /tmp/sluice-dnsbench.XXXXXX)
declare -A PID=()
ORIGIN_PID=
cleanup() {
    for p in "${PID[@]}" $ORIGIN_PID; do kill "$p" 2>/dev/null || true; done
    for p in "${PID[@]}" $ORIGIN_PID; do wait "$p" 2>/dev/null || true; done
    if [[ $KEEP_WORK == 1 ]]; then log "kept work dir: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
chmod 755 "$WORK"

gcc -O2 -Wall -o "$WORK/dnsload" "$HERE/dnsload.c"
load() { timeout $((${DURATION%.*} + 30)) "$WORK/dnsload" "$@"; }

# wait_dns PORT: until a query for n0.bench.test is answered with an A record
wait_dns() {
    for _ in $(seq 50); do
        if load -p "$1" -c 1 -q 1 -d 1 -m fixed -n 1 2>/dev/null | grep -q ' ok=1 '; then return 0; fi
        sleep 0.1
    done
    return 1
}

# --- origin ---
# --local-ttl: dnsmasq answers --address names with TTL 0 by default, which no cache keeps: every
# "cached" query would be forwarded.
dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --listen-address=$LO --bind-interfaces \
    --port=$ORIGIN_PORT --address=/bench.test/192.0.2.10 --local-ttl=300 --cache-size=10000 \
    --user="$(id -un)" \
    --pid-file= --log-facility="$WORK/origin.log" 2>"$WORK/origin.err" &
ORIGIN_PID=$!
wait_dns $ORIGIN_PORT || die "origin dnsmasq does not answer (see $WORK/origin.err)"
log "origin dnsmasq on $LO:$ORIGIN_PORT (pid $ORIGIN_PID)"

start_sluice() {
    cat >"$WORK/sluice.yaml" <<EOF
listen:
  http: "$LO:18130"
  dns: "$LO:${PORT[sluice]}"
resolver:
  servers: ["$LO:$ORIGIN_PORT"]
ips:
  allow: ["192.0.2.0/24"]
allow: ["*.bench.test"]
dns:
  rate: 0
workers: 2
seccomp: false
EOF
    local logfile=/dev/null
    [[ $BENCH_SLUICE_LOG == file ]] && logfile="$WORK/sluice.jsonl"
    "$SLUICE_BIN" -c "$WORK/sluice.yaml" >"$logfile" 2>"$WORK/sluice.err" &
    PID[sluice]=$!
}
start_dnsmasq() {
    dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --listen-address=$LO --bind-interfaces \
        --port=${PORT[dnsmasq]} --server=$LO#$ORIGIN_PORT --cache-size=10000 --user="$(id -un)" \
        --pid-file= 2>"$WORK/dnsmasq.err" &
    PID[dnsmasq]=$!
}
start_unbound() {
    cat >"$WORK/unbound.conf" <<EOF
server:
  interface: $LO@${PORT[unbound]}
  port: ${PORT[unbound]}
  access-control: 127.0.0.0/8 allow
  num-threads: 2
  chroot: ""
  username: ""
  directory: "$WORK"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 0
  do-not-query-localhost: no
  domain-insecure: "bench.test"
  module-config: "iterator"
  msg-cache-size: 64m
  rrset-cache-size: 128m
  so-rcvbuf: 4m
  local-zone: "test." nodefault   # unbound answers test. itself by default (RFC 6761)
forward-zone:
  name: "."
  forward-addr: $LO@$ORIGIN_PORT
EOF
    unbound -d -c "$WORK/unbound.conf" 2>"$WORK/unbound.err" &
    PID[unbound]=$!
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2); else print "n/a"}'; }
TCK=$(getconf CLK_TCK)

declare -A R_CACHED R_UNCACHED R_P99 R_CPU R_RSS R_NOTE
for t in "${TARGETS[@]}"; do
    log "== $t on $LO:${PORT[$t]}"
    "start_$t"
    p=${PID[$t]}
    wait_dns "${PORT[$t]}" || die "$t does not answer (see $WORK/$t.err)"
    # warm the 100 cached names (twice: sluice's cache is per worker)
    load -p "${PORT[$t]}" -c 8 -q 400 -d 10 -m fixed -n 100 >"$WORK/$t.warm"
    # RSS per cached name: FILL distinct names, each once
    r0=$(rss_kib "$p")
    load -p "${PORT[$t]}" -c "$CONC" -q "$FILL" -d 60 -m seq -n "$FILL" -t fill >"$WORK/$t.fill"
    sleep 0.5
    r1=$(rss_kib "$p")
    R_RSS[$t]=$(awk -v a="$r0" -v b="$r1" -v n="$FILL" 'BEGIN {printf "%.3f", (b - a) / n}')
    log "  fill: RSS $r0 -> $r1 KiB; $(cat "$WORK/$t.fill")"
    : >"$WORK/$t.cached"; : >"$WORK/$t.uncached"; : >"$WORK/$t.cpu"
    for r in $(seq "$ROUNDS"); do
        c0=$(cpu_ticks "$p")
        out=$(load -p "${PORT[$t]}" -c "$CONC" -d "$DURATION" -m fixed -n 100)
        c1=$(cpu_ticks "$p")
        log "  cached r$r: $out"
        echo "$out" >>"$WORK/$t.cached"
        ok=$(field ok <<<"$out")
        awk -v c=$((c1 - c0)) -v t="$TCK" -v ok="$ok" 'BEGIN {if (ok > 0) printf "%.3f\n", c / t / ok * 100000}' >>"$WORK/$t.cpu"
        out=$(load -p "${PORT[$t]}" -c "$CONC" -d "$DURATION" -m unique -t "r${r}p$$")
        log "  uncached r$r: $out"
        echo "$out" >>"$WORK/$t.uncached"
    done
    R_CACHED[$t]=$(field qps <"$WORK/$t.cached" | median)
    R_UNCACHED[$t]=$(field qps <"$WORK/$t.uncached" | median)
    R_P99[$t]=$(field p99_us <"$WORK/$t.cached" | median | awk '{printf "%.2f", $1 / 1000}')
    R_CPU[$t]=$(median <"$WORK/$t.cpu")
    lost=$(cat "$WORK/$t.cached" "$WORK/$t.uncached" | field lost | awk '{s += $1} END {print s + 0}')
    bad=$(cat "$WORK/$t.cached" "$WORK/$t.uncached" | field bad | awk '{s += $1} END {print s + 0}')
    R_NOTE[$t]="lost $lost, bad $bad"
    kill "$p"; wait "$p" 2>/dev/null || true; unset "PID[$t]"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 > 0) printf "%.2f", a / b; else print "n/a"}'; }
echo "## DNS: sluice listen.dns vs dnsmasq and unbound ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo
echo "Command: \`$CMD\` on $(nproc) CPUs; sluice $("$SLUICE_BIN" --version 2>/dev/null | head -1),"\
     "$(dnsmasq --version | head -1 | awk '{print $1, $2, $3}'), unbound $(unbound -V 2>/dev/null | head -1 | awk "{print \$NF}")."
echo
echo "| target | cached q/s | uncached q/s | p99 ms cached | CPU s per 100k queries | RSS KiB per cached name | lost, bad answers |"
echo "|---|---|---|---|---|---|---|"
for t in "${TARGETS[@]}"; do
    echo "| $t | ${R_CACHED[$t]} | ${R_UNCACHED[$t]} | ${R_P99[$t]} | ${R_CPU[$t]} | ${R_RSS[$t]} | ${R_NOTE[$t]} |"
done
for peer in dnsmasq unbound; do
    echo "| sluice ÷ $peer | $(ratio "${R_CACHED[sluice]}" "${R_CACHED[$peer]}") | $(ratio "${R_UNCACHED[sluice]}" "${R_UNCACHED[$peer]}") | $(ratio "${R_P99[sluice]}" "${R_P99[$peer]}") | $(ratio "${R_CPU[sluice]}" "${R_CPU[$peer]}") | $(ratio "${R_RSS[sluice]}" "${R_RSS[$peer]}") | |"
done
echo
echo "$CONC queries outstanding, $ROUNDS round(s) of $DURATION s, medians; cached = 100 names, uncached = a new name per query."
echo "RSS per cached name = (RSS after $FILL distinct names - before) / $FILL. Caps below $FILL:"\
     "dnsmasq --cache-size=10000; sluice's one resolver cache (every worker's) holds at most 16384 names."\
     "unbound: msg-cache 64m, rrset-cache 128m (no cap at $FILL). dnsmasq allocates its whole cache at start, so its delta is about 0."
[[ $BENCH_SLUICE_LOG == file && -f $WORK/sluice.jsonl ]] &&
    echo "sluice logged to a file: $(wc -l <"$WORK/sluice.jsonl") JSON lines."
exit 0
