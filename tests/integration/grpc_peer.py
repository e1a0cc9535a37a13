#!/usr/bin/python3
# gRPC interop peer for zferry's tests: Debian's python3-grpcio (Google's gRPC core) as the
# client of a zferry gRPC server on 127.0.0.1. Plain HTTP/2 with prior knowledge: no version
# banner and no mux label come first (zrepl's control connection has both; that layering is
# tested separately once it exists). The pdu messages come from protoc's python output; the
# stubs are written by hand with grpc.unary_unary (no grpc_tools on Debian 12's grpcio).
#
# usage: grpc_peer.py PORT PDU_PY_DIR calls
#        grpc_peer.py PORT PDU_PY_DIR keepalive KEEPALIVE_MS WAIT_SECONDS
#        grpc_peer.py PORT PDU_PY_DIR drain METHOD (one call to METHOD, which drains the server)
#        grpc_peer.py PORT PDU_PY_DIR endpoint FS OUTSIDE_FS (ListFilesystems, then
#                                           ListFilesystemVersions of FS and of OUTSIDE_FS)
#        grpc_peer.py 0 PDU_PY_DIR serve   (a server with zrepl's keepalive settings on
#                                           127.0.0.1; runs until SIGTERM)
# Prints one JSON object on stdout (serve: {"pid", "port"} once it listens).
import json
import os
import signal
import sys
import threading
import time

import grpc

sys.path.insert(0, sys.argv[2])
import pdu_pb2  # noqa: E402


def status_of(call):
    try:
        call()
        return ["OK", ""]
    except grpc.RpcError as e:
        return [e.code().name, e.details()]


def calls(target):
    ch = grpc.insecure_channel(target)
    grpc.channel_ready_future(ch).result(timeout=10)
    ping = ch.unary_unary("/Replication/Ping",
                          request_serializer=pdu_pb2.PingReq.SerializeToString,
                          response_deserializer=pdu_pb2.PingRes.FromString)
    out = {}
    out["ping"] = ping(pdu_pb2.PingReq(Message="hello zferry \u00fc"), timeout=10).Echo
    futures = [ping.future(pdu_pb2.PingReq(Message="m%d" % i), timeout=10) for i in range(32)]
    out["many"] = [f.result().Echo for f in futures]
    out["unknown_method"] = status_of(lambda: ch.unary_unary("/Replication/NoSuchMethod")(b"", timeout=10))
    out["unknown_service"] = status_of(lambda: ch.unary_unary("/NoSuchService/Ping")(b"", timeout=10))
    out["oversize"] = status_of(lambda: ping(pdu_pb2.PingReq(Message="x" * (5 << 20)), timeout=10))
    out["failing"] = status_of(lambda: ch.unary_unary("/Test/Fail")(b"", timeout=10))
    started = time.monotonic()
    out["deadline"] = status_of(lambda: ch.unary_unary("/Test/Slow")(b"", timeout=1))
    out["deadline_seconds"] = time.monotonic() - started
    out["ping_after"] = ping(pdu_pb2.PingReq(Message="still there"), timeout=10).Echo
    ch.close()
    return out


def endpoint(target, fs, outside_fs):
    ch = grpc.insecure_channel(target)
    grpc.channel_ready_future(ch).result(timeout=10)
    list_fs = ch.unary_unary("/Replication/ListFilesystems",
                             request_serializer=pdu_pb2.ListFilesystemReq.SerializeToString,
                             response_deserializer=pdu_pb2.ListFilesystemRes.FromString)
    list_versions = ch.unary_unary("/Replication/ListFilesystemVersions",
                                   request_serializer=pdu_pb2.ListFilesystemVersionsReq.SerializeToString,
                                   response_deserializer=pdu_pb2.ListFilesystemVersionsRes.FromString)
    out = {}
    res = list_fs(pdu_pb2.ListFilesystemReq(), timeout=10)
    out["filesystems"] = [{"path": f.Path, "placeholder": f.IsPlaceholder, "token": f.ResumeToken}
                          for f in res.Filesystems]
    res = list_versions(pdu_pb2.ListFilesystemVersionsReq(Filesystem=fs), timeout=10)
    # GUIDs as strings: they use all 64 bits. Type by its enum name, as the .proto spells it.
    out["versions"] = [{"type": pdu_pb2.FilesystemVersion.VersionType.Name(v.Type), "name": v.Name,
                        "guid": str(v.Guid), "createtxg": v.CreateTXG, "creation": v.Creation}
                       for v in res.Versions]
    out["outside"] = status_of(lambda: list_versions(
        pdu_pb2.ListFilesystemVersionsReq(Filesystem=outside_fs), timeout=10))
    ch.close()
    return out


