// The tls transport's direct data path: TcpConn reads and writes the TCP socket through the
// Wire's TlsChannel (no socket pair, no relay). Over loopback with certificates from the
// openssl CLI: tens of MiB both ways in random chunks (1-byte reads too), the splice paths
// through pipes, whole dataconn streams in both payload modes, a peer that closes mid-stream,
// cancellation of a pending read and of a pending write, a local consumer stalled for several
// idle timeouts, and a socket released to a protocol of its own (gRPC) continuing through a
// relay, bytes already received included.
#include "core/io_engine.hpp"
#include "core/owned_task.hpp"
#include "transport/frame_codec.hpp"
#include "transport/stream_conn.hpp"
#include "transport/tcp_conn.hpp"
#include "transport/tls_wire.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace zferry::transport {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

std::vector<char> pattern(std::size_t n, unsigned seed) {
    std::vector<char> v(n);
    std::mt19937 rng(seed);
    for (auto& c : v) c = static_cast<char>(rng());
    return v;
}

// A pipe attached to the engine at both ends (non-blocking); closes what it still owns.
struct EnginePipe {
    int r = -1, w = -1;
    std::unique_ptr<AsyncFd> rd, wr;
    explicit EnginePipe(IoEngine& engine) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return;
        r = fds[0];
        w = fds[1];
        raise_pipe_capacity(w, 1 << 20);
        rd = engine.attach(r);
        wr = engine.attach(w);
    }
    void close_write() {
        wr.reset();
        if (w >= 0) ::close(std::exchange(w, -1));
    }
    ~EnginePipe() {
        rd.reset();
        close_write();
        if (r >= 0) ::close(r);
    }
};

class TlsDirectTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "zferry-tls-direct-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        const auto script = dir_ / "certs.sh";
        std::ofstream(script) << R"(set -e
cd "$1"
key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $key -keyout ca.key -out ca.crt -subj /CN=test-ca -days 2
issue() {
  openssl req $key -keyout $1.key -out $1.csr -subj /CN=$2
  printf 'subjectAltName=DNS:%s\n' "$2" > $1.ext
  openssl x509 -req -in $1.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $1.crt -days 2 -extfile $1.ext
}
issue server server.test
issue client1 client1
)";
        const std::string cmd = "bash " + script.string() + " " + dir_.string() + " >/dev/null 2>&1";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl CLI";
        engine_ = IoEngine::make_reactor(ctx_);
        listener_ = std::make_unique<TlsWireListener>(
            ctx_.get_executor(), TlsServerConfig{files("server"), {"client1"}, 3000ms}, Logger());
        auto listening = listener_->listen({asio::ip::make_address("127.0.0.1"), 0});
        ASSERT_TRUE(listening) << listening.error().message();
        connector_ = std::make_unique<TlsWireConnector>(
            ctx_.get_executor(), listener_->local_endpoint(),
            TlsClientConfig{files("client1"), "server.test", 3000ms}, Logger());
        auto loaded = connector_->load();
        ASSERT_TRUE(loaded) << loaded.error().message();
    }
    void TearDown() override {
        connector_.reset();
        listener_.reset();
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    TlsFiles files(const std::string& name) {
        return {(dir_ / "ca.crt").string(), (dir_ / (name + ".crt")).string(),
                (dir_ / (name + ".key")).string()};
    }

    // Runs `body` to its end, then shuts the transport down (its relays joined).
    void run(std::function<asio::awaitable<void>()> body) {
        bool done = false;
        std::exception_ptr error;
        asio::co_spawn(
            ctx_,
            [&]() -> asio::awaitable<void> {
                co_await body();
                co_await connector_->shutdown();
                co_await listener_->shutdown();
            },
            [&](std::exception_ptr e) {
                error = e;
                done = true;
            });
        while (!done) {
            if (ctx_.stopped()) ctx_.restart();
            ctx_.run_one();
        }
        if (error) std::rethrow_exception(error);
    }

    // A connected pair: the client's and the server's connection, both over TLS directly.
    asio::awaitable<void> connect_pair(ConnOptions server_options = {}) {
        auto c = co_await connector_->connect(5000ms);
        EXPECT_TRUE(c) << c.error().message();
        auto s = co_await listener_->accept();
        EXPECT_TRUE(s) << s.error().message();
        if (!c || !s) co_return;
        EXPECT_TRUE(c->tls && s->tls);
        EXPECT_EQ(s->identity, "client1");
        client_ = std::make_unique<TcpConn>(*engine_, std::move(c->socket), ConnOptions{}, std::move(c->tls));
        server_ =
            std::make_unique<TcpConn>(*engine_, std::move(s->socket), server_options, std::move(s->tls));
        EXPECT_TRUE(client_->is_tls() && server_->is_tls());
    }

    asio::io_context ctx_;
    fs::path dir_;
    std::unique_ptr<IoEngine> engine_;
    std::unique_ptr<TlsWireListener> listener_;
    std::unique_ptr<TlsWireConnector> connector_;
    std::unique_ptr<TcpConn> client_, server_;
};

