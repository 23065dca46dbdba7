# shellcheck shell=bash
# Shared functions of the corpus fetchers (scripts/corpus/fetch.sh,
# fetch_holdout.sh, fetch_holdout2.sh).  Sourced, never run.
#
# The sourcing script sets, before calling corpus_main or refuse_overlap:
#   SCRIPT_DIR        the directory of the fetch scripts
#   PINS              the pinned list (format: see fetch.sh)
#   OUT               output directory (created if missing)
#   CORPUS_TAG        log prefix, e.g. "corpus"
#   CORPUS_TITLE      first heading of OUT/MANIFEST.md
#   CORPUS_GENERATOR  script named in OUT/MANIFEST.md
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian),
#              CRATES_DL (default https://static.crates.io/crates).

DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CRATES_DL="${CRATES_DL:-https://static.crates.io/crates}"
CORPUS_TAG="${CORPUS_TAG:-corpus}"

log() { printf '[%s] %s\n' "$CORPUS_TAG" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$CORPUS_TAG" "$*" >&2; exit 1; }

need() {
    command -v "$1" >/dev/null 2>&1 || die "missing tool '$1' ($2)"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Files counted as source of a language (extensions; TypeScript excludes .d.ts).
list_sources() { # lang dir -> NUL-separated file list on stdout
    local lang="$1" dir="$2"
    case "$lang" in
        python)     find "$dir" -type f -name '*.py' -print0 ;;
        javascript) find "$dir" -type f \( -name '*.js' -o -name '*.mjs' -o -name '*.cjs' \) -print0 ;;
        typescript) find "$dir" -type f \( -name '*.ts' -o -name '*.tsx' -o -name '*.mts' -o -name '*.cts' \) \
                        ! -name '*.d.ts' ! -name '*.d.mts' ! -name '*.d.cts' -print0 ;;
        go)         find "$dir" -type f -name '*.go' -print0 ;;
        java)       find "$dir" -type f -name '*.java' -print0 ;;
        rust)       find "$dir" -type f -name '*.rs' -print0 ;;
        *) die "unknown language $lang" ;;
    esac
}

count_files() { list_sources "$1" "$2" | tr -cd '\0' | wc -c; }
count_lines() { list_sources "$1" "$2" | xargs -0 -r cat -- | wc -l; }

# Remove minified / generated JS bundles (see header). Prints the count.
prune_minified() {
    local dir="$1" n=0 f
    while IFS= read -r -d '' f; do
        rm -f -- "$f"; n=$((n + 1))
    done < <(find "$dir" -type f \( -name '*.min.js' -o -name '*.min.mjs' -o -name '*.min.cjs' \) -print0)
    while IFS= read -r -d '' f; do
        if awk '{ c += length($0) } END { exit !(NR > 0 && c / NR > 300) }' "$f"; then
            rm -f -- "$f"; n=$((n + 1))
        fi
    done < <(find "$dir" -type f \( -name '*.js' -o -name '*.mjs' -o -name '*.cjs' \) -print0)
    echo "$n"
}

verify() { # file expected-sha256
    local got
    got="$(sha256_of "$1")"
    [[ "$got" == "$2" ]] || die "sha256 mismatch for $(basename "$1"): expected $2, got $got"
}

download() { # kind spec archive sha version
    local kind="$1" spec="$2" archive="$3" sha="$4" version="$5"
    local dest="$ARCH/$archive"
    if [[ -f "$dest" ]] && [[ "$(sha256_of "$dest")" == "$sha" ]]; then
        return 0
    fi
    rm -f -- "$dest"
    local tmp
    tmp="$(mktemp -d "$ARCH/.dl.XXXXXX")"
    log "downloading $kind $spec"
    case "$kind" in
        pypi)
            # --no-binary :all: -> the sdist; pip prepares its metadata, which
            # may fetch build backends from PyPI (isolated, nothing installed).
            pip download --quiet --no-deps --no-binary :all: -d "$tmp" "$spec" >&2 </dev/null
            ;;
        npm)
            (cd "$tmp" && npm pack --silent "$spec" >/dev/null </dev/null)
            ;;
        crate)
            curl -fsSL --retry 3 -o "$tmp/$archive" "$CRATES_DL/$spec/$spec-$version.crate"
            ;;
        deb)
            local pkg="${spec%%;*}" pool="${spec#*;}"
            if ! (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1 </dev/null); then
                log "apt-get download $pkg failed; fetching from the Debian pool"
                curl -fsSL --retry 3 -o "$tmp/$archive" "$DEBIAN_MIRROR/$pool"
            fi
            ;;
        debsrc)
            curl -fsSL --retry 3 -o "$tmp/$archive" "$DEBIAN_MIRROR/$spec"
            ;;
        *) die "unknown kind $kind" ;;
    esac
    [[ -f "$tmp/$archive" ]] || die "download of $spec did not produce $archive (got: $(ls "$tmp"))"
    verify "$tmp/$archive" "$sha"
    mv -- "$tmp/$archive" "$dest"
    rm -rf -- "$tmp"
}

