#!/usr/bin/env bash
# Measures the conversation manager as issue 5 asks, on loopback, release build,
# embedded defaults, offline planner, one analysed repository (TinyDB), cache warm:
# 1,000 WebSocket sessions for DURATION seconds (300), 100 of them asking a question
# every 5 s (~20 turns/s), with the load client crates/chatload. Prints the client's
# numbers (time to first step and to answer p50/p95/p99, errors) and the server's RSS
# per idle session and CPU. Usage: bash scripts/bench/conversation.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/../.."
duration="${1:-300}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/qa-agent/target}"
command -v jq >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq; }
cargo build --release -q -p qa-agent -p qa-chatload
bin="$CARGO_TARGET_DIR/release/qa-agent"
load="$CARGO_TARGET_DIR/release/qa-chatload"
repos="$(bash scripts/fetch-scenario-repos.sh)"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
key="qak_bench_key_0123456789abcdef0123456789"
# One key stands for all the sessions' users: the per-user limit on questions answered
# at once (4 by default) is lifted to what 1,000 distinct users would have.
export QA_AGENT_BOOTSTRAP_KEY=$key QA_AGENT_WORKSPACE_ROOTS="$repos" RUST_LOG=warn QA_AGENT_TURNS_PER_USER=100
ulimit -n 65536 2>/dev/null || true

(cd "$work" && exec "$bin" serve >/dev/null 2>&1) & pid=$!
for port in 8000 8001 8081 8002; do
  until curl -sf -o /dev/null "http://127.0.0.1:$port/health/ready"; do sleep 0.05; done
done
until curl -sf -H "Authorization: Bearer $key" http://127.0.0.1:8000/api/v1/agent/specialists | jq -e '.available == 4' >/dev/null; do sleep 0.1; done
id=$(curl -sf -H "Authorization: Bearer $key" -H 'content-type: application/json' http://127.0.0.1:8000/api/v1/analyses \
  -d "{\"path\": \"$repos/tinydb\"}" | jq -r .id)
until curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:8000/api/v1/analyses/$id" | jq -e '.status == "done"' >/dev/null; do sleep 0.1; done
# Warm the reasoning cache with the load client's questions.
for q in "what should I test first?" "where are the performance hotspots?" "what should I refactor first?" \
         "are there security vulnerabilities?" "test strategy for this repository"; do
  curl -sf -o /dev/null -H "Authorization: Bearer $key" -H 'content-type: application/json' \
    http://127.0.0.1:8000/api/v1/agent/tasks -d "{\"question\": \"$q\", \"analysis_id\": $id}"
done
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
cpu() { awk '{print $14 + $15}' /proc/$pid/stat; }
sleep 2
rss0=$(rss)
"$load" --url http://127.0.0.1:8080 --key "$key" --analysis-id "$id" --sessions 1000 --active 100 \
  --interval 5 --duration "$duration" --idle-hold 15 > "$work/load.txt" &
lpid=$!
until [ "$(curl -s http://127.0.0.1:8081/metrics | awk '/^websocket_connections / {print $2}')" = "1000" ]; do sleep 0.2; done
sleep 5
rss1=$(rss)
echo "server_rss_kib_before_sessions $rss0"
echo "server_rss_kib_with_1000_idle_sessions $rss1"
echo "rss_per_idle_session_kib $(( (rss1 - rss0) / 1000 ))"
sleep 10   # the idle hold ends
c0=$(cpu); t0=$(date +%s.%N)
wait $lpid
c1=$(cpu); t1=$(date +%s.%N)
ticks=$(getconf CLK_TCK)
echo "server_cpu_cores_during_load $(echo "($c1 - $c0) / $ticks / ($t1 - $t0)" | bc -l | cut -c1-5)"
echo "server_rss_kib_after_load $(rss)"
cat "$work/load.txt"
curl -s http://127.0.0.1:8081/metrics | grep -E '^(websocket_errors_total|conversation_turns_total|session_persistence_failures_total)' || true
