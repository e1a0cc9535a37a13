#!/usr/bin/env bash
# run.sh [demo options]: the project's main job. Installs what is missing, builds zferry, and
# runs the end-to-end demo on real ZFS (tools/demo/two_pools_tls.sh): zfs-fuse with two pools,
# a push daemon and a sink daemon over mutual TLS, snapshots, replication, pruning, and the
# snapshots compared GUID by GUID. Needs root (zfs-fuse). The transport comparison table that
# was the main job before the daemon existed: bash tools/dev/compare.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tools/dev/deps.sh
bash tools/dev/build.sh release zferry
exec bash tools/demo/two_pools_tls.sh "$@"
