#!/usr/bin/env bash
# Scenario: the sink holds a partial receive (the pusher was SIGKILLed mid-step) whose
# snapshot the sender no longer has (an administrator released the job's holds and destroyed
# it, then took a new one). Verdict: the next run says so in one warning line naming the
# token, discards the partial state (zfs recv -A) and replicates the new snapshot; nothing is
# stuck and the abstractions are consistent (zrepl issues #510 and #644).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
chaos_up
daemons_setup "${1:?zferry binary}" "${2:?zfs-sim binary}"
head -c $((24 << 20)) /dev/urandom >"$CHAOS_TMP/data"
zs sim-write p/a "$CHAOS_TMP/data"
zs snapshot p/a@s1
fault_rate 30mbit
start_sink
start_push
"$ZFERRY" signal wakeup push1 --config "$SRC/zferry.yml" >/dev/null
wait_until 30 'any(s["Info"]["BytesReplicated"] > 4 << 20 for a in attempts() for s in steps(a))'
kill -KILL "$PUSH_PID"
wait "$PUSH_PID" 2>/dev/null || true
# The sink's receive ends with the connection and keeps its partial state.
for i in $(seq 1 100); do
    token=$(zd get -H -p -o value receive_resume_token q/sink/host1/p/a 2>/dev/null || true)
    [ -n "$token" ] && [ "$token" != - ] && break
    sleep 0.1
done
[ -n "$token" ] && [ "$token" != - ] || die "the sink kept no resumable state after the pusher was killed"
ZFS_SIM_STATE=$SRC/zfs "$ZFERRY" zfs-abstraction release-all --job push1 --zfs "$ZFS_SIM" >/dev/null 2>&1
zs destroy p/a@s1
head -c $((1 << 20)) /dev/urandom >"$CHAOS_TMP/data"
zs sim-write p/a "$CHAOS_TMP/data"
zs snapshot p/a@s2
fault_rate 1gbit
start_push
"$ZFERRY" signal wakeup push1 --config "$SRC/zferry.yml" >/dev/null
wait_until 60 'p["Replication"]["FinishAt"] is not None and attempts()[-1]["State"] == "done" and p["State"] == "waiting"'
same_guids s2
warnings=$(grep -c "the receiver's partial receive cannot be resumed; it is discarded" "$SRC/log" || true)
[ "$warnings" = 1 ] || die "expected one warning about the stale resume token, the push log has $warnings"
line=$(grep "the receiver's partial receive cannot be resumed" "$SRC/log")
case "$line" in *"toname"*"p/a@s1"*) ;; *) die "the warning does not name the token's snapshot: $line" ;; esac
left=$(zd get -H -p -o value receive_resume_token q/sink/host1/p/a)
[ "$left" = - ] || die "a resume token is still on the sink: $left"
abstractions_consistent 1
resources_back_to_baseline
stop_daemons
no_zfs_children
verdict "a partial receive of a snapshot the sender destroyed: one warning (${line##*\[W\] }), discarded, s2 replicated, abstractions consistent; $RESOURCES"
