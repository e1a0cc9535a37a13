// dataconn against peers that misbehave: silent, wrong version, garbage frames, stalled
// handshakes. The misbehaving side is a raw blocking socket driven by a thread.
#include "tests/integration/test_support.hpp"
#include "transport/dataconn.hpp"
#include "transport/frame_codec.hpp"
#include "transport/handshake.hpp"
#include "transport/mux_label.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <future>
#include <limits>
#include <sstream>
#include <thread>

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

class Adversarial : public testing::Test {
protected:
    void SetUp() override {
        log_init({LogLevel::error});
        engine = IoEngine::make_reactor(ctx);
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

TEST_F(Adversarial, SilentPeerTimesOutAsTemporaryError) {
    RawServer srv([](int fd) { drain_until_eof(fd); });
    auto t0 = std::chrono::steady_clock::now();
    auto r = ping(srv.endpoint());
    auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(Errc::timeout)) << r.error().message();
    EXPECT_TRUE(r.error().temporary());
    EXPECT_GE(took, 900ms);
    EXPECT_LT(took, 5s);
}

TEST_F(Adversarial, PeerThatStopsReadingTimesOutAsTemporaryError) {
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
    EXPECT_EQ(r.error().code(), make_error_code(Errc::timeout)) << r.error().message();
    EXPECT_TRUE(is_temporary(r.error().code()));
    EXPECT_GE(took, 900ms);
    EXPECT_LT(took, 6s);  // the 1 s timeout, then at most the 1 s shutdown of a stuck conn
}

TEST_F(Adversarial, PeerThatStopsMidFrameTimesOutAsTemporaryError) {
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
    EXPECT_EQ(r.error().code(), make_error_code(Errc::timeout)) << r.error().message();
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

TEST_F(Adversarial, SlowReaderKeepsWritesAliveUntilItStalls) {
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
    EXPECT_EQ(stalled.error().code(), make_error_code(Errc::timeout)) << stalled.error().message();
    EXPECT_TRUE(is_temporary(stalled.error().code()));
    EXPECT_GE(took, 900ms);
    EXPECT_LT(took, 6s);
    release();
    test::run(ctx, conn->close());
}

TEST_F(Adversarial, VersionMismatchIsPermanent) {
    RawServer srv([](int fd) {
        auto banner = *encode_banner(Banner{6, {}});
        write_all(fd, banner.data(), banner.size());
        drain_until_eof(fd);
    });
    auto r = ping(srv.endpoint());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(Errc::handshake_mismatch)) << r.error().message();
    EXPECT_FALSE(r.error().temporary());
}

TEST_F(Adversarial, GarbageInsteadOfBannerIsPermanent) {
    RawServer srv([](int fd) {
        const char* http = "HTTP/1.1 400 Bad Request\r\n\r\n";
        write_all(fd, http, std::strlen(http));
        drain_until_eof(fd);
    });
    auto r = ping(srv.endpoint());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(Errc::handshake_malformed)) << r.error().message();
    EXPECT_FALSE(r.error().temporary());
}

TEST_F(Adversarial, OversizeFrameIsRejectedBeforeAllocation) {
    RawServer srv(after_handshake([](int fd) {
        auto h = encode_frame_header({frame_type::res_header, 0xfffffff0u});
        write_all(fd, h.data(), h.size());
        drain_until_eof(fd);
    }));
    auto r = ping(srv.endpoint());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(Errc::frame_too_large)) << r.error().message();
}

TEST_F(Adversarial, UnknownFrameTypeIsAProtocolError) {
    RawServer srv(after_handshake([](int fd) {
        auto h = encode_frame_header({0x02000000u, 0});  // heartbeat layer, not a heartbeat
        write_all(fd, h.data(), h.size());
        drain_until_eof(fd);
    }));
    auto r = ping(srv.endpoint());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(Errc::unexpected_frame_type)) << r.error().message();
    EXPECT_FALSE(r.error().temporary());
}

TEST_F(Adversarial, UnexpectedStreamFrameTypeIsAProtocolError) {
    RawServer srv(after_handshake([](int fd) {
        auto h = encode_frame_header({frame_type::zfs_stream, 3});
        write_all(fd, h.data(), h.size());
        write_all(fd, "abc", 3);
        drain_until_eof(fd);
    }));
    auto r = ping(srv.endpoint());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(Errc::unexpected_frame_type)) << r.error().message();
}

TEST_F(Adversarial, PeerClosingMidFrameIsAConnectionError) {
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
    EXPECT_EQ(r.error().code(), make_error_code(Errc::connection_closed)) << r.error().message();
    EXPECT_NE(r.error().message().find("mid-frame"), std::string::npos) << r.error().message();
    EXPECT_TRUE(r.error().temporary());
}

TEST_F(Adversarial, RstFromPeerShutsTheConnectionDown) {
    RawServer srv(after_handshake([](int fd) {
        auto h = encode_frame_header({frame_type::rst, 0});
        write_all(fd, h.data(), h.size());
        ::shutdown(fd, SHUT_WR);
        drain_until_eof(fd);
    }));
    auto r = ping(srv.endpoint());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), make_error_code(Errc::shutdown)) << r.error().message();
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

TEST_F(Adversarial, StalledHandshakeDoesNotStallOthers) {
    EchoHandler handler;
    options.handshake_timeout = 3s;
    DataconnServer server(ctx, *engine, handler, options, Logger());
    ASSERT_TRUE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    // A client that connects and says nothing (an unknown label: UnknownLabelIsLogged...).
    int stalled = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(server.local_endpoint().port());
    ASSERT_EQ(::connect(stalled, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);

    constexpr int kClients = 200;
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

TEST_F(Adversarial, UnknownLabelIsLoggedAndClosedOthersUnaffected) {
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

}  // namespace
}  // namespace zferry::transport
