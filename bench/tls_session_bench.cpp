// TlsSession's data path in memory, next to AES-128-GCM alone: what the record layer costs
// beyond the cipher (zferry's own TLS 1.3 record layer, or OpenSSL's with its record buffers and
// our BIO's copies), without the kernel's share. One batch = the sender's unit (a 512 KiB frame payload)
// encrypted, its records handed to the receiver's input (one copy, where a socket would be) and decrypted
// into 256 KiB buffers (TcpConn's splice chunk). A self-signed P-256 certificate made by the openssl CLI.
#include "transport/tls_session.hpp"

#include <benchmark/benchmark.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using zferry::transport::TlsSession;
namespace fs = std::filesystem;

constexpr std::size_t kBatch = std::size_t{512} << 10;
constexpr std::size_t kReadChunk = std::size_t{256} << 10;

struct Contexts {
    SSL_CTX* server = nullptr;
    SSL_CTX* client = nullptr;
    fs::path dir;

    Contexts() {
        std::string tmpl = (fs::temp_directory_path() / "zferry-tls-bench-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("tls_session_bench: mkdtemp failed");
        dir = tmpl;
        const std::string cmd =
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
            "-subj /CN=bench.test -keyout " +
            (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() + " 2>/dev/null";
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("tls_session_bench: " + cmd + " failed");
        server = make(TLS_server_method());
        client = make(TLS_client_method());
        SSL_CTX_set_verify(server, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
        SSL_CTX_set_verify(client, SSL_VERIFY_PEER, nullptr);
    }
    ~Contexts() {
        SSL_CTX_free(server);
        SSL_CTX_free(client);
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }
    SSL_CTX* make(const SSL_METHOD* m) {
        SSL_CTX* ctx = SSL_CTX_new(m);
        const std::string cert = (dir / "cert.pem").string();
        if (!ctx || SSL_CTX_load_verify_locations(ctx, cert.c_str(), nullptr) != 1 ||
            SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, (dir / "key.pem").string().c_str(), SSL_FILETYPE_PEM) != 1)
            throw std::runtime_error("tls_session_bench: cannot set up an SSL_CTX");
        SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
        SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256");
        SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);  // as tls_wire sets it
        return ctx;
    }
};

Contexts& contexts() {
    static Contexts c;
    return c;
}

void move_output(TlsSession& from, TlsSession& to, std::vector<char>& wire) {
    from.take_output(wire);
    auto space = to.input_space(wire.size());
    std::memcpy(space.data(), wire.data(), wire.size());
    to.commit_input(wire.size());
}

void BM_TlsSessionEncryptDecrypt(benchmark::State& state) {
    auto& ctx = contexts();
    // Arg 0: zferry's own TLS 1.3 record layer (the default); 1: OpenSSL's record layer; 2: OpenSSL's
    // without SSL_MODE_RELEASE_BUFFERS (its record buffers kept between records).
    const auto layer = state.range(0) == 0 ? TlsSession::RecordLayer::own : TlsSession::RecordLayer::openssl;
    auto client = TlsSession::make(ctx.client, TlsSession::Role::client, layer);
    auto server = TlsSession::make(ctx.server, TlsSession::Role::server, layer);
    if (!client || !server) {
        state.SkipWithError("TlsSession::make failed");
        return;
    }
    TlsSession& c = **client;
    TlsSession& s = **server;
    if (state.range(0) == 2) {
        SSL_clear_mode(c.native(), SSL_MODE_RELEASE_BUFFERS);
        SSL_clear_mode(s.native(), SSL_MODE_RELEASE_BUFFERS);
    }
    std::vector<char> wire;
    bool c_done = false, s_done = false;
    for (int round = 0; round < 10 && !(c_done && s_done); ++round) {
        zferry::error_code ec;
        c_done = c_done || c.handshake(ec) == TlsSession::Step::done;
        move_output(c, s, wire);
        s_done = s_done || s.handshake(ec) == TlsSession::Step::done;
        move_output(s, c, wire);
    }
    if (!c_done || !s_done) {
        state.SkipWithError("handshake failed");
        return;
    }
    std::vector<char> plain(kBatch, 'z'), into(kReadChunk);
    (void)s.decrypt(std::span<char>(into));  // the ticket the server sent
    for (auto _ : state) {
        if (!c.encrypt(std::span<const char>(plain))) {
            state.SkipWithError("encrypt failed");
            return;
        }
        move_output(c, s, wire);
        std::size_t got = 0;
        while (got < kBatch) {
            auto d = s.decrypt(std::span<char>(into));
            if (!d || d->bytes == 0) {
                state.SkipWithError("decrypt failed");
                return;
            }
            got += d->bytes;
        }
        benchmark::DoNotOptimize(into.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_TlsSessionEncryptDecrypt)->ArgName("layer")->Arg(0)->Arg(1)->Arg(2);

// The floor: AES-128-GCM over 16 KiB records, out of place (ssh's way), both directions.
void BM_AesGcmOnly(benchmark::State& state) {
    unsigned char key[16] = {1}, iv[12] = {2}, tag[16];
    std::vector<unsigned char> plain(kBatch, 'z'), cipher(kBatch), back(kBatch);
    EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(enc, EVP_aes_128_gcm(), nullptr, key, iv);
    EVP_DecryptInit_ex(dec, EVP_aes_128_gcm(), nullptr, key, iv);
    constexpr std::size_t rec = 16384;
    for (auto _ : state) {
        for (std::size_t off = 0; off < kBatch; off += rec) {
            int n = 0;
            EVP_EncryptInit_ex(enc, nullptr, nullptr, nullptr, iv);
            EVP_EncryptUpdate(enc, cipher.data() + off, &n, plain.data() + off, static_cast<int>(rec));
            EVP_EncryptFinal_ex(enc, tag, &n);
            EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_GCM_GET_TAG, 16, tag);
            EVP_DecryptInit_ex(dec, nullptr, nullptr, nullptr, iv);
            EVP_DecryptUpdate(dec, back.data() + off, &n, cipher.data() + off, static_cast<int>(rec));
            EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_GCM_SET_TAG, 16, tag);
            if (EVP_DecryptFinal_ex(dec, tag, &n) != 1) {
                state.SkipWithError("tag mismatch");
                break;
            }
        }
        benchmark::DoNotOptimize(back.data());
    }
    EVP_CIPHER_CTX_free(enc);
    EVP_CIPHER_CTX_free(dec);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_AesGcmOnly);

}  // namespace
