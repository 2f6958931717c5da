#!/usr/bin/env bash
# Installs the packed main package and linux-x64-gnu package (dist/, from `scripts/release.js`)
# into fresh projects the way a user would, with no Rust toolchain on PATH, once with install
# scripts and once with --ignore-scripts, and runs scripts/smoke.mjs (with a real redis-server for
# its fleet check) and the CLI there.
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

# A real redis-server on loopback (.ci/run installs Debian's package): the smoke test's fleet
# check runs two shared limits of one key through it, from the installed packages.
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
  { echo "install-test: redis-server or redis-cli is not installed (Debian: redis-server)" >&2; exit 1; }
redis_port=$(node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" --logfile "$tmp/redis.log" \
  </dev/null >/dev/null 2>&1 &
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 100); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  kill -0 "$redis_pid" 2>/dev/null || break # it exited (the port was taken meanwhile)
  sleep 0.1
done
redis-cli -p "$redis_port" ping >/dev/null || { echo "install-test: redis-server did not answer" >&2; cat "$tmp/redis.log" >&2; exit 1; }
export ASYNC_SHAPE_SMOKE_REDIS="redis://127.0.0.1:$redis_port"
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
  env PATH="$nocargo" timeout 120 node smoke.mjs | tee smoke.out
  grep -q "node_modules/async-shape-linux-x64-gnu/async-shape.linux-x64-gnu.node" smoke.out ||
    { echo "install-test: the addon did not come from the platform package" >&2; exit 1; }
  grep -q "through Redis" smoke.out || { echo "install-test: the fleet check did not run" >&2; exit 1; }
  got=$(env PATH="$nocargo" npx --no-install async-shape --version)
  [ "$got" = "$version" ] || { echo "install-test: async-shape --version printed '$got', not $version" >&2; exit 1; }
  echo "ok: npx async-shape --version → $got"
  # The same install under the other Node majors .ci/run fetched (N-API 9 serves them all).
  for other in "$root"/.ci/.nodes/node_modules/node*/bin/node; do
    [ -x "$other" ] || continue
    env PATH="$nocargo" timeout 120 "$other" smoke.mjs | sed -n '1p;$p'
  done
done
echo "install-test: 2 passed, 0 failed"
