#!/usr/bin/env bash
# soak_steps.sh [--filesystems N] [--snapshots N] [--step-concurrency N] [--build DIR] [--keep]
#
# Soak: N filesystems (default 100) times N single-snapshot steps each (default 100), so
# 10 000 replication steps in one run, through one daemon on zfs-sim: a push job and a sink
# job over the local transport (the sibling of daemon_resources.sh's 1 000 steps on one
# filesystem). `coalesce: false`, so every snapshot is its own step; `concurrency.steps`
# defaults to 1 (zrepl's default), --step-concurrency raises it.
#
# First every filesystem's snapshot s0 is replicated (the initial steps, not counted), then
# the snapshots s1..sN are taken on all filesystems and one wakeup replicates them all.
# While it runs, the daemon's VmRSS and open descriptors are sampled every 100 steps (steps
# from the job's status, as the sum of the filesystems' CurrentStep). Reported: the samples,
# steps/s per window and overall, the load average, and the verdict: every source snapshot on
# the sink with its GUID, and no abstraction leaked (`zferry zfs-abstraction list`: exactly
# one replication cursor per source filesystem, on its newest snapshot, one last-received
# hold per sink filesystem, on its newest snapshot, no step hold, step bookmark or tentative
# cursor left). Exit status 0 only if the verdict holds.
#
# Build first: bash tools/dev/build.sh release zferry zfs-sim. Needs python3.
set -euo pipefail
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build/release
nfs=100 nsnap=100 conc=1 keep=
while (($#)); do
    case "$1" in
    --filesystems) nfs=$2; shift 2 ;;
    --snapshots) nsnap=$2; shift 2 ;;
    --step-concurrency) conc=$2; shift 2 ;;
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
((nfs >= 1 && nsnap >= 1 && conc >= 1)) || { usage >&2; exit 2; }
zferry=$build/tools/zferry/zferry
zfs_sim=$build/tools/zfs-sim/zfs-sim
[ -x "$zferry" ] && [ -x "$zfs_sim" ] || { echo "build first: bash tools/dev/build.sh release zferry zfs-sim" >&2; exit 2; }
steps=$((nfs * nsnap))
dir=$(mktemp -d /var/tmp/zferry-soak.XXXXXX)
. "$root/bench/daemon_bench_lib.sh"
fsname() { printf 'p/f%03d' "$1"; }

z sim-create-pool p >/dev/null
z sim-create-pool q >/dev/null
z create q/sink >/dev/null
for i in $(seq 1 "$nfs"); do
    z create "$(fsname "$i")" >/dev/null
    printf 'filesystem %d\n' "$i" | z sim-write "$(fsname "$i")" /dev/stdin
done
z snapshot $(for i in $(seq 1 "$nfs"); do printf '%s@s0 ' "$(fsname "$i")"; done) >/dev/null

write_push_sink_config "{coalesce: false, concurrency: {steps: $conc}}"
start_daemon

echo "== soak: $nfs filesystems x $nsnap single-snapshot steps = $steps steps (step concurrency $conc); load $(load)"
ctl signal wakeup push1 >/dev/null
until [ "$(push_progress 1)" = "$nfs 1" ]; do sleep 0.2; done
echo "initial: s0 of $nfs filesystems replicated"

for k in $(seq 1 "$nsnap"); do
    z snapshot $(for i in $(seq 1 "$nfs"); do printf '%s@s%d ' "$(fsname "$i")" "$k"; done) >/dev/null
done
sleep 1
first_rss=$(rss_kib "$daemon")
first_fds=$(fds "$daemon")
echo "before: $(mib "$first_rss") MiB RSS, $first_fds fds; load $(load)"
ctl signal wakeup push1 >/dev/null
t0=$(date +%s.%N)
next=100
last_t=$t0 last_n=0
printf '%8s %9s %9s %5s %8s  %s\n' steps seconds "RSS MiB" fds steps/s "load"
while :; do
    read -r n fin <<<"$(push_progress 2)"
    now=$(date +%s.%N)
    if ((n >= next || (fin == 1 && n > last_n))); then
        r=$(rss_kib "$daemon") f=$(fds "$daemon")
        rate=$(echo "($n - $last_n) / ($now - $last_t)" | bc -l)
        # One line per 100 steps passed (the same sample), and one for the last steps.
        while ((n >= next && next <= steps)) || ((fin == 1 && n > next - 100)); do
            at=$((next <= n ? next : n))
            printf '%8d %9.1f %9s %5d %8.1f  %s\n' "$at" "$(echo "$now - $t0" | bc)" "$(mib "$r")" "$f" "$rate" "$(load)"
            echo "$at $(mib "$r") $f" >>"$dir/samples"
            next=$((at + 100))
        done
        last_t=$now last_n=$n
    fi
    ((fin == 1)) && break
    sleep 0.5
