#!/usr/bin/env bash
# 32 MiB over dataconn (handshake, mux label, frames, heartbeats, stream) from namespace A to
# B through 5 % packet loss both ways and a 100 Mbit/s tbf: everything arrives, byte for byte.
# Models a lossy, slow link; not modelled: delay and reordering (no netem on this kernel).
source "$(dirname "$0")/lib.sh"
transfer=${1:?usage: transport_loss_and_rate.sh DATACONN_TRANSFER_BINARY}
chaos_up
fault_rate 100mbit
fault_loss 5

head -c $((32 << 20)) /dev/urandom >"$CHAOS_TMP/data"
start_server_b "$transfer" 7000 "$CHAOS_TMP/out"
t0=$(now)
in_a "$transfer" client --address "$ADDR_B" --port 7000 <"$CHAOS_TMP/data" 2>"$CHAOS_TMP/client.err" ||
    die "the client failed through loss: $(cat "$CHAOS_TMP/client.err")"
wait "$SERVER_PID" || die "the server failed: $(cat "$CHAOS_TMP/server.err")"
took=$(elapsed_since "$t0")
wait "$SINK_PID"
cmp -s "$CHAOS_TMP/data" "$CHAOS_TMP/out" || die "the received stream differs from the sent one"
verdict "32 MiB crossed 5 % loss both ways at 100 Mbit/s intact in $took s"
