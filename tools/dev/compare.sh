#!/usr/bin/env bash
# compare.sh [compare.py options]: installs what is missing, builds what the side-by-side
# transport comparison runs, and prints its table, e.g.
#   bash tools/dev/compare.sh --bytes 512MiB --rounds 3
#   bash tools/dev/compare.sh --allow-missing      # skip variants whose binary is not built yet
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tools/dev/deps.sh
# zferry_bench_compare depends on raw_splice and on zferry's transfer binary.
bash tools/dev/build.sh release zferry_bench_compare
exec python3 bench/compare.py --build build/release "$@"
