#!/usr/bin/env bash
# run_fuzzers.sh BUILD_DIR SECONDS: runs every *_fuzz binary of a clang ZFERRY_FUZZ build
# for SECONDS each, starting from (and adding to a scratch copy of) its seed corpus.
# A crash, leak or timeout fails the run and leaves the reproducer in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?build dir}
secs=${2:-30}
mkdir -p fuzz/artifacts
shopt -s nullglob
bins=("$build"/fuzz/*_fuzz)
if ((${#bins[@]} == 0)); then
  echo "run_fuzzers: no fuzz targets in $build/fuzz" >&2
  exit 1
fi
for bin in "${bins[@]}"; do
  name=$(basename "$bin" _fuzz)
  work=$(mktemp -d)
  cp -r "fuzz/corpus/$name/." "$work/"
  dict=()
  if [ -f "fuzz/dict/$name.dict" ]; then dict=(-dict="fuzz/dict/$name.dict"); fi
  echo "fuzzing $name for ${secs}s"
  if ! "$bin" "$work" "${dict[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="fuzz/artifacts/${name}-" -print_final_stats=1 >"fuzz/artifacts/$name.log" 2>&1; then
    tail -40 "fuzz/artifacts/$name.log" >&2
    echo "run_fuzzers: $name failed; reproducer in fuzz/artifacts/" >&2
    rm -rf "$work"
    exit 1
  fi
  grep -E '^stat::number_of_executed_units|^Done' "fuzz/artifacts/$name.log" || true
  rm -rf "$work"
done
echo "fuzzing: ${#bins[@]} targets passed"
