#!/usr/bin/env bash
# Installs the tools qa-agent is compared with, pinned, into .peers/ (a virtualenv plus
# cargo-installed binaries). Idempotent. Used by scripts/compare/ and scripts/bench/.
#
#   bash scripts/install_peers.sh            # Python peers: radon, lizard, complexipy
#   WITH_RCA=1 bash scripts/install_peers.sh # also rust-code-analysis-cli (a long build)
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="${PEERS:-$PWD/.peers}"

RADON=6.0.1
LIZARD=1.24.3
COMPLEXIPY=8.3.0
RCA=0.0.25

if [ ! -x "$PEERS/bin/python" ]; then
  python3 -m venv "$PEERS"
fi
want="radon==$RADON lizard==$LIZARD complexipy==$COMPLEXIPY"
have=$("$PEERS/bin/pip" freeze 2>/dev/null || true)
missing=()
for p in $want; do
  grep -qx "$p" <<<"$have" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  "$PEERS/bin/pip" install --quiet "${missing[@]}"
fi

if [ "${WITH_RCA:-0}" = 1 ] && ! "$PEERS/bin/rust-code-analysis-cli" --version 2>/dev/null | grep -q "$RCA"; then
  cargo install --locked --quiet --root "$PEERS" rust-code-analysis-cli --version "$RCA"
fi
"$PEERS/bin/python" -c "import radon, lizard, complexipy" && echo "peers ready in $PEERS"
