#!/usr/bin/env bash
# Tunnel relay paths side by side (issue 3, item 2: "measure both and keep what wins, by size").
# Runs sluice three times — SLUICE_TUNNEL_SPLICE=never (copies through user space), always
# (splice through pooled pipes) and auto (copies, switching to splice once a read fills its
# 16 KiB buffer) — and measures, in one run, on 127.0.0.1 only:
#   bulk: one 1 GiB CONNECT download (curl -p), MB/s, median of ROUNDS;
#   small: new CONNECT tunnels per second, each carrying one 100-byte response (tunload rate);
#   CPU seconds of sluice per GiB for the bulk transfer.
# Needs nginx and gcc (bench/run.sh installs them). Prints one markdown table on stdout.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SLUICE_BIN=${SLUICE_BIN:-$HERE/../build/sluice}
ROUNDS=${ROUNDS:-3}
LO=127.0.0.1 ORIGIN_PORT=18180 SLUICE_PORT=18190
WORK=$(mktemp -d /tmp/sluice-splice.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

mkdir -p "$WORK/www" "$WORK/tmp"
chmod 755 "$WORK"  # nginx workers run as an unprivileged user and must read www/
head -c 100 /dev/zero | tr '\0' x >"$WORK/www/100b"
truncate -s 1G "$WORK/www/1g"
chmod -R a+rX "$WORK/www"
cat >"$WORK/nginx.conf" <<NG
worker_processes 1; daemon off; pid $WORK/nginx.pid; error_log $WORK/nginx.err;
events { worker_connections 4096; }
http { access_log off; sendfile on; keepalive_requests 1000000;
  client_body_temp_path $WORK/tmp; proxy_temp_path $WORK/tmp; fastcgi_temp_path $WORK/tmp;
  uwsgi_temp_path $WORK/tmp; scgi_temp_path $WORK/tmp;
  server { listen $LO:$ORIGIN_PORT; root $WORK/www; } }
NG
nginx -c "$WORK/nginx.conf" & PIDS+=($!)
gcc -std=c11 -O2 -o "$WORK/tunload" "$HERE/tunload.c"
cat >"$WORK/sluice.yaml" <<CFG
listen: {http: "$LO:$SLUICE_PORT"}
ips: {allow: ["$LO/32"]}
ports: [$ORIGIN_PORT]
tunnel: {opaque_ports: [$ORIGIN_PORT]}
workers: 1
CFG
sleep 0.5

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "| relay path | 1 GiB CONNECT MB/s | sluice CPU s per GiB | new tunnels/s (100 B each) |"
echo "|---|---|---|---|"
for mode in never always auto; do
	SLUICE_TUNNEL_SPLICE=$mode "$SLUICE_BIN" -c "$WORK/sluice.yaml" >/dev/null 2>&1 & sp=$!
	PIDS+=($sp)
	sleep 0.5
	bulk=() cpu=() rate=()
	for ((r = 0; r < ROUNDS; r++)); do
		t0=$(ticks $sp)
		bps=$(curl -s -o /dev/null -p -x "http://$LO:$SLUICE_PORT" --max-time 60 \
			-w '%{speed_download}' "http://$LO:$ORIGIN_PORT/1g")
		t1=$(ticks $sp)
		bulk+=("$(awk -v b="$bps" 'BEGIN {printf "%.0f", b / 1e6}')")
		cpu+=("$(awk -v t=$((t1 - t0)) 'BEGIN {printf "%.2f", t / 100}')")
		res=$(timeout 30 "$WORK/tunload" -m rate -p "$LO:$SLUICE_PORT" -o "$LO:$ORIGIN_PORT" \
			-u /100b -c 50 -d 3 2>&1 | grep '^RESULT' || true)
		rate+=("$(sed -n 's/.*rate=\([0-9.]*\).*/\1/p' <<<"$res")")
	done
	kill $sp; wait $sp 2>/dev/null || true
	printf '| %s | %s | %s | %s |\n' "$mode" \
		"$(printf '%s\n' "${bulk[@]}" | median)" "$(printf '%s\n' "${cpu[@]}" | median)" \
		"$(printf '%s\n' "${rate[@]}" | median)"
done
echo
echo "Medians of $ROUNDS rounds; $(nproc) CPUs; $(date -u '+%Y-%m-%d %H:%M UTC'); command: bench/splice_modes.sh"
