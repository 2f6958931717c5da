#!/bin/sh
# A C compiler for Cargo build scripts (cc-rs) that compile C for a cross target, through zig
# (`python3 -m ziglang`, from scripts/setup-cross.sh zig): zig ships the libc headers of every
# napi target, so no cross gcc, mingw or macOS SDK is needed. Used by .ci/run's `cargo check`
# loop, where `ring` (rustls's crypto, for rediss://) compiles C and assembly for the target:
#   CC_<target>=$PWD/scripts/zig-cc.sh AR_<target>="$PWD/scripts/zig-cc.sh ar"
# The target comes from $TARGET, which Cargo sets for build scripts and cc-rs passes on.
set -eu
if [ "${1-}" = ar ]; then
  shift
  exec python3 -m ziglang ar "$@"
fi
arch=${TARGET%%-*}
case "$TARGET" in
  *-apple-darwin) zig_target=$arch-macos ;;
  *-linux-gnu) zig_target=$arch-linux-gnu ;;
  *-linux-musl) zig_target=$arch-linux-musl ;;
  *-windows-gnu) zig_target=$arch-windows-gnu ;;
  *) echo "zig-cc.sh: no zig target for TARGET='${TARGET-}'" >&2; exit 2 ;;
esac
# cc-rs passes clang's `--target=<llvm triple>` (e.g. arm64-apple-macosx), which zig cc does not
# take: zig's own -target says it.
n=$#
while [ "$n" -gt 0 ]; do
  a=$1
  shift
  n=$((n - 1))
  case "$a" in
    --target=*) ;;
    *) set -- "$@" "$a" ;;
  esac
done
exec python3 -m ziglang cc -target "$zig_target" "$@"
