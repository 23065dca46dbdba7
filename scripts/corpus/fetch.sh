#!/usr/bin/env bash
# Fetch a pinned corpus of real open-source source trees (code we did not
# write) for comparing qa-agent's per-function complexity with peer tools
# (radon, lizard, complexipy) and for speed measurements.
#
# Usage: scripts/corpus/fetch.sh [OUT_DIR]      (default: <repo root>/.corpus)
#
# Layout produced:
#   OUT/_archives/<archive>              downloaded archives (sha256-checked)
#   OUT/<language>/<name>-<version>/     extracted source tree, one per project
#   OUT/MANIFEST.tsv                     project, language, version, source,
#                                        sha256, files, lines (per project)
#   OUT/MANIFEST.md                      the same plus per-language totals
#
# Each language directory is also a "big tree": OUT/python (~1.27M lines of .py,
# django + sympy alone are ~1.21M) is the Python speed corpus and
# OUT/javascript (~0.75M lines of non-minified .js) is the JavaScript one.
#
# Sources (only package registries are reachable): PyPI sdists (pip download),
# npm tarballs (npm pack), crates from static.crates.io, Go -dev .debs from
# Debian (apt-get download, extracted with dpkg-deb -x, never installed) and
# upstream Java source tarballs (*.orig.tar.*) from the Debian archive pool.
#
# Idempotent: archives already present with the right sha256 are not fetched
# again, trees already extracted from the same archive are not re-extracted.
# Any sha256 mismatch is fatal.
#
# JS/TS trees are pruned of minified/generated bundles after extraction:
# files named *.min.{js,mjs,cjs} and .js/.mjs/.cjs files whose average line
# length exceeds 300 characters (emscripten output, inlined data, generated
# validators). The number pruned is recorded in the manifest.
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian),
#              CRATES_DL (default https://static.crates.io/crates).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
# Functions (download, verify, extract, count, manifests) are shared with
# fetch_holdout.sh.
# shellcheck source=scripts/corpus/lib.sh
source "$SCRIPT_DIR/lib.sh"

OUT="${1:-$REPO_ROOT/.corpus}"
CORPUS_TAG=corpus
CORPUS_TITLE="Corpus manifest"
CORPUS_GENERATOR=scripts/corpus/fetch.sh

