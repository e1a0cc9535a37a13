// gRPC unary calls per second on one connection:
//  - BM_GrpcUnaryInMemory: round trips through the client and server sessions (HPACK,
//    framing, flow control, nghttp2), no sockets: the ceiling the control channel's CPU cost
//    sets;
//  - BM_GrpcUnaryLoopback: the same calls through the real drivers (GrpcClientConnection,
//    serve_grpc_connection) over one loopback TCP connection, client and server on one
//    io_context in one thread (a call's time includes both sides' CPU).
#include "transport/grpc/client_session.hpp"
#include "transport/grpc/grpc_client.hpp"
#include "transport/grpc/grpc_server.hpp"
#include "transport/grpc/server_session.hpp"

#include <benchmark/benchmark.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

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

// state.range(0): request/response size; state.range(1): calls in flight per batch.
void BM_GrpcUnaryLoopback(benchmark::State& state) {
    namespace asio = boost::asio;
    using asio::ip::tcp;
    asio::io_context ctx;
    tcp::acceptor acceptor(ctx, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    ServiceDispatch dispatch;
    dispatch.add("/Replication/Ping", [](CallContext, std::string request) -> asio::awaitable<UnaryReply> {
        co_return UnaryReply::ok(std::move(request));
    });
    const std::string payload(static_cast<std::size_t>(state.range(0)), 'p');
    const int batch = static_cast<int>(state.range(1));
    std::int64_t calls = 0;
    std::string failure;

    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
            auto socket = co_await acceptor.async_accept(asio::use_awaitable);
            // Named, not braced temporaries: GCC 12 miscompiles those in coroutine bodies.
            GrpcServerOptions options;
            zferry::Logger log;
            (void)co_await serve_grpc_connection(std::move(socket), dispatch, options, log);
        },
        asio::detached);
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
            tcp::socket socket(ctx);
            co_await socket.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
            socket.set_option(tcp::no_delay(true));
            ClientSessionOptions options;
            zferry::Logger log;
            GrpcClientConnection conn(std::move(socket), options, log);
            bool ran = false;
            asio::steady_timer run_ended(ctx, asio::steady_timer::time_point::max());
            asio::co_spawn(
                ctx,
                [&]() -> asio::awaitable<void> {
                    (void)co_await conn.run();
                    ran = true;
                    run_ended.cancel();
                },
                asio::detached);
            asio::steady_timer batch_done(ctx);
            for (auto _ : state) {
                int left = batch;
                batch_done.expires_at(asio::steady_timer::time_point::max());
                for (int i = 0; i < batch; ++i)
                    asio::co_spawn(
                        ctx,
                        [&]() -> asio::awaitable<void> {
                            auto r = co_await conn.call("/Replication/Ping", payload, std::nullopt);
                            if (!r.status.ok() && failure.empty()) failure = "a call failed";
                            if (--left == 0) batch_done.cancel();
                        },
                        asio::detached);
                boost::system::error_code ec;
                co_await batch_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                if (!failure.empty()) break;
                calls += batch;
            }
            conn.close();
            while (!ran) {
                boost::system::error_code ec;
                co_await run_ended.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
        },
        asio::detached);
    ctx.run();
    if (!failure.empty()) state.SkipWithError(failure.c_str());
    state.SetItemsProcessed(calls);
    state.SetBytesProcessed(calls * state.range(0) * 2);
}
BENCHMARK(BM_GrpcUnaryLoopback)->Args({16, 1})->Args({16, 32})->Args({65536, 1});

}  // namespace
