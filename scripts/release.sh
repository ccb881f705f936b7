#!/usr/bin/env bash
# Release artefacts in dist/: stripped binaries, each with its debug info
# split off beside it (`vigie.debug`, `vigie.exe.debug`; the binary names
# it in a .gnu_debuglink section). Function names stay in the binary, so a
# user's backtrace is readable as sent; the .debug file, kept with the
# release, adds the lines (`addr2line -e vigie.debug ADDRESS`).
#
# Usage: scripts/release.sh [--static] [--windows]
#   always     Linux, x86_64, glibc: dist/vigie-VERSION-x86_64-linux/
#   --static   also the static musl build (scripts/build-linux-static.sh):
#              dist/vigie-VERSION-x86_64-linux-static/
#   --windows  also vigie.exe (scripts/build-windows.sh):
#              dist/vigie-VERSION-x86_64-windows/
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
dist=dist

split() { # binary objcopy out_dir
  local bin=$1 objcopy=$2 out=$3 name
  name=$(basename "$bin")
  mkdir -p "$out"
  "$objcopy" --only-keep-debug "$bin" "$out/$name.debug"
  "$objcopy" --strip-debug --add-gnu-debuglink="$out/$name.debug" "$bin" "$out/$name"
  echo "release: $out/$name $(du -h "$out/$name" | cut -f1) (was $(du -h "$bin" | cut -f1)), debug info $(du -h "$out/$name.debug" | cut -f1)" >&2
}

static="" windows=""
for arg in "$@"; do
  case "$arg" in
    --static) static=1 ;;
    --windows) windows=1 ;;
    *) echo "release: unknown option $arg" >&2; exit 2 ;;
  esac
done

cargo build --release --locked -p vigie --bin vigie
split "$target/release/vigie" objcopy "$dist/vigie-$version-x86_64-linux"

if [ -n "$static" ]; then
  scripts/build-linux-static.sh
  split "$target/x86_64-unknown-linux-musl/release/vigie" objcopy \
    "$dist/vigie-$version-x86_64-linux-static"
fi

if [ -n "$windows" ]; then
  scripts/build-windows.sh
  # build-windows.sh has already split the release exe; copy both files.
  out="$dist/vigie-$version-x86_64-windows"
  mkdir -p "$out"
  cp target/x86_64-pc-windows-gnu/release/vigie.exe target/x86_64-pc-windows-gnu/release/vigie.exe.debug "$out/"
  echo "release: $out/vigie.exe $(du -h "$out/vigie.exe" | cut -f1), debug info $(du -h "$out/vigie.exe.debug" | cut -f1)" >&2
fi
