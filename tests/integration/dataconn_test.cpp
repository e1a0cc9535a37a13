// dataconn over real loopback sockets, for both I/O engines and both payload modes.
#include "transport/dataconn.hpp"
#include "tests/integration/test_support.hpp"
#include "transport/frame_codec.hpp"
#include "transport/handshake.hpp"
#include "transport/mux_label.hpp"

#include <gtest/gtest.h>

#include <optional>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <limits>
#include <map>
#include <string>

namespace zferry::transport {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

#if defined(__SANITIZE_ADDRESS__)
constexpr std::uint64_t kBigTransfer = 64ull << 20;  // sanitizers are ~20x slower
#else
constexpr std::uint64_t kBigTransfer = 1ull << 30;  // 1 GiB
#endif

struct Pipe {
    int r = -1, w = -1;
    Pipe() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) == 0) {
            r = fds[0];
            w = fds[1];
            raise_pipe_capacity(w, 1 << 20);
        }
    }
};

// Parses "N" or "fail:N" requests; streams pattern bytes; checksums what it receives.
class TestHandler : public DataconnHandler {
public:
    std::map<std::string, std::string> seen_identity;

    asio::awaitable<Result<std::string>> ping(RequestContext& ctx, std::string request) override {
        seen_identity["ping"] = ctx.client_identity;
        if (request == "garbage") co_return Error(Errc::invalid_argument, "handler refuses garbage");
        if (request == "throw") throw std::runtime_error("boom");
        co_return "echo:" + request;
    }

    asio::awaitable<Result<SendReply>> send(RequestContext&, std::string request) override {
        if (request == "nothing") co_return SendReply{};
        bool fail = request.starts_with("fail:");
        std::uint64_t n = std::stoull(fail ? request.substr(5) : request);
        Pipe p;
        auto fut = std::make_shared<std::future<test::Checksum>>(test::produce(p.w, n));
        SendReply reply;
        reply.structured = "sending";
        reply.stream = UniqueFd(p.r);
        reply.wait_source = [fut, fail]() -> asio::awaitable<Result<void>> {
            fut->get();
            if (fail) co_return Error(Errc::internal, "zfs send failed: simulated source failure");
            co_return Result<void>{};
        };
        co_return reply;
    }

    asio::awaitable<Result<RecvSession>> recv(RequestContext&, std::string request) override {
        if (request == "refuse") co_return Error(Errc::invalid_argument, "receiver refuses this filesystem");
        Pipe p;
        auto fut = std::make_shared<std::future<test::Checksum>>(test::consume(p.r));
        RecvSession s;
        s.stream = UniqueFd(p.w);
        s.finish = [fut](Result<std::uint64_t> transfer) -> asio::awaitable<Result<std::string>> {
            auto c = fut->get();
            if (!transfer) co_return transfer.error();
            co_return std::to_string(c.bytes) + ":" + std::to_string(c.value());
        };
        co_return s;
    }
};

struct Variant {
    EngineKind engine;
    std::optional<PayloadMode> mode;  // both directions; nullopt: the defaults (mixed)
};

std::string variant_name(const testing::TestParamInfo<Variant>& i) {
    std::string mode = "_default";
    if (i.param.mode == PayloadMode::splice) mode = "_splice";
    if (i.param.mode == PayloadMode::readv) mode = "_readv";
    return std::string(engine_name(i.param.engine)) + mode;
}

