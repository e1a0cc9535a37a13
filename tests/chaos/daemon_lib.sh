# Two zferry daemons for chaos scenarios, sourced after lib.sh: a sink daemon in namespace B
# serving tcp on $ADDR_B:7001 (the namespaces are private, so the port is fixed), a push daemon
# in namespace A. Their control sockets are files, reachable from the test outside the
# namespaces. Two ZFS back ends:
#   zfs-sim    each daemon on its own simulated host; the sender's filesystem is p/a, the
#              sink's root_fs q/sink
#   zfs-fuse   both daemons on the zfs-fuse daemon of the platform fixture (its socket is a
#              file, so `zfs` works inside the namespaces): the sender's filesystem
#              <src pool>/chaos<PID>, the sink's root_fs <dst pool>/chaos<PID>_sink; the EXIT
#              trap releases their holds and destroys them
#
#   daemons_setup ZFERRY BACKEND   BACKEND: the zfs-sim binary, or zfs-fuse:ENV_FILE (the file
#                                  zfs_fuse_up.sh wrote). Sets BACKEND (zfs-sim|zfs-fuse),
#                                  SRC_FS, SINK_ROOT, DST_FS (where SRC_FS lands), the
#                                  filesystems and configs (push: manual snapshotting)
#   zs ARGS / zd ARGS              zfs on the sender / the receiver
#   src_write FILE                 FILE becomes the sender filesystem's data
#   start_sink / start_push        start a daemon (SINK_PID / PUSH_PID), wait for its socket;
#                                  the sink runs $SINK_ZFS instead of the back end's zfs if set,
#                                  and with a soft and hard descriptor limit of $SINK_NOFILE if
#                                  set; the pusher gets $PUSH_ENV (VAR=value words) and $PUSH_ARGS
#   push_status                    the push job's status JSON
#   status_field EXPR              a Python expression over `p` (the push job's status; helpers
#                                  steps, attempts, unfinished_bytes)
#   wait_until SECONDS EXPR        polls status_field until it is True
#   stop_daemons                   SIGTERM both, each must exit 0
#   no_zfs_children                no zfs process of this scenario is left
#   same_guids SNAP...             each SRC_FS@SNAP is on the receiver with the sender's GUID
#   same_content SNAP              the receiver's DST_FS@SNAP holds the sender's data
#   abstractions_consistent N      no step hold, N cursors and N last-received holds
#   resources_baseline / resources_back_to_baseline
#                                  each daemon's VmRSS and open fds, sampled by start_sink and
#                                  start_push at their first idle moment, compared at the end

daemons_setup() {
    ZFERRY=$1
    SRC=$CHAOS_TMP/src
    DST=$CHAOS_TMP/dst
    RUN=$CHAOS_TMP/run
    mkdir -p "$SRC" "$DST" "$RUN"
    chmod 700 "$RUN"
    case "$2" in
        zfs-fuse:*)
            BACKEND=zfs-fuse
            zfs_fuse_setup "${2#zfs-fuse:}"
            ;;
        *)
            BACKEND=zfs-sim
            ZFS_SIM=$2
            ZFS_BIN=$ZFS_SIM
            SRC_FS=p/a
            SINK_ROOT=q/sink
            zs sim-create-pool p
            zs create p/a
            zd sim-create-pool q
            zd create q/sink
            ;;
    esac
    DST_FS=$SINK_ROOT/host1/$SRC_FS
    cat >"$DST/zferry.yml" <<YML
global:
  logging: [{type: stdout, level: info, format: human}]
  control: {sockpath: $RUN/sink}
jobs:
  - name: sink1
    type: sink
    root_fs: $SINK_ROOT
    recv: {placeholder: {encryption: inherit}}
    serve:
      type: tcp
      listen: "$ADDR_B:7001"
      clients: {"$ADDR_A": "host1"}
YML
    cat >"$SRC/zferry.yml" <<YML
global:
  logging: [{type: stdout, level: info, format: human}]
  control: {sockpath: $RUN/push}
jobs:
  - name: push1
    type: push
    connect: {type: tcp, address: "$ADDR_B:7001"}
    filesystems: {"$SRC_FS": true}
    snapshotting: {type: manual}
    pruning:
      keep_sender: [{type: not_replicated}, {type: last_n, count: 10}]
      keep_receiver: [{type: last_n, count: 10}]
YML
}

