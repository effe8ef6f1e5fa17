#!/usr/bin/env bash
# Load figures for tasker-auth side by side with its peers, and a long soak. Loopback only,
# bounded in time; needs wrk (Debian: apt-get install wrk), curl and python3. It builds the
# example server, tasker-ctl and peers/ in release mode first.
#
# Usage:
#   scripts/load.sh [table]          every case below, one after the other, then the table
#   scripts/load.sh pair [ROUNDS]    tasker-auth and jwt-authorizer in the same minimal server,
#                                    fresh tokens, alternating 1-second cases (see pair below)
#   scripts/load.sh soak [SECONDS]   the orchestration server under a mix of good and bad
#                                    credentials for SECONDS (default 600): wrong decisions
#                                    and RSS over time
#
# Environment (defaults in brackets):
#   DURATION [10]      seconds of wrk per table case      THREADS [2]   wrk threads (table)
#   CONNECTIONS [32]   wrk connections (table, and soak)  TOKENS [100000] distinct tokens
#   WORK [target/load] keys, tokens, configs, logs        RUST_LOG [warn] the servers' log level
#   PEERS_TARGET_DIR [peers/target]  cargo target directory of the peers project
#   ROUNDS [1]         how many times the table's cases run, one round after the other
#
# The table cases: the orchestration example on GET /v1/analytics/performance with auth off
# (the baseline), with auth on and one repeated RS256 token (verified-token cache on), with an
# API key, and with a token never sent before on every request, cache on and off
# (`jwt_cache_max_entries = 0`); then peers/'s jwt-authorizer (one token, fresh tokens), its
# `from_fn` + `jsonwebtoken::decode` baseline, tasker-auth's own layer in that same minimal server
# (one token, fresh tokens) and its bare route. Every request carries the
# same kind of Authorization header, including the auth-off baseline, so the bytes on the wire
# are the same. A case with any non-2xx answer or socket error fails the run.
#
# A 2-core virtual machine's speed drifts by tens of percent from one minute to the next, so a
# ratio of two cases run a minute apart is noisy. With ROUNDS > 1 the whole sequence of cases
# runs again and again, each server started afresh, and the table gives each case's median
# req/s and each ratio's median over the rounds (ratios taken within a round), with its range.
# wrk shares the 2 cores with the server, so each case also reports the CPU time the server
# process spent per request (from /proc/PID/stat), a figure that does not depend on how the
# cores were shared.
#
# "Fresh tokens": each wrk thread walks its own slice of TOKENS pre-minted distinct tokens.
# RSA-2048 signing costs about 1 ms of CPU a token, so they are minted once (on every core) and
# kept in WORK for a day. A token must not come round again while the cache is on: the cache
# resists scans, so it keeps the first tokens it saw rather than the latest, and a second pass
# would hit. The server's own hit counter, read from /metrics before and after the case, checks
# it: the run fails if more than 1 % of that case's requests were cache hits (mint more with
# TOKENS, or shorten DURATION). For the verifiers without a cache a repeat changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=${1:-table}
duration=${DURATION:-10}
threads=${THREADS:-2}
connections=${CONNECTIONS:-32}
work=${WORK:-$root/target/load}
tokens_wanted=${TOKENS:-100000}
rounds=${ROUNDS:-1}
round=1
export RUST_LOG=${RUST_LOG:-warn}
route=/v1/analytics/performance
permissions=system:analytics_read,tasks:read,tasks:list

die() {
    echo "load.sh: $*" >&2
    exit 1
}
command -v wrk >/dev/null || die "wrk not found (Debian: apt-get install wrk)"
mkdir -p "$work"

# --- build -----------------------------------------------------------------------------------
echo "building release binaries..." >&2
cargo build --release --quiet --example orchestration --bin tasker-ctl
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
peers_target=${PEERS_TARGET_DIR:-$root/peers/target}
CARGO_TARGET_DIR=$peers_target cargo build --release --quiet --manifest-path peers/Cargo.toml
server=$target/release/examples/orchestration
ctl=$target/release/tasker-ctl
peer=$peers_target/release/peer-server
mint=$peers_target/release/mint-tokens