class Dataconn : public testing::TestWithParam<Variant> {
protected:
    void SetUp() override {
        log_init({LogLevel::warn});
        Error fell_back;
        engine = IoEngine::make(ctx, GetParam().engine, &fell_back);
        ASSERT_EQ(engine->kind(), GetParam().engine) << fell_back.message();
        if (GetParam().mode) options.stream = StreamOptions::both(*GetParam().mode);
        options.heartbeat.interval = 200ms;
        options.conn.idle_timeout = 2s;
        options.handshake_timeout = 2s;
        options.frames.shutdown_timeout = 2s;
        start();
    }
    // (Re)starts server and client with the current options.
    void start() {
        if (client) test::run(ctx, client->close());
        if (server) test::run(ctx, server->stop());
        server =
            std::make_unique<DataconnServer>(ctx, *engine, handler, options, Logger().with("side", "server"));
        server->identify = [](const asio::ip::address&) { return std::string("client-a"); };
        ASSERT_TRUE(server->listen({asio::ip::make_address("127.0.0.1"), 0}));
        client = std::make_unique<DataconnClient>(ctx, *engine, server->local_endpoint(), options,
                                                  Logger().with("side", "client"));
    }
    void TearDown() override {
        if (client) test::run(ctx, client->close());
        if (server) test::run(ctx, server->stop());
        client.reset();
        server.reset();
        engine.reset();
    }

    asio::io_context ctx;
    std::unique_ptr<IoEngine> engine;
    DataconnOptions options;
    TestHandler handler;
    std::unique_ptr<DataconnServer> server;
    std::unique_ptr<DataconnClient> client;
};

TEST_P(Dataconn, PingEchoesAndCarriesClientIdentity) {
    auto r = test::run(ctx, client->ping("hello"));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, "echo:hello");
    EXPECT_EQ(handler.seen_identity["ping"], "client-a");
}

TEST_P(Dataconn, HandlerErrorsReachTheClientAsPermanentErrors) {
    auto r = test::run(ctx, client->ping("garbage"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::remote_error));
    EXPECT_NE(r.error().message().find("handler refuses garbage"), std::string::npos) << r.error().message();
    EXPECT_FALSE(r.error().temporary());

    auto t = test::run(ctx, client->ping("throw"));
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().message().find("handler failed: boom"), std::string::npos) << t.error().message();

    Pipe p;
    auto drain = test::consume(p.r);
    auto n = test::run(ctx, client->send("nothing", p.w));
    ::close(p.w);
    drain.get();
    ASSERT_FALSE(n);
    EXPECT_NE(n.error().message().find("returned no stream"), std::string::npos) << n.error().message();
}

TEST_P(Dataconn, SendStreamsOneGiBIntact) {
    Pipe p;
    auto got = test::consume(p.r);
    std::uint64_t bytes = 0;
    auto r = test::run(ctx, client->send(std::to_string(kBigTransfer), p.w, &bytes));
    ::close(p.w);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, "sending");
    EXPECT_EQ(bytes, kBigTransfer);
    auto c = got.get();
    // The producer's checksum of the same pattern:
    Pipe ref;
    auto expect = test::produce(ref.w, kBigTransfer);
    auto ref_c = test::consume(ref.r).get();
    EXPECT_EQ(c.bytes, kBigTransfer);
    EXPECT_EQ(c.value(), ref_c.value());
    EXPECT_EQ(expect.get().value(), ref_c.value());
}

TEST_P(Dataconn, RecvStreamsOneGiBIntact) {
    Pipe p;
    auto sent = test::produce(p.w, kBigTransfer);
    std::uint64_t bytes = 0;
    auto r = test::run(ctx, client->recv("to pool/a@1", p.r, &bytes));
    ::close(p.r);
    ASSERT_TRUE(r) << r.error().message();
    auto c = sent.get();
    EXPECT_EQ(bytes, kBigTransfer);
    EXPECT_EQ(*r, std::to_string(c.bytes) + ":" + std::to_string(c.value()));
}

TEST_P(Dataconn, SourceFailureArrivesAsErrorTrailer) {
    Pipe p;
    auto got = test::consume(p.r);
    auto r = test::run(ctx, client->send("fail:3000000", p.w));
    ::close(p.w);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(Errc::stream_source_error));
    EXPECT_NE(r.error().message().find("simulated source failure"), std::string::npos) << r.error().message();
    EXPECT_EQ(got.get().bytes, 3000000u);
}

