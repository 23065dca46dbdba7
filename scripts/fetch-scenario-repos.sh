#!/usr/bin/env bash
# Fetches the real repositories the agents' scenario suite asks about
# (crates/server/tests/scenarios/questions.toml): source distributions from PyPI, pinned
# by SHA-256, unpacked into $QA_AGENT_SCENARIO_REPOS (default
# ~/.cache/qa-agent/scenario-repos/<name>). Idempotent: an unpacked repository is kept.
set -euo pipefail

DEST="${QA_AGENT_SCENARIO_REPOS:-$HOME/.cache/qa-agent/scenario-repos}"
log() { printf '[scenario-repos] %s\n' "$*" >&2; }

# name  pip requirement     sdist file              sha256
PINS='
bottle  bottle==0.13.2  bottle-0.13.2.tar.gz  e53803b9d298c7d343d00ba7d27b0059415f04b9f6f40b8d58b5bf914ba9d348
tinydb  tinydb==4.8.2   tinydb-4.8.2.tar.gz   f7dfc39b8d7fda7a1ca62a8dbb449ffd340a117c1206b68c50b1a481fb95181d
'

mkdir -p "$DEST"
while read -r name spec file sha; do
  [ -n "${name:-}" ] || continue
  if [ -f "$DEST/$name/.complete" ]; then continue; fi
  tmp="$(mktemp -d)"
  log "fetching $spec"
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$tmp" "$spec" >&2
  got="$(sha256sum "$tmp/$file" | cut -d' ' -f1)"
  if [ "$got" != "$sha" ]; then
    log "checksum mismatch for $file: $got (want $sha)"; rm -rf "$tmp"; exit 1
  fi
  rm -rf "${DEST:?}/$name"
  mkdir -p "$DEST/$name"
  tar -xzf "$tmp/$file" -C "$DEST/$name" --strip-components=1
  touch "$DEST/$name/.complete"
  rm -rf "$tmp"
done <<< "$PINS"
echo "$DEST"
