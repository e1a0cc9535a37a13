// The control socket: HTTP/1.1 over the unix socket `global.control.sockpath` (Boost.Beast),
// the endpoints of control_api.hpp. Its directory must be private to the daemon's user (it
// is created 0700 when missing; an existing one readable or writable by group or others is
// refused, since anyone who can connect can reset jobs). A stale socket left by a daemon that
// died is replaced; one where a daemon still answers is refused.
//
// One connection at a time, each bounded in size (64 KiB of request) and time (2 s for the
// whole exchange), so a client that stalls cannot hold the socket for long.
#pragma once

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/owned_task.hpp"
#include "daemon/control/control_api.hpp"

#include <boost/asio/local/stream_protocol.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace zferry::daemon {

struct ControlServerLimits {
    std::size_t max_request = 64 * 1024;
    std::chrono::milliseconds exchange_timeout{2000};
};

class ControlServer {
public:
    static Result<std::unique_ptr<ControlServer>> listen(boost::asio::any_io_executor ex,
                                                         const std::string& sockpath,
                                                         ControlHandlers handlers, Logger log,
                                                         ControlServerLimits limits = {});
    ~ControlServer();  // removes the socket file

    void start();
    boost::asio::awaitable<void> stop();

private:
    ControlServer(boost::asio::local::stream_protocol::acceptor acceptor, std::string sockpath,
                  ControlHandlers handlers, Logger log, ControlServerLimits limits);
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(boost::asio::local::stream_protocol::socket socket);

    boost::asio::local::stream_protocol::acceptor acceptor_;
    std::string sockpath_;
    ControlHandlers handlers_;
    Logger log_;
    ControlServerLimits limits_;
    std::optional<OwnedTask> task_;
};

// The client side, blocking (the CLI): POST `body` to `target`; the reply's body, or an
// error with the daemon's text for a non-200 reply, or saying the daemon is not reachable.
Result<std::string> control_request(const std::string& sockpath, const std::string& target,
                                    const std::string& body,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace zferry::daemon
