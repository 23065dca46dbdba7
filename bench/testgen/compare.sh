#!/usr/bin/env bash
# Compare `qa-agent generate` with Pynguin 0.48 on the modules in
# bench/testgen/modules/qabench/, measuring both suites with the same tools.
#
#   bash bench/testgen/setup-peers.sh     # once: Pynguin, mutmut, coverage, pytest venv
#   bash bench/testgen/compare.sh         # from the repo root
#
# Environment (all optional):
#   QA_AGENT        qa-agent binary                  (default target/release/qa-agent)
#   BUDGET          search budget per module, s      (default 60)
#   QA_AGENT_BUDGET qa-agent's whole budget per module, s (default BUDGET). It covers
#                   exploration, validation and mutation scoring; Pynguin's BUDGET covers
#                   only its search (its assertion phase comes on top), so the comparison in
#                   docs/measurements.md gives qa-agent 100 s against Pynguin's 60 + 60 s.
#   MODULES         space-separated module names     (default: every qabench/*.py)
#   TOOLS           "pynguin qa-agent"               (default both)
#   MUTMUT_MODULES  modules scored with mutmut: "all", "none" or a list (default all)
#   RUNS            pytest reruns for the pass rate  (default 5, PYTHONHASHSEED=1..RUNS)
#   TOOL_TIMEOUT    hard wall limit per tool run, s  (default 10*BUDGET)
#   PYNGUIN_MUTATION_TIME  Pynguin's --maximum-mutation-time, s (default BUDGET; -1 = Pynguin's
#                   own default, unbounded). Pynguin's search budget does not cover its
#                   mutation-analysis assertion generation; unbounded, that phase alone ran
#                   past 10 min on shlex (tests timing out on mutants), leaving no suite.
#   PYNGUIN_ARGS    extra Pynguin flags, e.g. "--seed 1"
#   RESULTS         output dir                        (default bench/testgen/results)
#   PEERS_VENV      (default ~/.cache/qa-agent/peers/venv)
#   REUSE=1         do not rerun a tool whose run dir already has a suite; only re-measure
#
# Every number is measured here, independently of either tool's self-report:
# coverage.py (--branch) over pytest, pytest reruns, an ast oracle check
# (oracle_count.py), mutmut 3 (mutmut_score.py), /usr/bin/time -v and a
# process-tree RSS sampler (tree_rss.py). Per-run files go to
# $RESULTS/runs/MODULE/TOOL/; the summary to $RESULTS/compare.json and a
# Markdown table on stdout.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
QA_AGENT="${QA_AGENT:-target/release/qa-agent}"
BUDGET="${BUDGET:-60}"
QA_AGENT_BUDGET="${QA_AGENT_BUDGET:-$BUDGET}"
TOOLS="${TOOLS:-pynguin qa-agent}"
MUTMUT_MODULES="${MUTMUT_MODULES:-all}"
RUNS="${RUNS:-5}"
TOOL_TIMEOUT="${TOOL_TIMEOUT:-$((BUDGET * 10))}"
PYNGUIN_ARGS="${PYNGUIN_ARGS:-}"
PYNGUIN_MUTATION_TIME="${PYNGUIN_MUTATION_TIME:-$BUDGET}"
RESULTS="${RESULTS:-$HERE/results}"
VENV="${PEERS_VENV:-$HOME/.cache/qa-agent/peers/venv}"
PY="$VENV/bin/python"
MODROOT="$HERE/modules"
PKG=qabench

if [ ! -x "$VENV/bin/pynguin" ] || [ ! -x "$VENV/bin/mutmut" ]; then
  echo "compare: peers venv missing; run bash bench/testgen/setup-peers.sh" >&2
  exit 2
