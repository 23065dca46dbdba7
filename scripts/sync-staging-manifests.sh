#!/usr/bin/env bash
# k8s/staging/ is k8s/production/ for the namespace `qa-agent-staging`: one replica per
# service, its own host name. Regenerate after editing production:
#   scripts/sync-staging-manifests.sh            # rewrite k8s/staging/
#   scripts/sync-staging-manifests.sh --check    # fail if k8s/staging/ is out of date (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
out=k8s/staging
if [ "${1:-}" = "--check" ]; then out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi
mkdir -p "$out"
rm -f "$out"/*.yaml "$out"/*.example
for f in k8s/production/*.yaml k8s/production/*.example; do
  sed -E \
    -e 's/^(\s*)namespace: qa-agent$/\1namespace: qa-agent-staging/' \
    -e 's/-n qa-agent( |$)/-n qa-agent-staging\1/g' \
    -e 's#k8s/production#k8s/staging#g' \
    -e 's/^(\s*)replicas: [0-9]+$/\1replicas: 1/' \
    -e 's/^(\s*)minReplicas: [0-9]+$/\1minReplicas: 1/' \
    -e 's/^(\s*)minAvailable: [0-9]+$/\1minAvailable: 0/' \
    -e 's/qa-agent\.example\.com/qa-agent-staging.example.com/g' \
    "$f" > "$out/$(basename "$f")"
done
sed -i -E 's/^  name: qa-agent$/  name: qa-agent-staging/' "$out/00-namespace.yaml"
sed -i -E '1i # Generated from k8s/production/ by scripts/sync-staging-manifests.sh: edit production, then run it.' "$out"/*.yaml "$out"/*.example
if [ "${1:-}" = "--check" ]; then
  if ! diff -r "$out" k8s/staging >/dev/null; then
    diff -r "$out" k8s/staging | head -20 >&2
    echo "k8s/staging/ is out of date: run scripts/sync-staging-manifests.sh" >&2
    exit 1
  fi
fi
