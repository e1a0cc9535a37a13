// dataconn against peers that misbehave: silent, wrong version, garbage frames, stalled
// handshakes. The misbehaving side is a raw blocking socket driven by a thread. Every test
// runs on both I/O engines; where io_uring is unavailable the uring cases fail, not skip.
#include "tests/heap_counter.hpp"
#include "tests/integration/test_support.hpp"
#include "transport/dataconn.hpp"
#include "transport/frame_codec.hpp"
#include "transport/handshake.hpp"
#include "transport/mux_label.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <limits>
#include <new>
#include <sstream>
#include <thread>

// Heap accounting for the memory-bound tests (tests/heap_counter.hpp): counting bytes, not
// timing, makes the bound exact and independent of the machine's speed.

namespace zferry::transport {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

// A one-connection raw server on 127.0.0.1 whose behaviour is a function of the accepted fd.
class RawServer {
public:
    // rcvbuf > 0: the accepted socket's receive buffer (set on the listener, so the window
    // is small from the start).
    explicit RawServer(std::function<void(int)> behaviour, int rcvbuf = 0) {
        lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (rcvbuf > 0) ::setsockopt(lfd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(lfd_, 16);
        socklen_t len = sizeof a;
        ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this, behaviour] {
            int fd = ::accept(lfd_, nullptr, nullptr);
            if (fd >= 0) {
                behaviour(fd);
                ::close(fd);
            }
        });
    }
    ~RawServer() {
        ::shutdown(lfd_, SHUT_RDWR);
        thread_.join();
        ::close(lfd_);
    }
    asio::ip::tcp::endpoint endpoint() const { return {asio::ip::make_address("127.0.0.1"), port_}; }

private:
    int lfd_;
    unsigned short port_;
    std::thread thread_;
};

void write_all(int fd, const void* p, std::size_t n) {
    auto* c = static_cast<const char*>(p);
    while (n > 0) {
        ssize_t w = ::write(fd, c, n);
        if (w <= 0) return;
        c += w;
        n -= static_cast<std::size_t>(w);
    }
}

// Returns false at EOF or error.
bool read_exact(int fd, void* p, std::size_t n) {
    auto* c = static_cast<char*>(p);
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = ::read(fd, c + got, n - got);
        if (r <= 0) return false;
        got += static_cast<std::size_t>(r);
    }
    return true;
}

bool read_exact(int fd, std::size_t n) {
    std::vector<char> buf(n);
    return read_exact(fd, buf.data(), n);
}

void drain_until_eof(int fd) {
    char buf[4096];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
}

// Completes the handshake as a correct zferry server would, then runs `then`.
std::function<void(int)> after_handshake(std::function<void(int)> then) {
    return [then](int fd) {
        auto banner = *encode_banner(zferry_banner());
        write_all(fd, banner.data(), banner.size());
        read_exact(fd, banner.size());
        read_exact(fd, kLabelLen);
        then(fd);
    };
}

// Blocks a peer thread until the test has seen what it waits for.
struct Release {
    std::promise<void> promise;
    std::shared_future<void> future = promise.get_future().share();
    bool released = false;
    void wait() const { future.wait(); }
    void operator()() {
        if (!released) promise.set_value();
        released = true;
    }
};

// Declared after the RawServer: releases its thread even when an assertion returns early,
// so the server's destructor can join it.
struct ReleaseOnExit {
    Release& release;
    ~ReleaseOnExit() { release(); }
};

class Adversarial : public testing::TestWithParam<EngineKind> {
protected:
    void SetUp() override {
        log_init({LogLevel::error});
        Error fell_back;
        engine = IoEngine::make(ctx, GetParam(), &fell_back);
        ASSERT_EQ(engine->kind(), GetParam()) << fell_back.message();
        options.handshake_timeout = 1s;
        options.conn.idle_timeout = 1s;
        options.heartbeat.interval = 300ms;
        options.frames.shutdown_timeout = 1s;
    }
    void TearDown() override { log_init({LogLevel::error}); }
    Result<std::string> ping(asio::ip::tcp::endpoint ep) {
        DataconnClient c(ctx, *engine, ep, options, Logger());
        return test::run(ctx, c.ping("hi"));
    }
    std::ostringstream captured_log;  // outlives the log configuration TearDown resets
    asio::io_context ctx;
    std::unique_ptr<IoEngine> engine;
    DataconnOptions options;
};

TEST_P(Adversarial, SilentPeerTimesOutAsTemporaryError) {
    RawServer srv([](int fd) { drain_until_eof(fd); });
    auto t0 = std::chrono::steady_clock::now();
    auto r = ping(srv.endpoint());
    auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::timeout)) << r.error().message();
    EXPECT_TRUE(r.error().temporary());
    EXPECT_GE(took, 900ms);
    EXPECT_LT(took, 5s);
}

