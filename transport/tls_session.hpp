// One TLS connection's OpenSSL state without I/O: ciphertext goes in through input_space() /
// commit_input(), ciphertext to send comes out of take_output(), and the handshake, encryption
// and decryption are steps that only move bytes between those buffers and the caller's. The
// tls wire drives it with one coroutine per direction (transport/tls_wire.cpp).
//
// The SSL object reads and writes through a BIO of our own over those two buffers, so a large
// batch of ciphertext read with one syscall decrypts record by record into one plaintext buffer,
// and many records encrypted from one plaintext batch leave with one write: no per-record
// syscall, and no copy beyond OpenSSL's own record buffer.
#pragma once

#include "core/error.hpp"
#include "transport/tls13_records.hpp"

#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace zferry::transport {

class TlsSession {
public:
    enum class Role { client, server };
    enum class Step { done, want_input, failed };
    // Who protects the application data of a TLS 1.3 connection once OpenSSL has done its
    // handshake. `own`: transport/tls13_records, sealing from the caller's plaintext into the
    // output and opening from the input into the caller's buffer (what kernel TLS would do);
    // OpenSSL keeps the handshake, certificates, tickets, alerts before the switch and TLS 1.2.
    // `openssl`: OpenSSL's record layer throughout (for comparison, and as the reference peer in
    // tests).
    enum class RecordLayer { own, openssl };

    // A session on `ctx` (its verify mode and certificates); renegotiation is refused.
    static Result<std::unique_ptr<TlsSession>> make(SSL_CTX* ctx, Role role);
    static Result<std::unique_ptr<TlsSession>> make(SSL_CTX* ctx, Role role, RecordLayer layer);
    // The layer make(ctx, role) chooses: `own` unless a benchmark tool set it otherwise.
    static void set_default_record_layer(RecordLayer layer) noexcept;
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    // At least `n` bytes of space for ciphertext read from the peer; commit_input(m) adds the
    // first m of them. Unread input stays (what follows the handshake belongs to the data).
    std::span<char> input_space(std::size_t n);
    void commit_input(std::size_t m);
    // Input not decrypted yet, or plaintext held from a record partly read.
    bool has_input() const { return in_pos_ != in_end_ || SSL_pending(ssl_) > 0; }

    // Advances the handshake with the input so far. On failure `ec` says why (OpenSSL's reason;
    // SSL_get_verify_result on native() says why a certificate was refused); take_output() may
    // then hold the alert for the peer.
    Step handshake(error_code& ec);

    // Encrypts all of `plain` into records appended to the output.
    Result<void> encrypt(std::span<const char> plain);

    // Decrypts the complete records of the input so far into `into`, until the input has no
    // complete record left or `into` is full (then call again). `closed` once the peer sent
    // close_notify; an error for a record that does not authenticate or a protocol violation.
    struct Decrypted {
        std::size_t bytes = 0;
        bool closed = false;
    };
    Result<Decrypted> decrypt(std::span<char> into);

    // Moves the ciphertext produced so far into `into` (whose old content is dropped), leaving
    // `into`'s buffer to be reused by the session.
    void take_output(std::vector<char>& into);
    bool has_output() const { return !out_.empty(); }

    SSL* native() const { return ssl_; }
    // The handshake resumed an earlier session (no certificate was sent or verified).
    bool resumed() const { return SSL_session_reused(ssl_) == 1; }
    // Which layer protects the records sent and received now (`own` only after a TLS 1.3
    // handshake with RecordLayer::own; receiving switches at the first application record).
    bool own_records_sending() const noexcept { return wr_.has_value(); }
    bool own_records_receiving() const noexcept { return read_own_; }

private:
    TlsSession() = default;
    static int bio_read(BIO* b, char* data, std::size_t len, std::size_t* got);
    static int bio_write(BIO* b, const char* data, std::size_t len, std::size_t* put);
    static void on_keylog(const SSL* ssl, const char* line);
    void count_consumed(const char* data, std::size_t n);
    void start_own_records();
    enum class Receiver { own, openssl, wait };
    Receiver next_receiver();
    Result<Decrypted> decrypt_own(std::span<char> into, Decrypted d);
    Result<void> on_post_handshake(std::span<const char> messages);

