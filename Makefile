# Thin wrapper around CMake + CTest + pytest. See README.md.
BUILD        ?= build
BUILD_SAN    ?= build-sanitize
BUILD_FUZZ   ?= build-fuzz
JOBS         ?= $(shell nproc 2>/dev/null || echo 2)
PYTHON       ?= /usr/bin/python3
CONFIG       ?=
PYTEST_ARGS  ?=

DEB_PACKAGES = build-essential cmake pkg-config clang libevent-dev libc-ares-dev \
	libyaml-dev libssl-dev libnghttp2-dev libhyperscan-dev libcmocka-dev python3-pytest curl iproute2 util-linux \
	openssl ca-certificates libclang-rt-14-dev libseccomp-dev clang-format strace bind9-dnsutils \
	nodejs python3-grpcio python3-requests chromium

.PHONY: all deps build run test test-unit test-integration test-sanitize test-valgrind test-fuzz fuzz-build fuzz bench bench-route-tls bench-intercept bench-scan bench-search bench-profile bench-allocs bench-policy bench-dns format clean

all: build

# Installs the Debian packages in $(1) that are missing (or prints the apt-get line when not
# root).
define install_debs
	@missing=$$(for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "deps: installing $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
		echo "deps: missing Debian packages; run:"; \
		echo "  sudo apt-get install -y $$missing"; exit 1; \
	fi
endef

# Node clients the integration tests drive (undici; the search APIs' SDKs), pinned by
# tests/clients/package-lock.json.
CLIENTS = tests/clients

deps:
	$(call install_debs,$(DEB_PACKAGES))
	@if [ ! -d $(CLIENTS)/node_modules ] || [ $(CLIENTS)/package-lock.json -nt $(CLIENTS)/node_modules ]; then \
		echo "deps: npm ci in $(CLIENTS)"; \
		npm ci --prefix $(CLIENTS) --no-audit --no-fund --loglevel=error && touch $(CLIENTS)/node_modules; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

run: build
	./$(BUILD)/sluice $(if $(CONFIG),-c $(CONFIG))

test: build
	$(MAKE) --no-print-directory test-unit test-integration test-fuzz

test-unit:
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# Integration tests run inside a fresh network namespace (unshare -n): no test
# packet can reach a real network, even if sluice has a bug.
test-integration:
	SLUICE_BIN=$(abspath $(BUILD))/sluice unshare -n -- $(PYTHON) -m pytest -q tests/integration $(PYTEST_ARGS)

test-sanitize: deps
	cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON -DCMAKE_C_COMPILER=clang
	cmake --build $(BUILD_SAN) -j$(JOBS)
	cd $(BUILD_SAN) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1 SLUICE_BIN=$(abspath $(BUILD_SAN))/sluice unshare -n -- $(PYTHON) -m pytest -q tests/integration $(PYTEST_ARGS)

# The integration suite with every sluice process under valgrind memcheck (docs/security.md).
test-valgrind: deps
	$(call install_debs,valgrind)
	PYTHON=$(PYTHON) tools/valgrind-integration.sh

# libFuzzer builds of every parser target (clang). `make test` runs each for FUZZ_SMOKE_SECONDS
# on its committed corpus; `make fuzz` runs each for FUZZ_SECONDS (see docs/security.md).
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_SECONDS       ?= 60

fuzz-build: deps
	cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=Debug -DSLUICE_FUZZ=ON -DCMAKE_C_COMPILER=clang
	cmake --build $(BUILD_FUZZ) -j$(JOBS)

test-fuzz: fuzz-build
	tools/fuzz-run.sh $(BUILD_FUZZ) $(FUZZ_SMOKE_SECONDS)

fuzz: fuzz-build
	tools/fuzz-run.sh $(BUILD_FUZZ) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Side-by-side comparison with Squid, tinyproxy, privoxy and the HAProxy/nginx references (loopback only).
bench: build
	SLUICE_BIN=$(abspath $(BUILD))/sluice bench/run.sh

# A route to an https:// upstream next to a plain one (pooled TLS sessions); BASELINE_BIN=another
# sluice build is measured in the same run for ratios (see bench/README.md).
bench-route-tls: build
	SLUICE_BIN=$(abspath $(BUILD))/sluice bench/route_tls.sh

# TLS interception: sluice against Squid ssl-bump, nginx and direct TLS (bench/README.md).
bench-intercept: build
	SLUICE_BIN=$(abspath $(BUILD))/sluice bench/intercept.sh | tee bench/intercept-results.md

# What secret scanning costs a small request: scan on against scan off, same binary (bench/README.md).
bench-scan: build
	SLUICE_BIN=$(abspath $(BUILD))/sluice bench/scan.sh | tee bench/scan-results.md

# What answering a search API from SearXNG costs: searches/s, CPU and latency per search.
bench-search: build
	SLUICE_BIN=$(abspath $(BUILD))/sluice bench/search.sh | tee bench/search-results.md

# System calls and CPU per keep-alive request: sluice, nginx and HAProxy in one run (bench/README.md).
bench-profile: build
	SLUICE_BIN=$(abspath $(BUILD))/sluice bench/profile.sh

# Allocator calls per keep-alive request, with an LD_PRELOAD counter (bench/README.md).
bench-allocs: build
	SLUICE_BIN=$(abspath $(BUILD))/sluice bench/allocs.sh

# Decision speed with 100,000 domain patterns and 10,000 CIDRs (prints one table).
# sluice's DNS listener against dnsmasq and unbound as caching forwarders (bench/README.md).
bench-dns: build
	SLUICE_BIN=$(abspath $(BUILD))/sluice bench/dns.sh

bench-policy: build
	cmake --build $(BUILD) --target policy_bench -j$(JOBS)
	./$(BUILD)/policy_bench

format:
	clang-format -i $$(find src tests/unit fuzz bench -name '*.[ch]')

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(BUILD_FUZZ)
