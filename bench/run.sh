#!/usr/bin/env bash
# bench/run.sh - sluice's loopback benchmark (`make bench`). See bench/README.md.
#
# Starts an nginx origin, sluice, the peers (squid, tinyproxy, privoxy) and the reference
# relays (HAProxy TCP relay with splice, nginx reverse proxy) on fixed 127.0.0.1
# ports inside a mktemp dir, measures them and "direct to origin", prints one
# markdown results table (plus the ratios of sluice to the best peer, the best
# reference and direct) on stdout, and stops exactly the processes it started.
# Progress goes to stderr.
#
# Hard rules: every socket is on 127.0.0.1; every load step is bounded by a
# duration or a count and by `timeout`.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The exact command, with every knob that was set in the environment.
KNOBS=(QUICK PROFILE PROFILE_SECS PROFILE_CONC ROUNDS SLUICE_BIN BASELINE_BIN PEERS REFS BENCH_SLUICE_LOG WRK_SECS WRK_THREADS RATE_SECS
       RATE_CONC HOLD_COUNTS HOLD_SETUP_CONC BULK_MAX_S NOFILE INSTALL KEEP_WORK ORIGIN_PORT)
CMDLINE=""
for k in "${KNOBS[@]}"; do
    [[ -n ${!k+x} ]] && CMDLINE+="$k=${!k@Q} "
done
CMDLINE+="$0${*:+ $*}"

# ----------------------------------------------------------------- knobs ---
QUICK=${QUICK:-0}
PROFILE=${PROFILE:-0}          # 1: only the system-call profile (bench/profile.sh)
PROFILE_SECS=${PROFILE_SECS:-5}
PROFILE_CONC=${PROFILE_CONC:-50}
ROUNDS=${ROUNDS:-3}
SLUICE_BIN=${SLUICE_BIN:-build/sluice}
BASELINE_BIN=${BASELINE_BIN:-}               # another sluice build, measured in the same run
PEERS=${PEERS-"squid tinyproxy privoxy"}
REFS=${REFS-"haproxy nginx"}
BENCH_SLUICE_LOG=${BENCH_SLUICE_LOG:-file}   # file: JSON log lines to a file; null: /dev/null
WRK_SECS=${WRK_SECS:-10}
WRK_THREADS=${WRK_THREADS:-2}
RATE_SECS=${RATE_SECS:-4}
RATE_CONC=${RATE_CONC:-50}
HOLD_COUNTS=${HOLD_COUNTS:-"5000 20000"}
HOLD_SETUP_CONC=${HOLD_SETUP_CONC:-200}      # tunnels being set up at once in hold mode
BULK_MAX_S=${BULK_MAX_S:-60}
NOFILE=${NOFILE:-65536}
INSTALL=${INSTALL:-1}
KEEP_WORK=${KEEP_WORK:-0}
SETTLE=2
if [[ $QUICK == 1 ]]; then
    WRK_SECS=2; ROUNDS=1; RATE_SECS=1; HOLD_COUNTS="500 2000"; SETTLE=1
fi

# Fixed ports, all below the ephemeral range (32768-60999 on Debian): a listener
# inside it can fail to bind while TIME_WAIT sockets of an earlier run linger.
ORIGIN_PORT=${ORIGIN_PORT:-18080}   # a knob only for a machine where something else holds 18080
[[ $ORIGIN_PORT =~ ^[1-9][0-9]*$ ]] || { echo "ORIGIN_PORT must be a port number" >&2; exit 1; }
declare -A PORT=([direct]=$ORIGIN_PORT [sluice]=18090 [baseline]=18091 [squid]=13128 [tinyproxy]=18888
                 [privoxy]=18118 [haproxy]=18085 [nginx]=18083)
# kind: direct | fwd (forward proxy: absolute-URI GET and CONNECT) |
# relay (TCP relay: origin-form, no CONNECT step) | rp (reverse proxy: origin-form)
declare -A KIND=([direct]=direct [sluice]=fwd [baseline]=fwd [squid]=fwd [tinyproxy]=fwd [privoxy]=fwd
                 [haproxy]=relay [nginx]=rp)
declare -A LABEL=([direct]="direct to origin (no proxy)" [sluice]="**sluice**"
                  [baseline]="sluice baseline (BASELINE_BIN)" [squid]="squid"
                  [tinyproxy]="tinyproxy" [privoxy]="privoxy" [haproxy]="ref: HAProxy TCP relay (splice)"
                  [nginx]="ref: nginx reverse proxy")

LO=127.0.0.1
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY || true
export LC_ALL=C
T_BEGIN=$(date +%s)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

for p in $PEERS; do
    [[ $p == squid || $p == tinyproxy || $p == privoxy ]] || die "unknown peer '$p' (squid, tinyproxy, privoxy)"
