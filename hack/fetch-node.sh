#!/usr/bin/env bash
# Installs the pinned official Node.js binary for one platform from the npm registry into
# .tools/node-<platform>/, checking the tarball's integrity against hack/node-binaries.lock.
# No other download is needed: the npm registry carries Node's own release binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
platform=${1:-linux-x64}
version=$(cat .node-version)
dest=.tools/node-$platform
if [ -f "$dest/.version" ] && [ "$(cat "$dest/.version")" = "$version" ]; then exit 0; fi
read -r package integrity < <(awk -v p="$platform" '$1 == p { print $2, $3 }' hack/node-binaries.lock)
if [ -z "${package:-}" ]; then
  echo "fetch-node: no pinned Node.js binary for platform '$platform' in hack/node-binaries.lock" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
got=$(cd "$work" && npm pack --silent --json "$package@$version" | sed -n 's/.*"integrity": "\(.*\)".*/\1/p' | head -1)
if [ "$got" != "$integrity" ]; then
  echo "fetch-node: $package@$version integrity $got does not match the pinned $integrity" >&2
  exit 1
fi
tar -xzf "$work"/*.tgz -C "$work"
rm -rf "$dest" && mkdir -p "$dest"
cp -a "$work/package/." "$dest/"
echo "$version" > "$dest/.version"
echo "fetch-node: installed Node.js $version ($platform) in $dest"
