// The Prometheus listener against real clients: curl scrapes it, promtool (Debian's
// prometheus package) checks what it serves, and the limits hold (paths, methods, header
// size, connections at once, stop with idle connections open).
#include "daemon/metrics/metrics_server.hpp"
#include "daemon/metrics/zrepl_metrics.hpp"
#include "tests/integration/metrics_check.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace zferry::daemon {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Cmd {
    int rc = -1;
    std::string out;
};

Cmd shell(const std::string& cmd) {
    Cmd r;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return r;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int st = ::pclose(p);
    r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

class MetricsServerTest : public ::testing::Test {
protected:
    void start(MetricsServerLimits limits = {}) {
        server_ = std::make_unique<MetricsServer>(
            ctx_.get_executor(), [this] { return registry_.expose(); }, Logger(), limits);
        auto bound = server_->listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        ASSERT_TRUE(bound.has_value()) << bound.error().message();
        port_ = bound->port();
        server_->start();
        work_.emplace(ctx_.get_executor());
        thread_ = std::thread([this] { ctx_.run(); });
    }
    void TearDown() override {
        if (server_) stop();
    }
    void stop() {
        auto f = asio::co_spawn(ctx_, server_->stop(), asio::use_future);
        f.get();
        work_.reset();
        thread_.join();
        EXPECT_EQ(server_->active_connections(), 0u);
        server_.reset();
    }
    std::size_t active() {
        auto f = asio::post(ctx_, asio::use_future([this] { return server_->active_connections(); }));
        return f.get();
    }
    std::string url(const std::string& path = "/metrics") {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    // A TCP connection to the server that never sends anything.
    int idle_connection() {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port_);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        return fd;
    }

    asio::io_context ctx_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
    std::thread thread_;
    metrics::Registry registry_;
    std::unique_ptr<MetricsServer> server_;
    unsigned short port_ = 0;
};

TEST_F(MetricsServerTest, CurlScrapesWhatTheRegistryHoldsAndPromtoolAcceptsIt) {
    ZreplMetrics m(registry_, 1764500000, "0.1.0");
    m.zfs_command("push", "zfs", "list", 0.004, 0.001, 0.002);
    m.zfs_command("push", "zfs", "send", 2.5, 0.25, 1.5);
    m.zfs_operation(zfs::ZfsOperation::list_filesystem_versions, "", "pool/data", 0.003);
    m.zfs_operation(zfs::ZfsOperation::destroy, "snapshot", "pool/data", 0.02);
    m.unmatched_datasets("push", 2);
    m.unmatched_datasets("push", 2);
    transport::FrameShutdownReport clean;
    clean.took = std::chrono::milliseconds(3);
    clean.drained = true;
    clean.drain_took = std::chrono::milliseconds(1);
    clean.drain_bytes = 8;
    m.frame_shutdown(clean);
    m.active_tasks(7);
    m.bytes_replicated("push", "pool/data", 1 << 20);
    m.bytes_replicated("push", "pool/odd \"name\\", 10);
    m.replication_finished("push", 0, true, 1764500100);
    m.pruning_took("push", "sender", 0.2);
    m.replication_state_time("push", "done", 1.5);
    m.stream_bytes("sink", "/v1/recv", false, 4096);
    m.log_entries({LogEntryCount{"push", LogLevel::info, 3}, LogEntryCount{"", LogLevel::warn, 1}});
    m.log_entries({LogEntryCount{"push", LogLevel::info, 5}});  // brought up to the log's count
    m.control_request_begin("/status");
    m.control_request_finished("/status", 0.0002);
    const std::string expected = registry_.expose();
    start();
    auto dir = std::filesystem::temp_directory_path() / ("zferry-metrics-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto r = shell("curl -sSf -o " + (dir / "scrape").string() + " -D " + (dir / "headers").string() + " " +
                   url());
    ASSERT_EQ(r.rc, 0) << r.out;
    std::stringstream body, headers;
    body << std::ifstream(dir / "scrape").rdbuf();
    headers << std::ifstream(dir / "headers").rdbuf();
    EXPECT_EQ(body.str(), expected);
    for (const char* sample :
         {"zrepl_replication_state_time_count{zrepl_job=\"push\",state=\"done\"} 1\n",
          "zrepl_daemon_log_entries{zrepl_job=\"push\",level=\"info\"} 5\n",
          "zrepl_daemon_log_entries{zrepl_job=\"\",level=\"warn\"} 1\n",
          "zrepl_control_request_begin{endpoint=\"/status\"} 1\n",
          "zrepl_zfscmd_usertime_sum{jobid=\"push\",zfsbinary=\"zfs\",zfsverb=\"send\"} 0.25\n",
          "zrepl_zfscmd_systemtime_bucket{jobid=\"push\",zfsbinary=\"zfs\",zfsverb=\"send\","
          "le=\"1\"} 0\n",
          "zrepl_zfs_list_filesystem_versions_duration_count{filesystem=\"pool/data\"} 1\n",
          "zrepl_zfs_destroy_duration_count{dataset_type=\"snapshot\",filesystem=\"pool/data\"} 1\n",
          "zrepl_zfs_list_unmatched_user_specified_dataset_count{jobid=\"push\"} 4\n",
          "zrepl_frameconn_shutdown_drain_bytes_read{quantile=\"0.99\"} 8\n",
          "zrepl_frameconn_shutdown_seconds_count 1\n", "zrepl_trace_active_tasks 7\n",
          "zrepl_control_request_finished_bucket{endpoint=\"/status\",le=\"5e-04\"} 1\n",
          "zferry_dataconn_stream_bytes_total{zrepl_job=\"sink\",endpoint=\"/v1/"
          "recv\",direction=\"received\"} "
          "4096\n"})
        EXPECT_NE(body.str().find(sample), std::string::npos) << sample << " in\n" << body.str();
    EXPECT_NE(headers.str().find("Content-Type: text/plain; version=0.0.4"), std::string::npos)
        << headers.str();

    const int findings = test::expect_promtool_accepts(dir / "scrape");
    std::filesystem::remove_all(dir);
    EXPECT_EQ(findings, 4) << "(unmatched_..._count: a gauge named _count)";
}

TEST_F(MetricsServerTest, OnlyGetAndHeadOfMetricsAreServed) {
    start();
    auto code = [&](const std::string& args) {
        return shell("curl -s -o /dev/null -w '%{http_code}' " + args).out;
    };
    EXPECT_EQ(code(url("/")), "404");
    EXPECT_EQ(code(url("/metrics/../status")), "404");
    EXPECT_EQ(code("-X POST " + url()), "405");
    EXPECT_EQ(code("-I " + url()), "200");
    EXPECT_EQ(code(url()), "200");
}

TEST_F(MetricsServerTest, AnOversizeRequestHeaderIsRefused) {
    MetricsServerLimits limits;
    limits.max_header_bytes = 1024;
    start(limits);
    auto r =
        shell("curl -s -o /dev/null -w '%{http_code}' -H 'X-Pad: " + std::string(4096, 'a') + "' " + url());
    EXPECT_NE(r.out, "200") << "a 4 KiB header passed a 1 KiB limit";
    EXPECT_EQ(shell("curl -s -o /dev/null -w '%{http_code}' " + url()).out, "200")
        << "the server still serves";
}

TEST_F(MetricsServerTest, ConnectionsBeyondTheLimitAreClosedAndServiceResumes) {
    MetricsServerLimits limits;
    limits.max_connections = 2;
    start(limits);
    int a = idle_connection(), b = idle_connection();
    for (int i = 0; i < 200 && active() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(active(), 2u);
    EXPECT_NE(shell("curl -s -o /dev/null -w '%{http_code}' " + url()).out, "200")
        << "a third connection was served beyond the limit of 2";
    ::close(a);
    ::close(b);
    for (int i = 0; i < 200 && active() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(shell("curl -s -o /dev/null -w '%{http_code}' " + url()).out, "200");
}

TEST_F(MetricsServerTest, StopEndsIdleConnectionsAtOnce) {
    start();  // the request timeout is 10 s: stop must not wait for it
    int a = idle_connection();
    for (int i = 0; i < 200 && active() < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(active(), 1u);
    const auto t = std::chrono::steady_clock::now();
    stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t, std::chrono::seconds(2));
    char c;
    EXPECT_EQ(::read(a, &c, 1), 0) << "the server closed the idle connection";
    ::close(a);
}

TEST_F(MetricsServerTest, ListeningOnABusyPortNamesTheAddress) {
    start();
    MetricsServer other(
        ctx_.get_executor(), [] { return std::string(); }, Logger());
    auto r = other.listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("prometheus listener on 127.0.0.1:" + std::to_string(port_)),
              std::string::npos)
        << r.error().message();
}

}  // namespace
}  // namespace zferry::daemon
