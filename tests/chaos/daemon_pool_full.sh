#!/usr/bin/env bash
# Scenario: the receiving pool runs out of space in the middle of a step. The sink's pool q
# (zfs-sim) holds 3 MiB (`zfs-sim sim-set-pool-size`), the pusher's step is 8 MiB: zfs recv -s
# stops with OpenZFS's ENOSPC message ("cannot receive new filesystem stream: out of space")
# and keeps what fit as a resumable partial receive.
# Verdict: the run fails after one attempt (a full pool is permanent: retrying resends the
# same bytes into the same full pool; see zfs/zfs_error.cpp), the step error in the pusher's
# status and both daemons' logs names the pool; on the sink nothing but the partial receive
# and its resume token is left (no snapshot, no hold), on the sender only the step hold that
# keeps the resume possible; once the pool is larger, the next run resumes from the token and
# sends only the rest; then every GUID is equal and the abstractions are consistent.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
chaos_up
daemons_setup "${1:?zferry binary}" "${2:?zfs-sim binary}"
total=$((8 << 20))
room=$((3 << 20))
head -c $total /dev/urandom >"$CHAOS_TMP/data"
zs sim-write p/a "$CHAOS_TMP/data"
zs snapshot p/a@s1
zd sim-set-pool-size q $room
start_sink
start_push
"$ZFERRY" signal wakeup push1 --config "$SRC/zferry.yml" >/dev/null
wait_until 60 'p["Replication"]["FinishAt"] is not None and p["State"] == "waiting"'
[ "$(status_field 'attempts()[-1]["State"]')" != done ] || die "the run succeeded although the pool is full"
n=$(status_field 'len(attempts())')
[ "$n" = 1 ] || die "a full pool was retried within the run: $n attempts"
err=$(status_field '[f["StepError"]["Err"] for f in attempts()[-1]["Filesystems"] if f["StepError"]][0]')
case "$err" in
    *"receiving pool 'q' is out of space"*"cannot receive new filesystem stream: out of space"*) ;;
    *) die "the step error does not name the full pool with zfs's message: $err" ;;
esac
grep -q "receiving pool 'q' is out of space" "$SRC/log" || die "the push daemon's log does not name the full pool"
grep -q "receiving pool 'q' is out of space" "$DST/log" || die "the sink daemon's log does not name the full pool"
# The sink: no snapshot, only the partial receive with its token, which counts what fit.
got=$(zd list -H -o name -t snapshot -r q)
[ -z "$got" ] || die "snapshots on the full pool after the failed step: $got"
token=$(zd get -H -p -o value receive_resume_token q/sink/host1/p/a)
[ -n "$token" ] && [ "$token" != - ] || die "no resume token on q/sink/host1/p/a after the failed step"
offset=$("$ZFERRY" test decoderesumetoken "$token" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["offset"])')
[ "$offset" = "$room" ] || die "the partial receive holds $offset bytes, expected the $room that fit"
n=$(ZFS_SIM_STATE=$DST/zfs "$ZFERRY" zfs-abstraction list --json --zfs "$ZFS_SIM" | grep -c . || true)
[ "$n" = 0 ] || die "$n abstraction(s) on the sink after the failed step (nothing was received)"
# The sender: the step hold on s1 (the resume needs s1) and nothing else.
kinds=$(ZFS_SIM_STATE=$SRC/zfs "$ZFERRY" zfs-abstraction list --json --zfs "$ZFS_SIM" |
    /usr/bin/python3 -c 'import json,sys; print(" ".join(sorted(json.loads(l)["Type"] for l in sys.stdin)))')
[ "$kinds" = step-hold ] || die "abstractions on the sender after the failed step: '$kinds', expected one step hold"
# Space is freed (the pool grows); the next run resumes.
zd sim-set-pool-size q $((64 << 20))
"$ZFERRY" signal wakeup push1 --config "$SRC/zferry.yml" >/dev/null
wait_until 60 'p["Invocations"] >= 2 and p["Replication"]["FinishAt"] is not None and p["State"] == "waiting"'
[ "$(status_field 'attempts()[-1]["State"]')" = done ] || die "the run after freeing space did not finish: $(push_status)"
resumed=$(status_field 'steps(attempts()[-1])[0]["Info"]["Resumed"]')
after=$(status_field 'steps(attempts()[-1])[0]["Info"]["BytesReplicated"]')
[ "$resumed" = True ] || die "the run after freeing space did not resume the partial receive (Resumed=$resumed)"
# The resumed stream is the rest of the data plus a header and trailer (a few hundred bytes).
[ "$after" -lt $((total - room + 65536)) ] || die "the resumed step sent $after bytes; the rest is $((total - room))"
same_guids s1
[ "$(zd get -H -p -o value receive_resume_token q/sink/host1/p/a)" = - ] || die "a resume token is left after the resume"
abstractions_consistent 1
stop_daemons
no_zfs_children
why="receiving pool${err#*receiving pool}"
verdict "the sink's pool filled up after $room of a $total-byte step: one attempt, the error named the pool (\"${why:0:110}...\"), only the partial receive and the sender's step hold were left; after the pool grew the next run resumed and sent $after bytes (not the $offset before the fault); GUIDs equal, abstractions consistent"
