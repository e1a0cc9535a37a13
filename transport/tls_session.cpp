#include "transport/tls_session.hpp"

#include <boost/asio/ssl/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>

#include <algorithm>
#include <cstring>

namespace zferry::transport {

namespace {

// The BIO over the session's input and output buffers. Never freed: one per process, like
// OpenSSL's own methods.
const BIO_METHOD* buffer_bio_method(int (*read)(BIO*, char*, std::size_t, std::size_t*),
                                    int (*write)(BIO*, const char*, std::size_t, std::size_t*)) {
    static BIO_METHOD* method = [&] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "zferry tls buffers");
        if (!m) return m;
        BIO_meth_set_read_ex(m, read);
        BIO_meth_set_write_ex(m, write);
        BIO_meth_set_ctrl(m,
                          [](BIO*, int cmd, long, void*) -> long { return cmd == BIO_CTRL_FLUSH ? 1 : 0; });
        BIO_meth_set_create(m, [](BIO* b) {
            BIO_set_init(b, 1);
            return 1;
        });
        return m;
    }();
    return method;
}

// OpenSSL's reason for the last failure, as Asio's ssl::stream reports it.
error_code ssl_error(int ssl_err) {
    if (ssl_err == SSL_ERROR_SSL) {
        const unsigned long e = ERR_get_error();
        ERR_clear_error();
        if (e != 0) return error_code(static_cast<int>(e), boost::asio::error::get_ssl_category());
    }
    ERR_clear_error();
    return boost::asio::ssl::error::stream_truncated;
}

}  // namespace

Result<std::unique_ptr<TlsSession>> TlsSession::make(SSL_CTX* ctx, Role role) {
    const BIO_METHOD* method = buffer_bio_method(&TlsSession::bio_read, &TlsSession::bio_write);
    if (!method) return Error(Errc::internal, "TLS: cannot create the buffer BIO method");
    std::unique_ptr<TlsSession> s(new TlsSession());
    s->ssl_ = SSL_new(ctx);
    if (!s->ssl_) return Error(Errc::internal, "TLS: cannot create a connection (SSL_new)");
    BIO* bio = BIO_new(method);
    if (!bio) return Error(Errc::internal, "TLS: cannot create a BIO");
    BIO_set_data(bio, s.get());
    SSL_set_bio(s->ssl_, bio, bio);  // one BIO both ways: the SSL owns it
    SSL_set_options(s->ssl_, SSL_OP_NO_RENEGOTIATION);
    if (role == Role::client)
        SSL_set_connect_state(s->ssl_);
    else
        SSL_set_accept_state(s->ssl_);
    return s;
}

TlsSession::~TlsSession() {
    if (ssl_) SSL_free(ssl_);
}

int TlsSession::bio_read(BIO* b, char* data, std::size_t len, std::size_t* got) {
    auto* s = static_cast<TlsSession*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    const std::size_t n = std::min(len, s->in_end_ - s->in_pos_);
    if (n == 0) {
        BIO_set_retry_read(b);
        *got = 0;
        return 0;
    }
    std::memcpy(data, s->in_.data() + s->in_pos_, n);
    s->in_pos_ += n;
    *got = n;
    return 1;
}

int TlsSession::bio_write(BIO* b, const char* data, std::size_t len, std::size_t* put) {
    auto* s = static_cast<TlsSession*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    s->out_.insert(s->out_.end(), data, data + len);
    *put = len;
    return 1;
}

std::span<char> TlsSession::input_space(std::size_t n) {
    if (in_pos_ == in_end_) {
        in_pos_ = in_end_ = 0;
    } else if (in_pos_ > 0 && in_.size() - in_end_ < n) {
        std::memmove(in_.data(), in_.data() + in_pos_, in_end_ - in_pos_);
        in_end_ -= in_pos_;
        in_pos_ = 0;
    }
    if (in_.size() - in_end_ < n) in_.resize(in_end_ + n);
    return {in_.data() + in_end_, in_.size() - in_end_};
}

void TlsSession::commit_input(std::size_t m) { in_end_ = std::min(in_end_ + m, in_.size()); }

TlsSession::Step TlsSession::handshake(error_code& ec) {
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) return Step::done;
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ) return Step::want_input;
    ec = ssl_error(e);
    return Step::failed;
}

Result<void> TlsSession::encrypt(std::span<const char> plain) {
    if (plain.empty()) return {};
    ERR_clear_error();
    std::size_t written = 0;
    const int r = SSL_write_ex(ssl_, plain.data(), plain.size(), &written);
    if (r != 1 || written != plain.size())
        return Error(ssl_error(SSL_get_error(ssl_, r)), "TLS: encrypting data");
    return {};
}

Result<TlsSession::Decrypted> TlsSession::decrypt(std::span<char> into) {
    Decrypted d;
    while (d.bytes < into.size()) {
        ERR_clear_error();
        std::size_t got = 0;
        const int r = SSL_read_ex(ssl_, into.data() + d.bytes, into.size() - d.bytes, &got);
        if (r == 1) {
            d.bytes += got;
            continue;
        }
        const int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_WANT_READ) break;
        if (e == SSL_ERROR_ZERO_RETURN) {
            d.closed = true;
            break;
        }
        return Error(ssl_error(e), "TLS: decrypting data from the peer");
    }
    return d;
}

void TlsSession::take_output(std::vector<char>& into) {
    into.clear();
    std::swap(into, out_);
}

Result<void> enable_server_resumption(SSL_CTX* ctx) {
    // Without a session ID context a server that verifies peers refuses every resumption.
    static constexpr unsigned char context[] = "zferry";
    if (SSL_CTX_set_session_id_context(ctx, context, sizeof context - 1) != 1)
        return Error(Errc::internal, "TLS: cannot set the session ID context");
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    // One ticket per connection: a client keeps only the newest.
    if (SSL_CTX_set_num_tickets(ctx, 1) != 1) return Error(Errc::internal, "TLS: cannot set session tickets");
    return {};
}

TlsClientSessionCache::TlsClientSessionCache(SSL_CTX* ctx) : ctx_(ctx) {
    SSL_CTX_set_app_data(ctx_, this);
    // Sessions come to on_new_session only; OpenSSL's own client cache would never be read.
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx_, &TlsClientSessionCache::on_new_session);
}

TlsClientSessionCache::~TlsClientSessionCache() {
    // Connections still open on the context (their SSL keeps it alive) find no cache.
    SSL_CTX_set_app_data(ctx_, nullptr);
    clear();
}

int TlsClientSessionCache::on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* self = static_cast<TlsClientSessionCache*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
    if (!self || SSL_SESSION_is_resumable(session) != 1) return 0;
    // A copy: OpenSSL marks the connection's own session not resumable when that connection
    // ends without close_notify, which is how zferry's connections end (a TCP half-close).
    SSL_SESSION* copy = SSL_SESSION_dup(session);
    if (!copy) return 0;
    self->clear();
    self->last_ = copy;
    return 0;  // the connection's reference stays OpenSSL's
}

bool TlsClientSessionCache::offer(SSL* ssl) const {
    if (!last_) return false;
    // Each connection gets a copy, for the same reason: connections that offered it at the same
    // time (control and data) and end without close_notify leave the kept one resumable.
    SSL_SESSION* copy = SSL_SESSION_dup(last_);
    if (!copy) return false;
    const bool set = SSL_set_session(ssl, copy) == 1;
    SSL_SESSION_free(copy);  // the connection holds its own reference
    return set;
}

void TlsClientSessionCache::clear() noexcept {
    if (last_) SSL_SESSION_free(last_);
    last_ = nullptr;
}

}  // namespace zferry::transport
