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
cargo run --quiet --release --locked -p qa-agents --example learning_replay -- \
  "$here" "$here/results/replay.json"
