#!/usr/bin/env bash
# bench/scan.sh - what egress secret scanning (scan:, docs/scan.md) costs a small request: the
# same sluice binary twice, without scan: and with the built-in set plus a credential's secret,
# in front of one nginx origin, under wrk keep-alive load at c=CONNS. The two take turns within
# each of ROUNDS rounds; the verdict is the median of the per-round ratios (target: scanning on
# at least 0.9 of scanning off). Requests carry the headers a model API call has (a bearer
# token, user agent, content type, request id, ...), so that the scan has real bytes to read.
#
# Everything on 127.0.0.1; wrk is bounded by -d and timeout; the EXIT trap stops exactly the
# PIDs this script started. Knobs: ROUNDS (5), SECS (10), CONNS (50), THREADS (2), SLUICE_BIN.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
SECS=${SECS:-10}
CONNS=${CONNS:-50}
THREADS=${THREADS:-2}
SLUICE_BIN=${SLUICE_BIN:-build/sluice}
INSTALL=${INSTALL:-1}
LO=127.0.0.1
declare -A PORT=([origin]=18780 [off]=18781 [on]=18782)
CMDLINE="ROUNDS=$ROUNDS SECS=$SECS CONNS=$CONNS THREADS=$THREADS $0"

log() { printf '[scan %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
[[ $ROUNDS =~ ^[1-9][0-9]?$ && $SECS =~ ^[1-9][0-9]?$ && $CONNS =~ ^[1-9][0-9]{0,3}$ ]] ||
    die "ROUNDS 1-99, SECS 1-99, CONNS 1-9999"
[[ $SLUICE_BIN == /* ]] || SLUICE_BIN="$PWD/$SLUICE_BIN"
[[ -x $SLUICE_BIN ]] || die "no sluice binary at $SLUICE_BIN (make build, or set SLUICE_BIN)"

STARTED=()
WORK=""
cleanup() {
    local rc=$? p
    trap - EXIT
    for p in "${STARTED[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${STARTED[@]}"; do wait "$p" 2>/dev/null || true; done
    [[ -n $WORK ]] && rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for p in nginx wrk; do
    if ! command -v "$p" >/dev/null; then
        [[ $INSTALL == 1 && $(id -u) == 0 ]] || die "missing $p (apt-get install -y $p)"
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q --no-install-recommends \
            "$p" >&2
    fi
done

WORK=$(mktemp -d -t sluice-scan.XXXXXX)
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

printf 'sk-bench-credential-secret-0123456789\n' >"$WORK/secret"
common() { # port
    cat <<EOF
listen:
  http: "$LO:$1"
ips:
  allow: ["127.0.0.0/8"]
ports: [${PORT[origin]}]
workers: 1
log:
  file: "$WORK/sluice-$1.jsonl"
EOF
}
common "${PORT[off]}" >"$WORK/off.yaml"
{
    common "${PORT[on]}"
    cat <<EOF
scan: {}
credentials:
  - name: api
    hosts: [api.example.com]
    header: "Authorization: Bearer {secret}"
    secret: {file: $WORK/secret}
EOF
} >"$WORK/on.yaml"
declare -A PID
for t in off on; do
    "$SLUICE_BIN" -c "$WORK/$t.yaml" 2>"$WORK/$t.err" &
    PID[$t]=$!
    STARTED+=("$!")
done
for port in "${PORT[@]}"; do
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/$LO/$port") 2>/dev/null && break
        sleep 0.05
    done
done

cat >"$WORK/load.lua" <<EOF
wrk.method = "POST"
wrk.path = "http://$LO:${PORT[origin]}/100b?model=gpt-4o&stream=false&user=agent-7"
wrk.headers["Host"] = "$LO:${PORT[origin]}"
wrk.headers["Authorization"] = "Bearer sluice-api-0123456789abcdef01234567"
wrk.headers["User-Agent"] = "OpenAI/Python 1.54.4"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["X-Request-Id"] = "req_01HZX3T4QW8Y9N6K5M2P7R4S6T"
wrk.headers["X-Stainless-Arch"] = "x64"
wrk.headers["X-Stainless-Runtime-Version"] = "3.11.9"
wrk.body = '{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}'
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d p99_us=%d errors=%d status=%d\n",
    summary.requests, summary.duration, latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
EOF
# nginx answers a POST to a static file with 405: the status is counted apart, the cost the same
for t in off on; do
    out=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -x "http://$LO:${PORT[$t]}" \
        -X POST "http://$LO:${PORT[origin]}/100b") || true
    [[ $out == 405 || $out == 200 ]] || die "$t: the request through sluice got '$out': $(tail -3 "$WORK/$t.err")"
done

# The body phase: 64 KiB of benign JSON per POST, the MB each sluice moves per CPU second.
cat >"$WORK/body.lua" <<EOF
wrk.method = "POST"
wrk.path = "http://$LO:${PORT[origin]}/100b"
wrk.headers["Host"] = "$LO:${PORT[origin]}"
wrk.headers["Content-Type"] = "application/json"
local row = '{"id":"550e8400-e29b-41d4-a716-446655440000","v":"lorem ipsum dolor sit amet"},'
wrk.body = "[" .. string.rep(row, math.floor(65536 / #row)) .. "{}]"
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d bodylen=%d\n",
    summary.requests, summary.duration, #wrk.body))
end
EOF
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
declare -A S
for r in $(seq "$ROUNDS"); do
    for t in off on; do
        res=$(timeout $((SECS + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 5s \
            -s "$WORK/load.lua" "http://$LO:${PORT[$t]}/" 2>&1 | grep '^RESULT') ||
            die "$t: wrk failed"
        rps=$(awk -v n="$(kv requests "$res")" -v d="$(kv duration_us "$res")" \
            'BEGIN { printf "%.0f", n / (d / 1e6) }')
        S[$t]+="$rps "
        log "round $r $t: $res rps=$rps"
        sleep 1
    done
done
declare -A B
for r in $(seq "$ROUNDS"); do
    for t in off on; do
        c0=$(cpu_ticks "${PID[$t]}")
        res=$(timeout $((SECS + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 5s \
            -s "$WORK/body.lua" "http://$LO:${PORT[$t]}/" 2>&1 | grep '^RESULT') ||
            die "$t: wrk (bodies) failed"
        c1=$(cpu_ticks "${PID[$t]}")
        mbs=$(awk -v n="$(kv requests "$res")" -v b="$(kv bodylen "$res")" -v c=$((c1 - c0)) \
            -v hz="$CLK_TCK" 'BEGIN { printf "%.0f", c ? n * b / 1e6 / (c / hz) : 0 }')
        B[$t]+="$mbs "
        log "round $r $t bodies: $res MB_per_cpu_s=$mbs"
        sleep 1
    done
done
sum_secret=$(grep -c secret_detected "$WORK/sluice-${PORT[on]}.jsonl" || true)

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratios=$(awk -v a="${S[on]}" -v b="${S[off]}" 'BEGIN { n = split(a, x, " "); split(b, y, " ");
    for (i = 1; i <= n; i++) printf "%.3f ", x[i] / y[i] }')
rr=$(median <<<"$ratios")
echo "## Secret scanning cost ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo
echo "* Command: \`$CMDLINE\`; $(nproc) CPUs, $(uname -sr); one sluice worker each; wrk -t$THREADS -c$CONNS, ${SECS}s a run."
echo "* Requests: POST through the proxy with a model API call's headers (10 fields, a bearer token) and a 64-byte body; the head is what is scanned."
echo
echo "| sluice | req/s (median) | per round |"
echo "|---|---|---|"
echo "| scan off | $(median <<<"${S[off]}") | ${S[off]% } |"
echo "| scan on (built-ins + one credential's secret) | $(median <<<"${S[on]}") | ${S[on]% } |"
echo
echo "scan on ÷ scan off, median of the per-round ratios: **$rr** (target ≥ 0.90: $(awk -v r="$rr" 'BEGIN { print (r >= 0.9) ? "met" : "missed" }')); per round: ${ratios% }. Findings logged during the run: $sum_secret (expected 0)."
echo
echo "Bodies: 64 KiB of benign JSON per POST, each scanned whole (under the 1 MiB max_body); MB of body through sluice per CPU second of its one worker:"
echo
echo "| sluice | MB per CPU second (median) | per round |"
echo "|---|---|---|"
echo "| scan off | $(median <<<"${B[off]}") | ${B[off]% } |"
echo "| scan on | $(median <<<"${B[on]}") | ${B[on]% } |"
