#!/usr/bin/env bash
# two_pools_tls.sh [--zferry BIN] [--pools ENV_FILE] [--mib N]: zferry end to end on real ZFS.
#
# Starts zfs-fuse with two file-backed pools (tests/platform/zfs_fuse_up.sh), makes a CA and two
# certificates with the openssl CLI, writes a sink job (mutual TLS on 127.0.0.1) and a push job
# (periodic snapshots every minute, replication over TLS, pruning on both sides), runs both
# daemons, shows `zferry status --mode dump` while the first replication runs, takes one more
# snapshot and replicates it incrementally (`zferry signal wakeup`), and ends by listing the
# snapshots that arrived on the sink beside the source's, GUID by GUID. Exits 0 only when every
# source snapshot is on the sink with the same GUID. Everything it made is removed at exit, even
# after a failure or Ctrl-C, so it can run twice in a row.
#
# --pools ENV_FILE uses the pools of a zfs-fuse that is already running (the platform tests'
# fixture: ZF_DIR, ZF_SRC_POOL, ZF_DST_POOL) instead of starting one; the demo's datasets are
# then made under them and destroyed at exit. Needs root (zfs-fuse), zfs-fuse, openssl, python3.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
zferry=$root/build/release/tools/zferry/zferry
pools_env=
mib=192
while (($#)); do
    case "$1" in
    --zferry) zferry=$2; shift 2 ;;
    --pools) pools_env=$2; shift 2 ;;
    --mib) mib=$2; shift 2 ;;
    *) echo "usage: two_pools_tls.sh [--zferry BIN] [--pools ENV_FILE] [--mib N]" >&2; exit 2 ;;
    esac
