#include "transport/tls_wire.hpp"

#include "core/async.hpp"
#include "transport/relay_copy.hpp"
#include "transport/tls_channel.hpp"
#include "transport/tls_session.hpp"
#include "transport/transport_error.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>

namespace zferry::transport {

namespace ssl = asio::ssl;
using LocalSocket = asio::local::stream_protocol::socket;

namespace {

Result<std::unique_ptr<ssl::context>> make_context(ssl::context::method method, const TlsFiles& files) {
    auto ctx = std::make_unique<ssl::context>(method);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION) != 1)
        return Error(Errc::internal, "TLS: cannot require TLS 1.2 or newer");
    // Per-connection record buffers go back while a connection is idle (most of them are).
    SSL_CTX_set_mode(ctx->native_handle(), SSL_MODE_RELEASE_BUFFERS);
    error_code ec;
    ctx->load_verify_file(files.ca, ec);
    if (ec) return Error(ec, "TLS: loading the CA " + files.ca);
    if (files.cert.empty() && method == ssl::context::tls_client)
        return ctx;  // a client without a certificate
    ctx->use_certificate_chain_file(files.cert, ec);
    if (ec) return Error(ec, "TLS: loading the certificate " + files.cert);
    ctx->use_private_key_file(files.key, ssl::context::pem, ec);
    if (ec) return Error(ec, "TLS: loading the key " + files.key);
    return ctx;
}

// Why the peer's certificate was not accepted ("certificate has expired", "unable to get local
// issuer certificate", ...), as ": why", or empty when verification is not what failed: the
// handshake error alone says only "certificate verify failed".
std::string verify_detail(SSL* ssl) {
    const long r = SSL_get_verify_result(ssl);
    if (r == X509_V_OK) return {};
    return std::string(": ") + X509_verify_cert_error_string(r);
}