done
for r in $REFS; do [[ $r == haproxy || $r == nginx ]] || die "unknown reference '$r' (haproxy, nginx)"; done
[[ $BENCH_SLUICE_LOG == file || $BENCH_SLUICE_LOG == null ]] || die "BENCH_SLUICE_LOG must be file or null"
[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || die "ROUNDS must be 1-99"
[[ $SLUICE_BIN == /* ]] || SLUICE_BIN="$PWD/$SLUICE_BIN"
[[ -x $SLUICE_BIN ]] || die "no sluice binary at $SLUICE_BIN (make build, or set SLUICE_BIN)"
BASE=""
if [[ -n $BASELINE_BIN ]]; then
    [[ $BASELINE_BIN == /* ]] || BASELINE_BIN="$PWD/$BASELINE_BIN"
    [[ -x $BASELINE_BIN ]] || die "no sluice binary at BASELINE_BIN=$BASELINE_BIN"
    BASE=baseline
fi

# --------------------------------------------------------------- install ---
PKGS=(nginx wrk curl gcc libc6-dev procps iproute2)
for p in $PEERS; do PKGS+=("$p"); done
[[ " $REFS " == *" haproxy "* ]] && PKGS+=(haproxy)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    if [[ $INSTALL == 1 && $(id -u) == 0 ]]; then
        log "installing: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends \
            "${missing[@]}" >&2 ||
            { log "apt-get install failed; trying after apt-get update"; apt-get update -q >&2;
              DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q \
                  --no-install-recommends "${missing[@]}" >&2; }
    else
        die "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})"
    fi
fi

# ------------------------------------------------------------ the kernel ---
# 20,000 tunnels need ~20k fds in the load tool, ~40k in the proxy, ~20k in the origin.
NR_OPEN=$(cat /proc/sys/fs/nr_open)
((NOFILE <= NR_OPEN)) || die "NOFILE=$NOFILE is above the kernel's fs.nr_open ($NR_OPEN)"
if (($(ulimit -Hn) < NOFILE)); then
    ulimit -Hn "$NOFILE" 2>/dev/null ||
        log "warning: cannot raise the hard open-file limit from $(ulimit -Hn) to $NOFILE (needs CAP_SYS_RESOURCE)"
fi
ulimit -n "$(( $(ulimit -Hn) < NOFILE ? $(ulimit -Hn) : NOFILE ))"
NOFILE=$(ulimit -n)
read -r EPH_LO EPH_HI </proc/sys/net/ipv4/ip_local_port_range
# A proxy holds 2 fds per tunnel (HAProxy a few more: see HAPROXY_MAXCONN). Where the
# open-file limit cannot be raised far enough (no CAP_SYS_RESOURCE, e.g. in a container),
# a count that does not fit is measured at the largest count that does, and the table says so.
HOLD_FIT=$(( (NOFILE - 2400) / 2 / 500 * 500 ))
declare -A HOLD_N=()   # requested count -> count measured
HOLD_MAX=0
for n in $HOLD_COUNTS; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "HOLD_COUNTS must be positive integers"
    HOLD_N[$n]=$n
    if ((n > HOLD_FIT)); then
        HOLD_N[$n]=$HOLD_FIT
        log "warning: open-file limit $NOFILE (hard limit $(ulimit -Hn)) is too low for $n idle tunnels" \
            "(needs ~$((2 * n + 2400))); measuring $HOLD_FIT instead"
    fi
    ((HOLD_N[$n] > HOLD_MAX)) && HOLD_MAX=${HOLD_N[$n]}
done
((HOLD_FIT >= 500)) || die "open-file limit $NOFILE is too low for the idle tunnel test"
((EPH_HI - EPH_LO + 1 >= HOLD_MAX + 2000)) ||
    log "warning: ephemeral port range $EPH_LO-$EPH_HI is small for $HOLD_MAX tunnels on one address"
# tinyproxy and privoxy run one thread per connection: N idle tunnels are N threads (tasks,
# under pid_max and threads-max); a proxy that cannot make one refuses or drops the tunnel,
# and the hold test notes "only M held" for it.
PID_MAX=$(cat /proc/sys/kernel/pid_max)
THREADS_MAX=$(cat /proc/sys/kernel/threads-max)
for p in $PEERS; do
    [[ $p == tinyproxy || $p == privoxy ]] || continue
    ((PID_MAX < HOLD_MAX + 4000)) &&
        log "warning: kernel.pid_max=$PID_MAX; $p needs one thread per tunnel ($HOLD_MAX tunnels)"
    ((THREADS_MAX < HOLD_MAX + 4000)) &&
        log "warning: kernel.threads-max=$THREADS_MAX; $p needs one thread per tunnel ($HOLD_MAX tunnels)"
done
CLK_TCK=$(getconf CLK_TCK)

# ------------------------------------------------------ process handling ---
WORK=$(mktemp -d -t sluice-bench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK"/{www,logs,run,conf,origin,nginx-rp}
chmod 1777 "$WORK/logs" "$WORK/run"
cd "$WORK"   # every path below is absolute; nothing may land in the caller's directory
declare -A PID=()   # target name -> pid of the process we started (root of its tree)
STARTED=()          # every pid we started in the background

proc_tree() { # pid -> pid and all its descendants (from the ppid links in /proc)
    local f line rest ppid p
    local -A kids=()
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$f" || continue
        rest=${line##*) }
        ppid=${rest#* }; ppid=${ppid%% *}
        kids[$ppid]+=" ${line%% *}"
    done
    local -a queue=("$1") out=()
    while ((${#queue[@]})); do
        p=${queue[0]}; queue=("${queue[@]:1}")
        [[ -e /proc/$p ]] || continue
        out+=("$p")
        # shellcheck disable=SC2206
        queue+=(${kids[$p]:-})
    done
    echo "${out[*]}"
}

alive() { # pid is running (neither gone nor a zombie)
    local line
    read -r line 2>/dev/null <"/proc/$1/stat" || return 1
    line=${line##*) }
    [[ ${line%% *} != Z ]]
}

stop_tree() { # pid: TERM the process, wait up to 6 s for its tree, then KILL what is left
    local root=$1 all p n any
    alive "$root" || return 0
    all=$(proc_tree "$root")
    kill -TERM "$root" 2>/dev/null || true
    for ((n = 0; n < 60; n++)); do
        any=0
        for p in $all; do alive "$p" && any=1; done
        ((any)) || break
        sleep 0.1
    done
    for p in $all; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
    wait "$root" 2>/dev/null || true
}

cleanup() {
    local rc=$? p
    set +e
    trap - EXIT INT TERM
    for p in "${STARTED[@]}"; do stop_tree "$p"; done
    if [[ $KEEP_WORK == 1 ]]; then log "kept work dir: $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { [[ -n $(ss -Htln "sport = :$1" 2>/dev/null) ]]; }

wait_port() { # port pid -> 0 once listening (bounded: 15 s)
    local n
    for ((n = 0; n < 150; n++)); do
        port_busy "$1" && return 0
        alive "$2" || return 1
        sleep 0.1
    done
    return 1
}

cpu_ticks() { # utime+stime of the tree, plus the reaped children of its root
    local p line
    local -a f
    local total=0
    for p in $(proc_tree "$1"); do
        read -r line 2>/dev/null <"/proc/$p/stat" || continue
        read -r -a f <<<"${line##*) }"
        total=$((total + f[11] + f[12]))
        [[ $p == "$1" ]] && total=$((total + f[13] + f[14]))
    done
    echo "$total"
}

mem_tree() { # "rss_kib threads processes" summed over the tree
    local p k v rest rss=0 thr=0 np=0
    for p in $(proc_tree "$1"); do
        np=$((np + 1))
        while read -r k v rest; do
            [[ $k == Rss: ]] && rss=$((rss + v))
        done 2>/dev/null <"/proc/$p/smaps_rollup" || true
        while read -r k v rest; do
            [[ $k == Threads: ]] && thr=$((thr + v))
        done 2>/dev/null <"/proc/$p/status" || true
    done
    echo "$rss $thr $np"
}

tcp_passive_opens() { # host-wide TCP PassiveOpens
    awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) ix[$i] = i; h = 1 } else print $ix["PassiveOpens"] }' /proc/net/snmp
}

origin_stats() { # "accepts requests" from the origin's stub_status
    curl -s --noproxy '*' --max-time 5 "http://$LO:$ORIGIN_PORT/nginx_status" | awk 'NR == 3 { print $1, $3 }'
}

kv() { sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p" <<<" $2" | head -n1; }

declare -A V=()       # "target|metric" -> values, one per round
put() { V[$1]+="${V[$1]:+ }$2"; }
declare -A NOTE=()    # target -> why it failed (it is skipped from then on)
declare -A EXTRA=()   # target -> notes on its errors, printed under the table
RAW="$WORK/raw.txt"; : >"$RAW"
raw() { echo "$*" >>"$RAW"; log "  $*"; }
note_extra() { EXTRA[$1]+="${EXTRA[$1]:+; }$2"; }

# -------------------------------------------------------------- the tools ---
TUNLOAD="$WORK/tunload"
gcc -std=c11 -O2 -Wall -Wextra -o "$TUNLOAD" "$HERE/tunload.c"

for t in direct sluice $BASE $PEERS $REFS; do
    port_busy "${PORT[$t]}" && die "port ${PORT[$t]} ($t) is already in use on this machine"
done

# ---------------------------------------------------------------- origin ---
printf '%0100d' 0 | tr 0 x >"$WORK/www/100b"
truncate -s 1G "$WORK/www/1g"   # sparse: served from the page cache
chmod 755 "$WORK/www"; chmod 644 "$WORK/www"/*

start_proc() { # name stdout-file cmd...   (the command must stay in the foreground)
    local name=$1 outfile=$2; shift 2
    "$@" >"$outfile" 2>>"$WORK/logs/$name.err" &
    PID[$name]=$!
    STARTED+=("$!")
}

conf_origin() {
    cat >"$WORK/conf/origin.conf" <<EOF
user www-data;
worker_processes 2;
worker_rlimit_nofile $NOFILE;
pid $WORK/run/origin.pid;
error_log $WORK/logs/origin-error.log warn;
daemon off;
events { worker_connections $((NOFILE - 500)); }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 900s;
    keepalive_requests 10000000;
    client_body_temp_path $WORK/origin/body;
    proxy_temp_path $WORK/origin/proxy;
    fastcgi_temp_path $WORK/origin/fastcgi;
    uwsgi_temp_path $WORK/origin/uwsgi;
    scgi_temp_path $WORK/origin/scgi;
    default_type application/octet-stream;
    server {
        listen $LO:$ORIGIN_PORT default_server backlog=4096;
        server_name _;
        root $WORK/www;
        location = /nginx_status { stub_status; }
    }
}
EOF
}

start_direct() { # the origin nginx; "direct" is the origin itself (CPU = the origin's)
    start_proc direct "$WORK/logs/origin.out" nginx -e "$WORK/logs/origin-error.log" \
        -p "$WORK/origin" -c "$WORK/conf/origin.conf"
}

start_sluice() { # [name binary]: sluice by default, or the baseline build
    local name=${1:-sluice} bin=${2:-$SLUICE_BIN}
    cat >"$WORK/conf/$name.yaml" <<EOF
listen:
  http: "$LO:${PORT[$name]}"
resolver:
  servers: ["$LO"]            # no name is resolved (IP literals only); if one were, on loopback
ips:
  allow: ["127.0.0.1/32"]     # the origin is on loopback; re-allow exactly that
ports: [$ORIGIN_PORT]
tunnel:
  opaque_ports: [$ORIGIN_PORT] # the load sends raw bytes through its tunnels, as to every peer
timeouts:
  tunnel_idle: 600s
  client_idle: 600s
limits:
  max_connections: 100000
EOF
    local logfile=/dev/null
    [[ $BENCH_SLUICE_LOG == file ]] && logfile="$WORK/logs/$name.jsonl"
    # append: the hold test restarts sluice and its log must keep every line
    start_proc "$name" /dev/null bash -c 'exec "$1" -c "$2" >>"$3"' sluice-start "$bin" \
        "$WORK/conf/$name.yaml" "$logfile"
}

start_baseline() { start_sluice baseline "$BASELINE_BIN"; }

start_squid() { # one process (-N), no cache, no access log
    cat >"$WORK/conf/squid.conf" <<EOF
http_port $LO:${PORT[squid]}
visible_hostname sluice-bench.invalid
dns_nameservers $LO
udp_incoming_address $LO
udp_outgoing_address $LO
acl lo src 127.0.0.1/32
http_access allow lo
http_access deny all
cache deny all
cache_mem 8 MB
access_log none
cache_store_log none
cache_log $WORK/logs/squid-cache.log
logfile_rotate 0
debug_options ALL,1
pid_filename $WORK/run/squid.pid
coredump_dir $WORK/run
pinger_enable off
netdb_filename none
max_filedescriptors $NOFILE
shutdown_lifetime 1 seconds
cache_effective_user proxy
EOF
    start_proc squid "$WORK/logs/squid.out" squid -N -f "$WORK/conf/squid.conf"
}

start_tinyproxy() { # one thread per connection; no ConnectPort lines = every port
    cat >"$WORK/conf/tinyproxy.conf" <<EOF
User tinyproxy
Group tinyproxy
Port ${PORT[tinyproxy]}
Listen $LO
Timeout 900
MaxClients $((HOLD_MAX + 1000))
LogLevel Critical
LogFile "$WORK/logs/tinyproxy.log"
PidFile "$WORK/run/tinyproxy.pid"
Allow 127.0.0.1
EOF
    start_proc tinyproxy "$WORK/logs/tinyproxy.out" tinyproxy -d -c "$WORK/conf/tinyproxy.conf"
}

start_privoxy() { # one thread per connection; no actions or filter files: nothing is rewritten
    # or blocked, and with no limit-connect action privoxy allows CONNECT to every port
    mkdir -p "$WORK/privoxy"
    cat >"$WORK/conf/privoxy.conf" <<EOF
confdir $WORK/privoxy
logdir $WORK/logs
listen-address $LO:${PORT[privoxy]}
hostname sluice-bench.invalid
toggle 0
enable-remote-toggle 0
enable-remote-http-toggle 0
enable-edit-actions 0
enforce-blocks 0
buffer-limit 4096
forwarded-connect-retries 0
accept-intercepted-requests 0
keep-alive-timeout 5
default-server-timeout 5
connection-sharing 1
tolerate-pipelining 1
socket-timeout 300
max-client-connections $((HOLD_MAX + 1000))
listen-backlog 4096
EOF
    start_proc privoxy "$WORK/logs/privoxy.out" privoxy --no-daemon --user privoxy "$WORK/conf/privoxy.conf"
}

# HAProxy: 2 fds per connection plus 2 per splice pipe; with the pipes capped at 1000 its
# maxconn fits the open-file limit (it refuses to start otherwise).
HAPROXY_MAXPIPES=1000
HAPROXY_MAXCONN=$(( (NOFILE - 2 * HAPROXY_MAXPIPES - 200) / 2 ))
start_haproxy() { # TCP relay, 2 threads, splice forced both ways, no logging
    cat >"$WORK/conf/haproxy.cfg" <<EOF
global
    nbthread 2
    maxconn $HAPROXY_MAXCONN
    maxpipes $HAPROXY_MAXPIPES
    user haproxy
    group haproxy
defaults
    mode tcp
    maxconn $HAPROXY_MAXCONN
    option splice-request
    option splice-response
    timeout connect 5s
    timeout client 900s
    timeout server 900s
listen relay
    bind $LO:${PORT[haproxy]} backlog 4096
    server origin $LO:$ORIGIN_PORT
EOF
    start_proc haproxy "$WORK/logs/haproxy.out" haproxy -db -f "$WORK/conf/haproxy.cfg"
}

start_nginx() { # reverse proxy, 2 workers, keep-alive upstream pool
    cat >"$WORK/conf/nginx-rp.conf" <<EOF
user www-data;
worker_processes 2;
worker_rlimit_nofile $NOFILE;
pid $WORK/run/nginx-rp.pid;
error_log $WORK/logs/nginx-rp-error.log warn;
daemon off;
events { worker_connections $((NOFILE - 500)); }
http {
    access_log off;
    tcp_nodelay on;
    keepalive_timeout 900s;
    keepalive_requests 10000000;
    client_body_temp_path $WORK/nginx-rp/body;
    proxy_temp_path $WORK/nginx-rp/proxy;
    fastcgi_temp_path $WORK/nginx-rp/fastcgi;
    uwsgi_temp_path $WORK/nginx-rp/uwsgi;
    scgi_temp_path $WORK/nginx-rp/scgi;
    upstream origin {
        server $LO:$ORIGIN_PORT;
        keepalive 256;
        keepalive_requests 10000000;
    }
    server {
        listen $LO:${PORT[nginx]} default_server backlog=4096;
        server_name _;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_max_temp_file_size 0;
            proxy_buffers 16 64k;
            proxy_busy_buffers_size 128k;
        }
    }
}
EOF
    start_proc nginx "$WORK/logs/nginx-rp.out" nginx -e "$WORK/logs/nginx-rp-error.log" \
        -p "$WORK/nginx-rp" -c "$WORK/conf/nginx-rp.conf"
}

# One GET (and for forward proxies one CONNECT) through the target: "" if fine, else why.
sanity() {
    local t=$1 c1 c2=n/a
    case ${KIND[$t]} in
        fwd)
            c1=$(curl -s -o /dev/null --max-time 10 -x "http://$LO:${PORT[$t]}" -w '%{http_code}' \
                 "http://$LO:$ORIGIN_PORT/100b" || true)
            c2=$(curl -s -o /dev/null --max-time 10 -p -x "http://$LO:${PORT[$t]}" -w '%{http_code}' \
                 "http://$LO:$ORIGIN_PORT/100b" || true) ;;
        *)
            c1=$(curl -s -o /dev/null --max-time 10 --noproxy '*' -w '%{http_code}' \
                 "http://$LO:${PORT[$t]}/100b" || true) ;;
    esac
    [[ $c1 == 200 && ($c2 == 200 || $c2 == n/a) ]] || echo "sanity check failed (GET: ${c1:-none}, CONNECT: ${c2:-none})"
}

start_target() { # name -> 0 when it listens and passes the sanity check
    local t=$1 why
    "start_$t"
    if ! wait_port "${PORT[$t]}" "${PID[$t]}"; then
        local rc=running
        alive "${PID[$t]}" || { rc=0; wait "${PID[$t]}" 2>/dev/null || rc=$?; }
        NOTE[$t]="did not start (exit status $rc); stderr: $(tail -n 3 "$WORK/logs/$t.err" 2>/dev/null | tr '\n' ' ')"
        return 1
    fi
    why=$(sanity "$t")
    if [[ -n $why ]]; then NOTE[$t]=$why; return 1; fi
}

# A target that died since the last check is noted and skipped from then on.
check_alive() { # phase
    local t rc
    for t in "${TARGETS[@]}"; do
        [[ -z ${NOTE[$t]:-} ]] || continue
        alive "${PID[$t]}" && continue
        rc=0; wait "${PID[$t]}" 2>/dev/null || rc=$?
        NOTE[$t]="died during $1 (exit status $rc; stderr: $(tail -n 3 "$WORK/logs/$t.err" 2>/dev/null | tr '\n' ' '))"
        log "$t: ${NOTE[$t]}"
    done
}
ok_targets() { local t; for t in "${TARGETS[@]}"; do [[ -z ${NOTE[$t]:-} ]] && echo "$t"; done; return 0; }

conf_origin
read -r -a TARGETS <<<"direct sluice $BASE $PEERS $REFS"
log "work dir $WORK; open-file limit $NOFILE; targets: ${TARGETS[*]}"
for t in "${TARGETS[@]}"; do
    if ! start_target "$t"; then
        log "$t: ${NOTE[$t]}"
        [[ $t == direct ]] && die "the origin did not start"
    fi
done
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------ (a) wrk keep-alive + (e) CPU per request ---
wrk_lua() { # target -> lua file (absolute-URI for forward proxies, origin-form otherwise)
    local t=$1 uri="/100b" lua="$WORK/conf/wrk-$1.lua"
    [[ ${KIND[$t]} == fwd ]] && uri="http://$LO:$ORIGIN_PORT/100b"
    cat >"$lua" <<EOF
wrk.method = "GET"
wrk.path = "$uri"
wrk.headers["Host"] = "$LO:$ORIGIN_PORT"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d "
    .. "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
EOF
    echo "$lua"
}

run_wrk() { # target conns round
    local t=$1 c=$2 r=$3 out res cpu0 cpu1 oa0 or0 oa1 or1 po0 po1
    cpu0=$(cpu_ticks "${PID[$t]}"); read -r oa0 or0 < <(origin_stats) || true; po0=$(tcp_passive_opens)
    out=$(timeout $((WRK_SECS + 30)) wrk -t"$WRK_THREADS" -c"$c" -d"${WRK_SECS}s" --timeout 5s \
          -s "$(wrk_lua "$t")" "http://$LO:${PORT[$t]}/" 2>&1) || true
    po1=$(tcp_passive_opens); read -r oa1 or1 < <(origin_stats) || true; cpu1=$(cpu_ticks "${PID[$t]}")
    res=$(grep '^RESULT' <<<"$out" || true)
    if [[ -z $res ]]; then
        raw "wrk $t c$c round=$r FAILED: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
        note_extra "$t" "wrk c$c round $r failed"
        return
    fi
    local n dur p50 p99 nsock nstatus rps cpu oacc oreq cli ups
    n=$(kv requests "$res"); dur=$(kv duration_us "$res")
    p50=$(kv p50_us "$res"); p99=$(kv p99_us "$res"); nstatus=$(kv err_status "$res")
    nsock=$(($(kv err_connect "$res") + $(kv err_read "$res") + $(kv err_write "$res") + $(kv err_timeout "$res")))
    # the stub_status fetches themselves are one accept and one request each
    oacc=$((oa1 - oa0 - 1)); oreq=$((or1 - or0 - 1))
    read -r rps cpu cli ups < <(awk -v n="$n" -v d="$dur" -v a="$cpu0" -v b="$cpu1" -v hz="$CLK_TCK" \
        -v po=$((po1 - po0 - 1)) -v oa="$oacc" -v t="$t" 'BEGIN {
            if (n <= 0) { print 0, "-", "-", "-"; exit }
            printf "%.0f %.3f %.2f %.2f\n", n / (d / 1e6), (b - a) / hz / n * 1e5,
                   (t == "direct" ? oa : po - oa) / n, oa / n }')
    put "$t|rps$c" "$rps"; put "$t|p50_$c" "$p50"; put "$t|p99_$c" "$p99"
    put "$t|nstatus" "$nstatus"; put "$t|nsock" "$nsock"; put "$t|nreq" "$n"
    put "$t|ups$c" "$ups"
    [[ $c == 50 ]] && { put "$t|cpu" "$cpu"; put "$t|cli" "$cli"; }
    raw "wrk $t c$c round=$r requests=$n rps=$rps p50_us=$p50 p99_us=$p99 non2xx=$nstatus sockerr=$nsock" \
        "cpu_s_per_100k=$cpu origin_accepts=$oacc origin_requests=$oreq client_conns_per_req=$cli upstream_conns_per_req=$ups"
}

# ------------------------------------------- PROFILE=1: syscalls per request ---
# bench/profile.sh: the keep-alive case of (a) once under `strace -c` (every thread of the
# target's process tree), for the system calls per request, and once untraced, for CPU per
# request; one table, then exit (the other tests are not run).
profile_strace() { # target secs -> "requests calls-file" (strace -c output in the file)
    local t=$1 secs=$2 out=$WORK/logs/strace-$1.txt tids=() p tid spid res
    for p in $(proc_tree "${PID[$t]}"); do
        for tid in /proc/"$p"/task/[0-9]*; do tids+=(-p "${tid##*/}"); done
    done
    strace -qq -f -c -o "$out" "${tids[@]}" 2>/dev/null &
    spid=$!
    sleep 1 # attached
    res=$(timeout $((secs + 30)) wrk -t"$WRK_THREADS" -c"$PROFILE_CONC" -d"${secs}s" --timeout 5s \
          -s "$(wrk_lua "$t")" "http://$LO:${PORT[$t]}/" 2>&1 | grep '^RESULT' || true)
    kill -INT "$spid" 2>/dev/null; wait "$spid" 2>/dev/null || true
    echo "$(kv requests "$res") $out"
}

profile_cpu() { # target secs -> "requests cpu-ticks"
    local t=$1 secs=$2 c0 c1 res
    c0=$(cpu_ticks "${PID[$t]}")
    res=$(timeout $((secs + 30)) wrk -t"$WRK_THREADS" -c"$PROFILE_CONC" -d"${secs}s" --timeout 5s \
          -s "$(wrk_lua "$t")" "http://$LO:${PORT[$t]}/" 2>&1 | grep '^RESULT' || true)
    c1=$(cpu_ticks "${PID[$t]}")
    echo "$(kv requests "$res") $((c1 - c0))"
}

# strace -c table -> per-request counts of: reads writes splice epoll_ctl epoll_wait memory other
# total
profile_row() { # calls-file requests
    awk -v n="$2" '
        $NF == "total" || NF < 4 || $1 !~ /^[0-9.]+$/ { next }
        { calls = $4; sc = $NF
          if (sc ~ /^(read|readv|recvfrom|recvmsg|recvmmsg)$/) r += calls
          else if (sc ~ /^(write|writev|sendto|sendmsg|sendmmsg)$/) w += calls
          else if (sc == "splice") sp += calls
          else if (sc == "epoll_ctl") ec += calls
          else if (sc ~ /^epoll_(wait|pwait|pwait2)$/) ew += calls
          else if (sc ~ /^(madvise|brk|mmap|munmap|mremap)$/) m += calls
          else o += calls
          all += calls }
        END { if (n <= 0) { print "- - - - - - - -"; exit }
              printf "%.2f %.2f %.2f %.2f %.2f %.3f %.2f %.2f\n", r / n, w / n, sp / n, ec / n,
                     ew / n, m / n, o / n, all / n }' "$1"
}

profile_targets() {
    local t req ureq file cpu_req ticks r w sp ec ew m o all
    log "profile: wrk -c$PROFILE_CONC ${PROFILE_SECS}s per target, under strace -c, then untraced"
    echo "## sluice system-call profile (bench/profile.sh)"
    echo
    echo "* Date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs; command: \`$CMDLINE\`."
    echo "* Each target serves \`GET /100b\` keep-alive (\`wrk -t$WRK_THREADS -c$PROFILE_CONC -d${PROFILE_SECS}s\`) twice:"
    echo "  once with \`strace -c -f\` attached to every thread of its process tree (system calls"
    echo "  counted, divided by the requests wrk completed), once untraced (utime+stime of the tree"
    echo "  per request). Tracing slows the target; the counts per request do not depend on it."
    echo
    echo "| target | syscalls / request | reads | writes | splice | epoll_ctl | epoll_wait | madvise, brk, mmap | other | CPU µs / request (untraced) | requests traced / untraced |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    for t in $(ok_targets); do
        [[ $t == direct ]] && continue
        run_wrk "$t" "$PROFILE_CONC" 0 >/dev/null 2>&1 || true # warm: pools, caches
        read -r req file < <(profile_strace "$t" "$PROFILE_SECS")
        read -r ureq ticks < <(profile_cpu "$t" "$PROFILE_SECS")
        read -r r w sp ec ew m o all < <(profile_row "$file" "${req:-0}")
        cpu_req=$(awk -v t="$ticks" -v n="${ureq:-0}" -v hz="$CLK_TCK" \
                  'BEGIN { if (n <= 0) print "-"; else printf "%.1f", t / hz / n * 1e6 }')
        raw "profile $t traced_requests=${req:-0} untraced_requests=${ureq:-0} ticks=$ticks"
        echo "| ${LABEL[$t]} | $all | $r | $w | $sp | $ec | $ew | $m | $o | $cpu_req | ${req:-0} / ${ureq:-0} |"
    done
    echo
    echo "<details><summary>strace -c of each target</summary>"
    echo
    echo '```'
    for t in $(ok_targets); do
        [[ -f $WORK/logs/strace-$t.txt ]] && { echo "== $t"; cat "$WORK/logs/strace-$t.txt"; }
    done
    echo '```'
    echo "</details>"
}

if [[ $PROFILE == 1 ]]; then
    profile_targets
    exit 0
fi

log "(a)+(e) wrk ${WRK_SECS}s, c=50 and c=200, $ROUNDS round(s), order reversed every pass"
mapfile -t order < <(ok_targets)
for c in 50 200; do
    for ((r = 1; r <= ROUNDS; r++)); do
        for t in "${order[@]}"; do [[ -z ${NOTE[$t]:-} ]] && run_wrk "$t" "$c" "$r"; done
        check_alive "the wrk test (c=$c)"
        rev=(); for ((i = ${#order[@]} - 1; i >= 0; i--)); do rev+=("${order[i]}"); done; order=("${rev[@]}")
    done
done

# --------------------------------------------------- (b) CONNECT bulk 1 GiB ---
log "(b) 1 GiB through a CONNECT tunnel (references: GET through the relay), $ROUNDS round(s)"
curl -s -o /dev/null --noproxy '*' --max-time "$BULK_MAX_S" "http://$LO:$ORIGIN_PORT/1g" || true
for ((r = 1; r <= ROUNDS; r++)); do
    for t in $(ok_targets); do
        url="http://$LO:$ORIGIN_PORT/1g"
        case ${KIND[$t]} in
            direct) args=(--noproxy '*') ;;
            fwd) args=(-p -x "http://$LO:${PORT[$t]}") ;;
            *) args=(--noproxy '*'); url="http://$LO:${PORT[$t]}/1g" ;;
        esac
        out=$(curl -s -o /dev/null --max-time "$BULK_MAX_S" "${args[@]}" \
              -w '%{http_code} %{size_download} %{speed_download}' "$url" 2>&1) || true
        read -r code size speed <<<"$out"
        if [[ $code == 200 && $size == 1073741824 ]]; then
            mbs=$(awk -v s="$speed" 'BEGIN { printf "%.0f", s / 1e6 }')
            put "$t|bulk" "$mbs"
            raw "bulk $t round=$r MB/s=$mbs"
        else
            raw "bulk $t round=$r FAILED: $out"
            note_extra "$t" "1 GiB transfer failed in round $r (curl: $out)"
        fi
    done
    check_alive "the 1 GiB test"
done

# ------------------------------------------------ (c) new CONNECT tunnels/s ---
log "(c) new tunnels/s, c=$RATE_CONC, ${RATE_SECS}s x $ROUNDS round(s)"
for ((r = 1; r <= ROUNDS; r++)); do
    for t in $(ok_targets); do
        case ${KIND[$t]} in
            direct) args=(-D) ;;
            fwd) args=(-p "$LO:${PORT[$t]}") ;;
            relay) args=(-R -p "$LO:${PORT[$t]}") ;;
            *) continue ;;
        esac
        cpu0=$(cpu_ticks "${PID[$t]}")
        out=$(timeout $((RATE_SECS + 30)) "$TUNLOAD" -m rate "${args[@]}" -o "$LO:$ORIGIN_PORT" \
              -u /100b -c "$RATE_CONC" -d "$RATE_SECS" 2>&1) || true
        cpu1=$(cpu_ticks "${PID[$t]}")
        res=$(grep '^RESULT' <<<"$out" || true)
        if [[ -z $res ]]; then
            raw "rate $t round=$r FAILED: $out"; note_extra "$t" "tunnel rate run $r failed"; continue
        fi
        put "$t|rate" "$(kv rate "$res")"; put "$t|ratefail" "$(kv fail "$res")"
        raw "rate $t round=$r ${res#RESULT mode=rate } cpu_s_per_10k=$(awk -v a="$cpu0" -v b="$cpu1" \
            -v n="$(kv ok "$res")" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (n > 0 ? (b - a) / hz / n * 1e4 : 0) }')"
    done
    check_alive "the tunnel rate test"
