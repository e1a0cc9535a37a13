#include "transport/tls_session.hpp"

#include <boost/asio/ssl/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>

#include <openssl/crypto.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string_view>

namespace zferry::transport {

namespace {

std::atomic<TlsSession::RecordLayer> default_layer{TlsSession::RecordLayer::own};

// The slot of an SSL that points back at its TlsSession (for the key log callback).
int session_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// The bytes written by OpenSSL until the handshake ended are kept to find the sending sequence
// number; a handshake that writes more than this (a huge certificate chain) keeps OpenSSL's
// record layer.
constexpr std::size_t kMaxHandshakeWritten = std::size_t{256} << 10;

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

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

void TlsSession::set_default_record_layer(RecordLayer layer) noexcept { default_layer.store(layer); }

Result<std::unique_ptr<TlsSession>> TlsSession::make(SSL_CTX* ctx, Role role) {
    return make(ctx, role, default_layer.load());
}

Result<std::unique_ptr<TlsSession>> TlsSession::make(SSL_CTX* ctx, Role role, RecordLayer layer) {
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
    s->role_ = role;
    s->layer_ = layer;
    if (layer == RecordLayer::own) {
        if (session_index() < 0 || SSL_set_ex_data(s->ssl_, session_index(), s.get()) != 1)
            return Error(Errc::internal, "TLS: cannot attach the session to its connection");
        if (SSL_CTX_get_keylog_callback(ctx) != &TlsSession::on_keylog)
            SSL_CTX_set_keylog_callback(ctx, &TlsSession::on_keylog);
    }
    if (role == Role::client)
        SSL_set_connect_state(s->ssl_);
    else
        SSL_set_accept_state(s->ssl_);
    return s;
}

TlsSession::~TlsSession() {
    if (ssl_) SSL_free(ssl_);
    OPENSSL_cleanse(client_secret_.bytes.data(), client_secret_.bytes.size());
    OPENSSL_cleanse(server_secret_.bytes.data(), server_secret_.bytes.size());
}

// "CLIENT_TRAFFIC_SECRET_0 <client random> <secret>", in hex: the first application traffic
// secrets. Other lines (handshake secrets, TLS 1.2's master secret) are not needed.
void TlsSession::on_keylog(const SSL* ssl, const char* line) {
    if (session_index() < 0) return;
    auto* self = static_cast<TlsSession*>(SSL_get_ex_data(ssl, session_index()));
    if (!self) return;  // a connection of this context that is not a TlsSession's
    const std::string_view l(line);
    const auto sp1 = l.find(' ');
    const auto sp2 = sp1 == l.npos ? l.npos : l.find(' ', sp1 + 1);
    if (sp2 == l.npos) return;
    const std::string_view label = l.substr(0, sp1), hex = l.substr(sp2 + 1);
    Secret* into = label == "CLIENT_TRAFFIC_SECRET_0"   ? &self->client_secret_
                   : label == "SERVER_TRAFFIC_SECRET_0" ? &self->server_secret_
                                                        : nullptr;
    if (!into || hex.size() % 2 != 0 || hex.size() / 2 > into->bytes.size()) return;
    for (std::size_t i = 0; i < hex.size() / 2; ++i) {
        const int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            into->size = 0;
            return;
        }
        into->bytes[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    into->size = hex.size() / 2;
}

// Follows OpenSSL's reads through the record stream: which record it is in, and how many it has
// read whole since the handshake ended (the receiving sequence number if we take over).
void TlsSession::count_consumed(const char* data, std::size_t n) {
    while (n > 0) {
        if (rd_body_left_ == 0) {
            const std::size_t take = std::min(n, rd_header_.size() - rd_header_have_);
            std::memcpy(rd_header_.data() + rd_header_have_, data, take);
            rd_header_have_ += take;
            data += take;
            n -= take;
            if (rd_header_have_ < rd_header_.size()) break;
            rd_header_have_ = 0;
            rd_body_left_ = (std::size_t{rd_header_[3]} << 8) | rd_header_[4];
            if (rd_body_left_ == 0 && handshake_done_) ++records_read_after_handshake_;
            continue;
        }
        const std::size_t take = std::min(n, rd_body_left_);
        rd_body_left_ -= take;
        data += take;
        n -= take;
        if (rd_body_left_ == 0 && handshake_done_) ++records_read_after_handshake_;
    }
}

int TlsSession::bio_read(BIO* b, char* data, std::size_t len, std::size_t* got) {
    auto* s = static_cast<TlsSession*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    std::size_t n = std::min(len, s->in_end_ - s->in_pos_);
    // Between the handshake and our taking over, OpenSSL reads only the records we looked at and
    // left to it (session tickets): the next one may be a key update that we must answer.
    const bool limited = s->handshake_done_ && s->rd_ && !s->read_own_;
    if (limited) n = std::min(n, s->openssl_may_read_);
    if (n == 0) {
        BIO_set_retry_read(b);
        *got = 0;
        return 0;
    }
    std::memcpy(data, s->in_.data() + s->in_pos_, n);
    s->in_pos_ += n;
    if (limited) s->openssl_may_read_ -= n;
    if (s->layer_ == RecordLayer::own && !s->read_own_) s->count_consumed(data, n);
    *got = n;
    return 1;
}

int TlsSession::bio_write(BIO* b, const char* data, std::size_t len, std::size_t* put) {
    auto* s = static_cast<TlsSession*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    // Once we seal, OpenSSL's sequence number is stale: a record of its own now (a reply to a
    // key update it read before we took over receiving) would reuse a nonce. It is refused.
    if (s->wr_) {
        *put = 0;
        return 0;
    }
    s->out_.insert(s->out_.end(), data, data + len);
    if (s->layer_ == RecordLayer::own && !s->handshake_done_) {
        if (s->handshake_written_.size() + len > kMaxHandshakeWritten) s->written_overflow_ = true;
        if (!s->written_overflow_)
            s->handshake_written_.insert(s->handshake_written_.end(), data, data + len);
    }
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
    if (r == 1) {
        if (!handshake_done_) {
            handshake_done_ = true;
            if (layer_ == RecordLayer::own) start_own_records();
        }
        return Step::done;
    }
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ) return Step::want_input;
    ec = ssl_error(e);
    return Step::failed;
}

// Takes the application data over from OpenSSL after a TLS 1.3 handshake with a cipher suite we
// know. Anything else (TLS 1.2, a suite of another kind, secrets not logged) stays OpenSSL's.
void TlsSession::start_own_records() {
    std::vector<char> written = std::move(handshake_written_);
    handshake_written_ = {};
    auto wipe = [this] {
        OPENSSL_cleanse(client_secret_.bytes.data(), client_secret_.bytes.size());
        OPENSSL_cleanse(server_secret_.bytes.data(), server_secret_.bytes.size());
        client_secret_.size = server_secret_.size = 0;
    };
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_);
    if (SSL_version(ssl_) != TLS1_3_VERSION || !cipher || written_overflow_ || client_secret_.size == 0 ||
        server_secret_.size == 0) {
        wipe();
        return;
    }
    const std::uint16_t suite = SSL_CIPHER_get_protocol_id(cipher);
    if (!Tls13Records::supports(suite)) {
        wipe();
        return;
    }
    const Secret& mine = role_ == Role::client ? client_secret_ : server_secret_;
    const Secret& theirs = role_ == Role::client ? server_secret_ : client_secret_;
    auto wr = Tls13Records::make(suite, std::span(mine.bytes.data(), mine.size));
    auto rd = Tls13Records::make(suite, std::span(theirs.bytes.data(), theirs.size));
    wipe();
    if (!wr || !rd) return;