TEST_P(Dataconn, RecvRefusedByHandlerReportsTheRefusal) {
    Pipe p;
    auto sent = test::produce(p.w, 8 << 20);
    auto r = test::run(ctx, client->recv("refuse", p.r));
    ::close(p.r);
    sent.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::remote_error)) << r.error().message();
    EXPECT_NE(r.error().message().find("receiver refuses"), std::string::npos) << r.error().message();
}

TEST_P(Dataconn, RecvRefusalStopsAnEndlessStream) {
    // After refusing, the server drains whatever the client still sends for up to its
    // shutdown timeout. Made long here: only a client that stops streaming on the refusal
    // returns soon, and with the refusal rather than the reset the drain's end causes.
    options.frames.shutdown_timeout = 60s;
    start();
    Pipe p;
    auto endless = test::produce(p.w, std::numeric_limits<std::uint64_t>::max());
    auto t0 = std::chrono::steady_clock::now();
    auto r = test::run(ctx, client->recv("refuse", p.r));
    auto took = std::chrono::steady_clock::now() - t0;
    ::close(p.r);  // the producer ends on EPIPE
    endless.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::remote_error)) << r.error().message();
    EXPECT_NE(r.error().message().find("receiver refuses"), std::string::npos) << r.error().message();
    EXPECT_LT(took, 20s);
}

TEST_P(Dataconn, RecvRefusalWhileTheSourceIsIdle) {
    // A source that neither sends nor ends: the client waits on the pipe when the refusal comes.
    Pipe p;
    auto r = test::run(ctx, client->recv("refuse", p.r));
    ::close(p.r);
    ::close(p.w);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::remote_error)) << r.error().message();
    EXPECT_NE(r.error().message().find("receiver refuses"), std::string::npos) << r.error().message();
}

asio::awaitable<void> wait_until(std::function<bool()> done) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (!done()) {
        t.expires_after(10ms);
        co_await t.async_wait(use_ec);
    }
}

// Reuse between zferry peers (both banners advertise zferry/1), with ages that never matter
// here: the heartbeat interval is longer than any pause of this test, so nothing lands on an
// idle connection, and neither side times one out.
void keep_connections(DataconnOptions& o) {
    o.heartbeat.interval = 5s;
    o.conn.idle_timeout = 10s;
    o.reuse.client_max_idle = 2;
    o.reuse.client_idle_timeout = 10min;
    o.limits.next_request_timeout = 20min;
}

TEST_P(Dataconn, AKeptConnectionCarriesPingSendAndRecvAndAnErrorTrailerClosesIt) {
    keep_connections(options);
    start();
    auto r = test::run(ctx, client->ping("one"));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(client->idle_connections(), 1u);
    {
        Pipe p;
        auto got = test::consume(p.r);
        std::uint64_t bytes = 0;
        auto s = test::run(ctx, client->send(std::to_string(4 << 20), p.w, &bytes));
        ::close(p.w);
        ASSERT_TRUE(s) << s.error().message();
        EXPECT_EQ(bytes, 4u << 20);
        EXPECT_EQ(got.get().bytes, 4u << 20);
    }
    {
        Pipe p;
        auto sent = test::produce(p.w, 4 << 20);
        auto v = test::run(ctx, client->recv("to pool/a@1", p.r));
        ::close(p.r);
        ASSERT_TRUE(v) << v.error().message();
        auto c = sent.get();
        EXPECT_EQ(*v, std::to_string(c.bytes) + ":" + std::to_string(c.value()));
    }
    r = test::run(ctx, client->ping("four"));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, "echo:four");
    EXPECT_EQ(client->connections_opened(), 1u);
    EXPECT_EQ(client->reused_requests(), 3u);
    EXPECT_EQ(server->connections_served(), 1u);
    EXPECT_EQ(server->reused_requests(), 3u);

    // A stream that ended with the source's error trailer is an error: the connection goes.
    {
        Pipe p;
        auto got = test::consume(p.r);
        auto f = test::run(ctx, client->send("fail:100000", p.w));
        ::close(p.w);
        got.get();
        ASSERT_FALSE(f);
        EXPECT_EQ(f.error().code(), make_error_code(Errc::stream_source_error));
    }
    EXPECT_EQ(client->idle_connections(), 0u);
    // So does a refusal.
    r = test::run(ctx, client->ping("two"));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(client->connections_opened(), 2u);
    auto refused = test::run(ctx, client->ping("garbage"));
    ASSERT_FALSE(refused);
    EXPECT_EQ(client->idle_connections(), 0u);
    EXPECT_EQ(server->connections_served(), 2u);
}

