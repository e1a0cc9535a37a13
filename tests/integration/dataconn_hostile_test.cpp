// dataconn under slow and hostile peers and local ends: a server stopped while its sends stall
// on readers that do not read, a receiving sink that dies mid-stream, consumers and producers
// that stall for three idle timeouts, and an error trailer cut at its size limit. Both I/O
// engines, both payload modes; the ASan build runs them too.
#include "tests/integration/test_support.hpp"
#include "transport/dataconn.hpp"
#include "transport/frame_codec.hpp"
#include "transport/handshake.hpp"
#include "transport/mux_label.hpp"

#include <gtest/gtest.h>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace zferry::transport {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();

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

// A local end that pauses: after `at` bytes it sleeps `pause` once.
struct Stall {
    std::uint64_t at = kNoLimit;
    std::chrono::milliseconds pause{0};
};

void set_blocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK); }

// Writes `n` pattern bytes into fd (the same bytes as test::produce), pausing once; closes fd.
std::future<test::Checksum> produce_stalling(int fd, std::uint64_t n, Stall stall) {
    return std::async(std::launch::async, [fd, n, stall] {
        set_blocking(fd);
        std::vector<std::uint64_t> block(32768);
        test::Checksum c;
        std::uint64_t done = 0;
        bool paused = false;
        while (done < n) {
            if (!paused && done >= stall.at) {
                std::this_thread::sleep_for(stall.pause);
                paused = true;
            }
            test::fill_pattern(block, done / 8);
            std::size_t len = std::min<std::uint64_t>(n - done, block.size() * 8);
            auto* p = reinterpret_cast<const unsigned char*>(block.data());
            c.add(p, len);
            std::size_t off = 0;
            while (off < len) {
                ssize_t w = ::write(fd, p + off, len - off);
                if (w <= 0) {
                    ::close(fd);
                    return c;
                }
                off += static_cast<std::size_t>(w);
            }
            done += len;
        }
        ::close(fd);
        return c;
    });
}

// Reads fd until EOF, pausing once; with `die_at`, closes it after that many bytes instead
// (a `zfs recv` that exits mid-stream). Returns the checksum of what it read.
std::future<test::Checksum> consume_stalling(int fd, Stall stall, std::uint64_t die_at = kNoLimit) {
    return std::async(std::launch::async, [fd, stall, die_at] {
        set_blocking(fd);
        std::vector<unsigned char> buf(64 * 1024);
        test::Checksum c;
        bool paused = false;
        while (c.bytes < die_at) {
            if (!paused && c.bytes >= stall.at) {
                std::this_thread::sleep_for(stall.pause);
                paused = true;
            }
            std::size_t want = std::min<std::uint64_t>(buf.size(), die_at - c.bytes);
            ssize_t r = ::read(fd, buf.data(), want);
            if (r <= 0) break;
            c.add(buf.data(), static_cast<std::size_t>(r));
        }
        ::close(fd);
        return c;
    });
}

std::uint64_t pattern_checksum(std::uint64_t n) {
    Pipe p;
    auto produced = test::produce(p.w, n);
    auto consumed = test::consume(p.r).get();
    produced.get();
    return consumed.value();
}

// What the tests ask of the server's handler; set before the request.
struct Script {
    std::uint64_t send_bytes = 0;
    Stall producer;                         // the server's source (zfs send)
    Stall consumer;                         // the server's sink (zfs recv)
    std::uint64_t sink_dies_at = kNoLimit;  // the sink exits after this many bytes
    std::optional<Error> finish_error;      // what the sink's finish() reports
    std::optional<Error> source_error;      // what the source's wait_source() reports
};

class ScriptedHandler : public DataconnHandler {
public:
    Script script;
    std::uint64_t last_received = 0;

    asio::awaitable<Result<std::string>> ping(RequestContext&, std::string request) override {
        co_return request;
    }

    asio::awaitable<Result<SendReply>> send(RequestContext&, std::string) override {
        Pipe p;
        auto fut = std::make_shared<std::future<test::Checksum>>(
            produce_stalling(p.w, script.send_bytes, script.producer));
        SendReply reply;
        reply.structured = "sending";
        reply.stream = UniqueFd(p.r);
        reply.wait_source = [fut, failure = script.source_error]() -> asio::awaitable<Result<void>> {
            fut->get();
            if (failure) co_return *failure;
            co_return Result<void>{};
        };
        co_return reply;
    }

