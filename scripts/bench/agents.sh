#!/usr/bin/env bash
# Measures the agents on loopback, release build, embedded defaults, offline planner,
# over the scenario repositories (Bottle and TinyDB, scripts/fetch-scenario-repos.sh):
#   - latency of each of the scenario suite's questions asked once, in a row (p50, p95;
#     offline answers, no tests run; reasoning cache bypassed with "fresh");
#   - the same questions again from the reasoning cache (p50);
#   - throughput: wrk, 2 threads, 100 connections, 20 s, cycling through the questions
#     with "fresh" (so every request reasons), queue bound raised to 256 so none is shed;
#   - the same load at the default queue bound (64): how many are shed (503).
# Prints `name value` lines. Usage: bash scripts/bench/agents.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/qa-agent/target}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
command -v jq >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq; }
cargo build --release -q -p qa-agent
bin="$CARGO_TARGET_DIR/release/qa-agent"
repos="$(bash scripts/fetch-scenario-repos.sh)"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
key="qak_bench_key_0123456789abcdef0123456789"
export QA_AGENT_BOOTSTRAP_KEY=$key QA_AGENT_WORKSPACE_ROOTS="$repos" RUST_LOG=warn
api=http://127.0.0.1:8000

start_server() { (cd "$work" && exec "$bin" serve >/dev/null 2>&1) & echo $!; }
stop_server() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; }
wait_ready() {
  for port in 8000 8001 8002; do
    until curl -sf -o /dev/null "http://127.0.0.1:$port/health/ready"; do sleep 0.01; done
  done
  # The specialist service registers its specialists at start.
  until curl -sf -H "Authorization: Bearer $key" "$api/api/v1/agent/specialists" | jq -e '.available == 4' >/dev/null; do sleep 0.05; done
}
analyse() {
  local id
  id=$(curl -sf -H "Authorization: Bearer $key" -H 'content-type: application/json' "$api/api/v1/analyses" \
    -d "{\"path\": \"$repos/$1\"}" | jq -r .id)
  until curl -sf -H "Authorization: Bearer $key" "$api/api/v1/analyses/$id" | jq -e '.status == "done"' >/dev/null; do sleep 0.1; done
  echo "$id"
}
pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int((NR-1)*p+0.5)+1; print a[i]}'; }

pid=$(start_server); wait_ready
declare -A aid
aid[bottle]=$(analyse bottle); aid[tinydb]=$(analyse tinydb)

# The questions as request bodies: one JSON object per line.
python3 - "${aid[bottle]}" "${aid[tinydb]}" > "$work/bodies.jsonl" <<'PY'
import json, sys, tomllib
ids = {"bottle": int(sys.argv[1]), "tinydb": int(sys.argv[2])}
for s in tomllib.load(open("crates/server/tests/scenarios/questions.toml", "rb"))["scenario"]:
    body = {"question": s["question"], "fresh": True}
    if not s.get("no_analysis"):
        body["analysis_id"] = ids[s["repo"]]
    print(json.dumps(body))
PY

ask_all() { # file of bodies -> latency ms per line
  while IFS= read -r body; do
    curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $key" -H 'content-type: application/json' \
      "$api/api/v1/agent/tasks" -d "$body" | awk '{printf "%.1f\n", $1 * 1000}'
  done < "$1"
}
ask_all "$work/bodies.jsonl" > "$work/fresh.txt"
echo "offline_answer_latency_ms_p50 $(pct 0.5 < "$work/fresh.txt") (n=$(wc -l < "$work/fresh.txt"))"
echo "offline_answer_latency_ms_p95 $(pct 0.95 < "$work/fresh.txt")"
sed 's/"fresh": true/"fresh": false/' "$work/bodies.jsonl" > "$work/cached.jsonl"
ask_all "$work/cached.jsonl" > /dev/null   # fills the cache
ask_all "$work/cached.jsonl" > "$work/cached.txt"
echo "cached_answer_latency_ms_p50 $(pct 0.5 < "$work/cached.txt")"

cat > "$work/load.lua" <<LUA
local bodies = {}
for line in io.lines("$work/bodies.jsonl") do bodies[#bodies + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
request = function()
  i = i + 1
  return wrk.format(nil, "/api/v1/agent/tasks", nil, bodies[(i % #bodies) + 1])
end
done = function(s, latency, requests)
  io.write(string.format("requests_per_sec %.1f\np50_ms %.1f\np95_ms %.1f\nrequests %d\nnon_2xx %d\nother_errors %d\n",
    s.requests / (s.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    s.requests, s.errors.status, s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout))
end
LUA
stop_server "$pid"

for queue in 256 64; do
  export QA_AGENT_REASONING_QUEUE=$queue
  pid=$(start_server); wait_ready
  echo "# 100 concurrent, reasoning_concurrency 8, reasoning_queue $queue"
  wrk -t2 -c100 -d20s --timeout 30s -s "$work/load.lua" "$api" | grep -E '^(requests_per_sec|p50_ms|p95_ms|requests|non_2xx|other_errors) ' | sed "s/^/queue${queue}_/"
  # Totals over every label set: mean quality = sum / count; steps per answer likewise.
  curl -s "$api/metrics" \
    | grep -E '^(load_shed_total|agent_reasoning_quality_score_(sum|count)|agent_reasoning_steps_(sum|count))' \
    | sed -E 's/\{kind="([a-z_]+)"\}/_\1/; s/\{[^}]*\}//' | sed "s/^/queue${queue}_/" \
    | awk '{s[$1]+=$2} END {for (k in s) print k, s[k]}' | sort
  stop_server "$pid"
done