// The subject CN of the peer's verified certificate, empty if it has none.
std::string peer_common_name(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (!cert) return {};
    char buf[256] = {};
    const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
    X509_free(cert);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// Batches: one read from TCP decrypts up to this much ciphertext (record by record) before one
// write to the local socket; one read from the local socket becomes that many records leaving
// with one write.
constexpr std::size_t batch_bytes = std::size_t{1} << 20;
// Where the batches start: a connection grows them (doubling) only while reads fill them, so
// the many connections that carry little (control, idle kept ones) hold kilobytes, not MiB.
constexpr std::size_t first_batch_bytes = std::size_t{16} << 10;

// The handshake over `tcp`, flushing what the session writes (alerts too) before reading more.
asio::awaitable<error_code> run_handshake(asio::ip::tcp::socket& tcp, TlsSession& s) {
    std::vector<char> out;
    for (;;) {
        error_code ec;
        const auto step = s.handshake(ec);
        if (s.has_output()) {
            s.take_output(out);
            auto [wec, n] = co_await asio::async_write(tcp, asio::buffer(out), use_ec);
            if (wec && step != TlsSession::Step::failed) co_return wec;
        }
        if (step == TlsSession::Step::done) co_return error_code();
        if (step == TlsSession::Step::failed) co_return ec;
        auto space = s.input_space(std::size_t{1} << 14);
        auto [rec, n] = co_await tcp.async_read_some(asio::buffer(space.data(), space.size()), use_ec);
        s.commit_input(n);
        if (rec && n == 0) co_return rec;
    }
}

asio::awaitable<void> tls_to_local(asio::ip::tcp::socket& tcp, TlsSession& s, LocalSocket& local) {
    std::vector<char> plain(first_batch_bytes);
    // What followed the handshake in its last read is already input: it is decrypted first.
    for (bool more = true, done = false; !done;) {
        for (;;) {
            auto d = s.decrypt(std::span<char>(plain));
            if (!d) {  // a record that does not authenticate: the connection ends
                done = true;
                break;
            }
            if (d->bytes > 0) {
                auto [wec, m] =
                    co_await asio::async_write(local, asio::buffer(plain.data(), d->bytes), use_ec);
                if (wec) done = true;
            }
            if (d->closed) done = true;
            if (done || d->bytes < plain.size()) break;
        }
        if (done || !more) break;
        auto space = s.input_space(plain.size());
        auto [ec, n] = co_await tcp.async_read_some(asio::buffer(space.data(), space.size()), use_ec);
        s.commit_input(n);
        if (ec) more = false;
        if (n == space.size() && plain.size() < batch_bytes) plain.resize(plain.size() * 2);
    }
    error_code ignored;
    local.shutdown(asio::socket_base::shutdown_send, ignored);
}

asio::awaitable<void> local_to_tls(LocalSocket& local, TlsSession& s, asio::ip::tcp::socket& tcp) {
    std::vector<char> plain(first_batch_bytes);
    std::vector<char> out;
    for (;;) {
        auto [ec, n] = co_await local.async_read_some(asio::buffer(plain), use_ec);
        const bool filled = n == plain.size();
        if (n > 0) {
            if (!s.encrypt(std::span<const char>(plain.data(), n))) break;
        }
        // Also sends what decrypting wrote (a TLS 1.3 key update's answer).
        if (s.has_output()) {
            s.take_output(out);
            auto [wec, m] = co_await asio::async_write(tcp, asio::buffer(out), use_ec);
            if (wec) break;
        }
        if (ec) break;
        if (filled && plain.size() < batch_bytes) plain.resize(plain.size() * 2);
    }
    // The peer reads the end of our data as the TCP half-close (both ends are zferry: a
    // truncated TLS stream at this point is the end of the connection, not an attack on it).
    error_code ignored;
    tcp.shutdown(asio::socket_base::shutdown_send, ignored);
}

// Moves bytes both ways until both directions ended; owns the TCP socket, the session and the
// local end.
asio::awaitable<void> relay(asio::ip::tcp::socket tcp, std::unique_ptr<TlsSession> s,
                            std::unique_ptr<LocalSocket> local) {
    using namespace asio::experimental::awaitable_operators;
    co_await asio::this_coro::throw_if_cancelled(false);
    try {
        co_await (tls_to_local(tcp, *s, *local) && local_to_tls(*local, *s, tcp));
    } catch (const std::exception&) {
        // cancellation at shutdown; both sockets close below
    }
    error_code ignored;
    local->close(ignored);
    tcp.close(ignored);
}

}  // namespace

// The relays of one listener or connector (for connections whose socket a protocol took over:
// TcpConn::release_socket), shared with the channels that may still start one.
class TlsRelays {
public:
    explicit TlsRelays(asio::any_io_executor ex) : ex_(ex) {}
    ~TlsRelays() {
        for (auto& t : tasks_) t->cancel();
    }

    // A local socket pair: one end for a relay over `tcp` and `s`, the other returned.
    Result<asio::ip::tcp::socket> start(asio::ip::tcp::socket tcp, std::unique_ptr<TlsSession> s) {
        if (closed_) return Error(asio::error::operation_aborted, "TLS: the transport is shut down");
        tasks_.remove_if([](const std::unique_ptr<OwnedTask>& t) { return !t->running(); });
        auto pair = make_relay_pair(ex_, "TLS");
        if (!pair) return pair.error();
        auto task = std::make_unique<OwnedTask>(ex_);
        task->start(relay(std::move(tcp), std::move(s), std::move(pair->relay)));
        tasks_.push_back(std::move(task));
        return std::move(pair->wire);
    }
    // No relay starts any more (the listener is gone).
    void close() noexcept { closed_ = true; }
    asio::awaitable<void> shutdown() {
        for (auto& t : tasks_) t->cancel();
        for (auto& t : tasks_) co_await t->join();
        tasks_.clear();
    }

private:
    asio::any_io_executor ex_;
    std::list<std::unique_ptr<OwnedTask>> tasks_;
    bool closed_ = false;
};

