#!/usr/bin/env bash
# A static Linux binary (musl), which runs on any x86_64 Linux whatever
# its C library: target/x86_64-unknown-linux-musl/release/vigie.
#
# Same route as scripts/build-windows.sh, for the same reason: rustup
# cannot fetch the musl standard library here, so Debian's Rust
# (rustc-web, cargo-web, rust-web-src: 1.96) compiles it (-Zbuild-std),
# with Debian's musl-tools as C compiler and linker. Rust's musl target
# links a static libunwind, which rustup would ship and build-std does not
# build: Debian's LLVM libunwind (libunwind-14-dev) is linked in its place,
# with scripts/musl/fortify.c for the one glibc function it calls. (GCC's
# libgcc_eh.a does not fit: it calls glibc's _dl_find_object.)
#
# Usage: scripts/build-linux-static.sh [--no-install]
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=x86_64-unknown-linux-musl
packages=(rustc-web cargo-web rust-web-src musl-tools libunwind-14-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${1:-}" = --no-install ]; then
    echo "build-linux-static: missing Debian packages: ${missing[*]}" >&2
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

target_dir=${CARGO_TARGET_DIR:-target}
unwind="$target_dir/musl-unwind"
mkdir -p "$unwind"
musl-gcc -O2 -c scripts/musl/fortify.c -o "$unwind/fortify.o"
cp /usr/lib/llvm-14/lib/libunwind.a "$unwind/libunwind.a.new"
ar rs "$unwind/libunwind.a.new" "$unwind/fortify.o" 2>/dev/null
mv "$unwind/libunwind.a.new" "$unwind/libunwind.a"
unwind=$(realpath "$unwind")

export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CC_x86_64_unknown_linux_musl=musl-gcc
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER="$(pwd)/scripts/musl/static-gcc"
# musl-gcc brings musl's crt objects and libc.a itself.
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C link-self-contained=no -L native=$unwind"
start=$(date +%s)
/usr/bin/cargo build --locked --release --target "$TARGET" \
  -Zbuild-std=std,panic_abort -p vigie --bin vigie
bin="$target_dir/$TARGET/release/vigie"
echo "build-linux-static: $bin ($(du -h "$bin" | cut -f1)) in $(( $(date +%s) - start )) s" >&2
file "$bin" >&2 || true
if readelf -l "$bin" | grep -q INTERP || readelf -d "$bin" | grep -q NEEDED; then
  echo "build-linux-static: $bin is not static" >&2
  exit 1
fi
"$bin" --version >&2
