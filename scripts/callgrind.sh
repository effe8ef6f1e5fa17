#!/usr/bin/env bash
# Instructions per request for each case of benches/callgrind.rs: each case runs with N and 2N
# requests under callgrind (counting only inside `measure`), and the difference is divided by N.
#
# Usage: scripts/callgrind.sh [N] [case...]   (default N=200, every case)
# CALLGRIND_BIN names another harness with the same interface (`--list`, `<case> <requests>`, a
# `measure` function): peers/callgrind.sh counts the peers this way.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
shift || true
bin=${CALLGRIND_BIN:-$(cargo bench --bench callgrind --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)}
[ -x "$bin" ] || { echo "cannot find the callgrind harness binary" >&2; exit 1; }
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
