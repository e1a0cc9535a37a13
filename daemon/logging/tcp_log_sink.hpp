// zrepl's `tcp` logging outlet: each line, newline-terminated, to a TCP (optionally TLS) log
// collector. Logging must never wait for the network: lines are queued (bounded; the oldest
// are dropped when the collector is away, and the number dropped is reported once it is back)
// and one thread of this sink connects, writes and, after a failure, waits retry_interval
// before it connects again.
#pragma once

#include "core/log.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace zferry::daemon {

struct TcpLogSinkOptions {
    std::string address;      // host:port ([v6]:port)
    std::string net = "tcp";  // tcp | tcp4 | tcp6
    std::chrono::milliseconds retry_interval{10'000};
    struct Tls {
        std::string ca, cert, key;  // the collector's CA; our client certificate and key
    };
    std::optional<Tls> tls;
    std::size_t max_queued_lines = 10'000;
};

class TcpLogSink final : public LogLineSink {
public:
    explicit TcpLogSink(TcpLogSinkOptions options);
    // Stops the thread; lines still queued go out if the collector is connected.
    ~TcpLogSink() override;
    TcpLogSink(const TcpLogSink&) = delete;
    TcpLogSink& operator=(const TcpLogSink&) = delete;

    void write(LogLevel level, std::string_view line) override;

private:
    void run();

    TcpLogSinkOptions options_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::string> queue_;
    std::size_t dropped_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace zferry::daemon
