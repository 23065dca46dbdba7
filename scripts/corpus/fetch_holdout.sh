#!/usr/bin/env bash
# Fetch a pinned HELD-OUT corpus: real open-source projects that are NOT in
# the main corpus (scripts/corpus/fetch.sh).  Rules and metric fixes were
# tuned on the main corpus; this one is for honest validation of qa-agent
# against radon / lizard / complexipy.  Do not tune anything on it: once it
# has been used for tuning it is no longer held out (pin new projects then).
#
# Usage: scripts/corpus/fetch_holdout.sh [OUT_DIR]
#        (default: <repo root>/.corpus-holdout)
#
# Layout, sources, sha256 pinning, idempotence and JS/TS pruning of minified
# bundles are exactly those of fetch.sh (shared code in lib.sh):
#   OUT/_archives/<archive>              downloaded archives (sha256-checked)
#   OUT/<language>/<name>-<version>/     extracted source tree, one per project
#   OUT/MANIFEST.tsv, OUT/MANIFEST.md    per-project files/lines, totals
#
# The script refuses to run if a project name here also appears in fetch.sh's
# pinned list.
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian),
#              CRATES_DL (default https://static.crates.io/crates).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
# shellcheck source=scripts/corpus/lib.sh
source "$SCRIPT_DIR/lib.sh"

OUT="${1:-$REPO_ROOT/.corpus-holdout}"
CORPUS_TAG=corpus-holdout
CORPUS_TITLE="Held-out corpus manifest"
CORPUS_GENERATOR=scripts/corpus/fetch_holdout.sh

