#!/usr/bin/env bash
# Feedback throughput: a burst of EVENTS (10,000) stored while a learning engine runs;
# how fast it drains and when the learned state includes it. On PostgreSQL when
# DATABASE_URL is set (e.g. postgres://postgres@127.0.0.1:5432/test), else the embedded
# SQLite file. Writes results/burst-<backend>.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/qa-agent/target}"
backend=sqlite
case "${DATABASE_URL:-}" in postgres*) backend=postgres ;; esac
mkdir -p "$here/results"
cd "$root"
cargo run --quiet --release --locked -p qa-server --example feedback_burst -- "${1:-10000}" \
  | tee "$here/results/burst-$backend.json"