namespace {

// A Wire's TLS: the session past its handshake, driven by TcpConn.
class SessionChannel final : public TlsChannel {
public:
    SessionChannel(std::unique_ptr<TlsSession> s, std::shared_ptr<TlsRelays> relays)
        : s_(std::move(s)), relays_(std::move(relays)) {}

    std::span<char> input_space(std::size_t n) override { return s_->input_space(n); }
    void commit_input(std::size_t m) override { s_->commit_input(m); }
    bool has_input() const override { return s_ && s_->has_input(); }
    Result<Decrypted> decrypt(std::span<char> into) override {
        auto d = s_->decrypt(into);
        if (!d) return d.error();
        return Decrypted{d->bytes, d->closed};
    }
    Result<void> encrypt(std::span<const char> plain) override { return s_->encrypt(plain); }
    void take_output(std::vector<char>& into) override { s_->take_output(into); }
    bool has_output() const override { return s_ && s_->has_output(); }
    Result<asio::ip::tcp::socket> into_relay(asio::ip::tcp::socket tcp) override {
        if (!s_) return Error(Errc::internal, "TLS: the session was handed to a relay already");
        return relays_->start(std::move(tcp), std::move(s_));
    }

private:
    std::unique_ptr<TlsSession> s_;
    std::shared_ptr<TlsRelays> relays_;
};

}  // namespace

// ---------------------------------------------------------------------------- listener

TlsWireListener::TlsWireListener(asio::any_io_executor ex, TlsServerConfig config, Logger log)
    : ex_(ex),
      config_(std::move(config)),
      log_(std::move(log)),
      acceptor_(ex),
      accept_task_(ex),
      handshakes_(config_.handshake_limits, "in their TLS handshake"),
      room_(ex),
      relays_(std::make_shared<TlsRelays>(ex)),
      signal_(ex, 1) {}

TlsWireListener::~TlsWireListener() { close(); }

Result<void> TlsWireListener::listen(const asio::ip::tcp::endpoint& ep) {
    auto ctx = make_context(ssl::context::tls_server, config_.files);
    if (!ctx) return ctx.error();
    ssl_ = std::move(*ctx);
    ssl_->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    if (auto r = enable_server_resumption(ssl_->native_handle()); !r) return r.error();
    error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error(ec, "listening on " + describe_endpoint(ep));
    accept_task_.start(accept_loop());
    return {};
}

asio::ip::tcp::endpoint TlsWireListener::local_endpoint() const {
    error_code ec;
    return acceptor_.local_endpoint(ec);
}

void TlsWireListener::reap() {
    tasks_.remove_if([](const std::unique_ptr<OwnedTask>& t) { return !t->running(); });
}

asio::awaitable<void> TlsWireListener::accept_loop() {
    for (;;) {
        // Every slot taken by a handshake too young to shed: newcomers wait in the backlog.
        while (!closed_ && handshakes_.full(std::chrono::steady_clock::now())) {
            room_.expires_at(*handshakes_.sheddable_at());
            co_await room_.async_wait(use_ec);
        }
        if (closed_) co_return;
        auto [ec, accepted] = co_await acceptor_.async_accept(use_ec);
        if (closed_ || ec == asio::error::operation_aborted) co_return;
        if (ec) {
            // Out of descriptors: the oldest unfinished handshake makes room (never spin, never
            // give up on accepting).
            if (is_resource_shortage(ec) && handshakes_.shed_oldest(nullptr, ec.message())) continue;
            log_.warn("TLS: accepting a connection failed: {}; retrying in 100 ms", ec.message());
            asio::steady_timer t(ex_, std::chrono::milliseconds(100));
            co_await t.async_wait(use_ec);
            continue;
        }
        const auto at = std::chrono::steady_clock::now();
        error_code rec;
        const auto remote = accepted.remote_endpoint(rec);
        if (rec) continue;  // gone already
        reap();
        std::string peer = describe_endpoint(remote);
        auto socket = std::make_unique<asio::ip::tcp::socket>(std::move(accepted));
        // Counted until its handshake ends; a newcomer beyond a limit closes the oldest.
        auto slot = handshakes_.admit(
            peer_address(peer),
            [this, s = socket.get(), peer](std::string_view why) {
                log_.with("peer", peer)
                    .warn(
                        "closing a TLS connection in its handshake: {}; a legitimate client "
                        "reconnects",
                        why);
                error_code ignored;
                s->close(ignored);  // its handshake fails at once and the descriptor is free now
            },
            at);
        // Each handshake in its own task: a peer that stalls its handshake holds nobody else up.
        auto task = std::make_unique<OwnedTask>(ex_);
        task->start(serve(std::move(socket), std::move(peer), at, std::move(slot)));
        tasks_.push_back(std::move(task));
    }
}