extract() { # lang kind archive sha target -> prints pruned count
    local lang="$1" kind="$2" archive="$3" sha="$4" target="$5"
    local stamp="$target/.corpus-stamp"
    if [[ -f "$stamp" ]] && [[ "$(head -n1 "$stamp")" == "$sha" ]]; then
        sed -n 2p "$stamp"
        return 0
    fi
    rm -rf -- "$target"
    local tmp
    tmp="$(mktemp -d "$OUT/.x.XXXXXX")"
    case "$kind" in
        deb)
            dpkg-deb -x "$ARCH/$archive" "$tmp/root"
            [[ -d "$tmp/root/usr/share/gocode/src" ]] || die "$archive has no usr/share/gocode/src"
            mv -- "$tmp/root/usr/share/gocode/src" "$tmp/tree"
            ;;
        *)
            mkdir -p "$tmp/unpacked"
            tar -xf "$ARCH/$archive" -C "$tmp/unpacked" --no-same-owner
            # Strip the single top-level directory every archive here has.
            local -a entries
            entries=("$tmp/unpacked"/*)
            if [[ ${#entries[@]} -eq 1 && -d "${entries[0]}" ]]; then
                mv -- "${entries[0]}" "$tmp/tree"
            else
                mv -- "$tmp/unpacked" "$tmp/tree"
            fi
            ;;
    esac
    local pruned=0
    if [[ "$lang" == javascript || "$lang" == typescript ]]; then
        pruned="$(prune_minified "$tmp/tree")"
    fi
    chmod -R u+rwX,go+rX "$tmp/tree"
    printf '%s\n%s\n' "$sha" "$pruned" > "$tmp/tree/.corpus-stamp"
    mkdir -p "$(dirname "$target")"
    mv -- "$tmp/tree" "$target"
    rm -rf -- "$tmp"
    echo "$pruned"
}

pinned_names() { # script -> project names of its PINS list
    awk '/^PINS=\$\(cat <<.EOF.$/ { p = 1; next } /^EOF$/ { p = 0 } p && NF { print $2 }' "$1"
}

refuse_overlap() { # other-script... : a held-out project must be pinned by none of them
    local other overlap
    for other in "$@"; do
        [[ -n "$(pinned_names "$SCRIPT_DIR/$other")" ]] || die "could not read the pins from $other"
        overlap="$(comm -12 <(pinned_names "$SCRIPT_DIR/$other" | sort -u) <(awk 'NF { print $2 }' <<<"$PINS" | sort -u))"
        [[ -z "$overlap" ]] || die "projects also pinned in $other: $(tr '\n' ' ' <<<"$overlap")"
    done
}

source_of() { # kind spec version
    case "$1" in
        pypi)   echo "pypi:$2 (sdist)" ;;
        npm)    echo "npm:$2" ;;
        crate)  echo "crates.io:$2@$3" ;;
        deb)    echo "debian-bookworm:${2%%;*} (.deb, usr/share/gocode/src)" ;;
        debsrc) echo "debian-pool:${2##*/} (upstream orig tarball)" ;;
    esac
}

corpus_main() {
    need sha256sum coreutils
    need tar tar
    need curl curl
    need awk awk
    local kinds
    kinds="$(awk 'NF { print $4 }' <<<"$PINS" | sort -u)"
    grep -qx pypi <<<"$kinds" && need pip "python3-pip"
    grep -qx npm <<<"$kinds" && need npm "nodejs/npm"
    grep -qx deb <<<"$kinds" && need dpkg-deb "dpkg"
    command -v xz >/dev/null 2>&1 || die "missing tool 'xz' (xz-utils), needed for .tar.xz"

    mkdir -p "$OUT"
    OUT="$(cd "$OUT" && pwd)"
    ARCH="$OUT/_archives"
    mkdir -p "$ARCH"
    rm -rf -- "$ARCH"/.dl.* "$OUT"/.x.*

    local manifest="$OUT/MANIFEST.tsv"
    local tmp_manifest="$OUT/.MANIFEST.tsv.tmp"
    printf 'project\tlanguage\tversion\tsource\tsha256\tfiles\tlines\tpruned_minified\tpath\n' > "$tmp_manifest"

    local lang name version kind spec archive sha
    while read -r lang name version kind spec archive sha; do
        [[ -n "$lang" ]] || continue
        download "$kind" "$spec" "$archive" "$sha" "$version"
        local target="$OUT/$lang/$name-$version"
        local pruned files lines
        pruned="$(extract "$lang" "$kind" "$archive" "$sha" "$target")"
        files="$(count_files "$lang" "$target")"
        lines="$(count_lines "$lang" "$target")"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$lang" "$version" \
            "$(source_of "$kind" "$spec" "$version")" "$sha" "$files" "$lines" "$pruned" \
            "$lang/$name-$version" >> "$tmp_manifest"
        log "$lang/$name-$version: $files files, $lines lines"
    done <<<"$PINS"
    mv -- "$tmp_manifest" "$manifest"

    # Human-readable manifest with per-language totals (= the big trees).
    {
        echo "# $CORPUS_TITLE"
        echo
        echo "Generated by $CORPUS_GENERATOR. Lines = \`wc -l\` over the language's"
        echo "source files (TypeScript excludes .d.ts; JS/TS trees pruned of minified files)."
        echo
        echo "| project | language | version | source | files | lines |"
        echo "| --- | --- | --- | --- | ---: | ---: |"
        awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $6, $7 }' "$manifest"
        echo
        echo "## Totals per language (each OUT/<language>/ directory is one tree)"
        echo
        echo "| language | projects | files | lines |"
        echo "| --- | ---: | ---: | ---: |"
        awk -F'\t' 'NR > 1 { p[$2]++; f[$2] += $6; l[$2] += $7 }
            END { for (k in p) printf "| %s | %d | %d | %d |\n", k, p[k], f[k], l[k] }' "$manifest" | sort
    } > "$OUT/MANIFEST.md"

    awk -F'\t' -v tag="$CORPUS_TAG" 'NR > 1 { l[$2] += $7; f[$2] += $6 }
        END { for (k in l) printf "[%s] total %-10s %8d files %9d lines  (%s/)\n", tag, k, f[k], l[k], k }' \
        "$manifest" | sort >&2
    log "manifest: $manifest"
}