// Writes `data` in random chunks (sometimes split over several iovecs), then half-closes.
asio::awaitable<void> write_in_chunks(TcpConn& conn, const std::vector<char>& data, unsigned seed) {
    std::mt19937 rng(seed);
    std::size_t pos = 0;
    while (pos < data.size()) {
        const std::size_t n = std::min<std::size_t>(1 + rng() % (256 * 1024), data.size() - pos);
        const std::size_t a = n / (1 + rng() % 3);
        iovec iov[2];
        iov[0].iov_base = const_cast<char*>(data.data() + pos);
        iov[0].iov_len = a;
        iov[1].iov_base = const_cast<char*>(data.data() + pos + a);
        iov[1].iov_len = n - a;
        std::span<const iovec> both(iov, 2);
        const error_code ec = co_await conn.writev_full(both);
        EXPECT_FALSE(ec) << ec.message();
        if (ec) co_return;
        pos += n;
    }
    EXPECT_FALSE(conn.close_write());
}

// Reads until EOF in random sizes; the first 4 KiB one byte at a time (records read in part).
asio::awaitable<void> read_in_chunks(TcpConn& conn, std::vector<char>& into, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<char> buf(300 * 1024);
    for (;;) {
        const std::size_t want = into.size() < 4096 ? 1 : 1 + rng() % buf.size();
        iovec iov{buf.data(), want};
        std::span<const iovec> one(&iov, 1);
        auto [ec, n] = co_await conn.read_some(one);
        into.insert(into.end(), buf.data(), buf.data() + n);
        if (ec == asio::error::eof) break;
        EXPECT_FALSE(ec) << ec.message();
        if (ec) break;
    }
}

// The local consumer of a sink pipe: reads `rd` until EOF (or an error) into `into`.
asio::awaitable<void> read_all(AsyncFd& rd, std::vector<char>& into) {
    std::vector<char> buf(1 << 20);
    for (;;) {
        iovec iov{buf.data(), buf.size()};
        std::span<const iovec> one(&iov, 1);
        auto [ec, n] = co_await rd.async_readv(one, use_ec);
        if (ec || n == 0) break;
        into.insert(into.end(), buf.data(), buf.data() + n);
    }
}

TEST_F(TlsDirectTest, TensOfMiBBothWaysInRandomChunksArriveIntact) {
    const auto up = pattern(32u << 20, 1);
    const auto down = pattern(8u << 20, 2);
    std::vector<char> got_up, got_down;
    run([&]() -> asio::awaitable<void> {
        co_await connect_pair();
        if (!client_ || !server_) co_return;
        co_await (write_in_chunks(*client_, up, 3) && read_in_chunks(*server_, got_up, 4) &&
                  write_in_chunks(*server_, down, 5) && read_in_chunks(*client_, got_down, 6));
        EXPECT_FALSE(server_->has_buffered_input());
        client_->close();
        server_->close();
    });
    EXPECT_EQ(got_up.size(), up.size());
    EXPECT_TRUE(got_up == up);
    EXPECT_EQ(got_down.size(), down.size());
    EXPECT_TRUE(got_down == down);
}

