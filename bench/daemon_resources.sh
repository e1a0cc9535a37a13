#!/usr/bin/env bash
# daemon_resources.sh [--gib N] [--steps N] [--filesystems N]: the daemon's memory and start-up
# figures of the README, on zfs-sim (one host, a push job and a sink job in one daemon, the
# local transport):
#   1. RSS idle, and the peak while one step replicates N GiB (default 4);
#   2. RSS sampled every 100 steps while N single-snapshot steps replicate (coalesce: false,
#      default 1000), to show whether memory grows with the number of steps;
#   3. start-up time with N filesystems (default 10000): from exec until the control socket
#      answers /status.
# RSS is VmRSS from /proc. Build first: bash tools/dev/build.sh release zferry zfs-sim.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
zferry=$root/build/release/tools/zferry/zferry
zfs_sim=$root/build/release/tools/zfs-sim/zfs-sim
gib=4 steps=1000 nfs=10000
while (($#)); do
    case "$1" in
    --gib) gib=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --filesystems) nfs=$2; shift 2 ;;
    *) echo "usage: daemon_resources.sh [--gib N] [--steps N] [--filesystems N]" >&2; exit 2 ;;
    esac
done
dir=$(mktemp -d /var/tmp/zferry-daemon-resources.XXXXXX)
keep=${BENCH_KEEP:-}
. "$root/bench/daemon_bench_lib.sh"
invocations_done() {
    ctl status --mode raw 2>/dev/null | python3 -c '
import json, sys
p = json.load(sys.stdin)["Jobs"]["push1"]["push"]
r = p.get("Replication")
ok = r and r.get("FinishAt") and p.get("State") == "waiting"
print(p["Invocations"] if ok else -1)'
}
# Wakes push1 and waits for invocation $1 to finish, sampling RSS into $2 every 0.2 s.
replicate() {
    ctl signal wakeup push1 >/dev/null
    local peak=0 r
    until [ "$(invocations_done)" = "$1" ]; do
        r=$(rss_kib "$daemon")
        ((r > peak)) && peak=$r
        echo "$r" >>"$2"
        sleep 0.2
    done
    echo "$peak"
}

z sim-create-pool p >/dev/null
z sim-create-pool q >/dev/null
z create q/sink >/dev/null

echo "== 1. RSS idle and while one step replicates $gib GiB"
z create p/big >/dev/null
head -c "$((gib * 1024 * 1024 * 1024))" /dev/urandom | z sim-write p/big /dev/stdin
z snapshot p/big@s1 >/dev/null
write_push_sink_config "{coalesce: true}"
start_daemon
sleep 1
idle=$(rss_kib "$daemon")
t0=$(date +%s.%N)
peak=$(replicate 1 "$dir/rss1")
secs=$(echo "$(date +%s.%N) - $t0" | bc)
after=$(rss_kib "$daemon")
echo "idle $(mib "$idle") MiB; peak while replicating $gib GiB $(mib "$peak") MiB (took $(printf %.1f "$secs") s); after $(mib "$after") MiB"
src_guid=$(z get -H -p -o value guid p/big@s1)
dst_guid=$(z get -H -p -o value guid q/sink/host1/p/big@s1 2>/dev/null || echo missing)
[ "$src_guid" = "$dst_guid" ] || { echo "p/big@s1 did not arrive (guid $dst_guid, want $src_guid)" >&2; exit 1; }
stop_daemon

echo "== 2. RSS across $steps steps (one snapshot each)"
z create p/many >/dev/null
z snapshot p/many@s0 >/dev/null
write_push_sink_config "{coalesce: false}"
start_daemon
replicate 1 "$dir/rss2" >/dev/null # the initial step
for i in $(seq 1 "$steps"); do echo "z snapshot p/many@s$i"; done >"$dir/snaps.sh"
(z() { "$zfs_sim" "$@" >/dev/null; }; . "$dir/snaps.sh")
first=$(rss_kib "$daemon")
ctl signal wakeup push1 >/dev/null
samples=()
next=100
t0=$(date +%s.%N)
while :; do
    done_steps=$(push_progress 2)
    n=${done_steps% *}
    fin=${done_steps#* }
    [ -n "${BENCH_DEBUG:-}" ] && echo "status: $done_steps" >&2
    while ((n >= next && next <= steps)); do
        samples+=("$next:$(mib "$(rss_kib "$daemon")")")
        next=$((next + 100))
    done
    ((fin == 1)) && break
    sleep 0.2
done
secs=$(echo "$(date +%s.%N) - $t0" | bc)
last=$(rss_kib "$daemon")
echo "before $(mib "$first") MiB; step:MiB ${samples[*]}; after $(mib "$last") MiB ($steps steps in $(printf %.1f "$secs") s)"
stop_daemon

echo "== 3. start-up with $nfs filesystems"
{
    for i in $(seq 1 "$nfs"); do echo "z create p/fs$i"; done
} >"$dir/fs.sh"
(z() { "$zfs_sim" "$@" >/dev/null; }; . "$dir/fs.sh")
write_push_sink_config "{coalesce: true}"
t0=$(date +%s.%N)
start_daemon
secs=$(echo "$(date +%s.%N) - $t0" | bc)
echo "$nfs filesystems: control socket answers $(printf %.2f "$secs") s after exec; RSS $(mib "$(rss_kib "$daemon")") MiB"
stop_daemon
