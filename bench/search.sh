#!/usr/bin/env bash
# bench/search.sh - what answering a search API from SearXNG costs sluice (search:, docs/search.md):
# a Tavily search (POST api.tavily.com/search, JSON) through sluice, answered from a SearXNG
# stand-in that costs nothing (nginx serving a saved SearXNG answer of 10 results), against the
# same stand-in asked directly (GET /search?q=...&format=json), under wrk keep-alive load at
# c=CONNS. The two take turns in each of ROUNDS rounds. It reports searches per second both
# ways, sluice's CPU per search (its one worker, from /proc), and the latency sluice adds: the
# cost to set beside SearXNG's own time per search, which fans out to real engines (hundreds of
# milliseconds). The cache is off: every search is asked of the stand-in.
#
# Everything on 127.0.0.1; wrk is bounded by -d and timeout; the EXIT trap stops exactly the
# PIDs this script started. Knobs: ROUNDS (3), SECS (8), CONNS (50), THREADS (2), SLUICE_BIN.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
SECS=${SECS:-8}
CONNS=${CONNS:-50}
THREADS=${THREADS:-2}
SLUICE_BIN=${SLUICE_BIN:-build/sluice}
INSTALL=${INSTALL:-1}
LO=127.0.0.1
ORIGIN=18790
PROXY=18791
CMDLINE="ROUNDS=$ROUNDS SECS=$SECS CONNS=$CONNS THREADS=$THREADS $0"

log() { printf '[search %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
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

WORK=$(mktemp -d -t sluice-search.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/www" "$WORK/nginx"
# A SearXNG answer as it comes: ten results with titles, urls, contents, engines, scores.
{
    printf '{"query":"egress proxy","number_of_results":0,"results":['
    for i in $(seq 0 9); do
        ((i)) && printf ','
        printf '{"url":"https://example%d.org/articles/egress-proxy-%d","title":"Egress proxy article %d","content":"An egress proxy sits between sandboxed agents and the network; it judges every request against a policy, result %d.","engine":"duckduckgo","engines":["duckduckgo","brave"],"score":%d.5,"category":"general"}' "$i" "$i" "$i" "$i" "$((10 - i))"
    done
    printf '],"answers":[],"corrections":[],"infoboxes":[],"suggestions":[],"unresponsive_engines":[]}'
} >"$WORK/www/answer.json"
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
    server {
        listen $LO:$ORIGIN;
        location = /search { default_type application/json; alias $WORK/www/answer.json; }
    }
}
EOF
nginx -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx.conf" 2>"$WORK/nginx.err" &
STARTED+=("$!")

cat >"$WORK/sluice.yaml" <<EOF
listen:
  http: "$LO:$PROXY"
ips:
  allow: ["127.0.0.0/8"]
workers: 1
log:
  file: "$WORK/sluice.jsonl"
routes:
  - host: search.internal
    upstream: "http://$LO:$ORIGIN"
search:
  route: search.internal
  rate: 0
  cache_ttl: 0
EOF
"$SLUICE_BIN" -c "$WORK/sluice.yaml" 2>"$WORK/sluice.err" &
SPID=$!
STARTED+=("$SPID")
for port in $ORIGIN $PROXY; do
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/$LO/$port") 2>/dev/null && break
        sleep 0.05
    done
done

RESULT_LUA='done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d status=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end'
cat >"$WORK/tavily.lua" <<EOF
wrk.method = "POST"
wrk.path = "http://api.tavily.com/search"
wrk.headers["Host"] = "api.tavily.com"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer tvly-placeholder"
wrk.body = '{"query": "egress proxy", "max_results": 10, "search_depth": "basic"}'
$RESULT_LUA
EOF
cat >"$WORK/direct.lua" <<EOF
wrk.path = "/search?q=egress%20proxy&format=json&pageno=1"
$RESULT_LUA
EOF
check=$(curl -s --max-time 5 -x "http://$LO:$PROXY" -H 'Content-Type: application/json' \
    --data '{"query":"egress proxy","max_results":10}' http://api.tavily.com/search) || true
[[ $check == *'"title":"Egress proxy article 0"'* ]] ||
    die "the search through sluice got: ${check:0:200} $(tail -3 "$WORK/sluice.err")"

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

declare -a RATIO CPU ADDED SRPS DRPS
for r in $(seq "$ROUNDS"); do
    out=$(timeout $((SECS + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" \
        -s "$WORK/direct.lua" "http://$LO:$ORIGIN/" 2>&1 | grep '^RESULT') || die "wrk direct: $out"
    d_rps=$(($(kv requests "$out") * 1000000 / $(kv duration_us "$out")))
    d_p50=$(kv p50_us "$out")
    log "round $r direct: $out"
    c0=$(cpu_ticks "$SPID")
    out=$(timeout $((SECS + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" \
        -s "$WORK/tavily.lua" "http://$LO:$PROXY/" 2>&1 | grep '^RESULT') || die "wrk sluice: $out"
    c1=$(cpu_ticks "$SPID")
    log "round $r sluice: $out"
    [[ $(kv errors "$out") == 0 && $(kv status "$out") == 0 ]] || die "errors through sluice: $out"
    reqs=$(kv requests "$out")
    s_rps=$((reqs * 1000000 / $(kv duration_us "$out")))
    SRPS+=("$s_rps")
    DRPS+=("$d_rps")
    RATIO+=("$(awk -v a="$s_rps" -v b="$d_rps" 'BEGIN { printf "%.3f", a / b }')")
    CPU+=("$(awk -v t=$((c1 - c0)) -v n="$reqs" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')")
    ADDED+=("$(awk -v a="$(kv p50_us "$out")" -v b="$d_p50" 'BEGIN { printf "%.2f", (a - b) / 1000 }')")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "## Search answering cost ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo
echo "* Command: \`$CMDLINE\`; $(nproc) CPUs, Linux $(uname -r); one sluice worker; wrk -t$THREADS -c$CONNS, ${SECS}s a run; cache off, no rate limit."
echo "* A Tavily search (POST JSON) through sluice, answered from a SearXNG stand-in (nginx serving a saved answer of ten results), against the stand-in asked directly."
echo
echo "| | per round | median |"
echo "|---|---|---|"
echo "| searches/s through sluice | ${SRPS[*]} | $(median "${SRPS[@]}") |"
echo "| stand-in alone, requests/s | ${DRPS[*]} | $(median "${DRPS[@]}") |"
echo "| sluice ÷ stand-in | ${RATIO[*]} | **$(median "${RATIO[@]}")** |"
echo "| sluice CPU per search, µs | ${CPU[*]} | **$(median "${CPU[@]}")** |"
echo "| median latency sluice adds, ms | ${ADDED[*]} | **$(median "${ADDED[@]}")** |"
echo
echo "Each search through sluice reads the JSON request, asks the stand-in on a pooled or new"
echo "connection, parses its ten results and writes Tavily's JSON. A real SearXNG spends hundreds"
echo "of milliseconds per search waiting on its engines; the figures above are sluice's share."
