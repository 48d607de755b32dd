#!/usr/bin/env bash
# The soak (tests/soak.rs, issue 17 item 4): for SECS seconds (default 120), apply/plan cycles
# of a changing 100-eval project against `evalctl serve --fault-rate 0.3 --data-dir DIR`, with
# applies and the emulator killed at random and two applies at once, checking the service
# after every cycle. Prints the seed (EVALCTL_SOAK_SEED replays it) and a summary line; on a
# violation it fails and keeps its directory (printed). Builds what it runs, like `cargo test`.
#
#   tests/soak/run.sh 120                         # the CI length
#   EVALCTL_SOAK_SEED=42 tests/soak/run.sh 1800   # half an hour, a chosen seed
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS="${1:-${EVALCTL_SOAK_SECS:-120}}"
case "$SECS" in
    '' | *[!0-9]*) echo "usage: tests/soak/run.sh [SECONDS]" >&2; exit 2 ;;
esac
EVALCTL_SOAK_SECS="$SECS" exec cargo test --test soak -- --ignored --nocapture
