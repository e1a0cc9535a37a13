#!/usr/bin/env bash
# Scenario: a connection storm against the sink's tcp port while a legitimate push replicates.
# 16 hostile source addresses in the pusher's namespace (10.231.0.128-143, all in the sink's
# `clients` map as crowd-*, so they get past identification into the version handshake, as a
# misbehaving or compromised client would) run tests/chaos/load_storm.py: 200 slowloris
# clients writing the banner one byte per second (reconnecting whenever the sink closes them)
# and waves of 1 000 connections opened at once that say nothing. The sink runs with the soft
# descriptor limit systemd gives a service by default (1024; the unit does not raise it), so
# an unbounded preamble would run it out of descriptors. Meanwhile push1 (from 10.231.0.1)
# replicates 5 snapshots of 1 MiB, one step each.
# Verdict: the push completes in the storm with every GUID equal and the abstractions
# consistent; the sink's RSS and descriptors, sampled from /proc every 250 ms during the
# storm, stay bounded (by its preamble limits, not by the attackers' count); every hostile
# connection is closed by the sink within its preamble deadline; after the storm both daemons
# are back at their baseline; clean stops, no zfs child left.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
chaos_up
daemons_setup "${1:?zferry binary}" "${2:?zfs-sim binary}"
crowd=()
for i in $(seq 128 143); do
    ip -n "$NS_A" addr add "10.231.0.$i/24" dev "$NS_A"
    crowd+=("10.231.0.$i")
done
sed -i "s|      clients: {\"$ADDR_A\": \"host1\"}|      clients: {\"$ADDR_A\": \"host1\", \"10.231.0.128/28\": \"crowd-*\"}|" "$DST/zferry.yml"
grep -q crowd "$DST/zferry.yml" || die "the sink's clients map was not extended"
sed -i 's|    snapshotting: {type: manual}|    snapshotting: {type: manual}\n    conflict_resolution: {initial_replication: all}\n    replication: {coalesce: false}|' "$SRC/zferry.yml"
snaps=()
for i in 1 2 3 4 5; do
    head -c $((1 << 20)) /dev/urandom >"$CHAOS_TMP/data"
    zs sim-write p/a "$CHAOS_TMP/data"
    zs snapshot "p/a@s$i"
    snaps+=("s$i")
done
SINK_NOFILE=1024 start_sink
start_push

ip netns exec "$NS_A" /usr/bin/python3 "$(dirname "$0")/load_storm.py" --target "$ADDR_B:7001" \
    --bind "$(IFS=,; echo "${crowd[*]}")" --slowloris 200 --connects 1000 --sample-pid "$SINK_PID" \
    --ready "$CHAOS_TMP/storm.ready" --report "$CHAOS_TMP/storm.json" >"$CHAOS_TMP/storm.out" 2>&1 &
STORM_PID=$!
for i in $(seq 1 600); do
    [ -s "$CHAOS_TMP/storm.ready" ] && break
    kill -0 "$STORM_PID" 2>/dev/null || die "the load generator exited: $(cat "$CHAOS_TMP/storm.out")"
    sleep 0.1
done
[ -s "$CHAOS_TMP/storm.ready" ] || die "the storm was not up after 60 s"
t0=$(now)
"$ZFERRY" signal wakeup push1 --config "$SRC/zferry.yml" >/dev/null
wait_until 180 'p["Replication"]["FinishAt"] is not None and p["State"] == "waiting"'
took=$(elapsed_since "$t0")
[ "$(status_field 'attempts()[-1]["State"]')" = done ] || die "the push did not complete in the storm: $(push_status)"
attempts=$(status_field 'len(attempts())')
# Let the storm run one more preamble deadline, so that every hostile connection has met it.
sleep 11
kill -TERM "$STORM_PID"
wait "$STORM_PID" || die "the load generator failed: $(cat "$CHAOS_TMP/storm.out")"
report=$(cat "$CHAOS_TMP/storm.json")
field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$report" "$1"; }
kill -0 "$SINK_PID" 2>/dev/null || die "the sink daemon died in the storm"
max_fds=$(field server_max_fds)
max_rss=$(field server_max_rss_kib)
longest=$(field longest_lived_s)
echo "storm: $report"
echo "storm: sink fds at most $max_fds (baseline ${BASE_FDS[sink]}), RSS at most $(mib "$max_rss") (baseline $(mib "${BASE_RSS[sink]}")); push done in $took s"
[ "$(field samples)" -gt 10 ] || die "too few samples of the sink during the storm: $report"
[ "$(field slowloris_connections)" -ge 200 ] || die "not all slowloris clients connected: $report"
[ "$(field connects_ok)" -ge 1000 ] || die "not even one wave of 1000 connections got through: $report"
# Generous bounds: the preamble limits (256 in total) plus the daemon's own descriptors and
# the push's connections; memory a few KiB per pending connection.
[ "$max_fds" -le $((BASE_FDS[sink] + 320)) ] ||
    die "the sink held $max_fds descriptors during the storm (baseline ${BASE_FDS[sink]}, bound +320)"
[ "$max_rss" -le $((BASE_RSS[sink] + 65536)) ] ||
    die "the sink's RSS reached $(mib "$max_rss") during the storm (baseline $(mib "${BASE_RSS[sink]}"), bound +64 MiB)"
# The preamble deadline is 10 s from the accept; allow the storm's own scheduling on top.
awk -v l="$longest" 'BEGIN { exit !(l <= 13) }' || die "a hostile connection lived $longest s (preamble deadline 10 s)"
same_guids "${snaps[@]}"
abstractions_consistent 1
resources_back_to_baseline
stop_daemons
no_zfs_children
verdict "200 slowloris clients and $(field waves) waves of 1000 silent connects ($(field connects_ok) connected, $(field closed_by_server) closed by the sink, none alive beyond $longest s) while push1 replicated 5 steps in $took s (attempt(s): $attempts), every GUID equal; sink at most $max_fds fds and $(mib "$max_rss") during the storm; $RESOURCES"
