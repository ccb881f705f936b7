#!/bin/sh
# usage: compare.sh [SIZE_MIB] [EVTX_DUMP]
# Grows the real EVTX fixtures into one large file and times vigie's EVTX
# reader (records flattened as `vigie hunt` reads them) against the evtx
# crate's own `evtx_dump` (same crate version as Cargo.lock) on one thread.
set -eu
size=${1:-2047}
dump=${2:-/tmp/evtx-tool/bin/evtx_dump}
file=/tmp/vg-evtx-dir/Application.evtx
mkdir -p /tmp/vg-evtx-dir
[ -f "$file" ] || python3 bench/evtx/grow.py "$file" "$size" \
  crates/hunt/tests/fixtures/real/evtx-to-mitre/*.evtx
cargo build --release -p vigie-logs --example evtx_count >/dev/null
cat "$file" >/dev/null  # warm the page cache
echo "== vigie reader (evtx_count example)"
/usr/bin/time -f "%e s wall, %U s user, %M KiB max RSS" \
  target/release/examples/evtx_count "$file"
echo "== evtx_dump -t 1 -o jsonl"
/usr/bin/time -f "%e s wall, %U s user, %M KiB max RSS" \
  "$dump" -t 1 -o jsonl "$file" | wc -l