done

# ------------------------------------------------ (d) memory per idle tunnel ---
hold_one() { # target count
    local t=$1 n=$2 rss0 thr0 np0 rss1 thr1 np1 rss2 thr2 np2 hp out ready done_line ok k why
    local -a args=(-p "$LO:${PORT[$t]}")
    [[ ${KIND[$t]} == relay ]] && args=(-R "${args[@]}")
    # a fresh process for each count, so memory kept from earlier tests (or from the
    # previous count) does not hide in "before"
    stop_tree "${PID[$t]}"
    if ! start_target "$t"; then
        NOTE[$t]="restart before the $n-tunnel hold test: ${NOTE[$t]}"; log "$t: ${NOTE[$t]}"; return
    fi
    sleep 1
    read -r rss0 thr0 np0 < <(mem_tree "${PID[$t]}")
    out="$WORK/logs/hold-$t-$n.out"
    "$TUNLOAD" -m hold "${args[@]}" -o "$LO:$ORIGIN_PORT" -u /100b -n "$n" -c "$HOLD_SETUP_CONC" \
        -H 300 -S 120 -T 15000 >"$out" 2>&1 &
    hp=$!; STARTED+=("$hp")
    for ((k = 0; k < 1500; k++)); do   # bounded: 150 s
        grep -q '^READY' "$out" 2>/dev/null && break
        alive "$hp" || break
        sleep 0.1
    done
    sleep "$SETTLE"
    read -r rss1 thr1 np1 < <(mem_tree "${PID[$t]}")
    stop_tree "$hp"
    sleep 1
    read -r rss2 thr2 np2 < <(mem_tree "${PID[$t]}")
    ready=$(grep '^READY' "$out" || true); done_line=$(grep '^DONE' "$out" || true)
    ok=$(kv ok "$ready"); ok=${ok:-0}
    raw "hold $t n=$n ${ready:-no READY line: $(tail -n 2 "$out" | tr '\n' ' ')} dropped=$(kv dropped "$done_line")" \
        "rss_kib_before=$rss0 during=$rss1 after_close=$rss2 threads=$thr0/$thr1/$thr2 procs=$np0/$np1/$np2"
    if ((ok > 0)); then
        put "$t|hold$n" "$(awk -v a="$rss0" -v b="$rss1" -v n="$ok" 'BEGIN { printf "%.1f", (b - a) / n }')"
    fi
    if ((ok < n)); then
        why="$(kv fail "$ready") failed"
        for k in fail_connect fail_status fail_proto fail_eof fail_io fail_timeout; do
            [[ $(kv $k "$ready") == 0 ]] || why+=", ${k#fail_} $(kv $k "$ready")"
        done
        [[ $ready == *'first_status=""'* ]] || why+=", first status \"$(sed -n 's/.*first_status="\([^"]*\)".*/\1/p' <<<"$ready")\""
        [[ $ready == *'first_error=""'* ]] || why+=", first error \"$(sed -n 's/.*first_error="\([^"]*\)".*/\1/p' <<<"$ready")\""
        note_extra "$t" "hold $n: only $ok of $n tunnels set up ($why)"
        put "$t|holdshort$n" "$ok"
    fi
    local dropped; dropped=$(kv dropped "$done_line")
    [[ -z $dropped || $dropped == 0 ]] || note_extra "$t" "hold $n: $dropped idle tunnels closed by the far side"
}

log "(d) memory per idle tunnel at: $HOLD_COUNTS (open-file limit $NOFILE)"
for n in $HOLD_COUNTS; do
    for t in $(ok_targets); do
        [[ ${KIND[$t]} == fwd || ${KIND[$t]} == relay ]] || continue
        hold_one "$t" "${HOLD_N[$n]}"
    done
    check_alive "the idle tunnel test (${HOLD_N[$n]})"
done

# ----------------------------------------------------------------- report ---
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
T_END=$(date +%s)

median() { # values... -> median, or "-"
    printf '%s\n' "$@" | grep -E '^-?[0-9.]+$' | sort -g |
        awk '{ a[NR] = $1 } END { if (NR == 0) { print "-"; exit }
             if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
med() { median ${V[$1]:-}; }
fmt() { # printf-format value -> formatted, "-" stays "-"
    [[ $2 == - ]] && { echo -; return; }
    awk -v f="$1" -v v="$2" 'BEGIN { printf f, v }'
}
ms() { [[ $1 == - ]] && echo - || awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
sum() { local s=0 v; for v in ${V[$1]:-}; do s=$((s + v)); done; echo "$s"; }

declare -A MLABEL=([rps50]="req/s, c=50" [p50_50]="p50 latency ms, c=50" [p99_50]="p99 latency ms, c=50"
    [rps200]="req/s, c=200" [p50_200]="p50 latency ms, c=200" [p99_200]="p99 latency ms, c=200"
    [bulk]="CONNECT 1 GiB, MB/s" [rate]="new CONNECT tunnels/s, c=$RATE_CONC"
    [cpu]="CPU s per 100k requests (c=50)")
declare -A HIGHER=([rps50]=1 [rps200]=1 [bulk]=1 [rate]=1)
metric_value() { # target metric -> the reported (median) value, "-" if none
    local t=$1 m=$2
    [[ -z ${NOTE[$t]:-} || -n ${V[$t|rps50]:-} ]] || { echo -; return; }
    case $m in
        rps50 | rps200) fmt %.0f "$(med "$t|$m")" ;;
        p50_* | p99_*) ms "$(med "$t|$m")" ;;
        bulk | rate) fmt %.0f "$(med "$t|$m")" ;;
        cpu) fmt %.2f "$(med "$t|cpu")" ;;
        hold*) fmt %.1f "$(med "$t|$m")" ;;
    esac
}

ver() { "$@" 2>&1 | head -n 1 | tr -d '\r' || true; }
echo "## sluice loopback benchmark"
echo
echo "* Date: $DATE; the run took $((T_END - T_BEGIN)) s; load average at start / end: $LOAD_START / $LOAD_END."
echo "* Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME")."
echo "* Command: \`$CMDLINE\`"
[[ -n $BASE ]] && echo "* baseline: \`$BASELINE_BIN\` ($(ver "$BASELINE_BIN" --version)), the same config on port ${PORT[baseline]}."
echo "* sluice: \`$SLUICE_BIN\` ($(ver "$SLUICE_BIN" --version)), JSON log lines to $([[ $BENCH_SLUICE_LOG == file ]] && echo 'a file' || echo /dev/null)."
vers="$(ver nginx -v | sed 's/^nginx version: //'); $(ver wrk -v | cut -d' ' -f1-2); $(ver curl -V | cut -d' ' -f1-2)"
[[ " $PEERS " == *" squid "* ]] && vers+="; $(ver squid -v | sed 's/ Cache: Version//')"
[[ " $PEERS " == *" tinyproxy "* ]] && vers+="; $(ver tinyproxy -v)"
[[ " $PEERS " == *" privoxy "* ]] && vers+="; $(ver privoxy --version | sed 's/ version//; s/ (.*//')"
[[ " $REFS " == *" haproxy "* ]] && vers+="; $(ver haproxy -v | cut -d' ' -f1-3)"
echo "* Versions: $vers."
echo "* Limits: open files $NOFILE (hard limit $(ulimit -Hn), fs.nr_open $NR_OPEN); ephemeral ports $EPH_LO-$EPH_HI; net.ipv4.tcp_tw_reuse=$(sysctl -n net.ipv4.tcp_tw_reuse 2>/dev/null || echo '?'); $ROUNDS round(s), medians."
echo
hold_hdr() { # requested count -> column label
    if [[ ${HOLD_N[$1]} == "$1" ]]; then echo "KiB RSS per idle tunnel @$1"
    else echo "KiB RSS per idle tunnel @$1 (measured at ${HOLD_N[$1]}: open-file limit)"; fi
}
hdr="| target | req/s c=50 | p50 / p99 ms c=50 | req/s c=200 | p50 / p99 ms c=200 | CONNECT 1 GiB MB/s | new tunnels/s |"
sep="|---|---|---|---|---|---|---|"
for n in $HOLD_COUNTS; do hdr+=" $(hold_hdr "$n") |"; sep+="---|"; done
echo "$hdr CPU s per 100k req (c=50) | errors |"
echo "$sep---|---|"
for t in "${TARGETS[@]}"; do
    label=${LABEL[$t]}
    if [[ -n ${NOTE[$t]:-} && -z ${V[$t|rps50]:-} ]]; then
        row="| $label | FAILED: ${NOTE[$t]} |"
        for ((i = 0; i < 7 + $(wc -w <<<"$HOLD_COUNTS"); i++)); do row+=" |"; done
        echo "$row"; continue
    fi
    relay=""; [[ ${KIND[$t]} == relay || ${KIND[$t]} == rp ]] && relay=" (relay)"
    cell() { [[ $1 == - ]] && echo - || echo "$1$relay"; }
    bulk=$(cell "$(metric_value "$t" bulk)"); rate=$(cell "$(metric_value "$t" rate)")
    holds=""
    for n in $HOLD_COUNTS; do
        m=${HOLD_N[$n]}; v=$(cell "$(metric_value "$t" "hold$m")")
        [[ -n ${V[$t|holdshort$m]:-} ]] && v+=" (only ${V[$t|holdshort$m]} held)"
        holds+=" $v |"
    done
    errs=()
    ns=$(sum "$t|nstatus"); nk=$(sum "$t|nsock"); nf=$(sum "$t|ratefail")
    ((ns > 0)) && errs+=("wrk non-2xx $ns")
    ((nk > 0)) && errs+=("wrk socket errors $nk")
    ((nf > 0)) && errs+=("tunnel rate failures $nf")
    [[ -n ${NOTE[$t]:-} ]] && errs+=("${NOTE[$t]}")
    [[ -n ${EXTRA[$t]:-} ]] && errs+=("see notes")
    err=$( ((${#errs[@]})) && (IFS=';'; echo "${errs[*]}" | sed 's/;/; /g') || echo 0)
    echo "| $label | $(metric_value "$t" rps50) | $(metric_value "$t" p50_50) / $(metric_value "$t" p99_50) | $(metric_value "$t" rps200) | $(metric_value "$t" p50_200) / $(metric_value "$t" p99_200) | $bulk | $rate |$holds $(metric_value "$t" cpu) | $err |"
done
echo

# Ratios: sluice's figure divided by the best peer's, the best reference's and direct's.
best_of() { # metric targets... -> "value name" of the best, or "- -"
    local m=$1 t v best=- who=-; shift
    for t in "$@"; do
        v=$(metric_value "$t" "$m")
        [[ $v == - ]] && continue
        if [[ $best == - ]] || awk -v a="$v" -v b="$best" -v h="${HIGHER[$m]:-0}" \
            'BEGIN { exit !(h ? a > b : a < b) }'; then best=$v; who=$t; fi
    done
    echo "$best $who"
}
ratio() { [[ $1 == - || $2 == - ]] && echo - || awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }
refname() { case $1 in haproxy) echo "HAProxy" ;; nginx) echo "nginx-rp" ;; *) echo "$1" ;; esac; }

echo "Ratios: sluice ÷ the best peer (of: ${PEERS:-none}), ÷ the best reference (of: ${REFS:-none}), ÷ direct."
echo "For rows marked \"higher\" a ratio above 1 means sluice is better; for rows marked \"lower\", below 1."
echo
bcol=""; bsep=""
[[ -n $BASE ]] && bcol=" baseline | sluice ÷ baseline |" && bsep="---|---|"
echo "| figure | better | sluice | best peer | sluice ÷ peer | best reference | sluice ÷ ref | direct | sluice ÷ direct |$bcol"
echo "|---|---|---|---|---|---|---|---|---|$bsep"
holdm=(); for n in $HOLD_COUNTS; do holdm+=("hold${HOLD_N[$n]}"); done
for m in rps50 p50_50 p99_50 rps200 p50_200 p99_200 bulk rate "${holdm[@]}" cpu; do
    case $m in hold*) lbl="KiB RSS per idle tunnel @${m#hold}" ;; *) lbl=${MLABEL[$m]} ;; esac
    s=$(metric_value sluice "$m")
    read -r bp bpn < <(best_of "$m" $PEERS)
    read -r br brn < <(best_of "$m" $REFS)
    d=$(metric_value direct "$m")
    [[ $m == hold* ]] && d=-
    bpc=$bp; [[ $bp == - ]] || bpc="$bp ($bpn)"
    brc=$br; [[ $br == - ]] || brc="$br ($(refname "$brn"))"
    bcell=""
    if [[ -n $BASE ]]; then b=$(metric_value baseline "$m"); bcell=" $b | $(ratio "$s" "$b") |"; fi
    echo "| $lbl | $([[ ${HIGHER[$m]:-0} == 1 ]] && echo higher || echo lower) | $s | $bpc | $(ratio "$s" "$bp") | $brc | $(ratio "$s" "$br") | $d | $(ratio "$s" "$d") |$bcell"
