#include "transport/tls13_records.hpp"

#include <boost/asio/ssl/error.hpp>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include <cstring>
#include <string_view>

namespace zferry::transport {

Error ssl_reason_error(int reason, std::string context) {
    // The reason's text comes from OpenSSL's error strings (loaded by any SSL_CTX, but this may
    // run before one exists).
    static const bool loaded = OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, nullptr) == 1;
    (void)loaded;
    const auto code = static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason));
    return Error(error_code(code, boost::asio::error::get_ssl_category()), std::move(context));
}

namespace {

struct Suite {
    const EVP_CIPHER* cipher;
    const EVP_MD* md;
};

bool suite_of(std::uint16_t id, Suite& s) {
    switch (id) {
        case 0x1301: s = {EVP_aes_128_gcm(), EVP_sha256()}; return true;
        case 0x1302: s = {EVP_aes_256_gcm(), EVP_sha384()}; return true;
        case 0x1303: s = {EVP_chacha20_poly1305(), EVP_sha256()}; return true;
        default: return false;
    }
}

// HKDF-Expand-Label(secret, label, "", out.size()) (RFC 8446 §7.1).
bool expand_label(const EVP_MD* md, std::span<const unsigned char> secret, std::string_view label,
                  std::span<unsigned char> out) {
    unsigned char info[2 + 1 + 255 + 1];
    std::size_t n = 0;
    info[n++] = static_cast<unsigned char>(out.size() >> 8);
    info[n++] = static_cast<unsigned char>(out.size());
    static constexpr std::string_view prefix = "tls13 ";
    info[n++] = static_cast<unsigned char>(prefix.size() + label.size());
    std::memcpy(info + n, prefix.data(), prefix.size());
    n += prefix.size();
    std::memcpy(info + n, label.data(), label.size());
    n += label.size();
    info[n++] = 0;  // empty context
    EVP_PKEY_CTX* p = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
    std::size_t len = out.size();
    const bool ok = p && EVP_PKEY_derive_init(p) == 1 && EVP_PKEY_CTX_set_hkdf_md(p, md) == 1 &&
                    EVP_PKEY_CTX_set_hkdf_mode(p, EVP_PKEY_HKDEF_MODE_EXPAND_ONLY) == 1 &&
                    EVP_PKEY_CTX_set1_hkdf_key(p, secret.data(), static_cast<int>(secret.size())) == 1 &&
                    EVP_PKEY_CTX_add1_hkdf_info(p, info, static_cast<int>(n)) == 1 &&
                    EVP_PKEY_derive(p, out.data(), &len) == 1 && len == out.size();
    EVP_PKEY_CTX_free(p);
    return ok;
}

}  // namespace

void Tls13Records::CtxFree::operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }

bool Tls13Records::supports(std::uint16_t suite) {
    Suite s;
    return suite_of(suite, s);
}

Result<Tls13Records> Tls13Records::make(std::uint16_t suite, std::span<const unsigned char> secret,
                                        std::uint64_t seq) {
    Suite s;
    if (!suite_of(suite, s))
        return Error(Errc::invalid_argument, "TLS 1.3 records: unsupported cipher suite");
    if (secret.size() != static_cast<std::size_t>(EVP_MD_get_size(s.md)))
        return Error(Errc::invalid_argument,
                     "TLS 1.3 records: the traffic secret's length is not its hash's");
    Tls13Records r;
    r.suite_ = suite;
    std::memcpy(r.secret_.data(), secret.data(), secret.size());
    r.secret_len_ = secret.size();
    r.seal_.reset(EVP_CIPHER_CTX_new());
    r.open_.reset(EVP_CIPHER_CTX_new());
    if (!r.seal_ || !r.open_)
        return Error(Errc::internal, "TLS 1.3 records: cannot allocate a cipher context");
    if (auto d = r.derive(); !d) return d.error();
    r.seq_ = seq;
    return r;
}

