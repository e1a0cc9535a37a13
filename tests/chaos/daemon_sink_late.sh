#!/usr/bin/env bash
# Scenario: the push daemon is woken while its sink is down (a sink host rebooting): the
# attempt fails with a temporary error, the pusher waits for connectivity with growing pauses
# (its status says since when and why), and once the sink daemon is started 8 s later the
# replication completes without anyone's intervention. Verdict as the others.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
chaos_up
daemons_setup "${1:?zferry binary}" "${2:?zfs-sim binary}"
head -c $((1 << 20)) /dev/urandom >"$CHAOS_TMP/data"
zs sim-write p/a "$CHAOS_TMP/data"
zs snapshot p/a@s1
start_push
"$ZFERRY" signal wakeup push1 --config "$SRC/zferry.yml" >/dev/null
wait_until 30 'p["Replication"]["WaitReconnectSince"] is not None'
why=$(status_field 'p["Replication"]["WaitReconnectError"] or attempts()[-1]["PlanError"]["Err"]')
sleep 8
start_sink
wait_until 120 'p["Replication"]["FinishAt"] is not None and attempts()[-1]["State"] == "done" and p["State"] == "waiting"'
n=$(status_field 'len(attempts())')
same_guids s1
abstractions_consistent 1
resources_back_to_baseline
stop_daemons
no_zfs_children
verdict "woken with the sink down (\"$why\"), the pusher waited and finished in attempt $n once the sink came up; $RESOURCES"