def keepalive(target, keepalive_ms, wait_seconds):
    options = [("grpc.keepalive_time_ms", keepalive_ms),
               ("grpc.keepalive_permit_without_calls", 1),
               ("grpc.http2.max_pings_without_data", 0)]
    ch = grpc.insecure_channel(target, options=options)
    states = []
    lost = threading.Event()

    def watch(state):
        states.append(state.name)
        if state == grpc.ChannelConnectivity.IDLE and "READY" in states:
            lost.set()

    ch.subscribe(watch, try_to_connect=True)
    grpc.channel_ready_future(ch).result(timeout=10)
    ready = time.monotonic()
    went_away = lost.wait(wait_seconds)
    out = {"connection_lost": went_away, "seconds": time.monotonic() - ready, "states": list(states)}
    ch.unsubscribe(watch)
    ch.close()
    return out


def serve():
    from concurrent import futures
    options = [("grpc.keepalive_time_ms", 5000), ("grpc.keepalive_timeout_ms", 10000),
               ("grpc.keepalive_permit_without_calls", 1),
               ("grpc.http2.min_ping_interval_without_data_ms", 2500), ("grpc.http2.max_ping_strikes", 2)]
    srv = grpc.server(futures.ThreadPoolExecutor(8), options=options)

    def ping(request, ctx):
        req = pdu_pb2.PingReq.FromString(request)
        return pdu_pb2.PingRes(Echo=req.Message).SerializeToString()

    def fail(request, ctx):
        ctx.abort(grpc.StatusCode.FAILED_PRECONDITION, "100% refused: \u00fc")

    def slow(request, ctx):
        started = time.monotonic()
        while ctx.is_active() and time.monotonic() - started < 30:
            time.sleep(0.05)
        return b""

    srv.add_generic_rpc_handlers((
        grpc.method_handlers_generic_handler("Replication", {"Ping": grpc.unary_unary_rpc_method_handler(ping)}),
        grpc.method_handlers_generic_handler("Test", {"Fail": grpc.unary_unary_rpc_method_handler(fail),
                                                      "Slow": grpc.unary_unary_rpc_method_handler(slow)}),
    ))
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    signal.signal(signal.SIGTERM, lambda *_: srv.stop(0))
    print(json.dumps({"pid": os.getpid(), "port": port}), flush=True)
    srv.wait_for_termination()


def main():
    target = "127.0.0.1:" + sys.argv[1]
    mode = sys.argv[3]
    if mode == "calls":
        out = calls(target)
    elif mode == "drain":
        ch = grpc.insecure_channel(target)
        grpc.channel_ready_future(ch).result(timeout=10)
        started = time.monotonic()
        out = {"call": status_of(lambda: ch.unary_unary(sys.argv[4])(b"", timeout=60)),
               "seconds": time.monotonic() - started}
        ch.close()
    elif mode == "endpoint":
        out = endpoint(target, sys.argv[4], sys.argv[5])
    elif mode == "serve":
        serve()
        return
    elif mode == "keepalive":
        out = keepalive(target, int(sys.argv[4]), float(sys.argv[5]))
    else:
        raise SystemExit("unknown mode " + mode)
    print(json.dumps(out), flush=True)


main()