done
echo

# Notes derived from the data.
notes=()
for t in "${TARGETS[@]}"; do
    [[ $t == direct || -z ${V[$t|ups50]:-} ]] && continue
    u=$(med "$t|ups50"); u2=$(med "$t|ups200"); c=$(med "$t|cli")
    if awk -v u="$u" 'BEGIN { exit !(u >= 0.9) }'; then
        notes+=("$t opened a new upstream connection for every request (c=50: $u per request).")
    elif awk -v u="$u" -v v="$u2" 'BEGIN { exit !(u >= 0.02 || v >= 0.02) }'; then
        notes+=("$t opened a new upstream connection for part of the requests: $u per request at c=50, $u2 at c=200 (origin accepts ÷ requests; 0 = every upstream connection reused).")
    fi
    awk -v c="$c" 'BEGIN { exit !(c >= 0.9) }' && notes+=("$t closed the client connection after every response (c=50: $c new client connections per request); wrk counts the next write on it as a socket error.")
done
for t in "${TARGETS[@]}"; do
    [[ -n ${EXTRA[$t]:-} ]] && notes+=("$t: ${EXTRA[$t]}.")
done
for n in $HOLD_COUNTS; do
    [[ ${HOLD_N[$n]} == "$n" ]] && continue
    notes+=("$n idle tunnels did not fit the open-file limit of this run ($NOFILE; a proxy needs ~2 per tunnel and the script could not raise the hard limit), so that column was measured with ${HOLD_N[$n]} tunnels.")
