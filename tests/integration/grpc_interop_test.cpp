// zferry's gRPC server on 127.0.0.1 with Debian's grpcio (Google's gRPC core, run by
// /usr/bin/python3) as the client: Ping end to end, many calls in flight, unknown methods,
// oversize messages, deadlines, and grpc-go's keepalive enforcement against grpcio's pings;
// and zferry's client against a grpcio server.
// The connection is plain HTTP/2 (prior knowledge): no version banner or mux label first;
// that layering comes with the control connection.
#include "replication/control/replication_service.hpp"
#include "replication/pdu/pdu.pb.h"
#include "transport/grpc/grpc_client.hpp"
#include "transport/grpc/grpc_server.hpp"

#include "core/owned_task.hpp"

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <list>
#include <mutex>
#include <sstream>
#include <thread>

#include <signal.h>
#include <unistd.h>

namespace zferry::transport::grpc {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// A gRPC server on an ephemeral port of 127.0.0.1, run by one thread. stop() closes the
// acceptor and cancels the connections; every task is joined before the thread ends.
class TestServer {
public:
    explicit TestServer(std::chrono::milliseconds shutdown_grace = 10s,
                        std::uint32_t max_concurrent_streams = 100)
        : acceptor_(ctx_, {asio::ip::make_address("127.0.0.1"), 0}),
          drain_(ctx_.get_executor()),
          grace_(shutdown_grace),
          max_streams_(max_concurrent_streams) {
        replication::control::add_ping(dispatch_);
        dispatch_.add("/Test/Fail", [](CallContext, std::string) -> asio::awaitable<UnaryReply> {
            co_return UnaryReply::error(StatusCode::failed_precondition, "100% refused: \xc3\xbc");
        });
        dispatch_.add("/Test/Slow", [this](CallContext, std::string) -> asio::awaitable<UnaryReply> {
            asio::steady_timer t(co_await asio::this_coro::executor, 30s);
            auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            if (ec) ++slow_cancelled_;
            co_return UnaryReply::ok(std::string());
        });
        // Holds its stream open until release_hold().
        dispatch_.add("/Test/Hold", [this](CallContext, std::string) -> asio::awaitable<UnaryReply> {
            ++holds_;
            asio::steady_timer t(co_await asio::this_coro::executor);
            while (!released_) {
                t.expires_after(1ms);
                auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
                if (ec) co_return UnaryReply::error(StatusCode::cancelled, "cancelled");
            }
            co_return UnaryReply::ok(std::string("held"));
        });
        // Drain the server from inside a call, then finish it after 1 s (or never: cancelled).
        dispatch_.add("/Test/Drain", [this](CallContext, std::string) -> asio::awaitable<UnaryReply> {
            drain_.drain();
            asio::steady_timer t(co_await asio::this_coro::executor, 1s);
            co_await t.async_wait(asio::use_awaitable);
            co_return UnaryReply::ok(std::string("drained"));
        });
        dispatch_.add("/Test/DrainSlow", [this](CallContext, std::string) -> asio::awaitable<UnaryReply> {
            drain_.drain();
            asio::steady_timer t(co_await asio::this_coro::executor, 30s);
            auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            if (ec) ++slow_cancelled_;
            co_return UnaryReply::ok(std::string());
        });
        asio::co_spawn(ctx_, accept_loop(), asio::detached);
        thread_ = std::thread([this] { ctx_.run(); });
    }
    ~TestServer() { stop(); }

    void stop() {
        if (!thread_.joinable()) return;
        asio::post(ctx_, [this] {
            error_code ignored;
            acceptor_.close(ignored);
            for (auto& t : tasks_) t.cancel();
        });
        thread_.join();
    }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    std::vector<std::string> results() {
        std::lock_guard lock(mu_);
        return results_;
    }
    int slow_cancelled() const { return slow_cancelled_; }
    int holds() const { return holds_; }
    void release_hold() { released_ = true; }

private:
    // Owns every connection it starts and joins them all before it ends.
    asio::awaitable<void> accept_loop() {
        co_await asio::this_coro::throw_if_cancelled(false);
        for (;;) {
            auto [ec, sock] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec) break;
            tasks_.emplace_back(ctx_.get_executor());
            tasks_.back().start(serve(std::move(sock)));
        }
        for (auto& t : tasks_) co_await t.join();
    }

