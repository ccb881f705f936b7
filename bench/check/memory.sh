#!/bin/sh
# Peak memory of `vigie check` on a huge inventory: memory must stay flat
# in the number of rows (goal: 10 million rows under 256 MiB, every
# format). Usage:
#   bench/check/memory.sh [path/to/vigie]
# Environment: ROWS (default 10000000), FORMATS (default
# "csv jsonl json table"), INPUTS (default "csv json": a CSV inventory
# and a JSON array inventory), DIR (default a new folder in /tmp; the
# inputs take about 25 and 45 bytes a row).
# Output goes to /dev/null; each line printed gives the wall time, user
# CPU and peak RSS from /usr/bin/time -v.
set -eu
cd "$(dirname "$0")/../.."
bin="${1:-}"
if [ -z "$bin" ]; then
    if [ -x target/release/vigie ]; then bin=target/release/vigie
    else bin=target/debug/vigie; fi
fi
rows="${ROWS:-10000000}"
formats="${FORMATS:-csv jsonl json table}"
inputs="${INPUTS:-csv json}"
dir="${DIR:-$(mktemp -d)}"
# Every published build in turn, with 10% CU-only builds and 10% garbage
# (item errors are part of the work, and in --format json they wait in
# their own buffer until the results are written).
gen() {
    awk -F, -v rows="$rows" -v shape="$1" 'NR > 1 { b[n++] = $3 }
        END {
            if (shape == "csv") print "server,build"; else print "["
            for (i = 0; i < rows; i++) {
                if (i % 10 == 8) v = "15.1.2176"
                else if (i % 10 == 9) v = "garbage"
                else v = b[i % n]
                if (shape == "csv") printf "ex%08d,%s\n", i, v
                else printf "%s{\"server\":\"ex%08d\",\"build\":\"%s\"}\n",
                    (i ? "," : ""), i, v
            }
            if (shape != "csv") print "]"
        }' crates/builds/data/builds.csv
}
echo "binary: $bin; $rows rows; inputs in $dir"
for input in $inputs; do
    file="$dir/inventory-$rows.$input"
    [ -s "$file" ] || gen "$input" > "$file"
    for fmt in $formats; do
        /usr/bin/time -v "$bin" check --as-of 2026-08-20 --format "$fmt" \
            "$file" > /dev/null 2> "$dir/time.txt" || true
        awk -v what="$input inventory, --format $fmt" -F': ' '
            /Elapsed \(wall clock\)/ { wall = $2 }
            /User time/ { user = $2 }
            /Maximum resident set size/ { rss = $2 }
            END { printf "%s: wall %s, user %s s, max RSS %.1f MiB\n",
                  what, wall, user, rss / 1024 }' "$dir/time.txt"
    done
done
