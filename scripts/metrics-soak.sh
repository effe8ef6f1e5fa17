#!/usr/bin/env bash
# Memory of the orchestration server under load with nobody scraping /metrics: every
# authenticated request records a histogram sample, which stays in memory until the Prometheus
# recorder's upkeep (or a scrape) drains it. The script warms the server up, then loads it for a
# while and prints the resident memory it gained per request; it fails above MAX_BYTES_PER_REQUEST.
#
# Usage: scripts/metrics-soak.sh [WARMUP_SECONDS] [SECONDS]   (default 70 and 60)
# Needs wrk (Debian: apt-get install wrk). PROFILE=release measures an optimised build
# (default: the debug build that `cargo test` makes); BIN=PATH measures that orchestration binary
# instead of building one (an older build, say).
set -euo pipefail
cd "$(dirname "$0")/.."
warmup=${1:-70}
seconds=${2:-60}
max=${MAX_BYTES_PER_REQUEST:-4}
profile=${PROFILE:-dev}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

if [ -n "${BIN:-}" ]; then
    bin=$BIN
else
    # The workspace and its features as `cargo test --workspace --all-features` builds them, so
    # that the binaries after a test run are reused.
    cargo build --quiet --profile "$profile" --workspace --all-features --example orchestration
    dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
    bin=${CARGO_TARGET_DIR:-target}/$dir/examples/orchestration
fi

work=$(mktemp -d)
key=soak-key-$RANDOM$RANDOM$RANDOM$RANDOM
cat > "$work/soak.toml" <<TOML
[web.auth]
enabled = true
api_keys_enabled = true
jwt_public_key_path = ""

[[web.auth.api_keys]]
key = "$key"
permissions = ["templates:read"]
description = "metrics-soak"
TOML
RUST_LOG=warn "$bin" --config "$work/soak.toml" --bind 127.0.0.1:0 > "$work/out" 2> "$work/err" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$work/out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/out")
[ -n "$url" ] || { cat "$work/err" >&2; exit 1; }
# An authenticated 404: the API key is checked (and timed) on every request, the answer is small.
target="$url/v1/templates/soak/soak/1"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
load() { wrk -t1 -c4 -d"${1}s" -H "X-API-Key: $key" "$target" | awk '/requests in/ {print $1}'; }

warm=$(load "$warmup")
before=$(rss)
requests=$(load "$seconds")
after=$(rss)
per_request=$(( (after - before) * 1024 / requests ))
echo "warm-up: $warm requests in ${warmup} s; then $requests requests in ${seconds} s"
echo "VmRSS: $before KiB -> $after KiB ($(( after - before )) KiB, $per_request bytes per request)"
if [ "$per_request" -gt "$max" ]; then
    echo "memory grows by more than $max bytes a request without a scraper" >&2
    exit 1
fi
