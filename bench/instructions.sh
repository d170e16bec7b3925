#!/usr/bin/env bash
# bench/instructions.sh - instructions per keep-alive request, counted by valgrind's callgrind:
# the same for the same binary and inputs whatever else the machine runs, so two builds can be
# compared on a busy 2-core machine where req/s and CPU seconds move by 10-20 % between runs.
#
# For each binary (SLUICE_BIN, and BASELINE_BIN when set) it starts sluice (one worker) under
# callgrind twice, sends N1 and then N2 keep-alive GETs through it on one connection (curl,
# from a 100-byte nginx origin), and reports (Ir(N2) - Ir(N1)) / (N2 - N1): start-up and
# shutdown cancel out. Everything is on 127.0.0.1; every step is bounded by `timeout`.
# Knobs: SLUICE_BIN (build/sluice), BASELINE_BIN, N1 (200), N2 (1200), BENCH_SLUICE_LOG
# (file | null). Output: one markdown table on stdout; progress on stderr.
set -euo pipefail

SLUICE_BIN=${SLUICE_BIN:-build/sluice}
BASELINE_BIN=${BASELINE_BIN:-}
N1=${N1:-200}
N2=${N2:-1200}
BENCH_SLUICE_LOG=${BENCH_SLUICE_LOG:-file}
LO=127.0.0.1
ORIGIN_PORT=18480
PROXY_PORT=18490

log() { printf '[instructions %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
for tool in valgrind nginx curl ss; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install valgrind nginx curl iproute2)"
done
((N2 > N1)) || die "N2 must be larger than N1"
BINS=("$SLUICE_BIN"); [[ -n $BASELINE_BIN ]] && BINS+=("$BASELINE_BIN")
for b in "${BINS[@]}"; do [[ -x $b ]] || die "no sluice binary at $b"; done

WORK=$(mktemp -d -t sluice-instr.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() { # port -> 0 once listening (bounded: 60 s, callgrind starts slowly)
    local i
    for ((i = 0; i < 600; i++)); do
        [[ -n $(ss -Htln "sport = :$1" 2>/dev/null) ]] && return 0
        sleep 0.1
    done
    return 1
}

mkdir -p "$WORK/www" "$WORK/origin"
printf '%0100d' 0 | tr 0 x >"$WORK/www/100b"
chmod 755 "$WORK" "$WORK/www"; chmod 644 "$WORK/www/100b"
cat >"$WORK/origin.conf" <<EOF
worker_processes 1;
pid $WORK/origin.pid;
error_log $WORK/origin-error.log warn;
daemon off;
events {}
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/origin/body;
    proxy_temp_path $WORK/origin/proxy;
    fastcgi_temp_path $WORK/origin/fastcgi;
    uwsgi_temp_path $WORK/origin/uwsgi;
    scgi_temp_path $WORK/origin/scgi;
    server { listen $LO:$ORIGIN_PORT; root $WORK/www; }
}
EOF
nginx -p "$WORK/origin" -c "$WORK/origin.conf" -e "$WORK/origin-error.log" &
PIDS+=("$!")
wait_port "$ORIGIN_PORT" || die "the origin did not start"
cat >"$WORK/sluice.yaml" <<EOF
listen:
  http: "$LO:$PROXY_PORT"
workers: 1
seccomp: false           # valgrind's own system calls are not in sluice's filter
resolver:
  servers: ["$LO"]
ips:
  allow: ["127.0.0.1/32"]
ports: [$ORIGIN_PORT]
EOF
for n in "$N1" "$N2"; do
    for ((i = 0; i < n; i++)); do echo "url = \"http://$LO:$ORIGIN_PORT/100b\""; echo "output = /dev/null"; done >"$WORK/urls-$n"
done

count() { # binary requests -> instructions (Ir) of the whole run
    local bin=$1 n=$2 out=$WORK/cg.out logf=/dev/null pid got
    [[ $BENCH_SLUICE_LOG == file ]] && logf=$WORK/sluice.jsonl
    rm -f "$out"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" -c "$WORK/sluice.yaml" \
        >"$logf" 2>"$WORK/vg.err" &
    pid=$!
    wait_port "$PROXY_PORT" || die "sluice did not start under callgrind: $(tail -3 "$WORK/vg.err")"
    timeout 600 curl -s -x "http://$LO:$PROXY_PORT" -K "$WORK/urls-$n" -w '%{http_code}\n' \
        >"$WORK/codes" || die "curl failed"
    got=$(grep -c '^200$' "$WORK/codes" || true)
    ((got == n)) || die "$got of $n requests got 200"
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    awk '/^summary:/ { print $2 }' "$out"
}

echo "## Instructions per keep-alive request (bench/instructions.sh)"
echo
echo "* Date: $(date -u '+%Y-%m-%d %H:%M UTC'); valgrind $(valgrind --version | sed 's/valgrind-//'); N1=$N1, N2=$N2 GETs of 100 bytes on one kept-alive connection, one worker, log lines to $([[ $BENCH_SLUICE_LOG == file ]] && echo 'a file' || echo /dev/null)."
echo
echo "| binary | instructions / request | Ir at N1 | Ir at N2 |"
echo "|---|---|---|---|"
declare -A PER=()
for b in "${BINS[@]}"; do
    log "$b: $N1 requests"; i1=$(count "$b" "$N1")
    log "$b: $N2 requests"; i2=$(count "$b" "$N2")
    PER[$b]=$(( (i2 - i1) / (N2 - N1) ))
    echo "| \`$b\` | ${PER[$b]} | $i1 | $i2 |"
done
if [[ -n $BASELINE_BIN ]]; then
    echo
    awk -v a="${PER[$SLUICE_BIN]}" -v b="${PER[$BASELINE_BIN]}" \
        'BEGIN { printf "sluice ÷ baseline: %.3f\n", a / b }'
fi
