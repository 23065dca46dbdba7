#!/usr/bin/env bash
# Idempotent setup of the peer tools used by bench/testgen/compare.sh:
# Pynguin 0.48.0, mutmut 3.x, coverage and pytest in a dedicated venv.
# Usage: bash bench/testgen/setup-peers.sh   (env: PEERS_VENV, PEERS_PYTHON)
set -euo pipefail

VENV="${PEERS_VENV:-$HOME/.cache/qa-agent/peers/venv}"
PY="${PEERS_PYTHON:-python3}"

# Pynguin 0.48 requires Python 3.10..3.12 (it instruments the bytecode).
ver="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
case "$ver" in
  3.10|3.11|3.12) ;;
  *) echo "setup-peers: $PY is Python $ver; Pynguin 0.48 needs 3.10-3.12 (set PEERS_PYTHON)" >&2; exit 2 ;;
esac

# /usr/bin/time -v is used to measure wall time and peak RSS.
if ! /usr/bin/time -v true >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq time
  else
    echo "setup-peers: GNU time (/usr/bin/time) is missing" >&2; exit 2
  fi
fi

want_ok() {
  [ -x "$VENV/bin/python" ] || return 1
  "$VENV/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as md, sys
v = {n: md.version(n) for n in ("pynguin", "mutmut", "coverage", "pytest")}
ok = v["pynguin"] == "0.48.0" and v["mutmut"].startswith("3.")
sys.exit(0 if ok else 1)
PY
}

if want_ok; then
  echo "setup-peers: $VENV already set up"
else
  mkdir -p "$(dirname "$VENV")"
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # pytest and black are kept inside Pynguin 0.48's pins (pytest<9, black<26).
  "$VENV/bin/python" -m pip install -q \
    "pynguin==0.48.0" "mutmut>=3,<4" "coverage[toml]" "pytest<9" "black<26"
fi

"$VENV/bin/python" - <<'PY'
import importlib.metadata as md, sys
print("python", sys.version.split()[0])
for n in ("pynguin", "mutmut", "coverage", "pytest", "black"):
    print(n, md.version(n))
PY
