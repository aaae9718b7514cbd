#!/usr/bin/env bash
# Builds Sekisho's offline release artefact: ONE signed file that `sekisho upgrade FILE` installs on
# a controller without internet (docs/operations.md, "Upgrades"). For maintainers, from a checkout:
#
#   scripts/release.sh --key release-key.pem --out DIR [--version V] [--node-modules DIR] [--node PATH]
#
# What it holds: the sources the build stamp covers, bin/, scripts/, config/, docs/, the package
# files, dist/ built from them, and the production node_modules (npm ci --omit=dev) — native modules
# included, built for THIS machine. So an artefact is made for one architecture and one Node.js ABI,
# and its manifest says which (e.g. sekisho-1.2.0-linux-arm64-node137.sekisho-release); `sekisho
# upgrade` refuses another. Build the arm64 artefact on an arm64 machine (a spare Pi, or an arm64
# builder) with the same Node.js major line as the controllers; `sekisho release` also refuses a
# compiled native module (.node) for another architecture than the one it runs on.
#
# The manifest (version, journal schema version, platform, arch, Node.js ABI, every file's size,
# mode and SHA-256) is signed with Ed25519 by the release key (--key: a PEM private key, made once
# with `openssl genpkey -algorithm ed25519 -out release-key.pem`; its public half, from
# `openssl pkey -in release-key.pem -pubout`, is what controllers pin in upgrade.releaseKey).
# Who holds the private key: docs/roles.md ("Credentials").
#
# Options:
#   --key PEM           the release signing key (required)
#   --out DIR|FILE      where to write the artefact (a folder, or a file name ending .sekisho-release)
#   --version V         stamp this version instead of package.json's (e.g. a release candidate 1.3.0-rc.1)
#   --node-modules DIR  take the production packages from this node_modules instead of running npm ci
#                       (offline; only packages package-lock.json lists for production are copied)
#   --node PATH         the Node.js to build and sign with (default: the `node` on PATH); its ABI is
#                       the artefact's
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEY=""
OUT=""
VERSION=""
MODULES=""
NODE=""

die() { printf 'release.sh: %s\n' "$*" >&2; exit 2; }
say() { printf 'release.sh: %s\n' "$*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --key) [ $# -ge 2 ] || die "--key needs a file"; KEY="$2"; shift ;;
    --out) [ $# -ge 2 ] || die "--out needs a folder or file"; OUT="$2"; shift ;;
    --version) [ $# -ge 2 ] || die "--version needs a version"; VERSION="$2"; shift ;;
    --node-modules) [ $# -ge 2 ] || die "--node-modules needs a folder"; MODULES="$(cd "$2" && pwd)"; shift ;;
    --node) [ $# -ge 2 ] || die "--node needs a path"; NODE="$2"; shift ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
[ -n "$KEY" ] || die "--key PEM is required (the release signing key)"
[ -r "$KEY" ] || die "cannot read $KEY"
[ -n "$OUT" ] || die "--out DIR|FILE is required"
KEY="$(cd "$(dirname "$KEY")" && pwd)/$(basename "$KEY")"
[ -n "$NODE" ] || NODE="$(command -v node || true)"
[ -x "$NODE" ] || die "no Node.js found (--node PATH)"
NPM="$(dirname "$NODE")/npm"
[ -x "$NPM" ] || NPM="$(command -v npm || echo npm)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sekisho-release.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
STAGE="$WORK/sekisho"
mkdir -p "$STAGE"
# The same set scripts/install.sh installs: never tests/, never a dist/ from the checkout.
for item in bin scripts controller dashboards firmware-bridge hardware config docs package.json package-lock.json \
  tsconfig.json README.md LICENSE; do
  [ -e "$SRC/$item" ] && cp -R "$SRC/$item" "$STAGE/"
done
[ -f "$STAGE/bin/sekisho-dist.mjs" ] || die "$SRC does not look like a Sekisho checkout"

if [ -n "$VERSION" ]; then
  "$NODE" -e '
    const fs = require("node:fs"); const [file, v] = process.argv.slice(1);
    if (!/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(v)) { console.error(`release.sh: bad --version ${v}`); process.exit(2); }
    const p = JSON.parse(fs.readFileSync(file, "utf8")); p.version = v;
    fs.writeFileSync(file, JSON.stringify(p, null, 2) + "\n");' "$STAGE/package.json" "$VERSION"
fi

if [ -n "$MODULES" ]; then
  # The production packages of package-lock.json, as installed in $MODULES (natives already built).
  "$NODE" -e '
    const fs = require("node:fs"); const path = require("node:path");
    const [stage, from] = process.argv.slice(1);
    const lock = JSON.parse(fs.readFileSync(path.join(stage, "package-lock.json"), "utf8"));
    let n = 0;
    for (const [p, e] of Object.entries(lock.packages)) {
      if (!p.startsWith("node_modules/") || e.dev || e.link) continue;
      const src = path.join(from, p.slice("node_modules/".length));
      if (!fs.existsSync(src)) {
        if (e.optional) continue; // another platform'"'"'s optional package
        console.error(`release.sh: ${src} is missing (npm ci first)`); process.exit(1);
      }
      fs.cpSync(src, path.join(stage, p), { recursive: true, dereference: true,
        filter: (s) => s === src || !/[\\/](node_modules|\.bin)$/.test(s.slice(src.length)) });
      n++;
    }
    console.log(`release.sh: copied ${n} production packages from ${from}`);' "$STAGE" "$MODULES"
else
  (cd "$STAGE" && "$NPM" ci --omit=dev --no-audit --no-fund)
fi
(cd "$STAGE" && "$NODE" scripts/build.mjs)
# What only a rebuild of the native modules needs (compiler objects, vendored C sources) stays out:
# a package's build/ keeps its compiled *.node files alone.
find "$STAGE/node_modules" -type d -name build -path '*/node_modules/*' -prune -print | while read -r b; do
  [ -f "$(dirname "$b")/binding.gyp" ] || continue
  find "$b" -mindepth 1 \( -type f ! -name '*.node' -o -type d -name 'obj.target' \) -prune -exec rm -rf {} +
  find "$b" -type f -name 'test_*.node' -delete
  find "$b" -depth -type d -empty -delete
done
rm -rf "$STAGE/node_modules/better-sqlite3/deps" "$STAGE/node_modules/better-sqlite3/src"

V="$("$NODE" -p 'require(process.argv[1]).version' "$STAGE/package.json")"
NAME="sekisho-$V-$("$NODE" -p 'process.platform + "-" + process.arch + "-node" + process.versions.modules')"
case "$OUT" in
  *.sekisho-release) FILE="$OUT" ;;
  *) mkdir -p "$OUT"; FILE="$OUT/$NAME.sekisho-release" ;;
esac
"$NODE" "$STAGE/bin/sekisho-dist.mjs" release --tree "$STAGE" --key "$KEY" --out "$FILE"
say "wrote $FILE"
