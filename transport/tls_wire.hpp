// The tls transport (zrepl's `tls`): mutual TLS with OpenSSL (transport/tls_session), TLS
// 1.2 or newer only, every certificate checked against the configured CA. The server requires
// a client certificate; the client's identity is the certificate's CN, which must be in
// `client_cns` (the user of the wire checks that it is one valid dataset name component). The client checks
// the server's certificate for `server_cn`. The handshake has a deadline; every refusal is logged with the
// peer's address and OpenSSL's reason.
//
// Admission: connections in their TLS handshake are bounded in total and per source address
// (the PendingConnections policy, a set of the listener's own): a newcomer beyond a limit
// closes the oldest unfinished handshake, as does an accept that ran out of descriptors, so a
// flood of silent or trickling peers cannot hold a legitimate client out. The handshake
// deadline counts from the accept, and the wire carries that moment, so the endpoint server's
// preamble deadline (banners, label) is the same budget. Sessions are resumed (TLS 1.3
// tickets; the connector keeps its server's newest session): a reconnecting client skips the
// certificate work, and its identity is still the CN of the certificate its session carries.
//
// Above the handshake the Wire is the TCP socket itself with the session as its TlsChannel:
// TcpConn encrypts and decrypts in the connection's own reads and writes (many records per
// syscall), no hop through the kernel in between. Only a protocol that must own a kernel socket
// (the gRPC control channel, TcpConn::release_socket) gets one end of a local socket pair, and
// a relay task owned by the listener or connector moves bytes between its other end and TLS.
#pragma once

#include "core/owned_task.hpp"
#include "transport/pending_connections.hpp"
#include "transport/wire.hpp"

#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <list>
#include <memory>
#include <vector>

namespace zferry::transport {

class TlsClientSessionCache;
class TlsRelays;

struct TlsFiles {
    std::string ca;    // PEM: the CA every peer certificate must chain to
    std::string cert;  // PEM: our certificate (chain); a client may have none (the server refuses it)
    std::string key;   // PEM: its private key
};

struct TlsServerConfig {
    TlsFiles files;
    std::vector<std::string> client_cns;  // the CNs allowed in
    // From the accept: the handshake, and (through Wire::accepted) the preamble above it.
    std::chrono::milliseconds handshake_timeout{10000};
    // Connections in their TLS handshake, in total and per source address. One younger than
    // 2 s is not shed: at the total limit the listener stops accepting until one is old enough
    // or done (a legitimate burst waits in the kernel's backlog instead of being cut off).
    PendingLimits handshake_limits{.max_pending = 256,
                                   .max_pending_per_address = 32,
                                   .min_age_to_shed = std::chrono::milliseconds(2000)};
};

struct TlsClientConfig {
    TlsFiles files;
    std::string server_cn;  // the name the server's certificate must carry
    std::chrono::milliseconds handshake_timeout{10000};
};

class TlsWireListener final : public WireListener {
public:
    TlsWireListener(asio::any_io_executor ex, TlsServerConfig config, Logger log);
    ~TlsWireListener() override;
    // Loads the CA, certificate and key (errors name the file), then binds and accepts.
    Result<void> listen(const asio::ip::tcp::endpoint& ep);

    asio::awaitable<Result<Wire>> accept() override;
    void close() noexcept override;
    asio::awaitable<void> shutdown() override;
    asio::ip::tcp::endpoint local_endpoint() const override;
    // Connections in their TLS handshake now; handshakes that resumed a session so far.
    std::size_t handshakes_in_progress() const noexcept { return handshakes_.count(); }
    std::uint64_t resumed_sessions() const noexcept { return resumed_; }

private:
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(std::unique_ptr<asio::ip::tcp::socket> socket, std::string peer,
                                std::chrono::steady_clock::time_point accepted,
                                PendingConnections::Slot admitted);
    void reap();

    asio::any_io_executor ex_;
    TlsServerConfig config_;
    Logger log_;
    std::unique_ptr<asio::ssl::context> ssl_;
    asio::ip::tcp::acceptor acceptor_;
    OwnedTask accept_task_;
    PendingConnections handshakes_;  // before tasks_: their slots point into it
    asio::steady_timer room_;        // the accept loop waits on it while handshakes_ is full()
    std::uint64_t resumed_ = 0;
    std::list<std::unique_ptr<OwnedTask>> tasks_;  // handshakes
    std::shared_ptr<TlsRelays> relays_;
    std::deque<Wire> ready_;
    asio::experimental::channel<void(error_code)> signal_;
    bool closed_ = false;
};

class TlsWireConnector final : public WireConnector {
public:
    TlsWireConnector(asio::any_io_executor ex, asio::ip::tcp::endpoint server, TlsClientConfig config,
                     Logger log);
    ~TlsWireConnector() override;
    // Loads the CA, certificate and key; errors name the file.
    Result<void> load();

    asio::awaitable<Result<Wire>> connect(std::chrono::milliseconds timeout) override;
    asio::awaitable<void> shutdown() override;
    std::string describe() const override { return describe_endpoint(server_); }
    // Connections whose handshake resumed the session kept from an earlier one.
    std::uint64_t resumed_sessions() const noexcept { return resumed_; }

private:
    asio::any_io_executor ex_;
    asio::ip::tcp::endpoint server_;
    TlsClientConfig config_;
    Logger log_;
    std::unique_ptr<asio::ssl::context> ssl_;
    std::unique_ptr<TlsClientSessionCache> sessions_;  // after ssl_: goes before its context
    std::uint64_t resumed_ = 0;
    std::shared_ptr<TlsRelays> relays_;
};

}  // namespace zferry::transport