    asio::awaitable<Result<RecvSession>> recv(RequestContext&, std::string) override {
        Pipe p;
        auto fut = std::make_shared<std::future<test::Checksum>>(
            consume_stalling(p.r, script.consumer, script.sink_dies_at));
        RecvSession s;
        s.stream = UniqueFd(p.w);
        s.finish = [this, fut, failure = script.finish_error](
                       Result<std::uint64_t> transfer) -> asio::awaitable<Result<std::string>> {
            auto c = fut->get();
            last_received = c.bytes;
            if (failure) co_return *failure;
            if (!transfer) co_return transfer.error();
            co_return std::to_string(c.bytes) + ":" + std::to_string(c.value());
        };
        co_return s;
    }
};

struct Variant {
    EngineKind engine;
    PayloadMode mode;
};

std::string variant_name(const testing::TestParamInfo<Variant>& i) {
    return std::string(engine_name(i.param.engine)) +
           (i.param.mode == PayloadMode::splice ? "_splice" : "_readv");
}

// Short timeouts, so that a stall of three idle timeouts takes 1.5 s; heartbeats come five
// times per idle timeout, which leaves a loaded machine room.
class Hostile : public testing::TestWithParam<Variant> {
protected:
    static constexpr auto kIdle = 500ms;
    static constexpr auto kStall = 3 * kIdle;

    void SetUp() override {
        log_init({LogLevel::warn, LogFormat::human, &captured_log});
        Error fell_back;
        engine = IoEngine::make(ctx, GetParam().engine, &fell_back);
        ASSERT_EQ(engine->kind(), GetParam().engine) << fell_back.message();
        options.stream = StreamOptions::both(GetParam().mode);
        options.conn.idle_timeout = kIdle;
        options.heartbeat.interval = 100ms;
        options.heartbeat.peer_timeout = kIdle;
        options.handshake_timeout = 5s;
        options.frames.shutdown_timeout = 2s;
        server =
            std::make_unique<DataconnServer>(ctx, *engine, handler, options, Logger().with("side", "server"));
        ASSERT_TRUE(server->listen({asio::ip::make_address("127.0.0.1"), 0}));
        client = std::make_unique<DataconnClient>(ctx, *engine, server->local_endpoint(), options,
                                                  Logger().with("side", "client"));
    }
    void TearDown() override {
        if (server) test::run(ctx, server->stop());
        client.reset();
        server.reset();
        engine.reset();
        log_init({LogLevel::error});
    }

    std::ostringstream captured_log;  // outlives the log configuration TearDown resets
    asio::io_context ctx;
    std::unique_ptr<IoEngine> engine;
    DataconnOptions options;
    ScriptedHandler handler;
    std::unique_ptr<DataconnServer> server;
    std::unique_ptr<DataconnClient> client;
};

TEST_P(Hostile, SinkThatDiesMidStreamIsReportedWithItsOwnPermanentError) {
    // zfs recv exits after 1 MiB of a 256 MiB stream and says why: that message, not a reset
    // of the connection, must reach the client, as a permanent error, and the server log.
    handler.script.sink_dies_at = 1 << 20;
    handler.script.finish_error =
        Error(Errc::invalid_argument, "cannot receive incremental stream: destination has been modified");
    Pipe p;
    auto produced = test::produce(p.w, 256ull << 20);
    auto r = test::run(ctx, client->recv("to pool/a@1", p.r));
    ::close(p.r);  // the producer ends on EPIPE
    produced.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::remote_error)) << r.error().message();
    EXPECT_NE(r.error().message().find("destination has been modified"), std::string::npos)
        << r.error().message();
    EXPECT_FALSE(r.error().temporary()) << r.error().message();
    EXPECT_EQ(handler.last_received, 1u << 20);
    test::run(ctx, server->stop());
    auto log = captured_log.str();
    EXPECT_NE(log.find("destination has been modified"), std::string::npos) << log;
}

TEST_P(Hostile, ServerConsumerStallOfThreeIdleTimeoutsIsNotATimeout) {
    // A busy pool: the server's zfs recv stops reading for 3 idle timeouts. The client keeps
    // sending heartbeats' worth of proof of life; the transfer completes intact.
    constexpr std::uint64_t kStream = 32 << 20;
    handler.script.consumer = {1 << 20, kStall};
    Pipe p;
    auto produced = test::produce(p.w, kStream);
    std::uint64_t bytes = 0;
    auto r = test::run(ctx, client->recv("to pool/a@1", p.r, &bytes));
    ::close(p.r);
    auto sum = produced.get();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(bytes, kStream);
    EXPECT_EQ(*r, std::to_string(kStream) + ":" + std::to_string(sum.value()));
}

