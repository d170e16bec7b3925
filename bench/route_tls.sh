#!/usr/bin/env bash
# bench/route_tls.sh - what a route to an https:// upstream costs next to a plain http:// one
# (`make bench-route-tls`). See bench/README.md.
#
# One nginx origin on 127.0.0.1 serves /100b over plain HTTP (:18480) and over TLS (:18443,
# certificate from a throwaway CA made here with openssl). sluice (SLUICE_BIN) routes
# plain.bench -> http://127.0.0.1:18480 and tls.bench -> https://127.0.0.1:18443 (ca_file =
# the throwaway CA); wrk sends absolute-URI GETs for each route through it, keep-alive, c=50.
# BASELINE_BIN, when set, is a second sluice measured the same way in the same run (e.g. a
# build of an older commit), so that changes can be given as ratios on one noisy machine.
#
# Printed: one markdown table (req/s, p50/p99, new upstream connections per 1000 requests
# from nginx's stub_status, sluice's RSS growth over round 1 per load connection), then the ratios https ÷ plain per binary and SLUICE ÷ BASELINE per
# route. Hard rules: every socket is on 127.0.0.1; every load step is bounded by `timeout`.
set -euo pipefail

SLUICE_BIN=${SLUICE_BIN:-build/sluice}
BASELINE_BIN=${BASELINE_BIN:-}
WRK_SECS=${WRK_SECS:-5}
CONNS=${CONNS:-50}
ROUNDS=${ROUNDS:-2}
LO=127.0.0.1
PLAIN_PORT=18480 TLS_PORT=18443 STATUS_PORT=18481 PROXY_PORT=18128

log() { echo "route_tls: $*" >&2; }
die() { log "$*"; exit 1; }
for tool in nginx wrk openssl curl; do
    command -v "$tool" >/dev/null || die "$tool is missing (sudo apt-get install -y nginx wrk openssl curl)"
done
[[ -x $SLUICE_BIN ]] || die "no sluice at $SLUICE_BIN (make build)"
[[ -z $BASELINE_BIN || -x $BASELINE_BIN ]] || die "no baseline sluice at $BASELINE_BIN"

WORK=$(mktemp -d -t sluice-route-tls.XXXXXX)
chmod 755 "$WORK" # nginx workers run as another user
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---- a throwaway CA and a certificate for 127.0.0.1 (an IP SAN: the route names an IP) ----
(
    cd "$WORK"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
        -subj "/CN=sluice bench CA" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -keyout origin.key -out origin.csr \
        -subj "/CN=127.0.0.1" >/dev/null 2>&1
    printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
    openssl x509 -req -in origin.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile san.ext -out origin.pem >/dev/null 2>&1
) || die "openssl could not make the certificates"

mkdir -p "$WORK"/{www,nginx,logs}
chmod 755 "$WORK/www"
printf '%0100d' 0 >"$WORK/www/100b"
cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/logs/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 600s;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen $LO:$PLAIN_PORT;
        listen $LO:$TLS_PORT ssl;
        ssl_certificate $WORK/origin.pem;
        ssl_certificate_key $WORK/origin.key;
        root $WORK/www;
    }
    server {
        listen $LO:$STATUS_PORT;
        location = /status { stub_status; }
    }
}
EOF
nginx -e "$WORK/logs/nginx-error.log" -p "$WORK/nginx" -c "$WORK/nginx.conf" \
    >"$WORK/logs/nginx.out" 2>&1 &
PIDS+=($!)

cat >"$WORK/sluice.yaml" <<EOF
listen:
  http: "$LO:$PROXY_PORT"
resolver:
  servers: ["$LO"]   # no name is resolved: both upstreams are IP literals
workers: 1
routes:
  - host: plain.bench
    upstream: "http://$LO:$PLAIN_PORT"
  - host: tls.bench
    upstream: "https://$LO:$TLS_PORT"
    ca_file: "$WORK/ca.pem"
EOF

