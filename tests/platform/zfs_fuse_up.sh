#!/usr/bin/env bash
# zfs_fuse_up.sh STATE_FILE: starts a private zfs-fuse daemon with two fresh file-backed pools
# for the platform tests and describes them in STATE_FILE (KEY=VALUE lines):
#   ZF_DIR        private directory under /tmp (pool images, daemon log, mountpoints)
#   ZF_PID        the daemon this script started
#   ZF_SRC_POOL   ZF_DST_POOL   the pools (unique names; cachefile=none, mountpoint=none,
#                               atime=off)
# zfs_fuse_down.sh STATE_FILE undoes all of it. Any failure here is loud (exit 1) and leaves
# nothing behind. A zfs-fuse daemon that this script did not start is never used or touched:
# its socket path is hard-coded, so there can be only one per mount namespace.
set -euo pipefail

state=${1:?usage: zfs_fuse_up.sh STATE_FILE}
here=$(cd "$(dirname "$0")" && pwd)
started=$(date +%s.%N)

die() {
    echo "zfs_fuse_up: $*" >&2
    exit 1
}

# zfs-fuse daemons in this mount namespace (daemons in other namespaces have their own
# /var/run/zfs and do not interfere).
daemons_here() {
    local comm pid self
    self=$(readlink /proc/self/ns/mnt)
    for comm in /proc/[0-9]*/comm; do
        pid=${comm#/proc/}
        pid=${pid%/comm}
        if [ "$(cat "$comm" 2>/dev/null || true)" = zfs-fuse ] &&
            [ "$(readlink "/proc/$pid/ns/mnt" 2>/dev/null || true)" = "$self" ]; then
            echo "$pid"
        fi
    done
}

[ "$(id -u)" = 0 ] || die "must run as root: zfs-fuse mounts through FUSE and owns /var/run/zfs"
command -v zfs-fuse >/dev/null || die "zfs-fuse is not installed (Debian package zfs-fuse; tools/dev/deps.sh installs it)"
command -v zpool >/dev/null || die "zpool is missing although zfs-fuse is installed"
[ -c /dev/fuse ] || die "/dev/fuse is missing: zfs-fuse needs FUSE"

# An earlier run that never reached its cleanup (killed ctest): undo it first.
if [ -e "$state" ]; then
    echo "zfs_fuse_up: $state of an earlier run exists; cleaning that run up first" >&2
    bash "$here/zfs_fuse_down.sh" "$state" || die "could not clean up the earlier run described in $state"
fi

others=$(daemons_here | tr '\n' ' ')
if [ -n "$others" ]; then
    die "a zfs-fuse daemon that these tests did not start is running (pid ${others% }); the platform" \
        "tests need their own daemon and never take over someone else's: stop it" \
        "(kill -TERM ${others% }) or run the tests on another machine"
fi

# No daemon runs here, so these are leftovers of one that was killed: FUSE mounts that answer
# "Transport endpoint is not connected" and a socket nobody listens on.
awk '$3 == "fuse.zfs" { print $2 }' /proc/mounts | sort -r | while read -r m; do
    echo "zfs_fuse_up: unmounting stale zfs-fuse mount $m" >&2
    umount -l "$m" || true
done
rm -f /var/run/zfs/zfs_socket

dir=$(mktemp -d /tmp/zferry-zfs-fuse.XXXXXXXX)
suffix=${dir##*.}
src=zferry_${suffix}_src
dst=zferry_${suffix}_dst
{
    echo "ZF_DIR=$dir"
    echo "ZF_SRC_POOL=$src"
    echo "ZF_DST_POOL=$dst"
} >"$state"

# From here on a failure undoes everything done so far.
cleanup_on_error() {
    local rc=$?
    trap - EXIT
    if [ "$rc" != 0 ]; then
        echo "zfs_fuse_up: failed; undoing the partial setup" >&2
        bash "$here/zfs_fuse_down.sh" "$state" >&2 || true
    fi
    exit "$rc"
}
trap cleanup_on_error EXIT

# The daemon imports every pool in this cache at start. Ours use cachefile=none; somebody
# else's cache is kept aside (not read, not changed) and put back by zfs_fuse_down.sh.
if [ -e /var/lib/zfs/zpool.cache ]; then
    mv /var/lib/zfs/zpool.cache "$dir/zpool.cache.saved"
    echo "ZF_CACHE_SAVED=$dir/zpool.cache.saved" >>"$state"
fi

# --no-daemon in the background so that $! is the daemon itself; setsid keeps it out of the
# caller's process group (ctest must not kill it with the test's group).
setsid zfs-fuse --no-daemon --no-kstat-mount >"$dir/zfs-fuse.log" 2>&1 </dev/null &
pid=$!
echo "ZF_PID=$pid" >>"$state"

ready=0
for _ in $(seq 1 200); do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    if zpool list >/dev/null 2>&1; then
        ready=1
        break
    fi
    sleep 0.05
done
if [ "$ready" != 1 ]; then
    echo "zfs_fuse_up: zfs-fuse (pid $pid) did not come up within 10 s; its log:" >&2
    cat "$dir/zfs-fuse.log" >&2 || true
    exit 1
fi
[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = zfs-fuse ] || die "pid $pid is not the zfs-fuse daemon"

for pool in "$src" "$dst"; do
    truncate -s 512M "$dir/$pool.img" # sparse; zpool needs the absolute path
    # "Defaulting to 4K blocksize (ashift=12)" on stderr is harmless; keep it out of the way.
    if ! zpool create -o cachefile=none -O mountpoint=none -O atime=off "$pool" "$dir/$pool.img" \
        2>"$dir/zpool-create.err"; then
        cat "$dir/zpool-create.err" >&2
        die "zpool create $pool failed"
    fi
done
zpool list -H -o name "$src" "$dst" >/dev/null || die "the new pools are not listed"

trap - EXIT
printf 'zfs_fuse_up: zfs-fuse pid %s, pools %s and %s in %s (%.2f s)\n' "$pid" "$src" "$dst" "$dir" \
    "$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
