#!/usr/bin/env bash
# scale_clients.sh [--clients N] [--per-daemon M] [--addresses K] [--data-kib N] [--build DIR]
#                  [--sink-zferry MAP] [--timeout S] [--keep]
#
# N push clients (default 1000) against ONE sink daemon over mutual TLS, on zfs-sim: how long
# until every client's first snapshot is on the sink, and what the sink spends on it.
#
# What runs: one sink daemon (`zferry daemon`, a sink job serving tls on 127.0.0.1, client_cns
# listing all N identities, receiving below q/sink on its own zfs-sim host). The N clients are
# real push jobs in real `zferry daemon` processes, M jobs per daemon (default 100, so 10
# daemons for 1 000 clients): each daemon is one client host with its own zfs-sim state, each
# job one client identity with its own certificate (CN cNNNN, signed by one test CA with the
# openssl CLI), its own TLS connections and its own filesystem p/cNNNN holding --data-kib KiB
# (default 16). Every job snapshots at once when its daemon starts (periodic, interval 1h),
# replicates that snapshot into q/sink/cNNNN/p/cNNNN and prunes both sides. What is not
# measured: N separate client processes (a daemon per client would take ~13 MiB each; the
# jobs of one daemon share its io_context, zfs-sim host and process, not their connections,
# certificates or replication state), and networks other than loopback.
#
# --addresses K (K > 1) spreads the clients' connections over K source addresses
# 127.0.0.2..127.0.0.(K+1): the bench re-runs itself in a private network namespace
# (unshare --net, root) whose nftables rule source-NATs each new connection to the sink
# round-robin (numgen inc mod K). Without it every connection comes from 127.0.0.1, and the
# sink's limits of connections in their TLS handshake and in their preamble (each 256 in
# total, 32 per address) apply to all of them as one address.
#
# --sink-zferry MAP sets the sink's serve.zferry map (YAML flow, e.g. '{control_connections_max:
# 256}' for the default before 2048).
#
# Reported: time from starting the client daemons until the last replication ended (taken
# from the clients' status; a job whose attempts all failed has ended too: counted, its error
# shown), per-job replication latency p50/p99/max, sink RSS (idle, peak =
# VmHWM, after), sink descriptors (idle, peak sampled every 0.2 s, after, 1 s after every client
# has stopped, and how long until the sink is back near its idle count), sink CPU (its own, and its zfs children's), attempts beyond the first (and
# the clients' failed attempts by cause), the
# sink's refusals and shed connections (from its log), the load average, and the verdict:
# every client's snapshot on the sink with its GUID. Exit status 0 only if all N arrived.
#
# Build first: bash tools/dev/build.sh release zferry zfs-sim. Needs openssl and python3.
set -euo pipefail
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build/release
clients=1000 per=100 addresses=1 data_kib=16 timeout=1800 keep= sink_zferry=
args=("$@")
while (($#)); do
    case "$1" in
    --clients) clients=$2; shift 2 ;;
    --per-daemon) per=$2; shift 2 ;;
    --addresses) addresses=$2; shift 2 ;;
    --data-kib) data_kib=$2; shift 2 ;;
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --sink-zferry) sink_zferry=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
((clients >= 1 && per >= 1 && addresses >= 1 && addresses <= 250)) || { usage >&2; exit 2; }
if ((addresses > 1)) && [ -z "${ZFERRY_SCALE_IN_NETNS:-}" ]; then
    exec env ZFERRY_SCALE_IN_NETNS=1 unshare --net -- bash "$0" "${args[@]}"
fi

zferry=$build/tools/zferry/zferry
zfs_sim=$build/tools/zfs-sim/zfs-sim
[ -x "$zferry" ] && [ -x "$zfs_sim" ] || { echo "build first: bash tools/dev/build.sh release zferry zfs-sim" >&2; exit 2; }
ndaemons=$(((clients + per - 1) / per))
dir=$(mktemp -d /var/tmp/zferry-scale-clients.XXXXXX)
pids=()
sampler=
cleanup() {
    [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "$keep" ]; then echo "kept $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT
ident() { printf 'c%04d' "$1"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
status_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }
# utime+stime and cutime+cstime of a process, in seconds.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f %.2f", ($12 + $13) / hz, ($14 + $15) / hz }' "/proc/$1/stat"; }

if ((addresses > 1)); then
    ip link set lo up
fi

echo "== $clients clients in $ndaemons daemons of up to $per push jobs, $addresses source address(es); load $(load)"
t=$(date +%s.%N)
certs=$dir/certs
mkdir -p "$certs"
cat >"$certs/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = keyCertSign
[client]
basicConstraints = critical,CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = clientAuth
[server]
basicConstraints = critical,CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:sink.scale
EOF
export OPENSSL_CONF=$certs/openssl.cnf
(
    cd "$certs"
    k=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -config openssl.cnf)
    openssl req -x509 "${k[@]}" -extensions ca -keyout ca.key -out ca.crt -subj /CN=scale-ca 2>/dev/null
    openssl req -x509 "${k[@]}" -extensions server -keyout sink.key -out sink.crt -subj /CN=sink.scale \
        -CA ca.crt -CAkey ca.key 2>/dev/null
    for i in $(seq 1 "$clients"); do
        c=$(ident "$i")
        openssl req -x509 "${k[@]}" -extensions client -keyout "$c.key" -out "$c.crt" -subj "/CN=$c" \
            -CA ca.crt -CAkey ca.key 2>/dev/null
    done
)
echo "certificates: a CA, the sink and $clients clients ($(printf %.1f "$(echo "$(date +%s.%N) - $t" | bc)") s)"

