#!/usr/bin/env bash
# qa-agent generate on Rust crates it did not write, copied from cargo's downloaded
# sources (each is a dependency of this workspace, so `cargo fetch` has them):
# per module the functions found, tests kept, mutants run and killed, wall time and peak
# memory. Usage: QA_AGENT=path/to/qa-agent [BUDGET=90] bash bench/testgen/rust.sh
set -euo pipefail
bin=${QA_AGENT:?set QA_AGENT to the qa-agent binary}
budget=${BUDGET:-90}
registry=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/ | head -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
modules=(
  strsim-0.11.1:src/lib.rs
  regex-syntax-0.8.12:src/lib.rs
  adler2-2.0.1:src/lib.rs
  murmurhash32-0.4.0:src/murmurhash3.rs
  murmurhash32-0.4.0:src/murmurhash2.rs
  tantivy-bitpacker-0.27.0:src/lib.rs
  htmlescape-0.3.1:src/encode.rs
  bytecount-0.6.9:src/naive.rs
  crc32fast-1.5.5:src/lib.rs
  constant_time_eq-0.6.1:src/lib.rs
  ryu-1.0.23:src/common.rs
  miniz_oxide-0.9.1:src/shared.rs
)
printf '| module | status | functions | kept | mutants run | killed | score | wall s | max RSS MiB |\n|---|---|---|---|---|---|---|---|---|\n'
for spec in "${modules[@]}"; do
  crate=${spec%%:*} file=${spec#*:}
  [ -d "$registry/$crate" ] || { echo "| $crate | not in $registry | | | | | | | |"; continue; }
  rm -rf "${work:?}/$crate"
  cp -r "$registry/$crate" "$work/$crate"
  out="$work/$crate-$(basename "$file" .rs).json"
  ( cd "$work/$crate" && /usr/bin/time -q -f "%M" -o "$out.mem" \
      "$bin" generate "$file" --budget "$budget" --dry-run --format json > "$out" 2>/dev/null || true )
  python3 - "$crate/$file" "$out" "$(tail -n 1 "$out.mem")" <<'PY'
import json, sys
name, path, mem = sys.argv[1:4]
m = json.load(open(path))["modules"][0]
mu = m.get("mutation") or {}
run = len(mu.get("results", []))
score = f"{mu['score']:.0%}" if mu.get("score") is not None else "absent"
print(f"| {name} | {m['status']} | {len(m['targets'])} | {len(m['kept'])} | {run} | {mu.get('killed', 0) if run else '-'} | {score} | {m['wall_seconds']:.0f} | {int(mem) // 1024} |")
PY
done
