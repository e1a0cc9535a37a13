# Two zferry daemons for chaos scenarios, sourced after lib.sh: a sink daemon in namespace B
# serving tcp on $ADDR_B:7001 (the namespaces are private, so the port is fixed), a push daemon
# in namespace A, each on its own zfs-sim "host". Their control sockets are files, reachable
# from the test outside the namespaces.
#
#   daemons_setup ZFERRY ZFS_SIM   hosts, configs (push: manual snapshotting, one filesystem p/a)
#   zs ARGS / zd ARGS              zfs-sim on the sender / the receiver
#   start_sink / start_push        start a daemon (SINK_PID / PUSH_PID), wait for its socket;
#                                  the sink runs $SINK_ZFS instead of zfs-sim if set; the
#                                  pusher gets $PUSH_ENV (VAR=value words) and $PUSH_ARGS
#   push_status                    the push job's status JSON
#   status_field EXPR              a Python expression over `p` (the push job's status)
#   wait_until SECONDS EXPR        polls status_field until it is True
#   stop_daemons                   SIGTERM both, each must exit 0

daemons_setup() {
    ZFERRY=$1
    ZFS_SIM=$2
    SRC=$CHAOS_TMP/src
    DST=$CHAOS_TMP/dst
    RUN=$CHAOS_TMP/run
    mkdir -p "$SRC" "$DST" "$RUN"
    chmod 700 "$RUN"
    zs sim-create-pool p
    zs create p/a
    zd sim-create-pool q
    zd create q/sink
    cat >"$DST/zferry.yml" <<YML
global:
  logging: [{type: stdout, level: info, format: human}]
  control: {sockpath: $RUN/sink}
jobs:
  - name: sink1
    type: sink
    root_fs: q/sink
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
    filesystems: {"p/a": true}
    snapshotting: {type: manual}
    pruning:
      keep_sender: [{type: not_replicated}, {type: last_n, count: 10}]
      keep_receiver: [{type: last_n, count: 10}]
YML
}

zs() { ZFS_SIM_STATE=$SRC/zfs "$ZFS_SIM" "$@"; }
zd() { ZFS_SIM_STATE=$DST/zfs "$ZFS_SIM" "$@"; }

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
    ip netns exec "$NS_B" env ZFS_SIM_STATE="$DST/zfs" "$ZFERRY" daemon --config "$DST/zferry.yml" --zfs "${SINK_ZFS:-$ZFS_SIM}" \
        --stop-timeout 20 >>"$DST/log" 2>&1 &
    SINK_PID=$!
    wait_socket "$RUN/sink"
}
start_push() {
    rm -f "$RUN/push"
    # shellcheck disable=SC2086  # PUSH_ENV and PUSH_ARGS are lists of words
    ip netns exec "$NS_A" env ZFS_SIM_STATE="$SRC/zfs" ${PUSH_ENV:-} "$ZFERRY" daemon --config "$SRC/zferry.yml" \
        --zfs "$ZFS_SIM" --stop-timeout 20 ${PUSH_ARGS:-} >>"$SRC/log" 2>&1 &
    PUSH_PID=$!
    wait_socket "$RUN/push"
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

# No zfs-sim process of this scenario is left running.
# (Only this scenario's binary counts: other builds' tests may run zfs-sim meanwhile.)
no_zfs_children() {
    local pid exe left="" ours
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
        a=$(zs get -H -p -o value guid "p/a@$snap")
        b=$(zd get -H -p -o value guid "q/sink/host1/p/a@$snap" 2>/dev/null || true)
        [ -n "$a" ] && [ "$a" = "$b" ] || die "p/a@$snap: sender guid $a, receiver ${b:-missing}"
    done
}

# Abstractions after a finished replication: no step hold left on either side, one
# replication cursor per replicated filesystem on the sender, one last-received hold per
# filesystem on the receiver (zferry zfs-abstraction list, as an administrator would check).
abstractions_consistent() {
    local filesystems=$1 n
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
