#!/bin/sh
# Time `vigie check` on a 1,000-row inventory (CLI end to end), then the
# library core alone. Usage: bench/check/run.sh [path/to/vigie]
# Default binary: target/release/vigie (build it with
# `cargo build --release -p vigie`), else target/debug/vigie.
set -eu
cd "$(dirname "$0")/../.."
bin="${1:-}"
if [ -z "$bin" ]; then
    if [ -x target/release/vigie ]; then bin=target/release/vigie
    else bin=target/debug/vigie; fi
fi
inv="$(mktemp -d)/inventory-1000.csv"
# 1,000 rows cycling through every published build, with 10% CU-only
# builds and 10% garbage (item errors are part of the workload).
awk -F, 'NR > 1 { b[n++] = $3 }
    END {
        print "server,build"
        for (i = 0; i < 1000; i++) {
            if (i % 10 == 8) v = "15.1.2176"
            else if (i % 10 == 9) v = "garbage"
            else v = b[i % n]
            printf "ex%04d,%s\n", i, v
        }
    }' crates/builds/data/builds.csv > "$inv"
echo "binary: $bin"
for fmt in table jsonl csv json; do
    start=$(date +%s%N)
    "$bin" check --as-of 2026-11-27 --format "$fmt" "$inv" > /dev/null || true
    end=$(date +%s%N)
    echo "check --format $fmt, 1000 rows: $(( (end - start) / 1000000 )) ms"
done
cargo run -q --release -p vigie-builds --example bench_assess -- "$inv"
