#!/usr/bin/env bash
# Refreshes the web UI's vendored libraries (crates/server/src/ui/vendor/, checked in and
# compiled into the binary): npm tarballs pinned by version and SHA-256. Run it only to
# upgrade one of them (change the pin, run, review the diff); building never downloads.
#   marked     Markdown to HTML for answers
#   dompurify  sanitises that HTML (answers quote the analysed code: it must never run)
#   prismjs    syntax highlighting of code blocks (core + the languages answers use)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=crates/server/src/ui/vendor

# package  version  sha256 of the npm tarball
PINS='
marked     18.2.1  d66c5213fc203466186060105b01f51896764ba64b3797d2620d02e28e34b8ca
dompurify  3.5.0   faa5f2bfe2814384b83d6edb4ed66812fbfdb2a654b4d59edd4b12304058ec20
prismjs    1.30.0  ac16a9106a28c53b6a6313993c816a3a02525fdfefd7614fc1703df915a9fc11
'
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
while read -r name version sha; do
  [ -n "${name:-}" ] || continue
  curl -sSfL -o "$tmp/$name.tgz" "https://registry.npmjs.org/$name/-/$name-$version.tgz"
  got="$(sha256sum "$tmp/$name.tgz" | cut -d' ' -f1)"
  if [ "$got" != "$sha" ]; then
    echo "checksum mismatch for $name $version: $got (want $sha)" >&2; exit 1
  fi
  mkdir -p "$tmp/$name"
  tar -xzf "$tmp/$name.tgz" -C "$tmp/$name"
done <<< "$PINS"

mkdir -p "$OUT"
cp "$tmp/marked/package/lib/marked.umd.js" "$OUT/marked.js"
cp "$tmp/marked/package/LICENSE" "$OUT/LICENSE.marked"
cp "$tmp/dompurify/package/dist/purify.min.js" "$OUT/purify.js"
cp "$tmp/dompurify/package/LICENSE" "$OUT/LICENSE.dompurify"
# Prism's languages register on the core, in dependency order (javascript needs clike).
p="$tmp/prismjs/package/components"
{
  echo "/* Prism 1.30.0: core, clike, javascript, python, yaml, bash, json, toml */"
  echo "window.Prism = window.Prism || {}; window.Prism.manual = true;"
  for lang in core clike javascript python yaml bash json toml; do
    cat "$p/prism-$lang.min.js"; echo
  done
} > "$OUT/prism.js"
cp "$tmp/prismjs/package/LICENSE" "$OUT/LICENSE.prismjs"
ls -l "$OUT"
