#!/bin/sh
# usage: compare.sh CORPUS_DIR [SIGNATURE_BASE_DIR]
# Times, best of 3 with a warm page cache:
#  - the log detectors alone (scan_logs example, all cores),
#  - the whole `vigie hunt` (release binary; build it first with
#    `cargo build --release -p vigie`, ~10 min cold because of yara-x),
#  - rg counting the literals vigie's prefilter searches (literals.txt),
#    case-insensitive like vigie, and case-sensitive,
#  - optionally yara with signature-base's Exchange log rules.
# Prints wall time, CPU time and max RSS (GNU time) of each.
set -eu
dir=$1
here=$(dirname "$0")
cargo build --release -p vigie-hunt --example scan_logs >/dev/null 2>&1
ex=target/release/examples/scan_logs
vigie=target/release/vigie
find "$dir" -type f -exec cat {} + >/dev/null  # warm the page cache
best() {
  label=$1; shift
  for _ in 1 2 3; do
    /usr/bin/time -f "$label %e s wall, %U s user, %M KiB max RSS" \
      "$@" >/dev/null 2>>/tmp/vg-bench.$$ || true
  done
  grep "^$label " /tmp/vg-bench.$$ | sort -k2 -n | head -1
  rm -f /tmp/vg-bench.$$
}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$ex" "$dir" | tail -1
best scan_logs "$ex" "$dir"
if [ -x "$vigie" ]; then
  best vigie-hunt "$vigie" hunt "$dir" --format json --no-progress
fi
echo "rg -i lines: $(rg -c -i -F -f "$here/literals.txt" "$dir" |
  awk -F: '{s+=$NF} END {print s}')"
best rg-i rg -c -i -F -f "$here/literals.txt" "$dir"
best rg rg -c -F -f "$here/literals.txt" "$dir"
if [ $# -ge 2 ]; then
  y=$2/yara
  rules="$y/apt_hafnium_log_sigs.yar $y/expl_cve_2022_41040_proxynoshell.yar
    $y/expl_proxynotshell_owassrf_dec22.yar
    $y/vuln_proxynotshell_cve_2022_41040.yar"
  # shellcheck disable=SC2086
  echo "yara matches: $(yara -w -r -p 2 $rules "$dir" | wc -l)"
  # shellcheck disable=SC2086
  best yara yara -w -r -p 2 $rules "$dir"
fi