asio::awaitable<void> TlsWireListener::serve(std::unique_ptr<asio::ip::tcp::socket> accepted,
                                             std::string peer, std::chrono::steady_clock::time_point at,
                                             PendingConnections::Slot admitted) {
    // Locals, so that the slot (whose close function points at the socket) goes first.
    auto owned = std::move(accepted);
    auto slot = std::move(admitted);
    auto& socket = *owned;
    Logger log = log_.with("peer", peer);
    auto session = TlsSession::make(ssl_->native_handle(), TlsSession::Role::server);
    if (!session) {
        log.warn("refusing TLS connection: {}", session.error().message());
        co_return;
    }
    auto tls = std::move(*session);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at + config_.handshake_timeout -
                                                                            std::chrono::steady_clock::now());
    auto done =
        co_await with_timeout(run_handshake(socket, *tls), std::max(left, std::chrono::milliseconds(0)));
    room_.cancel();              // a slot is free now: the accept loop looks again
    if (slot.shed()) co_return;  // closed to make room, and logged so
    slot.release();
    if (!done) {
        log.warn("refusing TLS connection: no handshake within {} ms", config_.handshake_timeout.count());
        co_return;
    }
    if (auto ec = *done; ec) {
        log.warn("refusing TLS connection: handshake failed: {}{}", ec.message(),
                 verify_detail(tls->native()));
        co_return;
    }
    if (tls->resumed()) ++resumed_;
    // Resumed or not, the CN is that of the client certificate the session was made with.
    const std::string cn = peer_common_name(tls->native());
    if (std::find(config_.client_cns.begin(), config_.client_cns.end(), cn) == config_.client_cns.end()) {
        log.warn("refusing TLS connection: client certificate CN '{}' is not in client_cns", cn);
        co_return;
    }
    if (closed_) co_return;
    auto channel = std::make_shared<SessionChannel>(std::move(tls), relays_);
    ready_.push_back(Wire{std::move(socket), cn, peer, std::move(channel), at});
    error_code ok;
    (void)signal_.try_send(ok);
}

asio::awaitable<Result<Wire>> TlsWireListener::accept() {
    for (;;) {
        if (!ready_.empty()) {
            Wire w = std::move(ready_.front());
            ready_.pop_front();
            co_return w;
        }
        if (closed_) co_return Error(asio::error::operation_aborted, "TLS listener closed");
        auto [ec] = co_await signal_.async_receive(use_ec);
        if (ec) co_return Error(asio::error::operation_aborted, "TLS listener: waiting for a connection");
    }
}

void TlsWireListener::close() noexcept {
    closed_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    room_.cancel();
    (void)signal_.try_send(ignored);
}