    asio::awaitable<void> serve(asio::ip::tcp::socket sock) {
        GrpcServerOptions opt;
        opt.client_identity = "interop";
        opt.drain = &drain_;
        opt.shutdown_grace = grace_;
        opt.session.max_concurrent_streams = max_streams_;
        auto r = co_await serve_grpc_connection(std::move(sock), dispatch_, opt, Logger());
        std::lock_guard lock(mu_);
        results_.push_back(r ? std::string("ok") : r.error().message());
    }

    asio::io_context ctx_;
    asio::ip::tcp::acceptor acceptor_;
    ServiceDispatch dispatch_;
    DrainSignal drain_;
    std::chrono::milliseconds grace_;
    std::list<OwnedTask> tasks_;
    std::mutex mu_;
    std::vector<std::string> results_;
    std::uint32_t max_streams_;
    std::atomic<int> slow_cancelled_{0};
    std::atomic<int> holds_{0};
    std::atomic<bool> released_{false};
    std::thread thread_;
};

struct PeerRun {
    int exit_status = -1;
    std::string out;
    std::string err;
};

// Runs the grpcio peer to completion under `timeout` (which kills it if it hangs), so no
// process outlives the call.
PeerRun run_peer(unsigned short port, const std::string& args, int limit_seconds) {
    char errfile[] = "/tmp/zferry-grpc-peer-XXXXXX";
    const int fd = ::mkstemp(errfile);
    ::close(fd);
    const std::string cmd = "timeout -k 5 " + std::to_string(limit_seconds) + " /usr/bin/python3 " +
                            GRPC_PEER_SCRIPT + " " + std::to_string(port) + " " + PDU_PY_DIR + " " + args +
                            " 2>" + errfile;
    PeerRun r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
    r.exit_status = ::pclose(p);
    std::ifstream e(errfile);
    std::stringstream ss;
    ss << e.rdbuf();
    r.err = ss.str();
    ::unlink(errfile);
    return r;
}

json::object parse_output(const PeerRun& r) {
    EXPECT_EQ(r.exit_status, 0) << "grpcio peer failed:\n" << r.err;
    boost::system::error_code ec;
    auto v = json::parse(r.out, ec);
    EXPECT_FALSE(ec) << "peer output is not JSON: " << r.out << "\n" << r.err;
    return ec || !v.is_object() ? json::object{} : v.as_object();
}

std::string status_text(const json::value& v) {
    if (!v.is_array() || v.as_array().size() != 2) return "?";
    return std::string(v.as_array()[0].as_string()) + ": " + std::string(v.as_array()[1].as_string());
}

TEST(GrpcInterop, GrpcioClientCallsZferryServer) {
    TestServer server;
    const auto run = run_peer(server.port(), "calls", 90);
    const auto out = parse_output(run);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.at("ping").as_string(), "hello zferry \xc3\xbc");
    const auto& many = out.at("many").as_array();
    ASSERT_EQ(many.size(), 32u);
    for (std::size_t i = 0; i < many.size(); ++i) EXPECT_EQ(many[i].as_string(), "m" + std::to_string(i));
    EXPECT_EQ(status_text(out.at("unknown_method")),
              "UNIMPLEMENTED: unknown method NoSuchMethod for service Replication");
    EXPECT_EQ(status_text(out.at("unknown_service")), "UNIMPLEMENTED: unknown service NoSuchService");
    EXPECT_EQ(status_text(out.at("oversize")),
              "RESOURCE_EXHAUSTED: grpc: received message larger than max (5242885 vs. 4194304)");
    EXPECT_EQ(status_text(out.at("failing")), "FAILED_PRECONDITION: 100% refused: \xc3\xbc");
    EXPECT_EQ(out.at("deadline").as_array()[0].as_string(), "DEADLINE_EXCEEDED");
    EXPECT_LT(out.at("deadline_seconds").to_number<double>(), 20.0);
    EXPECT_EQ(out.at("ping_after").as_string(), "still there") << "the connection survives all of the above";
    server.stop();
    EXPECT_EQ(server.slow_cancelled(), 1) << "the slow handler was cancelled by the deadline";
    const auto results = server.results();
    ASSERT_EQ(results.size(), 1u) << "one connection for every call";
    EXPECT_EQ(results[0], "ok");
}