done
if [[ $BENCH_SLUICE_LOG == file && -f $WORK/logs/sluice.jsonl ]]; then
    notes+=("sluice wrote $(wc -l <"$WORK/logs/sluice.jsonl") JSON log lines ($(du -m "$WORK/logs/sluice.jsonl" | cut -f1) MiB) during the run; its stderr has $(wc -l <"$WORK/logs/sluice.err") lines.")
fi
if ((${#notes[@]})); then
    echo "Notes:"
    echo
    for n in "${notes[@]}"; do echo "* $n"; done
    echo
fi
cat <<EOF
How it was measured (details in bench/README.md): everything on 127.0.0.1; origin = nginx (2 workers, keep-alive,
access_log off, sendfile) serving /100b and a sparse /1g. (a) \`wrk -t$WRK_THREADS -c50|200 -d${WRK_SECS}s\`, GET /100b,
absolute-URI through forward proxies, origin-form for direct and the references. (b) \`curl -p -x\` (CONNECT) of /1g,
MB/s = 10^6 bytes/s; references: plain GET through the relay "(relay)". (c) tunload rate, c=$RATE_CONC, ${RATE_SECS}s:
connect, CONNECT, 200, GET /100b Connection: close, whole response, close; HAProxy: the same without the CONNECT step.
(d) tunload hold: N tunnels, one keep-alive GET each, then idle; (RSS during - RSS before) / N over the process
tree, each count on a freshly started proxy. (e) utime+stime of the target's process tree during the c=50 wrk runs
(direct: the origin nginx). Load generator, origin and proxy share the same $(nproc) CPUs.
EOF
echo
echo "<details><summary>raw per-run values</summary>"
echo
echo '```'
cat "$RAW"
# sluice's operational messages other than the routine start/stop lines
grep -v -E '^sluice: (listening on|[0-9]+ workers running|signal 15, stopping)' \
    "$WORK/logs/sluice.err" 2>/dev/null | sort | uniq -c | sort -rn | head -n 20 | sed 's/^/sluice stderr: /' || true
echo '```'
echo "</details>"
