#!/bin/sh
# Time judging one forged server tree (discovery, hives, IIS and Exchange
# configuration, exports, every judgement), best of N, release build.
# Usage: bench/health/run.sh [N]
set -eu
cd "$(dirname "$0")/../.."
cargo run --release -q -p vigie-health --example bench_judge -- "${1:-50}"