# --- servers ---------------------------------------------------------------------------------
pids=()
stop_all() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# start LOG CMD...: runs CMD in its own session, waits for its `listening on` line and sets
# $pid and $url.
start() {
    local log=$1
    shift
    setsid "$@" >"$log" 2>&1 &
    pid=$!
    pids+=("$pid")
    local i
    for i in $(seq 600); do
        url=$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*/\1/p' "$log" | head -1)
        [ -n "$url" ] && return 0
        kill -0 "$pid" 2>/dev/null || die "server exited before listening: $* (log: $log)
$(tail -5 "$log")"
        sleep 0.1
    done
    die "server did not print 'listening on' within 60 s: $* (log: $log)"
}

stop() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local kept=() p
    for p in "${pids[@]}"; do
        [ "$p" = "$1" ] || kept+=("$p")
    done
    pids=("${kept[@]}")
}

# --- keys, tokens, API keys, configurations --------------------------------------------------
keys=$work/keys
if [ ! -f "$keys/jwt-private-key.pem" ]; then
    "$ctl" auth generate-keys --output-dir "$keys" >/dev/null
fi
token=$("$ctl" auth generate-token --private-key "$keys/jwt-private-key.pem" \
    --permissions "$permissions" --subject load 2>/dev/null)

# An API key for the route, and one that lacks its permission (the soak's 403 case).
api_key_entry() { # permissions -> sets $api_key and appends the config block to $work/api-keys.toml
    local out
    out=$("$ctl" auth generate-api-key --permissions "$1" --description "load-$1" 2>/dev/null)
    api_key=$(grep '^tsk_' <<<"$out")
    sed -n '/^\[\[web.auth.api_keys\]\]/,$p' <<<"$out" >>"$work/api-keys.toml"
}
: >"$work/api-keys.toml"
api_key_entry "$permissions"
api_key_ok=$api_key
api_key_entry tasks:read
api_key_denied=$api_key

# config NAME EXTRA_AUTH_LINES: an orchestration configuration with auth on.
config() {
    local file=$work/$1.toml
    cat >"$file" <<EOF
[web]
bind_address = "127.0.0.1:0"

[web.auth]
enabled = true
jwt_allowed_algorithms = ["RS256"]
api_keys_enabled = true
$2

$(cat "$work/api-keys.toml")
EOF
    echo "$file"
}
public_key_lines="jwt_verification_method = \"public_key\"
jwt_public_key_path = \"$keys/jwt-public-key.pem\""

# mint_fresh COUNT FILE LABEL: COUNT distinct valid tokens in FILE, reused from an earlier run
# when it has enough that are still valid for a day.
mint_fresh() {
    local count=$1 file=$2 label=$3
    if [ -f "$file" ] && [ "$file" -nt "$keys/jwt-private-key.pem" ] &&
        [ -z "$(find "$file" -mmin +1440)" ] && [ "$(wc -l <"$file")" -ge "$count" ]; then
        return 0
    fi
    echo "minting $count distinct RS256 tokens (about 1 ms of CPU each; kept for reuse)..." >&2
    "$mint" --private-key "$keys/jwt-private-key.pem" --count "$count" \
        --expires-in 172800 --permissions "$permissions" --label "$label" >"$file.tmp"
    mv "$file.tmp" "$file"
}

# --- wrk -------------------------------------------------------------------------------------
# run_wrk NAME URL [wrk args...]: runs wrk for the case, checks that every answer was a 2xx and
# that no token repeated, and appends "round|name|req/s|avg|p50|p99|cpu" to $results, where cpu
# is the CPU time (user + system) the server process spent per request during the case, in µs.
results=$work/results.txt
run_wrk() {
    local name=$1 url=$2
    shift 2
    local out=$work/wrk-$(tr -c 'a-zA-Z0-9' '-' <<<"$name").txt
    local ticks_before
    ticks_before=$(cpu_ticks "$pid")
    WRK_THREADS=$threads wrk --latency -t "$threads" -c "$connections" -d "${duration}s" "$@" \
        "$url$route" >"$out" 2>&1 || die "wrk failed for '$name': $(cat "$out")"
    if grep -q 'Non-2xx or 3xx responses' "$out"; then
        die "'$name': $(grep 'Non-2xx' "$out" | xargs) (wrk output: $out)"
    fi
    if grep -q 'Socket errors' "$out"; then
        die "'$name': $(grep 'Socket errors' "$out" | xargs) (wrk output: $out)"
    fi
    local ticks_after
    ticks_after=$(cpu_ticks "$pid")
    local rps avg p50 p99 cpu
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    avg=$(awk '$1 == "Latency" {print $2; exit}' "$out")
    p50=$(awk '$1 == "50%" {print $2}' "$out")
    p99=$(awk '$1 == "99%" {print $2}' "$out")
    requests=$(awk '/requests in/ {print $1}' "$out")
    cpu=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$clock_ticks" -v n="$requests" \
        'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
    echo "$round|$name|$rps|$avg|$p50|$p99|$cpu" >>"$results"
    printf '  %-46s %10s req/s %6s µs CPU/request %s\n' "$name" "$rps" "$cpu" "$(sed -n 's/^token wraps: \(.*\)/(token wraps: \1)/p' "$out")" >&2
}

