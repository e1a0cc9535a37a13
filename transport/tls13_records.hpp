// TLS 1.3 record protection for one direction of a connection whose handshake OpenSSL did
// (RFC 8446 §5.2 record layout, §5.3 per-record nonce, §7.1 HKDF-Expand-Label, §7.2 key update),
// without I/O. TlsSession hands the application data of a TLS 1.3 connection to a pair of these
// once the handshake is done: a record is sealed straight from the caller's plaintext into the
// output buffer and opened straight from the received ciphertext into the caller's buffer, as
// the kernel's TLS does, where OpenSSL's record layer copies each record through its own
// buffers and our BIO (two copies per byte received, one per byte sent).
//
// Only the cipher suites of TLS 1.3 that OpenSSL enables by default: TLS_AES_128_GCM_SHA256,
// TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256.
#pragma once

#include "core/error.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace zferry::transport {

// An error with OpenSSL's reason code `reason` (an SSL_R_* value) in Asio's ssl category, so that
// a failure found here reads and is classified exactly as the same failure found by OpenSSL's
// record layer ("decryption failed or bad record mac (SSL routines)").
Error ssl_reason_error(int reason, std::string context);

class Tls13Records {
public:
    static constexpr std::size_t kHeader = 5;
    static constexpr std::size_t kTag = 16;
    static constexpr std::size_t kMaxPlaintext = std::size_t{1} << 14;
    // The largest record a peer may send: 2^14 + 256 bytes after the header (§5.2).
    static constexpr std::size_t kMaxCiphertext = kMaxPlaintext + 256;
    // Record content types.
    static constexpr std::uint8_t kAlert = 21, kHandshake = 22, kApplicationData = 23;

    // Whether `suite` (SSL_CIPHER_get_protocol_id: 0x1301, 0x1302, 0x1303) is one of ours.
    static bool supports(std::uint16_t suite);
    // The protection of traffic secret `secret` (its hash's length: 32 or 48 bytes), at record
    // sequence number `seq`.
    static Result<Tls13Records> make(std::uint16_t suite, std::span<const unsigned char> secret,
                                     std::uint64_t seq = 0);

    Tls13Records(Tls13Records&&) noexcept;
    Tls13Records& operator=(Tls13Records&&) noexcept;
    ~Tls13Records();  // wipes the secret and the key

    // Appends one record of inner content type `type` holding `plain` (at most kMaxPlaintext
    // bytes) to `out`: kHeader + plain.size() + 1 + kTag bytes.
    Result<void> seal(std::uint8_t type, std::span<const char> plain, std::vector<char>& out);

    // The length after the header of the complete record at the start of `bytes` (0 if fewer
    // than kHeader bytes are there), or an error if the header is not one a TLS 1.3 peer sends
    // after its handshake (outer type application_data, length 17 .. kMaxCiphertext).
    static Result<std::size_t> record_length(std::span<const char> bytes);

    struct Opened {
        std::size_t length = 0;  // of the content, which starts at the output's first byte
        std::uint8_t type = 0;   // the inner content type
    };
    // Opens the record `record` (header and record_length bytes). Its inner plaintext (content,
    // type byte, padding: record.size() - kHeader - kTag bytes) goes to `into`, which may be the
    // ciphertext's own first byte (in place). An error if it does not authenticate; `into` then
    // holds nothing worth reading.
    Result<Opened> open(std::span<const char> record, char* into);

    // Moves to the next traffic secret (a KeyUpdate sent or received), sequence number 0.
    Result<void> update();

    std::uint64_t seq() const noexcept { return seq_; }
    void set_seq(std::uint64_t seq) noexcept { seq_ = seq; }

private:
    Tls13Records() = default;
    Result<void> derive();
    void nonce(unsigned char out[12]) const;

    struct CtxFree {
        void operator()(EVP_CIPHER_CTX* c) const noexcept;
    };
    std::uint16_t suite_ = 0;
    std::array<unsigned char, 48> secret_{};
    std::size_t secret_len_ = 0;
    std::array<unsigned char, 12> iv_{};
    std::uint64_t seq_ = 0;
    std::unique_ptr<EVP_CIPHER_CTX, CtxFree> seal_;
    std::unique_ptr<EVP_CIPHER_CTX, CtxFree> open_;
};

}  // namespace zferry::transport
