#!/usr/bin/env bash
# bench/intercept.sh - TLS interception: sluice intercepting against Squid ssl-bump, with
# nginx terminating TLS in front of the same origin as the handshake reference and the origin
# itself as the ceiling. See bench/README.md ("TLS interception").
#
# Everything runs on 127.0.0.1, in a mktemp -d directory: a throwaway CA and an origin
# certificate for origin.test (openssl), an HTTPS origin (nginx), a dnsmasq that answers
# origin.test with 127.0.0.1 (sluice's resolver; Squid reads a hosts_file), then
#   sluice   intercept: [origin.test], tls.upstream_ca = the throwaway CA, workers = nproc
#   squid    squid-openssl, ssl_bump bump all, certificates from security_file_certgen
#   nginx    a TLS terminating reverse proxy to the origin (keep-alive upstream pool)
#   direct   TLS straight to the origin
# and measures each with bench/tlsload.c (built here with gcc -O2): keep-alive HTTPS requests
# per second at c=CONNS, and new TLS handshakes per second (one GET each) at c=CONNS.
# Each figure is the median of ROUNDS rounds; the targets take turns within a round.
#
# Printed on stdout: one markdown table and the ratios (sluice ÷ squid keep-alive, target
# >= 3; sluice ÷ nginx handshakes, target >= 0.8). Progress on stderr. PERF=1 adds a
# keep-alive run of sluice under `perf record -g` and prints the top of its profile.
#
# Hard rules: every socket is on 127.0.0.1; every load step is bounded (tlsload -d, timeout);
# the EXIT trap stops exactly the PIDs this script started.
set -euo pipefail

KNOBS=(QUICK ROUNDS KA_SECS HS_SECS CONNS MEASURE SQUID_WORKERS SLUICE_BIN INSTALL KEEP_WORK PERF PERF_SECS)
CMDLINE=""
for k in "${KNOBS[@]}"; do
    [[ -n ${!k+x} ]] && CMDLINE+="$k=${!k@Q} "
done
CMDLINE+="$0${*:+ $*}"

QUICK=${QUICK:-0}
ROUNDS=${ROUNDS:-5}
KA_SECS=${KA_SECS:-10}     # keep-alive measurement, seconds
HS_SECS=${HS_SECS:-5}      # handshake measurement, seconds
CONNS=${CONNS:-50}
SLUICE_BIN=${SLUICE_BIN:-build/sluice}
INSTALL=${INSTALL:-1}
KEEP_WORK=${KEEP_WORK:-0}
PERF=${PERF:-0}
PERF_SECS=${PERF_SECS:-8}
MEASURE=${MEASURE:-"sluice squid nginx direct"}   # the targets measured (all are started)
SQUID_WORKERS=${SQUID_WORKERS:-1}  # 1: one process (-N), as bench/run.sh; N > 1: SMP, N workers
if [[ $QUICK == 1 ]]; then
    ROUNDS=1 KA_SECS=5 HS_SECS=3 PERF_SECS=3
fi

LO=127.0.0.1
HOST=origin.test
declare -A PORT=([origin]=18643 [status]=18645 [sluice]=18628 [squid]=18629 [nginx]=18644 [dns]=18653)
TARGETS=(sluice squid nginx direct)
read -r -a MEASURED <<<"$MEASURE"
declare -A LABEL=([sluice]="**sluice** (intercepting)" [squid]="Squid ssl-bump"
                  [nginx]="ref: nginx TLS reverse proxy" [direct]="direct TLS to the origin")
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY || true
export LC_ALL=C
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
T_BEGIN=$(date +%s)
NPROC=$(nproc)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf '[intercept %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || die "ROUNDS must be 1-99"
[[ $KA_SECS =~ ^[1-9][0-9]*$ && $KA_SECS -le 300 ]] || die "KA_SECS must be 1-300"
[[ $HS_SECS =~ ^[1-9][0-9]*$ && $HS_SECS -le 300 ]] || die "HS_SECS must be 1-300"
[[ $PERF_SECS =~ ^[1-9][0-9]*$ && $PERF_SECS -le 120 ]] || die "PERF_SECS must be 1-120"
[[ $SQUID_WORKERS =~ ^[1-9]$ ]] || die "SQUID_WORKERS must be 1-9"
[[ $CONNS =~ ^[1-9][0-9]*$ && $CONNS -le 2000 ]] || die "CONNS must be 1-2000"
for t in "${MEASURED[@]}"; do
    [[ " ${TARGETS[*]} " == *" $t "* ]] || die "MEASURE: unknown target '$t' (${TARGETS[*]})"
