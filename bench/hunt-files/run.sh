#!/bin/sh
# usage: run.sh [TREE_DIR] [SIGNATURE_BASE_DIR]
# Generates a 100,000-file forged Exchange server tree (once), then times
# the whole hunt (example binary, 2 threads) against `yara -r -p 2` with the
# same rules: vigie's embedded file, and optionally all of signature-base.
set -eu
tree=${1:-/tmp/vg-files}
sb=${2:-}
here=$(dirname "$0")
[ -d "$tree" ] || python3 "$here/gen.py" "$tree" 100000
cargo build --release -p vigie-hunt --example hunt_files >/dev/null
bin=target/release/examples/hunt_files
tar cf - "$tree" 2>/dev/null | cat >/dev/null  # warm the page cache
t() { /usr/bin/time -f "%e s wall, %M KiB max RSS" "$@"; }
echo "== vigie, embedded rules"
t "$bin" "$tree" --threads 2 | grep -E '^(hunt|stat (files_|yara_)|findings)'
echo "== yara -r, embedded rules"
t yara -r -p 2 crates/yara/rules/vigie-webshells.yar "$tree" | wc -l
if [ -n "$sb" ]; then
  echo "== vigie, embedded + signature-base"
  t "$bin" "$tree" --threads 2 "$sb/yara" | grep -E '^(rules|hunt|stat yara|findings)'
  idx=$(mktemp --suffix=.yar)
  for f in "$sb"/yara/*.yar; do echo "include \"$f\""; done >"$idx"
  echo "== yara -r, signature-base (Loki's external variables defined)"
  t yara -w -r -p 2 -d filename= -d filepath= -d extension= -d filetype= \
    -d owner= -d md5= "$idx" "$tree" | wc -l
  rm -f "$idx"
fi