TEST_P(Adversarial, PeerThatStopsReadingTimesOutAsTemporaryError) {
    // The peer takes the request and the first MiB of the stream, then reads nothing more
    // and sends nothing (no heartbeats either): our writes stall on full buffers.
    Release release;
    RawServer srv(after_handshake([&release](int fd) {
        read_exact(fd, 1 << 20);
        release.wait();
        drain_until_eof(fd);
    }));
    ReleaseOnExit guard{release};
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    auto endless = test::produce(fds[1], std::numeric_limits<std::uint64_t>::max());
    DataconnClient c(ctx, *engine, srv.endpoint(), options, Logger());
    auto t0 = std::chrono::steady_clock::now();
    auto r = test::run(ctx, c.recv("to pool/a", fds[0]));
    auto took = std::chrono::steady_clock::now() - t0;
    release();
    ::close(fds[0]);
    endless.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::timeout)) << r.error().message();
    EXPECT_TRUE(is_temporary(r.error().code()));
    EXPECT_GE(took, 900ms);
    EXPECT_LT(took, 6s);  // the 1 s timeout, then at most the 1 s shutdown of a stuck conn
}

TEST_P(Adversarial, PeerThatStopsMidFrameTimesOutAsTemporaryError) {
    Release release;
    RawServer srv(after_handshake([&release](int fd) {
        read_exact(fd, 42);  // the ping request, see PeerClosingMidFrameIsAConnectionError
        auto h = encode_frame_header({frame_type::res_header, 100});
        write_all(fd, h.data(), h.size());
        write_all(fd, "HANDLER", 7);
        release.wait();
    }));
    ReleaseOnExit guard{release};
    auto t0 = std::chrono::steady_clock::now();
    auto r = ping(srv.endpoint());
    auto took = std::chrono::steady_clock::now() - t0;
    release();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::timeout)) << r.error().message();
    EXPECT_TRUE(is_temporary(r.error().code()));
    EXPECT_GE(took, 900ms);
    EXPECT_LT(took, 6s);
}

// Our frame stack on a socket connected to `ep`, with a small send buffer so that a slow
// reader throttles every write.
std::unique_ptr<StreamConn> connect_stream_conn(asio::io_context& ctx, IoEngine& engine,
                                                asio::ip::tcp::endpoint ep, const DataconnOptions& o,
                                                BufferPool& pool) {
    asio::ip::tcp::socket s(ctx);
    s.open(asio::ip::tcp::v4());
    s.set_option(asio::socket_base::send_buffer_size(64 * 1024));
    s.connect(ep);
    auto tcp = std::make_unique<TcpConn>(engine, std::move(s), o.conn);
    auto frames = std::make_unique<FrameConn>(std::move(tcp), pool, o.frames);
    auto hb = std::make_unique<HeartbeatConn>(std::move(frames), o.heartbeat);
    return std::make_unique<StreamConn>(std::move(hb), pool, o.stream);
}

asio::awaitable<Result<std::uint64_t>> send_stream(StreamConn& conn, IoEngine& engine, int source) {
    auto pipe = engine.attach(source);
    auto n = co_await conn.write_stream_data(frame_type::zfs_stream, *pipe);
    if (!n) co_return n;
    auto end = co_await conn.write_end();
    if (!end) co_return end.error();
    co_return n;
}

struct ReceivedStream {
    std::uint64_t bytes = 0;
    std::uint64_t bytes_while_slow = 0;
    std::uint64_t checksum = 0;
    bool ended = false;
};

// Reads frames until the End of one zfs_stream (heartbeats skipped), checksumming the
// payload; until `slow_until` in small, spaced reads.
ReceivedStream read_stream_slowly(int fd, std::chrono::steady_clock::time_point slow_until) {
    ReceivedStream out;
    test::Checksum sum;
    std::vector<unsigned char> buf(1 << 20);
    for (;;) {
        std::array<std::byte, kFrameHeaderLen> hb;
        if (!read_exact(fd, hb.data(), hb.size())) break;
        auto h = decode_frame_header(hb);
        if (h.type == frame_type::heartbeat) continue;
        if (h.type == frame_type::stream_end) {
            out.ended = true;
            break;
        }
        if (h.type != frame_type::zfs_stream) break;
        std::size_t left = h.length;
        while (left > 0) {
            bool slow = std::chrono::steady_clock::now() < slow_until;
            std::size_t n = std::min<std::size_t>(left, slow ? 8 * 1024 : buf.size());
            if (!read_exact(fd, buf.data(), n)) return out;
            sum.add(buf.data(), n);
            out.bytes += n;
            if (slow) {
                out.bytes_while_slow += n;
                std::this_thread::sleep_for(20ms);  // the peer's pace: 400 KB/s
            }
            left -= n;
        }
    }
    out.checksum = sum.value();
    return out;
}

