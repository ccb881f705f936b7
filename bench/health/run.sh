#!/bin/sh
# Time judging one forged server tree (discovery, hives, IIS and Exchange
# configuration, exports, every judgement), then the same tree with a real
# applicationHost.config, best of N, release build. On a shared machine set
# CARGO_TARGET_DIR to the shared release target (see bench/README.md).
# Usage: bench/health/run.sh [N]
set -eu
cd "$(dirname "$0")/../.."
cargo run --release -q -p vigie-health --example bench_judge -- "${1:-50}"
