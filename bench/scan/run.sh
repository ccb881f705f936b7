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

# Wall time of a command, and hosts (addresses) per second.
timed() {
  local hosts=$1 what=$2
  shift 2
  local start end
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  python3 -c "print(f'$what: $hosts hosts in {$end-$start:.2f}s = {$hosts/($end-$start):.0f} hosts/s')"
}

vigie_scan() {
  local net=$1
  echo "== vigie scan $net -p $PORTS, max-inflight $INFLIGHT, delay $DELAY_MS ms"
  timed "$(addresses "$net")" vigie /usr/bin/time -v "$VIGIE" scan "$net" \
    -p "$PORTS" --rate 0 --per-subnet 0 --max-inflight "$INFLIGHT" \
    --no-progress -o "$TMP/vigie.jsonl" 2> "$TMP/vigie.err" || true
  grep -E "probed|exchange|Maximum resident" "$TMP/vigie.err"
  echo "   ProxyLogon open (passive, by build): $(grep -c '"cve":"CVE-2021-26855"[^}]*"state":"vulnerable"' "$TMP/vigie.jsonl" || true)"
}

vigie_scan "$NMAP_NET"
vigie_scan "$NET"

if [ $# -ge 2 ]; then
  command -v nmap > /dev/null || apt-get install -y nmap
  for nse in "$1" "$2"; do
    echo "== nmap --script $(basename "$nse"), $NMAP_NET -p $PORTS"
    timed "$(addresses "$NMAP_NET")" nmap nmap -n -Pn -p "$PORTS" \
      --script "$nse" "$NMAP_NET" -oN "$TMP/nmap-$(basename "$nse").txt" \
      > /dev/null
    echo "   script output lines: $(grep -c '^|' "$TMP/nmap-$(basename "$nse").txt" || true)," \
      "VULNERABLE: $(grep -c 'VULNERABLE' "$TMP/nmap-$(basename "$nse").txt" || true)"
  done
fi