TEST_P(Adversarial, SlowReaderKeepsWritesAliveUntilItStalls) {
    // Progress renews the write deadline: a 16 MiB stream to a peer that reads 400 KB/s for
    // three idle timeouts (a 512 KiB frame alone takes longer than one) arrives intact.
    // Then the peer stops reading: the next stream times out about one idle timeout after
    // the buffers filled, as a temporary error.
    constexpr std::uint64_t kStream = 16 << 20;
    options.heartbeat.interval = 200ms;
    std::promise<ReceivedStream> received;
    auto received_future = received.get_future();
    Release release;
    auto slow_until = std::chrono::steady_clock::now() + 3 * options.conn.idle_timeout;
    RawServer srv(
        [&](int fd) {
            received.set_value(read_stream_slowly(fd, slow_until));
            release.wait();
            drain_until_eof(fd);
        },
        64 * 1024);
    ReleaseOnExit guard{release};
    BufferPool pool(15, 22, BufferPool::NoFit::allocate);
    auto conn = connect_stream_conn(ctx, *engine, srv.endpoint(), options, pool);

    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    auto produced = test::produce(fds[1], kStream);
    auto sent = test::run(ctx, send_stream(*conn, *engine, fds[0]));
    ::close(fds[0]);
    if (!sent) test::run(ctx, conn->close());  // the peer reads the RST and stops waiting
    auto got = received_future.get();
    ASSERT_TRUE(sent) << sent.error().message();
    EXPECT_EQ(*sent, kStream);
    EXPECT_TRUE(got.ended);
    EXPECT_EQ(got.bytes, kStream);
    EXPECT_EQ(got.checksum, produced.get().value());
    EXPECT_GT(got.bytes_while_slow, 0u);
    EXPECT_LT(got.bytes_while_slow, kStream / 2) << "the peer was not slow enough to throttle us";

    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    auto endless = test::produce(fds[1], std::numeric_limits<std::uint64_t>::max());
    auto t0 = std::chrono::steady_clock::now();
    auto stalled = test::run(ctx, send_stream(*conn, *engine, fds[0]));
    auto took = std::chrono::steady_clock::now() - t0;
    ::close(fds[0]);
    endless.get();
    ASSERT_FALSE(stalled);
    EXPECT_EQ(stalled.error().code(), make_error_code(TransportErrc::timeout)) << stalled.error().message();
    EXPECT_TRUE(is_temporary(stalled.error().code()));
    EXPECT_GE(took, 900ms);
    EXPECT_LT(took, 6s);
    release();
    test::run(ctx, conn->close());
}

TEST_P(Adversarial, VersionMismatchIsPermanent) {
    RawServer srv([](int fd) {
        auto banner = *encode_banner(Banner{6, {}});
        write_all(fd, banner.data(), banner.size());
        drain_until_eof(fd);
    });
    auto r = ping(srv.endpoint());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::handshake_mismatch)) << r.error().message();
    EXPECT_FALSE(r.error().temporary());
}

TEST_P(Adversarial, GarbageInsteadOfBannerIsPermanent) {
    RawServer srv([](int fd) {
        const char* http = "HTTP/1.1 400 Bad Request\r\n\r\n";
        write_all(fd, http, std::strlen(http));
        drain_until_eof(fd);
    });
    auto r = ping(srv.endpoint());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::handshake_malformed)) << r.error().message();
    EXPECT_FALSE(r.error().temporary());
}

TEST_P(Adversarial, OversizeFrameIsRejectedBeforeAllocation) {
    RawServer srv(after_handshake([](int fd) {
        auto h = encode_frame_header({frame_type::res_header, 0xfffffff0u});
        write_all(fd, h.data(), h.size());
        drain_until_eof(fd);
    }));
    auto r = ping(srv.endpoint());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::frame_too_large)) << r.error().message();
}

TEST_P(Adversarial, UnknownFrameTypeIsAProtocolError) {
    RawServer srv(after_handshake([](int fd) {
        auto h = encode_frame_header({0x02000000u, 0});  // heartbeat layer, not a heartbeat
        write_all(fd, h.data(), h.size());
        drain_until_eof(fd);
    }));
    auto r = ping(srv.endpoint());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::unexpected_frame_type)) << r.error().message();
    EXPECT_FALSE(r.error().temporary());
}

TEST_P(Adversarial, UnexpectedStreamFrameTypeIsAProtocolError) {
    RawServer srv(after_handshake([](int fd) {
        auto h = encode_frame_header({frame_type::zfs_stream, 3});
        write_all(fd, h.data(), h.size());
        write_all(fd, "abc", 3);
        drain_until_eof(fd);
    }));
    auto r = ping(srv.endpoint());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::unexpected_frame_type)) << r.error().message();
}

