// The tcp logging outlet against a collector listening on 127.0.0.1: lines arrive in order,
// newline-terminated; when the collector goes away and comes back, the sink reconnects after
// its retry interval, and lines that could not be kept are counted in a line of their own.
#include "daemon/logging/tcp_log_sink.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace zferry::daemon {
namespace {

using namespace std::chrono_literals;

// A listening socket on 127.0.0.1 (ephemeral port, or `port`).
int listen_on(std::uint16_t& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0) {
        ::close(fd);
        return -1;
    }
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    return fd;
}

// Accepts one connection within `deadline`; -1 if none came.
int accept_within(int lfd, std::chrono::milliseconds deadline) {
    pollfd p{lfd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(deadline.count())) != 1) return -1;
    return ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
}

// Reads until `want` appears or the deadline passes; returns what was read.
std::string read_until(int fd, const std::string& want, std::chrono::milliseconds deadline) {
    std::string got;
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (got.find(want) == std::string::npos) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
        if (left <= 0ms) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) != 1) break;
        char buf[4096];
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
}

TEST(TcpLogSink, DeliversLinesInOrderAndReconnectsAfterTheCollectorRestarts) {
    std::uint16_t port = 0;
    int lfd = listen_on(port);
    ASSERT_GE(lfd, 0);
    TcpLogSinkOptions o;
    o.address = "127.0.0.1:" + std::to_string(port);
    o.retry_interval = 100ms;
    o.max_queued_lines = 3;
    TcpLogSink sink(o);
    sink.write(LogLevel::info, "first");
    sink.write(LogLevel::warn, "second");
    int c = accept_within(lfd, 10s);
    ASSERT_GE(c, 0) << "the sink connects to the collector";
    EXPECT_EQ(read_until(c, "second\n", 10s), "first\nsecond\n");

    // The collector goes away: the sink notices on a write, and reconnects once it is back.
    ::close(c);
    ::close(lfd);
    // Written while nobody listens: at most 3 are kept, the rest are counted.
    for (int i = 0; i < 8; ++i) sink.write(LogLevel::info, "while away " + std::to_string(i));
    lfd = listen_on(port);
    ASSERT_GE(lfd, 0) << "port " << port << " again";
    c = accept_within(lfd, 10s);
    ASSERT_GE(c, 0) << "the sink reconnects after its retry interval";
    sink.write(LogLevel::info, "after");
    const std::string got = read_until(c, "after\n", 10s);
    EXPECT_NE(got.find("after\n"), std::string::npos) << got;
    EXPECT_NE(got.find("log line(s) dropped"), std::string::npos) << got;
    EXPECT_NE(got.find("while away 7\n"), std::string::npos) << "the newest lines are kept: " << got;
    EXPECT_EQ(got.find("while away 0\n"), std::string::npos) << "the oldest are dropped: " << got;
    ::close(c);
    ::close(lfd);
}

TEST(TcpLogSink, StopsPromptlyWhileTheCollectorIsUnreachable) {
    std::uint16_t port = 0;
    const int lfd = listen_on(port);
    ASSERT_GE(lfd, 0);
    ::close(lfd);  // nobody listens on that port now
    TcpLogSinkOptions o;
    o.address = "127.0.0.1:" + std::to_string(port);
    o.retry_interval = 3600s;
    const auto t0 = std::chrono::steady_clock::now();
    {
        TcpLogSink sink(o);
        sink.write(LogLevel::error, "nobody hears this");
    }
    // The destructor interrupts the hour-long retry wait (bound generous for a loaded machine).
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
}

}  // namespace
}  // namespace zferry::daemon
