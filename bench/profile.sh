#!/usr/bin/env bash
# bench/profile.sh - system calls and CPU per keep-alive request for sluice and the references
# (nginx reverse proxy, HAProxy TCP relay), all started by bench/run.sh in the same run, which
# this only drives (PROFILE=1). Knobs: PROFILE_SECS (5), PROFILE_CONC (50), SLUICE_BIN,
# BASELINE_BIN, PEERS (none by default; any of squid tinyproxy privoxy), REFS; see bench/README.md.
set -euo pipefail
export PROFILE=1 PEERS=${PEERS-} REFS=${REFS-"haproxy nginx"} HOLD_COUNTS=${HOLD_COUNTS:-500}
exec "$(dirname "${BASH_SOURCE[0]}")/run.sh" "$@"