// grpcio pinging every second with permit-without-calls: the 4th ping is the 3rd strike and
// zferry answers GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") and closes (observed ~3-4 s
// after connecting against grpc servers; the bound here is generous).
TEST(GrpcInterop, GrpcioPingingEverySecondGetsTooManyPings) {
    TestServer server;
    const auto run = run_peer(server.port(), "keepalive 1000 30", 60);
    const auto out = parse_output(run);
    ASSERT_FALSE(out.empty());
    EXPECT_TRUE(out.at("connection_lost").as_bool()) << json::serialize(out);
    std::printf("grpcio (1 s keepalive) lost the connection %.2f s after it was ready\n",
                out.at("seconds").to_number<double>());
    EXPECT_NE(run.err.find("too_many_pings"), std::string::npos)
        << "grpcio logs the GOAWAY's debug data; its stderr:\n"
        << run.err;
    server.stop();
    const auto results = server.results();
    ASSERT_GE(results.size(), 1u);
    EXPECT_NE(results[0].find("too_many_pings"), std::string::npos) << results[0];
}

// Graceful shutdown while grpcio waits for a call: GOAWAY, the call still completes, the
// connection ends cleanly.
TEST(GrpcInterop, DrainLetsTheCallInFlightFinish) {
    TestServer server;
    const auto run = run_peer(server.port(), "drain /Test/Drain", 60);
    const auto out = parse_output(run);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(status_text(out.at("call")), "OK: ") << run.err;
    server.stop();
    const auto results = server.results();
    ASSERT_GE(results.size(), 1u);
    EXPECT_EQ(results[0], "ok") << "a drained connection ends without error";
}

// A call that outlives the shutdown grace is cancelled and its connection closed: grpcio sees
// UNAVAILABLE well before the handler's 30 s.
TEST(GrpcInterop, DrainCancelsCallsBeyondTheGrace) {
    TestServer server(1s);
    const auto run = run_peer(server.port(), "drain /Test/DrainSlow", 60);
    const auto out = parse_output(run);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.at("call").as_array()[0].as_string(), "UNAVAILABLE") << status_text(out.at("call"));
    EXPECT_LT(out.at("seconds").to_number<double>(), 20.0);
    server.stop();
    EXPECT_EQ(server.slow_cancelled(), 1);
}

// zrepl's keepalive (5 s, permit without calls) against zferry's enforcement (MinTime 2.5 s):
// two rounds of idle pings and the connection stays (zrepl #181 was the opposite).
TEST(GrpcInterop, GrpcioWithZreplKeepaliveStaysConnected) {
    TestServer server;
    const auto run = run_peer(server.port(), "keepalive 5000 12", 60);
    const auto out = parse_output(run);
    ASSERT_FALSE(out.empty());
    EXPECT_FALSE(out.at("connection_lost").as_bool()) << json::serialize(out) << "\n" << run.err;
    EXPECT_EQ(run.err.find("too_many_pings"), std::string::npos) << run.err;
    server.stop();
    const auto results = server.results();
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0], "ok") << "the client closed the connection, not the server";
}

