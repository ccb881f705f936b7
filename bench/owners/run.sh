#!/usr/bin/env bash
# Owner table bench: synthetic RPSL with N prefixes (default 1,000,000)
# written to /tmp (never committed), loaded as `vigie notify --rpsl` does,
# then 1,000,000 longest-prefix lookups. Release build of vigie-feeds only.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000000}
FILE=${2:-/tmp/vigie-bench-owners.rpsl}
cargo run --release --locked -q -p vigie-feeds --example bench_owners -- "$N" "$FILE"
rm -f "$FILE"
