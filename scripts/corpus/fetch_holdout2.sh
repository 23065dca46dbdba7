#!/usr/bin/env bash
# Fetch a pinned SECOND held-out corpus: real open-source projects that are in
# neither the main corpus (scripts/corpus/fetch.sh) nor the first held-out
# corpus (scripts/corpus/fetch_holdout.sh).  Rule precision fixes were made
# after looking at the first held-out corpus, so it no longer is held out;
# this fresh set is for validating rule precision (security / performance
# findings) after those fixes.  Do not tune anything on it: once it has been
# used for tuning it is no longer held out (pin new projects then).
#
# Usage: scripts/corpus/fetch_holdout2.sh [OUT_DIR]
#        (default: <repo root>/.corpus-holdout2)
#
# Layout, sources, sha256 pinning, idempotence and JS/TS pruning of minified
# bundles are exactly those of fetch.sh (shared code in lib.sh):
#   OUT/_archives/<archive>              downloaded archives (sha256-checked)
#   OUT/<language>/<name>-<version>/     extracted source tree, one per project
#   OUT/MANIFEST.tsv, OUT/MANIFEST.md    per-project files/lines, totals
#
# The projects favour code where security and performance rules have
# something to look at: web frameworks, HTTP clients, database drivers and
# ORMs / query builders, auth and token code, parsers, archive handling.
#
# The script refuses to run if a project name here also appears in fetch.sh's
# or fetch_holdout.sh's pinned list.
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian),
#              CRATES_DL (default https://static.crates.io/crates).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
# shellcheck source=scripts/corpus/lib.sh
source "$SCRIPT_DIR/lib.sh"

OUT="${1:-$REPO_ROOT/.corpus-holdout2}"
CORPUS_TAG=corpus-holdout2
CORPUS_TITLE="Second held-out corpus manifest"
CORPUS_GENERATOR=scripts/corpus/fetch_holdout2.sh

