#!/usr/bin/env bash
# Runs the test suite (or another npm script) on another Node.js release than the machine's:
#   scripts/test-on-node.sh 24.22.3                  npm test on Node.js 24.22.3
#   scripts/test-on-node.sh 26.12.1 run bench -- --quick
# The runtime comes from the npm registry (scripts/node-runtime.sh). The work tree (tracked and
# untracked files, not the ignored ones) is copied to tmp/node-VERSION/, where `npm ci` installs the
# same package-lock.json and builds the native modules (better-sqlite3, serialport's bindings, epoll)
# against that runtime's headers; the copy's node_modules is kept while package-lock.json is unchanged.
# Needs what `scripts/setup.sh --test` installs (compilers, mosquitto, socat, chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

version="${1:-}"
shift || true
runtime="$(bash scripts/node-runtime.sh "$version")"
work="$PWD/tmp/node-$version"
mkdir -p "$work"

# A fresh copy of the sources each time; node_modules and the copy's own ignored files stay.
find "$work" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
git ls-files -z --cached --others --exclude-standard |
  tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$work"

export PATH="$runtime/bin:$PATH"
export npm_config_nodedir="$runtime"
cd "$work"
echo "test-on-node.sh: Node.js $(node -p 'process.versions.node') in $work"
if [ ! -d node_modules ] || ! cmp -s package-lock.json node_modules/.sekisho-lock; then
  rm -rf node_modules
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.sekisho-lock
fi
npm run build --silent
if [ "$#" -eq 0 ]; then set -- test; fi
npm "$@"