TEST_P(Adversarial, PeerClosingMidFrameIsAConnectionError) {
    RawServer srv(after_handshake([](int fd) {
        // Let the client's whole ping request arrive first (ReqHeader "/v1/ping" + End,
        // ReqStructured "hi" + End = 42 bytes), so its writes do not race our close.
        read_exact(fd, 42);
        auto h = encode_frame_header({frame_type::res_header, 100});
        write_all(fd, h.data(), h.size());
        write_all(fd, "HANDLER", 7);
    }));
    auto r = ping(srv.endpoint());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::connection_closed)) << r.error().message();
    EXPECT_NE(r.error().message().find("mid-frame"), std::string::npos) << r.error().message();
    EXPECT_TRUE(r.error().temporary());
}

TEST_P(Adversarial, RstFromPeerShutsTheConnectionDown) {
    RawServer srv(after_handshake([](int fd) {
        auto h = encode_frame_header({frame_type::rst, 0});
        write_all(fd, h.data(), h.size());
        ::shutdown(fd, SHUT_WR);
        drain_until_eof(fd);
    }));
    auto r = ping(srv.endpoint());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(TransportErrc::shutdown)) << r.error().message();
}

// Free function, not a capturing lambda: a coroutine must not outlive its closure.
asio::awaitable<void> ping_one(asio::io_context& ctx, IoEngine& engine, asio::ip::tcp::endpoint ep,
                               DataconnOptions options, int i, int& ok) {
    DataconnClient c(ctx, engine, ep, options, Logger());
    auto r = co_await c.ping("client " + std::to_string(i));
    if (r && *r == "client " + std::to_string(i)) ++ok;
}

class EchoHandler : public DataconnHandler {
public:
    asio::awaitable<Result<std::string>> ping(RequestContext&, std::string r) override { co_return r; }
    asio::awaitable<Result<SendReply>> send(RequestContext&, std::string) override {
        co_return Error(Errc::invalid_argument, "no");
    }
    asio::awaitable<Result<RecvSession>> recv(RequestContext&, std::string) override {
        co_return Error(Errc::invalid_argument, "no");
    }
};

TEST_P(Adversarial, StalledHandshakeDoesNotStallOthers) {
    EchoHandler handler;
    options.handshake_timeout = 3s;
    constexpr int kClients = 200;
    // 200 clients from one address at once, more than the default per-address limit lets be
    // in their preamble together (OneAddressCannotTakeEveryPendingSlot tests that limit).
    options.limits.max_pending_per_address = kClients + 1;
    DataconnServer server(ctx, *engine, handler, options, Logger());
    ASSERT_TRUE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    // A client that connects and says nothing (an unknown label: UnknownLabelIsLogged...).
    int stalled = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(server.local_endpoint().port());
    ASSERT_EQ(::connect(stalled, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);

    int ok = 0;
    auto t0 = std::chrono::steady_clock::now();
    test::run(ctx, [&]() -> asio::awaitable<void> {
        std::vector<std::unique_ptr<OwnedTask>> tasks;
        for (int i = 0; i < kClients; ++i) {
            auto t = std::make_unique<OwnedTask>(ctx.get_executor());
            t->start(ping_one(ctx, *engine, server.local_endpoint(), options, i, ok));
            tasks.push_back(std::move(t));
        }
        for (auto& t : tasks) co_await t->join();
    }());
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(ok, kClients);
    EXPECT_LT(took, 3s) << "the stalled handshake held up other clients";
    ::close(stalled);
    test::run(ctx, server.stop());
}

// A client that completes the version handshake, sends a label no listener has, and
// reports how the server answers its next read.
asio::awaitable<error_code> send_unknown_label(asio::ip::tcp::endpoint ep) {
    auto ex = co_await asio::this_coro::executor;
    asio::ip::tcp::socket s(ex);
    co_await s.async_connect(ep, asio::use_awaitable);
    auto banner = *encode_banner(zferry_banner());
    co_await asio::async_write(s, asio::buffer(banner), asio::use_awaitable);
    std::string theirs(banner.size(), '\0');  // the server's banner is a zferry banner too
    co_await asio::async_read(s, asio::buffer(theirs), asio::use_awaitable);
    std::array<char, kLabelLen> label{};
    std::string_view name = "zrepl_bogus";
    name.copy(label.data(), name.size());
    co_await asio::async_write(s, asio::buffer(label), asio::use_awaitable);
    char byte;
    auto [ec, n] = co_await s.async_read_some(asio::buffer(&byte, 1), asio::as_tuple(asio::use_awaitable));
    if (!ec && n > 0) ec = make_error_code(Errc::protocol_error);  // the server sent something
    co_return ec;
}

TEST_P(Adversarial, UnknownLabelIsLoggedAndClosedOthersUnaffected) {
    log_init({LogLevel::warn, LogFormat::human, &captured_log});
    EchoHandler handler;
    options.handshake_timeout = 10s;  // a close within it is the server's doing, not a timeout
    DataconnServer server(ctx, *engine, handler, options, Logger());
    ASSERT_TRUE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    auto t0 = std::chrono::steady_clock::now();
    auto closed = test::run(ctx, send_unknown_label(server.local_endpoint()));
    EXPECT_EQ(closed, asio::error::eof) << closed.message();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    auto r = ping(server.local_endpoint());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, "hi");
    test::run(ctx, server.stop());
    auto log = captured_log.str();
    EXPECT_NE(log.find("closing connection"), std::string::npos) << log;
    EXPECT_NE(log.find("\"zrepl_bogus\""), std::string::npos) << log;
    EXPECT_NE(log.find("unknown connection label"), std::string::npos) << log;
}

