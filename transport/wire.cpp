#include "transport/wire.hpp"

#include "core/async.hpp"
#include "transport/transport_error.hpp"

#include <boost/asio/this_coro.hpp>

namespace zferry::transport {

std::string describe_endpoint(const asio::ip::tcp::endpoint& ep) {
    std::string addr = ep.address().to_string();
    if (ep.address().is_v6()) addr = "[" + addr + "]";
    return addr + ":" + std::to_string(ep.port());
}

std::string WireListener::describe() const { return describe_endpoint(local_endpoint()); }

TcpWireListener::TcpWireListener(asio::any_io_executor ex, IdentifyByAddress identify, Logger log)
    : acceptor_(ex), identify_(std::move(identify)), log_(std::move(log)) {}

Result<void> TcpWireListener::listen(const asio::ip::tcp::endpoint& ep) {
    error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error(ec, "listening on " + describe_endpoint(ep));
    return {};
}

asio::awaitable<Result<Wire>> TcpWireListener::accept() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_ec);
        if (ec) co_return Error(ec, "accepting on " + describe_endpoint(local_endpoint()));
        error_code rec;
        const auto remote = socket.remote_endpoint(rec);
        if (rec) continue;  // the peer is gone already; the socket closes here
        std::optional<std::string> identity;
        if (identify_) identity = identify_(remote.address());
        if (!identity) {
            log_.with("peer", describe_endpoint(remote))
                .warn("refusing connection: {} is not in the clients map", remote.address().to_string());
            continue;  // closed before a byte is read or written
        }
        co_return Wire{std::move(socket), std::move(*identity), describe_endpoint(remote)};
    }
}

void TcpWireListener::close() noexcept {
    error_code ignored;
    acceptor_.close(ignored);
}

asio::ip::tcp::endpoint TcpWireListener::local_endpoint() const {
    error_code ec;
    return acceptor_.local_endpoint(ec);
}

asio::awaitable<Result<Wire>> TcpWireConnector::connect(std::chrono::milliseconds timeout) {
    auto ex = co_await asio::this_coro::executor;
    asio::ip::tcp::socket socket(ex);
    auto result = co_await with_timeout(socket.async_connect(server_, use_ec), timeout);
    const std::string where = describe_endpoint(server_);
    if (!result) co_return Error(TransportErrc::timeout, "connecting to " + where);
    if (auto [ec] = *result; ec) co_return Error(ec, "connecting to " + where);
    co_return Wire{std::move(socket), std::string(), where};
}

}  // namespace zferry::transport
