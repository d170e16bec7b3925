# syntax=docker/dockerfile:1
#
# The sluice container image: a Debian 12 build stage, and a Debian 12 slim
# runtime that holds the binary, its five runtime libraries and the CA
# certificates (for https:// route upstreams), running as uid 10001.
#
#   docker build -t sluice:0.1.0 .
#   docker run --rm -p 3128:3128 -v "$PWD/my.yaml:/etc/sluice/sluice.yaml:ro" sluice:0.1.0
#
# The configuration is read from /etc/sluice/sluice.yaml; the image ships
# deploy/image/sluice.yaml there (listen on 0.0.0.0:3128, admin on
# 127.0.0.1:9090). Mount your own file over it, read-only. Decisions are
# JSON lines on stdout (`docker logs`). Reload: `docker kill -s HUP NAME`.
# More: docs/deploy.md.

# ---- build -------------------------------------------------------------------
FROM debian:12-slim AS build

# The build dependencies of the Makefile's DEB_PACKAGES, without the test and
# fuzz tools (clang, cmocka, pytest, curl, iproute2, util-linux).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libevent-dev libc-ares-dev libyaml-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Only what the sluice target needs (CMakeLists.txt also names the policy
# benchmark's source, which must exist to configure).
COPY CMakeLists.txt ./
COPY src/ src/
COPY bench/policy_bench.c bench/
# Release, at -O2 rather than CMake's -O3: the optimisation level the test
# suite runs against (RelWithDebInfo), and -O3 makes gcc 12 report
# -Wformat-truncation false positives that -Werror turns into build failures.
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
 && cmake --build /build --target sluice -j"$(nproc)" \
 && /build/sluice check -c /dev/null

# ---- runtime -----------------------------------------------------------------
FROM debian:12-slim

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libevent-core-2.1-7 libevent-pthreads-2.1-7 libc-ares2 libyaml-0-2 libssl3 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 sluice \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin sluice

COPY --from=build /build/sluice /usr/local/bin/sluice
COPY deploy/image/sluice.yaml /etc/sluice/sluice.yaml

# Numeric, so that Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001

# 3128: the proxy. 9090: the admin listener (/healthz, /readyz, /metrics),
# reachable from outside the container only if the configuration listens on
# 0.0.0.0:9090 (Kubernetes probes); the built-in file keeps it on loopback.
EXPOSE 3128 9090

# Liveness from the admin listener's /healthz. There is no curl in the image,
# on purpose: adding one would put a general HTTP client (and its libraries
# and their CVEs) into every proxy container for a once-a-minute probe.
# bash, already in debian:12-slim (an Essential package), opens the TCP
# connection through /dev/tcp and the check reads the status line: nothing
# is installed and nothing runs with more privilege than sluice itself.
# A configuration without listen.admin on 127.0.0.1:9090 or 0.0.0.0:9090
# makes the container unhealthy: use `docker run --no-healthcheck` then.
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9090 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r -t 2 _ status _ <&3 && [ \"$status\" = 200 ]"]

# sluice stops cleanly on SIGTERM (what `docker stop` sends) and reloads its
# configuration on SIGHUP, also as PID 1.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/sluice"]
CMD ["-c", "/etc/sluice/sluice.yaml"]
