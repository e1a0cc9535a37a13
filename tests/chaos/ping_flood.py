#!/usr/bin/python3
"""A control client that pings faster than the keepalive policy allows, for the chaos scenarios.

    ping_flood.py --target HOST:PORT [--bind ADDR] [--interval-ms 100] [--report FILE]

Each round: connect, zrepl's version handshake (protocol 7, no extension) and the 64-byte
`zrepl_control` label, then HTTP/2 with prior knowledge as a gRPC client starts it (preface,
SETTINGS), then a PING every --interval-ms without ever starting a call, reading what the
server sends: its SETTINGS are acknowledged, PING ACKs counted, and the round ends at a GOAWAY
(code and debug data recorded) followed by the connection's close, or after 30 s. Rounds
repeat until SIGTERM/SIGINT. The last line on stdout, and --report, is one JSON object: the
rounds with, per round, pings sent, ACKs received, the GOAWAY's error code and debug data,
whether the server then closed the connection, and the seconds until the GOAWAY.

Raw frames, no HTTP/2 library: the only frames this client sends or must understand are
SETTINGS, PING and GOAWAY (RFC 9113 section 6). zrepl's server (grpc-go) and zferry's answer
the fourth early ping (more than 2 strikes within MinTime 2.5 s) with
GOAWAY(ENHANCE_YOUR_CALM = 0xb, "too_many_pings").
"""

import argparse
import asyncio
import json
import signal
import socket
import struct
import time

BANNER = b"0000000056 ZREPL_ZFS_REPLICATION PROTOVERSION=0007 EXTENSIONS=0000\n"
LABEL = b"zrepl_control".ljust(64, b"\0")
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY = 0, 1, 3, 4, 6, 7
ACK = 0x1


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", ftype, flags, stream) + payload


async def read_exactly(reader, n):
    return await reader.readexactly(n)


async def handshake(reader, writer):
    writer.write(BANNER)
    await writer.drain()
    prefix = await read_exactly(reader, 11)
    if not prefix[:10].isdigit() or prefix[10:11] != b" ":
        raise RuntimeError(f"not a zrepl banner: {prefix!r}")
    banner = await read_exactly(reader, int(prefix[:10]))
    if not banner.startswith(b"ZREPL_ZFS_REPLICATION PROTOVERSION=0007 "):
        raise RuntimeError(f"unexpected banner: {banner!r}")
    writer.write(LABEL)
    writer.write(PREFACE + frame(SETTINGS, 0, 0))
    await writer.drain()


async def one_round(target, bind, interval, stop):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if bind:
        sock.bind((bind, 0))
    sock.setblocking(False)
    await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, target), 10)
    reader, writer = await asyncio.open_connection(sock=sock)
    result = {"pings": 0, "acks": 0, "goaway": None, "closed_by_server": False, "seconds_to_goaway": None}
    try:
        await asyncio.wait_for(handshake(reader, writer), 10)
        t0 = time.monotonic()

        async def pinger():
            n = 0
            while True:
                n += 1
                writer.write(frame(PING, 0, 0, struct.pack(">Q", n)))
                await writer.drain()
                result["pings"] += 1
                await asyncio.sleep(interval)

        async def frames():
            while True:
                head = await read_exactly(reader, 9)
                length = int.from_bytes(head[:3], "big")
                ftype, flags = head[3], head[4]
                payload = await read_exactly(reader, length)
                if ftype == SETTINGS and not flags & ACK:
                    writer.write(frame(SETTINGS, ACK, 0))
                elif ftype == PING and flags & ACK:
                    result["acks"] += 1
                elif ftype == PING:
                    writer.write(frame(PING, ACK, 0, payload))  # the server's keepalive
                elif ftype == GOAWAY:
                    last, code = struct.unpack(">II", payload[:8])
                    result["goaway"] = {"last_stream_id": last & 0x7FFFFFFF, "error_code": code,
                                        "debug": payload[8:].decode("utf-8", "replace")}
                    result["seconds_to_goaway"] = round(time.monotonic() - t0, 2)
                    return

        ping_task = asyncio.ensure_future(pinger())
        frames_task = asyncio.ensure_future(frames())
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([frames_task, stopper], timeout=30, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ping_task.cancel()
            stopper.cancel()
            if not frames_task.done():
                frames_task.cancel()
            await asyncio.gather(ping_task, frames_task, stopper, return_exceptions=True)
        if result["goaway"] is not None:
            # After its GOAWAY the server closes the connection; read until it does.
            try:
                while await asyncio.wait_for(reader.read(4096), 10):
                    pass
                result["closed_by_server"] = True
            except (ConnectionError, OSError):
                result["closed_by_server"] = True
            except asyncio.TimeoutError:
                pass
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass
    return result


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--bind")
    ap.add_argument("--interval-ms", type=int, default=100)
    ap.add_argument("--report")
    args = ap.parse_args()
    host, port = args.target.rsplit(":", 1)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    rounds = []
    errors = []
    while not stop.is_set():
        try:
            r = await one_round((host, int(port)), args.bind, args.interval_ms / 1000, stop)
            if r["goaway"] is not None:
                rounds.append(r)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, RuntimeError) as e:
            errors.append(f"{type(e).__name__}: {e}")
            try:
                await asyncio.wait_for(stop.wait(), 0.2)
            except asyncio.TimeoutError:
                pass
    report = {"rounds": rounds, "errors": errors}
    text = json.dumps(report)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    asyncio.run(main())
