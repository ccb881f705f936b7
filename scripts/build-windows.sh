#!/usr/bin/env bash
# Cross-build vigie.exe for 64-bit Windows on Debian, and (with --test) run
# the Windows tests under Wine.
#
# Toolchain, and why: rustup cannot fetch other targets' standard libraries
# on this kind of air-gapped build machine, so the Windows standard library
# is compiled from source. Debian 12 ships that source with its own Rust
# (rustc-web, cargo-web, rust-web-src: Rust 1.96), and mingw-w64 links for
# Windows. `-Zbuild-std` is unstable, hence RUSTC_BOOTSTRAP=1, and it needs
# Debian's rustc beside Debian's library source (not rustup's 1.95, which
# stays the toolchain of the Linux build and of every other test).
#
# Usage:
#   scripts/build-windows.sh            release build: target/x86_64-pc-windows-gnu/release/vigie.exe
#   scripts/build-windows.sh --debug    debug build (faster; used by the tests)
#   scripts/build-windows.sh --test     debug build, then the Wine tests (scripts/wine-tests.sh)
#   scripts/build-windows.sh --no-install   do not apt-get anything
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
run_tests=""
install=1
for arg in "$@"; do
  case "$arg" in
    --debug) profile=debug ;;
    --test) profile=debug; run_tests=1 ;;
    --no-install) install="" ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "build-windows: unknown option $arg" >&2; exit 2 ;;
  esac
done

TARGET=x86_64-pc-windows-gnu
packages=(rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64)
if [ -n "$run_tests" ]; then packages+=(wine64); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ -z "$install" ]; then
    echo "build-windows: missing Debian packages: ${missing[*]}" >&2
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  echo "build-windows: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's toolchain, explicitly: rustup's proxies come first on most PATHs
# and would honour rust-toolchain.toml (1.95, no Windows std).
export RUSTC=/usr/bin/rustc
export RUSTDOC=/usr/bin/rustdoc
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc
export AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar
CARGO=/usr/bin/cargo
echo "build-windows: $($RUSTC --version), $($CARGO --version)" >&2

flags=(--locked --target "$TARGET" -Zbuild-std=std,panic_abort -p vigie --bin vigie)
if [ "$profile" = release ]; then flags+=(--release); fi
start=$(date +%s)
"$CARGO" build "${flags[@]}"
exe="target/$TARGET/$profile/vigie.exe"
echo "build-windows: $exe ($(du -h "$exe" | cut -f1)) in $(( $(date +%s) - start )) s" >&2

if [ "$profile" = release ]; then
  # Debug info split off beside the artefact, kept for backtraces.
  objcopy=x86_64-w64-mingw32-objcopy
  "$objcopy" --only-keep-debug "$exe" "$exe.debug"
  "$objcopy" --strip-debug --add-gnu-debuglink="$exe.debug" "$exe" "$exe.stripped"
  mv "$exe.stripped" "$exe"
  echo "build-windows: stripped $exe ($(du -h "$exe" | cut -f1)); debug info in $exe.debug" >&2
fi

if [ -n "$run_tests" ]; then
  exec scripts/wine-tests.sh "$exe"
fi