    SSL* ssl_ = nullptr;
    Role role_ = Role::client;
    RecordLayer layer_ = RecordLayer::own;
    std::vector<char> in_;
    std::size_t in_pos_ = 0;  // in_[in_pos_, in_end_) is unread input
    std::size_t in_end_ = 0;
    std::vector<char> out_;

    // The own record layer. Traffic secrets come from OpenSSL's key log callback; the sending
    // sequence number from the records OpenSSL wrote during the handshake (session tickets are
    // sent under the application key), the receiving one from the records it read after it.
    struct Secret {
        std::array<unsigned char, 48> bytes{};
        std::size_t size = 0;
    };
    Secret client_secret_, server_secret_;
    bool handshake_done_ = false;
    std::vector<char> handshake_written_;  // every byte OpenSSL wrote until the handshake ended
    bool written_overflow_ = false;
    std::optional<Tls13Records> wr_;  // set: we seal; OpenSSL may not write any more
    std::optional<Tls13Records> rd_;  // set: the receiving keys, in use once read_own_
    bool read_own_ = false;
    // OpenSSL's reading position in the record stream: header bytes seen of the current record,
    // body bytes left of it, and whole records read after the handshake.
    std::array<unsigned char, Tls13Records::kHeader> rd_header_{};
    std::size_t rd_header_have_ = 0;
    std::size_t rd_body_left_ = 0;
    std::uint64_t records_read_after_handshake_ = 0;
    // Until we take over receiving, the bytes OpenSSL may read (the records we left to it), and
    // what is left of a handshake message it is in the middle of.
    std::size_t openssl_may_read_ = 0;
    std::size_t hs_left_ = 0;
    // Own receiving: in_[in_pos_, in_pos_ + plain_left_) is opened content not delivered yet,
    // followed by plain_skip_ bytes of the same record (type, padding, tag) to drop after it.
    std::size_t plain_left_ = 0;
    std::size_t plain_skip_ = 0;
    std::vector<char> probe_;  // a record opened to see whether it is for OpenSSL (a ticket)
};

// Session resumption (TLS 1.3 tickets, or TLS 1.2 session IDs): a client that reconnects
// skips the certificate work (signatures, chain verification) on both sides. The server's
// tickets are sealed with keys of its own SSL_CTX, so a session from another server (or
// another run of this one) is not resumed: that handshake is a full one. A resumed session
// carries the peer certificate of its full handshake, so the identity (the client's CN) is
// read and checked on a resumed connection exactly as on a new one.

// Server side: issue tickets and accept them on `ctx` (its verify mode stays in force).
Result<void> enable_server_resumption(SSL_CTX* ctx);

// Client side: keeps the newest session a server gave on `ctx` (a client context per server)
// and offers it to the next connection. The server sends its TLS 1.3 tickets after the
// handshake, so the session arrives while the connection's data is being read. One cache per
// context, which must outlive it; not thread-safe (the connector's executor calls it).
class TlsClientSessionCache {
public:
    explicit TlsClientSessionCache(SSL_CTX* ctx);
    ~TlsClientSessionCache();
    TlsClientSessionCache(const TlsClientSessionCache&) = delete;
    TlsClientSessionCache& operator=(const TlsClientSessionCache&) = delete;

    // Offers the kept session on `ssl` (before its handshake); false if there is none.
    bool offer(SSL* ssl) const;
    bool has_session() const noexcept { return last_ != nullptr; }
    // Forgets the kept session (e.g. after the server refused us).
    void clear() noexcept;

private:
    static int on_new_session(SSL* ssl, SSL_SESSION* session);
    SSL_CTX* ctx_;
    SSL_SESSION* last_ = nullptr;
};

}  // namespace zferry::transport
