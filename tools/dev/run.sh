#!/usr/bin/env bash
# run.sh [compare.py options]: the project's main job until the daemon exists. Installs what
# is missing, builds what the side-by-side comparison runs, and prints its table, e.g.
#   bash tools/dev/run.sh --bytes 512MiB --rounds 3
#   bash tools/dev/run.sh --allow-missing      # skip variants whose binary is not built yet
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tools/dev/deps.sh
# zferry_bench_compare depends on raw_splice and, once it exists, on zferry's transfer binary.
bash tools/dev/build.sh release zferry_bench_compare
exec python3 bench/compare.py --build build/release "$@"
