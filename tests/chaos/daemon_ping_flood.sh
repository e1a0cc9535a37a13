#!/usr/bin/env bash
# Scenario: a control client pings the sink faster than the keepalive policy allows while a
# legitimate push replicates. tests/chaos/ping_flood.py, from its own address in the pusher's
# namespace (10.231.0.3, client identity `pinger` in the sink's clients map), does zrepl's
# handshake and the `zrepl_control` label, starts HTTP/2 as a gRPC client does and sends an
# HTTP/2 PING every 100 ms without a call; after each GOAWAY it reconnects and does it again,
# for as long as the push runs. Meanwhile push1 replicates 3 snapshots of 4 MiB (one step each)
# through a 30 Mbit/s link. The policy is zrepl's (grpc-go's enforcement: MinTime 2.5 s,
# PermitWithoutStream, more than 2 strikes).
# Verdict: every round of the pinger ends with GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") and
# the sink closing the connection; the sink logs each, naming the client; the push completes
# in its first attempt with every GUID equal and the abstractions consistent; both daemons
# are back at their baseline; clean stops, no zfs child left.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
chaos_up
daemons_setup "${1:?zferry binary}" "${2:?zfs-sim binary}"
PINGER=10.231.0.3
ip -n "$NS_A" addr add "$PINGER/24" dev "$NS_A"
sed -i "s|      clients: {\"$ADDR_A\": \"host1\"}|      clients: {\"$ADDR_A\": \"host1\", \"$PINGER\": \"pinger\"}|" "$DST/zferry.yml"
grep -q pinger "$DST/zferry.yml" || die "the sink's clients map was not extended"
sed -i 's|    snapshotting: {type: manual}|    snapshotting: {type: manual}\n    conflict_resolution: {initial_replication: all}\n    replication: {coalesce: false}|' "$SRC/zferry.yml"
snaps=()
for i in 1 2 3; do
    head -c $((4 << 20)) /dev/urandom >"$CHAOS_TMP/data"
    zs sim-write p/a "$CHAOS_TMP/data"
    zs snapshot "p/a@s$i"
    snaps+=("s$i")
done
fault_rate 30mbit
start_sink
start_push

ip netns exec "$NS_A" /usr/bin/python3 "$(dirname "$0")/ping_flood.py" --target "$ADDR_B:7001" --bind "$PINGER" \
    --interval-ms 100 --report "$CHAOS_TMP/pings.json" >"$CHAOS_TMP/pings.out" 2>&1 &
PINGER_PID=$!
# The first round's GOAWAY is in the sink's log before the push starts.
for i in $(seq 1 100); do
    grep -q "too_many_pings" "$DST/log" && break
    kill -0 "$PINGER_PID" 2>/dev/null || die "the ping client exited: $(cat "$CHAOS_TMP/pings.out")"
    sleep 0.1
done
grep -q "too_many_pings" "$DST/log" || die "no too_many_pings in the sink's log after 10 s: $(tail -n 20 "$DST/log")"
t0=$(now)
"$ZFERRY" signal wakeup push1 --config "$SRC/zferry.yml" >/dev/null
wait_until 120 'p["Replication"]["FinishAt"] is not None and p["State"] == "waiting"'
took=$(elapsed_since "$t0")
kill -TERM "$PINGER_PID"
wait "$PINGER_PID" || die "the ping client failed: $(cat "$CHAOS_TMP/pings.out")"
[ "$(status_field 'attempts()[-1]["State"]')" = done ] || die "the push did not complete: $(push_status)"
attempts=$(status_field 'len(attempts())')
[ "$attempts" = 1 ] || die "the push needed $attempts attempts beside the ping flood: $(push_status)"
report=$(cat "$CHAOS_TMP/pings.json")
summary=$(/usr/bin/python3 - "$report" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
rounds = r["rounds"]
bad = [x for x in rounds if x["goaway"]["error_code"] != 11 or x["goaway"]["debug"] != "too_many_pings"
       or not x["closed_by_server"] or x["acks"] < 1]
if not rounds or bad:
    print("FAIL", json.dumps(bad[:3] or r))
else:
    pings = sorted(x["pings"] for x in rounds)
    secs = sorted(x["seconds_to_goaway"] for x in rounds)
    print(len(rounds), pings[0], pings[-1], secs[len(secs) // 2])
PY
)
case "$summary" in FAIL*) die "a round of the ping client did not end as it should: $summary" ;; esac
read -r rounds min_pings max_pings median_s <<<"$summary"
logged=$(grep "too_many_pings" "$DST/log" | grep -c "client=pinger" || true)
[ "$logged" -ge "$rounds" ] || die "the sink logged too_many_pings $logged times for $rounds rounds: $(grep too_many_pings "$DST/log" | head -3)"
grep "too_many_pings" "$DST/log" | grep -v -q "client=pinger" &&
    die "too_many_pings logged for another client: $(grep too_many_pings "$DST/log" | grep -v client=pinger | head -3)"
echo "pings: $rounds rounds, $min_pings-$max_pings pings each, GOAWAY after a median $median_s s; sink log: $(grep -m1 too_many_pings "$DST/log")"
same_guids "${snaps[@]}"
abstractions_consistent 1
resources_back_to_baseline
stop_daemons
no_zfs_children
verdict "a control client pinging every 100 ms got GOAWAY(ENHANCE_YOUR_CALM, \"too_many_pings\") after $min_pings-$max_pings pings in each of $rounds rounds, each logged by the sink; meanwhile push1 replicated 3 steps in $took s in its first attempt, every GUID equal; $RESOURCES"
