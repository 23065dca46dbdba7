#!/usr/bin/env bash
# Agreement of qa-agent's metrics with radon, complexipy and lizard on the pinned corpus.
# Fetches the corpus and the peers if needed, builds qa-agent, prints one summary line per
# project and per language (see docs/measurements.md for the latest numbers).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/corpus/fetch.sh .corpus >/dev/null
bash scripts/install_peers.sh >/dev/null
cargo build --release --quiet -p qa-agent
BIN=target/release/qa-agent
PY=.peers/bin/python
export SAMPLES="${SAMPLES:-0}"
"$PY" scripts/compare/python_agreement.py "$BIN" .corpus/python/*/
for lang in javascript typescript go java rust; do
  "$PY" scripts/compare/lizard_agreement.py "$BIN" "$lang" .corpus/"$lang"/*/
  "$PY" scripts/compare/classify_lizard.py "$BIN" "$lang" .corpus/"$lang"/*/ | tail -n 25
done
