# Sourced by the runbook's scripts: `qa_agent ARGS...` runs the qa-agent binary
# ($QA_AGENT, else `qa-agent` on PATH, else this checkout's release or debug build).
qa_agent() {
  local bin=${QA_AGENT:-}
  if [ -z "$bin" ]; then
    if command -v qa-agent >/dev/null; then
      bin=qa-agent
    else
      local root target
      root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
      target=${CARGO_TARGET_DIR:-$root/target}
      for candidate in "$target/release/qa-agent" "$target/debug/qa-agent"; do
        if [ -x "$candidate" ]; then bin=$candidate; break; fi
      done
    fi
  fi
  if [ -z "$bin" ]; then
    echo "qa-agent not found: put it on PATH, set QA_AGENT, or build it (cargo build --release -p qa-agent)" >&2
    return 2
  fi
  "$bin" "$@"
}
