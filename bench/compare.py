#!/usr/bin/env python3
"""Side-by-side comparison: the same bytes over loopback TCP through zferry and through the
tools administrators use today, against the raw limit.

Every variant moves N bytes from one producer process to one consumer process over
127.0.0.1 (the same producer and consumer, `raw_splice produce/consume`, for all variants
that take a stream, so the comparison is fair). Rounds are interleaved (round 1 runs every
variant once, then round 2, ...) and the order rotates, because this machine is noisy;
medians are reported.

Columns: GiB/s = N / wall time from starting the sender side until the consumer has exited
(so connection set-up such as the ssh handshake is included); CPU s/GiB = user+sys of every
process of the variant (see CPU_NOTES) divided by N in GiB. Ratios are relative to the limit:
the faster of the two raw baselines measured in the same run, raw-splice (splice both ways)
and raw-copy (read/write of 1 MiB blocks), neither with any framing; the table and the JSON
have a `limit` row saying which one it was.

Standard library only; Linux only (pidfds, /proc, splice).
"""

import argparse
import contextlib
import fcntl
import json
import os
import pwd
import re
import select
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

GIB = 1 << 30
PIPE_SIZE = 1 << 20  # every pipe the script makes is enlarged to this, for every variant
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
LOOPBACK = "127.0.0.1"  # the only address anything here ever binds or connects to
CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1

VARIANTS = [
    "raw-splice",
    "raw-copy",
    "iperf3",
    "socat",
    "mbuffer",
    "ssh-aes128-gcm",
    "zferry",
    "zferry-reactor",
    "zferry-uring",
    "zferry-splice",
    "zferry-readv",
    "zferry-tls",
    "zferry-tls-chacha20",
    "zferry-tls-openssl-records",
]
# dataconn_transfer's (--mode, --engine); None leaves zferry's default. The default payload
# modes are readv for sending and splice for receiving; -splice/-readv force one mode on
# both sides.
ZFERRY_VARIANTS = {
    "zferry": (None, None),
    "zferry-reactor": (None, "reactor"),
    "zferry-uring": (None, "uring"),
    "zferry-splice": ("splice", None),
    "zferry-readv": ("readv", None),
}
# The limit is the faster of the two raw baselines in the same run (no framing, no protocol):
# splice both ways, or read/write of 1 MiB blocks.
RAW_BASELINES = ("raw-splice", "raw-copy")

CPU_NOTES = {
    "raw-splice": "producer + raw_splice send + raw_splice recv + consumer",
    "raw-copy": "producer + raw_splice copy-send + copy-recv + consumer",
    "iperf3": "iperf3 client + server (no producer/consumer; throughput as iperf3 reports it)",
    "socat": "producer + socat sender + socat receiver + consumer",
    "mbuffer": "producer + mbuffer sender + mbuffer receiver + consumer",
    "ssh-aes128-gcm": "producer + ssh client + the whole sshd tree (incl. remote consumer)",
    "zferry": "producer + dataconn_transfer client + server + consumer (zferry's defaults)",
    "zferry-reactor": "as zferry, on the reactor engine",
    "zferry-uring": "as zferry, on the io_uring engine",
    "zferry-splice": "as zferry, splice for sending and receiving",
    "zferry-readv": "as zferry, readv/writev for sending and receiving",
    "zferry-tls": "as zferry, over zferry's tls transport (mutual TLS 1.3, TLS_AES_128_GCM_SHA256)",
    "zferry-tls-chacha20": "as zferry-tls with TLS_CHACHA20_POLY1305_SHA256",
    "zferry-tls-openssl-records": "as zferry-tls with OpenSSL's record layer after the handshake "
    "(zferry's own TLS 1.3 record layer is the default)",
}
# zferry over its tls transport: the TLS 1.3 cipher suite each variant pins, through an
# OPENSSL_CONF of the bench's own for both processes (zferry itself takes OpenSSL's defaults).
TLS_VARIANTS = {
    "zferry-tls": "TLS_AES_128_GCM_SHA256",
    "zferry-tls-chacha20": "TLS_CHACHA20_POLY1305_SHA256",
    "zferry-tls-openssl-records": "TLS_AES_128_GCM_SHA256",
}
# dataconn_transfer's --tls-records for a variant (default: zferry's own record layer).
TLS_RECORDS = {"zferry-tls-openssl-records": "openssl"}


class VariantMissing(Exception):
    """A tool the variant needs is not installed or not built."""


