#!/usr/bin/env bash
# Instructions per request for each case of peers/src/bin/callgrind.rs, counted as
# scripts/callgrind.sh counts tasker-auth's: each case runs with N and 2N requests under
# callgrind (counting only inside `measure`), and the difference is divided by N.
#
# Usage: peers/callgrind.sh [N] [case...]   (default N=200, every case)
# The peers build in PEERS_TARGET_DIR (default peers/target).
set -euo pipefail
cd "$(dirname "$0")"
n=${1:-200}
shift || true
export CARGO_TARGET_DIR=${PEERS_TARGET_DIR:-$PWD/target}
cargo build --release --quiet --bin peers-callgrind
bin=$CARGO_TARGET_DIR/release/peers-callgrind
cases=("$@")
[ ${#cases[@]} -gt 0 ] || mapfile -t cases < <("$bin" --list)
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect='*measure*' \
        "$bin" "$1" "$2" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '%-22s %12s\n' case instr/request
for case in "${cases[@]}"; do
    one=$(count "$case" "$n")
    two=$(count "$case" $((2 * n)))
    printf '%-22s %12d\n' "$case" $(((two - one) / n))
done
