#!/usr/bin/env bash
# The peer goes silent mid-transfer (every packet dropped both ways, no RST, no ICMP): both
# ends give up after the heartbeat timeout (10 s without a sign of life) with an error that
# says it is temporary (the replication driver waits for connectivity and retries), and
# neither hangs. Models a crashed host or a firewall that started dropping.
source "$(dirname "$0")/lib.sh"
transfer=${1:?usage: transport_silence.sh DATACONN_TRANSFER_BINARY}
chaos_up
fault_rate 20mbit  # 256 MiB would take 100 s: the silence comes long before the end

start_server_b "$transfer" 7000 /dev/null
head -c $((256 << 20)) /dev/zero | in_a "$transfer" client --address "$ADDR_B" --port 7000 2>"$CHAOS_TMP/client.err" &
client=$!
sleep 2
fault_silence
t0=$(now)
client_rc=0
wait "$client" || client_rc=$?
client_took=$(elapsed_since "$t0")
server_rc=0
wait "$SERVER_PID" || server_rc=$?
server_took=$(elapsed_since "$t0")
[ "$client_rc" != 0 ] || die "the client reported success although its peer went silent"
[ "$server_rc" != 0 ] || die "the server reported success although its peer went silent"
grep -q "temporary" "$CHAOS_TMP/client.err" ||
    die "the client's error does not say it is temporary: $(cat "$CHAOS_TMP/client.err")"
awk -v c="$client_took" -v s="$server_took" 'BEGIN { exit !(c >= 9 && c <= 60 && s <= 60) }' ||
    die "gave up after ${client_took} s (client) and ${server_took} s (server); expected the 10 s heartbeat timeout, within 60 s"
verdict "silence both ways: the client gave up after $client_took s ($(head -c 200 "$CHAOS_TMP/client.err" | tr '\n' ' ')), the server after $server_took s"
