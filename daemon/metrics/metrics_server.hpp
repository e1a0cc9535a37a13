// `global.monitoring: - type: prometheus, listen: ADDR`: HTTP/1.1 (Boost.Beast) serving GET
// /metrics in the text exposition format. Bounded like every server of zferry: connections at
// once, request header size, one deadline per request; each connection is an OwnedTask, all
// joined by stop().
#pragma once

#include "core/error.hpp"
#include "core/log.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace zferry::daemon {

struct MetricsServerLimits {
    std::size_t max_connections = 16;  // more are closed at accept (and logged once a minute)
    std::size_t max_header_bytes = 8192;
    std::chrono::milliseconds request_timeout{10000};  // reading a request and writing its answer
};

class MetricsServer {
public:
    // `render` returns the exposition text at the moment of a scrape.
    MetricsServer(boost::asio::any_io_executor ex, std::function<std::string()> render, Logger log,
                  MetricsServerLimits limits = {});
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Binds and listens (port 0: any); the bound endpoint, or an error naming the address.
    Result<boost::asio::ip::tcp::endpoint> listen(const boost::asio::ip::tcp::endpoint& ep);
    // Starts accepting (an owned task).
    void start();
    // Stops accepting, ends every connection and joins them all.
    boost::asio::awaitable<void> stop();

    std::size_t active_connections() const noexcept;

    struct State;  // (the .cpp's; shared with the connection tasks)

private:
    std::shared_ptr<State> state_;
};

}  // namespace zferry::daemon
