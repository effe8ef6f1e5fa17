#!/usr/bin/env bash
# Instructions per request for each case of peers/src/bin/callgrind.rs, counted exactly as
# tasker-auth's own (scripts/callgrind.sh, which this runs on the peers' harness): each case runs
# with N and 2N requests under callgrind (counting only inside `measure`), and the difference is
# divided by N.
#
# Usage: peers/callgrind.sh [N] [case...]   (default N=200, every case)
# The peers build in PEERS_TARGET_DIR (default peers/target).
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR=${PEERS_TARGET_DIR:-$PWD/target}
cargo build --release --quiet --bin peers-callgrind
CALLGRIND_BIN=$CARGO_TARGET_DIR/release/peers-callgrind exec ../scripts/callgrind.sh "$@"
