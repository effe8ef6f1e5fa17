#!/usr/bin/env bash
# Property-based tests of both demo servers against their own OpenAPI documents: schemathesis
# generates requests from /api-docs/openapi.json and runs all of its checks (no 5xx, every status,
# header, content type and body documented, bad input refused, valid input accepted, auth
# enforced) three times per server: with a full-access token, with a read-only token, and with
# no credentials. Auth is on, with a key pair generated for the run by `tasker-ctl auth`.
#
# Usage: scripts/schemathesis.sh [MAX_EXAMPLES]   (default 30 test cases per operation and phase)
# Needs schemathesis (pip install schemathesis). Reports go to target/schemathesis/.
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${1:-30}
command -v schemathesis >/dev/null || { echo "schemathesis is needed: pip install schemathesis" >&2; exit 1; }

# The workspace and its features as `cargo test --workspace --all-features` builds them, so that
# the binaries after a test run are reused.
cargo build --quiet --workspace --all-features --bin tasker-ctl --example orchestration --example worker
bin=${CARGO_TARGET_DIR:-target}/debug
reports=$(realpath -m "${CARGO_TARGET_DIR:-target}/schemathesis")
mkdir -p "$reports"
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

"$bin/tasker-ctl" auth generate-keys --output-dir "$work/keys" >/dev/null 2>&1
token() { "$bin/tasker-ctl" auth generate-token --private-key "$work/keys/jwt-private-key.pem" \
    --role "$1" --subject "schemathesis-$1" --expiry-hours 1 2>/dev/null; }
full=$(token full-access)
read_only=$(token read-only)

cat > "$work/server.toml" <<TOML
[web]
config_endpoint_enabled = true

[web.auth]
enabled = true
jwt_public_key_path = "$work/keys/jwt-public-key.pem"
TOML

# Starts server $1 and sets `url`; not in a subshell, so that `pids` keeps it for the cleanup.
start() {
    RUST_LOG=warn "$bin/examples/$1" --config "$work/server.toml" --bind 127.0.0.1:0 \
        > "$work/$1.out" 2> "$work/$1.err" &
    pids+=($!)
    for _ in $(seq 100); do grep -q '^listening on ' "$work/$1.out" && break; sleep 0.1; done
    url=$(sed -n 's/^listening on //p' "$work/$1.out")
}

status=0
for server in orchestration worker; do
    start "$server"
    [ -n "$url" ] || { cat "$work/$server.err" >&2; exit 1; }
    for mode in full-access read-only none; do
        case $mode in
            full-access) auth=(-H "Authorization: Bearer $full") ;;
            read-only) auth=(-H "Authorization: Bearer $read_only") ;;
            none) auth=() ;;
        esac
        echo "== $server, $mode"
        # Every check but `use_after_free`, which expects a 404 after a DELETE: DELETE
        # /v1/tasks/{uuid} cancels the task, which stays readable with status `cancelled`.
        # From the scratch directory: schemathesis keeps a `.schemathesis/` cache where it runs.
        (cd "$work" && schemathesis --no-color run "$url/api-docs/openapi.json" --checks all \
            --exclude-checks use_after_free \
            --max-examples "$examples" --seed 1 --workers 2 --request-timeout 40 \
            --report junit --report-junit-path "$reports/$server-$mode.xml" \
            "${auth[@]}") || status=1
    done
done
exit $status
