#!/bin/sh
# Fails when a pure tier (base, parse, policy, emit) includes the event loop,
# the resolver or socket headers: those tiers must stay free of I/O so they can
# be unit-tested and fuzzed alone (STYLE.md, "Folders are layers").
src=${1:-src}
bad=$(grep -nE '#[[:space:]]*include[[:space:]]*[<"](event2/|ares|sys/socket\.h|netinet/|arpa/inet\.h|netdb\.h|sys/epoll\.h)' \
	"$src"/base/* "$src"/parse/* "$src"/policy/* "$src"/emit/* 2>/dev/null)
if [ -n "$bad" ]; then
	echo "layering violation: pure tiers must not include I/O headers:" >&2
	echo "$bad" >&2
	exit 1
fi
# io/ and daemon/ may depend on the pure tiers, never the reverse.
bad=$(grep -nE '#[[:space:]]*include[[:space:]]*"(io|daemon)/' \
	"$src"/base/* "$src"/parse/* "$src"/policy/* "$src"/emit/* 2>/dev/null)
if [ -n "$bad" ]; then
	echo "layering violation: pure tiers include io/ or daemon/:" >&2
	echo "$bad" >&2
	exit 1
fi
echo "layering ok"