// grpcio as the server (zrepl's keepalive settings), started by the test and stopped with
// SIGTERM when it ends; `timeout` bounds it if the test dies first.
class PeerServer {
public:
    PeerServer() {
        const std::string cmd = std::string("timeout -k 5 120 /usr/bin/python3 ") + GRPC_PEER_SCRIPT + " 0 " +
                                PDU_PY_DIR + " serve";
        pipe_ = ::popen(cmd.c_str(), "r");
        if (!pipe_) return;
        char line[256] = {};
        if (!std::fgets(line, sizeof line, pipe_)) return;
        boost::system::error_code ec;
        auto v = json::parse(line, ec);
        if (ec || !v.is_object()) return;
        pid_ = static_cast<pid_t>(v.at("pid").to_number<long>());
        port_ = static_cast<unsigned short>(v.at("port").to_number<int>());
    }
    ~PeerServer() {
        if (pid_ > 0) ::kill(pid_, SIGTERM);
        if (pipe_) ::pclose(pipe_);
    }
    unsigned short port() const { return port_; }

private:
    FILE* pipe_ = nullptr;
    pid_t pid_ = -1;
    unsigned short port_ = 0;
};

asio::ip::tcp::endpoint loopback(unsigned short port) {
    return asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port);
}

// A client connection to `to` on this coroutine's executor; nullptr when the connect fails.
asio::awaitable<std::unique_ptr<GrpcClientConnection>> connect_client(asio::ip::tcp::endpoint to) {
    auto ex = co_await asio::this_coro::executor;
    asio::ip::tcp::socket sock(ex);
    auto [ec] = co_await sock.async_connect(to, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return nullptr;
    ClientSessionOptions options;
    co_return std::make_unique<GrpcClientConnection>(std::move(sock), std::move(options), Logger());
}

asio::awaitable<void> drive(GrpcClientConnection* conn, Result<void>* out) { *out = co_await conn->run(); }

asio::awaitable<void> one_call(GrpcClientConnection* conn, std::string path, std::string request,
                               std::optional<Duration> timeout, CallResult* out) {
    *out = co_await conn->call(std::move(path), std::move(request), timeout);
}

std::string ping_request(const std::string& text) {
    PingReq req;
    req.set_message(text);
    return req.SerializeAsString();
}

std::string describe(const CallResult& r) {
    return std::string(status_code_name(r.status.code)) + ": " + r.status.message;
}

TEST(GrpcInterop, ZferryClientCallsGrpcioServer) {
    PeerServer peer;
    ASSERT_NE(peer.port(), 0) << "the grpcio server did not start";
    asio::io_context ctx;
    Result<void> run_result = Error(Errc::internal, "not run");
    CallResult ping, fail, slow, unknown, after;
    std::vector<CallResult> many(16);
    std::chrono::steady_clock::duration slow_took{};
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            auto conn = co_await connect_client(loopback(peer.port()));
            if (!conn) co_return;
            OwnedTask runner(ex);
            runner.start(drive(conn.get(), &run_result));
            co_await one_call(conn.get(), "/Replication/Ping", ping_request("hello grpcio \xc3\xbc"), 10s,
                              &ping);
            std::list<OwnedTask> calls;
            for (std::size_t i = 0; i < many.size(); ++i) {
                calls.emplace_back(ex);
                calls.back().start(one_call(conn.get(), "/Replication/Ping",
                                            ping_request("m" + std::to_string(i)), 10s, &many[i]));
            }
            for (auto& c : calls) co_await c.join();
            co_await one_call(conn.get(), "/Test/Fail", "", 10s, &fail);
            co_await one_call(conn.get(), "/Replication/NoSuchMethod", "", 10s, &unknown);
            const auto started = std::chrono::steady_clock::now();
            co_await one_call(conn.get(), "/Test/Slow", "", 1s, &slow);
            slow_took = std::chrono::steady_clock::now() - started;
            co_await one_call(conn.get(), "/Replication/Ping", ping_request("still there"), 10s, &after);
            conn->close();
            co_await runner.join();
        },
        asio::detached);
    ctx.run();

    ASSERT_TRUE(ping.status.ok()) << describe(ping);
    PingRes res;
    ASSERT_TRUE(res.ParseFromString(ping.message));
    EXPECT_EQ(res.echo(), "hello grpcio \xc3\xbc");
    for (std::size_t i = 0; i < many.size(); ++i) {
        ASSERT_TRUE(many[i].status.ok()) << "call " << i << ": " << describe(many[i]);
        ASSERT_TRUE(res.ParseFromString(many[i].message));
        EXPECT_EQ(res.echo(), "m" + std::to_string(i));
    }
    EXPECT_EQ(describe(fail), "FAILED_PRECONDITION: 100% refused: \xc3\xbc");
    EXPECT_EQ(describe(unknown), "UNIMPLEMENTED: Method not found!");
    EXPECT_EQ(slow.status.code, StatusCode::deadline_exceeded) << describe(slow);
    EXPECT_LT(slow_took, 20s);
    EXPECT_TRUE(after.status.ok()) << describe(after);
    EXPECT_TRUE(run_result) << run_result.error().message();
}