Tls13Records::Tls13Records(Tls13Records&& o) noexcept
    : suite_(o.suite_),
      secret_(o.secret_),
      secret_len_(o.secret_len_),
      iv_(o.iv_),
      seq_(o.seq_),
      seal_(std::move(o.seal_)),
      open_(std::move(o.open_)) {
    OPENSSL_cleanse(o.secret_.data(), o.secret_.size());
}

Tls13Records& Tls13Records::operator=(Tls13Records&& o) noexcept {
    if (this != &o) {
        suite_ = o.suite_;
        secret_ = o.secret_;
        secret_len_ = o.secret_len_;
        iv_ = o.iv_;
        seq_ = o.seq_;
        seal_ = std::move(o.seal_);
        open_ = std::move(o.open_);
        OPENSSL_cleanse(o.secret_.data(), o.secret_.size());
    }
    return *this;
}

Tls13Records::~Tls13Records() {
    OPENSSL_cleanse(secret_.data(), secret_.size());
    OPENSSL_cleanse(iv_.data(), iv_.size());
    // The cipher contexts wipe their key schedules when freed.
}

Result<void> Tls13Records::derive() {
    Suite s;
    suite_of(suite_, s);
    const auto key_len = static_cast<std::size_t>(EVP_CIPHER_get_key_length(s.cipher));
    std::array<unsigned char, 32> key{};
    const std::span<const unsigned char> secret(secret_.data(), secret_len_);
    const bool ok = expand_label(s.md, secret, "key", std::span(key.data(), key_len)) &&
                    expand_label(s.md, secret, "iv", iv_) &&
                    EVP_EncryptInit_ex(seal_.get(), s.cipher, nullptr, key.data(), nullptr) == 1 &&
                    EVP_DecryptInit_ex(open_.get(), s.cipher, nullptr, key.data(), nullptr) == 1;
    OPENSSL_cleanse(key.data(), key.size());
    if (!ok) {
        ERR_clear_error();
        return Error(Errc::internal, "TLS 1.3 records: cannot derive the traffic keys");
    }
    seq_ = 0;
    return {};
}

Result<void> Tls13Records::update() {
    Suite s;
    suite_of(suite_, s);
    std::array<unsigned char, 48> next{};
    if (!expand_label(s.md, std::span<const unsigned char>(secret_.data(), secret_len_), "traffic upd",
                      std::span(next.data(), secret_len_))) {
        ERR_clear_error();
        return Error(Errc::internal, "TLS 1.3 records: cannot derive the next traffic secret");
    }
    secret_ = next;
    OPENSSL_cleanse(next.data(), next.size());
    return derive();
}

void Tls13Records::nonce(unsigned char out[12]) const {
    std::memcpy(out, iv_.data(), 12);
    for (int i = 0; i < 8; ++i) out[11 - i] ^= static_cast<unsigned char>(seq_ >> (8 * i));
}

Result<void> Tls13Records::seal(std::uint8_t type, std::span<const char> plain, std::vector<char>& out) {
    if (plain.size() > kMaxPlaintext)
        return Error(Errc::invalid_argument, "TLS 1.3 records: record too large");
    // A sequence number never wraps (§5.3): the connection must end first.
    if (seq_ == UINT64_MAX)
        return ssl_reason_error(SSL_R_TOO_MANY_KEY_UPDATES, "record sequence numbers exhausted");
    const std::size_t body = plain.size() + 1 + kTag;
    const std::size_t at = out.size();
    out.resize(at + kHeader + body);
    auto* rec = reinterpret_cast<unsigned char*>(out.data() + at);
    rec[0] = kApplicationData;
    rec[1] = 0x03;
    rec[2] = 0x03;
    rec[3] = static_cast<unsigned char>(body >> 8);
    rec[4] = static_cast<unsigned char>(body);
    unsigned char iv[12];
    nonce(iv);
    EVP_CIPHER_CTX* c = seal_.get();
    int n = 0, m = 0, f = 0;
    const unsigned char t = type;
    const bool ok =
        EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, iv) == 1 &&
        EVP_EncryptUpdate(c, nullptr, &n, rec, static_cast<int>(kHeader)) == 1 &&
        EVP_EncryptUpdate(c, rec + kHeader, &n, reinterpret_cast<const unsigned char*>(plain.data()),
                          static_cast<int>(plain.size())) == 1 &&
        EVP_EncryptUpdate(c, rec + kHeader + n, &m, &t, 1) == 1 &&
        EVP_EncryptFinal_ex(c, rec + kHeader + n + m, &f) == 1 &&
        static_cast<std::size_t>(n + m + f) == plain.size() + 1 &&
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTag),
                            rec + kHeader + plain.size() + 1) == 1;
    if (!ok) {
        ERR_clear_error();
        out.resize(at);
        return Error(Errc::internal, "TLS 1.3 records: encryption failed");
    }
    ++seq_;
    return {};
}