# The zfs-fuse back end: the pools of the platform fixture (ENV_FILE, from zfs_fuse_up.sh),
# filesystems of this run's own below them, removed by the EXIT trap (CHAOS_DOWN_HOOK).
zfs_fuse_setup() {
    local env=$1 key value
    [ -r "$env" ] || die "no $env: the zfs-fuse fixture (ctest's platform.zfs_fuse_up) did not run"
    ZF_SRC_POOL='' ZF_DST_POOL=''
    while IFS='=' read -r key value; do
        case "$key" in
            ZF_SRC_POOL) ZF_SRC_POOL=$value ;;
            ZF_DST_POOL) ZF_DST_POOL=$value ;;
            *) ;;
        esac
    done <"$env"
    if [ -z "$ZF_SRC_POOL" ] || [ -z "$ZF_DST_POOL" ]; then die "$env names no pools"; fi
    ZFS_BIN=$(command -v zfs) || die "zfs is missing (Debian package zfs-fuse)"
    zpool list -H -o name "$ZF_SRC_POOL" "$ZF_DST_POOL" >/dev/null ||
        die "the fixture's pools $ZF_SRC_POOL and $ZF_DST_POOL are not imported (is zfs-fuse running?)"
    SRC_FS=$ZF_SRC_POOL/chaos$$
    SINK_ROOT=$ZF_DST_POOL/chaos$$_sink
    CHAOS_DOWN_HOOK=zfs_fuse_cleanup
    zs create -o mountpoint=none "$SRC_FS"
    zd create -o mountpoint=none "$SINK_ROOT"
}

# Holds this scenario's jobs may have left (zfs-fuse cannot list hold tags: each is tried), then
# the scenario's filesystems. A receive the killed daemons left ends asynchronously and unmounts
# are asynchronous on zfs-fuse: "dataset is busy" is retried for up to 30 s.
zfs_fuse_cleanup() {
    local snap refs tag ds i
    for ds in "$SRC_FS" "$SINK_ROOT" "$ZF_SRC_POOL/chaos$$_check" "$ZF_DST_POOL/chaos$$_check"; do
        zfs list -H -o name "$ds" >/dev/null 2>&1 || continue
        zfs umount "$ds" >/dev/null 2>&1 || true
        for i in $(seq 1 60); do
            zfs list -H -o name,userrefs -t snapshot -r "$ds" 2>/dev/null | while read -r snap refs; do
                [ "$refs" = 0 ] && continue
                for tag in zrepl_STEP_J_push1 zrepl_STEP_J_sink1 zrepl_last_received_J_sink1 zferry_CURSOR_J_push1; do
                    zfs release "$tag" "$snap" >/dev/null 2>&1 || true
                done
            done
            zfs destroy -r "$ds" >/dev/null 2>&1 && break
            sleep 0.5
        done
        zfs list -H -o name "$ds" >/dev/null 2>&1 && echo "chaos: could not destroy $ds (the fixture's teardown destroys its pool)" >&2
    done
    return 0
}

zs() { ZFS_SIM_STATE=$SRC/zfs "$ZFS_BIN" "$@"; }
zd() { ZFS_SIM_STATE=$DST/zfs "$ZFS_BIN" "$@"; }

# zfs-fuse mounts asynchronously.
wait_mounted() {
    local i
    for i in $(seq 1 200); do
        awk -v m="$1" '$2 == m && $3 == "fuse.zfs" { found = 1 } END { exit !found }' /proc/mounts && return 0
        sleep 0.05
    done
    die "$1 is not mounted after 10 s"
}

src_write() {
    if [ "$BACKEND" = zfs-sim ]; then
        zs sim-write "$SRC_FS" "$1"
        return
    fi
    mkdir -p "$CHAOS_TMP/mnt"
    zs set mountpoint="$CHAOS_TMP/mnt" "$SRC_FS"
    wait_mounted "$CHAOS_TMP/mnt"
    dd if="$1" of="$CHAOS_TMP/mnt/data" bs=1M conv=fsync status=none
    zs umount "$SRC_FS"
    zs set mountpoint=none "$SRC_FS"
}