// Both of zferry's drivers on one loopback connection: sequential Pings (the round-trip cost
// printed as calls per second), then 64 in flight at once.
TEST(GrpcInterop, ZferryClientCallsZferryServer) {
    TestServer server;
    asio::io_context ctx;
    Result<void> run_result = Error(Errc::internal, "not run");
    constexpr int kSequential = 2000;
    int sequential_ok = 0;
    std::vector<CallResult> many(64);
    double per_second = 0;
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            auto conn = co_await connect_client(loopback(server.port()));
            if (!conn) co_return;
            OwnedTask runner(ex);
            runner.start(drive(conn.get(), &run_result));
            const auto started = std::chrono::steady_clock::now();
            for (int i = 0; i < kSequential; ++i) {
                CallResult r;
                co_await one_call(conn.get(), "/Replication/Ping", ping_request("n" + std::to_string(i)), 10s,
                                  &r);
                PingRes res;
                if (r.status.ok() && res.ParseFromString(r.message) && res.echo() == "n" + std::to_string(i))
                    ++sequential_ok;
            }
            per_second = kSequential /
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            std::list<OwnedTask> calls;
            for (std::size_t i = 0; i < many.size(); ++i) {
                calls.emplace_back(ex);
                calls.back().start(one_call(conn.get(), "/Replication/Ping",
                                            ping_request(std::string(i * 1000, 'z')), 10s, &many[i]));
            }
            for (auto& c : calls) co_await c.join();
            conn->close();
            co_await runner.join();
        },
        asio::detached);
    ctx.run();
    EXPECT_EQ(sequential_ok, kSequential);
    std::printf("zferry client -> zferry server, one connection on loopback: %.0f sequential Pings/s\n",
                per_second);
    for (std::size_t i = 0; i < many.size(); ++i) {
        ASSERT_TRUE(many[i].status.ok()) << "call " << i << ": " << describe(many[i]);
        PingRes res;
        ASSERT_TRUE(res.ParseFromString(many[i].message));
        EXPECT_EQ(res.echo().size(), i * 1000);
    }
    EXPECT_TRUE(run_result) << run_result.error().message();
    server.stop();
    const auto results = server.results();
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0], "ok") << "the client closed; the server saw a clean end";
}