fi
if [[ " $TOOLS " == *" qa-agent "* ]]; then
  case "$QA_AGENT" in /*) ;; *) QA_AGENT="$PWD/$QA_AGENT" ;; esac
  if [ ! -x "$QA_AGENT" ]; then
    echo "compare: qa-agent binary not found at $QA_AGENT (set QA_AGENT)" >&2
    exit 2
  fi
fi
if [ -z "${MODULES:-}" ]; then
  MODULES="$(cd "$MODROOT/$PKG" && ls *.py | grep -v '^__init__' | sed 's/\.py$//' | tr '\n' ' ')"
fi
mkdir -p "$RESULTS/runs"
RESULTS="$(cd "$RESULTS" && pwd)"

want_mutmut() {
  case "$MUTMUT_MODULES" in
    all) return 0 ;;
    none) return 1 ;;
    *) [[ " $MUTMUT_MODULES " == *" $1 "* ]] ;;
  esac
}

# run_timed DIR CMD... : runs CMD with cwd DIR under /usr/bin/time -v and the tree
# sampler; leaves DIR/time.txt, DIR/tree_rss_kb, DIR/rc, DIR/stdout, DIR/stderr.
run_timed() {
  local dir="$1"; shift
  (
    cd "$dir" || exit 97
    exec /usr/bin/time -v -o "$dir/time.txt" timeout --kill-after=30 "$TOOL_TIMEOUT" "$@" \
      >"$dir/stdout" 2>"$dir/stderr"
  ) &
  local pid=$!
  "$PY" "$HERE/tree_rss.py" "$pid" "$dir/tree_rss_kb" &
  local spid=$!
  wait "$pid"; echo $? >"$dir/rc"
  wait "$spid"
}

for m in $MODULES; do
  modfile="$MODROOT/$PKG/$m.py"
  [ -f "$modfile" ] || { echo "compare: no module $modfile" >&2; continue; }
  for tool in $TOOLS; do
    d="$RESULTS/runs/$m/$tool"
    if [ "${REUSE:-0}" = 1 ] && ls "$d"/tests/test_*.py >/dev/null 2>&1; then
      echo "== $m / $tool: reusing $d" >&2
    else
      rm -rf "$d"; mkdir -p "$d/tests"
      echo "== $m / $tool: generating (budget ${BUDGET}s)" >&2
      case "$tool" in
        pynguin)
          # shellcheck disable=SC2086
          PYNGUIN_DANGER_AWARE=1 run_timed "$d" "$VENV/bin/pynguin" \
            --project-path "$MODROOT" --module-name "$PKG.$m" --output-path "$d/tests" \
            --maximum-search-time "$BUDGET" --maximum-mutation-time "$PYNGUIN_MUTATION_TIME" \
            --no-rich -v $PYNGUIN_ARGS
          ;;
        qa-agent)
          run_timed "$d" "$QA_AGENT" generate "$modfile" --budget "$QA_AGENT_BUDGET" --out "$d/tests" --format json
          cp "$d/stdout" "$d/self_report.json" 2>/dev/null || true
          ;;
        *) echo "compare: unknown tool $tool" >&2; continue ;;
      esac
    fi
    # the suite: Pynguin writes test_<m>.py, qa-agent test_<m>_qa.py
    suite="$(ls "$d"/tests/test_*.py 2>/dev/null | head -1)"
    rm -f "$d/oracle.json" "$d/measure.json" "$d/mutmut.json"
    if [ -z "$suite" ]; then
      echo "   no suite written (rc $(cat "$d/rc" 2>/dev/null))" >&2
      continue
    fi
    echo "   $suite: measuring" >&2
    "$PY" "$HERE/oracle_count.py" "$suite" >"$d/oracle.json" 2>"$d/oracle.err"
    timeout 1800 "$PY" "$HERE/measure_suite.py" "$suite" "$modfile" --import-root "$MODROOT" \
      --runs "$RUNS" >"$d/measure.json" 2>"$d/measure.err"
    if want_mutmut "$m"; then
      echo "   mutmut" >&2
      timeout 2400 "$PY" "$HERE/mutmut_score.py" "$suite" "$modfile" --timeout 1800 \
        >"$d/mutmut.json" 2>"$d/mutmut.err"
    fi
  done
done

"$PY" "$HERE/report.py" "$RESULTS" --budget "$BUDGET" --modules "$MODULES" --tools "$TOOLS" --runs "$RUNS"