# The sink host.
mkdir -p -m 700 "$dir/sink"
ZFS_SIM_STATE=$dir/sink/zfs "$zfs_sim" sim-create-pool q >/dev/null
ZFS_SIM_STATE=$dir/sink/zfs "$zfs_sim" create q/sink >/dev/null
{
    cat <<EOF
global:
  logging: [{type: stdout, level: info, format: human}]
  control: {sockpath: $dir/sink/control.sock}
jobs:
  - name: sink1
    type: sink
    root_fs: q/sink
    recv: {placeholder: {encryption: inherit}}
    serve:
      type: tls
      listen: "127.0.0.1:0"
      ca: $certs/ca.crt
      cert: $certs/sink.crt
      key: $certs/sink.key
EOF
    if [ -n "$sink_zferry" ]; then echo "      zferry: $sink_zferry"; fi
    echo "      client_cns:"
    for i in $(seq 1 "$clients"); do echo "        - $(ident "$i")"; done
} >"$dir/sink/zferry.yml"
ZFS_SIM_STATE=$dir/sink/zfs "$zferry" daemon --zfs "$zfs_sim" --config "$dir/sink/zferry.yml" \
    >"$dir/sink/daemon.log" 2>&1 &
sink=$!
pids+=("$sink")
port=
for _ in $(seq 1 200); do
    port=$(sed -n 's/.*serving on tls 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/sink/daemon.log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$sink" 2>/dev/null || { cat "$dir/sink/daemon.log" >&2; exit 1; }
    sleep 0.05
done
[ -n "$port" ] || { echo "the sink does not listen; its log: $dir/sink/daemon.log" >&2; exit 1; }

if ((addresses > 1)); then
    map=$(for a in $(seq 0 $((addresses - 1))); do printf '%d : 127.0.0.%d, ' "$a" $((a + 2)); done)
    map=${map%, }
    nft -f - <<EOF
table ip zferry_scale {
    chain post {
        type nat hook postrouting priority srcnat;
        ip daddr 127.0.0.1 tcp dport $port snat to numgen inc mod $addresses map { $map }
    }
}
EOF
fi

# The client hosts: daemon d serves clients (d-1)*per+1 .. d*per.
for d in $(seq 1 "$ndaemons"); do
    h=$dir/h$d
    mkdir -p -m 700 "$h"
    export ZFS_SIM_STATE=$h/zfs
    "$zfs_sim" sim-create-pool p >/dev/null
    first=$(((d - 1) * per + 1)) last=$((d * per < clients ? d * per : clients))
    head -c $((data_kib * 1024)) /dev/urandom >"$h/data"
    for i in $(seq "$first" "$last"); do
        "$zfs_sim" create "p/$(ident "$i")" >/dev/null
        "$zfs_sim" sim-write "p/$(ident "$i")" "$h/data"
    done
    {
        cat <<EOF
global:
  logging: [{type: stdout, level: info, format: human}]
  control: {sockpath: $h/control.sock}
jobs:
EOF
        for i in $(seq "$first" "$last"); do
            c=$(ident "$i")
            cat <<EOF
  - name: push_$c
    type: push
    connect: {type: tls, address: "127.0.0.1:$port", ca: $certs/ca.crt, cert: $certs/$c.crt, key: $certs/$c.key, server_cn: sink.scale}
    filesystems: {"p/$c": true}
    snapshotting: {type: periodic, prefix: zferry_, interval: 1h}
    pruning:
      keep_sender: [{type: last_n, count: 10}]
      keep_receiver: [{type: last_n, count: 10}]
EOF
        done
    } >"$h/zferry.yml"
done
unset ZFS_SIM_STATE

sleep 1
idle_rss=$(status_kib "$sink" VmRSS)
idle_fds=$(fds "$sink")
read -r cpu0 ccpu0 <<<"$(cpu "$sink")"
(
    while kill -0 "$sink" 2>/dev/null; do
        echo "$(fds "$sink" 2>/dev/null || echo 0)"
        sleep 0.2
    done
) >"$dir/sink_fds" &
sampler=$!

echo "sink idle: $(mib "$idle_rss") MiB RSS, $idle_fds fds; starting $ndaemons client daemons; load $(load)"
t0=$(date +%s.%N)
for d in $(seq 1 "$ndaemons"); do
    h=$dir/h$d
    ZFS_SIM_STATE=$h/zfs "$zferry" daemon --zfs "$zfs_sim" --config "$h/zferry.yml" >"$h/daemon.log" 2>&1 &
    pids+=($!)
done

cat >"$dir/progress.py" <<'EOF'
import json, re, sys
# argv: [--final] t0 (unix seconds) status files. Prints "replicated finished total" (finished:
# the invocation's replication ended, replicated or failed) or, with --final, the figures.
from collections import Counter
from datetime import datetime
def ts(s):
    date, frac = s.rstrip("Z").split(".") if "." in s else (s.rstrip("Z"), "0")
    return datetime.fromisoformat(date + "+00:00").timestamp() + float("0." + frac)
final = sys.argv[1] == "--final"
args = sys.argv[2:] if final else sys.argv[1:]
t0 = float(args[0])
done = finished = total = retried = 0
lat, ends, errors = [], [], Counter()
for path in args[1:]:
    try:
        jobs = json.load(open(path))["Jobs"]
    except Exception:
        continue
    for name, j in jobs.items():
        if not name.startswith("push_"):
            continue
        total += 1
        r = j["push"].get("Replication")
        if not r:
            continue
        att = r.get("Attempts") or []
        retried += max(0, len(att) - 1)
        if not r.get("FinishAt"):
            continue
        finished += 1
        ends.append(ts(r["FinishAt"]) - t0)
        if att and att[-1]["State"] == "done":
            done += 1
            lat.append(ts(r["FinishAt"]) - ts(r["StartAt"]))
        else:
            why = [f.get("StepError") or f.get("PlanError") for f in att[-1].get("Filesystems") or []] if att else []
            why = [w for w in why if w] or [att[-1].get("PlanError") if att else "no attempt"]
            e = why[0].get("Err", "") if isinstance(why[0], dict) else str(why[0])
            errors[re.sub(r":[0-9]+:", ":N:", re.sub(r"c[0-9]{4}|[0-9]{8}_[0-9]{6}_[0-9]{3}", "N", e))[:240]] += 1
if not final:
    print(done, finished, total)
    sys.exit()
lat.sort()
nan = float("nan")
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else nan
print(f"{done} of {total} jobs replicated, {finished - done} failed; the last replication ended"
      f" {max(ends) if ends else nan:.1f} s after the daemons started"
      f" (half by {sorted(ends)[len(ends) // 2] if ends else nan:.1f} s); replication latency of"
      f" the replicated: p50 {q(0.5):.1f} s, p99 {q(0.99):.1f} s, max {lat[-1] if lat else nan:.1f} s;"
      f" {retried} attempt(s) beyond the first")
for e, n in errors.most_common(3):
    print(f"  failed ({n}): {e}")
EOF
status_all() {
    for d in $(seq 1 "$ndaemons"); do
        "$zferry" --config "$dir/h$d/zferry.yml" status --mode raw >"$dir/h$d/status.json" 2>/dev/null || true
    done
}
while :; do
    sleep 1
    status_all
    read -r done finished total <<<"$(python3 "$dir/progress.py" "$t0" "$dir"/h*/status.json)"
    now=$(echo "$(date +%s.%N) - $t0" | bc)
    printf '  %5.1f s: %d of %d replicated, %d failed; sink %s fds; load %s\n' "$now" "$done" "$clients" \
        $((finished - done)) "$(tail -1 "$dir/sink_fds")" "$(load)"
    ((finished == clients)) && break
    if (($(printf %.0f "$now") > timeout)); then
        echo "timed out after $timeout s with $done of $clients replicated" >&2
        break
    fi
done
read -r cpu1 ccpu1 <<<"$(cpu "$sink")"
peak_rss=$(status_kib "$sink" VmHWM)
after_rss=$(status_kib "$sink" VmRSS)
after_fds=$(fds "$sink")
result=$(python3 "$dir/progress.py" --final "$t0" "$dir"/h*/status.json)
load_end=$(load)
client_cpu=0
for p in "${pids[@]:1}"; do
    read -r a b <<<"$(cpu "$p")"
    client_cpu=$(echo "$client_cpu + $a + $b" | bc)
done

# Stop the clients (their kept control connections close), then look at the sink once more.
for p in "${pids[@]:1}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${pids[@]:1}"; do wait "$p" 2>/dev/null || true; done
pids=("$sink")
sleep 1
stopped_fds=$(fds "$sink")
stopped_rss=$(status_kib "$sink" VmRSS)
# How long the sink takes to close what the clients left (up to 60 s more).
drain_start=$(date +%s.%N)
drained_fds=$stopped_fds
while ((drained_fds > idle_fds + 2)); do
    (($(printf %.0f "$(echo "$(date +%s.%N) - $drain_start" | bc)") >= 60)) && break
    sleep 0.2
    drained_fds=$(fds "$sink")
done
drain_s=$(echo "1 + $(date +%s.%N) - $drain_start" | bc)
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
sampler=
peak_fds=$(sort -n "$dir/sink_fds" | tail -1)
kill -TERM "$sink"
wait "$sink" || true
pids=()

echo "== figures ($clients clients, $ndaemons client daemons, $addresses source address(es)${sink_zferry:+, sink serve.zferry $sink_zferry})"
echo "$result"
echo "sink RSS: idle $(mib "$idle_rss") MiB, peak $(mib "$peak_rss") MiB (VmHWM), after $(mib "$after_rss") MiB, clients stopped $(mib "$stopped_rss") MiB"
printf 'sink fds: idle %s, peak %s (sampled every 0.2 s), after %s, 1 s after the clients stopped %s, %s after %.1f s\n' \
    "$idle_fds" "$peak_fds" "$after_fds" "$stopped_fds" "$drained_fds" "$drain_s"
echo "sink CPU: $(echo "$cpu1 - $cpu0" | bc) s in the daemon, $(echo "$ccpu1 - $ccpu0" | bc) s in its zfs-sim children; client daemons with their zfs-sim children: $client_cpu s"
shed=$(grep -c 'closing a connection in its handshake' "$dir/sink/daemon.log" || true)
tshed=$(grep -c 'closing a TLS connection in its handshake' "$dir/sink/daemon.log" || true)
refused=$(grep -c 'refusing' "$dir/sink/daemon.log" || true)
cwarn=$(cat "$dir"/h*/daemon.log | grep -c -E '\b(warn|warning|error|WARN|ERROR)\b' || true)
echo "connections: $tshed shed by the sink's TLS handshake limits, $shed by its preamble limits, $refused refused (TLS or identity); $cwarn warning/error line(s) in the clients' logs"
grep -h -o 'closing a \(TLS \)\{0,1\}connection in its handshake: [^;]*' "$dir/sink/daemon.log" |
    sed 's/.*: //; s/[0-9.]*$/ADDRESS/' | sort | uniq -c || true
grep -h -o 'refusing TLS connection: [^ ]* [^:]*: [a-z ]*' "$dir/sink/daemon.log" | sort | uniq -c | sort -rn | head -3 || true
# The clients' failed attempts by cause (names, snapshots and addresses folded), most first.
grep -h -o 'attempt [0-9]* failed with a temporary error, waiting for connectivity: .*' "$dir"/h*/daemon.log |
    sed -E 's/ {2,}job=.*//; s/c[0-9]{4}/cN/g; s/[0-9]{8}_[0-9]{6}_[0-9]{3}/T/g' |
    sed -E 's/127\.0\.0\.[0-9]+:[0-9]+/ADDR/g; s/waiting for connectivity: p\/cN: step [^:]*: /waiting for connectivity: /' |
    sed -E 's/ with a temporary error, waiting for connectivity//' | cut -c1-200 | sort | uniq -c | sort -rn |
    head -5 || true
echo "load average at the end: $load_end"

# Verdict: every client's snapshot on the sink, with the same GUID.
ZFS_SIM_STATE=$dir/sink/zfs "$zfs_sim" list -H -p -o name,guid -t snapshot -r q/sink >"$dir/sink_snaps"
for d in $(seq 1 "$ndaemons"); do
    ZFS_SIM_STATE=$dir/h$d/zfs "$zfs_sim" list -H -p -o name,guid -t snapshot -r p
done >"$dir/client_snaps"
python3 - "$dir/client_snaps" "$dir/sink_snaps" "$clients" <<'EOF'
import sys
src = dict(l.split("\t") for l in open(sys.argv[1]).read().splitlines())
dst = dict(l.split("\t") for l in open(sys.argv[2]).read().splitlines())
want = int(sys.argv[3])
clients = {n.split("@")[0] for n in src}
ok = 0
for name, guid in src.items():
    fs = name.split("@")[0]            # p/cNNNN
    ident = fs.split("/")[1]
    if dst.get(f"q/sink/{ident}/{name}") == guid:
        ok += 1
print(f"verdict: {ok} of {len(src)} client snapshots ({len(clients)} clients) on the sink with equal GUIDs")
sys.exit(0 if ok == len(src) and len(clients) == want else 1)
EOF