done
secs=$(echo "$(date +%s.%N) - $t0" | bc)
last_rss=$(rss_kib "$daemon")
last_fds=$(fds "$daemon")
load_end=$(load)
echo "== figures"
echo "$steps steps in $(printf %.1f "$secs") s: $(printf %.1f "$(echo "$steps / $secs" | bc -l)") steps/s; load at the end $load_end"
python3 - "$dir/samples" "$(mib "$first_rss")" "$first_fds" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1])]
rss = [float(r[1]) for r in rows]
fds = [int(r[2]) for r in rows]
print(f"RSS: {sys.argv[2]} MiB before, {rss[0]:.1f} MiB at step {rows[0][0]}, min {min(rss):.1f} / max {max(rss):.1f} MiB"
      f" over {len(rows)} samples, {rss[-1]:.1f} MiB at the end;"
      f" second half: {min(rss[len(rss)//2:]):.1f}-{max(rss[len(rss)//2:]):.1f} MiB")
print(f"fds: {sys.argv[3]} before, {min(fds)}-{max(fds)} while replicating, {fds[-1]} at the end")
EOF
echo "after: $(mib "$last_rss") MiB RSS, $last_fds fds"

# Verdict: every snapshot arrived with its GUID, no abstraction leaked.
z list -H -p -o name,guid -t snapshot -r p >"$dir/src"
z list -H -p -o name,guid -t snapshot -r q/sink >"$dir/dst"
"$zferry" zfs-abstraction list --json --zfs "$zfs_sim" >"$dir/abstractions" 2>>"$dir/abstractions.log"
python3 - "$dir/src" "$dir/dst" "$dir/abstractions" "$nfs" "$nsnap" <<'EOF'
import json, sys
src = dict(l.split("\t") for l in open(sys.argv[1]).read().splitlines())
dst = dict(l.split("\t") for l in open(sys.argv[2]).read().splitlines())
nfs, nsnap = int(sys.argv[4]), int(sys.argv[5])
ok = sum(1 for n, g in src.items() if dst.get("q/sink/host1/" + n) == g)
abstr = [json.loads(l) for l in open(sys.argv[3]) if l.startswith("{")]
kinds = {}
for a in abstr:
    kinds.setdefault(a["Type"], []).append(a)
newest = "s%d" % nsnap
cursors = kinds.pop("replication-cursor-bookmark-v2", [])
lrh = kinds.pop("last-received-hold", [])
good_cursors = {a["FS"] for a in cursors
                if a["JobID"] == "push1" and str(a["FilesystemVersion"]["Guid"]) == src.get(a["FS"] + "@" + newest)}
good_lrh = {a["FS"] for a in lrh if a["FilesystemVersion"]["Name"] == newest and a["FS"].startswith("q/sink/host1/")}
leaked = sum(len(v) for v in kinds.values())
fine = (ok == len(src) == nfs * (nsnap + 1) and len(cursors) == len(good_cursors) == nfs
        and len(lrh) == len(good_lrh) == nfs and leaked == 0)
print(f"verdict: {ok} of {len(src)} source snapshots on the sink with equal GUIDs;"
      f" {len(cursors)} replication cursor(s) ({len(good_cursors)} on s{nsnap}),"
      f" {len(lrh)} last-received hold(s) ({len(good_lrh)} on s{nsnap}),"
      f" {leaked} other abstraction(s) {sorted(kinds) if kinds else ''}: {'all replicated, nothing leaked' if fine else 'FAILED'}")
sys.exit(0 if fine else 1)
EOF
