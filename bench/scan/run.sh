#!/usr/bin/env bash
# Scan-speed bench, loopback only: `vigie scan` and nmap with the two
# public Exchange NSE checks against the same lab fleet (`vigie lab
# serve`, every persona including tarpits, slow and closed hosts), each
# HTTP answer delayed DELAY_MS to stand for a network round trip.
#
#   bench/scan/run.sh                       # vigie only
#   bench/scan/run.sh MS_NSE BEAUMONT_NSE   # also nmap with the two public
#                                           # NSE scripts (paths given; the
#                                           # scripts are not in this repo)
set -euo pipefail
cd "$(dirname "$0")/../.."
HOSTS=${HOSTS:-4096}                 # fleet size, from BASE
BASE=${BASE:-127.91.0.0}
NET=${NET:-127.91.0.0/20}            # the whole fleet
NMAP_NET=${NMAP_NET:-127.91.0.0/22}  # what both tools scan for the ratio
PORTS=${PORTS:-8443,8080}            # the lab's TLS and plain-HTTP ports
DELAY_MS=${DELAY_MS:-50}
SEED=${SEED:-1}
INFLIGHT=${INFLIGHT:-2048}
TMP=$(mktemp -d)

# VIGIE=path uses an already built binary (the release build of the
# whole CLI takes many minutes on 2 cores because of yara-x).
if [ -z "${VIGIE:-}" ]; then
  cargo build --release -q -p vigie
  VIGIE=target/release/vigie
fi
"$VIGIE" lab serve --hosts "$HOSTS" --base "$BASE" --seed "$SEED" \
  --delay-ms "$DELAY_MS" --manifest "$TMP/manifest.json" 2> "$TMP/lab.err" &
LAB=$!
trap 'kill -INT $LAB; wait $LAB; rm -rf "$TMP"' EXIT
until [ -s "$TMP/manifest.json" ]; do sleep 0.2; done
cat "$TMP/lab.err"

addresses() {
  python3 -c "import ipaddress;print(ipaddress.ip_network('$1').num_addresses)"
}

# Every timing line also goes to this file (kept after the run).
RESULTS=${RESULTS:-/tmp/vigie-scan-bench.txt}
: > "$RESULTS"

# Wall time of a command, and hosts (addresses) per second; the seconds
# are also left in $TMP/seconds for the ratio. The command's own output
# must be redirected inside it (see `quiet`): a redirection after `timed`
# would swallow the timing line too.
timed() {
  local hosts=$1 what=$2
  shift 2
  local start end
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  python3 -c "print(f'{$end-$start:.2f}')" > "$TMP/seconds"
  python3 -c "print(f'$what: $hosts hosts in {$end-$start:.2f}s = {$hosts/($end-$start):.0f} hosts/s')" \
    | tee -a "$RESULTS"
}

# Run a command with its stdout discarded.
quiet() {
  "$@" > /dev/null
}

# VIGIE_FLAGS: the scan's pacing flags (empty: vigie's defaults).
VIGIE_FLAGS=${VIGIE_FLAGS---rate 0 --per-subnet 0 --max-inflight $INFLIGHT}

vigie_scan() {
  local net=$1
  echo "== vigie scan $net -p $PORTS ${VIGIE_FLAGS:-(defaults)}, delay $DELAY_MS ms"
  # shellcheck disable=SC2086 # the flags are words on purpose
  timed "$(addresses "$net")" "vigie $net" /usr/bin/time -v "$VIGIE" scan "$net" \
    -p "$PORTS" $VIGIE_FLAGS \
    --no-progress -o "$TMP/vigie.jsonl" 2> "$TMP/vigie.err" || true
  grep -E "probed|exchange|Maximum resident" "$TMP/vigie.err"
  echo "   ProxyLogon open (passive, by build): $(grep -c '"cve":"CVE-2021-26855"[^}]*"state":"vulnerable"' "$TMP/vigie.jsonl" || true)"
}

nmap_scan() {
  local net=$1 nse=$2 name
  name=$(basename "$nse")
  echo "== nmap --script $name, $net -p $PORTS"
  timed "$(addresses "$net")" "nmap $name $net" quiet nmap -n -Pn \
    -p "$PORTS" --script "$nse" "$net" -oN "$TMP/nmap-$name.txt" || true
  echo "   script output lines: $(grep -c '^|' "$TMP/nmap-$name.txt" || true)," \
    "VULNERABLE: $(grep -c 'VULNERABLE' "$TMP/nmap-$name.txt" || true)"
}

# NETS: the fleet sizes compared side by side (both tools on each).
NETS=${NETS:-$NMAP_NET $NET}
if [ $# -ge 2 ]; then
  command -v nmap > /dev/null || apt-get install -y nmap
fi
for net in $NETS; do
  vigie_scan "$net"
  vigie_s=$(cat "$TMP/seconds")
  if [ $# -ge 2 ]; then
    for nse in "$1" "$2"; do
      nmap_scan "$net" "$nse"
      nmap_s=$(cat "$TMP/seconds")
      python3 -c "print(f'ratio on $net, $(basename "$nse"): nmap {$nmap_s:.1f}s / vigie {$vigie_s:.1f}s = {$nmap_s/$vigie_s:.1f}x')" \
        | tee -a "$RESULTS"
    done
  fi
done
echo "timings recorded in $RESULTS"
