// gRPC sessions in memory: unary round trips through the client and server sessions (HPACK,
// framing, flow control, nghttp2), no sockets. The ceiling the control channel's CPU cost
// sets for calls per second on one connection.
#include "transport/grpc/client_session.hpp"
#include "transport/grpc/server_session.hpp"

#include <benchmark/benchmark.h>

#include <string>

using namespace zferry::transport::grpc;

namespace {

void move_bytes(ClientSession& c, ServerSession& s, TimePoint now, std::string& buf) {
    for (;;) {
        buf.clear();
        c.produce_output(buf);
        const bool c_said = !buf.empty();
        s.receive({reinterpret_cast<const std::uint8_t*>(buf.data()), buf.size()}, now);
        buf.clear();
        s.produce_output(buf);
        const bool s_said = !buf.empty();
        c.receive({reinterpret_cast<const std::uint8_t*>(buf.data()), buf.size()}, now);
        if (!c_said && !s_said) return;
    }
}

// state.range(0): request/response size; state.range(1): calls in flight per batch.
void BM_GrpcUnaryInMemory(benchmark::State& state) {
    const TimePoint now = Clock::now();
    ClientSession c({}, now);
    ServerSession s({}, now);
    std::string buf;
    move_bytes(c, s, now, buf);
    const std::string payload(static_cast<std::size_t>(state.range(0)), 'p');
    const int batch = static_cast<int>(state.range(1));
    std::int64_t calls = 0;
    for (auto _ : state) {
        for (int i = 0; i < batch; ++i) c.start_call("/Replication/Ping", payload, std::nullopt, now);
        move_bytes(c, s, now, buf);
        for (auto& call : s.take_calls()) s.respond(call.stream_id, call.message);
        move_bytes(c, s, now, buf);
        auto results = c.take_results();
        if (results.size() != static_cast<std::size_t>(batch) || !results.front().status.ok()) {
            state.SkipWithError("a call failed");
            break;
        }
        calls += batch;
    }
    state.SetItemsProcessed(calls);
    state.SetBytesProcessed(calls * state.range(0) * 2);
}
BENCHMARK(BM_GrpcUnaryInMemory)->Args({16, 1})->Args({16, 32})->Args({65536, 1})->Args({1 << 20, 1});

}  // namespace