asio::awaitable<void> TlsWireListener::shutdown() {
    const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    close();
    co_await accept_task_.join();
    for (auto& t : tasks_) t->cancel();
    for (auto& t : tasks_) co_await t->join();
    tasks_.clear();
    ready_.clear();
    relays_->close();
    co_await relays_->shutdown();
    co_await asio::this_coro::throw_if_cancelled(throw_before);
}

// ---------------------------------------------------------------------------- connector

TlsWireConnector::TlsWireConnector(asio::any_io_executor ex, asio::ip::tcp::endpoint server,
                                   TlsClientConfig config, Logger log)
    : ex_(ex),
      server_(server),
      config_(std::move(config)),
      log_(std::move(log)),
      relays_(std::make_shared<TlsRelays>(ex)) {}

TlsWireConnector::~TlsWireConnector() = default;

Result<void> TlsWireConnector::load() {
    auto ctx = make_context(ssl::context::tls_client, config_.files);
    if (!ctx) return ctx.error();
    sessions_.reset();  // before the context it was made for
    ssl_ = std::move(*ctx);
    ssl_->set_verify_mode(ssl::verify_peer);
    sessions_ = std::make_unique<TlsClientSessionCache>(ssl_->native_handle());
    return {};
}

asio::awaitable<Result<Wire>> TlsWireConnector::connect(std::chrono::milliseconds timeout) {
    const std::string where = describe_endpoint(server_);
    if (!ssl_)
        co_return Error(Errc::invalid_argument, "TLS connector for " + where + ": certificates not loaded");
    asio::ip::tcp::socket socket(ex_);
    auto result = co_await with_timeout(socket.async_connect(server_, use_ec), timeout);
    if (!result) co_return Error(TransportErrc::timeout, "connecting to " + where);
    if (auto [ec] = *result; ec) co_return Error(ec, "connecting to " + where);
    auto session = TlsSession::make(ssl_->native_handle(), TlsSession::Role::client);
    if (!session) co_return session.error();
    auto tls = std::move(*session);
    // The server's certificate must carry server_cn (checked while verifying its chain).
    if (SSL_set1_host(tls->native(), config_.server_cn.c_str()) != 1 ||
        SSL_set_tlsext_host_name(tls->native(), config_.server_cn.c_str()) != 1)
        co_return Error(Errc::invalid_argument, "TLS connector for " + where + ": server name '" +
                                                    config_.server_cn + "' not usable");
    // The newest session this server gave us, if any: its certificate work is skipped.
    sessions_->offer(tls->native());
    auto done =
        co_await with_timeout(run_handshake(socket, *tls), std::min(timeout, config_.handshake_timeout));
    if (!done) co_return Error(TransportErrc::timeout, "TLS handshake with " + where);
    if (auto ec = *done; ec) {
        // The server closed the connection without a word (no alert, nothing refused): a busy
        // server shedding handshakes does that; the next attempt may get in.
        if (SSL_get_verify_result(tls->native()) == X509_V_OK &&
            (ec == asio::error::eof || ec == ssl::error::stream_truncated ||
             ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
             ec == asio::error::connection_aborted))
            co_return Error(TransportErrc::connection_closed,
                            "TLS handshake with " + where + ": the server closed the connection (" +
                                ec.message() + "); it may be busy, retrying can help");
        const std::string why = ec.message() + verify_detail(tls->native());
        log_.with("server", where).warn("TLS handshake failed: {}", why);
        sessions_->clear();  // the next attempt does the whole handshake
        // A certificate the server or we refuse does not get better by retrying.
        co_return Error(TransportErrc::refused, "TLS handshake with " + where + ": " + why);
    }
    if (tls->resumed()) ++resumed_;
    auto channel = std::make_shared<SessionChannel>(std::move(tls), relays_);
    co_return Wire{std::move(socket), std::string(), where, std::move(channel)};
}

asio::awaitable<void> TlsWireConnector::shutdown() {
    const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    co_await relays_->shutdown();
    co_await asio::this_coro::throw_if_cancelled(throw_before);
}

}  // namespace zferry::transport
