#!/usr/bin/env bash
# bench/console.sh - what the live console costs the proxy (issue 17's target: within 3 %): one
# sluice with its admin listener in front of one nginx origin, under wrk keep-alive load at
# c=CONNS, with no /api/events subscriber, with SUBS subscribers reading the stream (curl -N),
# and with SUBS that never read (the console must drop them, not slow down for them). The
# three take turns within each of ROUNDS rounds on the same process; the verdict is the median
# of the per-round ratios against "none".
#
# Everything on 127.0.0.1; wrk is bounded by -d and timeout, each subscriber by curl's
# --max-time; the EXIT trap stops exactly the PIDs this script started and closes its sockets.
# Knobs: ROUNDS (5), SECS (10), CONNS (50), THREADS (2), SUBS (10), WORKERS (1), SLUICE_BIN.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
SECS=${SECS:-10}
CONNS=${CONNS:-50}
THREADS=${THREADS:-2}
SUBS=${SUBS:-10}
WORKERS=${WORKERS:-1}
SLUICE_BIN=${SLUICE_BIN:-build/sluice}
INSTALL=${INSTALL:-1}
LO=127.0.0.1
declare -A PORT=([origin]=18790 [proxy]=18791 [admin]=18792)
CMDLINE="ROUNDS=$ROUNDS SECS=$SECS CONNS=$CONNS THREADS=$THREADS SUBS=$SUBS WORKERS=$WORKERS $0"

