// The ssh+stdinserver transport (zrepl's, go-netssh's protocol; transport/sshcon.hpp has the
// bytes):
//
//  - SshWireConnector (push/pull `connect: {type: ssh+stdinserver}`) runs
//    `ssh -p PORT -T -i IDENTITY_FILE -o BatchMode=yes [-o OPT]... USER@HOST` with no remote
//    command (the server's authorized_keys forces `zferry stdinserver IDENTITY`), reads
//    SSHCON_HELO from its stdout and writes SSHCON_BEGIN to its stdin, all within the dial
//    timeout. An ssh that ends before the banner is reported with its stderr and classified
//    (classify_ssh_exit: authentication permanent, connectivity temporary).
//  - StdinserverWireListener (sink/source `serve: {type: stdinserver}`) listens on one unix
//    socket per client identity in the sockdir (private: created 0700, an existing one
//    accessible by others refused; stale sockets removed, a live one refused), receives the
//    forced command's stdin and stdout in one SCM_RIGHTS message, writes SSHCON_HELO into that
//    stdout and reads SSHCON_BEGIN from that stdin; the identity is the socket's. When the
//    connection ends it writes the feedback byte 0, which lets the `stdinserver` exit 0.
//
// Above the banner both sides work as the tls transport does: the layers above get one end of
// a local socket pair as their Wire, and a relay task owned by the connector or listener moves
// bytes between the other end and the two pipes. Each ssh child belongs to its connection's
// relay: when the connection ends ssh gets EOF on its stdin and a second to exit, then SIGTERM,
// SIGKILL a second later, and it is always reaped. shutdown() ends every relay and child.
#pragma once

#include "core/owned_task.hpp"
#include "transport/wire.hpp"

#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <deque>
#include <list>
#include <memory>
#include <vector>

namespace zferry::transport {

struct SshConnectConfig {
    std::string ssh_command = "ssh";
    std::string host, user;
    std::uint16_t port = 22;
    std::string identity_file;
    std::vector<std::string> options;  // each becomes `-o OPT`
};

// The ssh command line zrepl runs (argv[1..]).
std::vector<std::string> ssh_arguments(const SshConnectConfig& c);

class SshWireConnector final : public WireConnector {
public:
    SshWireConnector(asio::any_io_executor ex, SshConnectConfig config, Logger log);
    ~SshWireConnector() override;

    asio::awaitable<Result<Wire>> connect(std::chrono::milliseconds timeout) override;
    asio::awaitable<void> shutdown() override;
    std::string describe() const override;  // "ssh:user@host:port"

private:
    asio::awaitable<Result<Wire>> dial(std::chrono::milliseconds timeout);
    void reap();

    asio::any_io_executor ex_;
    SshConnectConfig config_;
    Logger log_;
    std::list<std::unique_ptr<OwnedTask>> relays_;
};

struct StdinserverConfig {
    std::string sockdir;
    std::vector<std::string> client_identities;  // each a valid dataset name component
    // For receiving the descriptors and the SSHCON exchange of one connection.
    std::chrono::milliseconds handshake_timeout{10000};
};

// `<sockdir>/<identity>`.
std::string stdinserver_socket_path(const std::string& sockdir, const std::string& identity);

class StdinserverWireListener final : public WireListener {
public:
    StdinserverWireListener(asio::any_io_executor ex, StdinserverConfig config, Logger log);
    ~StdinserverWireListener() override;
    // Checks or creates the sockdir, then binds one socket per identity. Errors name the
    // directory or socket and what to do.
    Result<void> listen();

    asio::awaitable<Result<Wire>> accept() override;
    void close() noexcept override;
    asio::awaitable<void> shutdown() override;
    asio::ip::tcp::endpoint local_endpoint() const override { return {}; }
    std::string describe() const override;  // "stdinserver /run/x (a, b)"

private:
    using Acceptor = asio::local::stream_protocol::acceptor;
    using LocalSocket = asio::local::stream_protocol::socket;
    asio::awaitable<void> accept_loop(Acceptor& acceptor, std::string identity);
    asio::awaitable<void> serve(LocalSocket control, std::string identity);
    void reap();

    asio::any_io_executor ex_;
    StdinserverConfig config_;
    Logger log_;
    std::vector<std::unique_ptr<Acceptor>> acceptors_;
    std::vector<std::string> paths_;
    std::list<std::unique_ptr<OwnedTask>> accept_tasks_;
    std::list<std::unique_ptr<OwnedTask>> tasks_;  // per connection: handshake, then relay
    std::deque<Wire> ready_;
    asio::experimental::channel<void(error_code)> signal_;
    bool closed_ = false;
};

}  // namespace zferry::transport
