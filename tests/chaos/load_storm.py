#!/usr/bin/python3
"""A connection storm against a zrepl/zferry tcp port, for the chaos scenarios (asyncio).

    load_storm.py --target HOST:PORT --bind ADDR[,ADDR...] [--slowloris N] [--connects N]
                  [--sample-pid PID] [--ready FILE] [--report FILE]

Two kinds of hostile client run at once until SIGTERM or SIGINT, spread round-robin over the
--bind source addresses:
  - slowloris: N connections that write zrepl's version banner one byte per second (the
    banner is 67 bytes, so none ever finishes). When the server closes one, it reconnects
    at once, so N are always trying.
  - connects: waves of N connections opened at the same moment that then say nothing. A wave
    ends when the server has closed all of them (or when they fail to connect), and the next
    wave starts at once.
It never completes a handshake: everything it costs the server is the cost of connections in
their preamble, which the server must bound.

With --sample-pid, the server's VmRSS and open descriptors are sampled from /proc every
250 ms (the process is on this host, in another network namespace). --ready is written once
every slowloris client and the first wave are connected. On exit, one JSON object goes to
--report (and stdout): counts, the longest time the server let a hostile connection live,
and the server's samples (max, last).
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import sys
import time

BANNER = b"0000000056 ZREPL_ZFS_REPLICATION PROTOVERSION=0007 EXTENSIONS=0000\n"


class Stats:
    def __init__(self):
        self.slowloris_connections = 0
        self.slowloris_bytes = 0
        self.slowloris_open = 0
        self.waves = 0
        self.connects_ok = 0
        self.connects_failed = 0
        self.connect_errors = {}
        self.closed_by_server = 0
        self.longest_lived_s = 0.0
        self.max_open = 0
        self.open = 0
        self.samples = []  # (t, rss_kib, fds)

    def opened(self):
        self.open += 1
        self.max_open = max(self.max_open, self.open)

    def closed(self, since, by_server):
        self.open -= 1
        if by_server:
            self.closed_by_server += 1
            self.longest_lived_s = max(self.longest_lived_s, time.monotonic() - since)

    def failed(self, e):
        self.connects_failed += 1
        key = type(e).__name__ + (f"({e.errno})" if getattr(e, "errno", None) else "")
        self.connect_errors[key] = self.connect_errors.get(key, 0) + 1


async def connect(target, bind):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        sock.bind((bind, 0))
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, target), 30)
    except BaseException:
        sock.close()
        raise
    return sock


async def until_closed(sock):
    """Reads (and drops) what the server sends until it closes the connection."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            data = await loop.sock_recv(sock, 4096)
        except OSError:
            return
        if not data:
            return


async def slowloris(target, bind, stats, stop, connected):
    loop = asyncio.get_running_loop()
    first = True
    while not stop.is_set():
        try:
            sock = await connect(target, bind)
        except (OSError, asyncio.TimeoutError) as e:
            stats.failed(e)
            await asyncio.sleep(0.1)
            continue
        stats.slowloris_connections += 1
        stats.opened()
        stats.slowloris_open += 1
        if first:
            connected.release()
            first = False
        since = time.monotonic()
        reader = asyncio.ensure_future(until_closed(sock))
        by_server = False
        try:
            for b in BANNER:
                if stop.is_set():
                    break
                await loop.sock_sendall(sock, bytes([b]))
                stats.slowloris_bytes += 1
                done, _ = await asyncio.wait([reader], timeout=1.0)
                if done:
                    by_server = True
                    break
        except OSError:
            by_server = True
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            sock.close()
            stats.slowloris_open -= 1
            stats.closed(since, by_server and not stop.is_set())


async def one_silent(target, bind, stats, stop):
    try:
        sock = await connect(target, bind)
    except (OSError, asyncio.TimeoutError) as e:
        stats.failed(e)
        return
    stats.connects_ok += 1
    stats.opened()
    since = time.monotonic()
    reader = asyncio.ensure_future(until_closed(sock))
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([reader, stopper], return_when=asyncio.FIRST_COMPLETED)
    finally:
        by_server = reader.done()
        reader.cancel()
        stopper.cancel()
        await asyncio.gather(reader, stopper, return_exceptions=True)
        sock.close()
        stats.closed(since, by_server and not stop.is_set())


async def waves(target, binds, n, stats, stop, first_wave):
    while not stop.is_set():
        stats.waves += 1
        tasks = [asyncio.ensure_future(one_silent(target, binds[i % len(binds)], stats, stop)) for i in range(n)]
        if stats.waves == 1:
            # Ready once the whole first wave has connected (or failed to).
            async def mark():
                while stats.connects_ok + stats.connects_failed < n and not stop.is_set():
                    await asyncio.sleep(0.05)
                first_wave.set()

            marker = asyncio.ensure_future(mark())
        await asyncio.gather(*tasks)
        if stats.waves == 1:
            await marker
        if stats.connects_ok == 0:
            await asyncio.sleep(0.1)  # nothing connects: do not spin


def sample(pid):
    rss = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss, fds


async def sampler(pid, stats, stop):
    t0 = time.monotonic()
    while not stop.is_set():
        try:
            rss, fds = sample(pid)
            stats.samples.append((round(time.monotonic() - t0, 2), rss, fds))
        except OSError:
            pass  # the process is gone; the scenario notices that itself
        try:
            await asyncio.wait_for(stop.wait(), 0.25)
        except asyncio.TimeoutError:
            pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--bind", required=True, help="source addresses, comma-separated")
    ap.add_argument("--slowloris", type=int, default=200)
    ap.add_argument("--connects", type=int, default=1000)
    ap.add_argument("--sample-pid", type=int)
    ap.add_argument("--ready")
    ap.add_argument("--report")
    args = ap.parse_args()
    host, port = args.target.rsplit(":", 1)
    target = (host, int(port))
    binds = args.bind.split(",")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    stats = Stats()
    connected = asyncio.Semaphore(0)
    first_wave = asyncio.Event()
    tasks = [asyncio.ensure_future(slowloris(target, binds[i % len(binds)], stats, stop, connected))
             for i in range(args.slowloris)]
    tasks.append(asyncio.ensure_future(waves(target, binds, args.connects, stats, stop, first_wave)))
    if args.sample_pid:
        tasks.append(asyncio.ensure_future(sampler(args.sample_pid, stats, stop)))

    async def ready():
        for _ in range(args.slowloris):
            await connected.acquire()
        await first_wave.wait()
        if args.ready:
            with open(args.ready, "w") as f:
                f.write(f"{stats.open}\n")

    readiness = asyncio.ensure_future(ready())
    await stop.wait()
    readiness.cancel()
    await asyncio.gather(readiness, *tasks, return_exceptions=True)

    rss = [s[1] for s in stats.samples if s[1] is not None]
    fds = [s[2] for s in stats.samples]
    report = {
        "slowloris_connections": stats.slowloris_connections,
        "slowloris_bytes": stats.slowloris_bytes,
        "waves": stats.waves,
        "connects_ok": stats.connects_ok,
        "connects_failed": stats.connects_failed,
        "connect_errors": stats.connect_errors,
        "closed_by_server": stats.closed_by_server,
        "longest_lived_s": round(stats.longest_lived_s, 2),
        "max_open": stats.max_open,
        "samples": len(stats.samples),
        "server_max_rss_kib": max(rss) if rss else None,
        "server_max_fds": max(fds) if fds else None,
        "server_last": stats.samples[-1] if stats.samples else None,
    }
    text = json.dumps(report)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
