#!/usr/bin/env bash
# Reliability programs (issue 5, item 7): three load runs against sluice on 127.0.0.1 only.
#   soak:      wrk keep-alive GETs through sluice until SOAK_REQUESTS (1,000,000) are done;
#              zero errors, RSS sampled every second stays flat, one log line per request.
#   slowloris: a normal client's p50/p99 unloaded, then with SLOW_CLIENTS (2,000) connections
#              trickling one header byte per second (request_head raised to 60 s so they stay);
#              then, with the default 10 s request_head, how sluice ends them (408 + close).
#   reloads:   RELOADS (100) SIGHUPs, every 0.25 s, alternating two valid configs, under wrk load;
#              zero failed requests.
# Prints one markdown table on stdout (check, result, target, pass/fail) and the command;
# progress goes to stderr. Exit status 0 only if every check passes.
# Knobs: QUICK=1 (100k soak in runs of 8 s, 200 slow clients, 20 reloads), SLUICE_BIN,
# SOAK_REQUESTS, SOAK_ROUND_SECS, SLOW_CLIENTS, RELOADS, KEEP_WORK=1.
# Needs nginx, wrk and gcc. Starts its own nginx (:18280) and sluice (:18290) and stops exactly
# those (by PID) on exit.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CMDLINE="" # the knobs set by the caller, for the command line printed with the table
for k in QUICK SLUICE_BIN SOAK_REQUESTS SOAK_ROUND_SECS SLOW_CLIENTS RELOADS; do
	[[ -n ${!k+x} ]] && CMDLINE+="$k=${!k} "
done
SLUICE_BIN=${SLUICE_BIN:-$HERE/../build/sluice}
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
	SOAK_REQUESTS=${SOAK_REQUESTS:-100000} SLOW_CLIENTS=${SLOW_CLIENTS:-200}
	RELOADS=${RELOADS:-20} SOAK_ROUND_SECS=${SOAK_ROUND_SECS:-8}
fi
SOAK_REQUESTS=${SOAK_REQUESTS:-1000000}
SOAK_ROUND_SECS=${SOAK_ROUND_SECS:-40}
SLOW_CLIENTS=${SLOW_CLIENTS:-2000}
RELOADS=${RELOADS:-100}
LO=127.0.0.1 ORIGIN_PORT=18280 SLUICE_PORT=18290
URL="http://$LO:$ORIGIN_PORT/100b"

die() { echo "reliability: $*" >&2; exit 2; }
say() { echo "reliability: $*" >&2; }
[[ -x $SLUICE_BIN ]] || die "no sluice binary at $SLUICE_BIN (make build, or set SLUICE_BIN)"
for t in nginx wrk gcc; do command -v $t >/dev/null || die "$t is not installed"; done
[[ $SOAK_REQUESTS =~ ^[0-9]+$ && $SOAK_REQUESTS -le 20000000 ]] || die "SOAK_REQUESTS: 0-20000000"
[[ $SLOW_CLIENTS =~ ^[0-9]+$ && $SLOW_CLIENTS -ge 1 && $SLOW_CLIENTS -le 6000 ]] ||
	die "SLOW_CLIENTS: 1-6000"
[[ $RELOADS =~ ^[0-9]+$ && $RELOADS -ge 1 && $RELOADS -le 1000 ]] || die "RELOADS: 1-1000"
# 2,000 slow clients need 2,000 descriptors in sluice and as many in the helper.
ulimit -n 8192 2>/dev/null || die "cannot raise the open-file limit to 8192 (hard: $(ulimit -Hn))"