TEST_F(TlsDirectTest, SplicePathsMoveTensOfMiBBetweenPipesIntact) {
    const auto data = pattern(24u << 20, 7);
    std::vector<char> got;
    EnginePipe source(*engine_), sink(*engine_);
    run([&]() -> asio::awaitable<void> {
        co_await connect_pair();
        if (!client_ || !server_) co_return;
        // Client: each chunk put into the (empty) source pipe, then "spliced" from it (read, encrypted).
        auto send = [&]() -> asio::awaitable<void> {
            std::mt19937 rng(8);
            for (std::size_t pos = 0; pos < data.size();) {
                const std::size_t n = std::min<std::size_t>(1 + rng() % (64 * 1024), data.size() - pos);
                for (std::size_t off = 0; off < n;) {
                    iovec iov{const_cast<char*>(data.data() + pos + off), n - off};
                    std::span<const iovec> one(&iov, 1);
                    auto [ec, m] = co_await source.wr->async_writev(one, use_ec);
                    EXPECT_FALSE(ec) << ec.message();
                    if (ec) co_return;
                    off += m;
                }
                const error_code ec = co_await client_->splice_from(*source.rd, n);
                EXPECT_FALSE(ec) << ec.message();
                if (ec) co_return;
                pos += n;
            }
        };
        // Server: "spliced" into the sink pipe (decrypted, written), read by a local consumer.
        auto receive = [&]() -> asio::awaitable<void> {
            const error_code ec = co_await server_->splice_to(*sink.wr, data.size());
            EXPECT_FALSE(ec) << ec.message();
            sink.close_write();
        };
        auto consume = [&]() { return read_all(*sink.rd, got); };
        co_await (send() && receive() && consume());
        client_->close();
        server_->close();
    });
    EXPECT_EQ(got.size(), data.size());
    EXPECT_TRUE(got == data);
}

// A whole dataconn stream (frames, heartbeats, End) over TLS, in both payload modes: the
// sender reads its pipe into pooled buffers or "splices" it, the receiver reads payloads into
// buffers or "splices" them into its pipe.
TEST_F(TlsDirectTest, DataconnStreamsInBothPayloadModesArriveIntact) {
    for (PayloadMode mode : {PayloadMode::readv, PayloadMode::splice}) {
        SCOPED_TRACE(mode == PayloadMode::readv ? "readv" : "splice");
        if (mode == PayloadMode::splice) {  // a fresh transport (run() shut the first one down)
            TearDown();
            SetUp();
        }
        const auto data = pattern(20u << 20, 9);
        std::vector<char> got;
        std::uint64_t sent = 0, received = 0;
        BufferPool pool(15, 22, BufferPool::NoFit::allocate);
        EnginePipe source(*engine_), sink(*engine_);
        run([&]() -> asio::awaitable<void> {
            co_await connect_pair();
            if (!client_ || !server_) co_return;
            const auto options = StreamOptions::both(mode);
            auto hb = [&](std::unique_ptr<TcpConn> c) {
                return std::make_unique<HeartbeatConn>(std::make_unique<FrameConn>(std::move(c), pool));
            };
            StreamConn sender(hb(std::move(client_)), pool, options);
            StreamConn receiver(hb(std::move(server_)), pool, options);
            auto produce = [&]() -> asio::awaitable<void> {
                for (std::size_t pos = 0; pos < data.size();) {
                    iovec iov{const_cast<char*>(data.data() + pos), data.size() - pos};
                    std::span<const iovec> one(&iov, 1);
                    auto [ec, m] = co_await source.wr->async_writev(one, use_ec);
                    EXPECT_FALSE(ec) << ec.message();
                    if (ec) break;
                    pos += m;
                }
                source.close_write();
            };
            auto send = [&]() -> asio::awaitable<void> {
                auto n = co_await sender.write_stream_data(frame_type::zfs_stream, *source.rd);
                EXPECT_TRUE(n) << n.error().message();
                if (n) sent = *n;
                auto end = co_await sender.write_end();
                EXPECT_TRUE(end) << end.error().message();
            };
            auto receive = [&]() -> asio::awaitable<void> {
                auto n = co_await receiver.read_stream(frame_type::zfs_stream, *sink.wr);
                EXPECT_TRUE(n) << n.error().message();
                if (n) received = *n;
                sink.close_write();
            };
            auto consume = [&]() { return read_all(*sink.rd, got); };
            co_await (produce() && send() && receive() && consume());
            // Together: each side's shutdown drains until the other closed.
            co_await (sender.close() && receiver.close());
        });
        EXPECT_EQ(sent, data.size());
        EXPECT_EQ(received, data.size());
        EXPECT_EQ(got.size(), data.size());
        EXPECT_TRUE(got == data);
    }
}