done
((${#MEASURED[@]})) || die "MEASURE names no target"
[[ $SLUICE_BIN == /* ]] || SLUICE_BIN="$PWD/$SLUICE_BIN"
[[ -x $SLUICE_BIN ]] || die "no sluice binary at $SLUICE_BIN (make build, or set SLUICE_BIN)"

# ------------------------------------------------------------------ state ---
# Set before anything can fail, so the EXIT trap sees them.
STARTED=()        # every PID this script started, in order
declare -A PID=()
SWAPPED_SQUID=0   # 1: installing squid-openssl removed Debian's squid; put it back at exit
POLICY_RC=""      # the policy-rc.d this script created (and removes) around apt-get
WORK=""

apt_install() { # packages...   (never starts their services: policy-rc.d says no)
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        POLICY_RC=/usr/sbin/policy-rc.d
    fi
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends "$@" >&2 ||
        { log "apt-get install failed; trying after apt-get update"; timeout 300 apt-get update -q >&2;
          DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends "$@" >&2; }
    if [[ -n $POLICY_RC ]]; then
        rm -f "$POLICY_RC"
        POLICY_RC=""
    fi
}

cleanup() {
    local rc=$? i
    trap - EXIT
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do kill "${STARTED[i]}" 2>/dev/null || true; done
    for pid in "${STARTED[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n $WORK ]]; then
        if [[ $KEEP_WORK == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    fi
    [[ -n $POLICY_RC ]] && rm -f "$POLICY_RC"
    if [[ $SWAPPED_SQUID == 1 ]]; then
        log "restoring Debian's squid package (squid-openssl replaced it for this run)"
        apt_install squid || log "warning: could not reinstall squid; run: apt-get install squid"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# --------------------------------------------------------------- install ---
# squid-openssl is Squid built with OpenSSL (ssl-bump); it conflicts with Debian's plain squid
# package, which bench/run.sh installs. If that one is here, it is swapped for squid-openssl
# and reinstalled at exit; nothing else is removed.
PKGS=(nginx squid-openssl dnsmasq-base openssl curl gcc libc6-dev libssl-dev procps)
((PERF)) && PKGS+=(linux-perf)
missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
    [[ $INSTALL == 1 && $(id -u) == 0 ]] ||
        die "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})"
    if [[ " ${missing[*]} " == *" squid-openssl "* ]] && installed squid; then
        log "squid-openssl replaces the squid package for this run (restored at exit)"
        SWAPPED_SQUID=1
    fi
    log "installing: ${missing[*]}"
    apt_install "${missing[@]}"
fi
CERTGEN=/usr/lib/squid/security_file_certgen
[[ -x $CERTGEN ]] || die "no $CERTGEN (squid-openssl)"
squid -v | grep -q -- '--with-openssl' || die "this squid has no OpenSSL (install squid-openssl)"

# ------------------------------------------------------------ work dir ---
WORK=$(mktemp -d -t sluice-intercept.XXXXXX)
chmod 755 "$WORK" # nginx workers and squid run as other users
mkdir -p "$WORK"/{www,logs,nginx-origin,nginx-rp,squid}
printf '%0100d' 0 | tr 0 x >"$WORK/www/100b"
chmod 755 "$WORK/www"
chmod 644 "$WORK/www/100b"

gcc -std=c11 -O2 -Wall -Wextra -o "$WORK/tlsload" "$HERE/tlsload.c" -lssl -lcrypto ||
    die "could not build tlsload"

# ---- a throwaway CA, and the origin's certificate for origin.test (ECDSA P-256, as sluice's
# leaves are) ----
(
    cd "$WORK"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
        -out ca.pem -days 2 -subj "/CN=sluice intercept bench CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout origin.key \
        -out origin.csr -subj "/CN=$HOST"
    printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$HOST" >san.ext
    openssl x509 -req -in origin.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile san.ext -out origin.pem
    # Squid's own bumping CA (it signs the leaves Squid mints, with this key)
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout squid-ca.key \
        -out squid-ca.pem -days 2 -subj "/CN=squid bench bump CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    chmod 644 ./*.pem ./*.key # throwaway keys, read by the proxies' own users
) >"$WORK/logs/openssl.log" 2>&1 || die "openssl could not make the certificates: $(cat "$WORK/logs/openssl.log")"

start_proc() { # name cmd...   (the command stays in the foreground)
    local name=$1
    shift
    "$@" >"$WORK/logs/$name.out" 2>"$WORK/logs/$name.err" &
    PID[$name]=$!
    STARTED+=("$!")
}

wait_port() { # port name
    local i
    for i in $(seq 200); do
        (exec 3<>"/dev/tcp/$LO/$1") 2>/dev/null && return 0
        kill -0 "${PID[$2]}" 2>/dev/null || die "$2 exited: $(tail -5 "$WORK/logs/$2.err")"
        sleep 0.05
    done
    die "$2: nothing listens on $LO:$1: $(tail -5 "$WORK/logs/$2.err")"
}

# ----------------------------------------------------------------- origin ---
nginx_common() { # prefix-dir
    cat <<EOF
user www-data;
worker_processes $NPROC;
daemon off;
error_log $1/error.log warn;
pid $1/nginx.pid;
events { worker_connections 8192; }
EOF
}
temp_paths() { # prefix-dir
    local t
    for t in client_body proxy fastcgi uwsgi scgi; do echo "    ${t}_temp_path $1/$t;"; done
}
{
    nginx_common "$WORK/nginx-origin"
    cat <<EOF
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 900s;
    default_type application/octet-stream;
$(temp_paths "$WORK/nginx-origin")
    server {
        listen $LO:${PORT[origin]} ssl backlog=4096;
        server_name $HOST;
        ssl_certificate $WORK/origin.pem;
        ssl_certificate_key $WORK/origin.key;
        ssl_protocols TLSv1.2 TLSv1.3; # nginx 1.22 offers no TLS 1.3 unless asked
        root $WORK/www;
    }
    server {
        listen $LO:${PORT[status]};
        location = /status { stub_status; }
    }
}
EOF
} >"$WORK/nginx-origin.conf"
start_proc origin nginx -e "$WORK/nginx-origin/error.log" -p "$WORK/nginx-origin" -c "$WORK/nginx-origin.conf"
wait_port "${PORT[origin]}" origin

# origin.test -> 127.0.0.1 for sluice's resolver (sluice reads no /etc/hosts: DNS only)
start_proc dns dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --listen-address=$LO \
    --bind-interfaces --port="${PORT[dns]}" --address="/$HOST/$LO" --local-ttl=300 \
    --user="$(id -un)" --pid-file=
sleep 0.3
kill -0 "${PID[dns]}" 2>/dev/null || die "dnsmasq exited: $(cat "$WORK/logs/dns.err")"

# ----------------------------------------------------------------- sluice ---
cat >"$WORK/sluice.yaml" <<EOF
listen:
  http: "$LO:${PORT[sluice]}"
resolver:
  servers: ["$LO:${PORT[dns]}"]   # the dnsmasq above: origin.test is 127.0.0.1
ips:
  allow: ["127.0.0.0/8"]          # the origin is on loopback
ports: [${PORT[origin]}]
intercept: ["$HOST"]
tls:
  state_dir: "$WORK/sluice-state"
  upstream_ca: "$WORK/ca.pem"
workers: $NPROC
log:
  file: "$WORK/logs/sluice.jsonl"
timeouts:
  client_idle: 600s
  tunnel_idle: 600s
limits:
  max_connections: 100000
EOF
"$SLUICE_BIN" ca export -c "$WORK/sluice.yaml" >"$WORK/sluice-ca.pem" 2>"$WORK/logs/sluice-ca.err" ||
    die "sluice ca export failed: $(cat "$WORK/logs/sluice-ca.err")"
start_proc sluice "$SLUICE_BIN" -c "$WORK/sluice.yaml"

# ------------------------------------------------------------------ squid ---
SQ=$WORK/squid
printf '%s %s\n' "$LO" "$HOST" >"$SQ/hosts"
"$CERTGEN" -c -s "$SQ/ssl_db" -M 16MB >"$WORK/logs/certgen-init.log" 2>&1 ||
    die "security_file_certgen -c failed: $(cat "$WORK/logs/certgen-init.log")"
cat >"$SQ/squid.conf" <<EOF
http_port $LO:${PORT[squid]} ssl-bump tls-cert=$WORK/squid-ca.pem tls-key=$WORK/squid-ca.key generate-host-certificates=on dynamic_cert_mem_cache_size=16MB
sslcrtd_program $CERTGEN -s $SQ/ssl_db -M 16MB
sslcrtd_children 8 startup=2 idle=1
ssl_bump bump all
tls_outgoing_options cafile=$WORK/ca.pem
hosts_file $SQ/hosts
dns_nameservers $LO
visible_hostname sluice-bench.invalid
udp_incoming_address $LO
udp_outgoing_address $LO
acl lo src 127.0.0.1/32
http_access allow lo
http_access deny all
cache deny all
cache_mem 8 MB
access_log none
cache_store_log none
cache_log $SQ/cache.log
logfile_rotate 0
debug_options ALL,1
pid_filename $SQ/squid.pid
coredump_dir $SQ
pinger_enable off
netdb_filename none
max_filedescriptors 65536
shutdown_lifetime 1 seconds
cache_effective_user proxy
EOF
if ((SQUID_WORKERS == 1)); then
    chown -R proxy:proxy "$SQ"
    start_proc squid squid -N -f "$SQ/squid.conf" # one process, as in bench/run.sh
else
    # SMP: a master that stays in the foreground (--foreground), a coordinator and N workers,
    # all its children; stopping the master stops them (shutdown_lifetime 1 s)
    printf 'workers %d\n' "$SQUID_WORKERS" >>"$SQ/squid.conf"
    chown -R proxy:proxy "$SQ"
    start_proc squid squid --foreground -f "$SQ/squid.conf"
fi

# ------------------------------------------------- nginx TLS reverse proxy ---
{
    nginx_common "$WORK/nginx-rp"
    cat <<EOF
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 900s;
$(temp_paths "$WORK/nginx-rp")
    upstream origin {
        server $LO:${PORT[origin]};
        keepalive 256;
    }
    server {
        listen $LO:${PORT[nginx]} ssl backlog=4096;
        server_name $HOST;
        ssl_certificate $WORK/origin.pem;
        ssl_certificate_key $WORK/origin.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {
            proxy_pass https://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $HOST:${PORT[origin]};
            proxy_buffering off;
            proxy_ssl_server_name on;
            proxy_ssl_name $HOST;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate $WORK/ca.pem;
            proxy_ssl_session_reuse on;
            proxy_ssl_protocols TLSv1.2 TLSv1.3;
        }
    }
}
EOF
} >"$WORK/nginx-rp.conf"
start_proc nginx nginx -e "$WORK/nginx-rp/error.log" -p "$WORK/nginx-rp" -c "$WORK/nginx-rp.conf"

wait_port "${PORT[sluice]}" sluice
wait_port "${PORT[squid]}" squid
wait_port "${PORT[nginx]}" nginx

# How tlsload reaches each target, and the CA its certificate must verify against.
declare -A HOW=([sluice]="-x $LO:${PORT[sluice]} -C $WORK/sluice-ca.pem"
                [squid]="-x $LO:${PORT[squid]} -C $WORK/squid-ca.pem"
                [nginx]="-a $LO:${PORT[nginx]} -C $WORK/ca.pem"
                [direct]="-a $LO:${PORT[origin]} -C $WORK/ca.pem")
declare -A AUTH=([sluice]="$HOST:${PORT[origin]}" [squid]="$HOST:${PORT[origin]}"
                 [nginx]="$HOST:${PORT[nginx]}" [direct]="$HOST:${PORT[origin]}")
declare -A CPU_PID=([sluice]=${PID[sluice]} [squid]=${PID[squid]} [nginx]=${PID[nginx]}
                    [direct]=${PID[origin]})

# One request through each target with curl first: a set-up mistake shows as curl's error.
for t in "${TARGETS[@]}"; do
    read -r -a how <<<"${HOW[$t]}"
    url="https://${AUTH[$t]}/100b"
    if [[ ${how[0]} == -x ]]; then
        args=(-x "http://${how[1]}" --cacert "${how[3]}")
    else
        args=(--resolve "${AUTH[$t]}:$LO" --cacert "${how[3]}")
        url="https://${AUTH[$t]%:*}:${how[1]##*:}/100b"
    fi
    body=$(curl -sS --max-time 10 "${args[@]}" "$url" 2>&1) ||
        die "$t: curl $url failed: $body; $(tail -3 "$WORK/logs/$t.err" 2>/dev/null)"
    [[ $body == "$(cat "$WORK/www/100b")" ]] || die "$t: unexpected body: ${body:0:200}"
done
log "all four targets answer over TLS"

# ------------------------------------------------------------ measuring ---
CLK_TCK=$(getconf CLK_TCK)
proc_tree() { # pid: it and its descendants
    local c
    echo "$1"
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do proc_tree "$c"; done
}
cpu_ticks() { # pid: utime+stime of the tree, in clock ticks
    local sum=0 p v
    for p in $(proc_tree "$1"); do
        v=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || continue
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}
origin_accepts() { # connections the origin has accepted so far (stub_status)
    curl -s --noproxy '*' --max-time 5 "http://$LO:${PORT[status]}/status" | awk 'NR == 3 { print $1 }'
}
field() { # line key
    sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"
}

declare -A KA_RPS KA_P50 KA_P99 KA_CPU KA_CCPU HS_RATE HS_P99 HS_CPU HS_CCPU HS_CONNS
run_load() { # target mode secs -> prints tlsload's RESULT line, then the CPU ms per 1000
    local t=$1 mode=$2 secs=$3 c0 c1 out n a0 a1
    read -r -a how <<<"${HOW[$t]}"
    a0=$(origin_accepts)
    c0=$(cpu_ticks "${CPU_PID[$t]}")
    out=$(timeout $((secs + 60)) "$WORK/tlsload" -m "$mode" -c "$CONNS" -d "$secs" -S 30 \
        -t "${AUTH[$t]}" -P /100b "${how[@]}") || die "$t $mode: tlsload failed: $out"
    c1=$(cpu_ticks "${CPU_PID[$t]}")
    a1=$(origin_accepts)
    n=$(field "$out" requests)
    [[ -n $n ]] || n=$(field "$out" handshakes)
    echo "$out"
    # CPU ms per 1000, and the origin's new connections per 1000 (the set-up included)
    awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" -v n="$n" -v a=$((a1 - a0)) \
        'BEGIN { printf "%.2f %.1f\n", n ? 1e6 * d / hz / n : 0, n ? 1000 * a / n : 0 }'
}

declare -A SAMPLES=() TLSV=()
for r in $(seq "$ROUNDS"); do
    for t in "${MEASURED[@]}"; do
        for mode in keepalive handshakes; do
            secs=$KA_SECS
            [[ $mode == handshakes ]] && secs=$HS_SECS
            res=$(run_load "$t" "$mode" "$secs")
            line=$(head -1 <<<"$res")
            read -r cpu conns <<<"$(tail -1 <<<"$res")"
            fails=$(field "$line" fail)
            log "round $r $t $mode: $line cpu_ms_per_1000=$cpu origin_conns_per_1000=$conns"
            ((fails == 0)) || log "warning: $t $mode: $fails failures in round $r"
            if [[ $mode == keepalive ]]; then
                SAMPLES[$t/ka_rps]+="$(field "$line" rps) "
                SAMPLES[$t/ka_p50]+="$(field "$line" p50_ms) "
                SAMPLES[$t/ka_p99]+="$(field "$line" p99_ms) "
                SAMPLES[$t/ka_cpu]+="$cpu "
                SAMPLES[$t/ka_ccpu]+="$(field "$line" client_cpu) "
            else
                SAMPLES[$t/hs_rate]+="$(field "$line" hps) "
                SAMPLES[$t/hs_p99]+="$(field "$line" p99_ms) "
                SAMPLES[$t/hs_cpu]+="$cpu "
                SAMPLES[$t/hs_conns]+="$conns "
                SAMPLES[$t/hs_ccpu]+="$(field "$line" client_cpu) "
            fi
            SAMPLES[$t/fails]+="$fails "
            TLSV[$t]=$(field "$line" tls)
            sleep 1 # TIME_WAIT and the proxies' idle work settle
        done
    done
done

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) m = a[(NR + 1) / 2]; else m = (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f\n", m }'; }
sum() { tr ' ' '\n' | awk '{ s += $1 } END { print s + 0 }'; }
for t in "${MEASURED[@]}"; do
    KA_RPS[$t]=$(median <<<"${SAMPLES[$t/ka_rps]}")
    KA_P50[$t]=$(median <<<"${SAMPLES[$t/ka_p50]}")
    KA_P99[$t]=$(median <<<"${SAMPLES[$t/ka_p99]}")
    KA_CPU[$t]=$(median <<<"${SAMPLES[$t/ka_cpu]}")
    HS_RATE[$t]=$(median <<<"${SAMPLES[$t/hs_rate]}")
    HS_P99[$t]=$(median <<<"${SAMPLES[$t/hs_p99]}")
    HS_CPU[$t]=$(median <<<"${SAMPLES[$t/hs_cpu]}")
    HS_CONNS[$t]=$(median <<<"${SAMPLES[$t/hs_conns]}")
    KA_CCPU[$t]=$(median <<<"${SAMPLES[$t/ka_ccpu]}")
    HS_CCPU[$t]=$(median <<<"${SAMPLES[$t/hs_ccpu]}")
done

PROFILE_TXT=""
if ((PERF)); then
    command -v perf >/dev/null || die "PERF=1 needs perf (linux-perf)"
    log "profiling sluice (pid ${PID[sluice]}) during a ${PERF_SECS}s keep-alive run"
    read -r -a how <<<"${HOW[sluice]}"
    timeout $((PERF_SECS + 60)) "$WORK/tlsload" -m keepalive -c "$CONNS" -d $((PERF_SECS + 2)) \
        -t "${AUTH[sluice]}" -P /100b "${how[@]}" >"$WORK/logs/perf-load.out" &
    load_pid=$!
    STARTED+=("$load_pid")
    sleep 1.5 # the connections are set up; the profile sees only keep-alive requests
    timeout $((PERF_SECS + 30)) perf record -q -g -F 999 -p "${PID[sluice]}" -o "$WORK/perf.data" \
        -- sleep "$PERF_SECS" >"$WORK/logs/perf.out" 2>&1 || log "warning: perf record: $(tail -2 "$WORK/logs/perf.out")"
    wait "$load_pid" || true
    PROFILE_TXT=$(perf report -i "$WORK/perf.data" --stdio --no-children --sort dso \
        --percent-limit 0.5 -g none 2>/dev/null | grep -v '^$' | grep -v '^#' | head -12
        echo
        perf report -i "$WORK/perf.data" --stdio --no-children --sort dso,symbol \
        --percent-limit 0.5 -g none 2>/dev/null | grep -v '^$' | grep -v '^#' | head -40)
fi

# ---------------------------------------------------------------- report ---
ver() { "$@" 2>&1 | head -1; }
fmt_int() { awk -v v="$1" 'BEGIN { printf "%d", v + 0.5 }'; }
echo "## TLS interception: sluice, Squid ssl-bump, nginx, direct ($DATE)"
echo
echo "* Command: \`$CMDLINE\`"
echo "* $NPROC CPUs ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), $(uname -sr);" \
    "load average at the start of the report $(cut -d' ' -f1-3 /proc/loadavg)."
echo "* sluice $("$SLUICE_BIN" --version 2>&1 | head -1) ($NPROC workers); $(ver squid -v | sed 's/ Cache: Version//')" \
    "(squid-openssl, $( ((SQUID_WORKERS == 1)) && echo "one process" || echo "$SQUID_WORKERS SMP workers")); $(ver nginx -v | sed 's/nginx version: //') ($NPROC workers, origin and reverse proxy);" \
    "$(openssl version | cut -d' ' -f1-2)."
echo "* tlsload (bench/tlsload.c, one thread): $CONNS connections; keep-alive ${KA_SECS}s after every" \
    "handshake is done, handshakes ${HS_SECS}s; median of $ROUNDS round(s). GET /100b (100-byte body)" \
    "from nginx over TLS (ECDSA P-256 certificates, TLS 1.3). Everything on 127.0.0.1; load, proxies" \
    "and origin share the CPUs."
echo
echo "| target | keep-alive req/s c=$CONNS | p50 / p99 ms | CPU ms per 1000 req | client CPU | new handshakes/s c=$CONNS | p99 ms | CPU ms per 1000 handshakes | client CPU | origin connections per 1000 handshakes | TLS to the client | failures |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for t in "${MEASURED[@]}"; do
    echo "| ${LABEL[$t]} | $(fmt_int "${KA_RPS[$t]}") | ${KA_P50[$t]} / ${KA_P99[$t]} | ${KA_CPU[$t]} | ${KA_CCPU[$t]} |" \
        "$(fmt_int "${HS_RATE[$t]}") | ${HS_P99[$t]} | ${HS_CPU[$t]} | ${HS_CCPU[$t]} | ${HS_CONNS[$t]} | ${TLSV[$t]} | $(sum <<<"${SAMPLES[$t/fails]}") |"
done
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%.2f", (b > 0) ? a / b : 0 }'; }
round_ratios() { # "a1 a2 ..." "b1 b2 ...": a_i / b_i, one per round
    awk -v a="$1" -v b="$2" 'BEGIN { n = split(a, x, " "); split(b, y, " ");
        for (i = 1; i <= n; i++) printf "%s%.2f", (i > 1) ? " " : "", (y[i] > 0) ? x[i] / y[i] : 0 }'
}
# The verdict uses the median of the per-round ratios: the targets take turns within a round, so
# a ratio of one round's figures cancels the machine's drift between rounds, which the ratio of
# the medians (two figures from different rounds) does not.
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r == "-" ? "not measured" : r >= t ? "met" : "**missed**") }'; }
row() { # label a-samples b-samples target: prints the row, sets RR (the median round ratio)
    local r rr=""
    RR=-
    r=$(ratio "$(median <<<"${SAMPLES[$2]:-}")" "$(median <<<"${SAMPLES[$3]:-}")")
    if [[ -n ${SAMPLES[$2]:-} && -n ${SAMPLES[$3]:-} ]]; then
        rr=$(round_ratios "${SAMPLES[$2]}" "${SAMPLES[$3]}")
        RR=$(median <<<"$rr")
    else
        r=-
    fi
    echo "| $1 | $RR | $r | ${rr:--} | ${4:--} |"
}
median_round_ratio() { # a-samples b-samples
    if [[ -n ${SAMPLES[$1]:-} && -n ${SAMPLES[$2]:-} ]]; then
        median <<<"$(round_ratios "${SAMPLES[$1]}" "${SAMPLES[$2]}")"
    else
        echo -
    fi
}
target_row() { # label a-samples b-samples threshold
    local line
    line=$(row "$1" "$2" "$3" "")
    echo "${line% - |} ≥ $4: $(verdict "$(median_round_ratio "$2" "$3")" "$4") |"
}
if [[ -n ${KA_RPS[sluice]:-} ]]; then
    echo "| ratio | median of the per-round ratios | ratio of the medians | per round | target |"
    echo "|---|---|---|---|---|"
    target_row "sluice ÷ Squid, keep-alive req/s" sluice/ka_rps squid/ka_rps 3
    target_row "sluice ÷ nginx, new handshakes/s" sluice/hs_rate nginx/hs_rate 0.8
    row "sluice ÷ nginx, keep-alive req/s" sluice/ka_rps nginx/ka_rps ""
    row "sluice ÷ direct, keep-alive req/s" sluice/ka_rps direct/ka_rps ""
    row "sluice ÷ Squid, new handshakes/s" sluice/hs_rate squid/hs_rate ""
    row "Squid ÷ sluice, CPU per keep-alive request" squid/ka_cpu sluice/ka_cpu ""
    row "sluice ÷ nginx, CPU per keep-alive request" sluice/ka_cpu nginx/ka_cpu ""
    row "sluice ÷ nginx, CPU per handshake" sluice/hs_cpu nginx/hs_cpu ""
fi
if [[ -n $PROFILE_TXT ]]; then
    echo
    echo "sluice during a ${PERF_SECS}s keep-alive run (\`perf record -g -F 999 -p PID\`, self time by object, then by symbol):"
    echo
    echo '```'
    echo "$PROFILE_TXT"
    echo '```'
fi
echo
echo "Raw samples per round (keep-alive req/s; handshakes/s):"
echo
for t in "${MEASURED[@]}"; do
    echo "* $t: ${SAMPLES[$t/ka_rps]% }; ${SAMPLES[$t/hs_rate]% }"
done
log "done in $(($(date +%s) - T_BEGIN))s"
