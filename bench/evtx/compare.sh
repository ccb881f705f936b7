#!/bin/sh
# usage: compare.sh [SIZE_MIB] [EVTX_DUMP]
# Grows the real EVTX fixtures into one large file and times, back to
# back and best of 3 (by user CPU), on one thread:
#  - vigie's reader as `vigie hunt` uses it: only the records that may hold
#    one of the event rules' needles rendered, only the rules' fields built
#    (the lists below are `FIELDS` and `NEEDLES` of
#    crates/hunt/src/detect/events.rs),
#  - the evtx crate's own `evtx_dump -t 1 -o jsonl` (same crate version),
#  - vigie's reader building the rules' fields of every record, and
#    building every field (what it did before).
set -eu
size=${1:-2047}
dump=${2:-/tmp/evtx-tool/bin/evtx_dump}
file=/tmp/vg-evtx-dir/Application.evtx
fields=EventID,Level,Channel,SourceName,Message,TargetFilename,RelativeTargetName,Image,ParentImage,ParentProcessName,NewProcessName,CommandLine
needles=-oabvirtualdirectory,new-mailboxexportrequest,new-managementroleassignment,new-exchangecertificate,.aspx,w3wp.exe,umworkerprocess.exe,umservice.exe,system.invalidcastexception
mkdir -p /tmp/vg-evtx-dir
[ -f "$file" ] || python3 bench/evtx/grow.py "$file" "$size" \
  crates/hunt/tests/fixtures/real/evtx-to-mitre/*.evtx
cargo build --release -p vigie-logs --example evtx_count >/dev/null
ex=target/release/examples/evtx_count
cat "$file" >/dev/null  # warm the page cache
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$ex" --fields "$fields" --needles "$needles" "$file"
log=$(mktemp)
for _ in 1 2 3; do
  for run in hunt dump fields all; do
    case $run in
      hunt) set -- "$ex" --fields "$fields" --needles "$needles" "$file" ;;
      dump) set -- "$dump" -t 1 -o jsonl "$file" ;;
      fields) set -- "$ex" --fields "$fields" "$file" ;;
      all) set -- "$ex" "$file" ;;
    esac
    /usr/bin/time -a -o "$log" \
      -f "$run %U s user, %S s sys, %e s wall, %M KiB max RSS" "$@" >/dev/null
  done
done
for run in hunt dump fields all; do
  grep "^$run " "$log" | sort -k2 -n | head -1
done
rm -f "$log"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
