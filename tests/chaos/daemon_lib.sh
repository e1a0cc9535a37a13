# Two zferry daemons for chaos scenarios, sourced after lib.sh: a sink daemon in namespace B
# serving tcp on $ADDR_B:7001 (the namespaces are private, so the port is fixed), a push daemon
# in namespace A, each on its own zfs-sim "host". Their control sockets are files, reachable
# from the test outside the namespaces.
#
#   daemons_setup ZFERRY ZFS_SIM   hosts, configs (push: manual snapshotting, one filesystem p/a)
#   zs ARGS / zd ARGS              zfs-sim on the sender / the receiver
#   start_sink / start_push        start a daemon (SINK_PID / PUSH_PID), wait for its socket;
#                                  the sink runs $SINK_ZFS instead of zfs-sim if set, and with
#                                  a soft and hard descriptor limit of $SINK_NOFILE if set; the
#                                  pusher gets $PUSH_ENV (VAR=value words) and $PUSH_ARGS
#   push_status                    the push job's status JSON
#   status_field EXPR              a Python expression over `p` (the push job's status)
#   wait_until SECONDS EXPR        polls status_field until it is True
#   stop_daemons                   SIGTERM both, each must exit 0
#   resources_baseline / resources_back_to_baseline
#                                  each daemon's VmRSS and open fds, sampled by start_sink and
#                                  start_push at their first idle moment, compared at the end

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
    ip netns exec "$NS_B" ${SINK_NOFILE:+prlimit --nofile="$SINK_NOFILE" --} env ZFS_SIM_STATE="$DST/zfs" "$ZFERRY" daemon --config "$DST/zferry.yml" --zfs "${SINK_ZFS:-$ZFS_SIM}" \
        --stop-timeout 20 >>"$DST/log" 2>&1 &
    SINK_PID=$!
    wait_socket "$RUN/sink"
    resources_baseline sink "$SINK_PID"
}
start_push() {
    rm -f "$RUN/push"
    # shellcheck disable=SC2086  # PUSH_ENV and PUSH_ARGS are lists of words
    ip netns exec "$NS_A" env ZFS_SIM_STATE="$SRC/zfs" ${PUSH_ENV:-} "$ZFERRY" daemon --config "$SRC/zferry.yml" \
        --zfs "$ZFS_SIM" --stop-timeout 20 ${PUSH_ARGS:-} >>"$SRC/log" 2>&1 &
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
