#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite:
#   release build: unit, integration, platform (zfs-fuse), chaos (netns), fuzz-replay
#   ASan+UBSan+LSan build: unit, integration
#   clang libFuzzer build: every fuzz target for FUZZ_SECONDS (default 30) each
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tools/dev/deps.sh
export CTEST_OUTPUT_ON_FAILURE=1

echo "== release build"
bash tools/dev/build.sh release
(cd build/release && ctest -j2 --timeout 600 -L 'unit|integration|fuzz-replay')
(cd build/release && ctest --timeout 900 -L 'platform|chaos')

echo "== sanitizer build (ASan + UBSan + LeakSanitizer)"
bash tools/dev/build.sh asan zferry_tests
(cd build/asan && ctest -j2 --timeout 900 -L 'unit|integration')

echo "== fuzzing (clang libFuzzer)"
bash tools/dev/build.sh fuzz zferry_fuzzers
bash fuzz/run_fuzzers.sh build/fuzz "${FUZZ_SECONDS:-30}"
echo "all test suites passed"
