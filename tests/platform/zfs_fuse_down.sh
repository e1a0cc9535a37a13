#!/usr/bin/env bash
# zfs_fuse_down.sh STATE_FILE: undoes zfs_fuse_up.sh: destroys the pools it created, stops the
# daemon it started (SIGTERM; the daemon takes 4-6 s to exit), unmounts what that daemon left
# mounted, puts back a zpool.cache it set aside, and removes its private directory and
# STATE_FILE. Touches nothing the up script did not create. Without STATE_FILE there is nothing
# to do. Exits non-zero if something could not be cleaned up.
set -euo pipefail

state=${1:?usage: zfs_fuse_down.sh STATE_FILE}
started=$(date +%s.%N)
if [ ! -e "$state" ]; then
    echo "zfs_fuse_down: no $state: nothing to clean up"
    exit 0
fi

ZF_DIR='' ZF_PID='' ZF_SRC_POOL='' ZF_DST_POOL='' ZF_CACHE_SAVED=''
while IFS='=' read -r key value; do
    case "$key" in
        ZF_DIR) ZF_DIR=$value ;;
        ZF_PID) ZF_PID=$value ;;
        ZF_SRC_POOL) ZF_SRC_POOL=$value ;;
        ZF_DST_POOL) ZF_DST_POOL=$value ;;
        ZF_CACHE_SAVED) ZF_CACHE_SAVED=$value ;;
        *) ;;
    esac
done <"$state"
case "$ZF_DIR" in
    /tmp/zferry-zfs-fuse.*) ;;
    *)
        echo "zfs_fuse_down: $state does not name a directory made by zfs_fuse_up.sh (ZF_DIR=$ZF_DIR)" >&2
        exit 1
        ;;
esac

failed=0
fail() {
    echo "zfs_fuse_down: $*" >&2
    failed=1
}

ours_running() {
    [ -n "$ZF_PID" ] && [ "$(cat "/proc/$ZF_PID/comm" 2>/dev/null || true)" = zfs-fuse ]
}

if ours_running; then
    for pool in "$ZF_SRC_POOL" "$ZF_DST_POOL"; do
        [ -n "$pool" ] || continue
        if zpool list -H -o name "$pool" >/dev/null 2>&1; then
            zpool destroy -f "$pool" || fail "zpool destroy $pool failed"
        fi
    done
    kill -TERM "$ZF_PID" 2>/dev/null || true
    for _ in $(seq 1 300); do
        ours_running || break
        sleep 0.05
    done
    if ours_running; then
        fail "zfs-fuse (pid $ZF_PID) ignored SIGTERM for 15 s; killing it"
        kill -KILL "$ZF_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            ours_running || break
            sleep 0.05
        done
        ours_running && fail "zfs-fuse (pid $ZF_PID) survived SIGKILL"
    fi
fi

# Mounts of our pools that a dead daemon left behind.
for pool in "$ZF_SRC_POOL" "$ZF_DST_POOL"; do
    [ -n "$pool" ] || continue
    awk -v p="$pool" '$3 == "fuse.zfs" && ($1 == p || index($1, p "/") == 1) { print $2 }' /proc/mounts |
        sort -r | while read -r m; do umount -l "$m" || true; done
done
# The daemon removes its socket on SIGTERM, but not after SIGKILL.
if ! ours_running && [ -n "$ZF_PID" ] && [ -S /var/run/zfs/zfs_socket ] && ! zpool list >/dev/null 2>&1; then
    rm -f /var/run/zfs/zfs_socket
fi

if [ -n "$ZF_CACHE_SAVED" ]; then
    if [ -e "$ZF_CACHE_SAVED" ]; then
        mv -f "$ZF_CACHE_SAVED" /var/lib/zfs/zpool.cache || fail "could not put back /var/lib/zfs/zpool.cache"
    fi
elif [ -n "$ZF_PID" ]; then
    # There was no cache before our daemon; one written since is ours (it lists no pool:
    # ours have cachefile=none).
    rm -f /var/lib/zfs/zpool.cache
fi

rm -rf "$ZF_DIR" || fail "could not remove $ZF_DIR"
if [ "$failed" = 0 ]; then
    rm -f "$state"
    printf 'zfs_fuse_down: stopped zfs-fuse pid %s, removed %s (%.2f s)\n' "${ZF_PID:-none}" "$ZF_DIR" \
        "$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
else
    echo "zfs_fuse_down: cleanup incomplete; $state kept" >&2
    exit 1
fi
