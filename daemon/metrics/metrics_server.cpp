#include "daemon/metrics/metrics_server.hpp"

#include "core/async.hpp"
#include "core/owned_task.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <boost/asio/steady_timer.hpp>

#include <list>
#include <set>

namespace zferry::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct MetricsServer::State {
    State(asio::any_io_executor e, std::function<std::string()> r, Logger l, MetricsServerLimits lim)
        : ex(e), render(std::move(r)), log(std::move(l)), limits(lim), acceptor(e), accept_task(e) {}
    asio::any_io_executor ex;
    std::function<std::string()> render;
    Logger log;
    MetricsServerLimits limits;
    tcp::acceptor acceptor;
    OwnedTask accept_task;
    std::list<OwnedTask> connections;      // finished ones are reaped by the accept loop
    std::set<beast::tcp_stream*> streams;  // open ones, closed by stop()
    std::size_t active = 0;
    std::chrono::steady_clock::time_point last_shed_log{};
};

namespace {

http::response<http::string_body> answer(const http::request<http::empty_body>& req,
                                         const std::function<std::string()>& render) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "zferry");
    if (req.target() != "/metrics") {
        res.result(http::status::not_found);
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "not found: this server has only /metrics\n";
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "method not allowed: use GET\n";
    } else {
        res.result(http::status::ok);
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        if (req.method() == http::verb::get) res.body() = render();
    }
    res.prepare_payload();
    return res;
}

// `active` was counted by the accept loop; it goes down when this returns.
asio::awaitable<void> serve(std::shared_ptr<MetricsServer::State> s, tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    s->streams.insert(&stream);
    struct Leave {
        MetricsServer::State* s;
        beast::tcp_stream* stream;
        ~Leave() {
            s->streams.erase(stream);
            s->active--;
        }
    } leave{s.get(), &stream};
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(s->limits.max_header_bytes));
        parser.body_limit(0);
        stream.expires_after(s->limits.request_timeout);
        auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_ec);
        if (rec) {
            if (rec != http::error::end_of_stream && rec != asio::error::operation_aborted &&
                rec != beast::error::timeout)
                s->log.debug("metrics request refused: {}", rec.message());
            break;
        }
        auto res = answer(parser.get(), s->render);
        auto [wec, wn] = co_await http::async_write(stream, res, use_ec);
        if (wec || !res.keep_alive()) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
}

asio::awaitable<void> accept_loop(std::shared_ptr<MetricsServer::State> s) {
    for (;;) {
        auto [ec, socket] = co_await s->acceptor.async_accept(use_ec);
        // Reap finished connection tasks (they are joined already: not running).
        s->connections.remove_if([](const OwnedTask& t) { return !t.running(); });
        if (ec == asio::error::operation_aborted || !s->acceptor.is_open()) co_return;
        if (ec) {
            // EMFILE and the like: shed load for a moment instead of spinning.
            s->log.warn("metrics: accepting a connection failed: {} (retrying in 100 ms)", ec.message());
            asio::steady_timer t(s->ex, std::chrono::milliseconds(100));
            auto [tec] = co_await t.async_wait(use_ec);
            if (tec) co_return;
            continue;
        }
        if (s->active >= s->limits.max_connections) {
            const auto now = std::chrono::steady_clock::now();
            if (now - s->last_shed_log > std::chrono::minutes(1)) {
                s->last_shed_log = now;
                s->log.warn("metrics: {} connections open (the limit): closing new ones", s->active);
            }
            boost::system::error_code ignored;
            socket.close(ignored);
            continue;
        }
        s->active++;
        s->connections.emplace_back(s->ex);
        s->connections.back().start(serve(s, std::move(socket)));
    }
}

}  // namespace

MetricsServer::MetricsServer(asio::any_io_executor ex, std::function<std::string()> render, Logger log,
                             MetricsServerLimits limits)
    : state_(std::make_shared<State>(ex, std::move(render), std::move(log), limits)) {}

MetricsServer::~MetricsServer() = default;

Result<tcp::endpoint> MetricsServer::listen(const tcp::endpoint& ep) {
    boost::system::error_code ec;
    auto& a = state_->acceptor;
    const std::string where =
        "prometheus listener on " + ep.address().to_string() + ":" + std::to_string(ep.port());
    if (a.open(ep.protocol(), ec); ec) return Error(ec, where + ": opening the socket");
    if (a.set_option(tcp::acceptor::reuse_address(true), ec); ec) return Error(ec, where + ": SO_REUSEADDR");
    if (a.bind(ep, ec); ec) return Error(ec, where + ": binding");
    if (a.listen(asio::socket_base::max_listen_connections, ec); ec) return Error(ec, where + ": listening");
    auto bound = a.local_endpoint(ec);
    if (ec) return Error(ec, where + ": reading the bound address");
    return bound;
}

void MetricsServer::start() { state_->accept_task.start(accept_loop(state_)); }

asio::awaitable<void> MetricsServer::stop() {
    auto s = state_;
    boost::system::error_code ignored;
    s->acceptor.close(ignored);
    co_await s->accept_task.stop();
    // Closing the sockets ends whatever a connection waits for, whichever operation it is.
    for (auto* stream : s->streams) stream->socket().close(ignored);
    for (auto& c : s->connections) c.cancel();
    for (auto& c : s->connections) co_await c.join();
    s->connections.clear();
}

std::size_t MetricsServer::active_connections() const noexcept { return state_->active; }

}  // namespace zferry::daemon