// ---- limits on connections that have not sent a request --------------------------------

// The flood needs two descriptors per connection in this process (its end and the server's):
// the soft RLIMIT_NOFILE is raised to the hard limit for the rest of this test binary.
rlim_t raise_fd_limit() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
        ::getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

// Hostile clients from a thread of their own: half of them trickle the banner and label one
// byte per round, the other half send banner and label at once and then only heartbeats.
// Neither ever sends a request. Every round is 100 ms.
class Flood {
public:
    // Connection i comes from `sources[i % sources.size()]` (all on loopback).
    Flood(unsigned short port, std::size_t count, std::vector<std::string> sources)
        : thread_([this, port, count, sources] { run(port, count, sources); }) {}
    ~Flood() {
        stop_ = true;
        thread_.join();
        for (int fd : fds_) ::close(fd);
    }
    bool connected() const { return connected_.load(std::memory_order_acquire); }
    std::size_t failed_connects() const { return failed_; }
    // Valid once connected().
    const std::vector<int>& fds() const { return fds_; }

private:
    void run(unsigned short port, std::size_t count, const std::vector<std::string>& sources) {
        std::string preamble = *encode_banner(zferry_banner());
        auto label = encode_label(MuxLabel::zrepl_data);
        preamble.append(label.data(), label.size());
        for (std::size_t i = 0; i < count && !stop_; ++i) {
            int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_in from{};
            from.sin_family = AF_INET;
            ::inet_pton(AF_INET, sources[i % sources.size()].c_str(), &from.sin_addr);
            sockaddr_in to{};
            to.sin_family = AF_INET;
            to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            to.sin_port = htons(port);
            if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
                ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
                if (fd >= 0) ::close(fd);
                ++failed_;
                continue;
            }
            if (i % 2 == 1) ::send(fd, preamble.data(), preamble.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            fds_.push_back(fd);
        }
        connected_.store(true, std::memory_order_release);
        const auto heartbeat = encode_frame_header({frame_type::heartbeat, 0});
        for (std::size_t round = 0; !stop_; ++round) {
            for (std::size_t k = 0; k < fds_.size(); ++k) {
                if (k % 2 == 0 && round < preamble.size())
                    ::send(fds_[k], preamble.data() + round, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                else if (k % 2 == 1)
                    ::send(fds_[k], heartbeat.data(), heartbeat.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            }
            std::this_thread::sleep_for(100ms);
        }
    }

    std::vector<int> fds_;
    std::atomic<bool> connected_{false};
    std::atomic<bool> stop_{false};
    std::size_t failed_ = 0;
    std::thread thread_;
};

// Whether the server closed our end's peer: EOF or a reset. Reads (and drops) what the
// server sent meanwhile (its banner, heartbeats).
bool closed_by_server(int fd) {
    char buf[4096];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0) return true;
        if (n > 0) continue;
        return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    }
}

