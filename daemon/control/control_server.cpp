#include "daemon/control/control_server.hpp"

#include "daemon/control/control_parse.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>

namespace zferry::daemon {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using local = asio::local::stream_protocol;

namespace {

Result<void> check_private_dir(const std::string& sockpath) {
    const auto dir = std::filesystem::path(sockpath).parent_path();
    if (dir.empty()) return {};
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        if (errno != ENOENT)
            return Error(Errc::invalid_argument,
                         "control socket directory " + dir.string() + ": " + std::strerror(errno));
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec || ::chmod(dir.c_str(), 0700) != 0)
            return Error(Errc::invalid_argument,
                         "cannot create the control socket directory " + dir.string() + ": " + ec.message());
        return {};
    }
    if (!S_ISDIR(st.st_mode))
        return Error(Errc::invalid_argument,
                     "control socket directory " + dir.string() + " is not a directory");
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return Error(Errc::invalid_argument,
                     "control socket directory " + dir.string() + " has mode " + mode +
                         ": it must be private to the daemon's user (chmod 700), since whoever can connect "
                         "can control the jobs");
    }
    return {};
}

// A socket file left behind: replaced if no daemon answers on it.
Result<void> clear_stale(const std::string& sockpath) {
    struct stat st {};
    if (::lstat(sockpath.c_str(), &st) != 0) return {};
    if (!S_ISSOCK(st.st_mode))
        return Error(Errc::invalid_argument,
                     "control socket path " + sockpath + " exists and is not a socket");
    asio::io_context probe;
    local::socket s(probe);
    boost::system::error_code ec;
    s.connect(local::endpoint(sockpath), ec);
    if (!ec)
        return Error(Errc::invalid_argument,
                     "another daemon is listening on the control socket " + sockpath + " (stop it first)");
    ::unlink(sockpath.c_str());
    return {};
}

// What a lingering close reads and drops of a refused request's body at most.
constexpr std::size_t kMaxDrainedBytes = 64 * 1024 * 1024;

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::listen(asio::any_io_executor ex,
                                                             const std::string& sockpath,
                                                             ControlHandlers handlers, Logger log,
                                                             ControlServerLimits limits) {
    if (auto r = check_private_dir(sockpath); !r) return r.error();
    if (auto r = clear_stale(sockpath); !r) return r.error();
    local::acceptor acceptor(ex);
    boost::system::error_code ec;
    acceptor.open(local::endpoint(sockpath).protocol(), ec);
    if (!ec) acceptor.bind(local::endpoint(sockpath), ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error(ec, "control socket " + sockpath);
    ::chmod(sockpath.c_str(), 0600);
    return std::unique_ptr<ControlServer>(
        new ControlServer(std::move(acceptor), sockpath, std::move(handlers), std::move(log), limits));
}

ControlServer::ControlServer(local::acceptor acceptor, std::string sockpath, ControlHandlers handlers,
                             Logger log, ControlServerLimits limits)
    : acceptor_(std::move(acceptor)),
      sockpath_(std::move(sockpath)),
      handlers_(std::move(handlers)),
      log_(std::move(log)),
      limits_(limits) {}

ControlServer::~ControlServer() { ::unlink(sockpath_.c_str()); }

void ControlServer::start() {
    task_.emplace(acceptor_.get_executor());
    task_->start(accept_loop());
    log_.info("control socket listening on {}", sockpath_);
}

asio::awaitable<void> ControlServer::stop() {
    if (task_) co_await task_->stop();
    boost::system::error_code ec;
    acceptor_.close(ec);
}

asio::awaitable<void> ControlServer::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_ec);
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) {
            log_.warn("control socket accept: {}", ec.message());
            continue;
        }
        if (!co_await with_timeout(serve(std::move(socket)), limits_.exchange_timeout))
            log_.warn("control socket: a client took longer than {} ms; dropped",
                      limits_.exchange_timeout.count());
    }
}

