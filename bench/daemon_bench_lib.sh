# Sourced by daemon_resources.sh and soak_steps.sh: one zferry daemon on zfs-sim with a push job
# (push1) and a sink job (sink1) over the local transport, and what both sample of it.
# The sourcing script sets $dir (its scratch directory, the zfs-sim host's state below it),
# $zferry, $zfs_sim and $keep (non-empty: leave $dir behind) first; on exit the daemon is
# stopped and $dir removed.
daemon=
export ZFS_SIM_STATE=$dir/zfs
bench_cleanup() {
    [ -n "$daemon" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    if [ -n "$keep" ]; then echo "kept $dir" >&2; else rm -rf "$dir"; fi
}
trap bench_cleanup EXIT
z() { "$zfs_sim" "$@"; }
ctl() { "$zferry" --config "$dir/zferry.yml" "$@"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# Writes $dir/zferry.yml: push1 (filesystems below p, manual snapshotting, nothing pruned) into
# sink1 (root_fs q/sink). $1: push1's replication section as a YAML flow map.
write_push_sink_config() {
    cat >"$dir/zferry.yml" <<EOF
global:
  logging: [{type: stdout, level: warn, format: human}]
  control: {sockpath: $dir/run/control.sock}
jobs:
  - name: push1
    type: push
    connect: {type: local, listener_name: backup, client_identity: host1}
    filesystems: {"p<": true, "p": false}
    snapshotting: {type: manual}
    replication: $1
    pruning:
      keep_sender: [{type: last_n, count: 100000}]
      keep_receiver: [{type: last_n, count: 100000}]
  - name: sink1
    type: sink
    root_fs: q/sink
    recv: {placeholder: {encryption: inherit}}
    serve: {type: local, listener_name: backup}
EOF
}

# Starts the daemon on $dir/zferry.yml (log in $dir/daemon.log) and returns once its control
# socket answers; a daemon that exits first fails the script with its log.
start_daemon() {
    mkdir -p -m 700 "$dir/run"
    "$zferry" daemon --zfs "$zfs_sim" --config "$dir/zferry.yml" >>"$dir/daemon.log" 2>&1 &
    daemon=$!
    until ctl status --mode raw >/dev/null 2>&1; do
        kill -0 "$daemon" 2>/dev/null || { cat "$dir/daemon.log" >&2; exit 1; }
        sleep 0.05
    done
}
stop_daemon() {
    kill -TERM "$daemon"
    wait "$daemon" || true
    daemon=
}

# Prints "STEPS FINISHED" for invocation $1 of push1 (steps as the sum of the filesystems'
# CurrentStep in the last attempt; "0 0" while an earlier invocation is shown); fails when the
# invocation ended with an attempt that is not done.
push_progress() {
    ctl status --mode raw 2>/dev/null | python3 -c '
import json, sys
p = json.load(sys.stdin)["Jobs"]["push1"]["push"]
r = p.get("Replication") or {}
if p["Invocations"] < int(sys.argv[1]):
    print(0, 0)
    sys.exit()
n = 0
att = r.get("Attempts") or []
for a in att[-1:]:
    for f in a.get("Filesystems") or []:
        n += f.get("CurrentStep", 0)
fin = bool(r.get("FinishAt")) and p.get("State") == "waiting"
state = att[-1]["State"] if att else "done"
if fin and state != "done":
    print("invocation ended with attempt state " + state, file=sys.stderr)
    sys.exit(1)
print(n, 1 if fin else 0)' "$1"
}