// Polls (running the server meanwhile) until at least `want` of `fds` are closed by the
// server, or `bound` passes. Returns how many are closed.
asio::awaitable<std::size_t> wait_closed(const std::vector<int>& fds, std::size_t want,
                                         std::chrono::seconds bound) {
    std::vector<bool> closed(fds.size(), false);
    std::size_t n = 0;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto until = std::chrono::steady_clock::now() + bound;
    for (;;) {
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (!closed[i] && closed_by_server(fds[i])) {
                closed[i] = true;
                ++n;
            }
        }
        if (n >= want || std::chrono::steady_clock::now() >= until) co_return n;
        timer.expires_after(50ms);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

asio::awaitable<bool> wait_connected(const Flood& flood, std::chrono::seconds bound) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto until = std::chrono::steady_clock::now() + bound;
    while (!flood.connected() && std::chrono::steady_clock::now() < until) {
        timer.expires_after(20ms);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return flood.connected();
}

TEST_P(Adversarial, HostileFloodCannotCrowdOutALegitimateClient) {
    // 2 000 connections that never send a request (as the issue measured them), from 100
    // source addresses: the total limit closes all but the newest max_pending, and a
    // legitimate client is still served at once, well before any deadline.
    const rlim_t fd_limit = raise_fd_limit();
    std::size_t hostile = 2000;
    if (fd_limit < 2 * hostile + 200) hostile = (fd_limit - 200) / 2;
    std::cout << "[          ] RLIMIT_NOFILE soft limit raised to " << fd_limit << "; " << hostile
              << " hostile connections\n";
    ASSERT_GE(hostile, 600u) << "the descriptor limit is too low for a meaningful flood";

    EchoHandler handler;
    ASSERT_EQ(options.limits.max_pending, 256u) << "the documented default";
    ASSERT_EQ(options.limits.preamble_timeout, 10s) << "the documented default";
    const std::size_t cap = options.limits.max_pending;
    DataconnServer server(ctx, *engine, handler, options, Logger());
    ASSERT_TRUE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    std::vector<std::string> sources;
    for (int i = 1; i <= 100; ++i) sources.push_back("127.0.1." + std::to_string(i));
    Flood flood(server.local_endpoint().port(), hostile, sources);

    ASSERT_TRUE(test::run(ctx, wait_connected(flood, 60s)));
    ASSERT_EQ(flood.failed_connects(), 0u);
    const auto& fds = flood.fds();
    const auto closed = test::run(ctx, wait_closed(fds, fds.size() - cap, 60s));
    EXPECT_GE(closed, fds.size() - cap) << "connections beyond the limit must be closed";
    EXPECT_LE(server.pending_connections(), cap);

    for (int i = 0; i < 5; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        auto r = ping(server.local_endpoint());
        auto took = std::chrono::steady_clock::now() - t0;
        ASSERT_TRUE(r) << "ping " << i << " during the flood: " << r.error().message();
        EXPECT_EQ(*r, "hi");
        EXPECT_LT(took, 5s) << "ping " << i << " during the flood";
    }
    EXPECT_LE(server.pending_connections(), cap);
    const auto closed_after = test::run(ctx, wait_closed(fds, fds.size() - cap, 0s));
    EXPECT_GE(closed_after, fds.size() - cap);
    test::run(ctx, server.stop());
    EXPECT_EQ(server.pending_connections(), 0u);
}

TEST_P(Adversarial, OneAddressCannotTakeEveryPendingSlot) {
    // 200 heartbeat and trickle connections from the address the legitimate client uses too:
    // at most max_pending_per_address stay, the oldest go first, and the client is served.
    raise_fd_limit();
    EchoHandler handler;
    ASSERT_EQ(options.limits.max_pending_per_address, 32u) << "the documented default";
    const std::size_t cap = options.limits.max_pending_per_address;
    DataconnServer server(ctx, *engine, handler, options, Logger());
    ASSERT_TRUE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    std::vector<std::string> sources;
    sources.push_back("127.0.0.1");
    Flood flood(server.local_endpoint().port(), 200, sources);
    ASSERT_TRUE(test::run(ctx, wait_connected(flood, 60s)));
    ASSERT_EQ(flood.failed_connects(), 0u);
    const auto& fds = flood.fds();
    const auto closed = test::run(ctx, wait_closed(fds, fds.size() - cap, 60s));
    EXPECT_GE(closed, fds.size() - cap);
    EXPECT_LE(server.pending_connections(), cap);
    auto r = ping(server.local_endpoint());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, "hi");
    test::run(ctx, server.stop());
}

TEST_P(Adversarial, PreambleHasOneDeadlineThatHeartbeatsDoNotExtend) {
    // A client that completes handshake and label, then sends only heartbeats: before, each
    // heartbeat renewed the wait for the request forever. Now the preamble's deadline closes it.
    log_init({LogLevel::warn, LogFormat::human, &captured_log});
    EchoHandler handler;
    options.limits.preamble_timeout = 1500ms;
    DataconnServer server(ctx, *engine, handler, options, Logger());
    ASSERT_TRUE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    std::vector<std::string> sources;
    sources.push_back("127.0.0.1");
    Flood flood(server.local_endpoint().port(), 2, sources);  // one trickles, one heartbeats
    ASSERT_TRUE(test::run(ctx, wait_connected(flood, 60s)));
    const auto t0 = std::chrono::steady_clock::now();
    const auto closed = test::run(ctx, wait_closed(flood.fds(), 2, 30s));
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(closed, 2u);
    EXPECT_GE(took, 1s);
    EXPECT_LT(took, 10s) << "closed by the preamble deadline, not by anything slower";
    test::run(ctx, server.stop());
    EXPECT_NE(captured_log.str().find("timeout"), std::string::npos) << captured_log.str();
}