TEST_F(TlsDirectTest, APeerThatEndsMidStreamEndsTheReadWithWhatArrived) {
    const auto data = pattern(3u << 20, 10);
    std::vector<char> got(8u << 20), got2(8u << 20);
    error_code read_ec, read2_ec;
    std::size_t read_n = 0, read2_n = 0;
    run([&]() -> asio::awaitable<void> {
        // The peer stops sending (its half-close) 3 MiB into the 8 MiB we wait for.
        co_await connect_pair();
        if (!client_ || !server_) co_return;
        iovec out{const_cast<char*>(data.data()), data.size()};
        std::span<const iovec> one_out(&out, 1);
        EXPECT_FALSE(co_await client_->writev_full(one_out));
        EXPECT_FALSE(client_->close_write());
        iovec in{got.data(), got.size()};
        std::span<const iovec> one_in(&in, 1);
        std::tie(read_ec, read_n) = co_await server_->readv_full(one_in);
        // Reading on after the end stays at the end.
        auto [again, none] = co_await server_->read_some(one_in);
        EXPECT_EQ(again, asio::error::eof);
        EXPECT_EQ(none, 0u);
        client_->close();
        server_->close();
        // The peer closes the whole connection mid-stream (as a process that dies): the read
        // ends with EOF, or with the reset the close sent for bytes it never read (TLS 1.3
        // session tickets), never waits for more.
        co_await connect_pair();
        if (!client_ || !server_) co_return;
        EXPECT_FALSE(co_await client_->writev_full(one_out));
        client_->close();
        iovec in2{got2.data(), got2.size()};
        std::span<const iovec> one_in2(&in2, 1);
        std::tie(read2_ec, read2_n) = co_await server_->readv_full(one_in2);
        server_->close();
    });
    EXPECT_EQ(read_ec, asio::error::eof);
    ASSERT_EQ(read_n, data.size());
    EXPECT_TRUE(std::equal(data.begin(), data.end(), got.begin()));
    EXPECT_TRUE(read2_ec == asio::error::eof || read2_ec == asio::error::connection_reset)
        << read2_ec.message();
    ASSERT_LE(read2_n, data.size());
    EXPECT_TRUE(std::equal(got2.begin(), got2.begin() + static_cast<std::ptrdiff_t>(read2_n), data.begin()));
}

TEST_F(TlsDirectTest, CancellingAPendingReadOrWriteAbortsItMidStream) {
    const auto data = pattern(100000, 11);
    const auto big = pattern(64u << 20, 12);
    std::vector<char> got;
    error_code read_ec, write_ec, write_after;
    run([&]() -> asio::awaitable<void> {
        co_await connect_pair();
        if (!client_ || !server_) co_return;
        auto ex = co_await asio::this_coro::executor;
        // The read: 100000 bytes arrive, then it waits for more and is cancelled.
        OwnedTask reader(ex);
        auto read_until_cancelled = [&]() -> asio::awaitable<void> {
            co_await asio::this_coro::throw_if_cancelled(false);
            std::vector<char> buf(1 << 20);
            for (;;) {
                iovec iov{buf.data(), buf.size()};
                std::span<const iovec> one(&iov, 1);
                auto [ec, n] = co_await server_->read_some(one);
                got.insert(got.end(), buf.data(), buf.data() + n);
                if (ec) {
                    read_ec = ec;
                    co_return;
                }
            }
        };
        reader.start(read_until_cancelled());
        iovec out{const_cast<char*>(data.data()), data.size()};
        std::span<const iovec> one_out(&out, 1);
        EXPECT_FALSE(co_await client_->writev_full(one_out));
        asio::steady_timer tick(ex);
        while (got.size() < data.size()) {
            tick.expires_after(1ms);
            co_await tick.async_wait(use_ec);
        }
        reader.cancel();
        co_await reader.join();
        // The write: 64 MiB to a peer that does not read, cancelled once bytes are on their way.
        OwnedTask writer(ex);
        auto write_until_cancelled = [&]() -> asio::awaitable<void> {
            co_await asio::this_coro::throw_if_cancelled(false);
            iovec iov{const_cast<char*>(big.data()), big.size()};
            std::span<const iovec> one(&iov, 1);
            write_ec = co_await client_->writev_full(one);
        };
        writer.start(write_until_cancelled());
        for (int queued = 0; queued == 0;) {
            tick.expires_after(1ms);
            co_await tick.async_wait(use_ec);
            if (::ioctl(server_->native_handle(), FIONREAD, &queued) < 0) break;
        }
        writer.cancel();
        co_await writer.join();
        // A record may be cut: nothing written after it could be read, so nothing is written.
        iovec more{const_cast<char*>(data.data()), 10};
        std::span<const iovec> one_more(&more, 1);
        write_after = co_await client_->writev_full(one_more);
        client_->close();
        server_->close();
    });
    EXPECT_EQ(read_ec, asio::error::operation_aborted);
    EXPECT_EQ(got.size(), data.size());
    EXPECT_TRUE(got == data);
    EXPECT_EQ(write_ec, asio::error::operation_aborted);
    EXPECT_TRUE(write_after);
}

