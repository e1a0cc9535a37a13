#!/usr/bin/env bash
# daemon_fault_mid_step.sh MODE ZFERRY BACKEND: a push daemon and its sink (BACKEND: the zfs-sim
# binary, or zfs-fuse:ENV_FILE for the platform fixture's zfs-fuse; see daemon_lib.sh) are in
# the middle of a 24 MiB step when MODE strikes:
#   cut       the link goes down for 15 s (longer than the 10 s heartbeat timeout), then back
#             (a cable pulled, a router reboot)
#   cut-1g    the same at full size: a 1 GiB step over a 400 Mbit/s link, cut for 30 s after
#             256 MiB have arrived
#   silence   every packet is dropped both ways for 15 s, no RST (a host that hangs, a firewall)
#   kill-sink the sink daemon is SIGKILLed, and started again 3 s later
#   kill-push the push daemon is SIGKILLed, started again 3 s later and woken up
# (zfs-fuse: cut and silence; its daemon kills are tests/platform/daemon_e2e_test.cpp's, and
# its pools are too small for cut-1g.)
# Verdict: the replication completes by itself (or with the restarted pusher's wakeup); on
# zfs-sim the last attempt resumes the partial receive from the sink's resume token, so nothing
# before the resume point is sent again; zfs-fuse cannot resume a receive, so there the step
# restarts cleanly from its first byte in a later attempt of the same run, and the verdict says
# how many bytes went twice. Every snapshot has the sender's GUID and the sender's data; no
# step hold is left and the cursor and last-received hold are where they belong (zferry
# zfs-abstraction list); both daemons stop cleanly on SIGTERM and no zfs child is left.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
mode=${1:?usage: daemon_fault_mid_step.sh cut|cut-1g|silence|kill-sink|kill-push ZFERRY ZFS_SIM|zfs-fuse:ENV_FILE}
chaos_up
daemons_setup "${2:?zferry binary}" "${3:?zfs-sim binary or zfs-fuse:ENV_FILE}"
case "$BACKEND:$mode" in
    zfs-fuse:cut | zfs-fuse:silence | zfs-sim:*) ;;
    *) die "mode $mode does not run on $BACKEND (zfs-fuse: cut, silence)" ;;
esac
if [ "$mode" = cut-1g ]; then
    total=$((1 << 30)) rate=400mbit strike_after=$((256 << 20)) outage=30  # 1 GiB take about 22 s
else
    total=$((24 << 20)) rate=30mbit strike_after=$((4 << 20)) outage=15  # 24 MiB take about 7 s
fi
head -c $total /dev/urandom >"$CHAOS_TMP/data"
src_write "$CHAOS_TMP/data"
rm "$CHAOS_TMP/data"
zs snapshot "$SRC_FS@s1"
fault_rate $rate
start_sink
start_push
"$ZFERRY" signal wakeup push1 --config "$SRC/zferry.yml" >/dev/null
wait_until 120 "any(s['Info']['BytesReplicated'] > $strike_after for a in attempts() for s in steps(a))"
at=$(status_field 'max(s["Info"]["BytesReplicated"] for a in attempts() for s in steps(a))')
case "$mode" in
    cut | cut-1g)
        fault_cut
        sleep $outage
        fault_restore
        ;;
    silence)
        fault_silence
        sleep 15
        fault_restore
        ;;
    kill-sink)
        kill -KILL "$SINK_PID"
        wait "$SINK_PID" 2>/dev/null || true
        sleep 3
        start_sink
        ;;
    kill-push)
        kill -KILL "$PUSH_PID"
        wait "$PUSH_PID" 2>/dev/null || true
        sleep 3
        start_push
        "$ZFERRY" signal wakeup push1 --config "$SRC/zferry.yml" >/dev/null
        ;;
    *) die "unknown mode $mode" ;;
esac
wait_until 180 'p["Replication"]["FinishAt"] is not None and attempts()[-1]["State"] == "done" and p["State"] == "waiting"'
same_guids s1
abstractions_consistent 1
resumed=$(status_field 'steps(attempts()[-1])[0]["Info"]["Resumed"]')
after=$(status_field 'steps(attempts()[-1])[0]["Info"]["BytesReplicated"]')
n=$(status_field 'len(attempts())')
if [ "$BACKEND" = zfs-sim ]; then
    [ "$resumed" = True ] || die "the last attempt did not resume the partial receive (Resumed=$resumed)"
    [ "$after" -lt "$total" ] || die "the resumed step sent $after bytes, not less than the $total of the stream"
    outcome="resumed and sent $after bytes"
else
    [ "$resumed" = False ] || die "the last attempt says it resumed (Resumed=$resumed), which zfs-fuse cannot"
    [ "$after" -ge "$total" ] || die "the last attempt sent $after bytes, less than the $total of the data: not from its first byte"
    [ "$n" -ge 2 ] || die "the fault did not fail an attempt: $n attempt(s)"
    twice=$(status_field 'unfinished_bytes()')
    outcome="sent the step again from its first byte, $after bytes ($twice bytes went twice: zfs-fuse cannot resume)"
fi
resources_back_to_baseline
stop_daemons
no_zfs_children
same_content s1
verdict "$mode on $BACKEND after $at bytes of a $total-byte step: the pusher's last attempt (of $n) $outcome; the snapshot arrived with the sender's GUID and data; both daemons stopped cleanly; $RESOURCES"