done
[ -x "$zferry" ] || { echo "demo: $zferry is not built (bash tools/dev/build.sh release zferry)" >&2; exit 1; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

work=$(mktemp -d /tmp/zferry-demo.XXXXXX)
pids=()
own_pools=0
src_fs= dst_fs=
cleanup() {
    local rc=$?
    set +e
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if ((own_pools)); then
        bash "$root/tests/platform/zfs_fuse_down.sh" "$work/zfs-fuse.env" >/dev/null 2>&1
    else
        [ -n "$src_fs" ] && zfs destroy -r "$src_fs" >/dev/null 2>&1
        [ -n "$dst_fs" ] && zfs destroy -r "$dst_fs" >/dev/null 2>&1
    fi
    if ((rc != 0)); then
        for d in sink push; do
            [ -f "$work/$d/daemon.log" ] && { echo "--- $d daemon log (last 30 lines)"; tail -30 "$work/$d/daemon.log"; }
        done >&2
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Polls `cond` (a shell command) every 0.2 s until it succeeds or `secs` pass.
wait_until() {
    local secs=$1
    shift
    local end=$((SECONDS + secs))
    until "$@"; do
        ((SECONDS < end)) || return 1
        sleep 0.2
    done
}

say "zfs-fuse: two file-backed pools"
if [ -n "$pools_env" ]; then
    # shellcheck disable=SC1090
    . "$pools_env"
else
    bash "$root/tests/platform/zfs_fuse_up.sh" "$work/zfs-fuse.env"
    own_pools=1
    # shellcheck disable=SC1091
    . "$work/zfs-fuse.env"
fi
tag=demo$$
src_fs=$ZF_SRC_POOL/$tag
dst_fs=$ZF_DST_POOL/$tag
zfs create "$src_fs"
zfs create "$src_fs/app"
zfs create "$src_fs/app/db"
zfs create "$dst_fs"
zfs create "$dst_fs/sink"
echo "source: $src_fs/app (and app/db)   sink root: $dst_fs/sink"

# Some data, so that the first replication takes long enough to watch.
mnt=$work/mnt
mkdir -p "$mnt"
zfs set mountpoint="$mnt" "$src_fs/app"
head -c "$((mib * 1024 * 1024))" /dev/urandom >"$mnt/data.bin"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$mnt/db/table.bin"
zfs umount "$src_fs/app/db" >/dev/null 2>&1 || true
zfs umount "$src_fs/app" >/dev/null 2>&1 || true
zfs set mountpoint=none "$src_fs/app"
echo "wrote $mib MiB into $src_fs/app and 4 MiB into $src_fs/app/db"

say "certificates from the openssl CLI: a CA, the sink (sink.demo), the pushing host (host1)"
certs=$work/certs
mkdir -p "$certs"
(
    cd "$certs"
    key=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${key[@]}" -keyout ca.key -out ca.crt -subj /CN=demo-ca -days 2 2>/dev/null
    for cn in sink.demo host1; do
        openssl req "${key[@]}" -keyout $cn.key -out $cn.csr -subj /CN=$cn 2>/dev/null
        printf 'subjectAltName=DNS:%s\n' $cn >$cn.ext
        openssl x509 -req -in $cn.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $cn.crt -days 2 \
            -extfile $cn.ext 2>/dev/null
    done
)
ls "$certs"/*.crt | sed 's|.*/|  |'

mkdir -p "$work/sink" "$work/push"
chmod 700 "$work/sink" "$work/push"
cat >"$work/sink/zferry.yml" <<EOF
global:
  logging:
    - {type: stdout, level: info, format: human}
  control:
    sockpath: $work/sink/control.sock
jobs:
  - name: sink1
    type: sink
    root_fs: $dst_fs/sink
    recv: {placeholder: {encryption: inherit}}
    serve:
      type: tls
      listen: "127.0.0.1:0"
      ca: $certs/ca.crt
      cert: $certs/sink.demo.crt
      key: $certs/sink.demo.key
      client_cns: [host1]
EOF

say "sink daemon (zrepl's config format): serves mutual TLS on 127.0.0.1"
sed 's/^/  /' "$work/sink/zferry.yml"
"$zferry" --config "$work/sink/zferry.yml" daemon >"$work/sink/daemon.log" 2>&1 &
pids+=($!)
port=
listening() {
    port=$(sed -n 's/.*serving on tls 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/sink/daemon.log" | head -1)
    [ -n "$port" ]
}
wait_until 10 listening || die "the sink daemon does not listen"
echo "sink listens on 127.0.0.1:$port"

cat >"$work/push/zferry.yml" <<EOF
global:
  logging:
    - {type: stdout, level: info, format: human}
  control:
    sockpath: $work/push/control.sock
jobs:
  - name: push1
    type: push
    connect:
      type: tls
      address: "127.0.0.1:$port"
      ca: $certs/ca.crt
      cert: $certs/host1.crt
      key: $certs/host1.key
      server_cn: sink.demo
    filesystems: {"$src_fs/app<": true}
    send:
      bandwidth_limit: {max: "64 MiB", bucket_capacity: "1 MiB"}
    snapshotting: {type: periodic, prefix: zferry_, interval: 1m}
    pruning:
      keep_sender:
        - {type: not_replicated}
        - {type: last_n, count: 10}
      keep_receiver:
        - {type: last_n, count: 10}
EOF
say "push daemon: snapshots every minute (the first at once), replicates over TLS at most 64 MiB/s, prunes"
sed 's/^/  /' "$work/push/zferry.yml"
"$zferry" --config "$work/push/zferry.yml" daemon >"$work/push/daemon.log" 2>&1 &
pids+=($!)

status_json() { "$zferry" --config "$work/push/zferry.yml" status --mode raw 2>/dev/null; }
# Prints the number of finished invocations of push1 whose last attempt is done, or nothing.
invocation_done() {
    status_json | python3 -c '
import json, sys
p = json.load(sys.stdin)["Jobs"]["push1"]["push"]
r = p.get("Replication")
if r and r.get("FinishAt") and p.get("State") == "waiting" and r["Attempts"] and r["Attempts"][-1]["State"] == "done":
    print(p["Invocations"])
' 2>/dev/null
}
wait_invocation() { [ "$(invocation_done)" = "$1" ]; }

say "zferry status --mode dump, while the first replication runs"
shown=0
end=$((SECONDS + 120))
until wait_invocation 1; do
    ((SECONDS < end)) || die "the first replication did not finish within 120 s"
    if ((shown < 4)) && "$zferry" --config "$work/push/zferry.yml" status --mode dump >"$work/dump" 2>/dev/null &&
        grep -q "stepping" "$work/dump"; then
        echo "--- $(date -u +%T)"
        cat "$work/dump"
        shown=$((shown + 1))
        sleep 1
    fi
    sleep 0.2
done
echo "--- $(date -u +%T), finished:"
"$zferry" --config "$work/push/zferry.yml" status --mode dump

say "one more snapshot by hand, then zferry signal wakeup push1: an incremental step"
zfs snapshot "$src_fs/app@by_hand"
zfs snapshot "$src_fs/app/db@by_hand"
"$zferry" --config "$work/push/zferry.yml" signal wakeup push1
wait_until 60 wait_invocation 2 || die "the incremental replication did not finish within 60 s"
"$zferry" --config "$work/push/zferry.yml" status --mode dump | tail -n +1

say "snapshots on the source and on the sink, with their GUIDs"
# zfs-fuse's `zfs list` prints GUIDs rounded (10.8E) and has no -p: `zfs get -Hp` of the names.
guids() {
    # shellcheck disable=SC2046
    zfs get -H -p -o name,value guid $(zfs list -H -r -t snapshot -o name "$1") | sort
}
guids "$src_fs/app" >"$work/src.guids"
guids "$dst_fs/sink" >"$work/dst.guids"
python3 - "$work/src.guids" "$work/dst.guids" "$src_fs" "$dst_fs/sink/host1" <<'EOF'
import sys
src = dict(l.split("\t") for l in open(sys.argv[1]).read().splitlines())
dst = dict(l.split("\t") for l in open(sys.argv[2]).read().splitlines())
src_prefix, dst_prefix = sys.argv[3], sys.argv[4] + "/" + sys.argv[3]
print(f"{'source snapshot':<48} {'guid':>20}   on the sink")
missing = 0
for name, guid in sorted(src.items()):
    there = dst.get(dst_prefix + name[len(src_prefix):])
    ok = there == guid
    missing += not ok
    print(f"{name:<48} {guid:>20}   {'same guid' if ok else 'MISSING' if there is None else 'GUID ' + there}")
print(f"\n{len(src) - missing} of {len(src)} source snapshots are on the sink below {dst_prefix} with equal GUIDs")
sys.exit(1 if missing or not src else 0)
EOF

say "what protects the next incremental on the source"
# zfs-fuse has no bookmarks and cannot list hold tags: zferry keeps its replication cursor as a
# hold on the last replicated snapshot plus the property below (`zferry zfs-abstraction list`
# names every hold and bookmark on a ZFS that can list them).
# shellcheck disable=SC2046
zfs get -H -p -o name,property,value userrefs $(zfs list -H -r -t snapshot -o name "$src_fs/app")
zfs get -H -o name,property,value,source zferry:cursor:push1 "$src_fs/app" "$src_fs/app/db"
echo
echo "demo: done; cleaning up"
