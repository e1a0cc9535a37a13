#!/usr/bin/env bash
# build.sh [release|asan|fuzz] [targets...]: configures and builds one flavour in build/<flavour>.
# Builds are serialised through a lock so parallel scripts never run two compilers sets at once.
set -euo pipefail
cd "$(dirname "$0")/../.."
flavour=${1:-release}
shift || true
dir=build/$flavour
case "$flavour" in
  release) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan)    args=(-DCMAKE_BUILD_TYPE=Debug -DZFERRY_SANITIZE=ON) ;;
  fuzz)    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DZFERRY_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "unknown flavour $flavour (release|asan|fuzz)" >&2; exit 2 ;;
esac
exec 9>/tmp/zferry-build.lock
flock 9
if [ ! -f "$dir/build.ninja" ]; then
  cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
fi
if (($# > 0)); then
  cmake --build "$dir" -j2 --target "$@"
else
  cmake --build "$dir" -j2
fi