log() { printf '[console %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
[[ $ROUNDS =~ ^[1-9][0-9]?$ && $SECS =~ ^[1-9][0-9]?$ && $CONNS =~ ^[1-9][0-9]{0,3}$ &&
   $SUBS =~ ^[1-9][0-9]?$ && $WORKERS =~ ^[1-8]$ ]] ||
    die "ROUNDS 1-99, SECS 1-99, CONNS 1-9999, SUBS 1-99, WORKERS 1-8"
[[ $SLUICE_BIN == /* ]] || SLUICE_BIN="$PWD/$SLUICE_BIN"
[[ -x $SLUICE_BIN ]] || die "no sluice binary at $SLUICE_BIN (make build, or set SLUICE_BIN)"

STARTED=()
SUBPIDS=()
STALLED=()
WORK=""
stop_subs() { # [wait]: let the readers end at their --max-time, so that they say what they got
    local p fd
    [[ ${1:-} == wait ]] || for p in "${SUBPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${SUBPIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    SUBPIDS=()
    for fd in "${STALLED[@]}"; do exec {fd}>&- || true; done
    STALLED=()
}
cleanup() {
    local rc=$? p
    trap - EXIT
    stop_subs
    for p in "${STARTED[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${STARTED[@]}"; do wait "$p" 2>/dev/null || true; done
    [[ -n $WORK ]] && rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for p in nginx wrk curl; do
    if ! command -v "$p" >/dev/null; then
        [[ $INSTALL == 1 && $(id -u) == 0 ]] || die "missing $p (apt-get install -y $p)"
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q --no-install-recommends \
            "$p" >&2
    fi
done

WORK=$(mktemp -d -t sluice-console.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/www" "$WORK/nginx"
printf '%0100d' 0 | tr 0 x >"$WORK/www/100b"
chmod -R a+rX "$WORK/www"
cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
daemon off;
error_log $WORK/nginx/error.log warn;
pid $WORK/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server { listen $LO:${PORT[origin]}; root $WORK/www; }
}
EOF
nginx -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx.conf" 2>"$WORK/nginx.err" &
STARTED+=("$!")

cat >"$WORK/sluice.yaml" <<EOF
listen:
  http: "$LO:${PORT[proxy]}"
  admin: "$LO:${PORT[admin]}"
ips:
  allow: ["127.0.0.0/8"]
ports: [${PORT[origin]}]
workers: $WORKERS
log:
  file: "$WORK/sluice.jsonl"
EOF
"$SLUICE_BIN" -c "$WORK/sluice.yaml" 2>"$WORK/sluice.err" &
STARTED+=("$!")
for port in "${PORT[@]}"; do
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/$LO/$port") 2>/dev/null && break
        sleep 0.05
    done
done
out=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -x "http://$LO:${PORT[proxy]}" \
    "http://$LO:${PORT[origin]}/100b") || true
[[ $out == 200 ]] || die "the request through sluice got '$out': $(tail -3 "$WORK/sluice.err")"

cat >"$WORK/load.lua" <<EOF
wrk.path = "http://$LO:${PORT[origin]}/100b"
wrk.headers["Host"] = "$LO:${PORT[origin]}"
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d p99_us=%d errors=%d status=%d\n",
    summary.requests, summary.duration, latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
EOF

# Subscribers for one run: readers stream to a file each (what they got is counted); stalled
# ones send the request and never read, so their socket buffers fill and the console must drop
# them.
start_subs() { # kind round
    local i fd
    for i in $(seq "$SUBS"); do
        if [[ $1 == reading ]]; then
            curl -sN --max-time $((SECS + 2)) -o /dev/null -w '%{size_download}\n' \
                "http://$LO:${PORT[admin]}/api/events" >"$WORK/sub-$2-$i.txt" &
            SUBPIDS+=("$!")
        else
            exec {fd}<>"/dev/tcp/$LO/${PORT[admin]}"
            printf 'GET /api/events HTTP/1.1\r\nHost: %s:%s\r\n\r\n' "$LO" "${PORT[admin]}" >&"$fd"
            STALLED+=("$fd")
        fi
    done
    sleep 0.5 # attached before the load starts
}

kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
subs_ticks() {
    local p t=0
    for p in "${SUBPIDS[@]}"; do t=$((t + $(cpu_ticks "$p"))); done
    echo "$t"
}
SLUICE_PID=${STARTED[1]}
declare -A S C U
GOT=0
for r in $(seq "$ROUNDS"); do
    for t in none reading stalled; do
        [[ $t == none ]] || start_subs "$t" "$r"
        c0=$(cpu_ticks "$SLUICE_PID")
        u0=$(subs_ticks)
        res=$(timeout $((SECS + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 5s \
            -s "$WORK/load.lua" "http://$LO:${PORT[proxy]}/" 2>&1 | grep '^RESULT') ||
            die "$t: wrk failed"
        [[ $(kv errors "$res") == 0 && $(kv status "$res") == 0 ]] || die "$t: errors: $res"
        rps=$(awk -v n="$(kv requests "$res")" -v d="$(kv duration_us "$res")" \
            'BEGIN { printf "%.0f", n / (d / 1e6) }')
        S[$t]+="$rps "
        c1=$(cpu_ticks "$SLUICE_PID")
        u1=$(subs_ticks)
        # sluice's CPU microseconds per request, and the subscribers' CPU share of the run
        C[$t]+="$(awk -v c=$((c1 - c0)) -v hz="$CLK_TCK" -v n="$(kv requests "$res")" \
            'BEGIN { printf "%.1f", c / hz * 1e6 / n }') "
        U[$t]+="$(awk -v c=$((u1 - u0)) -v hz="$CLK_TCK" -v s="$SECS" \
            'BEGIN { printf "%.2f", c / hz / s }') "
        stop_subs wait
        if [[ $t == reading ]]; then
            got=$(cat "$WORK"/sub-"$r"-*.txt | awk '{ n += $1 } END { printf "%.0f", n }')
            GOT=$((GOT + got))
            log "round $r $t: $res rps=$rps streamed_bytes=$got"
        else
            log "round $r $t: $res rps=$rps"
        fi
        sleep 1
    done
done

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="${S[$1]}" -v b="${S[none]}" 'BEGIN { n = split(a, x, " "); split(b, y, " ");
    for (i = 1; i <= n; i++) printf "%.3f ", x[i] / y[i] }'; }
verdict() { awk -v r="$1" 'BEGIN { print (r >= 0.97) ? "met" : "not met" }'; }
rr=$(ratio reading)
rs=$(ratio stalled)
echo "## The console's cost to the proxy ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo
echo "* Command: \`$CMDLINE\`; $(nproc) CPUs, $(uname -sr); $WORKERS sluice worker(s); wrk -t$THREADS -c$CONNS, ${SECS}s a run, GET of 100 bytes from nginx through the proxy, every request a decision on the stream."
echo "* Subscribers: $SUBS \`curl -N /api/events\` reading the stream, or $SUBS connections that send the request and never read."
echo
echo "| /api/events subscribers | req/s (median) | per round | sluice CPU µs per request (median) | subscribers' CPU, cores (median) |"
echo "|---|---|---|---|---|"
echo "| none | $(median <<<"${S[none]}") | ${S[none]% } | $(median <<<"${C[none]}") | – |"
echo "| $SUBS reading | $(median <<<"${S[reading]}") | ${S[reading]% } | $(median <<<"${C[reading]}") | $(median <<<"${U[reading]}") |"
echo "| $SUBS never reading | $(median <<<"${S[stalled]}") | ${S[stalled]% } | $(median <<<"${C[stalled]}") | – |"
echo
m=$(median <<<"$rr")
echo "$SUBS reading ÷ none, median of the per-round ratios: **$m** (target ≥ 0.97: $(verdict "$m")); per round: ${rr% }."
m=$(median <<<"$rs")
echo "$SUBS never reading ÷ none: **$m** (target ≥ 0.97: $(verdict "$m")); per round: ${rs% }."
echo "The reading subscribers received $((GOT / 1000000)) MB in all (each gets every decision while attached)."