# ---------------------------------------------------------------------------
# Pinned list, same columns and kinds as fetch.sh:
#   language  name  version  kind  spec  archive-file  sha256
# Cross-checks of the sha256 values: PyPI ones against the simple index's
# sha256 (PEP 691 JSON form); npm ones against the registry's sha512
# integrity; crates against the crates.io index cksum; Debian .debs against
# the bookworm Packages index (apt-cache show); Debian orig tarballs against
# the source package's .dsc (Checksums-Sha256).
# Not usable for Java: the orig tarballs of commons-text 1.10.0, gson 2.10,
# commons-cli 1.5.0 and snakeyaml 1.33 are listed in their bookworm .dsc but
# the Debian pool answers 404 for them (from here, at pinning time).
# ---------------------------------------------------------------------------
PINS=$(cat <<'EOF'
python     click            8.1.7   pypi   click==8.1.7      click-8.1.7.tar.gz     ca9853ad459e787e2192211578cc907e7594e294c7ccc834310722b41b9ca6de
python     jinja2           3.1.4   pypi   jinja2==3.1.4     jinja2-3.1.4.tar.gz    4a3aee7acbbe7303aede8e9648d13b8bf88a429282aa6122a993f0ac800cb369
python     httpx            0.27.0  pypi   httpx==0.27.0     httpx-0.27.0.tar.gz    a0cb88a46f32dc874e04ee956e4c2764aba2aa228f650b06788ba6bda2962ab5
python     pytest           8.2.2   pypi   pytest==8.2.2     pytest-8.2.2.tar.gz    de4bb8104e201939ccdc688b27a89a7be2079b22e2bd2b07f806b6ba71117977
python     black            24.4.2  pypi   black==24.4.2     black-24.4.2.tar.gz    c872b53057f000085da66a19c55d68f6f8ddcac2642392ad3a355878406fbd4d
javascript commander        12.1.0  npm    commander@12.1.0  commander-12.1.0.tgz   56affc6ddafe486f94b428ae2823d059cf60d4dae2f33eaaf1b1ec4306f73173
javascript yargs            17.7.2  npm    yargs@17.7.2      yargs-17.7.2.tgz       48ec935f10b5d760620a2670fcb2e237a7dee58a1bd4a53f1908dd7dcb83aec9
javascript ws               8.17.1  npm    ws@8.17.1         ws-8.17.1.tgz          6e3bcca5e670f05232f8d86abdfe5c3accfc910fbf422a1ed941fe9567e393d3
javascript chalk            4.1.2   npm    chalk@4.1.2       chalk-4.1.2.tgz        e84c643aa53e87ace6c3d368b3cddda24a2d1434a06b6dfbdb628ad2107df90a
javascript body-parser      1.20.2  npm    body-parser@1.20.2 body-parser-1.20.2.tgz 56ec7e456b9e7089490b946059299016ba9991571d8a4605b0fbbf72dbabdca9
javascript async            3.2.5   npm    async@3.2.5       async-3.2.5.tgz        268a4ca47d74e00bd263b77f577b651edb09c4ce24583eeb482821aee588ee79
javascript uglify-js        3.18.0  npm    uglify-js@3.18.0  uglify-js-3.18.0.tgz   e104647824ae09ec17591bc08f0bab9c24b38939e086edc2d92d88a579c2ddfc
javascript mocha            10.4.0  npm    mocha@10.4.0      mocha-10.4.0.tgz       5ef96e68a72e6ac5f36ecd3f3ef89b88668f8f4f151a565c399f0f07cb516a4c
typescript effect           3.3.2   npm    effect@3.3.2               effect-3.3.2.tgz               e18f576e7560da57947c23065c898d2473588ac4496aaf10b8b6194087160f96
typescript ajv              8.16.0  npm    ajv@8.16.0                 ajv-8.16.0.tgz                 e16e63cca4da3ad832f6ed6a2b2b48bb721a5dc826bbecbdfb897e7806343a69
typescript trpc-server      10.45.2 npm    @trpc/server@10.45.2       trpc-server-10.45.2.tgz        7b861ef0a4410e1f988645c29a7680be8c860b459136716e3b91941c0fd1783e
typescript chevrotain       11.0.3  npm    chevrotain@11.0.3          chevrotain-11.0.3.tgz          53f0981a4592d346ab75003250a67066a8ce8c1f8973dfd52fce5517f82c4be1
typescript prosemirror-view 1.33.8  npm    prosemirror-view@1.33.8    prosemirror-view-1.33.8.tgz    81013d1b1fc0a4f564c92daf7e6d665e3740bfec062a3a9fcec9b4ac2df3db73
go         logrus           1.9.0-1  deb   golang-github-sirupsen-logrus-dev=1.9.0-1;pool/main/g/golang-logrus/golang-github-sirupsen-logrus-dev_1.9.0-1_all.deb golang-github-sirupsen-logrus-dev_1.9.0-1_all.deb 51fb87b05452e96be38b97c03d5f997f6ce3a144421f911338d6c4ea2e8aa118
go         pflag            1.0.6~git20210604-d5e0c0615ace-1 deb golang-github-spf13-pflag-dev=1.0.6~git20210604-d5e0c0615ace-1;pool/main/g/golang-github-spf13-pflag/golang-github-spf13-pflag-dev_1.0.6~git20210604-d5e0c0615ace-1_all.deb golang-github-spf13-pflag-dev_1.0.6~git20210604-d5e0c0615ace-1_all.deb bd1c3c2a3e47512a64da02ebea900eb5a3f3c5d386e559d5718a3a935c0ea570
go         google-uuid      1.3.0-1  deb   golang-github-google-uuid-dev=1.3.0-1;pool/main/g/golang-github-google-uuid/golang-github-google-uuid-dev_1.3.0-1_all.deb golang-github-google-uuid-dev_1.3.0-1_all.deb f79ead959ee04842fcb410347e7023a3c4c357c17f77b9bb13cff30ef4353351
go         pkg-errors       0.9.1-2  deb   golang-github-pkg-errors-dev=0.9.1-2;pool/main/g/golang-github-pkg-errors/golang-github-pkg-errors-dev_0.9.1-2_all.deb golang-github-pkg-errors-dev_0.9.1-2_all.deb 87227544904795f81d8c660b7854045a1ef78d5c690993bb4a0c43e05104ca64
go         yaml-v3          3.0.1-3  deb   golang-gopkg-yaml.v3-dev=3.0.1-3;pool/main/g/golang-gopkg-yaml.v3/golang-gopkg-yaml.v3-dev_3.0.1-3_all.deb golang-gopkg-yaml.v3-dev_3.0.1-3_all.deb 3ad4febd49700bc670f0f143f3291ecab4e032cc227d69521bacadbc493cfbbe
go         go-cmp           0.5.9-1  deb   golang-github-google-go-cmp-dev=0.5.9-1;pool/main/g/golang-github-google-go-cmp/golang-github-google-go-cmp-dev_0.5.9-1_all.deb golang-github-google-go-cmp-dev_0.5.9-1_all.deb b68bd919daa7c1bdf02abfb68894e29e532f19b03b68c8615f50626c48f553b6
go         burntsushi-toml  1.2.0-2  deb   golang-github-burntsushi-toml-dev=1.2.0-2;pool/main/g/golang-toml/golang-github-burntsushi-toml-dev_1.2.0-2_all.deb golang-github-burntsushi-toml-dev_1.2.0-2_all.deb eb0bc9f96d02b33034311604f787ca7ab071de026c9abdffa6ae40a63362f7b8
go         miekg-dns        1.1.50-2 deb   golang-github-miekg-dns-dev=1.1.50-2;pool/main/g/golang-github-miekg-dns/golang-github-miekg-dns-dev_1.1.50-2_all.deb golang-github-miekg-dns-dev_1.1.50-2_all.deb a722f465c3035661d4d6f0e67f11824c9f8d90e478bde7e458e3cce49cac4c01
java       commons-collections4 4.2 debsrc pool/main/libc/libcommons-collections4-java/libcommons-collections4-java_4.2.orig.tar.xz libcommons-collections4-java_4.2.orig.tar.xz e6b25f22128d2b5e6181d9736f313103e079366013f853061aba16e8d4feb729
java       joda-time        2.10.14 debsrc pool/main/libj/libjoda-time-java/libjoda-time-java_2.10.14.orig.tar.xz libjoda-time-java_2.10.14.orig.tar.xz 600ab9a000b7c8ab4cb24e0fbd5c5ee6c4be46b97c55f90004df3cd1c56bd0b5
java       jsoup            1.15.3  debsrc pool/main/j/jsoup/jsoup_1.15.3.orig.tar.xz                                 jsoup_1.15.3.orig.tar.xz                   052511f0be47511f9b2a17d44fc1eccc4b5373e77cc5a3221e34b6af437e1e2e
java       mockito          2.23.0  debsrc pool/main/m/mockito/mockito_2.23.0.orig.tar.xz                             mockito_2.23.0.orig.tar.xz                 b9f76525f44797e0f63a24ecaf8e0574868cce1c5a4a3d1d712e050418d3c5dd
java       jcommander       1.71    debsrc pool/main/j/jcommander/jcommander_1.71.orig.tar.xz                         jcommander_1.71.orig.tar.xz                76042dd8287e3feaae3693967aecc59dcb84475546b3dc87741c4ea3e0516071
java       commons-codec    1.15    debsrc pool/main/libc/libcommons-codec-java/libcommons-codec-java_1.15.orig.tar.xz libcommons-codec-java_1.15.orig.tar.xz  857c58c23bfe6b284b174d89f323de438042ce9a005b2a81afa658962caff90f
rust       anyhow           1.0.86  crate  anyhow        anyhow-1.0.86.crate        b3d1d046238990b9cf5bcde22a3fb3584ee5cf65fb2765f454ed428c7a0063da
rust       itertools        0.13.0  crate  itertools     itertools-0.13.0.crate     413ee7dfc52ee1a4949ceeb7dbc8a33f2d6c088194d9f922fb8318faf1f01186
rust       rayon            1.10.0  crate  rayon         rayon-1.10.0.crate         b418a60154510ca1a002a752ca9714984e21e4241e804d32555251faf8b78ffa
rust       hashbrown        0.14.5  crate  hashbrown     hashbrown-0.14.5.crate     e5274423e17b7c9fc20b6e7e208532f9b19825d82dfd615708b70edd83df41f1
rust       indexmap         2.2.6   crate  indexmap      indexmap-2.2.6.crate       168fb715dda47215e360912c096649d23d58bf392ac62f73919e831745e40f26
rust       memchr           2.7.4   crate  memchr        memchr-2.7.4.crate         78ca9ab1a0babb1e7d5695e3530886289c18cf2f87ec19a575a0abdce112e3a3
EOF
)

# Guard: a held-out project must not be one the main corpus pins (by name).
refuse_overlap fetch.sh

corpus_main