WORK=$(mktemp -d /tmp/sluice-reliability.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	[[ ${KEEP_WORK:-0} == 1 ]] && say "work dir kept: $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- origin and tools ---
mkdir -p "$WORK/www" "$WORK/tmp"
chmod 755 "$WORK" # nginx workers run as an unprivileged user and must read www/
head -c 100 /dev/zero | tr '\0' x >"$WORK/www/100b"
chmod -R a+rX "$WORK/www"
cat >"$WORK/nginx.conf" <<NG
worker_processes 1; daemon off; pid $WORK/nginx.pid; error_log $WORK/nginx.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000000; keepalive_timeout 300s;
  client_body_temp_path $WORK/tmp; proxy_temp_path $WORK/tmp; fastcgi_temp_path $WORK/tmp;
  uwsgi_temp_path $WORK/tmp; scgi_temp_path $WORK/tmp;
  server { listen $LO:$ORIGIN_PORT; root $WORK/www; } }
NG
nginx -c "$WORK/nginx.conf" & PIDS+=($!)
gcc -std=c11 -O2 -o "$WORK/slowloris" "$HERE/slowloris.c"
cat >"$WORK/get.lua" <<LUA
-- Every request is an absolute-form GET through the proxy (setting wrk.path does not do it).
local req
init = function(args)
  req = wrk.format("GET", "$URL", {Host = "$LO:$ORIGIN_PORT"})
end
request = function() return req end
LUA