Result<std::size_t> Tls13Records::record_length(std::span<const char> bytes) {
    if (bytes.size() < kHeader) return std::size_t{0};
    const auto* h = reinterpret_cast<const unsigned char*>(bytes.data());
    if (h[0] != kApplicationData)
        return ssl_reason_error(SSL_R_UNEXPECTED_RECORD,
                                "a record other than application data after the handshake");
    const std::size_t len = (std::size_t{h[3]} << 8) | h[4];
    if (len > kMaxCiphertext)
        return ssl_reason_error(SSL_R_ENCRYPTED_LENGTH_TOO_LONG, "a record is too long");
    if (len < kTag + 1) return ssl_reason_error(SSL_R_RECORD_TOO_SMALL, "a record is too short");
    return len;
}

Result<Tls13Records::Opened> Tls13Records::open(std::span<const char> record, char* into) {
    auto len = record_length(record);
    if (!len) return len.error();
    if (*len == 0 || record.size() != kHeader + *len)
        return Error(Errc::invalid_argument, "TLS 1.3 records: not one whole record");
    if (seq_ == UINT64_MAX)
        return ssl_reason_error(SSL_R_TOO_MANY_KEY_UPDATES, "record sequence numbers exhausted");
    const std::size_t inner = *len - kTag;
    const auto* rec = reinterpret_cast<const unsigned char*>(record.data());
    auto* out = reinterpret_cast<unsigned char*>(into);
    // The tag is read before an in-place decryption could overwrite it (it cannot: the
    // plaintext is shorter than the ciphertext, but keep the order obvious).
    unsigned char tag[kTag];
    std::memcpy(tag, rec + kHeader + inner, kTag);
    unsigned char iv[12];
    nonce(iv);
    EVP_CIPHER_CTX* c = open_.get();
    int n = 0, f = 0;
    const bool setup = EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, iv) == 1 &&
                       EVP_DecryptUpdate(c, nullptr, &n, rec, static_cast<int>(kHeader)) == 1 &&
                       EVP_DecryptUpdate(c, out, &n, rec + kHeader, static_cast<int>(inner)) == 1 &&
                       EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTag), tag) == 1;
    if (!setup || EVP_DecryptFinal_ex(c, out + n, &f) != 1 || static_cast<std::size_t>(n + f) != inner) {
        ERR_clear_error();
        return ssl_reason_error(SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC,
                                "a record from the peer does not authenticate");
    }
    ++seq_;
    // The inner type is the last non-zero byte; zeros after it are padding (§5.4).
    std::size_t end = inner;
    while (end > 0 && out[end - 1] == 0) --end;
    if (end == 0)
        return ssl_reason_error(SSL_R_UNEXPECTED_MESSAGE, "a record from the peer has no content type");
    Opened o;
    o.type = out[end - 1];
    o.length = end - 1;
    if (o.length > kMaxPlaintext)
        return ssl_reason_error(SSL_R_DATA_LENGTH_TOO_LONG, "a record's content is too long");
    return o;
}

}  // namespace zferry::transport
