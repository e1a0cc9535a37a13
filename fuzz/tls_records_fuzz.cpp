// Fuzzes the receiving side of zferry's own TLS 1.3 record layer (transport/tls13_records via
// TlsSession) against OpenSSL's record layer as the sender, after a real handshake in memory
// (a self-signed P-256 certificate made in-process once). The input is a program for the peer:
// application data of chosen sizes, key updates (requested or not), record padding, delivery in
// chunks of chosen sizes, and corruption (a flipped bit in the ciphertext, raw bytes injected).
// Checks: nothing crashes or reads out of bounds; without corruption every byte the peer sent
// arrives in order and nothing fails, including our key update replies, which the peer must
// accept; with corruption the session fails cleanly or delivers a prefix of what was sent.
#include "transport/tls_session.hpp"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

using namespace zferry;
using namespace zferry::transport;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "tls_records_fuzz: %s\n", what);
    std::abort();
}

struct Contexts {
    SSL_CTX* client = nullptr;
    SSL_CTX* server = nullptr;
    Contexts() {
        EVP_PKEY* key = EVP_EC_gen("P-256");
        X509* cert = X509_new();
        if (!key || !cert) fail("cannot make a key");
        X509_set_version(cert, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
        X509_gmtime_adj(X509_getm_notAfter(cert), 3600L * 24 * 365);
        X509_set_pubkey(cert, key);
        X509_NAME* name = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("fuzz.test"), -1, -1, 0);
        X509_set_issuer_name(cert, name);
        if (X509_sign(cert, key, EVP_sha256()) == 0) fail("cannot sign the certificate");
        server = SSL_CTX_new(TLS_server_method());
        client = SSL_CTX_new(TLS_client_method());
        for (SSL_CTX* c : {server, client}) {
            SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
            SSL_CTX_set_ciphersuites(c, "TLS_AES_128_GCM_SHA256");
        }
        if (SSL_CTX_use_certificate(server, cert) != 1 || SSL_CTX_use_PrivateKey(server, key) != 1)
            fail("cannot load the certificate");
        SSL_CTX_set_num_tickets(server, 1);
        SSL_CTX_set_verify(client, SSL_VERIFY_NONE, nullptr);
        X509_free(cert);
        EVP_PKEY_free(key);
    }
};

const Contexts& contexts() {
    static const Contexts c;
    return c;
}

class Input {
public:
    Input(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
    bool empty() const { return pos_ >= n_; }
    std::uint8_t byte() { return pos_ < n_ ? d_[pos_++] : 0; }
    std::uint16_t u16() { return static_cast<std::uint16_t>(byte() << 8 | byte()); }

private:
    const std::uint8_t* d_;
    std::size_t n_;
    std::size_t pos_ = 0;
};

void move(TlsSession& from, TlsSession& to, std::vector<char>& wire) {
    from.take_output(wire);
    auto space = to.input_space(wire.size());
    std::copy(wire.begin(), wire.end(), space.begin());
    to.commit_input(wire.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Contexts& ctx = contexts();
    auto c = TlsSession::make(ctx.client, TlsSession::Role::client, TlsSession::RecordLayer::own);
    auto s = TlsSession::make(ctx.server, TlsSession::Role::server, TlsSession::RecordLayer::openssl);
    if (!c || !s) fail("TlsSession::make failed");
    TlsSession& ours = **c;
    TlsSession& peer = **s;
    std::vector<char> wire;
    bool ours_done = false, peer_done = false;
    for (int round = 0; round < 10 && !(ours_done && peer_done); ++round) {
        error_code ec;
        if (!ours_done) ours_done = ours.handshake(ec) == TlsSession::Step::done;
        move(ours, peer, wire);
        if (!peer_done) peer_done = peer.handshake(ec) == TlsSession::Step::done;
        move(peer, ours, wire);
    }
    if (!ours_done || !peer_done) fail("the handshake in memory failed");

    Input in(data, size);
    std::vector<char> sent, received, pending;  // pending: the peer's ciphertext not delivered yet
    std::vector<char> buf(20000);
    bool corrupted = false, failed = false, closed = false;
    auto receive = [&](std::size_t chunk) {
        std::size_t at = 0;
        while (at < pending.size() && !failed && !closed) {
            const std::size_t n = std::min(std::max<std::size_t>(chunk, 1), pending.size() - at);
            auto space = ours.input_space(n);
            std::copy_n(pending.data() + at, n, space.data());
            ours.commit_input(n);
            at += n;
            for (;;) {
                auto d = ours.decrypt(std::span<char>(buf.data(), buf.size() / (1 + at % 7)));
                if (!d) {
                    if (!corrupted) {
                        std::fprintf(stderr, "tls_records_fuzz: %s\n", d.error().message().c_str());
                        fail("an intact stream failed to decrypt");
                    }
                    failed = true;
                    break;
                }
                received.insert(received.end(), buf.begin(),
                                buf.begin() + static_cast<std::ptrdiff_t>(d->bytes));
                if (d->closed) {
                    closed = true;
                    break;
                }
                if (d->bytes == 0) break;
            }
        }
        pending.clear();
        // Our key update replies go to the peer, which must accept them.
        if (ours.has_output() && !failed) {
            move(ours, peer, wire);
            std::vector<char> none(16);
            auto d = peer.decrypt(std::span<char>(none));
            if (!d && !corrupted) fail("the peer refused our reply to its key update");
        }
    };
    for (int ops = 0; !in.empty() && ops < 64 && !failed && !closed; ++ops) {
        std::vector<char> out;
        switch (in.byte() % 7) {
            case 0: {  // application data
                std::vector<char> plain(in.u16() % 40000);
                for (std::size_t i = 0; i < plain.size(); ++i)
                    plain[i] = static_cast<char>(i * 131 + sent.size());
                if (!peer.encrypt(plain)) fail("the peer cannot encrypt");
                sent.insert(sent.end(), plain.begin(), plain.end());
                break;
            }
            case 1: SSL_key_update(peer.native(), SSL_KEY_UPDATE_REQUESTED); break;
            case 2: SSL_key_update(peer.native(), SSL_KEY_UPDATE_NOT_REQUESTED); break;
            case 3: SSL_set_block_padding(peer.native(), 1 + in.u16() % 16384); break;
            case 4: {  // flip one bit of the ciphertext not delivered yet
                peer.take_output(out);
                pending.insert(pending.end(), out.begin(), out.end());
                const std::uint16_t at = in.u16();
                if (!pending.empty()) {
                    pending[at % pending.size()] ^= static_cast<char>(1 << (in.byte() % 8));
                    corrupted = true;
                }
                break;
            }
            case 5: {  // raw bytes where a record would be
                peer.take_output(out);
                pending.insert(pending.end(), out.begin(), out.end());
                const std::size_t n = in.byte() % 64;
                for (std::size_t i = 0; i < n; ++i) pending.push_back(static_cast<char>(in.byte()));
                corrupted = corrupted || n > 0;
                break;
            }
            case 6: {  // deliver in chunks of a chosen size
                peer.take_output(out);
                pending.insert(pending.end(), out.begin(), out.end());
                receive(1 + in.u16() % 70000);
                break;
            }
        }
    }
    std::vector<char> out;
    peer.take_output(out);
    pending.insert(pending.end(), out.begin(), out.end());
    receive(65536);
    if (!corrupted && received != sent) fail("the bytes received differ from the bytes sent");
    if (corrupted &&
        (received.size() > sent.size() || !std::equal(received.begin(), received.end(), sent.begin())))
        fail("a corrupted stream delivered bytes that were not sent");
    return 0;
}