// The gRPC control channel takes the kernel socket: TLS continues through a relay, and what
// was received but not read yet (here, "extra") comes out of the relay first.
TEST_F(TlsDirectTest, AReleasedSocketContinuesThroughARelayWithBufferedBytesFirst) {
    std::string server_got, client_got, direct(5, '\0');
    run([&]() -> asio::awaitable<void> {
        co_await connect_pair();
        if (!client_ || !server_) co_return;
        std::string hello = "helloextra";
        iovec out{hello.data(), hello.size()};
        std::span<const iovec> one_out(&out, 1);
        EXPECT_FALSE(co_await client_->writev_full(one_out));
        iovec in{direct.data(), direct.size()};
        std::span<const iovec> one_in(&in, 1);
        auto [ec, n] = co_await server_->readv_full(one_in);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_TRUE(server_->has_buffered_input());
        auto s = server_->release_socket();
        auto c = client_->release_socket();
        EXPECT_TRUE(s) << s.error().message();
        EXPECT_TRUE(c) << c.error().message();
        if (!s || !c) co_return;
        std::string ping = "ping", pong = "pong";
        auto [wec, wn] = co_await asio::async_write(*c, asio::buffer(ping), use_ec);
        EXPECT_FALSE(wec);
        server_got.resize(9);
        auto [rec, rn] = co_await asio::async_read(*s, asio::buffer(server_got), use_ec);
        EXPECT_FALSE(rec) << rec.message();
        auto [w2, w2n] = co_await asio::async_write(*s, asio::buffer(pong), use_ec);
        EXPECT_FALSE(w2);
        client_got.resize(4);
        auto [r2, r2n] = co_await asio::async_read(*c, asio::buffer(client_got), use_ec);
        EXPECT_FALSE(r2) << r2.message();
        s->close();
        c->close();
    });
    EXPECT_EQ(direct, "hello");
    EXPECT_EQ(server_got, "extraping");
    EXPECT_EQ(client_got, "pong");
}

// A consumer that stalls for several idle timeouts while decrypted bytes wait for room in its
// pipe is not a dead peer: the receiving connection's deadline measures the network only. The
// pipe is full before the data comes, and the data is one record: all of it is off the socket
// (nothing queued in the kernel) while it waits.
TEST_F(TlsDirectTest, AStalledLocalConsumerIsNotATimeout) {
    const auto data = pattern(4000, 13);
    std::vector<char> got;
    error_code splice_ec;
    EnginePipe sink(*engine_);
    const std::vector<char> junk(64 * 1024, 'j');
    std::size_t filled = 0;
    for (;;) {
        const ssize_t n = ::write(sink.w, junk.data(), junk.size());
        if (n <= 0) break;
        filled += static_cast<std::size_t>(n);
    }
    ASSERT_GT(filled, 0u);
    ConnOptions quick;
    quick.idle_timeout = 100ms;
    run([&]() -> asio::awaitable<void> {
        co_await connect_pair(quick);
        if (!client_ || !server_) co_return;
        auto send = [&]() -> asio::awaitable<void> {
            iovec out{const_cast<char*>(data.data()), data.size()};
            std::span<const iovec> one(&out, 1);
            const error_code ec = co_await client_->writev_full(one);
            EXPECT_FALSE(ec) << ec.message();
        };
        auto receive = [&]() -> asio::awaitable<void> {
            splice_ec = co_await server_->splice_to(*sink.wr, data.size());
            sink.close_write();
        };
        auto consume = [&]() -> asio::awaitable<void> {
            asio::steady_timer stall(co_await asio::this_coro::executor, 500ms);  // five idle timeouts
            co_await stall.async_wait(use_ec);
            co_await read_all(*sink.rd, got);
        };
        co_await (send() && receive() && consume());
        client_->close();
        server_->close();
    });
    EXPECT_FALSE(splice_ec) << splice_ec.message();
    ASSERT_EQ(got.size(), filled + data.size());
    EXPECT_TRUE(std::equal(data.begin(), data.end(), got.begin() + static_cast<std::ptrdiff_t>(filled)));
}

}  // namespace
}  // namespace zferry::transport
