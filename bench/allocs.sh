#!/usr/bin/env bash
# bench/allocs.sh - allocator calls per keep-alive request (issue 12 item 2), for SLUICE_BIN and
# BASELINE_BIN when set. A one-worker sluice runs with bench/alloc_count.c preloaded against an
# nginx origin, all on 127.0.0.1; one client connection sends FEW then MANY absolute-form GETs of
# /100b (a fresh sluice each time), and the difference of the counts divided by MANY - FEW is
# per request, by call and by the function that made it (addr2line). Knobs: FEW (10),
# MANY (1010). See bench/README.md.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SLUICE_BIN=${SLUICE_BIN:-build/sluice}
BASELINE_BIN=${BASELINE_BIN:-}
FEW=${FEW:-10}
MANY=${MANY:-1010}
ORIGIN_PORT=18380 SLUICE_PORT=18390
LO=127.0.0.1
for t in nginx gcc python3 addr2line; do command -v $t >/dev/null || { echo "allocs: needs $t" >&2; exit 1; }; done
WORK=$(mktemp -d /tmp/sluice-allocs.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

gcc -O2 -shared -fPIC -o "$WORK/alloc_count.so" "$HERE/alloc_count.c" -ldl
mkdir -p "$WORK/www" "$WORK/ng"
printf '%0100d' 0 | tr 0 x >"$WORK/www/100b"
chmod 755 "$WORK" "$WORK/www"; chmod 644 "$WORK/www/100b"   # nginx's workers are not root
cat >"$WORK/origin.conf" <<NGX
worker_processes 1;
pid $WORK/ng/pid;
error_log $WORK/ng/error.log warn;
daemon off;
events { worker_connections 256; }
http { access_log off; keepalive_timeout 900s; keepalive_requests 10000000;
  client_body_temp_path $WORK/ng/b; proxy_temp_path $WORK/ng/p; fastcgi_temp_path $WORK/ng/f;
  uwsgi_temp_path $WORK/ng/u; scgi_temp_path $WORK/ng/s;
  server { listen $LO:$ORIGIN_PORT; root $WORK/www; } }
NGX
cat >"$WORK/sluice.yaml" <<YAML
listen:
  http: "$LO:$SLUICE_PORT"
workers: 1
resolver:
  servers: ["$LO"]
ips:
  allow: ["127.0.0.1/32"]
ports: [$ORIGIN_PORT]
YAML
nginx -p "$WORK/ng" -c "$WORK/origin.conf" -e "$WORK/ng/error.log" & PIDS+=($!)

# count BIN N -> the counter's report of a sluice that served N requests
count() {
    local bin=$1 n=$2 s
    LD_PRELOAD="$WORK/alloc_count.so" "$bin" -c "$WORK/sluice.yaml" >/dev/null 2>"$WORK/err" & s=$!
    timeout 60 python3 - "$n" "$LO" "$SLUICE_PORT" "$ORIGIN_PORT" <<'PY'
import socket, sys, time
n, lo, port, origin = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
for _ in range(100):
    try:
        s = socket.create_connection((lo, port)); break
    except OSError:
        time.sleep(0.05)
req = b"GET http://%s:%s/100b HTTP/1.1\r\nHost: %s:%s\r\n\r\n" % ((lo.encode(), origin.encode()) * 2)
for _ in range(n):
    s.sendall(req)
    got = b""
    while not got.endswith(b"x" * 100):
        chunk = s.recv(4096)
        got += chunk
        if not chunk or not got.startswith(b"HTTP/1.1 200"[:len(got)]):
            sys.exit("allocs: no 200 through sluice: %r" % got[:200])
s.close()
PY
    sleep 0.2
    kill -TERM "$s"; wait "$s" || true
    grep -E '^(allocs|site) ' "$WORK/err"
}

report() { # label binary
    local label=$1 bin=$2
    count "$bin" "$FEW" >"$WORK/few"; count "$bin" "$MANY" >"$WORK/many"
    python3 - "$label" "$bin" "$WORK/few" "$WORK/many" $((MANY - FEW)) <<'PY'
import subprocess, sys
label, binary, few, many, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
def read(path):
    calls, sites = {}, {}
    for line in open(path):
        f = line.split()
        if f[0] == "allocs":
            calls = dict(zip(f[1::2], map(int, f[2::2])))
        else:
            sites[f[1]] = int(f[2])
    return calls, sites
(c0, s0), (c1, s1) = read(few), read(many)
per = {k: (c1[k] - c0.get(k, 0)) / n for k in c1}
print("| %s | %s |" % (label, " | ".join("%.2f" % per[k] for k in ("malloc", "calloc", "realloc", "free"))))
for site, count in sorted(s1.items(), key=lambda kv: -kv[1]):
    d = (count - s0.get(site, 0)) / n
    if d < 0.01:
        continue
    obj, off = site.rsplit("+", 1)
    fn = "?"
    if obj.endswith(binary.rsplit("/", 1)[-1]):
        out = subprocess.run(["addr2line", "-f", "-e", obj, hex(int(off, 16) - 1)],
                             capture_output=True, text=True).stdout.split("\n")
        fn = "%s (%s)" % (out[0], out[1].rsplit("/", 1)[-1]) if len(out) > 1 else out[0]
    print("  - %.2f per request from %s" % (d, fn), file=sys.stderr)
PY
}

echo "allocator calls per keep-alive request ($((MANY - FEW)) requests, one connection, one worker):"
echo
echo "| target | malloc | calloc | realloc | free |"
echo "|---|---|---|---|---|"
report "**sluice**" "$SLUICE_BIN"
[[ -z $BASELINE_BIN ]] || report "baseline (BASELINE_BIN)" "$BASELINE_BIN"