class RoundFailed(Exception):
    """One round of one variant did not complete correctly."""


# ---- small helpers ------------------------------------------------------------------------


def parse_size(text):
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(i?B?)\s*", text, re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (examples: 536870912, 512MiB, 2GiB, 1GB)")
    value, unit, suffix = int(m.group(1)), m.group(2).upper(), m.group(3)
    # "GB" is decimal; "G" and "GiB" are binary, as in the tools being compared.
    base = 1000 if suffix.upper() == "B" and unit else 1024
    n = value * base ** " KMGT".index(unit or " ")
    if n <= 0:
        raise argparse.ArgumentTypeError("size must be positive")
    return n


def human_size(n):
    for unit, div in (("GiB", GIB), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n % div == 0:
            return f"{n // div} {unit}"
    return f"{n} B"


def free_port():
    # Bind to port 0 on loopback to let the kernel pick a free port. The tool binds it again
    # a moment later; the window for a clash is tiny and would show as a failed round.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def make_pipe():
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        fcntl.fcntl(w, F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:
        pass  # a smaller pipe only costs speed
    return r, w


def proc_stat_fields(pid):
    """Fields of /proc/PID/stat after the command name: index 0 is field 3 (state)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return data[data.rindex(b")") + 2 :].split()


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(proc_stat_fields(int(entry))[1]) == pid:
                    kids.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return kids


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        for kid in children_of(todo.pop()):
            out.append(kid)
            todo.append(kid)
    return out


def system_busy_seconds():
    """CPU seconds spent busy (not idle/iowait) by the whole machine since boot."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    # guest time is already included in user time, so leave the guest fields out
    return (sum(fields[:8]) - idle) / CLK_TCK


def compiler_running():
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() in ("cc1plus", "cc1", "clang", "clang++", "ld", "lld"):
                        return True
            except OSError:
                pass
    return False


def is_listening(pid, port):
    """True once some socket in PID's network namespace listens on PORT. Reads /proc instead of
    connecting, because a probe connection would use up a one-shot server's only accept."""
    want = f":{port:04X}"
    for name in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{name}") as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[1].endswith(want) and cols[3] == "0A":
                        return True
        except (OSError, StopIteration):
            pass
    return False


# ---- process bookkeeping ------------------------------------------------------------------


class Proc:
    """A child process whose exit time and resource usage are recorded when it is reaped."""

    def __init__(self, name, argv, stdin=None, stdout=None, env=None):
        self.name = name
        self.argv = argv
        self.errfile = tempfile.TemporaryFile()
        self.outfile = None
        if stdout is None:
            # Small outputs (checksums, iperf3's JSON) go to a file: a pipe could fill up
            # while nobody reads it and stall the process being waited for.
            self.outfile = tempfile.TemporaryFile()
            stdout = self.outfile
        # A new session, so a Ctrl-C on the terminal reaches only this script, which then
        # stops everything in order (and a stray signal cannot kill half a pipeline).
        self.popen = subprocess.Popen(
            argv, stdin=stdin, stdout=stdout, stderr=self.errfile, env=env, start_new_session=True, close_fds=True
        )
        self.pid = self.popen.pid
        self.pidfd = os.pidfd_open(self.pid)
        self.exit_code = None
        self.exit_time = None
        self.cpu = 0.0

    def reap(self, blocking=False):
        if self.exit_code is not None:
            return True
        pid, status, ru = os.wait4(self.pid, 0 if blocking else os.WNOHANG)
        if pid == 0:
            return False
        self.exit_time = time.monotonic()
        self.exit_code = os.waitstatus_to_exitcode(status)
        self.popen.returncode = self.exit_code  # reaped here, so Popen must not try again
        self.cpu = ru.ru_utime + ru.ru_stime
        os.close(self.pidfd)
        return True

    def output(self):
        if self.outfile is None:
            return ""
        self.outfile.seek(0)
        return self.outfile.read().decode(errors="replace")

    def errors(self):
        self.errfile.seek(0)
        text = self.errfile.read().decode(errors="replace").strip()
        return text[-2000:]

    def describe_failure(self):
        how = f"exit code {self.exit_code}" if self.exit_code >= 0 else f"signal {-self.exit_code}"
        err = self.errors()
        return f"{self.name} ({shlex.join(self.argv)}) failed with {how}" + (f":\n    {err}" if err else "")

    def kill(self):
        """Stops the process, its process group and anything it forked; never blocks long."""
        if self.exit_code is not None:
            return
        victims = descendants(self.pid)
        for sig, grace in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
            for pid in victims:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                if self.reap():
                    return
                time.sleep(0.02)


class Group:
    """All processes of one round (or one long-lived helper); everything is stopped on exit,
    whether the round succeeded, failed, timed out or was interrupted."""

    def __init__(self):
        self.procs = []

    def start(self, *args, **kwargs):
        p = Proc(*args, **kwargs)
        self.procs.append(p)
        return p

    def wait_all(self, deadline, what):
        poller = select.poll()
        pending = {}
        for p in self.procs:
            if p.exit_code is None:
                poller.register(p.pidfd, select.POLLIN)
                pending[p.pidfd] = p
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                names = ", ".join(p.name for p in pending.values())
                raise RoundFailed(f"{what}: timed out; still running: {names}")
            for fd, _ in poller.poll(left * 1000):
                p = pending.pop(fd)
                poller.unregister(fd)
                p.reap(blocking=True)
                if p.exit_code != 0:
                    # One broken stage: stop the others now instead of waiting for the timeout.
                    raise RoundFailed(p.describe_failure())

    def wait_listening(self, server, port, deadline):
        while not is_listening(server.pid, port):
            if server.reap():
                raise RoundFailed(f"{server.name} exited before listening on port {port}: {server.describe_failure()}")
            if time.monotonic() > deadline:
                raise RoundFailed(f"{server.name} did not listen on {LOOPBACK}:{port} in time")
            time.sleep(0.005)

    def cpu(self):
        return sum(p.cpu for p in self.procs)

    def close(self):
        for p in self.procs:
            p.kill()
        for p in self.procs:
            with contextlib.suppress(OSError):
                p.errfile.close()
                if p.outfile:
                    p.outfile.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- the bench --------------------------------------------------------------------------


class Bench:
    def __init__(self, args):
        self.args = args
        self.nbytes = args.bytes
        self.build = os.path.abspath(args.build)
        self.raw = os.path.join(self.build, "bench", "raw_splice")
        self.dataconn = os.path.join(self.build, "bench", "dataconn_transfer")
        self.expected = None
        self.tmp = None
        self.sshd = None  # (Group, Proc, port, client key) once started
        self.netns_holder = None  # (Group, Proc) of the private network namespace for mbuffer

    # Which external programs each variant needs; checked before anything is measured.
    def requirements(self, name):
        raw = [(self.raw, "build it: bash tools/dev/build.sh release zferry_bench_compare")]
        tools = {
            "raw-splice": raw,
            "raw-copy": raw,
            "iperf3": [("iperf3", "apt-get install iperf3 (or bash tools/dev/deps.sh)")],
            "socat": raw + [("socat", "apt-get install socat")],
            "mbuffer": raw
            + [("mbuffer", "apt-get install mbuffer"), ("unshare", "util-linux"), ("nsenter", "util-linux"),
               ("ip", "apt-get install iproute2")],
            "ssh-aes128-gcm": raw
            + [("/usr/sbin/sshd", "apt-get install openssh-server"), ("ssh", "apt-get install openssh-client"),
               ("ssh-keygen", "apt-get install openssh-client")],
        }
        zferry = raw + [(self.dataconn, "not built yet: bash tools/dev/build.sh release dataconn_transfer")]
        if name in TLS_VARIANTS:
            return zferry + [("openssl", "apt-get install openssl")]
        return tools.get(name, zferry)

    def check_missing(self, name):
        for tool, hint in self.requirements(name):
            found = os.access(tool, os.X_OK) if os.path.isabs(tool) else shutil.which(tool)
            if not found:
                raise VariantMissing(f"{name}: {tool} not found ({hint})")

    # -- per-variant round runners; each returns (seconds, cpu_seconds, extra dict) --

    def run_stream(self, name, sender_argv, receiver_argv, ns_prefix=(), env=None):
        """producer | SENDER  ...TCP...  RECEIVER | consumer."""
        timeout = self.args.timeout
        with Group() as g:
            t_start = time.monotonic()
            deadline = t_start + timeout
            b_r, b_w = make_pipe()
            try:
                consumer = g.start("consumer", [self.raw, "consume", str(self.nbytes)], stdin=b_r)
                receiver = g.start(f"{name} receiver", [*ns_prefix, *receiver_argv], stdout=b_w, env=env)
            finally:
                os.close(b_r)
                os.close(b_w)
            g.wait_listening(receiver, self.port, deadline)
            a_r, a_w = make_pipe()
            t0 = time.monotonic()
            try:
                g.start("producer", [self.raw, "produce", str(self.nbytes)], stdout=a_w)
                g.start(f"{name} sender", [*ns_prefix, *sender_argv], stdin=a_r, env=env)
            finally:
                os.close(a_r)
                os.close(a_w)
            g.wait_all(deadline, name)
            self.verify(consumer.output(), name)
            return consumer.exit_time - t0, g.cpu(), {"window": time.monotonic() - t_start}

    def verify(self, output, name):
        got = output.split()
        if got != self.expected:
            raise RoundFailed(
                f"{name}: wrong bytes delivered: consumer saw {' '.join(got) or 'nothing'}, "
                f"producer wrote {' '.join(self.expected)} (bytes checksum)"
            )

    def round_raw_splice(self):
        return self.run_stream(
            "raw-splice", [self.raw, "send", LOOPBACK, str(self.port)], [self.raw, "recv", str(self.port)]
        )

    def round_raw_copy(self):
        return self.run_stream(
            "raw-copy", [self.raw, "copy-send", LOOPBACK, str(self.port)], [self.raw, "copy-recv", str(self.port)]
        )

    def round_socat(self):
        # -u: one direction only, so EOF on stdin ends the transfer cleanly on both sides.
        return self.run_stream(
            "socat",
            ["socat", "-u", "-", f"TCP:{LOOPBACK}:{self.port}"],
            ["socat", "-u", f"TCP-LISTEN:{self.port},bind={LOOPBACK},reuseaddr", "-"],
        )

    def round_mbuffer(self):
        # mbuffer -I host:port binds the wildcard address and uses host only to filter peers.
        # To never listen on a real interface, both ends run in a private network namespace
        # that has nothing but its own loopback (same kernel TCP path as the host's lo).
        holder = self.ensure_netns()
        prefix = ["nsenter", f"--net=/proc/{holder.pid}/ns/net", "--"]
        common = ["mbuffer", "-q", "-m", "64M", "-s", "1M"]
        return self.run_stream(
            "mbuffer", [*common, "-O", f"{LOOPBACK}:{self.port}"], [*common, "-I", f"{LOOPBACK}:{self.port}"], prefix
        )

    def round_zferry(self, name):
        mode, engine = ZFERRY_VARIANTS[name]
        extra = (["--mode", mode] if mode else []) + (["--engine", engine] if engine else [])
        return self.run_stream(
            name,
            [self.dataconn, "client", "--port", str(self.port), *extra],
            [self.dataconn, "server", "--port", str(self.port), *extra],
        )

    def round_zferry_tls(self, name):
        certs = self.ensure_certs()
        env = dict(os.environ, OPENSSL_CONF=self.openssl_conf(TLS_VARIANTS[name]))

        def side(role, cn, peer):
            records = ["--tls-records", TLS_RECORDS[name]] if name in TLS_RECORDS else []
            return [self.dataconn, role, "--port", str(self.port), "--tls-ca", certs["ca"],
                    "--tls-cert", certs[cn + ".crt"], "--tls-key", certs[cn + ".key"], "--tls-peer", peer,
                    *records]  # fmt: skip

        return self.run_stream(
            name, side("client", "client", "bench-server"), side("server", "server", "bench-client"), env=env
        )

    def ensure_certs(self):
        """A CA and a server and a client certificate, made by the openssl CLI once per run."""
        if getattr(self, "certs", None):
            return self.certs
        d = os.path.join(self.tmpdir(), "tls")
        os.makedirs(d, exist_ok=True)

        def openssl(*args):
            r = subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=d)
            if r.returncode != 0:
                raise RoundFailed(f"openssl {' '.join(args)}: {r.stderr.strip()}")

        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=bench-ca", "-days", "2")
        certs = {"ca": os.path.join(d, "ca.crt")}
        for who in ("server", "client"):
            openssl("req", *key, "-keyout", f"{who}.key", "-out", f"{who}.csr", "-subj", f"/CN=bench-{who}")
            openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                    "-out", f"{who}.crt", "-days", "2")  # fmt: skip
            certs[f"{who}.crt"], certs[f"{who}.key"] = os.path.join(d, f"{who}.crt"), os.path.join(d, f"{who}.key")
        self.certs = certs
        return certs

    def openssl_conf(self, suite):
        path = os.path.join(self.tmpdir(), f"openssl-{suite}.cnf")
        with open(path, "w") as f:
            f.write(
                "openssl_conf = bench_conf\n[bench_conf]\nssl_conf = bench_ssl\n"
                "[bench_ssl]\nsystem_default = bench_tls\n"
                f"[bench_tls]\nMinProtocol = TLSv1.3\nCiphersuites = {suite}\n"
            )
        return path

    def round_iperf3(self):
        with Group() as g:
            t_start = time.monotonic()
            deadline = t_start + self.args.timeout
            server = g.start("iperf3 server", ["iperf3", "-s", "-1", "-B", LOOPBACK, "-p", str(self.port)])
            g.wait_listening(server, self.port, deadline)
            client = g.start(
                "iperf3 client",
                ["iperf3", "-c", LOOPBACK, "-p", str(self.port), "-n", str(self.nbytes), "-l", "1M", "-J"],
            )
            g.wait_all(deadline, "iperf3")
            try:
                end = json.loads(client.output())["end"]
                recv = end["sum_received"]
                seconds = recv["seconds"]
                received = recv["bytes"]
                sent = end["sum_sent"]["bytes"]
            except (ValueError, KeyError) as e:
                raise RoundFailed(f"iperf3: cannot read its JSON result ({e}): {client.output()[:500]}")
            # iperf3 checks no content; the least we can check is that all bytes were sent.
            # Its receiver total stops at the end of the measured interval, so the last
            # in-flight megabyte may be missing from it (seen with -n 1G on loopback).
            if sent < self.nbytes or received < self.nbytes - (4 << 20):
                raise RoundFailed(f"iperf3: sent {sent}, received {received} of {self.nbytes} bytes")
            return seconds, g.cpu(), {"window": time.monotonic() - t_start}

    def ssh_session(self, remote, produce, deadline):
        """One ssh login running REMOTE, fed by the producer if PRODUCE, else by nothing.
        Returns (seconds, cpu seconds of client side + whole sshd tree, remote stdout)."""
        _, sshd, port, key = self.ensure_sshd()
        before = self.tree_cpu(sshd)
        with Group() as g:
            if produce:
                a_r, a_w = make_pipe()
                t0 = time.monotonic()
                try:
                    g.start("producer", [self.raw, "produce", str(self.nbytes)], stdout=a_w)
                    client = g.start("ssh", [*self.ssh_argv(port, key), remote], stdin=a_r)
                finally:
                    os.close(a_r)
                    os.close(a_w)
            else:
                t0 = time.monotonic()
                client = g.start("ssh", [*self.ssh_argv(port, key), remote], stdin=subprocess.DEVNULL)
            g.wait_all(deadline, "ssh-aes128-gcm")
            seconds = client.exit_time - t0
            # sshd's per-connection processes are its children, not ours: their CPU reaches
            # sshd's cutime/cstime once it has reaped them, so wait for that, then take the delta.
            while children_of(sshd.pid):
                if time.monotonic() > deadline:
                    raise RoundFailed("ssh: sshd's connection processes did not exit")
                time.sleep(0.01)
            server_cpu = self.tree_cpu(sshd) - before
            return seconds, g.cpu() + server_cpu, client.output()

    def round_ssh(self):
        self.ensure_sshd()
        t_start = time.monotonic()
        deadline = t_start + self.args.timeout
        # The login itself (key exchange, privilege separation, the remote login shell and its
        # rc files) costs a fixed ~0.1-1 s here that has nothing to do with moving bytes. An
        # empty login right before each transfer measures it, and it is subtracted, so the
        # row shows the streaming cost; the raw numbers stay in the JSON.
        setup_s, setup_cpu, _ = self.ssh_session("true", False, deadline)
        remote = f"exec {shlex.quote(self.raw)} consume {self.nbytes}"
        seconds, cpu, out = self.ssh_session(remote, True, deadline)
        self.verify(out, "ssh-aes128-gcm")
        extra = {"window": time.monotonic() - t_start, "cpu_in_window": cpu + setup_cpu, "setup_s": round(setup_s, 4),
                 "setup_cpu_s": round(setup_cpu, 4), "seconds_incl_setup": round(seconds, 4),
                 "cpu_s_incl_setup": round(cpu, 4)}  # fmt: skip
        if seconds - setup_s < 0.2 * seconds:
            raise RoundFailed(f"ssh: transfer ({seconds:.2f} s) too short next to the login ({setup_s:.2f} s); "
                              "use more --bytes")  # fmt: skip
        return seconds - setup_s, max(cpu - setup_cpu, 0.0), extra

    @staticmethod
    def tree_cpu(proc):
        f = proc_stat_fields(proc.pid)
        return sum(int(x) for x in f[11:15]) / CLK_TCK  # utime stime cutime cstime

    # -- long-lived helpers --

    def tmpdir(self):
        if self.tmp is None:
            self.tmp = tempfile.TemporaryDirectory(prefix="zferry-compare-")
        return self.tmp.name

    def ensure_netns(self):
        if self.netns_holder is None:
            g = Group()
            holder = g.start("netns holder", ["unshare", "--net", "--", "sleep", "infinity"])
            self.netns_holder = (g, holder)
            deadline = time.monotonic() + 10
            while os.readlink(f"/proc/{holder.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
                if holder.reap() or time.monotonic() > deadline:
                    raise RoundFailed(f"cannot create a private network namespace: {holder.errors()}")
                time.sleep(0.01)
            up = subprocess.run(
                ["nsenter", f"--net=/proc/{holder.pid}/ns/net", "--", "ip", "link", "set", "lo", "up"],
                capture_output=True,
                text=True,
            )
            if up.returncode != 0:
                raise RoundFailed(f"cannot bring up lo in the private network namespace: {up.stderr.strip()}")
        return self.netns_holder[1]

    def ssh_argv(self, port, key):
        return [
            "ssh", "-F", "/dev/null", "-T", "-i", key, "-p", str(port),
            "-c", "aes128-gcm@openssh.com",
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "Compression=no",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            f"{_user()}@{LOOPBACK}",
        ]  # fmt: skip

    def ensure_sshd(self):
        if self.sshd is not None:
            return self.sshd
        d = self.tmpdir()
        host_key, client_key = os.path.join(d, "host_ed25519"), os.path.join(d, "client_ed25519")
        for k in (host_key, client_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", k], check=True)
        shutil.copy(client_key + ".pub", os.path.join(d, "authorized_keys"))
        # sshd refuses to start without its privilege separation directory, which only the
        # system service normally creates.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        port = free_port()
        config = os.path.join(d, "sshd_config")
        with open(config, "w") as f:
            f.write(
                f"Port {port}\n"
                f"ListenAddress {LOOPBACK}\n"
                f"HostKey {host_key}\n"
                f"AuthorizedKeysFile {d}/authorized_keys\n"
                f"PidFile {d}/sshd.pid\n"
                "UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n"
                "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                "Ciphers aes128-gcm@openssh.com\nCompression no\nX11Forwarding no\n"
                "PrintMotd no\nPrintLastLog no\nUseDNS no\nLogLevel ERROR\n"
            )
        g = Group()
        sshd = g.start("sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", config])
        self.sshd = (g, sshd, port, client_key)
        g.wait_listening(sshd, port, time.monotonic() + 10)
        # One unmeasured login, so that broken authentication fails here with a clear message.
        probe = subprocess.run([*self.ssh_argv(port, client_key), "true"], capture_output=True, text=True,
                               timeout=30, stdin=subprocess.DEVNULL)  # fmt: skip
        if probe.returncode != 0:
            raise RoundFailed(f"ssh login to the private sshd failed: {probe.stderr.strip()} {sshd.errors()}")
        return self.sshd

    def close(self):
        for holder in (self.sshd, self.netns_holder):
            if holder is not None:
                holder[0].close()
        self.sshd = self.netns_holder = None
        if self.tmp is not None:
            self.tmp.cleanup()
            self.tmp = None

    # -- orchestration --

    def run_round(self, name):
        self.port = free_port()
        if name == "raw-splice":
            return self.round_raw_splice()
        if name == "raw-copy":
            return self.round_raw_copy()
        if name == "iperf3":
            return self.round_iperf3()
        if name == "socat":
            return self.round_socat()
        if name == "mbuffer":
            return self.round_mbuffer()
        if name == "ssh-aes128-gcm":
            return self.round_ssh()
        if name in ZFERRY_VARIANTS:
            return self.round_zferry(name)
        if name in TLS_VARIANTS:
            return self.round_zferry_tls(name)
        raise ValueError(name)

    def wait_idle(self):
        """Waits (bounded) until the machine is quiet, and returns the busy fraction seen."""
        deadline = time.monotonic() + self.args.idle_wait
        while True:
            b0, t0 = system_busy_seconds(), time.monotonic()
            time.sleep(0.3)
            busy = (system_busy_seconds() - b0) / (time.monotonic() - t0) / NCPU
            if busy <= self.args.idle_threshold and not compiler_running():
                return busy, False
            if time.monotonic() > deadline:
                return busy, True
            time.sleep(1.0)


def _user():
    return pwd.getpwuid(os.getuid()).pw_name


def fmt(x, spec):
    return format("-", re.sub(r"\.\d+f$", "", spec)) if x is None else format(x, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bytes", type=parse_size, default=2 * GIB, help="bytes per transfer (default 2GiB; 512MiB, 1GB, ...)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per variant (default 3)")
    ap.add_argument("--only", help=f"comma-separated subset of: {','.join(VARIANTS)}")
    ap.add_argument("--build", default="build/release", help="build directory with bench/raw_splice (default build/release)")
    ap.add_argument("--json", metavar="FILE", help="also write one JSON line per variant to FILE")
    ap.add_argument("--allow-missing", action="store_true", help="skip (with a notice) variants whose tool is missing")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds before a round fails (default 120)")
    ap.add_argument("--idle-wait", type=float, default=60.0,
                    help="before each run wait up to this many seconds for an idle machine (default 60)")
    ap.add_argument("--idle-threshold", type=float, default=0.15,
                    help="busy fraction of all CPUs counted as idle (default 0.15)")
    args = ap.parse_args()  # fmt: skip
    sys.stdout.reconfigure(line_buffering=True)  # keep the table in order with progress on stderr
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")

    names = VARIANTS
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in VARIANTS]
        if unknown:
            ap.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")

    # SIGTERM behaves like Ctrl-C: unwind through the finally blocks that stop everything.
    def on_sigterm(*_):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, on_sigterm)

    bench = Bench(args)
    status = {}  # name -> None (ok so far) | "skipped: ..." | "FAILED: ..."
    missing = []
    for n in names:
        try:
            bench.check_missing(n)
            status[n] = None
        except VariantMissing as e:
            missing.append(str(e))
            status[n] = f"skipped: {e}"
    if missing and not args.allow_missing:
        for m in missing:
            print(f"compare: missing tool for variant {m}", file=sys.stderr)
        print("compare: not running anything; pass --allow-missing to skip these variants", file=sys.stderr)
        return 2
    for m in missing:
        print(f"compare: notice: skipping variant {m}", file=sys.stderr)

    if os.access(bench.raw, os.X_OK):
        expect = subprocess.run([bench.raw, "expect", str(args.bytes)], capture_output=True, text=True, check=True)
        bench.expected = expect.stdout.split()

    results = {n: [] for n in names}
    idle_log = []  # (busy fraction before run, gave up waiting, foreign load during run)
    runnable = [n for n in names if status[n] is None]
    print(f"compare: {human_size(args.bytes)} per transfer, {args.rounds} interleaved rounds, variants: "
          f"{', '.join(runnable) or 'none'}", file=sys.stderr)  # fmt: skip
    try:
        for r in range(args.rounds):
            # Rotate the order so no variant always runs right after the same neighbour.
            order = runnable[r % len(runnable) :] + runnable[: r % len(runnable)] if runnable else []
            for n in order:
                if status[n] is not None:
                    continue
                busy, gave_up = bench.wait_idle()
                b0 = system_busy_seconds()
                try:
                    seconds, cpu, extra = bench.run_round(n)
                except (RoundFailed, OSError, subprocess.SubprocessError) as e:
                    status[n] = f"FAILED: {e}"
                    print(f"compare: round {r + 1} {n}: FAILED: {e}", file=sys.stderr)
                    continue
                foreign = max(0.0, (system_busy_seconds() - b0) - extra.get("cpu_in_window", cpu)) / max(extra["window"], 1e-9) / NCPU
                idle_log.append((busy, gave_up, foreign))
                gib = args.bytes / GIB
                results[n].append({"seconds": seconds, "gib_per_s": gib / seconds, "cpu_s_per_gib": cpu / gib,
                                   **{k: v for k, v in extra.items() if k not in ("window", "cpu_in_window")}})  # fmt: skip
                print(f"compare: round {r + 1} {n}: {gib / seconds:.2f} GiB/s, {cpu / gib:.2f} CPU s/GiB"
                      f"{'  (machine was busy before this run)' if gave_up else ''}", file=sys.stderr)  # fmt: skip
    except KeyboardInterrupt:
        print("compare: interrupted; stopping everything", file=sys.stderr)
        return 130
    finally:
        bench.close()

    # ---- report ----
    med = {}
    for n in names:
        if status[n] is None and results[n]:
            med[n] = (statistics.median(x["gib_per_s"] for x in results[n]),
                      statistics.median(x["cpu_s_per_gib"] for x in results[n]))  # fmt: skip
    raw = [n for n in RAW_BASELINES if n in med]
    limit_of = max(raw, key=lambda n: med[n][0]) if raw else None
    limit = med.get(limit_of) if limit_of else None
    header = f"{'variant':<16} {'GiB/s':>7} {'CPU s/GiB':>10} {'xGiB/s':>8} {'xCPU/GiB':>9}   per-round GiB/s"
    print()
    print(f"{human_size(args.bytes)} over {LOOPBACK}, {args.rounds} interleaved rounds, medians; "
          f"x = ratio to the limit, the faster raw baseline of this run ({limit_of or 'none measured'})")  # fmt: skip
    print(header)
    print("-" * len(header))
    json_lines = []
    if limit:
        print(f"{'limit':<16} {limit[0]:>7.2f} {limit[1]:>10.2f} {1.0:>8.2f} {1.0:>9.2f}   = {limit_of}")
        json_lines.append({"name": "limit", "of": limit_of, "gib_per_s": round(limit[0], 4),
                           "cpu_s_per_gib": round(limit[1], 4), "bytes": args.bytes})  # fmt: skip
    for n in names:
        if n not in med:
            print(f"{n:<16} {status[n] or 'no result'}")
            continue
        gps, cpg = med[n]
        rgps = gps / limit[0] if limit else None
        rcpg = cpg / limit[1] if limit else None
        rounds = " ".join(f"{x['gib_per_s']:.2f}" for x in results[n])
        print(f"{n:<16} {gps:>7.2f} {cpg:>10.2f} {fmt(rgps, '>8.2f')} {fmt(rcpg, '>9.2f')}   {rounds}")
        json_lines.append({"name": n, "gib_per_s": round(gps, 4), "cpu_s_per_gib": round(cpg, 4),
                           "ratio_gib_per_s": rgps and round(rgps, 4), "ratio_cpu_s_per_gib": rcpg and round(rcpg, 4),
                           "bytes": args.bytes, "cpu_counted": CPU_NOTES[n], "rounds": results[n]})  # fmt: skip
    print()
    print("CPU counted (user+sys):")
    for n in names:
        if n in med:
            print(f"  {n:<16} {CPU_NOTES[n]}")
    print(f"Every pipe made by this script is {PIPE_SIZE >> 20} MiB (F_SETPIPE_SZ); producer and consumer are "
          "`raw_splice produce/consume` (consumer checksums every byte).")  # fmt: skip
    if "mbuffer" in med:
        print("mbuffer runs in a private network namespace (its -I binds the wildcard address).")
    if "ssh-aes128-gcm" in med:
        setups = [x["setup_s"] for x in results["ssh-aes128-gcm"]]
        print(f"ssh: the time and CPU of an empty login (median {statistics.median(setups):.2f} s, measured each round) "
              "are subtracted; the JSON keeps the totals.")  # fmt: skip
    if "ssh-aes128-gcm" in med:
        for n in TLS_VARIANTS:
            if n in med:
                print(f"{n}: {med[n][0] / med['ssh-aes128-gcm'][0]:.2f}x ssh -c aes128-gcm's GiB/s, "
                      f"{med[n][1] / med['ssh-aes128-gcm'][1]:.2f}x its CPU per GiB")  # fmt: skip
    if idle_log:
        busy = [b for b, _, _ in idle_log]
        foreign = [f for _, _, f in idle_log]
        gave_up = sum(1 for _, g, _ in idle_log if g)
        print(f"Machine: {NCPU} CPUs; busy before runs median {statistics.median(busy):.0%} max {max(busy):.0%}; "
              f"other load during runs median {statistics.median(foreign):.0%} max {max(foreign):.0%} "
              f"(of all CPUs); {gave_up} of {len(idle_log)} runs started without an idle machine.")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            for line in json_lines:
                f.write(json.dumps(line) + "\n")
    return 1 if any(s and s.startswith("FAILED") for s in status.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