TEST_P(Dataconn, AKeptConnectionIsClosedWhenItsIdleTimeoutPassesWithoutAnotherRequest) {
    // Not only at the next request: a client that makes none closes what it keeps once the
    // timeout passes, and the server's connection ends with it (no wait for the server's own
    // next-request deadline of 20 minutes here).
    keep_connections(options);
    options.reuse.client_idle_timeout = 300ms;
    start();
    auto r = test::run(ctx, client->ping("one"));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(client->idle_connections(), 1u);
    test::run(ctx, wait_until(
                       [&] { return client->idle_connections() == 0 && server->active_connections() == 0; }));
    EXPECT_EQ(server->connections_served(), 1u);
    // The next request opens a new connection, and is kept again.
    r = test::run(ctx, client->ping("two"));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(client->connections_opened(), 2u);
    EXPECT_EQ(client->idle_connections(), 1u);
    test::run(ctx, wait_until([&] { return client->idle_connections() == 0; }));
}

TEST_P(Dataconn, AKeptConnectionTheServerClosedIsReplacedBeforeAByteOfTheRequest) {
    keep_connections(options);
    // The server gives a kept connection no time at all for the next request.
    options.limits.next_request_timeout = 1ms;
    start();
    auto r = test::run(ctx, client->ping("one"));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(client->idle_connections(), 1u);
    test::run(ctx, wait_until([&] { return server->active_connections() == 0; }));
    r = test::run(ctx, client->ping("two"));
    ASSERT_TRUE(r) << "the closed connection is not used: " << r.error().message();
    EXPECT_EQ(*r, "echo:two");
    EXPECT_EQ(client->connections_opened(), 2u);
    EXPECT_EQ(client->reused_requests(), 0u);
    EXPECT_EQ(server->reused_requests(), 0u);
}

TEST_P(Dataconn, AClientWithoutTheZferryBannerGetsOneRequestPerConnection) {
    keep_connections(options);
    start();
    // The client plays zrepl (no zferry/1 in its banner); the server speaks zferry/1.
    test::run(ctx, client->close());
    auto zrepl_like = options;
    zrepl_like.advertise_zferry = false;
    client = std::make_unique<DataconnClient>(ctx, *engine, server->local_endpoint(), zrepl_like,
                                              Logger().with("side", "client"));
    for (int i = 0; i < 3; ++i) {
        auto r = test::run(ctx, client->ping("x"));
        ASSERT_TRUE(r) << r.error().message();
    }
    EXPECT_EQ(client->connections_opened(), 3u);
    EXPECT_EQ(client->idle_connections(), 0u);
    test::run(ctx, wait_until([&] { return server->active_connections() == 0; }));
    EXPECT_EQ(server->connections_served(), 3u);
    EXPECT_EQ(server->reused_requests(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Engines, Dataconn,
                         testing::Values(Variant{EngineKind::reactor, PayloadMode::splice},
                                         Variant{EngineKind::reactor, PayloadMode::readv},
                                         Variant{EngineKind::uring, PayloadMode::splice},
                                         Variant{EngineKind::uring, PayloadMode::readv},
                                         Variant{EngineKind::reactor, std::nullopt},
                                         Variant{EngineKind::uring, std::nullopt}),
                         variant_name);

}  // namespace
}  // namespace zferry::transport
