#!/bin/sh
# Tests src/io/tls_session.c against a local TLS origin: makes a throwaway CA and certificates,
# starts tests/tls/tls_server.py on 127.0.0.1 (ephemeral ports), builds tls_session_test.c with
# ASan+UBSan and runs it. Exits non-zero on any failure; stops only the server it started.
# Environment: CC (default gcc), PYTHON (default /usr/bin/python3), TLS_TEST_KEEP=1 keeps the
# work directory for inspection.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cc=${CC:-gcc}
python=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-tls.XXXXXX")
server_pid=

cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [ "${TLS_TEST_KEEP:-0}" = 1 ]; then
		echo "work directory kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Certificates: P-256 keys are quick to make. The server certificate is valid for localhost and
# 127.0.0.1; the self-signed one is valid for the same names but chains to nothing trusted.
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
cd "$work"
key ca.key
key server.key
key self.key
openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=sluice-test-ca \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
openssl req -new -key server.key -out server.csr -subj /CN=localhost
cat >server.ext <<'EOF'
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
EOF
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
	-extfile server.ext -out server.pem 2>/dev/null
openssl req -x509 -new -key self.key -out self.pem -days 2 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1

"$python" "$here/tls_server.py" server.pem server.key self.pem self.key ready &
server_pid=$!

# Build while the server starts.
"$cc" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter -Wformat=2 -g -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined -I"$root/src" \
	"$root/src/io/tls_session.c" "$root/src/base/buf.c" "$here/tls_session_test.c" \
	$(pkg-config --cflags --libs openssl) -o tls_session_test

i=0
while [ ! -f ready ]; do
	if ! kill -0 "$server_pid" 2>/dev/null || [ $i -ge 100 ]; then
		echo "tls_server.py did not start" >&2
		exit 1
	fi
	i=$((i + 1))
	sleep 0.05
done
read -r good_port self_port plain_port <ready

ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} ./tls_session_test ca.pem "$good_port" "$self_port" \
	"$plain_port"