TEST_P(Adversarial, IdentifyCanRefuseAPeerAtAccept) {
    log_init({LogLevel::warn, LogFormat::human, &captured_log});
    EchoHandler handler;
    DataconnServer server(ctx, *engine, handler, options, Logger());
    int asked = 0;
    server.identify = [&asked](const asio::ip::address& a) -> Result<std::string> {
        ++asked;
        return Error(Errc::invalid_argument, "address " + a.to_string() + " is not in the client map");
    };
    ASSERT_TRUE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    auto r = ping(server.local_endpoint());
    ASSERT_FALSE(r) << "a refused peer was served";
    EXPECT_TRUE(r.error().code() == make_error_code(TransportErrc::connection_closed) ||
                r.error().code() == asio::error::connection_reset)
        << r.error().message();
    EXPECT_EQ(asked, 1);
    EXPECT_EQ(server.active_connections(), 0u);
    test::run(ctx, server.stop());
    const auto log = captured_log.str();
    EXPECT_NE(log.find("refusing connection: address 127.0.0.1 is not in the client map"), std::string::npos)
        << log;
    EXPECT_NE(log.find("peer=127.0.0.1:"), std::string::npos) << "the log names the peer: " << log;
}

TEST_P(Adversarial, RequestMemoryGrowsOnlyWithTheBytesThatArrive) {
    // A client announces a 4 MiB structured request (the largest allowed) and sends 100
    // bytes of it. Before, the server allocated the announced 4 MiB at once and held it for as
    // long as the client trickled. The peak is counted in heap bytes, independent of timing.
    EchoHandler handler;
    options.limits.preamble_timeout = 1s;
    DataconnServer server(ctx, *engine, handler, options, Logger());
    ASSERT_TRUE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    const std::size_t before = heap::live.load();
    heap::peak.store(before);

    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(server.local_endpoint().port());
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    std::string wire = *encode_banner(zferry_banner());
    auto label = encode_label(MuxLabel::zrepl_data);
    wire.append(label.data(), label.size());
    auto append_header = [&wire](std::uint32_t type, std::uint32_t len) {
        auto h = encode_frame_header({type, len});
        wire.append(reinterpret_cast<const char*>(h.data()), h.size());
    };
    append_header(frame_type::req_header, 8);
    wire += "/v1/ping";
    append_header(frame_type::stream_end, 0);
    append_header(frame_type::req_structured, static_cast<std::uint32_t>(kRequestStructuredMax));
    wire += std::string(100, 'x');
    write_all(fd, wire.data(), wire.size());

    std::vector<int> fds;
    fds.push_back(fd);
    const auto closed = test::run(ctx, wait_closed(fds, 1, 30s));
    EXPECT_EQ(closed, 1u) << "the preamble deadline closes the connection";
    const std::size_t peak = heap::peak.load() - before;
    ::close(fd);
    test::run(ctx, server.stop());
    EXPECT_LT(peak, std::size_t{1} << 20)
        << "heap bytes at the peak for a request of which 100 bytes arrived";
}

std::size_t count_substr(const std::string& s, std::string_view what) {
    std::size_t n = 0;
    for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + what.size())) ++n;
    return n;
}

