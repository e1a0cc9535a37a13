// The layer under the version handshake: a transport (tcp, tls, ssh+stdinserver) delivers connected stream
// sockets, and on the server side the client identity it established for the peer (tcp: the `clients:` map of
// peer addresses; tls: the client certificate's CN; local: the configured identity). Everything above
// (banners, mux labels, the gRPC control channel, dataconn) runs unchanged on whatever transport delivered
// the wire.
//
// A wire is a kernel stream socket, so the data path keeps splice and the io engines. A
// transport that transforms bytes (TLS) also hands over its channel (transport/tls_channel):
// TcpConn then reads and writes the socket through it (no relay in between); the callers
// only see Wire.
#pragma once

#include "core/error.hpp"
#include "core/log.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace zferry::transport {

namespace asio = boost::asio;

class TlsChannel;

struct Wire {
    asio::ip::tcp::socket socket;
    std::string identity;  // server side: the client's identity; empty on the client side
    std::string peer;      // the peer's address, for log lines
    // tls: the session past its handshake; `socket` is then the TCP socket carrying its records.
    std::shared_ptr<TlsChannel> tls;
    // Server side, when the transport did work of its own before delivering the wire (the TLS
    // handshake): when the connection was accepted, so that everything before authentication
    // and the preamble share one deadline. Unset (epoch): counted from the delivery.
    std::chrono::steady_clock::time_point accepted{};
};

class WireListener {
public:
    virtual ~WireListener() = default;
    // The next connection whose peer the transport accepted and identified. Peers it refuses
    // are closed (before a byte is read or written) and logged here, never returned. An error
    // is operation_aborted after close(), or accept itself failing (the caller pauses before it
    // asks again).
    virtual asio::awaitable<Result<Wire>> accept() = 0;
    virtual void close() noexcept = 0;
    // close(), then waits for every task the transport runs (handshakes, relays); the owner
    // awaits it after the connections it accepted were closed.
    virtual asio::awaitable<void> shutdown() {
        close();
        co_return;
    }
    virtual asio::ip::tcp::endpoint local_endpoint() const = 0;
    // Where it listens, for log lines: "127.0.0.1:8888"; transports without an address say
    // what they listen on instead.
    virtual std::string describe() const;
};

class WireConnector {
public:
    virtual ~WireConnector() = default;
    // A connected wire to the server within `timeout`; failures are temporary (the server may
    // come back) and name the server.
    virtual asio::awaitable<Result<Wire>> connect(std::chrono::milliseconds timeout) = 0;
    virtual std::string describe() const = 0;
    // Waits for every task the transport runs for its connections (relays); the owner awaits
    // it after its connections were closed.
    virtual asio::awaitable<void> shutdown() { co_return; }
};

// "127.0.0.1:8888", "[::1]:8888".
std::string describe_endpoint(const asio::ip::tcp::endpoint& ep);

// tcp: the identity of a peer comes from its address (the `clients:` map; nullopt: unmapped,
// the connection is closed and logged with the address).
using IdentifyByAddress = std::function<std::optional<std::string>(const asio::ip::address&)>;

class TcpWireListener final : public WireListener {
public:
    TcpWireListener(asio::any_io_executor ex, IdentifyByAddress identify, Logger log);
    Result<void> listen(const asio::ip::tcp::endpoint& ep);

    asio::awaitable<Result<Wire>> accept() override;
    void close() noexcept override;
    asio::ip::tcp::endpoint local_endpoint() const override;

private:
    asio::ip::tcp::acceptor acceptor_;
    IdentifyByAddress identify_;
    Logger log_;
};

class TcpWireConnector final : public WireConnector {
public:
    explicit TcpWireConnector(asio::ip::tcp::endpoint server) : server_(server) {}
    asio::awaitable<Result<Wire>> connect(std::chrono::milliseconds timeout) override;
    std::string describe() const override { return describe_endpoint(server_); }

private:
    asio::ip::tcp::endpoint server_;
};

}  // namespace zferry::transport
