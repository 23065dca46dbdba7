#!/usr/bin/env bash
# The learning engine's replay harness: judged findings, intent corrections and routing
# questions (this directory) fed through the learning fold, the ranking and the planner.
# Prints the tables on stderr; writes results/replay.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/qa-agent/target}"
mkdir -p "$here/results"
cd "$root"
# The planner's sentence encoder, so intents are measured by words and by meaning.
QA_AGENT_ENCODER_DIR="$(bash scripts/fetch-model.sh "${XDG_CACHE_HOME:-$HOME/.cache}/qa-agent/encoder/all-MiniLM-L6-v2")"
export QA_AGENT_ENCODER_DIR
cargo run --quiet --release --locked -p qa-agents --example learning_replay -- \
  "$here" "$here/results/replay.json"
