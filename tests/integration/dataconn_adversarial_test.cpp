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

#include <chrono>
#include <thread>

namespace zferry::transport {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

// A one-connection raw server on 127.0.0.1 whose behaviour is a function of the accepted fd.
class RawServer {
public:
    explicit RawServer(std::function<void(int)> behaviour) {
        lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
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

void read_exact(int fd, std::size_t n) {
    std::vector<char> buf(n);
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = ::read(fd, buf.data() + got, n - got);
        if (r <= 0) return;
        got += static_cast<std::size_t>(r);
    }
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
    Result<std::string> ping(asio::ip::tcp::endpoint ep) {
        DataconnClient c(ctx, *engine, ep, options, Logger());
        return test::run(ctx, c.ping("hi"));
    }
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
    // A client that connects and says nothing, and one that sends an unknown label.
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

}  // namespace
}  // namespace zferry::transport
