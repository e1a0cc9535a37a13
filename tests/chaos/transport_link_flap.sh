#!/usr/bin/env bash
# The link goes down for 2 s in the middle of a dataconn transfer and comes back: TCP
# retransmits, the heartbeats' 10 s budget is not exhausted, and everything arrives intact.
# Models a flapping link or a switch reboot; the longer cut that must end in a timeout is
# transport_silence.sh.
source "$(dirname "$0")/lib.sh"
transfer=${1:?usage: transport_link_flap.sh DATACONN_TRANSFER_BINARY}
chaos_up
fault_rate 50mbit  # 32 MiB take about 5.5 s, so the cut lands mid-stream

head -c $((32 << 20)) /dev/urandom >"$CHAOS_TMP/data"
start_server_b "$transfer" 7000 "$CHAOS_TMP/out"
in_a "$transfer" client --address "$ADDR_B" --port 7000 <"$CHAOS_TMP/data" 2>"$CHAOS_TMP/client.err" &
client=$!
sleep 1.5
got_before=$(stat -c %s "$CHAOS_TMP/out")
fault_cut
sleep 2
fault_restore
wait "$client" || die "the client failed after a 2 s cut: $(cat "$CHAOS_TMP/client.err")"
wait "$SERVER_PID" || die "the server failed after a 2 s cut: $(cat "$CHAOS_TMP/server.err")"
wait "$SINK_PID"
cmp -s "$CHAOS_TMP/data" "$CHAOS_TMP/out" || die "the received stream differs from the sent one"
[ "$got_before" -gt 0 ] && [ "$got_before" -lt $((32 << 20)) ] ||
    die "the cut did not land mid-stream ($got_before bytes had arrived); the scenario tested nothing"
verdict "a 2 s link cut after $got_before of 33554432 bytes: the transfer resumed by itself and arrived intact"