    // The sending sequence number: OpenSSL sent the records under the application key last (a
    // server's session tickets), numbered from 0. Exactly one suffix of the records it wrote
    // opens with our key numbered from 0: the application records (the ones before them are
    // under the handshake key, or plaintext). None: it sent none, we start at 0.
    std::vector<std::span<const char>> records;
    for (std::size_t at = 0; at < written.size();) {
        const auto* h = reinterpret_cast<const unsigned char*>(written.data() + at);
        if (written.size() - at < Tls13Records::kHeader) return;  // cannot happen: keep OpenSSL's
        const std::size_t len = Tls13Records::kHeader + ((std::size_t{h[3]} << 8) | h[4]);
        if (written.size() - at < len) return;
        records.emplace_back(written.data() + at, len);
        at += len;
    }
    std::uint64_t sent = 0;
    for (std::size_t k = 1; k <= records.size(); ++k) {
        bool all = true;
        wr->set_seq(0);
        for (std::size_t i = records.size() - k; i < records.size() && all; ++i) {
            probe_.resize(records[i].size());
            all = static_cast<bool>(wr->open(records[i], probe_.data()));
        }
        if (all) sent = k;
    }
    wr->set_seq(sent);
    OPENSSL_cleanse(probe_.data(), probe_.size());
    wr_ = std::move(*wr);
    // Receiving: OpenSSL stopped at a record boundary after the peer's Finished; we take over at
    // the first application record (a client first lets OpenSSL read the server's tickets).
    if (rd_header_have_ == 0 && rd_body_left_ == 0) {
        records_read_after_handshake_ = 0;
        rd_ = std::move(*rd);
    }
}

// At a record boundary of OpenSSL's reading, with nothing buffered in it: opens the next record
// with our key to see whose it is. A handshake message (a session ticket) is OpenSSL's; anything
// else means the application data has begun, and from here on the records are ours.
// An incomplete record waits for its rest here (OpenSSL would take its first bytes in and own it).
TlsSession::Receiver TlsSession::next_receiver() {
    if (!rd_ || rd_header_have_ != 0 || rd_body_left_ != 0 || SSL_pending(ssl_) > 0 ||
        SSL_has_pending(ssl_) == 1)
        return Receiver::openssl;
    const std::span<const char> avail(in_.data() + in_pos_, in_end_ - in_pos_);
    auto len = Tls13Records::record_length(avail);
    if (!len) {  // not a record we could open: OpenSSL says what is wrong with it
        rd_.reset();
        return Receiver::openssl;
    }
    if (*len == 0 || avail.size() < Tls13Records::kHeader + *len) return Receiver::wait;
    probe_.resize(*len);
    rd_->set_seq(records_read_after_handshake_);
    auto opened = rd_->open(avail.first(Tls13Records::kHeader + *len), probe_.data());
    rd_->set_seq(records_read_after_handshake_);
    if (!opened) {  // our count or key is not OpenSSL's: leave receiving to OpenSSL
        OPENSSL_cleanse(probe_.data(), probe_.size());
        rd_.reset();
        return Receiver::openssl;
    }
    if (opened->type != Tls13Records::kHandshake) {
        OPENSSL_cleanse(probe_.data(), probe_.size());
        return Receiver::own;
    }
    // Handshake messages: session tickets are OpenSSL's (the client keeps them for resumption);
    // anything else (a key update, which may ask for ours) is ours to answer. A ticket may span
    // records: hs_left_ counts what OpenSSL still has to read of it.
    const auto* m = reinterpret_cast<const unsigned char*>(probe_.data());
    const std::size_t n = opened->length;
    const bool continuation = hs_left_ > 0;
    std::size_t at = std::min(hs_left_, n);
    hs_left_ -= at;
    bool tickets_only = true, header_split = false;
    while (at < n) {
        if (n - at < 4) {
            header_split = true;
            break;
        }
        const std::size_t mlen = (std::size_t{m[at + 1]} << 16) | (std::size_t{m[at + 2]} << 8) | m[at + 3];
        if (m[at] != SSL3_MT_NEWSESSION_TICKET) tickets_only = false;
        if (n - at - 4 < mlen) {
            hs_left_ = mlen - (n - at - 4);
            break;
        }
        at += 4 + mlen;
    }
    OPENSSL_cleanse(probe_.data(), probe_.size());
    if (tickets_only && !header_split) {
        openssl_may_read_ = Tls13Records::kHeader + *len;
        return Receiver::openssl;
    }
    // Rarer than rare (a key update sharing a record with part of a ticket, a message header cut
    // by a record boundary): OpenSSL receives from here on; if it must answer a key update, the
    // connection fails (its record would reuse one of our nonces and is refused).
    if (continuation || hs_left_ > 0 || header_split) {
        rd_.reset();
        return Receiver::openssl;
    }
    return Receiver::own;
}

Result<TlsSession::Decrypted> TlsSession::decrypt_own(std::span<char> into, Decrypted d) {
    using R = Tls13Records;
    for (;;) {
        if (plain_left_ > 0) {
            const std::size_t c = std::min(plain_left_, into.size() - d.bytes);
            std::memcpy(into.data() + d.bytes, in_.data() + in_pos_, c);
            d.bytes += c;
            in_pos_ += c;
            plain_left_ -= c;
            if (plain_left_ > 0) return d;  // `into` is full
            in_pos_ += plain_skip_;
            plain_skip_ = 0;
        }
        if (d.closed || d.bytes == into.size()) return d;
        const std::span<const char> avail(in_.data() + in_pos_, in_end_ - in_pos_);
        auto len = R::record_length(avail);
        if (!len) return len.error();
        if (*len == 0 || avail.size() < R::kHeader + *len) return d;  // the rest is not here yet
        const auto record = avail.first(R::kHeader + *len);
        const std::size_t inner = *len - R::kTag;
        // Straight into the caller's buffer when the whole inner plaintext fits, else in place
        // (then delivered from the input buffer).
        const bool direct = into.size() - d.bytes >= inner;
        char* out = direct ? into.data() + d.bytes : in_.data() + in_pos_ + R::kHeader;
        auto opened = rd_->open(record, out);
        if (!opened) return opened.error();
        if (opened->type == R::kApplicationData) {
            if (direct) {
                d.bytes += opened->length;
                in_pos_ += record.size();
            } else {
                in_pos_ += R::kHeader;
                plain_left_ = opened->length;
                plain_skip_ = *len - opened->length;
            }
            continue;
        }
        // Alerts and handshake messages are small: copied before anything else reuses `out`.
        std::vector<char> content(out, out + opened->length);
        in_pos_ += record.size();
        if (opened->type == R::kAlert) {
            if (content.size() != 2) return ssl_reason_error(SSL_R_BAD_LENGTH, "a malformed alert");
            const auto desc = static_cast<unsigned char>(content[1]);
            if (desc == SSL_AD_CLOSE_NOTIFY) {
                d.closed = true;
                return d;
            }
            return ssl_reason_error(SSL_AD_REASON_OFFSET + desc, "an alert");
        }
        if (opened->type == R::kHandshake) {
            if (auto h = on_post_handshake(content); !h) return h.error();
            continue;
        }
        return ssl_reason_error(SSL_R_UNEXPECTED_RECORD, "a record of unknown content type");
    }
}

// Handshake messages after the handshake (RFC 8446 §4.6): a session ticket is dropped (the
// client keeps the ones OpenSSL read before we took over), a key update moves our receiving key
// and, when the peer asks, announces and moves our sending key.
Result<void> TlsSession::on_post_handshake(std::span<const char> messages) {
    const auto* m = reinterpret_cast<const unsigned char*>(messages.data());
    std::size_t at = 0;
    while (at < messages.size()) {
        if (messages.size() - at < 4)
            return ssl_reason_error(SSL_R_UNEXPECTED_MESSAGE, "a handshake message split across records");
        const std::uint8_t type = m[at];
        const std::size_t len = (std::size_t{m[at + 1]} << 16) | (std::size_t{m[at + 2]} << 8) | m[at + 3];
        if (messages.size() - at - 4 < len)
            return ssl_reason_error(SSL_R_UNEXPECTED_MESSAGE, "a handshake message split across records");
        const unsigned char* body = m + at + 4;
        at += 4 + len;
        if (type == SSL3_MT_NEWSESSION_TICKET) continue;
        if (type != SSL3_MT_KEY_UPDATE)
            return ssl_reason_error(SSL_R_UNEXPECTED_MESSAGE, "a handshake message after the handshake");
        if (len != 1 || body[0] > 1) return ssl_reason_error(SSL_R_BAD_KEY_UPDATE, "a malformed key update");
        // A key update ends the records under the old key: none may follow it in this record.
        if (at != messages.size())
            return ssl_reason_error(SSL_R_NOT_ON_RECORD_BOUNDARY, "data after a key update in its record");
        if (auto u = rd_->update(); !u) return u;
        if (body[0] == 1) {  // update_requested: ours goes out under the old key, then we move
            if (!wr_) return ssl_reason_error(SSL_R_BAD_KEY_UPDATE, "a key update we cannot answer");
            static constexpr char reply[] = {static_cast<char>(SSL3_MT_KEY_UPDATE), 0, 0, 1, 0};
            if (auto s =
                    wr_->seal(Tls13Records::kHandshake, std::span<const char>(reply, sizeof reply), out_);
                !s)
                return s;
            if (auto u = wr_->update(); !u) return u;
        }
    }
    return {};
}

Result<void> TlsSession::encrypt(std::span<const char> plain) {
    if (plain.empty()) return {};
    if (wr_) {
        const std::size_t records =
            (plain.size() + Tls13Records::kMaxPlaintext - 1) / Tls13Records::kMaxPlaintext;
        out_.reserve(out_.size() + plain.size() + records * (Tls13Records::kHeader + 1 + Tls13Records::kTag));
        for (std::size_t at = 0; at < plain.size(); at += Tls13Records::kMaxPlaintext) {
            const auto chunk = plain.subspan(at, std::min(Tls13Records::kMaxPlaintext, plain.size() - at));
            if (auto r = wr_->seal(Tls13Records::kApplicationData, chunk, out_); !r)
                return Error(r.error()).wrap("TLS: encrypting data");
        }
        return {};
    }
    ERR_clear_error();
    std::size_t written = 0;
    const int r = SSL_write_ex(ssl_, plain.data(), plain.size(), &written);
    if (r != 1 || written != plain.size())
        return Error(ssl_error(SSL_get_error(ssl_, r)), "TLS: encrypting data");
    return {};
}

Result<TlsSession::Decrypted> TlsSession::decrypt(std::span<char> into) {
    Decrypted d;
    for (;;) {
        if (!read_own_ && rd_) {
            const Receiver next = next_receiver();
            if (next == Receiver::wait) break;
            read_own_ = next == Receiver::own;
        }
        if (read_own_) {
            auto r = decrypt_own(into, d);
            if (!r) return Error(r.error()).wrap("TLS: decrypting data from the peer");
            return r;
        }
        if (d.bytes >= into.size()) break;
        ERR_clear_error();
        std::size_t got = 0;
        const std::size_t consumed_before = in_pos_;
        const int r = SSL_read_ex(ssl_, into.data() + d.bytes, into.size() - d.bytes, &got);
        if (r == 1) {
            d.bytes += got;
            continue;
        }
        const int e = SSL_get_error(ssl_, r);
        // OpenSSL read the ticket it was given and wants more: the next record is looked at first.
        if (e == SSL_ERROR_WANT_READ && rd_ && !read_own_ && in_pos_ != consumed_before) continue;
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
