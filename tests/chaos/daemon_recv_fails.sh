#!/usr/bin/env bash
# Scenario: the sink's `zfs recv` fails on the third of five steps (a zfs wrapper on the sink
# counts receives and fails the third: "cannot receive", as a full or broken pool would say).
# Verdict: the first two steps stay replicated and the replication cursor points at the
# second; the next run replicates the rest; afterwards no step hold is left, one cursor, one
# last-received hold, every GUID equal.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
chaos_up
daemons_setup "${1:?zferry binary}" "${2:?zfs-sim binary}"
cat >"$CHAOS_TMP/zfs-failing-third-recv" <<SH
#!/bin/sh
# (A bare "receive" is zferry's capability probe, not a receive.)
case "\$1" in recv|receive)
    [ \$# -gt 1 ] || exec "$ZFS_SIM" "\$@"
    n=\$((\$(cat "$CHAOS_TMP/recv-count" 2>/dev/null || echo 0) + 1))
    echo \$n >"$CHAOS_TMP/recv-count"
    if [ \$n = 3 ]; then
        echo "cannot receive new filesystem stream: injected failure of the third receive (chaos test)" >&2
        exit 1
    fi;;
esac
exec "$ZFS_SIM" "\$@"
SH
chmod +x "$CHAOS_TMP/zfs-failing-third-recv"
SINK_ZFS=$CHAOS_TMP/zfs-failing-third-recv
# One step per snapshot (coalescing would send s2..s5 as one `send -I` step).
sed -i 's|    snapshotting: {type: manual}|    snapshotting: {type: manual}\n    conflict_resolution: {initial_replication: all}\n    replication: {coalesce: false}|' "$SRC/zferry.yml"
for i in 1 2 3 4 5; do
    head -c 4096 /dev/urandom >"$CHAOS_TMP/data"
    zs sim-write p/a "$CHAOS_TMP/data"
    zs snapshot "p/a@s$i"
done
start_sink
start_push
"$ZFERRY" signal wakeup push1 --config "$SRC/zferry.yml" >/dev/null
wait_until 60 'p["Replication"]["FinishAt"] is not None and p["State"] == "waiting"'
[ "$(status_field 'attempts()[-1]["State"]')" != done ] || die "the run succeeded although the third receive failed"
err=$(status_field '[f["StepError"]["Err"] for f in attempts()[-1]["Filesystems"] if f["StepError"]][0]')
case "$err" in *"injected failure of the third receive"*) ;; *) die "the step error does not carry zfs's message: $err" ;; esac
same_guids s1 s2
got=$(zd list -H -o name -t snapshot -r q/sink/host1/p/a | tr '\n' ' ')
[ "$got" = "q/sink/host1/p/a@s1 q/sink/host1/p/a@s2 " ] || die "after the failed step the receiver has: $got"
cursor=$(ZFS_SIM_STATE=$SRC/zfs "$ZFERRY" zfs-abstraction list --json --type replication-cursor-bookmark-v2 \
    --job push1 --zfs "$ZFS_SIM" | /usr/bin/python3 -c 'import json,sys; print([json.loads(l) for l in sys.stdin][0]["FilesystemVersion"]["Guid"])' 2>/dev/null || true)
[ -n "$cursor" ] && [ "$cursor" = "$(zs get -H -p -o value guid p/a@s2)" ] ||
    die "the replication cursor ($cursor) is not at s2 ($(zs get -H -p -o value guid p/a@s2))"
"$ZFERRY" signal wakeup push1 --config "$SRC/zferry.yml" >/dev/null
wait_until 60 'p["Invocations"] >= 2 and p["Replication"]["FinishAt"] is not None and p["State"] == "waiting"'
[ "$(status_field 'attempts()[-1]["State"]')" = done ] || die "the next run did not finish: $(push_status)"
same_guids s1 s2 s3 s4 s5
abstractions_consistent 1
resources_back_to_baseline
stop_daemons
no_zfs_children
verdict "recv failed on step 3 of 5 (\"${err:0:80}...\"): s1 and s2 stayed with the cursor at s2; the next run replicated s3..s5; abstractions consistent; $RESOURCES"
