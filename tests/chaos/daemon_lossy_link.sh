#!/usr/bin/env bash
# daemon_lossy_link.sh ZFERRY BACKEND (the zfs-sim binary, or zfs-fuse:ENV_FILE for the platform
# fixture's zfs-fuse; see daemon_lib.sh).
# Scenario: a whole replication of 20 snapshots (one step each: `coalesce: false`)
# from a push daemon to its sink through 5 % packet loss both ways, a 50 Mbit/s link and
# 100 ms of added latency each way (delay_relay.py in the pusher's namespace, between it and
# the sink: see there what it models and what not; this kernel has no netem). Models a poor
# long-distance link. Verdict: every snapshot arrives with the sender's GUID (the newest with
# the sender's data), the abstractions are consistent, clean stops; the attempts and any bytes
# sent again are reported (zfs-fuse cannot resume a step a retry repeats).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
chaos_up
daemons_setup "${1:?zferry binary}" "${2:?zfs-sim binary or zfs-fuse:ENV_FILE}"
snaps=()
# Zero-padded names: snapshots taken in the same second are ordered by name for last_n, as
# in zrepl (whose own names are timestamps).
for i in $(seq -w 1 20); do
    head -c $((256 << 10)) /dev/urandom >"$CHAOS_TMP/data"
    src_write "$CHAOS_TMP/data"
    zs snapshot "$SRC_FS@s$i"
    snaps+=("s$i")
done
# conflict_resolution.initial_replication: all (below): the first step sends s01 in full,
# then every other snapshot is its own incremental step: 20 steps through the lossy link.
sed -i 's|    snapshotting: {type: manual}|    snapshotting: {type: manual}\n    conflict_resolution: {initial_replication: all}\n    replication: {coalesce: false}|' "$SRC/zferry.yml"
fault_rate 50mbit
fault_loss 5
start_sink
ip netns exec "$NS_A" /usr/bin/python3 "$(dirname "$0")/delay_relay.py" "$ADDR_A" 7002 "$ADDR_B" 7001 100 &
RELAY_PID=$!
for i in $(seq 1 100); do
    in_a ss -Hltn "sport = :7002" | grep -q . && break
    sleep 0.05
done
sed -i "s|address: \"$ADDR_B:7001\"|address: \"$ADDR_A:7002\"|" "$SRC/zferry.yml"
start_push
t0=$(now)
"$ZFERRY" signal wakeup push1 --config "$SRC/zferry.yml" >/dev/null
wait_until 180 'p["Replication"]["FinishAt"] is not None and p["State"] == "waiting"'
took=$(elapsed_since "$t0")
[ "$(status_field 'attempts()[-1]["State"]')" = done ] || die "the replication did not finish: $(push_status)"
n=$(status_field 'len(attempts())')
steps=$(status_field 'len(steps(attempts()[-1]))')
twice=$(status_field 'unfinished_bytes()')
# keep_sender and keep_receiver are last_n 10 (daemon_lib.sh): pruning after the replication
# leaves s11..s20 on both sides.
same_guids "${snaps[@]:10}"
kept=$(zd list -H -o name -t snapshot -r "$DST_FS" | wc -l)
[ "$kept" = 10 ] || die "the receiver keeps $kept snapshots after pruning, expected 10"
abstractions_consistent 1
resources_back_to_baseline
stop_daemons
kill "$RELAY_PID" 2>/dev/null || true
wait "$RELAY_PID" 2>/dev/null || true
no_zfs_children
same_content s20
verdict "20 snapshots on $BACKEND ($steps steps, $n attempt(s), $twice bytes moved by steps that earlier attempts left unfinished) through 5 % loss, 100 ms each way and 50 Mbit/s in $took s, every GUID equal, the newest snapshot's data equal, abstractions consistent, clean stops; $RESOURCES"
