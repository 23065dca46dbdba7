#!/usr/bin/env bash
# Measures `qa-agent serve` on loopback, release build, embedded defaults:
#   - cold start: process start until every listener answers /health/ready (first start
#     on an empty data directory, then a restart on the existing one), 5 runs each;
#   - idle RSS of the all-in-one process 5 s after start;
#   - wrk: GET /health/live, and POST /api/v1/analyses of a single file (requests/s, p50,
#     p95, p99), 2 threads, 32 connections, 10 s;
#   - a single-file analysis end to end (submit, worker, results stored), 50 in a row.
# Prints `name value` lines. Usage: bash scripts/bench/services.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/qa-agent/target}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
cargo build --release -q -p qa-agent
bin="$CARGO_TARGET_DIR/release/qa-agent"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/ws/app"
cat > "$work/ws/app/pricing.py" <<'PY'
def calculate(request, rates):
    total = 0
    for item in request.items:
        if item.kind == "tax" and item.amount > 0:
            total += item.amount * rates.get(item.region, 1.0)
        elif item.kind == "discount":
            total -= item.amount
    return eval(request.args["expr"]) + total
PY
key="qak_bench_key_0123456789abcdef0123456789"
export QA_AGENT_BOOTSTRAP_KEY=$key QA_AGENT_WORKSPACE_ROOTS="$work/ws" RUST_LOG=warn

now_ms() { date +%s%3N; }
wait_ready() {
  for port in 8000 8001 8081 8002; do
    until curl -sf -o /dev/null "http://127.0.0.1:$port/health/ready"; do sleep 0.005; done
  done
}
start_server() { (cd "$work" && exec "$bin" serve >/dev/null 2>&1) & echo $!; }
stop_server() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

cold=(); warm=()
for _ in 1 2 3 4 5; do
  rm -rf "$work/qa-agent-data"
  t0=$(now_ms); pid=$(start_server); wait_ready; cold+=($(( $(now_ms) - t0 ))); stop_server "$pid"
  t0=$(now_ms); pid=$(start_server); wait_ready; warm+=($(( $(now_ms) - t0 ))); stop_server "$pid"
done
echo "cold_start_empty_data_dir_ms_median $(printf '%s\n' "${cold[@]}" | median) (runs: ${cold[*]})"
echo "cold_start_existing_data_dir_ms_median $(printf '%s\n' "${warm[@]}" | median) (runs: ${warm[*]})"

rm -rf "$work/qa-agent-data"
pid=$(start_server); wait_ready; sleep 5
echo "idle_rss_kib $(awk '/VmRSS/ {print $2}' /proc/$pid/status)"

report='done = function(s, latency, requests)
  local errors = s.errors.connect + s.errors.read + s.errors.write + s.errors.status + s.errors.timeout
  io.write(string.format("requests_per_sec %.0f\np50_ms %.3f\np95_ms %.3f\np99_ms %.3f\nrequests %d\nerrors %d\n",
    s.requests / (s.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, s.requests, errors))
end'
echo "$report" > "$work/get.lua"
echo "== GET /health/live"
wrk -t2 -c32 -d10s -s "$work/get.lua" http://127.0.0.1:8000/health/live | sed -n '/^requests_per_sec/,$p'
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"path": "$work/ws/app/pricing.py"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
$report
LUA
echo "== POST /api/v1/analyses (one file)"
wrk -t2 -c32 -d10s -s "$work/post.lua" http://127.0.0.1:8000/api/v1/analyses | sed -n '/^requests_per_sec/,$p'
# The queue those submissions filled: how fast the workers empty it.
t0=$(now_ms)
until [ "$(curl -s -H "Authorization: Bearer $key" 'http://127.0.0.1:8000/api/v1/analyses?limit=1' | jq -r '.items[0].status')" = done ]; do sleep 0.2; done
echo "queue_drained_ms $(( $(now_ms) - t0 ))"
stop_server "$pid"

# End to end, one at a time, on a fresh process (empty queue).
rm -rf "$work/qa-agent-data"
pid=$(start_server); wait_ready
lat=()
for _ in $(seq 50); do
  t0=$(date +%s%N)
  id=$(curl -s -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"path\": \"$work/ws/app/pricing.py\"}" http://127.0.0.1:8000/api/v1/analyses | jq -r .id)
  until [ "$(curl -s -H "Authorization: Bearer $key" "http://127.0.0.1:8000/api/v1/analyses/$id" | jq -r .status)" = done ]; do :; done
  lat+=($(( ($(date +%s%N) - t0) / 1000 )))
done
printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR]=$1} END {printf "single_file_end_to_end_ms p50 %.1f p95 %.1f max %.1f (n=%d)\n", a[int(NR*0.5)]/1000, a[int(NR*0.95)]/1000, a[NR]/1000, NR}'
stop_server "$pid"