asio::awaitable<std::size_t> wait_log_count(const std::ostringstream& log, std::string_view what,
                                            std::size_t want, std::chrono::seconds bound) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto until = std::chrono::steady_clock::now() + bound;
    for (;;) {
        const std::size_t n = count_substr(log.str(), what);
        if (n >= want || std::chrono::steady_clock::now() >= until) co_return n;
        timer.expires_after(20ms);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

TEST_P(Adversarial, OutOfDescriptorsShedsInsteadOfSpinningOrDying) {
    // The server may open 16 more descriptors; a child process (whose descriptors do not
    // count against ours) opens 60 connections that never send anything. accept then fails
    // with EMFILE: the server closes the oldest connection still in its preamble and accepts
    // again, and once the limit is back, a legitimate client is served.
    log_init({LogLevel::warn, LogFormat::human, &captured_log});
    EchoHandler handler;
    options.limits.max_pending_per_address = 0;  // all from 127.0.0.1; only descriptors limit here
    DataconnServer server(ctx, *engine, handler, options, Logger());
    ASSERT_TRUE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    constexpr int kHostile = 60;
    constexpr int kHeadroom = 16;
    int ready[2], release[2];
    ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(release, O_CLOEXEC), 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(server.local_endpoint().port());
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // Only async-signal-safe calls here. The connections stay open until we exit.
        ::close(ready[0]);
        ::close(release[1]);
        for (int i = 0; i < kHostile; ++i) {
            int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) ::_exit(1);
        }
        char c = 'r';
        if (::write(ready[1], &c, 1) != 1) ::_exit(1);
        while (::read(release[0], &c, 1) > 0) {
        }
        ::_exit(0);
    }
    ::close(ready[1]);
    ::close(release[0]);
    char c = 0;
    const bool child_ready = ::read(ready[0], &c, 1) == 1;
    ::close(ready[0]);

    // A new descriptor gets the lowest free number below the limit: a limit just above the
    // 16th free number leaves exactly 16 for the server.
    std::vector<bool> open_fds;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
        const auto fd = static_cast<std::size_t>(std::stoi(e.path().filename().string()));
        if (fd >= open_fds.size()) open_fds.resize(fd + 1, false);
        open_fds[fd] = true;
    }
    std::size_t limit = 0;
    for (int free_fds = 0; free_fds < kHeadroom; ++limit)
        free_fds += limit >= open_fds.size() || !open_fds[limit];
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    rlimit low = saved;
    low.rlim_cur = static_cast<rlim_t>(limit);
    std::size_t sheds = 0;
    if (child_ready && ::setrlimit(RLIMIT_NOFILE, &low) == 0) {
        sheds = test::run(ctx, wait_log_count(captured_log, "accepting a new connection failed",
                                              kHostile - kHeadroom, 30s));
        ::setrlimit(RLIMIT_NOFILE, &saved);
    }
    const auto pending = server.pending_connections();
    auto r = ping(server.local_endpoint());
    ::close(release[1]);  // the child exits
    int status = 0;
    ::waitpid(child, &status, 0);
    test::run(ctx, server.stop());

    ASSERT_TRUE(child_ready) << "the child could not open its connections";
    EXPECT_GE(sheds, static_cast<std::size_t>(kHostile - kHeadroom))
        << "connections closed to make room for accept (" << pending << " pending, limit " << low.rlim_cur
        << "): " << captured_log.str();
    EXPECT_LE(pending, static_cast<std::size_t>(kHeadroom));
    EXPECT_LE(count_substr(captured_log.str(), "accepting a connection failed"), 10u)
        << "accept paused instead of shedding, or spun: " << captured_log.str();
    ASSERT_TRUE(r) << "the server stopped serving: " << r.error().message();
    EXPECT_EQ(*r, "hi");
}

// A connection closed in the same round as its deadline expires (in the chaos storm: the
// oldest connection in its preamble shed by an accept just as its 10 s preamble deadline
// passed). Before the fix the queued watchdog still emitted into the read's cancellation
// handler, whose engine state the close had freed: the sink crashed in epoll_reactor's
// cancel_ops_by_key about once in twenty storms.
TEST_P(Adversarial, ADeadlineExpiringAsTheConnectionClosesIsHarmless) {
    asio::ip::tcp::acceptor acceptor(ctx, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket client(ctx);
    client.connect(acceptor.local_endpoint());
    auto conn = std::make_unique<TcpConn>(*engine, acceptor.accept(), options.conn);
    std::array<char, 16> buf{};
    iovec iov{buf.data(), buf.size()};
    std::optional<std::pair<error_code, std::size_t>> got;
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
            got = co_await conn->read_some({&iov, 1});
        },
        asio::detached);
    ctx.poll();  // the read waits for readability, under its watchdog
    ASSERT_FALSE(got);
    // Both timers expired: the earlier one's handler (the close) runs first, the watchdog's
    // is queued behind it in the same round.
    asio::steady_timer closer(ctx);
    closer.expires_at(Clock::now() - 2s);
    closer.async_wait([&](error_code) { conn->close(); });
    conn->set_absolute_deadline(Clock::now() - 1s);
    while (!got) ctx.run_one();
    EXPECT_TRUE(got->first) << "a closed connection's read ends with an error";
    EXPECT_FALSE(conn->is_open());
    conn.reset();
    ctx.poll();
}

TEST_P(Adversarial, LargeRequestsStillArriveIntact) {
    // Requests are read as they arrive, in growing steps: a request near the limit, in many
    // frames, is still read whole and byte for byte.
    EchoHandler handler;
    DataconnServer server(ctx, *engine, handler, options, Logger());
    ASSERT_TRUE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    std::string big(kRequestStructuredMax - 1000, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) ^ (i >> 11));
    DataconnClient c(ctx, *engine, server.local_endpoint(), options, Logger());
    auto r = test::run(ctx, c.ping(big));
    test::run(ctx, server.stop());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->size(), big.size());
    EXPECT_TRUE(*r == big) << "the echoed request differs";
}

INSTANTIATE_TEST_SUITE_P(Engines, Adversarial, testing::Values(EngineKind::reactor, EngineKind::uring),
                         [](const testing::TestParamInfo<EngineKind>& i) {
                             return std::string(engine_name(i.param));
                         });

}  // namespace
}  // namespace zferry::transport
