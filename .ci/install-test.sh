#!/usr/bin/env bash
# Installs the packed main package and linux-x64-gnu package (dist/, from `scripts/release.js`)
# into fresh projects the way a user would, with no Rust toolchain on PATH, once with install
# scripts and once with --ignore-scripts, and runs scripts/smoke.mjs and the CLI there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(node -p "require('$root/package.json').version")
main="$root/dist/async-shape-$version.tgz"
platform="$root/dist/async-shape-linux-x64-gnu-$version.tgz"
for f in "$main" "$platform"; do [ -f "$f" ] || { echo "install-test: $f is missing" >&2; exit 1; }; done

# PATH without any folder that holds cargo or rustc.
nocargo=
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -e "$d/cargo" ] || [ -e "$d/rustc" ] || nocargo="${nocargo:+$nocargo:}$d"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for mode in scripts ignore-scripts; do
  proj="$tmp/$mode"
  mkdir -p "$proj"
  cd "$proj"
  echo '{"name": "user-project", "private": true}' > package.json
  flags=(--no-audit --no-fund)
  [ "$mode" = ignore-scripts ] && flags+=(--ignore-scripts)
  echo "== install-test ($mode): npm install ${flags[*]} the two tarballs, cargo not on PATH"
  env PATH="$nocargo" sh -c '! command -v cargo >/dev/null && ! command -v rustc >/dev/null' ||
    { echo "install-test: cargo is still on PATH" >&2; exit 1; }
  # The other platforms' optional packages are not published: npm skips them (404 or os/cpu mismatch).
  env PATH="$nocargo" npm install "${flags[@]}" "$main" "$platform" 2>&1 | grep -v '^npm warn' || true
  [ -d node_modules/async-shape ] && [ -f node_modules/async-shape-linux-x64-gnu/async-shape.linux-x64-gnu.node ] ||
    { echo "install-test: the packages did not install" >&2; exit 1; }

  leftovers=$(find node_modules/async-shape node_modules/async-shape-linux-x64-gnu \
    \( -name target -o -name '*.rs' -o -name Cargo.toml -o -name build.rs \) -print)
  [ -z "$leftovers" ] || { echo "install-test: Rust build files in the install: $leftovers" >&2; exit 1; }
  du -sh node_modules/async-shape node_modules/async-shape-linux-x64-gnu

  cp "$root/scripts/smoke.mjs" .
  env PATH="$nocargo" node smoke.mjs | tee smoke.out
  grep -q "node_modules/async-shape-linux-x64-gnu/async-shape.linux-x64-gnu.node" smoke.out ||
    { echo "install-test: the addon did not come from the platform package" >&2; exit 1; }
  got=$(env PATH="$nocargo" npx --no-install async-shape --version)
  [ "$got" = "$version" ] || { echo "install-test: async-shape --version printed '$got', not $version" >&2; exit 1; }
  echo "ok: npx async-shape --version → $got"
  # The same install under the other Node majors .ci/run fetched (N-API 9 serves them all).
  for other in "$root"/.ci/.nodes/node_modules/node*/bin/node; do
    [ -x "$other" ] || continue
    env PATH="$nocargo" "$other" smoke.mjs | sed -n 1p
  done
done
echo "install-test: 2 passed, 0 failed"
