#!/usr/bin/env bash
# The runbook's smoke suite against a deployment (rolling updates, step 2):
#   QA_AGENT_API_KEY=qak_... tests/integration/run_all_tests.sh staging|local
# Reads tests/integration/env/ENV.env (service URLs; any can be overridden from the
# environment). Checks: every service live and ready; credentials (a wrong key refused,
# the given key accepted); an analysis of tests/integration/fixture uploaded, finished,
# with its findings; a question answered from it with cited evidence; feedback taken by
# the learning engine; the runbook's metrics exported; `qa-agent doctor` not reporting
# P0/P1. Exit 1 if any check fails (all run; each prints PASS or FAIL).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../../scripts/lib/qa-agent.sh"
env_name=${1:-}
if [ -z "$env_name" ] || [ ! -f "$here/env/$env_name.env" ]; then
  echo "usage: $0 ENV   (one of: $(cd "$here/env" && ls *.env | sed 's/\.env$//' | tr '\n' ' '))" >&2
  exit 2
fi
while IFS='=' read -r k v; do
  [[ "$k" =~ ^[A-Z_]+$ ]] || continue
  [ -n "${!k:-}" ] || export "$k=$v"
done < "$here/env/$env_name.env"
key=${QA_AGENT_API_KEY:-}
if [ -z "$key" ]; then
  echo "set QA_AGENT_API_KEY to an API key of the $env_name deployment" >&2
  exit 2
fi
auth="Authorization: Bearer $key"
failed=0
pass() { printf 'PASS  %s\n' "$1"; }
fail() { printf 'FAIL  %s: %s\n' "$1" "$2"; failed=1; }
check() { # name, command...
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(tail -c 400 <<<"$out")"; fi
}

for url in "$ORCHESTRATOR_URL" "$SPECIALISTS_URL" "$CONVERSATION_URL" "$LEARNING_URL"; do
  check "live and ready: $url" curl -fsS --max-time 10 "$url/health/ready"
done

code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer qak_wrong_key_for_the_smoke_test' "$ORCHESTRATOR_URL/api/v1/me")
[ "$code" = 401 ] && pass "a wrong key is refused (401)" || fail "a wrong key is refused" "got $code"
check "the given key is accepted" curl -fsS --max-time 10 -H "$auth" "$ORCHESTRATOR_URL/api/v1/me"

archive=$(mktemp --suffix=.tar.gz)
trap 'rm -f "$archive"' EXIT
tar -czf "$archive" -C "$here/fixture" shop
repo="smoke-$(date +%s)"
analysis=$(curl -fsS --max-time 60 -X POST -H "$auth" --data-binary @"$archive" \
  "$ORCHESTRATOR_URL/api/v1/analyses/upload?repository=$repo" | jq -r '.id // empty' 2>/dev/null)
if [ -n "$analysis" ]; then
  pass "analysis $analysis queued"
  status=queued
  for _ in $(seq 1 120); do
    status=$(curl -fsS -H "$auth" "$ORCHESTRATOR_URL/api/v1/analyses/$analysis" | jq -r .status)
    [ "$status" = done ] || [ "$status" = failed ] && break
    sleep 0.5
  done
  [ "$status" = done ] && pass "analysis finished" || fail "analysis finished" "status $status"
  rules=$(curl -fsS -H "$auth" "$ORCHESTRATOR_URL/api/v1/analyses/$analysis/findings" | jq -r '[.items[].rule_id] | join(",")')
  [[ "$rules" == *SEC* ]] && pass "findings include the fixture's eval ($rules)" || fail "findings" "got: $rules"
  answer=$(curl -fsS --max-time 120 -X POST -H "$auth" -H 'Content-Type: application/json' \
    -d "{\"question\": \"is there any security problem in this code?\", \"analysis_id\": $analysis}" \
    "$ORCHESTRATOR_URL/api/v1/agent/tasks")
  task=$(jq -r '.id // empty' <<<"$answer")
  if jq -e '.answer.text | test("pricing\\.py:[0-9]+")' <<<"$answer" >/dev/null 2>&1; then
    pass "a question is answered with cited evidence (task $task)"
  else
    fail "a question is answered with cited evidence" "$(head -c 300 <<<"$answer")"
  fi
  if [ -n "$task" ]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$auth" -H 'Content-Type: application/json' \
      -d "{\"target\": \"answer\", \"target_id\": \"$task\", \"kind\": \"rating\", \"rating\": 5}" \
      "$LEARNING_URL/api/v1/feedback")
    [ "$code" = 202 ] && pass "feedback taken by the learning engine" || fail "feedback" "got $code"
  fi
else
  fail "analysis upload" "no analysis id"
fi

for pair in "$ORCHESTRATOR_URL:agent_reasoning_quality_score" "$SPECIALISTS_URL:tool_execution_total" \
  "$CONVERSATION_URL:websocket_connections" "$LEARNING_URL:agent_learning_velocity"; do
  url=${pair%:*}; metric=${pair##*:}
  body=$(curl -fsS --max-time 10 "$url/metrics" 2>/dev/null || true)
  if grep -q "^# TYPE $metric " <<<"$body"; then
    pass "$metric exported"
  else
    fail "$metric exported" "$url/metrics"
  fi
done

# doctor reads the key from QA_AGENT_API_KEY: never on a command line.
doctor_out=$(qa_agent doctor --orchestrator "$ORCHESTRATOR_URL" --specialists "$SPECIALISTS_URL" \
  --conversation "$CONVERSATION_URL" --learning "$LEARNING_URL" 2>&1)
rc=$?
if [ "$rc" -le 1 ]; then pass "doctor: no P0/P1 (exit $rc)"; else fail "doctor" "$(head -c 400 <<<"$doctor_out")"; fi

if [ "$failed" = 0 ]; then echo "all smoke tests passed on $env_name"; else echo "smoke tests FAILED on $env_name"; fi
exit "$failed"
