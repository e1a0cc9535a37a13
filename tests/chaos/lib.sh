# Chaos harness, sourced by each scenario: two network namespaces of the scenario's own joined
# by a veth pair, and the faults this kernel offers (it has no netem): loss and silence with
# nftables rules, link cuts with `ip link set down`, rate with the tbf qdisc.
#
#   chaos_up                 creates zfc<PID>a (address $ADDR_A) and zfc<PID>b ($ADDR_B);
#                            an EXIT trap undoes everything, also after a failure
#   in_a CMD... / in_b CMD...   run a command in a namespace
#   fault_loss PCT           drop PCT % of the packets A sends and receives (nft numgen)
#   fault_silence            drop everything both ways: no RST, no ICMP (a peer gone silent)
#   fault_cut / fault_restore   link down on both ends / link up and every rule removed
#   fault_rate RATE          tbf on A's side (e.g. 100mbit)
#   verdict TEXT             the scenario's one-sentence result
#   CHAOS_DOWN_HOOK          a command the EXIT trap runs once the namespaces' processes are
#                            killed (daemon_lib.sh removes its zfs-fuse datasets with it)
#
# A namespace pair whose creating process is gone (a killed run) is removed by the next
# chaos_up. Nothing here listens on or touches any address outside these namespaces.
set -euo pipefail

CHAOS_PREFIX=zfc
ADDR_A=10.231.0.1
ADDR_B=10.231.0.2

die() {
    echo "chaos: $*" >&2
    exit 1
}

chaos_require() {
    [ "$(id -u)" = 0 ] || die "must run as root: network namespaces, nftables and qdiscs need CAP_NET_ADMIN"
    local c
    for c in ip nft tc ss; do
        command -v "$c" >/dev/null || die "$c is missing (Debian packages iproute2 and nftables; tools/dev/deps.sh installs them)"
    done
}

# Namespaces of runs that were killed before their trap ran.
chaos_sweep() {
    local ns pid
    for ns in $(ip netns list | awk '{print $1}'); do
        case "$ns" in
            "$CHAOS_PREFIX"*[ab]) ;;
            *) continue ;;
        esac
        pid=${ns#"$CHAOS_PREFIX"}
        pid=${pid%[ab]}
        case "$pid" in '' | *[!0-9]*) continue ;; esac
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "chaos: removing namespace $ns of an earlier run (pid $pid is gone)" >&2
            chaos_kill_in "$ns"
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
}

chaos_kill_in() {
    local pids
    pids=$(ip netns pids "$1" 2>/dev/null || true)
    if [ -n "$pids" ]; then
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
    fi
}

chaos_down() {
    local ns
    for ns in "$NS_A" "$NS_B"; do
        chaos_kill_in "$ns"
        ip netns del "$ns" 2>/dev/null || true
    done
    if [ -n "${CHAOS_DOWN_HOOK:-}" ]; then $CHAOS_DOWN_HOOK || true; fi
    [ -n "${CHAOS_TMP:-}" ] && rm -rf "$CHAOS_TMP"
    return 0
}

chaos_up() {
    chaos_require
    NS_A=${CHAOS_PREFIX}$$a
    NS_B=${CHAOS_PREFIX}$$b
    chaos_sweep
    trap chaos_down EXIT
    trap 'exit 130' INT TERM
    CHAOS_TMP=$(mktemp -d /tmp/zferry-chaos.XXXXXX)
    ip netns add "$NS_A"
    ip netns add "$NS_B"
    ip link add "$NS_A" netns "$NS_A" type veth peer name "$NS_B" netns "$NS_B"
    ip -n "$NS_A" addr add "$ADDR_A/24" dev "$NS_A"
    ip -n "$NS_B" addr add "$ADDR_B/24" dev "$NS_B"
    local ns
    for ns in "$NS_A" "$NS_B"; do
        ip -n "$ns" link set lo up
        ip -n "$ns" link set "$ns" up
    done
    in_a nft add table inet chaos
    in_a nft add chain inet chaos out '{ type filter hook output priority 0; }'
    in_a nft add chain inet chaos in '{ type filter hook input priority 0; }'
}

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

fault_loss() {
    in_a nft add rule inet chaos out numgen random mod 100 '<' "$1" drop
    in_a nft add rule inet chaos in numgen random mod 100 '<' "$1" drop
}
fault_silence() {
    in_a nft add rule inet chaos out drop
    in_a nft add rule inet chaos in drop
}
fault_cut() {
    ip -n "$NS_A" link set "$NS_A" down
    ip -n "$NS_B" link set "$NS_B" down
}
fault_restore() {
    in_a nft flush chain inet chaos out
    in_a nft flush chain inet chaos in
    ip -n "$NS_A" link set "$NS_A" up
    ip -n "$NS_B" link set "$NS_B" up
}
fault_rate() {
    tc -n "$NS_A" qdisc replace dev "$NS_A" root tbf rate "$1" burst 64kbit latency 400ms
}

# Starts `dataconn_transfer server` in namespace B on PORT, its stream into FILE through a
# pipe (the server splices into its stdout, which must be a pipe, as zfs recv's stdin is).
# Sets SERVER_PID and SINK_PID; waits until it listens.
start_server_b() {
    local transfer=$1 port=$2 file=$3
    rm -f "$CHAOS_TMP/sink.fifo"
    mkfifo "$CHAOS_TMP/sink.fifo"
    cat "$CHAOS_TMP/sink.fifo" >"$file" &
    SINK_PID=$!
    in_b "$transfer" server --address "$ADDR_B" --port "$port" >"$CHAOS_TMP/sink.fifo" 2>"$CHAOS_TMP/server.err" &
    SERVER_PID=$!
    wait_listening_b "$port"
}

# Waits until something listens on PORT in namespace B.
wait_listening_b() {
    local port=$1 i
    for i in $(seq 1 100); do
        if in_b ss -Hltn "sport = :$port" | grep -q .; then return 0; fi
        sleep 0.05
    done
    die "nothing listens on $ADDR_B:$port in $NS_B after 5 s"
}

now() { date +%s.%N; }
elapsed_since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.2f", a - b }'; }

verdict() { echo "verdict: $*"; }
