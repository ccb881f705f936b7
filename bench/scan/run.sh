#!/usr/bin/env bash
# Scan-speed bench on loopback only.
#
#   bench/scan/run.sh                       # vigie engine on a /16 of 127.1/16
#   bench/scan/run.sh MS_NSE BEAUMONT_NSE   # also nmap with the two public
#                                           # NSE scripts (paths given; the
#                                           # scripts are not in this repo)
#
# A stand-in responder (crates/scan/examples/responder.rs) answers on one
# high port for every 127.x.y.z address with Exchange-like personas.
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT=${PORT:-8080}   # nmap's shortport.http only runs on web ports
DELAY_MS=${DELAY_MS:-50}
NET=${NET:-127.1.0.0/16}
NMAP_HOSTS=${NMAP_HOSTS:-127.5.0.0/22}
INFLIGHT=${INFLIGHT:-2048}

cargo build --release -q -p vigie-scan --example responder \
  --example scan_bench
target/release/examples/responder "$PORT" "$DELAY_MS" &
RESP=$!
trap 'kill $RESP' EXIT
sleep 0.5

echo "== vigie engine, $NET port $PORT, max-inflight $INFLIGHT, delay $DELAY_MS ms"
/usr/bin/time -v target/release/examples/scan_bench "$NET" "$PORT" \
  "$INFLIGHT" /tmp/vigie-bench.jsonl 2> /tmp/vigie-bench.time
grep -E "probed|Maximum resident|Elapsed" /tmp/vigie-bench.time

if [ $# -ge 2 ]; then
  command -v nmap > /dev/null || apt-get install -y nmap
  for nse in "$1" "$2"; do
    echo "== nmap --script $(basename "$nse"), $NMAP_HOSTS port $PORT"
    start=$(date +%s.%N)
    nmap -n -Pn -p "$PORT" --script "$nse" "$NMAP_HOSTS" -oN /dev/null \
      > /dev/null
    end=$(date +%s.%N)
    hosts=$(python3 -c "import ipaddress;print(ipaddress.ip_network('$NMAP_HOSTS').num_addresses)")
    python3 -c "print(f'nmap: $hosts hosts in {$end-$start:.2f}s = {$hosts/($end-$start):.0f} hosts/s')"
  done
fi