// zferry's server with a limit of one call, and three calls on a new connection before the
// server's SETTINGS reached the client: nghttp2 refuses the two beyond the limit with
// RST_STREAM(REFUSED_STREAM) (its limit is pending until acknowledged). The client makes them
// again on the same connection, where they wait for room, and every call succeeds.
TEST(GrpcInterop, ZferryClientRetriesCallsTheZferryServerRefused) {
    TestServer server(10s, 1);
    asio::io_context ctx;
    Result<void> run_result = Error(Errc::internal, "not run");
    CallResult held;
    std::vector<CallResult> pings(2);
    std::uint64_t retries_seen = 0, retries_after = 0;
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            auto conn = co_await connect_client(loopback(server.port()));
            if (!conn) co_return;
            // The calls start before the connection runs, so all three go out in its first write.
            std::list<OwnedTask> calls;
            calls.emplace_back(ex);
            calls.back().start(one_call(conn.get(), "/Test/Hold", "", 20s, &held));
            for (std::size_t i = 0; i < pings.size(); ++i) {
                calls.emplace_back(ex);
                calls.back().start(one_call(conn.get(), "/Replication/Ping",
                                            ping_request("p" + std::to_string(i)), 20s, &pings[i]));
            }
            OwnedTask runner(ex);
            runner.start(drive(conn.get(), &run_result));
            asio::steady_timer t(ex);
            for (int i = 0; i < 20000 && conn->refused_retries() < 2; ++i) {
                t.expires_after(1ms);
                co_await t.async_wait(asio::use_awaitable);
            }
            retries_seen = conn->refused_retries();
            server.release_hold();
            for (auto& c : calls) co_await c.join();
            retries_after = conn->refused_retries();
            conn->close();
            co_await runner.join();
        },
        asio::detached);
    ctx.run();
    EXPECT_EQ(retries_seen, 2u) << "both calls beyond the limit were refused and made again";
    EXPECT_EQ(retries_after, 2u) << "made again, they waited for room instead of being refused";
    ASSERT_TRUE(held.status.ok()) << describe(held);
    EXPECT_EQ(held.message, "held");
    for (std::size_t i = 0; i < pings.size(); ++i) {
        ASSERT_TRUE(pings[i].status.ok()) << "ping " << i << ": " << describe(pings[i]);
        EXPECT_FALSE(pings[i].refused);
        PingRes res;
        ASSERT_TRUE(res.ParseFromString(pings[i].message));
        EXPECT_EQ(res.echo(), "p" + std::to_string(i));
    }
    EXPECT_EQ(server.holds(), 1);
    EXPECT_TRUE(run_result) << run_result.error().message();
}

// A server that answers the first request with GOAWAY(last stream id 0): the call was refused
// unprocessed on a connection that takes no more calls, so it comes back `unsent` for its owner
// to make on a new connection.
TEST(GrpcInterop, CallAGoawayLeftUnprocessedComesBackUnsent) {
    asio::io_context ctx;
    asio::ip::tcp::acceptor acceptor(ctx, {asio::ip::make_address("127.0.0.1"), 0});
    Result<void> run_result = Error(Errc::internal, "not run");
    CallResult r;
    bool accepting_after = true;
    std::uint64_t retries = 1;
    auto raw_server = [&]() -> asio::awaitable<void> {
        auto [ec, peer] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        std::array<char, 4096> buf;
        auto [rec, n] = co_await peer.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        if (rec) co_return;
        // SETTINGS (empty) and GOAWAY(last stream id 0, NO_ERROR).
        const std::string frames(
            "\0\0\0\x04\0\0\0\0\0"
            "\0\0\x08\x07\0\0\0\0\0"
            "\0\0\0\0\0\0\0\0",
            26);
        co_await asio::async_write(peer, asio::buffer(frames), asio::as_tuple(asio::use_awaitable));
        // Until the client closes.
        for (;;) {
            auto [e, m] =
                co_await peer.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
            if (e) break;
        }
    };
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            OwnedTask server(ex);
            server.start(raw_server());
            auto conn = co_await connect_client(acceptor.local_endpoint());
            if (!conn) co_return;
            OwnedTask runner(ex);
            runner.start(drive(conn.get(), &run_result));
            co_await one_call(conn.get(), "/Replication/Ping", ping_request("x"), 10s, &r);
            accepting_after = conn->accepting_calls();
            retries = conn->refused_retries();
            conn->close();
            co_await runner.join();
            co_await server.join();
        },
        asio::detached);
    ctx.run();
    EXPECT_EQ(r.status.code, StatusCode::unavailable) << describe(r);
    EXPECT_TRUE(r.refused);
    EXPECT_TRUE(r.unsent) << "its owner makes it again on a new connection";
    EXPECT_FALSE(accepting_after);
    EXPECT_EQ(retries, 0u) << "never again on the connection that said GOAWAY";
}

}  // namespace
}  // namespace zferry::transport::grpc