# ---------------------------------------------------------------------------
# Pinned list, same columns and kinds as fetch.sh:
#   language  name  version  kind  spec  archive-file  sha256
# Cross-checks of the sha256 values: PyPI ones against the simple index's
# sha256 (PEP 691 JSON form); npm ones against the registry's sha512
# integrity; crates against the crates.io index cksum; Debian .debs against
# the bookworm Packages index (apt-cache show); Debian orig tarballs against
# the source package's .dsc (Checksums-Sha256).
# Not usable, at pinning time:
# - TypeScript: zod 3.23.8, typeorm 0.3.20, class-validator 0.14.1,
#   inversify 6.0.2 (also kysely, drizzle-orm, hono, fp-ts, io-ts, xstate,
#   valibot): their npm tarballs ship only compiled .js and .d.ts, no .ts
#   sources, so they would count 0 TypeScript lines.
# - Java: the orig tarballs of commons-dbcp2 2.9.0, libpgjava (PostgreSQL
#   JDBC) 42.5.5, xstream 1.4.20, jsch 0.1.55 and commons-fileupload 1.4 are
#   listed in their bookworm .dsc but the Debian pool answers 404 for them.
#   httpcomponents-core 4.4.16, mariadb-connector-java 2.7.6, okhttp 3.13.1
#   and commons-net 3.9.0 are fetchable but left out to keep the corpus
#   moderate (~1M lines in all).
# - Rust: bytes 1.6.0 is yanked; 1.6.1 is pinned instead.
# ---------------------------------------------------------------------------
PINS=$(cat <<'EOF'
python     werkzeug         3.0.3   pypi   werkzeug==3.0.3    werkzeug-3.0.3.tar.gz    097e5bfda9f0aba8da6b8545146def481d06aa7d3266e7448e2cccf67dd8bd18
python     paramiko         3.4.0   pypi   paramiko==3.4.0    paramiko-3.4.0.tar.gz    aac08f26a31dc4dffd92821527d1682d99d52f9ef6851968114a8728f3c274d3
python     marshmallow      3.21.3  pypi   marshmallow==3.21.3 marshmallow-3.21.3.tar.gz 4f57c5e050a54d66361e826f94fba213eb10b67b2fdb02c3e0343ce207ba1662
python     tqdm             4.66.4  pypi   tqdm==4.66.4       tqdm-4.66.4.tar.gz       e4d936c9de8727928f3be6079590e97d9abfe8d39a590be678eb5919ffc186bb
python     sqlparse         0.5.0   pypi   sqlparse==0.5.0    sqlparse-0.5.0.tar.gz    714d0a4932c059d16189f58ef5411ec2287a4360f17cdd0edd2d09d4c5087c93
python     pymysql          1.1.1   pypi   pymysql==1.1.1     pymysql-1.1.1.tar.gz     e127611aaf2b417403c60bf4dc570124aeb4a57f5f37b8e95ae399a42f904cd0
python     aiohttp          3.9.5   pypi   aiohttp==3.9.5     aiohttp-3.9.5.tar.gz     edea7d15772ceeb29db4aff55e482d4bcfb6ae160ce144f2682de02f6d693551
javascript koa              2.15.3  npm    koa@2.15.3         koa-2.15.3.tgz           23b9a334640c93f61306e1941dc87b6001b0273230482fb9138243de870727f1
javascript qs               6.12.1  npm    qs@6.12.1          qs-6.12.1.tgz            0cf6560b332a307017549049de7ddd4fb588b5a0542d65069de7557f415fc763
javascript underscore       1.13.6  npm    underscore@1.13.6  underscore-1.13.6.tgz    aef5a43ac7f903136a93e75a274e3a7b50de1a92277e1666457cabf62eeb0140
javascript socket.io        4.7.5   npm    socket.io@4.7.5    socket.io-4.7.5.tgz      3817abdc7db51caf844a869ec711a74aa27f58a7b90e2c390f9d34530ff5d6f1
javascript superagent       9.0.2   npm    superagent@9.0.2   superagent-9.0.2.tgz     7d001e0ec8e840d11b8a9b1858ff542c2a39e17355a6734e65ea8f6cdee8b8b4
javascript jsonwebtoken     9.0.2   npm    jsonwebtoken@9.0.2 jsonwebtoken-9.0.2.tgz   9af68fd915ca9555035e5f0f3b6061e2e887d3bf56f39433ae0aa107bc8dde85
javascript pg               8.12.0  npm    pg@8.12.0          pg-8.12.0.tgz            efe8e81151cfda21976366a64ce9bb202d55b5ee557210c066e5c5e330a67a62
javascript fastify          4.28.0  npm    fastify@4.28.0     fastify-4.28.0.tgz       268578d1480d56688aae36cb28372d133fd5db841b190c1ac1f45dc51b1b5f7c
javascript knex             3.1.0   npm    knex@3.1.0         knex-3.1.0.tgz           2bc4381e4c1d47673b30c2ed464e538bfd1976be1238bfb0085ae601e16157eb
javascript mongoose         8.4.3   npm    mongoose@8.4.3     mongoose-8.4.3.tgz       17d5fa7c1a624b485eae9749c958e0b8a555d3d9515ca959cf95f299527c7e32
javascript ejs              3.1.10  npm    ejs@3.1.10         ejs-3.1.10.tgz           990ad60970b439f79eba9cad9e58f039471ec003f57f4e06e6a9a3fdc9e4bb95
typescript mongodb          6.7.0   npm    mongodb@6.7.0              mongodb-6.7.0.tgz              857bdbadbccef73dc295974a11e7ec11b3110538ab8063a9d967a7527216730c
typescript auth-core        0.32.0  npm    @auth/core@0.32.0          auth-core-0.32.0.tgz           f49d57931d4bbce326d0ba22bdf33df985fd95da9fcdaf6fee284bc83e91e45f
typescript apollo-server    4.10.4  npm    @apollo/server@4.10.4      apollo-server-4.10.4.tgz       8fdc52e99ffabe20d2eea5de011f74e6c8cd05c9303e0190d6aabb6c8ac5ea7f
typescript openai           4.52.0  npm    openai@4.52.0              openai-4.52.0.tgz              60931570fd2c293a1201d8eb70d9c44a9c842d0aaf3334a2a706f6b160e10a6f
typescript tanstack-table-core 8.17.3 npm  @tanstack/table-core@8.17.3 tanstack-table-core-8.17.3.tgz 504fb5146147f4bac0141b169ee6977fee9bb39dffdbaa37b7e636fe5f9607c2
go         gorilla-websocket 1.5.0-2 deb   golang-github-gorilla-websocket-dev=1.5.0-2;pool/main/g/golang-github-gorilla-websocket/golang-github-gorilla-websocket-dev_1.5.0-2_all.deb golang-github-gorilla-websocket-dev_1.5.0-2_all.deb c43a1b15cf1446303e8683b3c877c04c88ea813c6b201876eac9388d60240ff1
go         go-sql-driver-mysql 1.5.0-2 deb golang-github-go-sql-driver-mysql-dev=1.5.0-2;pool/main/g/golang-github-go-sql-driver-mysql/golang-github-go-sql-driver-mysql-dev_1.5.0-2_all.deb golang-github-go-sql-driver-mysql-dev_1.5.0-2_all.deb d818005ba8ed8d3b0335f9f247bb21ab2a85ec5fb3adf0d227381d9249218565
go         urfave-cli-v2    2.3.0-2  deb   golang-github-urfave-cli-v2-dev=2.3.0-2;pool/main/g/golang-github-urfave-cli-v2/golang-github-urfave-cli-v2-dev_2.3.0-2_all.deb golang-github-urfave-cli-v2-dev_2.3.0-2_all.deb 13d2a5cdf924d4c161d2f75d173888fc4dd4b1d0e04f64418f915979c811aa53
go         viper            1.10.1-1 deb   golang-github-spf13-viper-dev=1.10.1-1;pool/main/g/golang-github-spf13-viper/golang-github-spf13-viper-dev_1.10.1-1_all.deb golang-github-spf13-viper-dev_1.10.1-1_all.deb 2506cd72663b1ea239207546697dc4151517813a9c87f606897b84c9e1d19e73
go         afero            1.9.3-1  deb   golang-github-spf13-afero-dev=1.9.3-1;pool/main/g/golang-github-spf13-afero/golang-github-spf13-afero-dev_1.9.3-1_all.deb golang-github-spf13-afero-dev_1.9.3-1_all.deb e36ecb5c458967c948654f5a906cdb435110bfffbdc3c30e6a4021c0ec05146b
go         lib-pq           1.10.7-2 deb   golang-github-lib-pq-dev=1.10.7-2;pool/main/g/golang-github-lib-pq/golang-github-lib-pq-dev_1.10.7-2_all.deb golang-github-lib-pq-dev_1.10.7-2_all.deb 7e29f15626e94138b8fdbde8359bf0c5a526f9e9b53b6cdbd8f5f154e1e3bd71
go         echo             4.2.1-3  deb   golang-github-labstack-echo-dev=4.2.1-3;pool/main/g/golang-github-labstack-echo/golang-github-labstack-echo-dev_4.2.1-3_all.deb golang-github-labstack-echo-dev_4.2.1-3_all.deb 3ec383b8cb239c415d9ab83b3e8871524931f6da13e75e41baf580b74b3599ef
go         chi              5.0.7-1  deb   golang-github-go-chi-chi-dev=5.0.7-1;pool/main/g/golang-github-go-chi-chi/golang-github-go-chi-chi-dev_5.0.7-1_all.deb golang-github-go-chi-chi-dev_5.0.7-1_all.deb 70beea5ca4f20af122e8083c91b56b6055df895595c7d9dcf286fadd4ad26f9b
go         golang-jwt       4.4.3-1  deb   golang-github-golang-jwt-jwt-dev=4.4.3-1;pool/main/g/golang-github-golang-jwt-jwt/golang-github-golang-jwt-jwt-dev_4.4.3-1_all.deb golang-github-golang-jwt-jwt-dev_4.4.3-1_all.deb dc7e6d73585a767cc6a277b9b5fd40a6c1f2d3f8d01c918d06e437acfb9c7b71
java       commons-compress 1.22    debsrc pool/main/libc/libcommons-compress-java/libcommons-compress-java_1.22.orig.tar.xz libcommons-compress-java_1.22.orig.tar.xz c0270188ea43f7af708ff384a6421597e2eee5d68db152b60ad6e682f0e88160
java       jackson-core     2.14.1  debsrc pool/main/j/jackson-core/jackson-core_2.14.1.orig.tar.xz                     jackson-core_2.14.1.orig.tar.xz            d9eb6aa1898c4d5a582c52e69da249efae25e4d2c809c57dc6b6ee01c4b0fb3b
java       httpclient       4.5.14  debsrc pool/main/h/httpcomponents-client/httpcomponents-client_4.5.14.orig.tar.xz httpcomponents-client_4.5.14.orig.tar.xz 659535b7ac7eb59e36435d1a24bc526b5f8d64d5c7d979165110ce2dfa54b1eb
java       commons-pool2    2.11.1  debsrc pool/main/c/commons-pool2/commons-pool2_2.11.1.orig.tar.xz                   commons-pool2_2.11.1.orig.tar.xz           16deaefe5bd9ec8f242b1836459f672a786382d1154971fc2488c65eb62ae36f
rust       serde_json       1.0.117 crate  serde_json    serde_json-1.0.117.crate   455182ea6142b14f93f4bc5320a2b31c1f266b66a4a5c858b013302a5d8cbfc3
rust       nom              7.1.3   crate  nom           nom-7.1.3.crate            d273983c5a657a70a3e8f2a01329822f3b8c8172b73826411a55751e404a0a4a
rust       bytes            1.6.1   crate  bytes         bytes-1.6.1.crate          a12916984aab3fa6e39d655a33e09c0071eb36d6ab3aea5c2d78551f1df6d952
rust       hyper            1.3.1   crate  hyper         hyper-1.3.1.crate          fe575dd17d0862a9a33781c8c4696a55c320909004a67a00fb286ba8b1bc496d
rust       reqwest          0.12.4  crate  reqwest       reqwest-0.12.4.crate       566cafdd92868e0939d3fb961bd0dc25fcfaaed179291093b3d43e6b3150ea10
rust       url              2.5.0   crate  url           url-2.5.0.crate            31e6302e3bb753d46e83516cae55ae196fc0c309407cf11ab35cc51a4c2a4633
EOF
)

# Guard: a project here must be one neither the main corpus nor the first
# held-out corpus pins (by name).
refuse_overlap fetch.sh fetch_holdout.sh

corpus_main