# The data of a snapshot: zfs-sim reads it; on zfs-fuse the file is read through a clone on the
# snapshot's own pool (mounting the received filesystem itself would dirty it).
snapshot_sha256() {
    local snap=$1 clone mnt sum
    if [ "$BACKEND" = zfs-sim ]; then
        if [ "${snap%%/*}" = p ]; then zs sim-read "$snap"; else zd sim-read "$snap"; fi | sha256sum | cut -d' ' -f1
        return
    fi
    clone=${snap%%/*}/chaos$$_check
    mnt=$CHAOS_TMP/check
    mkdir -p "$mnt"
    zfs clone -o mountpoint="$mnt" "$snap" "$clone"
    wait_mounted "$mnt"
    sum=$(sha256sum <"$mnt/data" | cut -d' ' -f1)
    zfs umount "$clone"
    local i
    for i in $(seq 1 20); do
        zfs destroy "$clone" 2>/dev/null && break
        sleep 0.5
    done
    echo "$sum"
}

same_content() {
    local a b
    a=$(snapshot_sha256 "$SRC_FS@$1")
    b=$(snapshot_sha256 "$DST_FS@$1")
    [ "$a" = "$b" ] || die "$DST_FS@$1 holds data with SHA-256 $b, the sender's $SRC_FS@$1 $a"
}

wait_socket() {
    local i
    for i in $(seq 1 200); do
        [ -S "$1" ] && return 0
        sleep 0.05
    done
    die "no control socket $1 after 10 s"
}

start_sink() {
    rm -f "$RUN/sink"
    # (ip netns exec directly, not the in_b function: a backgrounded function is a subshell,
    # and $! would be that shell instead of the daemon.)
    ip netns exec "$NS_B" ${SINK_NOFILE:+prlimit --nofile="$SINK_NOFILE" --} env ZFS_SIM_STATE="$DST/zfs" "$ZFERRY" daemon --config "$DST/zferry.yml" --zfs "${SINK_ZFS:-$ZFS_BIN}" \
        --stop-timeout 20 >>"$DST/log" 2>&1 &
    SINK_PID=$!
    wait_socket "$RUN/sink"
    resources_baseline sink "$SINK_PID"
}
start_push() {
    rm -f "$RUN/push"
    # shellcheck disable=SC2086  # PUSH_ENV and PUSH_ARGS are lists of words
    ip netns exec "$NS_A" env ZFS_SIM_STATE="$SRC/zfs" ${PUSH_ENV:-} "$ZFERRY" daemon --config "$SRC/zferry.yml" \
        --zfs "$ZFS_BIN" --stop-timeout 20 ${PUSH_ARGS:-} >>"$SRC/log" 2>&1 &
    PUSH_PID=$!
    wait_socket "$RUN/push"
    resources_baseline push "$PUSH_PID"
}

# A daemon's resident memory (KiB) and open descriptors, from /proc.
proc_rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
proc_fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

# The baseline of daemon ROLE (sink or push): its first idle moment, i.e. once its control
# socket answers (jobs started, listeners up, nothing replicated yet). A daemon restarted in
# the middle of a scenario is busy at once (the pusher retries), so the first start's
# baseline stays the role's: same binary, same configuration.
declare -A BASE_RSS BASE_FDS
resources_baseline() {
    local role=$1 pid=$2 i
    [ -z "${BASE_RSS[$role]:-}" ] || return 0
    for i in $(seq 1 50); do
        "$ZFERRY" status --json --config "$([ "$role" = sink ] && echo "$DST" || echo "$SRC")/zferry.yml" \
            >/dev/null 2>&1 && break
        sleep 0.1
    done
    sleep 0.5
    BASE_RSS[$role]=$(proc_rss_kib "$pid")
    BASE_FDS[$role]=$(proc_fds "$pid")
}

# At the end of a scenario (replication finished, jobs idle again, before the stop): each
# daemon's RSS and fd count are back near their baseline. Generous on memory (allocator and
# buffer pools keep what a transfer used: up to 2x the baseline + 32 MiB), tight on
# descriptors (baseline + 8: a kept control connection, a log file; never one per request).
# Prints both samples; RESOURCES gets a short summary for the verdict.
resources_back_to_baseline() {
    local role pid rss fds base_rss base_fds i summary=""
    for role in sink push; do
        pid=$([ "$role" = sink ] && echo "$SINK_PID" || echo "$PUSH_PID")
        base_rss=${BASE_RSS[$role]:?no baseline for the $role daemon}
        base_fds=${BASE_FDS[$role]}
        # Connections closed a moment ago may still be on their way out.
        for i in $(seq 1 50); do
            fds=$(proc_fds "$pid")
            [ "$fds" -le $((base_fds + 8)) ] && break
            sleep 0.1
        done
        rss=$(proc_rss_kib "$pid")
        echo "resources: $role daemon RSS $(mib "$base_rss") at its first idle moment, $(mib "$rss") at the end; fds $base_fds, then $fds"
        [ "$rss" -le $((2 * base_rss + 32768)) ] ||
            die "the $role daemon's RSS grew from $(mib "$base_rss") to $(mib "$rss") (limit 2x + 32 MiB)"
        [ "$fds" -le $((base_fds + 8)) ] ||
            die "the $role daemon holds $fds descriptors at the end, $base_fds at its first idle moment: $(ls -l "/proc/$pid/fd" | tail -n +2 | awk '{print $NF}' | sort | uniq -c | sort -rn | head -5 | tr '\n' ';')"
        summary="$summary${summary:+, }$role RSS $(mib "$base_rss")->$(mib "$rss") fds $base_fds->$fds"
    done
    RESOURCES=$summary
}

push_status() { "$ZFERRY" status --json --config "$SRC/zferry.yml" 2>/dev/null; }

# A Python expression over p (the push job's status; None when the daemon does not answer).
status_field() {
    push_status | /usr/bin/python3 -c '
import json, sys
try:
    p = json.load(sys.stdin)["Jobs"]["push1"]["push"]
except Exception:
    p = None
def steps(attempt):
    return [s for f in attempt["Filesystems"] for s in f["Steps"]]
def attempts():
    return (p or {}).get("Replication") and p["Replication"]["Attempts"] or []
def unfinished_bytes():
    # What the steps that earlier attempts failed in had moved (Steps[CurrentStep] of a
    # filesystem that did not finish): sent again from the first byte where ZFS cannot resume.
    return sum(f["Steps"][f["CurrentStep"]]["Info"]["BytesReplicated"] for a in attempts()[:-1]
               for f in a["Filesystems"] if f["CurrentStep"] < len(f["Steps"]))
try:
    print(eval(sys.argv[1]))
except Exception:
    print(None)
' "$1"
}

wait_until() {
    local seconds=$1 expr=$2 i
    for i in $(seq 1 $((seconds * 5))); do
        [ "$(status_field "$expr")" = True ] && return 0
        sleep 0.2
    done
    echo "--- push status:" >&2
    push_status >&2 || true
    echo "--- push log:" >&2
    tail -n 40 "$SRC/log" >&2 || true
    echo "--- sink log:" >&2
    tail -n 40 "$DST/log" >&2 || true
    die "not within ${seconds} s: $expr"
}

stop_daemons() {
    local rc=0
    kill -TERM "$PUSH_PID" 2>/dev/null || true
    wait "$PUSH_PID" || rc=$?
    [ "$rc" = 0 ] || die "the push daemon exited with $rc on SIGTERM"
    kill -TERM "$SINK_PID" 2>/dev/null || true
    wait "$SINK_PID" || rc=$?
    [ "$rc" = 0 ] || die "the sink daemon exited with $rc on SIGTERM"
}

# No zfs process of this scenario is left running. zfs-sim: no process of this scenario's
# binary (other builds' tests may run zfs-sim meanwhile). zfs-fuse: no zfs in either namespace
# (the daemons' children inherit their namespace; the daemons themselves are stopped).
no_zfs_children() {
    local pid exe left="" ours ns
    if [ "$BACKEND" = zfs-fuse ]; then
        for ns in "$NS_A" "$NS_B"; do
            for pid in $(ip netns pids "$ns" 2>/dev/null || true); do
                [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = zfs ] && left="$left $pid"
            done
        done
        [ -z "$left" ] || die "zfs processes left in the namespaces:$left"
        return 0
    fi
    ours=$(readlink -f "$ZFS_SIM")
    for pid in $(pgrep -x zfs-sim || true); do
        exe=$(readlink -f "/proc/$pid/exe" 2>/dev/null || true)
        [ "$exe" = "$ours" ] && left="$left $pid"
    done
    [ -z "$left" ] || die "zfs-sim processes left:$left"
}

same_guids() {
    local snap
    for snap in "$@"; do
        local a b
        a=$(zs get -H -p -o value guid "$SRC_FS@$snap")
        b=$(zd get -H -p -o value guid "$DST_FS@$snap" 2>/dev/null || true)
        [ -n "$a" ] && [ "$a" = "$b" ] || die "$SRC_FS@$snap: sender guid $a, receiver ${b:-missing}"
    done
}

# Abstractions after a finished replication: no step hold left on either side, one
# replication cursor per replicated filesystem on the sender, one last-received hold per
# filesystem on the receiver (zferry zfs-abstraction list, as an administrator would check).
abstractions_consistent() {
    local filesystems=$1 n
    if [ "$BACKEND" = zfs-fuse ]; then
        [ "$filesystems" = 1 ] || die "abstractions_consistent on zfs-fuse knows one filesystem, not $filesystems"
        abstractions_consistent_zfs_fuse
        return
    fi
    n=$(ZFS_SIM_STATE=$SRC/zfs "$ZFERRY" zfs-abstraction list --json --type step-hold --zfs "$ZFS_SIM" | grep -c . || true)
    [ "$n" = 0 ] || die "$n step hold(s) leaked on the sender"
    n=$(ZFS_SIM_STATE=$DST/zfs "$ZFERRY" zfs-abstraction list --json --type step-hold --zfs "$ZFS_SIM" | grep -c . || true)
    [ "$n" = 0 ] || die "$n step hold(s) leaked on the receiver"
    n=$(ZFS_SIM_STATE=$SRC/zfs "$ZFERRY" zfs-abstraction list --json --type replication-cursor-bookmark-v2 \
        --job push1 --zfs "$ZFS_SIM" | grep -c . || true)
    [ "$n" = "$filesystems" ] || die "$n replication cursors on the sender, expected $filesystems"
    n=$(ZFS_SIM_STATE=$DST/zfs "$ZFERRY" zfs-abstraction list --json --type last-received-hold \
        --zfs "$ZFS_SIM" | grep -c . || true)
    [ "$n" = "$filesystems" ] || die "$n last-received holds on the receiver, expected $filesystems"
}

# The snapshots of this scenario that `zferry zfs-abstraction list` reports as held: zfs-fuse
# cannot list hold tags (no `zfs holds`), so it names them on stderr instead.
held_snapshots_zfs_fuse() {
    "$ZFERRY" zfs-abstraction list --zfs "$ZFS_BIN" 2>&1 >/dev/null |
        sed -n 's/^zferry: \(.*\) has holds whose tags this zfs cannot list.*/\1/p' |
        grep -E "^($SRC_FS|$SINK_ROOT)[/@]" | sort | tr '\n' ' ' || true
}

# zfs-fuse has no bookmarks: the sender's cursor is a hold (zferry_CURSOR_J_push1) plus the
# property zferry:cursor:push1 naming its snapshot's GUID. After a clean run the only held
# snapshots are the sender's newest (the cursor) and the receiver's newest (its last-received
# hold); once both are released by their tags nothing is held, so no step hold leaked. Releases
# them (the scenario is over).
abstractions_consistent_zfs_fuse() {
    local src_newest dst_newest held expected cursor guid
    src_newest=$(zs list -H -o name -t snapshot -s createtxg -r "$SRC_FS" | tail -n 1)
    dst_newest=$(zd list -H -o name -t snapshot -s createtxg -r "$DST_FS" | tail -n 1)
    held=$(held_snapshots_zfs_fuse)
    expected=$(printf '%s\n%s\n' "$src_newest" "$dst_newest" | sort | tr '\n' ' ')
    [ "$held" = "$expected" ] || die "held snapshots: ${held:-none}; expected exactly $expected"
    [ "$(zs get -H -o value userrefs "$src_newest")" = 1 ] || die "$src_newest has more than the cursor's hold"
    [ "$(zd get -H -o value userrefs "$dst_newest")" = 1 ] || die "$dst_newest has more than the last-received hold"
    cursor=$(zs get -H -o value zferry:cursor:push1 "$SRC_FS")
    guid=$(zs get -H -p -o value guid "$src_newest")
    [ "$cursor" = "$guid" ] || die "the cursor property of $SRC_FS is $cursor, $src_newest has GUID $guid"
    zs release zferry_CURSOR_J_push1 "$src_newest" || die "the hold on $src_newest is not the cursor"
    zd release zrepl_last_received_J_sink1 "$dst_newest" || die "the hold on $dst_newest is not the last-received hold"
    held=$(held_snapshots_zfs_fuse)
    [ -z "$held" ] || die "still held once the cursor and the last-received hold are released (a step hold leaked?): $held"
}