wait_port() { # port
    local i
    for i in $(seq 100); do
        (exec 3<>"/dev/tcp/$LO/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    die "nothing listens on $LO:$1"
}
wait_port $PLAIN_PORT
wait_port $TLS_PORT

accepts() { # nginx's accepted connections so far
    curl -s --noproxy '*' --max-time 5 "http://$LO:$STATUS_PORT/status" | awk 'NR == 3 { print $1 }'
}

for route in plain tls; do
    cat >"$WORK/$route.lua" <<EOF
wrk.method = "GET"
wrk.path = "http://$route.bench/100b"
wrk.headers["Host"] = "$route.bench"
EOF
done

declare -A RPS P50 P99 CPR PARKED
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
measure() { # label binary
    local label=$1 bin=$2 route r out n rps p50 p99 a0 a1 rss0 rss1
    "$bin" -c "$WORK/sluice.yaml" >/dev/null 2>"$WORK/logs/sluice-$label.err" &
    local pid=$!
    PIDS+=($pid)
    wait_port $PROXY_PORT
    for r in $(seq "$ROUNDS"); do
        for route in plain tls; do
            curl -sf --max-time 5 -x "http://$LO:$PROXY_PORT" "http://$route.bench/100b" >/dev/null ||
                die "$label: the $route route does not answer: $(curl -s --max-time 5 -x "http://$LO:$PROXY_PORT" "http://$route.bench/100b" -D - | head -c 600; cat "$WORK/logs/sluice-$label.err")"
            a0=$(accepts)
            rss0=$(rss_kib "$pid")
            out=$(timeout $((WRK_SECS + 30)) wrk -t2 -c"$CONNS" -d"${WRK_SECS}s" --latency \
                -s "$WORK/$route.lua" "http://$LO:$PROXY_PORT/" 2>&1) || die "wrk failed: $out"
            a1=$(accepts)
            sleep 0.5 # the connections are parked by now, nothing in flight
            rss1=$(rss_kib "$pid")
            n=$(awk '/requests in/ { print $1 }' <<<"$out")
            rps=$(awk '/^Requests\/sec/ { printf "%d", $2 }' <<<"$out")
            p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
            p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
            grep -q "Non-2xx" <<<"$out" && die "$label $route: non-2xx answers: $out"
            echo "raw $label $route round=$r requests=$n rps=$rps p50=$p50 p99=$p99 new_upstream_conns=$((a1 - a0)) rss_kib=$rss0..$rss1" >&2
            # round 1 opens CONNS client connections and (pooling) parks as many upstream ones
            ((r == 1)) && PARKED[$label/$route]=$(awk -v d=$((rss1 - rss0)) -v n="$CONNS" 'BEGIN { printf "%.1f", d / n }')
            # the best round counts: on a shared 2-CPU machine the noise only ever slows a run
            if [[ -z ${RPS[$label/$route]:-} || $rps -gt ${RPS[$label/$route]} ]]; then
                RPS[$label/$route]=$rps P50[$label/$route]=$p50 P99[$label/$route]=$p99
                CPR[$label/$route]=$(awk -v c=$((a1 - a0)) -v n="$n" 'BEGIN { printf "%.1f", 1000 * c / n }')
            fi
        done
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

LABELS=(sluice)
measure sluice "$SLUICE_BIN"
if [[ -n $BASELINE_BIN ]]; then
    LABELS+=(baseline)
    measure baseline "$BASELINE_BIN"
fi

echo "## sluice: a route to an https:// upstream next to a plain one"
echo
echo "* Command: \`SLUICE_BIN=$SLUICE_BIN BASELINE_BIN=$BASELINE_BIN WRK_SECS=$WRK_SECS CONNS=$CONNS ROUNDS=$ROUNDS bench/route_tls.sh\`"
echo "* $(nproc) CPUs; wrk -t2 -c$CONNS, ${WRK_SECS}s, best of $ROUNDS; GET /100b from nginx (1 worker, keep-alive); sluice with 1 worker."
echo
echo "| sluice | route | req/s | p50 / p99 | new upstream connections per 1000 requests | RSS growth in round 1, KiB per connection of the load |"
echo "|---|---|---|---|---|---|"
for l in "${LABELS[@]}"; do
    for route in plain tls; do
        echo "| $l | $route | ${RPS[$l/$route]} | ${P50[$l/$route]} / ${P99[$l/$route]} | ${CPR[$l/$route]} | ${PARKED[$l/$route]} |"
    done
done
echo
for l in "${LABELS[@]}"; do
    awk -v l="$l" -v t="${RPS[$l/tls]}" -v p="${RPS[$l/plain]}" \
        'BEGIN { printf "* %s: https route ÷ plain route, req/s: %.2f\n", l, t / p }'
done
if [[ -n $BASELINE_BIN ]]; then
    for route in plain tls; do
        awk -v r="$route" -v a="${RPS[sluice/$route]}" -v b="${RPS[baseline/$route]}" \
            'BEGIN { printf "* %s route: sluice ÷ baseline, req/s: %.2f\n", r, a / b }'
    done
fi