# ---------------------------------------------------------------------------
# Pinned list.  Columns (whitespace separated):
#   language  name  version  kind  spec  archive-file  sha256
# kind:
#   pypi    spec = pip requirement (NAME==VER), sdist only
#   npm     spec = npm package spec (NAME@VER)
#   crate   spec = crate name (file from $CRATES_DL/NAME/NAME-VER.crate)
#   deb     spec = PKG=DEBVERSION;pool-path  (apt-get download, pool fallback)
#   debsrc  spec = pool path of an upstream *.orig.tar.* in the Debian archive
# sha256 values of the Debian files match the archive's signed metadata
# (Packages / .dsc); npm ones were cross-checked against the registry's shasum.
# ---------------------------------------------------------------------------
PINS=$(cat <<'EOF'
python     django           5.0.6   pypi   django==5.0.6     Django-5.0.6.tar.gz    ff1b61005004e476e0aeea47c7f79b85864c70124030e95146315396f1e7951f
python     sympy            1.13.3  pypi   sympy==1.13.3     sympy-1.13.3.tar.gz    b27fd2c6530e0ab39e275fc9b683895367e51d5da91baa8d3d64db2565fec4d9
python     requests         2.32.3  pypi   requests==2.32.3  requests-2.32.3.tar.gz 55365417734eb18255590a9ff9eb97e9e1da868d4ccd6402399eaf68af20a760
python     flask            3.0.3   pypi   flask==3.0.3      flask-3.0.3.tar.gz     ceb27b0af3823ea2737928a4d99d125a06175b8512c445cbd9a9ce200ef76842
python     rich             13.7.1  pypi   rich==13.7.1      rich-13.7.1.tar.gz     9be308cb1fe2f1f57d67ce99e95af38a1e2bc71ad9813b0e247cf7ffbcc3a432
python     attrs            23.2.0  pypi   attrs==23.2.0     attrs-23.2.0.tar.gz    935dc3b529c262f6cf76e50877d35a4bd3c1de194fd41f47a2b7ae8f19971f30
javascript express          4.19.2  npm    express@4.19.2    express-4.19.2.tgz     1b18c90e7e9fc4cb3e4dfe6b5f11c21b85509162e88ca5c6b63b9c6b5ca085bf
javascript lodash           4.17.21 npm    lodash@4.17.21    lodash-4.17.21.tgz     6a087ac9e5702a0c9d60fbcd48696012646ec8df1491dea472b150e79fcaf804
javascript axios            1.7.2   npm    axios@1.7.2       axios-1.7.2.tgz        ee0d6056e1ea34aef4979f1b68c64fb978d4f8f667cdc985d739ea70caeb6ba6
javascript moment           2.30.1  npm    moment@2.30.1     moment-2.30.1.tgz      52219a9fee5e1faade4c72536c173c54cedd5e2619272dd0c251a30aeafcde8c
javascript eslint           9.5.0   npm    eslint@9.5.0      eslint-9.5.0.tgz       545fc9401837001f9c7e215220e4b4a2b24471411fc02a06a9fee14709af2079
javascript webpack          5.92.0  npm    webpack@5.92.0    webpack-5.92.0.tgz     095b6472d1da5bf13efd43a755298e0d348e062468e004799e89b7e449b4585d
javascript three            0.165.0 npm    three@0.165.0     three-0.165.0.tgz      fbe58b074968955ac2089b0cd70acd7dd9f3992e137760cb56541c2dbeae9952
typescript rxjs             7.8.1   npm    rxjs@7.8.1                 rxjs-7.8.1.tgz                 c532167725ab7d085123209156c93cef22f2479cb9c8527060f1cd903aa9d149
typescript reduxjs-toolkit  2.2.5   npm    @reduxjs/toolkit@2.2.5     reduxjs-toolkit-2.2.5.tgz      e3b8012017dde310250856ee6833a90923fb88bc06f33b8a07e57db3f9549a00
typescript tanstack-query-core 5.45.0 npm  @tanstack/query-core@5.45.0 tanstack-query-core-5.45.0.tgz d65eff3f331699821f187937672d53bfc31d4d9064115f53b4f2b82585145e91
typescript tanstack-react-query 5.45.0 npm @tanstack/react-query@5.45.0 tanstack-react-query-5.45.0.tgz 16e6edecb46b072771e003c6e9bc39f60ede5040537ba4f1dc82676069914623
typescript mobx             6.12.4  npm    mobx@6.12.4                mobx-6.12.4.tgz                4d523350e04c8f40a95ae17eb276cb88b87f0f4839732cea57280d6bc59fbb3e
typescript immer            10.1.1  npm    immer@10.1.1               immer-10.1.1.tgz               946cc79684ad1e080b09d4f2da14247b272aa667f3aaa100f35846148689f08f
go         cobra            1.6.1-1  deb   golang-github-spf13-cobra-dev=1.6.1-1;pool/main/g/golang-github-spf13-cobra/golang-github-spf13-cobra-dev_1.6.1-1_all.deb golang-github-spf13-cobra-dev_1.6.1-1_all.deb 4f5d20855133319beef3c5b49d3c21a0406f270bf94fb4b6f4d406b691283cb2
go         gorilla-mux      1.8.0-1  deb   golang-github-gorilla-mux-dev=1.8.0-1;pool/main/g/golang-github-gorilla-mux/golang-github-gorilla-mux-dev_1.8.0-1_all.deb golang-github-gorilla-mux-dev_1.8.0-1_all.deb 0880a4019fe68496a0e0a749c2948c029e489f49edd448bed2fedaba33f848c2
go         gin              1.8.1-1  deb   golang-github-gin-gonic-gin-dev=1.8.1-1;pool/main/g/golang-github-gin-gonic-gin/golang-github-gin-gonic-gin-dev_1.8.1-1_all.deb golang-github-gin-gonic-gin-dev_1.8.1-1_all.deb 66d916769bcd36a6722b0c92a81719b8faca56f69662b17d1ef7ba257c85367a
go         prometheus-client-golang 1.14.0-3 deb golang-github-prometheus-client-golang-dev=1.14.0-3;pool/main/g/golang-github-prometheus-client-golang/golang-github-prometheus-client-golang-dev_1.14.0-3_all.deb golang-github-prometheus-client-golang-dev_1.14.0-3_all.deb b95081bf869abc26d70ba2a1dfd9d0ac6675b6ac95c9ffa6e25971ee862e7016
go         testify          1.8.1-1  deb   golang-github-stretchr-testify-dev=1.8.1-1;pool/main/g/golang-testify/golang-github-stretchr-testify-dev_1.8.1-1_all.deb golang-github-stretchr-testify-dev_1.8.1-1_all.deb 214a31391cf60e1d1abd9f218cb5134a1fd646340a147a04c2d95a981024a305
java       commons-lang3    3.12.0  debsrc pool/main/libc/libcommons-lang3-java/libcommons-lang3-java_3.12.0.orig.tar.xz libcommons-lang3-java_3.12.0.orig.tar.xz f7c22574707611b63bae19ff17f59e24cdd32e2b0e61a50ec9b1b525fbc909d1
java       commons-io       2.11.0  debsrc pool/main/c/commons-io/commons-io_2.11.0.orig.tar.gz                      commons-io_2.11.0.orig.tar.gz              5a55361cf2b97228f94b3c65e3a4af784581debe322be551c44b2776db1c6483
java       junit4           4.13.2  debsrc pool/main/j/junit4/junit4_4.13.2.orig.tar.xz                              junit4_4.13.2.orig.tar.xz                  8cb9e6cd3c1188e93ce6ed56df12f8dab9db379256386973dbc61690ad184c60
java       jackson-databind 2.14.0  debsrc pool/main/j/jackson-databind/jackson-databind_2.14.0.orig.tar.xz      jackson-databind_2.14.0.orig.tar.xz        ec086218027c3ecf235fcda042bf04d87b4178ee225f0633f062cd20e64f74a9
java       guava            31.1    debsrc pool/main/g/guava-libraries/guava-libraries_31.1.orig.tar.xz          guava-libraries_31.1.orig.tar.xz           3dbb56b34e5ebd1b97184f72d31fbf9da24cc26c28f1ad3714aeeefdeedaed2a
rust       regex            1.10.5  crate  regex         regex-1.10.5.crate         b91213439dad192326a0d7c6ee3955910425f441d7038e0d6933b0aec5c4517f
rust       serde            1.0.203 crate  serde         serde-1.0.203.crate        7253ab4de971e72fb7be983802300c30b5a7f0c2e56fab8abfc6a214307c0094
rust       tokio            1.38.0  crate  tokio         tokio-1.38.0.crate         ba4f4a02a7a80d6f274636f0aa95c7e383b912d41fe721a31f29e29698585a4a
rust       syn              2.0.66  crate  syn           syn-2.0.66.crate           c42f3f41a2de00b01c0aaad383c5a45241efc8b2d1eda5661812fda5f3cdcff5
rust       clap_builder     4.5.7   crate  clap_builder  clap_builder-4.5.7.crate   f7e204572485eb3fbf28f871612191521df159bc3e15a9f5064c66dba3a8c05f
EOF
)

corpus_main