# sluice_conf FILE [EXTRA_YAML]: the common config plus extra lines.
sluice_conf() {
	cat >"$1" <<CFG
listen: {http: "$LO:$SLUICE_PORT"}
ips: {allow: ["$LO/32"]}
ports: [$ORIGIN_PORT]
tunnel: {opaque_ports: [$ORIGIN_PORT]}
limits: {max_connections: 20000}
${2:-}
CFG
}
SLUICE_PID=""
# start_sluice CONFIG NAME: stdout (the decision log) to NAME.log, stderr to NAME.err.
start_sluice() {
	"$SLUICE_BIN" -c "$1" >"$WORK/$2.log" 2>"$WORK/$2.err" & SLUICE_PID=$!
	PIDS+=("$SLUICE_PID")
	for _ in $(seq 50); do
		grep -q listening "$WORK/$2.err" 2>/dev/null && return 0
		kill -0 $SLUICE_PID 2>/dev/null || break
		sleep 0.1
	done
	cat "$WORK/$2.err" >&2
	die "sluice did not start"
}
stop_sluice() {
	kill $SLUICE_PID 2>/dev/null || true
	wait $SLUICE_PID 2>/dev/null || true
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# wrk_run OUT ARGS...: wrk through sluice with the absolute-form script.
wrk_run() {
	local out=$1; shift
	# In the background and waited for, so a TERM to this script is handled at once (bash runs
	# a trap only after a foreground child ends); timeout passes the TERM on to wrk.
	timeout 600 wrk -s "$WORK/get.lua" "$@" "http://$LO:$SLUICE_PORT/" >"$out" 2>&1 &
	local p=$!
	PIDS+=("$p")
	wait "$p" || true
}
wrk_requests() { awk '/requests in/ {print $1; exit}' "$1"; }
# Non-2xx/3xx responses plus every socket error.
wrk_errors() {
	awk '/Non-2xx/ {e += $NF}
	     /Socket errors/ {gsub(",", ""); e += $4 + $6 + $8 + $10}
	     END {print e + 0}' "$1"
}
# wrk_pct FILE 50|99: that latency percentile in ms.
wrk_pct() {
	awk -v p="$2%" '$1 == p {v = $2
		if (v ~ /us$/) {sub("us", "", v); v /= 1000}
		else if (v ~ /ms$/) {sub("ms", "", v)}
		else if (v ~ /s$/) {sub("s", "", v); v *= 1000}
		printf "%.2f", v; exit}' "$1"
}
# latency3 NAME: three 5 s runs of wrk -t1 -c10; LAT="median-p50 median-p99 errors". The median
# of three keeps one burst of other work on a shared machine from deciding the ratio.
latency3() {
	local i p50=() p99=() e=0
	for i in 1 2 3; do
		wrk_run "$WORK/slow.$1.$i.wrk" -t1 -c10 -d5s --latency
		p50+=("$(wrk_pct "$WORK/slow.$1.$i.wrk" 50)") p99+=("$(wrk_pct "$WORK/slow.$1.$i.wrk" 99)")
		e=$((e + $(wrk_errors "$WORK/slow.$1.$i.wrk")))
	done
	LAT="$(printf '%s\n' "${p50[@]}" | sort -g | sed -n 2p) $(printf '%s\n' "${p99[@]}" |
		sort -g | sed -n 2p) $e"
}
ms_to_s() { awk -v m="$1" 'BEGIN {printf "%.1f", m / 1000}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

ROWS=()
FAILS=0
row() { # check result target ok(0/1)
	local verdict=pass
	[[ $4 == 1 ]] || { verdict=FAIL; FAILS=$((FAILS + 1)); }
	ROWS+=("| $1 | $2 | $3 | $verdict |")
}
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
sleep 0.3

# ------------------------------------------------------------------------- soak ---
say "soak: $SOAK_REQUESTS requests, rounds of ${SOAK_ROUND_SECS}s of wrk -t2 -c50"
sluice_conf "$WORK/soak.yaml"
start_sluice "$WORK/soak.yaml" soak
( while kill -0 $SLUICE_PID 2>/dev/null; do rss_kib $SLUICE_PID; sleep 1; done ) \
	>"$WORK/soak.rss" & PIDS+=($!)
sampler=$!
total=0 errors=0 rounds=0
round_secs=$SOAK_ROUND_SECS soak_secs=0
while ((total < SOAK_REQUESTS && rounds < 30)); do
	wrk_run "$WORK/soak.$rounds.wrk" -t2 -c50 -d"${round_secs}s"
	soak_secs=$((soak_secs + round_secs))
	n=$(wrk_requests "$WORK/soak.$rounds.wrk"); e=$(wrk_errors "$WORK/soak.$rounds.wrk")
	[[ -n $n ]] || { cat "$WORK/soak.$rounds.wrk" >&2; die "wrk failed"; }
	total=$((total + n)) errors=$((errors + e)) rounds=$((rounds + 1))
	say "soak: round $rounds: $n requests, $e errors (total $total)"
	# The next round only as long as the remainder needs at this round's rate, plus a margin.
	((n > 0)) && round_secs=$(((SOAK_REQUESTS - total) * round_secs * 5 / 4 / n + 3))
	((round_secs > SOAK_ROUND_SECS)) && round_secs=$SOAK_ROUND_SECS
done
sleep 1.5 # the last log lines and RSS sample
rss_end=$(rss_kib $SLUICE_PID)
kill $sampler 2>/dev/null || true; wait $sampler 2>/dev/null || true
stop_sluice
lines=$(wc -l <"$WORK/soak.log")
ok200=$(grep -c '"status":200' "$WORK/soak.log" || true)
mapfile -t rss <"$WORK/soak.rss"
ns=${#rss[@]}
warm=$((ns / 10))
rss_warm=${rss[$warm]}
rss_max=$(printf '%s\n' "${rss[@]:$warm}" "$rss_end" | sort -n | tail -1)
growth=$((rss_max - rss_warm))
pct=$(awk -v g=$growth -v w="$rss_warm" 'BEGIN {printf "%.1f", 100 * g / w}')
flat=$(awk -v g=$growth -v w="$rss_warm" 'BEGIN {print (g < 0.05 * w || g < 2048) ? 1 : 0}')
# wrk counts only the responses it read before its deadline; sluice also logs the requests that
# were in flight when a round's connections closed: at most one per connection per round.
extra=$((lines - total))
row "soak: proxied requests (wrk -t2 -c50, ${soak_secs} s in $rounds run(s))" "$total" \
	"≥ $SOAK_REQUESTS" $((total >= SOAK_REQUESTS ? 1 : 0))
row "soak: errors (non-2xx + socket errors)" "$errors" "0" $((errors == 0 ? 1 : 0))
row "soak: sluice RSS at 10 % → end (max growth after warm-up)" \
	"$(mib "$rss_warm") → $(mib "$rss_end") MiB (+$(mib $growth) MiB, $pct %)" \
	"< 5 % or < 2 MiB" "$flat"
row "soak: log lines (status 200) vs requests" \
	"$lines ($ok200) vs $total (+$extra in flight at round ends)" \
	"all 200; 0 ≤ extra ≤ 50 × rounds" \
	$((lines == ok200 && extra >= 0 && extra <= 50 * rounds ? 1 : 0))

# -------------------------------------------------------------------- slowloris ---
say "slowloris: unloaded latency (3 × wrk -t1 -c10 -d5s)"
sluice_conf "$WORK/slow.yaml" "timeouts: {request_head: 60s}"
start_sluice "$WORK/slow.yaml" slow
wrk_run "$WORK/slow.warm.wrk" -t1 -c10 -d2s # warm-up: connections, upstream pool
latency3 base
read -r b50 b99 be <<<"$LAT"
say "slowloris: unloaded p50 $b50 ms, p99 $b99 ms; opening $SLOW_CLIENTS slow clients"
"$WORK/slowloris" -p "$LO:$SLUICE_PORT" -n "$SLOW_CLIENTS" -d 60 >"$WORK/slow.loris" 2>&1 &
loris=$!
PIDS+=("$loris")
# Wait until sluice holds them all (its descriptors: the slow ones plus a few of its own).
for _ in $(seq 100); do
	nfd=$(ls "/proc/$SLUICE_PID/fd" 2>/dev/null | wc -l)
	((nfd >= SLOW_CLIENTS)) && break
	sleep 0.1
done
say "slowloris: sluice holds $nfd descriptors; loaded latency (3 × wrk -t1 -c10 -d5s)"
latency3 load
read -r l50 l99 le <<<"$LAT"
kill -TERM $loris 2>/dev/null || true
wait $loris 2>/dev/null || true
res=$(grep '^RESULT' "$WORK/slow.loris" || true)
[[ -n $res ]] || { cat "$WORK/slow.loris" >&2; die "slowloris failed"; }
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" $2"; }
held=$(field open_at_end "$res")
stop_sluice
ratio=$(awk -v a="$l99" -v b="$b99" 'BEGIN {printf "%.2f", a / b}')
row "slowloris: slow clients still connected after the loaded run" "$held of $SLOW_CLIENTS" \
	"all" $((held == SLOW_CLIENTS ? 1 : 0))
row "slowloris: normal client p50 / p99, unloaded (median of 3 × 5 s)" \
	"$b50 / $b99 ms ($be errors)" "–" \
	$((be == 0 ? 1 : 0))
row "slowloris: normal client p50 / p99, $SLOW_CLIENTS slow clients (median of 3 × 5 s)" \
	"$l50 / $l99 ms ($le errors)" "p99 ≤ 3 × unloaded" \
	"$(awk -v r="$ratio" -v e="$le" 'BEGIN {print (r <= 3 && e == 0) ? 1 : 0}')"
row "slowloris: p99 loaded / unloaded" "${ratio}×" "≤ 3×" \
	"$(awk -v r="$ratio" 'BEGIN {print (r <= 3) ? 1 : 0}')"

say "slowloris: default request_head (10 s): $SLOW_CLIENTS slow clients for 16 s"
sluice_conf "$WORK/slow10.yaml"
start_sluice "$WORK/slow10.yaml" slow10
"$WORK/slowloris" -p "$LO:$SLUICE_PORT" -n "$SLOW_CLIENTS" -d 16 >"$WORK/slow10.loris" 2>&1 &
loris=$!
PIDS+=("$loris")
wait $loris 2>/dev/null || true
sleep 0.5
res=$(grep '^RESULT' "$WORK/slow10.loris" || true)
[[ -n $res ]] || { cat "$WORK/slow10.loris" >&2; die "slowloris failed"; }
n408=$(field status408 "$res") cp50=$(field close_p50_ms "$res") cmax=$(field close_max_ms "$res")
closed=$(field closed_by_peer "$res")
log408=$(grep -c '"status":408' "$WORK/slow10.log" || true)
stop_sluice
closing="p50 $(ms_to_s "$cp50") s, max $(ms_to_s "$cmax") s"
row "slowloris: default 10 s head deadline: 408 then close" \
	"$n408 × 408, $closed closed ($closing); $log408 log lines" \
	"all, at ~10 s" \
	$((n408 == SLOW_CLIENTS && closed == SLOW_CLIENTS && cp50 >= 9500 && cmax <= 12500 ? 1 : 0))

# ---------------------------------------------------------------------- reloads ---
secs=$(((RELOADS + 3) / 4 + 5))
say "reloads: $RELOADS SIGHUPs every 0.25 s during wrk -t2 -c50 -d${secs}s"
sluice_conf "$WORK/reload-a.yaml" 'deny: ["unused-a.invalid"]'
sluice_conf "$WORK/reload-b.yaml" 'deny: ["unused-b.invalid", "*.unused-b.invalid"]'
cp "$WORK/reload-a.yaml" "$WORK/reload.yaml"
start_sluice "$WORK/reload.yaml" reload
# Not through wrk_run: $! must be timeout's PID, which passes a TERM on to wrk.
timeout 600 wrk -s "$WORK/get.lua" -t2 -c50 -d"${secs}s" "http://$LO:$SLUICE_PORT/" \
	>"$WORK/reload.wrk" 2>&1 & wrkpid=$!
PIDS+=("$wrkpid")
sleep 2
for ((i = 1; i <= RELOADS; i++)); do
	src=$([[ $((i % 2)) == 1 ]] && echo b || echo a)
	cp "$WORK/reload-$src.yaml" "$WORK/reload.next"
	mv "$WORK/reload.next" "$WORK/reload.yaml" # atomic: sluice never reads half a file
	kill -HUP $SLUICE_PID
	sleep 0.25
done
wait $wrkpid 2>/dev/null || true
sleep 0.5
loaded=$(grep -c 'loaded' "$WORK/reload.err" || true)
refused=$(grep -ci 'refus\|error\|invalid' "$WORK/reload.err" || true)
alive=$(kill -0 $SLUICE_PID 2>/dev/null && echo 1 || echo 0)
stop_sluice
rn=$(wrk_requests "$WORK/reload.wrk") re=$(wrk_errors "$WORK/reload.wrk")
[[ -n $rn ]] || { cat "$WORK/reload.wrk" >&2; die "wrk failed"; }
rbad=$(grep -vc '"status":200' "$WORK/reload.log" || true)
row "reloads: SIGHUPs sent / \"loaded\" on stderr" "$RELOADS / $loaded ($refused refused)" \
	"all loaded" $((loaded == RELOADS && refused == 0 && alive == 1 ? 1 : 0))
row "reloads: requests during the reloads (wrk -t2 -c50 -d${secs}s)" "$rn" "–" \
	$((rn > 0 ? 1 : 0))
row "reloads: failed requests (non-2xx + socket errors; non-200 log lines)" "$re; $rbad" \
	"0; 0" $((re == 0 && rbad == 0 ? 1 : 0))

# ----------------------------------------------------------------------- report ---
echo "| check | result | target | pass/fail |"
echo "|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
echo "$(nproc) CPUs; load average $LOAD0 at the start, $LOAD1 at the end;" \
	"$(date -u '+%Y-%m-%d %H:%M UTC'); command: \`${CMDLINE}bench/reliability.sh\`"
say "done: $FAILS failed check(s)"
exit $((FAILS == 0 ? 0 : 1))
