#!/usr/bin/env bash
# Scenario: the sender's wall clock jumps forward by one day. The push daemon snapshots every
# 10 minutes (periodic) and reads its wall clock from ZFERRY_TEST_CLOCK_FILE (system clock +
# an offset, daemon/jobs/test_clock.hpp); its zfs-sim host reads the same file
# (ZFS_SIM_CLOCK_FILE), so snapshot creation times jump with it as on a real host. The test
# moves time by rewriting the file: 0, +10, +20, +30 minutes (one snapshot each), then +1 day.
# Pruning: the sender keeps not_replicated and last_n 4, the sink the grid
# "1x1h(keep=all) | 24x1h | 7x1d".
# Verdict: the jump gives exactly one snapshot (zrepl: one at the next look, not one per missed
# interval; 144 were missed), named with the new date, and the next is scheduled an interval
# after it; pruning keeps what its rules keep relative to the newest snapshot, which is what
# zrepl's grid measures from (no rule reads the wall clock): before the jump nothing is pruned;
# after it the sender keeps its last 4 and the sink keeps the snapshot after the jump and the
# oldest of the four from a day before (they all fall into the grid's (24h, 25h] bucket), not
# nothing. See tests/unit/pruning_test.cpp (AClockJumpMovesTheGridOnlyWithTheNewestSnapshot).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
chaos_up
daemons_setup "${1:?zferry binary}" "${2:?zfs-sim binary}"
clock=$CHAOS_TMP/clock
echo 0 >"$clock"
/usr/bin/python3 - "$SRC/zferry.yml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("    snapshotting: {type: manual}\n",
              "    snapshotting: {type: periodic, interval: 10m, prefix: zferry_}\n")
s = s.replace("      keep_sender: [{type: not_replicated}, {type: last_n, count: 10}]\n"
              "      keep_receiver: [{type: last_n, count: 10}]\n",
              "      keep_sender: [{type: not_replicated}, {type: last_n, count: 4, regex: \"^zferry_\"}]\n"
              "      keep_receiver: [{type: grid, grid: \"1x1h(keep=all) | 24x1h | 7x1d\", regex: \"^zferry_\"}]\n")
open(p, "w").write(s)
PY
grep -q 'type: periodic' "$SRC/zferry.yml" && grep -q 'type: grid' "$SRC/zferry.yml" || die "could not configure the push job"
# The snapshotter looks at the (faked) clock every 200 ms instead of every minute.
PUSH_ENV="ZFERRY_TEST_CLOCK_FILE=$clock ZFS_SIM_CLOCK_FILE=$clock ZFS_SIM_LOG=$CHAOS_TMP/push-zfs.log"
PUSH_ARGS="--snapshot-max-sleep-ms 200"
start_sink
start_push
grep -q "ZFERRY_TEST_CLOCK_FILE=$clock: the wall clock of the snapshotter is FAKED" "$SRC/log" ||
    die "the push daemon did not warn that its clock is faked"

snapshots_taken() { /usr/bin/python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["argv"][1] in ("snapshot", "snap")))' "$CHAOS_TMP/push-zfs.log"; }
names() { "$@" list -H -o name -t snapshot -s createtxg -r "$FS" | sed 's/.*@//' | tr '\n' ' '; }
# Waits for invocation N (snapshot round, replication, both prunings) to be over.
wait_invocation() {
    wait_until 60 "p['Invocations'] >= $1 and p['State'] == 'waiting' and p['Replication']['FinishAt'] is not None"
    [ "$(status_field 'p["Invocations"]')" = "$1" ] || die "invocation $1 expected, status says $(status_field 'p["Invocations"]')"
    [ "$(status_field 'attempts()[-1]["State"]')" = done ] || die "replication of invocation $1 failed: $(push_status)"
}

# Before the jump: a snapshot at start (sync-up: none yet), then one per 10 minutes.
wait_invocation 1
for i in 2 3 4; do
    echo $(((i - 1) * 600)) >"$clock"
    wait_invocation $i
done
[ "$(snapshots_taken)" = 4 ] || die "$(snapshots_taken) snapshots taken in the first 30 (faked) minutes, expected 4"
FS=p/a
before=$(names zs)
FS=q/sink/host1/p/a
[ "$(names zd)" = "$before" ] || die "before the jump the sink has $(names zd), the sender $before"
read -r -a b <<<"$before"
[ "${#b[@]}" = 4 ] || die "before the jump the sender has ${before}; nothing should have been pruned"
g0=$(zs get -H -p -o value guid "p/a@${b[0]}")  # the sender prunes it after the jump

# The jump: one day forward.
echo $((1800 + 86400)) >"$clock"
wait_invocation 5
[ "$(snapshots_taken)" = 5 ] || die "$(snapshots_taken) snapshots after the jump, expected 5 (one for the jump, no burst)"
FS=p/a
after=$(names zs)
read -r -a a <<<"$after"
s5=${a[3]:-}
[ "$after" = "${b[1]} ${b[2]} ${b[3]} $s5 " ] || die "the sender kept '$after', expected its last 4: ${b[1]} ${b[2]} ${b[3]} <new>"
# Named with the jumped time (the daemon's clock), created at the jumped time (the host's).
c4=$(zs get -H -p -o value creation "p/a@${b[3]}")
c5=$(zs get -H -p -o value creation "p/a@$s5")
[ $((c5 - c4)) -ge 86400 ] || die "$s5 was created $((c5 - c4)) s after ${b[3]}, not a day"
/usr/bin/python3 -c '
import calendar, sys, time
t = calendar.timegm(time.strptime(sys.argv[1][len("zferry_"):][:15], "%Y%m%d_%H%M%S"))
sys.exit(0 if abs(t - int(sys.argv[2])) <= 2 else 1)' "$s5" "$c5" ||
    die "the snapshot after the jump ($s5) is not named with its creation time ($c5, a day ahead)"
FS=q/sink/host1/p/a
[ "$(names zd)" = "${b[0]} $s5 " ] || die "the sink kept '$(names zd)', expected the grid's ${b[0]} and $s5"
# The next snapshot is due an interval after the one at the jump, on the jumped clock.
next=$(status_field 'p["Snapshotting"]["next_run_unix"] - p["Snapshotting"]["last_run_started_unix"]')
[ "$next" = 600 ] || die "the next snapshot is due $next s after the last one, expected 600"
same_guids "$s5"
[ "$(zd get -H -p -o value guid "q/sink/host1/p/a@${b[0]}")" = "$g0" ] || die "${b[0]} on the sink has another GUID"
abstractions_consistent 1
stop_daemons
no_zfs_children
verdict "a one-day jump forward of the sender's clock gave exactly one snapshot ($s5; 5 taken in all, the next due 10 minutes after it), the sender kept its last 4 and the sink, by the grid measured from the newest snapshot, ${b[0]} and $s5; GUIDs equal, abstractions consistent"