# cpu_ticks PID: the user + system CPU time the process has used, in clock ticks.
clock_ticks=$(getconf CLK_TCK)
cpu_ticks() {
    awk '{print $14 + $15}' "/proc/$1/stat"
}

# warm URL [wrk args...]: one second of load before a case, so that it is not measured cold.
warm() {
    local url=$1
    shift
    wrk -t 1 -c 4 -d 1s "$@" "$url$route" >/dev/null 2>&1 || true
}

# cache_hits URL: the verified-token cache's hit counter of the server at URL.
cache_hits() {
    local hits
    hits=$(curl -sf "$1/metrics" | awk '/^tasker_auth_token_cache_hits_total / {print $2}')
    echo "${hits:-0}"
}

table() {
    local fresh=$work/fresh-tokens.txt
    mint_fresh "$tokens_wanted" "$fresh" load
    export TOKENS_FILE=$fresh
    local fresh_lua=$root/scripts/wrk/fresh_tokens.lua
    local bearer="Authorization: Bearer $token"
    local off on nocache
    off=$(config auth-off "")
    sed -i 's/^enabled = true/enabled = false/' "$off"
    on=$(config auth-on "$public_key_lines")
    nocache=$(config auth-no-cache "$public_key_lines
jwt_cache_max_entries = 0")
    : >"$results"
    echo "cases (${duration} s each, $threads threads, $connections connections, $rounds round(s)):" >&2
    for round in $(seq "$rounds"); do
        [ "$rounds" -eq 1 ] || echo "round $round of $rounds" >&2
        table_round
    done
    print_table
}

# table_round: every case once, in order (configurations and tokens come from table). The cases
# of each target ratio run back to back: auth off then one token; tasker-auth's fresh tokens then
# jwt-authorizer's.
table_round() {
    start "$work/server-off.log" "$server" --config "$off"
    warm "$url" -H "$bearer"
    run_wrk "orchestration, auth off (baseline)" "$url" -H "$bearer"
    stop "$pid"

    start "$work/server-on.log" "$server" --config "$on"
    warm "$url" -H "$bearer"
    run_wrk "orchestration, RS256 one token, cache on" "$url" -H "$bearer"
    local hits_before hits_after
    hits_before=$(cache_hits "$url")
    run_wrk "orchestration, RS256 fresh tokens, cache on" "$url" -s "$fresh_lua"
    hits_after=$(cache_hits "$url")
    echo "  (cache hits during the fresh-token case: $((hits_after - hits_before)) of $requests requests)" >&2
    [ $(( (hits_after - hits_before) * 100 )) -le "$requests" ] ||
        die "more than 1 % of the fresh-token requests were cache hits: set TOKENS higher than $tokens_wanted"
    run_wrk "orchestration, API key" "$url" -H "X-API-Key: $api_key_ok"
    stop "$pid"

    start "$work/peer-jwt-authorizer.log" "$peer" --impl jwt-authorizer --public-key "$keys/jwt-public-key.pem"
    warm "$url" -H "$bearer"
    run_wrk "jwt-authorizer, RS256 fresh tokens" "$url" -s "$fresh_lua"
    run_wrk "jwt-authorizer, RS256 one token" "$url" -H "$bearer"
    stop "$pid"

    start "$work/peer-tasker-auth.log" "$peer" --impl tasker-auth --public-key "$keys/jwt-public-key.pem"
    warm "$url" -H "$bearer"
    run_wrk "tasker-auth in the peer server, RS256 fresh tokens" "$url" -s "$fresh_lua"
    run_wrk "tasker-auth in the peer server, RS256 one token" "$url" -H "$bearer"
    stop "$pid"

    start "$work/server-no-cache.log" "$server" --config "$nocache"
    warm "$url" -H "$bearer"
    run_wrk "orchestration, RS256 fresh tokens, cache off" "$url" -s "$fresh_lua"
    stop "$pid"

    start "$work/peer-from-fn.log" "$peer" --impl from-fn --public-key "$keys/jwt-public-key.pem"
    warm "$url" -H "$bearer"
    run_wrk "from_fn + jsonwebtoken::decode, RS256" "$url" -H "$bearer"
    stop "$pid"

    start "$work/peer-bare.log" "$peer" --impl bare
    warm "$url" -H "$bearer"
    run_wrk "bare axum route (peer binary)" "$url" -H "$bearer"
    stop "$pid"
}

print_table() {
    python3 - "$results" <<'EOF'
import statistics, sys
rows = [line.rstrip("\n").split("|") for line in open(sys.argv[1]) if line.strip()]
names, by_round = [], {}
for rnd, name, r, avg, p50, p99, cpu in rows:
    if name not in names:
        names.append(name)
    by_round.setdefault(rnd, {})[name] = (float(r), avg, p50, p99, float(cpu))
rounds = sorted(by_round, key=int)
median = statistics.median
base = "orchestration, auth off (baseline)"
def ratios(a, b, field=0):
    return [by_round[r][a][field] / by_round[r][b][field] for r in rounds]
if len(rounds) == 1:
    row = by_round[rounds[0]]
    print("| case | req/s | × auth off | latency avg | p50 | p99 | server CPU µs/request |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in names:
        r, avg, p50, p99, cpu = row[name]
        ratio = f"{r / row[base][0]:.2f}" if name.startswith("orchestration") else "—"
        print(f"| {name} | {r:,.0f} | {ratio} | {avg} | {p50} | {p99} | {cpu:.1f} |")
else:
    print(f"| case | median req/s ({len(rounds)} rounds) | min – max | median × auth off | median server CPU µs/request | min – max |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in names:
        rs = [by_round[r][name][0] for r in rounds]
        cpus = [by_round[r][name][4] for r in rounds]
        ratio = f"{median(ratios(name, base)):.2f}" if name.startswith("orchestration") else "—"
        print(f"| {name} | {median(rs):,.0f} | {min(rs):,.0f} – {max(rs):,.0f} | {ratio} "
              f"| {median(cpus):.1f} | {min(cpus):.1f} – {max(cpus):.1f} |")
def show(label, a, b, target=""):
    rs = ratios(a, b)
    # The same ratio in server CPU per request, inverted so that higher is better for `a`.
    cs = ratios(b, a, 4)
    spread = lambda xs: f" (rounds {min(xs):.2f} – {max(xs):.2f})" if len(xs) > 1 else ""
    print(f"{label}: req/s {median(rs):.2f}{spread(rs)}; server CPU {median(cs):.2f}{spread(cs)}{target}")
print()
print("ratios (median over rounds; 'server CPU' is the inverse ratio of CPU µs per request):")
show("one token, cache on / auth off", "orchestration, RS256 one token, cache on", base, " (target >= 0.8)")
show("API key / auth off", "orchestration, API key", base)
show("fresh tokens, cache on / jwt-authorizer fresh", "orchestration, RS256 fresh tokens, cache on", "jwt-authorizer, RS256 fresh tokens", " (target >= 1.1)")
show("same minimal server: tasker-auth fresh / jwt-authorizer fresh", "tasker-auth in the peer server, RS256 fresh tokens", "jwt-authorizer, RS256 fresh tokens", " (target >= 1.1)")
show("same minimal server: tasker-auth one token / bare route", "tasker-auth in the peer server, RS256 one token", "bare axum route (peer binary)")
show("fresh tokens, cache off / jwt-authorizer fresh", "orchestration, RS256 fresh tokens, cache off", "jwt-authorizer, RS256 fresh tokens")
EOF
}

# --- pair ------------------------------------------------------------------------------------
# pair [ROUNDS]: tasker-auth and jwt-authorizer, each in the peers' minimal server, both running,
# on fresh tokens in 1-second wrk cases that alternate (tasker-auth, then jwt-authorizer) for
# ROUNDS rounds. Each round starts further down the token file, past every token tasker-auth's
# cache has seen, so no request can hit it; the run stops early rather than reuse a token.
pair() {
    local rounds=${1:-20}
    local fresh=$work/fresh-tokens.txt
    mint_fresh "$tokens_wanted" "$fresh" load
    local total
    total=$(wc -l <"$fresh")
    export TOKENS_FILE=$fresh
    local fresh_lua=$root/scripts/wrk/fresh_tokens.lua
    start "$work/pair-tasker-auth.log" "$peer" --impl tasker-auth --public-key "$keys/jwt-public-key.pem"
    local ours=$pid ours_url=$url
    start "$work/pair-jwt-authorizer.log" "$peer" --impl jwt-authorizer --public-key "$keys/jwt-public-key.pem"
    local theirs=$pid theirs_url=$url
    # Warm both on tokens past the end of what the rounds use: none of them comes back.
    OFFSET=$((total - 2000)) WRK_THREADS=1 wrk -t 1 -c 4 -d 1s -s "$fresh_lua" "$ours_url$route" >/dev/null 2>&1 || true
    OFFSET=$((total - 2000)) WRK_THREADS=1 wrk -t 1 -c 4 -d 1s -s "$fresh_lua" "$theirs_url$route" >/dev/null 2>&1 || true
    local duration=1 offset=0 used
    local ours_name="tasker-auth in the peer server, RS256 fresh tokens"
    local theirs_name="jwt-authorizer, RS256 fresh tokens"
    : >"$results"
    echo "pair: $rounds rounds of 1 s each, $threads threads, $connections connections" >&2
    for round in $(seq "$rounds"); do
        pid=$ours OFFSET=$offset run_wrk "$ours_name" "$ours_url" -s "$fresh_lua"
        used=$requests
        grep -q '^token wraps: 0' "$work/wrk-$(tr -c 'a-zA-Z0-9' '-' <<<"$ours_name").txt" ||
            die "a token came round again in round $round"
        pid=$theirs OFFSET=$offset run_wrk "$theirs_name" "$theirs_url" -s "$fresh_lua"
        offset=$((offset + used + 1000))
        if [ $((offset + used * 2)) -gt $((total - 2000)) ]; then
            echo "  (stopping after $round rounds: the next would need more than the $total tokens; set TOKENS higher)" >&2
            break
        fi
    done
    stop "$ours"
    stop "$theirs"
    python3 - "$results" "$ours_name" "$theirs_name" <<'EOF'
import statistics, sys
path, ours, theirs = sys.argv[1:]
by_round = {}
for line in open(path):
    rnd, name, rps, *_, cpu = line.rstrip("\n").split("|")
    by_round.setdefault(rnd, {})[name] = (float(rps), float(cpu))
rows = [r for r in by_round.values() if ours in r and theirs in r]
def show(label, xs):
    xs = sorted(xs)
    print(f"{label}: median {statistics.median(xs):.2f}, interquartile {xs[len(xs) // 4]:.2f} – {xs[3 * len(xs) // 4]:.2f}, range {xs[0]:.2f} – {xs[-1]:.2f} ({len(xs)} rounds)")
print(f"server CPU per request: tasker-auth {statistics.median(r[ours][1] for r in rows):.1f} µs, "
      f"jwt-authorizer {statistics.median(r[theirs][1] for r in rows):.1f} µs (medians)")
show("fresh tokens, tasker-auth / jwt-authorizer, requests per second", [r[ours][0] / r[theirs][0] for r in rows])
show("fresh tokens, jwt-authorizer / tasker-auth, server CPU per request", [r[theirs][1] / r[ours][1] for r in rows])
EOF
}

# --- soak ------------------------------------------------------------------------------------
soak() {
    local seconds=${1:-600}
    local soak_threads=$connections
    # JWKS from a loopback HTTP server, so that unknown kids go through the refetch path.
    start "$work/jwks-server.log" python3 -u -c '
import http.server, functools, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
handler = functools.partial(Quiet, directory=sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
' "$keys"
    local jwks_url=$url/jwks.json
    local cfg
    cfg=$(config soak "jwt_verification_method = \"jwks\"
jwks_url = \"$jwks_url\"
jwks_url_allow_http = true")

    # The credentials, each with the status it must get.
    local valid=$work/soak-valid.txt
    mint_fresh 20000 "$valid" soak-distinct
    local other=$work/soak-other-keys
    [ -f "$other/jwt-private-key.pem" ] || "$ctl" auth generate-keys --output-dir "$other" >/dev/null
    local kid
    kid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"][0]["kid"])' "$keys/jwks.json")
    local key=$keys/jwt-private-key.pem
    "$mint" --private-key "$key" --count 8 --label soak-repeat >"$work/soak-repeat.txt"
    "$mint" --private-key "$key" --count 8 --label soak-denied --permissions tasks:read >"$work/soak-denied.txt"
    "$mint" --private-key "$key" --count 8 --label soak-expired --expires-in -3600 >"$work/soak-expired.txt"
    "$mint" --private-key "$other/jwt-private-key.pem" --kid "$kid" --count 8 --label soak-forged >"$work/soak-forged.txt"
    "$mint" --private-key "$key" --kid unknown-kid --count 8 --label soak-unknown >"$work/soak-unknown.txt"
    local cases=$work/soak-cases.tsv
    # Per 13 requests: 3 repeated valid tokens (cache hits), 2 distinct valid tokens (20,000 of
    # them, twice the cache bound, so entries are evicted all the time), a token without the
    # permission, expired, forged, unknown kid; a good API key, one without the permission, a
    # wrong one, and no credential.
    python3 - "$work" "$api_key_ok" "$api_key_denied" >"$cases" <<'EOF'
import sys
work, key_ok, key_denied = sys.argv[1:]
tokens = lambda name: open(f"{work}/soak-{name}.txt").read().split()
repeat, denied = tokens("repeat"), tokens("denied")
expired, forged, unknown = tokens("expired"), tokens("forged"), tokens("unknown")
auth = "Authorization"
for i in range(8):
    bearer = lambda tokens, j=0: "Bearer " + tokens[(i + j) % len(tokens)]
    for row in [
        (200, auth, bearer(repeat, 0)), (200, auth, bearer(repeat, 3)), (200, auth, bearer(repeat, 5)),
        (200, auth, "@distinct"), (200, auth, "@distinct"),
        (403, auth, bearer(denied)), (401, auth, bearer(expired)), (401, auth, bearer(forged)),
        (401, auth, bearer(unknown)), (200, "X-API-Key", key_ok), (403, "X-API-Key", key_denied),
        (401, "X-API-Key", f"tsk_wrong-{i:08d}-0123456789abcdef0123456789"),
        (401, "", ""),
    ]:
        print(*row, sep="\t")
EOF
    echo "soak: $seconds s, $soak_threads connections, one per wrk thread" >&2

    start "$work/server-soak.log" "$server" --config "$cfg"
    local server_pid=$pid
    local out=$work/wrk-soak.txt
    CASES_FILE=$cases DISTINCT_FILE=$valid WRK_THREADS=$soak_threads wrk -t "$soak_threads" -c "$soak_threads" \
        -d "${seconds}s" -s "$root/scripts/wrk/soak.lua" "$url$route" >"$out" 2>&1 &
    local wrk_pid=$!
    local rss_log=$work/soak-rss.txt
    : >"$rss_log"
    local began=$SECONDS rss
    while kill -0 "$wrk_pid" 2>/dev/null; do
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status" 2>/dev/null) ||
            die "the server died during the soak (log: $work/server-soak.log)"
        echo "$((SECONDS - began)) $rss" >>"$rss_log"
        sleep 10
    done
    wait "$wrk_pid" || die "wrk failed: $(cat "$out")"
    kill -0 "$server_pid" 2>/dev/null || die "the server died during the soak (log: $work/server-soak.log)"
    stop "$server_pid"
    cat "$out"
    python3 - "$rss_log" "$out" <<'EOF'
import re, sys
samples = [tuple(map(int, line.split())) for line in open(sys.argv[1]) if line.strip()]
text = open(sys.argv[2]).read()
decisions, wrong = map(int, re.search(r"decisions: (\d+) wrong: (\d+)", text).groups())
by_minute = {}
for t, kib in samples:
    by_minute.setdefault(t // 60, kib)
print("RSS (KiB) at each minute:", ", ".join(f"{m}m {kib}" for m, kib in sorted(by_minute.items())))
minute_one = next(kib for t, kib in samples if t >= 60) if samples[-1][0] >= 60 else samples[0][1]
end = samples[-1][1]
growth = (end - minute_one) / minute_one * 100
print(f"RSS minute one: {minute_one} KiB, end ({samples[-1][0]} s): {end} KiB, "
      f"{growth:+.1f} % (target within 10 %)")
print(f"decisions: {decisions}, wrong: {wrong} (target 0)")
if wrong or abs(growth) > 10:
    sys.exit("soak: target missed")
EOF
}

case $mode in
table) table ;;
soak) soak "${2:-600}" ;;
pair) pair "${2:-20}" ;;
*) die "unknown mode '$mode' (table, pair [ROUNDS] or soak [SECONDS])" ;;
esac
