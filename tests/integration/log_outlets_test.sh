#!/usr/bin/env bash
# log_outlets_test.sh ZFERRY ZFS_SIM: the daemon's logging outlets against real peers.
# - tcp with TLS: `openssl s_server` on 127.0.0.1 is the collector (mutual TLS, certificates from
#   the openssl CLI); the outlet is logfmt at debug, so the collector must see the startup lines
#   and, after SIGTERM, the last line ("stopped"): queued lines go out before the daemon exits.
# - stdout: human at info, beside it, with no debug lines.
# - syslog: the daemon runs in a private mount namespace whose /dev/log is a datagram socket of
#   this test (python3), which receives RFC 3164 messages with the configured facility.
# Every process started here is stopped; everything lives in one temporary directory.
set -euo pipefail
zferry=${1:?usage: log_outlets_test.sh ZFERRY ZFS_SIM}
zfs_sim=${2:?usage: log_outlets_test.sh ZFERRY ZFS_SIM}

dir=$(mktemp -d /tmp/zferry-log-outlets.XXXXXX)
pids=()
cleanup() {
    local rc=$?
    set +e
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    if ((rc != 0)); then
        for f in daemon.out collector.out collector.err syslog.out daemon2.out; do
            [ -f "$dir/$f" ] && { echo "--- $f"; tail -40 "$dir/$f"; }
        done >&2
    fi
    rm -rf "$dir"
    exit "$rc"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
# Polls `cmd...` every 0.1 s for up to `secs` seconds.
within() {
    local secs=$1
    shift
    local end=$((SECONDS + secs))
    until "$@"; do
        ((SECONDS < end)) || return 1
        sleep 0.1
    done
}

cd "$dir"
export ZFS_SIM_STATE=$dir/zfs
"$zfs_sim" sim-create-pool q >/dev/null
"$zfs_sim" create q/sink >/dev/null

# Certificates: a CA, the collector (DNS:localhost), the daemon's client certificate.
key=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${key[@]}" -keyout ca.key -out ca.crt -subj /CN=log-ca -days 2 2>/dev/null
for cn in localhost zferry-host; do
    openssl req "${key[@]}" -keyout $cn.key -out $cn.csr -subj /CN=$cn 2>/dev/null
    printf 'subjectAltName=DNS:%s\n' $cn >$cn.ext
    openssl x509 -req -in $cn.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $cn.crt -days 2 \
        -extfile $cn.ext 2>/dev/null
done

# The collector: prints what it receives; -Verify 1 demands a client certificate. Its stdin is
# a fifo this script holds open: s_server ends a connection when its stdin ends.
mkfifo collector.in
exec 3<>collector.in
openssl s_server -accept 127.0.0.1:0 -cert localhost.crt -key localhost.key -CAfile ca.crt -Verify 1 \
    -quiet <collector.in >collector.out 2>collector.err &
collector=$!
pids+=("$collector")
port=
collector_port() {
    port=$(ss -Hltnp 2>/dev/null | awk -v pid="pid=$collector," '$0 ~ pid { n = split($4, a, ":"); print a[n]; exit }')
    [ -n "$port" ]
}
within 10 collector_port || fail "openssl s_server does not listen"

config() { # $1: the syslog outlet's facility
    cat <<EOF
global:
  logging:
    - {type: stdout, level: info, format: human}
    - type: tcp
      level: debug
      format: logfmt
      address: "localhost:$port"
      retry_interval: 1s
      tls: {ca: $dir/ca.crt, cert: $dir/zferry-host.crt, key: $dir/zferry-host.key}
    - {type: syslog, level: warn, format: logfmt, facility: $1}
  control:
    sockpath: $dir/run/control.sock
jobs:
  - name: sink1
    type: sink
    root_fs: q/sink
    serve: {type: tcp, listen: "127.0.0.1:0", clients: {"127.0.0.1": "host1"}}
EOF
}
mkdir -m 700 run
config local3 >zferry.yml

# A private mount namespace whose /dev is a copy with /dev/log being our socket: glibc's
# syslog(3) writes to the fixed path /dev/log, and this host has no syslog daemon.
cat >syslog_collector.py <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "a", buffering=1)
while True:
    out.write(s.recv(65536).decode(errors="replace") + "\n")
EOF
python3 syslog_collector.py "$dir/log.sock" "$dir/syslog.out" &
pids+=($!)
within 10 test -S "$dir/log.sock" || fail "the syslog collector does not listen"
mkdir dev
cat >in_namespace.sh <<EOF
set -e
mount -t tmpfs -o mode=755 zferry-test-dev "$dir/dev"
for d in null zero random urandom full tty; do
    touch "$dir/dev/\$d"
    mount --bind /dev/\$d "$dir/dev/\$d"
done
touch "$dir/dev/log"
mount --bind "$dir/log.sock" "$dir/dev/log"
mount --rbind "$dir/dev" /dev
exec "$zferry" daemon --zfs "$zfs_sim" --config "$dir/zferry.yml"
EOF
unshare --mount --propagation private bash in_namespace.sh >daemon.out 2>&1 &
daemon=$!
pids+=("$daemon")

collector_has() { grep -q "$1" collector.out; }
within 20 collector_has 'level=info msg="daemon started' ||
    fail "the TLS collector did not get the startup line in logfmt"
grep -q '^time=20[0-9-]*T[0-9:.]*[+-][0-9:]* level=' collector.out || fail "logfmt lines start with time= and level="
grep -q 'level=debug ' collector.out || fail "the debug-level outlet got no debug line"
grep -q 'job=sink1' collector.out || fail "fields travel with the lines"
grep -q ' \[I\] daemon started' daemon.out || fail "the stdout outlet (human) has the startup line"
if grep -q ' \[D\] ' daemon.out; then fail "the info-level stdout outlet printed debug lines"; fi

# A warning reaches syslog: an unknown signal target is refused and logged at warn.
"$zferry" --config zferry.yml signal wakeup no-such-job >/dev/null 2>&1 && fail "signal to an unknown job succeeded"
syslog_has() { grep -q "$1" syslog.out; }
within 10 syslog_has 'no-such-job' || fail "the syslog outlet did not get the warning"
# RFC 3164: <PRI>, local3 = 19, warning = 4: 19*8+4 = 156.
grep -q '^<156>.*zferry\[[0-9]*\]: .*level=warning' syslog.out || fail "syslog priority is local3.warning with zferry[PID]"
if grep -q 'level=info' syslog.out; then fail "the warn-level syslog outlet got info lines"; fi

kill -TERM "$daemon"
wait "$daemon" || fail "the daemon did not exit 0 on SIGTERM"
within 10 collector_has 'msg=stopped job=_daemon' ||
    fail "the last line (stopped) did not reach the collector before the daemon exited"

lines=$(wc -l <collector.out)
echo "PASS: the TLS collector (openssl s_server) got $lines logfmt lines from startup to the last one,"
echo "      stdout got human lines at info only, syslog (/dev/log) got local3.warning only"
