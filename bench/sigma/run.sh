#!/bin/sh
# usage: bench/sigma/run.sh SIGMA_RULES_DIR CORPUS_DIR
# SigmaHQ's rules are not in this repository (DRL 1.1); get them with
#   git clone --depth 1 https://github.com/SigmaHQ/sigma /tmp/sigma
# and pass /tmp/sigma/rules (or a folder holding several rule folders).
# The corpus: python3 bench/hunt-logs/gen.py CORPUS_DIR 2   (2 GiB)
#
# Times, best of 3 with a warm page cache, GNU time's wall, user CPU and
# max RSS of:
#  - sigma_load: loading the rules (example, release);
#  - sigma_scan: loading plus the Sigma pass alone over the corpus
#    (example, the way the hunt calls it after its own detectors);
#  - vigie hunt without and with --sigma (release binary, when built:
#    `cargo build --release -p vigie`, ~10 min cold because of yara-x).
set -eu
rules=$1
dir=$2
cargo build --release --locked -p vigie-sigma --example sigma_load \
  --example sigma_scan >/dev/null 2>&1
load=target/release/examples/sigma_load
scan=target/release/examples/sigma_scan
vigie=target/release/vigie
find "$dir" -type f -exec cat {} + >/dev/null  # warm the page cache
best() {
  label=$1; shift
  for _ in 1 2 3; do
    /usr/bin/time -f "$label %e s wall, %U s user, %M KiB max RSS" \
      "$@" >/dev/null 2>>/tmp/vg-sigma-bench.$$ || true
  done
  grep "^$label " /tmp/vg-sigma-bench.$$ | sort -k2 -n | head -1
  rm -f /tmp/vg-sigma-bench.$$
}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "corpus: $(du -sb "$dir" | cut -f1) bytes"
"$load" "$rules" | head -20
"$scan" "$rules" "$dir" | head -20
best sigma_load "$load" "$rules"
best sigma_scan "$scan" "$rules" "$dir"
if [ -x "$vigie" ]; then
  best vigie-hunt "$vigie" hunt "$dir" --format json --no-progress
  best vigie-hunt-sigma "$vigie" hunt "$dir" --sigma "$rules" \
    --format json --no-progress
fi
