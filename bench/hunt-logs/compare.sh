#!/bin/sh
# usage: compare.sh CORPUS_DIR [SIGNATURE_BASE_YARA_DIR]
# Times the log detectors (example binary, all cores) against rg counting
# the same literals, and optionally yara with signature-base log rules.
set -eu
dir=$1
cargo build --release -p vigie-hunt --example scan_logs >/dev/null
bin=target/release/examples/scan_logs
cat "$dir"/*/* >/dev/null  # warm the page cache for both tools
echo "== vigie (scan_logs example)"
/usr/bin/time -f "%e s, %M KiB max RSS" "$bin" "$dir" | tail -1
echo "== rg -c (same literals)"
/usr/bin/time -f "%e s, %M KiB max RSS" rg -c -F \
  -e 'ServerInfo~' -e 'Server~' -e 'X-BEResource=' \
  -e 'autodiscover.json' -e '/powershell' -e 'SecurityToken=' \
  "$dir" | awk -F: '{s+=$NF} END {print s " matching lines"}'
if [ $# -ge 2 ]; then
  echo "== yara (signature-base log rules from $2)"
  /usr/bin/time -f "%e s" yara -r "$2"/yara/*log*.yar "$dir" | wc -l
fi