TEST_P(Hostile, ClientConsumerStallOfThreeIdleTimeoutsIsNotATimeout) {
    // The client's zfs recv stops reading for 3 idle timeouts during a /v1/send: the server,
    // which only writes, must take the client's heartbeats as proof of life.
    constexpr std::uint64_t kStream = 32 << 20;
    handler.script.send_bytes = kStream;
    Pipe p;
    auto consumed = consume_stalling(p.r, {1 << 20, kStall});
    std::uint64_t bytes = 0;
    auto r = test::run(ctx, client->send("pool/a@1", p.w, &bytes));
    ::close(p.w);
    auto sum = consumed.get();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(bytes, kStream);
    EXPECT_EQ(sum.bytes, kStream);
    EXPECT_EQ(sum.value(), pattern_checksum(kStream));
}

TEST_P(Hostile, ServerProducerStallOfThreeIdleTimeoutsIsNotATimeout) {
    constexpr std::uint64_t kStream = 8 << 20;
    handler.script.send_bytes = kStream;
    handler.script.producer = {1 << 20, kStall};
    Pipe p;
    auto consumed = test::consume(p.r);
    std::uint64_t bytes = 0;
    auto r = test::run(ctx, client->send("pool/a@1", p.w, &bytes));
    ::close(p.w);
    auto sum = consumed.get();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(bytes, kStream);
    EXPECT_EQ(sum.value(), pattern_checksum(kStream));
}

TEST_P(Hostile, ClientProducerStallOfThreeIdleTimeoutsIsNotATimeout) {
    constexpr std::uint64_t kStream = 8 << 20;
    Pipe p;
    auto produced = produce_stalling(p.w, kStream, {1 << 20, kStall});
    std::uint64_t bytes = 0;
    auto r = test::run(ctx, client->recv("to pool/a@1", p.r, &bytes));
    ::close(p.r);
    auto sum = produced.get();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(bytes, kStream);
    EXPECT_EQ(*r, std::to_string(kStream) + ":" + std::to_string(sum.value()));
}

TEST_P(Hostile, SourceErrorTrailerAtTheSizeLimitStaysUtf8) {
    // The trailer is cut at 64 KiB; this text puts a 2-byte character across the cut.
    std::string text = "x";
    while (text.size() < 80 * 1024) text += "\xc3\xa9";  // U+00E9
    handler.script.send_bytes = 1 << 20;
    handler.script.source_error = Error(Errc::internal, text);
    Pipe p;
    auto consumed = test::consume(p.r);
    auto r = test::run(ctx, client->send("pool/a@1", p.w));
    ::close(p.w);
    consumed.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(Errc::stream_source_error))
        << r.error().message().substr(0, 200);
    EXPECT_NE(r.error().message().find("x\xc3\xa9\xc3\xa9"), std::string::npos);
}

TEST_P(Hostile, CancelledClientStillClosesAndJoinsItsConnection) {
    // A /v1/send into a sink nobody reads, cancelled (a job stopped): the request returns an
    // error after closing its connection and joining its heartbeat task (ASan: nothing of the
    // connection runs after its memory went).
    handler.script.send_bytes = kNoLimit;
    Pipe p;
    bool cancelled = false;
    test::run(ctx, [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        asio::steady_timer timer(ctx, 300ms);
        auto first = co_await (client->send("pool/a@1", p.w) || timer.async_wait(asio::use_awaitable));
        cancelled = first.index() == 1;
    }());
    EXPECT_TRUE(cancelled) << "the send ended before it was cancelled";
    ctx.run_for(300ms);  // whatever the connection left behind would run now
    ::close(p.r);
    ::close(p.w);
}

TEST_P(Hostile, CancelledRecvClientStillClosesAndJoinsItsConnection) {
    // The server's sink stalls, so the client's stream write blocks holding the write lock
    // and its heartbeats queue behind it; then the request is cancelled. The heartbeat task
    // must be joined before the connection goes (ASan: no use-after-free).
    handler.script.consumer = {1 << 20, 2s};
    Pipe p;
    auto endless = test::produce(p.w, kNoLimit);
    bool cancelled = false;
    test::run(ctx, [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        asio::steady_timer timer(ctx, 300ms);
        auto first = co_await (client->recv("to pool/a@1", p.r) || timer.async_wait(asio::use_awaitable));
        cancelled = first.index() == 1;
    }());
    EXPECT_TRUE(cancelled) << "the recv ended before it was cancelled";
    ctx.run_for(300ms);  // whatever the connection left behind would run now
    ::close(p.r);        // the producer ends on EPIPE
    endless.get();
}