asio::awaitable<void> ControlServer::serve(local::socket socket) {
    boost::beast::flat_buffer buffer;
    ControlParser parser;
    limit_control_parser(parser, limits_.max_request);
    auto [ec, n] = co_await http::async_read(socket, buffer, parser, use_ec);
    ControlReply reply;
    bool unread_body = false;
    std::optional<ControlReply> refused;
    if (ec) refused = reply_for_read_error(ec, limits_.max_request);
    if (refused) {
        unread_body = true;
        reply = std::move(*refused);
        log_.warn("control socket: refused a request larger than {} bytes", limits_.max_request);
    } else if (ec) {
        co_return;
    } else {
        const auto& req = parser.get();
        ControlRequest r = to_control_request(req);
        const bool counted = r.target == "/status" || r.target == "/signal" || r.target == "/version";
        if (counted && handlers_.request_begin) handlers_.request_begin(r.target);
        const auto began = std::chrono::steady_clock::now();
        reply = handle_control_request(r, handlers_);
        if (counted && handlers_.request_finished)
            handlers_.request_finished(
                r.target, std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
        if (r.target != "/status") log_.info("control: {} {} -> {}", r.method, r.target, reply.status);
        if (reply.status != 200) {
            std::string_view why = reply.body;
            while (!why.empty() && why.back() == '\n') why.remove_suffix(1);
            log_.warn("control: {} {} refused: {}", r.method, r.target, why);
        }
    }
    http::response<http::string_body> res(static_cast<http::status>(reply.status), 11);
    res.set(http::field::content_type, reply.content_type);
    res.body() = std::move(reply.body);
    res.keep_alive(false);
    res.prepare_payload();
    co_await http::async_write(socket, res, use_ec);
    boost::system::error_code ignored;
    if (!unread_body) {
        socket.shutdown(local::socket::shutdown_both, ignored);
        co_return;
    }
    // A refused request's body may still be arriving: closing now would make the client's
    // writes fail (EPIPE) before it reads the 413, and it would report a broken pipe instead
    // of why. So a lingering close: the reply is complete (our side shut), the rest is read
    // and dropped up to a bound, within the exchange timeout that bounds this whole call.
    socket.shutdown(local::socket::shutdown_send, ignored);
    std::array<char, 16 * 1024> sink;
    std::size_t drained = 0;
    while (drained < kMaxDrainedBytes) {
        auto [e, got] = co_await socket.async_read_some(asio::buffer(sink), use_ec);
        if (e) break;
        drained += got;
    }
    socket.shutdown(local::socket::shutdown_both, ignored);
}

Result<std::string> control_request(const std::string& sockpath, const std::string& target,
                                    const std::string& body, std::chrono::milliseconds timeout) {
    asio::io_context ctx;
    local::socket s(ctx);
    boost::system::error_code ec;
    s.connect(local::endpoint(sockpath), ec);
    if (ec)
        return Error(ec, "cannot reach the daemon's control socket " + sockpath +
                             " (is `zferry daemon` running with this configuration?)");
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, "unix");
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    bool done = false;
    http::async_write(s, req, [&](boost::system::error_code e, std::size_t) {
        if (e) {
            ec = e;
            done = true;
            return;
        }
        http::async_read(s, buffer, res, [&](boost::system::error_code e2, std::size_t) {
            ec = e2;
            done = true;
        });
    });
    ctx.run_for(timeout);
    if (!done) return Error(Errc::timeout, "the daemon did not answer " + target + " within the timeout");
    if (ec) return Error(ec, "control request " + target);
    if (res.result_int() != 200) {
        std::string text = res.body();
        while (!text.empty() && text.back() == '\n') text.pop_back();
        return Error(res.result_int() == 404 ? Errc::not_found : Errc::invalid_argument,
                     "the daemon refused " + target + ": " + text);
    }
    return res.body();
}

}  // namespace zferry::daemon
