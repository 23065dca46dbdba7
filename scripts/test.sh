#!/usr/bin/env bash
# The README's test command: installs what the tests need (idempotently) and runs them.
#
# Safe to run on a bare machine with only the Rust toolchain: every installation step
# checks first and does nothing when the tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[test]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; return 1; fi
}

# Debian packages the test suite relies on: git for the .gitignore and repository tests,
# promtool (package prometheus) to check the services' /metrics output, redis-server for
# the test that stops and restarts a Redis of its own.
need_debs=()
command -v git >/dev/null || need_debs+=(git)
command -v promtool >/dev/null || need_debs+=(prometheus)
command -v redis-server >/dev/null || need_debs+=(redis-server)
# The runbook test runs the runbook's own commands.
command -v curl >/dev/null || need_debs+=(curl)
command -v jq >/dev/null || need_debs+=(jq)
command -v psql >/dev/null || need_debs+=(postgresql-client)
command -v redis-cli >/dev/null || need_debs+=(redis-tools)
# The web UI's browser test: Debian's Chromium, driven by playwright-core from npm.
command -v chromium >/dev/null || need_debs+=(chromium)
command -v npm >/dev/null || need_debs+=(nodejs npm)
# Generated tests run in bubblewrap's sandbox; util-linux's prlimit sets its limits.
command -v bwrap >/dev/null || need_debs+=(bubblewrap)
command -v prlimit >/dev/null || need_debs+=(util-linux)
# The HTTPS test makes a private CA and certificates; renew_certificates.sh uses openssl.
command -v openssl >/dev/null || need_debs+=(openssl)
if [ ${#need_debs[@]} -gt 0 ]; then
  log "installing ${need_debs[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_debs[@]}"
fi

# The agents' scenario suite asks about real repositories from PyPI (pinned by SHA-256).
if ! python3 -m pip --version >/dev/null 2>&1; then
  log "installing python3-pip"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-pip
fi
QA_AGENT_SCENARIO_REPOS="$(bash scripts/fetch-scenario-repos.sh)"
# The planner's sentence encoder (all-MiniLM-L6-v2, 90 MB, pinned by SHA-256) for the
# tests of understanding by meaning. A name of its own: QA_AGENT_ENCODER_DIR would make
# every test server load it.
QA_AGENT_TEST_ENCODER_DIR="$(bash scripts/fetch-model.sh "${XDG_CACHE_HOME:-$HOME/.cache}/qa-agent/encoder/all-MiniLM-L6-v2")"
export QA_AGENT_TEST_ENCODER_DIR

# pytest, coverage.py, black and ruff for the generated tests (pinned; reinstalled only when
# the pins change). PIP_BREAK_SYSTEM_PACKAGES lets pip install next to Debian's own Python.
req_mark="${XDG_CACHE_HOME:-$HOME/.cache}/qa-agent/python-requirements.installed"
if ! cmp -s tests/python-requirements.txt "$req_mark" 2>/dev/null ||
  ! python3 -c 'import pytest, coverage, black' 2>/dev/null; then
  log "pip install -r tests/python-requirements.txt"
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check \
    --root-user-action=ignore -r tests/python-requirements.txt
  mkdir -p "$(dirname "$req_mark")" && cp tests/python-requirements.txt "$req_mark"
fi
export QA_AGENT_SCENARIO_REPOS

# The deployment checks' validators (kubernetes-validate, with PyYAML and jsonschema).
deploy_mark="${XDG_CACHE_HOME:-$HOME/.cache}/qa-agent/deploy-requirements.installed"
if ! cmp -s deploy/check-requirements.txt "$deploy_mark" 2>/dev/null ||
  ! python3 -c "import kubernetes_validate, yaml, jsonschema" 2>/dev/null; then
  log "pip install -r deploy/check-requirements.txt"
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check \
    --root-user-action=ignore -r deploy/check-requirements.txt
  mkdir -p "$(dirname "$deploy_mark")" && cp deploy/check-requirements.txt "$deploy_mark"
fi

# playwright-core and axe-core, as pinned in tests/ui/package-lock.json (no browser
# download: the test uses /usr/bin/chromium).
if ! cmp -s tests/ui/package-lock.json tests/ui/node_modules/.installed-from-lock 2>/dev/null; then
  log "npm ci in tests/ui"
  (cd tests/ui && npm ci --no-audit --no-fund --loglevel=error &&
    cp package-lock.json node_modules/.installed-from-lock)
fi

# The JavaScript test generator's CI fixtures: real npm packages (ms, escape-html) and the
# Vitest it validates with, as pinned in tests/js/package-lock.json.
if ! cmp -s tests/js/package-lock.json tests/js/node_modules/.installed-from-lock 2>/dev/null; then
  log "npm ci in tests/js"
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error &&
    cp package-lock.json node_modules/.installed-from-lock)
fi

bash scripts/check-deploy.sh

log "cargo test --workspace --all-targets"
cargo test --workspace --all-targets --locked "$@"