INSTANTIATE_TEST_SUITE_P(Engines, Hostile,
                         testing::Values(Variant{EngineKind::reactor, PayloadMode::splice},
                                         Variant{EngineKind::reactor, PayloadMode::readv},
                                         Variant{EngineKind::uring, PayloadMode::splice},
                                         Variant{EngineKind::uring, PayloadMode::readv}),
                         variant_name);

// ---------------------------------------------------------------------- stop under load

void write_all(int fd, const void* p, std::size_t n) {
    auto* c = static_cast<const char*>(p);
    while (n > 0) {
        ssize_t w = ::write(fd, c, n);
        if (w <= 0) return;
        c += w;
        n -= static_cast<std::size_t>(w);
    }
}

bool read_exact(int fd, std::size_t n) {
    std::vector<char> buf(n);
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = ::read(fd, buf.data() + got, n - got);
        if (r <= 0) return false;
        got += static_cast<std::size_t>(r);
    }
    return true;
}

void write_message(int fd, std::uint32_t type, std::string_view payload) {
    auto h = encode_frame_header({type, static_cast<std::uint32_t>(payload.size())});
    write_all(fd, h.data(), h.size());
    write_all(fd, payload.data(), payload.size());
    auto end = encode_frame_header({frame_type::stream_end, 0});
    write_all(fd, end.data(), end.size());
}

// Connects with a small receive buffer, asks for /v1/send and reads nothing after the
// server's banner. Returns the socket, or -1.
int request_send_and_never_read(unsigned short port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rcvbuf = 64 * 1024;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    auto banner = *encode_banner(zferry_banner());
    write_all(fd, banner.data(), banner.size());
    if (!read_exact(fd, banner.size())) {
        ::close(fd);
        return -1;
    }
    auto label = encode_label(MuxLabel::zrepl_data);
    write_all(fd, label.data(), label.size());
    write_message(fd, frame_type::req_header, kEndpointSend);
    write_message(fd, frame_type::req_structured, "pool/a@1");
    return fd;
}

class StopUnderLoad : public testing::TestWithParam<EngineKind> {};

TEST_P(StopUnderLoad, StopJoinsEveryConnectionWhoseSendStalls) {
    // Each send stalls on a full socket holding the write lock, with the heartbeat task
    // queued behind it. stop() must cancel and join every coroutine of every connection
    // before their memory goes (ASan: no use-after-free, no leak), and not wait for the
    // drains of peers that never read.
    log_init({LogLevel::error});
    asio::io_context ctx;
    Error fell_back;
    auto engine = IoEngine::make(ctx, GetParam(), &fell_back);
    ASSERT_EQ(engine->kind(), GetParam()) << fell_back.message();
    DataconnOptions options;
    options.heartbeat.interval = 20ms;      // heartbeats always wait for the lock
    options.frames.shutdown_timeout = 30s;  // a drain would show as a hang
    ScriptedHandler handler;
    handler.script.send_bytes = kNoLimit;
    auto server = std::make_unique<DataconnServer>(ctx, *engine, handler, options, Logger());
    ASSERT_TRUE(server->listen({asio::ip::make_address("127.0.0.1"), 0}));
    auto port = server->local_endpoint().port();

    constexpr int kPeers = 4;
    std::vector<std::future<int>> peers;
    for (int i = 0; i < kPeers; ++i)
        peers.push_back(std::async(std::launch::async, [port] { return request_send_and_never_read(port); }));
    // Serve until every peer has its request in and the sends have filled the buffers.
    auto until = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < until && std::any_of(peers.begin(), peers.end(), [](auto& f) {
               return f.wait_for(0s) != std::future_status::ready;
           }))
        ctx.run_for(10ms);
    std::vector<int> fds;
    for (auto& f : peers) fds.push_back(f.get());
    for (int fd : fds) ASSERT_GE(fd, 0);
    ctx.run_for(500ms);
    EXPECT_EQ(server->active_connections(), static_cast<std::size_t>(kPeers));

    auto t0 = std::chrono::steady_clock::now();
    test::run(ctx, server->stop());
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(took, 10s);
    EXPECT_EQ(server->active_connections(), 0u);
    server.reset();
    // Whatever a connection left behind runs now, after its memory went: ASan reports it.
    ctx.run_for(300ms);
    for (int fd : fds) ::close(fd);
    ctx.run_for(100ms);
}

INSTANTIATE_TEST_SUITE_P(Engines, StopUnderLoad, testing::Values(EngineKind::reactor, EngineKind::uring),
                         [](const testing::TestParamInfo<EngineKind>& i) {
                             return std::string(engine_name(i.param));
                         });

}  // namespace
}  // namespace zferry::transport
