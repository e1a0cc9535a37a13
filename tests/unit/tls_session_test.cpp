// transport/tls_session: the sans-I/O TLS session between two instances in memory, with the
// ciphertext handed over byte by byte or in random chunks: handshake, batches of records both
// ways, data that follows the handshake in the same input, tampering, close_notify, a server
// certificate for another name, and session resumption (a session resumed on the server that
// issued it, with the peer certificate kept; not on another server, nor past another CA). The
// certificates come from the openssl CLI.
#include "transport/tls_session.hpp"

#include <gtest/gtest.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

namespace zferry::transport {
namespace {

namespace fs = std::filesystem;

class TlsSessionTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "zferry-tls-session-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        const std::string cmd =
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
            "-subj /CN=server.test -addext subjectAltName=DNS:server.test -keyout " +
            (dir_ / "key.pem").string() + " -out " + (dir_ / "cert.pem").string() + " 2>/dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
        server_ctx_ = make_ctx(TLS_server_method());
        client_ctx_ = make_ctx(TLS_client_method());
        SSL_CTX_set_verify(server_ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
        SSL_CTX_set_verify(client_ctx_, SSL_VERIFY_PEER, nullptr);
    }
    void TearDown() override {
        SSL_CTX_free(server_ctx_);
        SSL_CTX_free(client_ctx_);
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    SSL_CTX* make_ctx(const SSL_METHOD* m) {
        SSL_CTX* ctx = SSL_CTX_new(m);
        EXPECT_NE(ctx, nullptr);
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        const std::string cert = (dir_ / "cert.pem").string();
        EXPECT_EQ(SSL_CTX_load_verify_locations(ctx, cert.c_str(), nullptr), 1);
        EXPECT_EQ(SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()), 1);
        EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx, (dir_ / "key.pem").string().c_str(), SSL_FILETYPE_PEM), 1);
        return ctx;
    }

    std::unique_ptr<TlsSession> session(TlsSession::Role role, const char* server_name = "server.test") {
        auto s = TlsSession::make(role == TlsSession::Role::client ? client_ctx_ : server_ctx_, role);
        EXPECT_TRUE(s);
        if (!s) return nullptr;
        if (role == TlsSession::Role::client) {
            EXPECT_EQ(SSL_set1_host((*s)->native(), server_name), 1);
        }
        return std::move(*s);
    }

    fs::path dir_;
    SSL_CTX* server_ctx_ = nullptr;
    SSL_CTX* client_ctx_ = nullptr;
};

// Hands `bytes` to `to` in chunks of sizes from `next_chunk`.
template <class Chunks>
void deliver(const std::vector<char>& bytes, TlsSession& to, Chunks&& next_chunk) {
    for (std::size_t pos = 0; pos < bytes.size();) {
        const std::size_t n = std::min(next_chunk(), bytes.size() - pos);
        auto space = to.input_space(n);
        ASSERT_GE(space.size(), n);
        std::copy_n(bytes.data() + pos, n, space.data());
        to.commit_input(n);
        pos += n;
    }
}

// Runs both handshakes to completion, moving output across in chunks; false if either failed.
template <class Chunks>
bool handshake(TlsSession& client, TlsSession& server, Chunks&& next_chunk, error_code* client_ec = nullptr) {
    std::vector<char> wire;
    bool client_done = false;
    bool server_done = false;
    for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
        error_code ec;
        if (!client_done) {
            const auto st = client.handshake(ec);
            if (st == TlsSession::Step::failed) {
                if (client_ec) *client_ec = ec;
                return false;
            }
            client_done = st == TlsSession::Step::done;
        }
        client.take_output(wire);
        deliver(wire, server, next_chunk);
        if (!server_done) {
            const auto st = server.handshake(ec);
            if (st == TlsSession::Step::failed) return false;
            server_done = st == TlsSession::Step::done;
        }
        server.take_output(wire);
        deliver(wire, client, next_chunk);
    }
    return client_done && server_done;
}

// Decrypts all complete records of `s`'s input, appending to `received`, through a small
// plaintext buffer so that full buffers are exercised too; false once closed.
bool decrypt_all(TlsSession& s, std::vector<char>& received) {
    std::vector<char> buf(5000);
    for (;;) {
        auto d = s.decrypt(std::span<char>(buf));
        EXPECT_TRUE(d) << d.error().message();
        if (!d) return false;
        received.insert(received.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(d->bytes));
        if (d->closed) return false;
        if (d->bytes < buf.size()) return true;
    }
}

std::vector<char> random_bytes(std::size_t n, std::mt19937& rng) {
    std::vector<char> v(n);
    for (auto& c : v) c = static_cast<char>(rng());
    return v;
}

// `from` encrypts `plain` in batches of `batch` bytes; `to` gets the ciphertext in chunks and
// decrypts after each; returns all plaintext `to` produced.
template <class Chunks>
std::vector<char> transfer(TlsSession& from, TlsSession& to, const std::vector<char>& plain,
                           std::size_t batch, Chunks&& next_chunk) {
    std::vector<char> received;
    std::vector<char> wire;
    for (std::size_t pos = 0; pos < plain.size(); pos += batch) {
        const std::size_t n = std::min(batch, plain.size() - pos);
        EXPECT_TRUE(from.encrypt(std::span<const char>(plain.data() + pos, n)));
        from.take_output(wire);
        for (std::size_t w = 0; w < wire.size();) {
            const std::size_t c = std::min(next_chunk(), wire.size() - w);
            auto space = to.input_space(c);
            std::copy_n(wire.data() + w, c, space.data());
            to.commit_input(c);
            w += c;
            EXPECT_TRUE(decrypt_all(to, received));
        }
    }
    return received;
}

TEST_F(TlsSessionTest, HandshakeAndDataBothWaysFedByteByByte) {
    auto client = session(TlsSession::Role::client);
    auto server = session(TlsSession::Role::server);
    auto one = [] { return std::size_t{1}; };
    ASSERT_TRUE(handshake(*client, *server, one));
    std::mt19937 rng(1);
    const auto up = random_bytes(40000, rng);
    EXPECT_EQ(transfer(*client, *server, up, 40000, one), up);
    const auto down = random_bytes(20000, rng);
    EXPECT_EQ(transfer(*server, *client, down, 7000, one), down);
    EXPECT_FALSE(client->has_output());
    EXPECT_FALSE(server->has_output());
}

TEST_F(TlsSessionTest, OneBatchIsManyRecordsInOneOutputAndRandomChunksDecryptIt) {
    auto client = session(TlsSession::Role::client);
    auto server = session(TlsSession::Role::server);
    std::mt19937 rng(7);
    auto random_chunk = [&rng] { return std::size_t{1} + rng() % 70000; };
    ASSERT_TRUE(handshake(*client, *server, random_chunk));
    const auto plain = random_bytes(std::size_t{1} << 20, rng);
    ASSERT_TRUE(client->encrypt(plain));
    std::vector<char> wire;
    client->take_output(wire);
    // 16 KiB records: at least 64 of them, each with its header and tag, in one buffer.
    EXPECT_GE(wire.size(), plain.size() + 64 * 5);
    std::vector<char> received;
    for (std::size_t w = 0; w < wire.size();) {
        const std::size_t c = std::min(random_chunk(), wire.size() - w);
        auto space = server->input_space(c);
        std::copy_n(wire.data() + w, c, space.data());
        server->commit_input(c);
        w += c;
        ASSERT_TRUE(decrypt_all(*server, received));
    }
    EXPECT_EQ(received, plain);
    // Repeated batches reuse the buffers and still deliver every byte in order.
    const auto more = random_bytes(3 << 20, rng);
    EXPECT_EQ(transfer(*client, *server, more, 256 << 10, random_chunk), more);
}

TEST_F(TlsSessionTest, DataThatFollowsTheHandshakeInTheSameInputIsKept) {
    auto client = session(TlsSession::Role::client);
    auto server = session(TlsSession::Role::server);
    std::vector<char> wire;
    error_code ec;
    // Run the client to completion first, holding back what it sends after the server's flight.
    ASSERT_EQ(client->handshake(ec), TlsSession::Step::want_input);
    client->take_output(wire);
    deliver(wire, *server, [] { return std::size_t{100}; });
    ASSERT_EQ(server->handshake(ec), TlsSession::Step::want_input);
    server->take_output(wire);
    deliver(wire, *client, [] { return std::size_t{100}; });
    ASSERT_EQ(client->handshake(ec), TlsSession::Step::done);
    std::mt19937 rng(3);
    const auto plain = random_bytes(50000, rng);
    ASSERT_TRUE(client->encrypt(plain));
    client->take_output(wire);  // the client's Finished and three records, together
    deliver(wire, *server, [] { return std::size_t{1} << 20; });
    ASSERT_EQ(server->handshake(ec), TlsSession::Step::done) << ec.message();
    std::vector<char> received;
    EXPECT_TRUE(decrypt_all(*server, received));
    EXPECT_EQ(received, plain);
}

TEST_F(TlsSessionTest, CloseNotifyEndsTheStream) {
    auto client = session(TlsSession::Role::client);
    auto server = session(TlsSession::Role::server);
    auto big = [] { return std::size_t{1} << 20; };
    ASSERT_TRUE(handshake(*client, *server, big));
    std::vector<char> wire;
    ASSERT_EQ(SSL_shutdown(server->native()), 0);  // sends close_notify
    server->take_output(wire);
    deliver(wire, *client, big);
    std::vector<char> buf(100);
    auto closed = client->decrypt(std::span<char>(buf));
    ASSERT_TRUE(closed);
    EXPECT_TRUE(closed->closed);
    EXPECT_EQ(closed->bytes, 0u);
}

TEST_F(TlsSessionTest, ATamperedRecordIsAnError) {
    auto client = session(TlsSession::Role::client);
    auto server = session(TlsSession::Role::server);
    auto big = [] { return std::size_t{1} << 20; };
    ASSERT_TRUE(handshake(*client, *server, big));
    std::vector<char> wire;
    const std::string text = "not to be changed";
    ASSERT_TRUE(client->encrypt(std::span<const char>(text.data(), text.size())));
    client->take_output(wire);
    wire[wire.size() - 3] ^= 1;
    deliver(wire, *server, big);
    std::vector<char> buf(100);
    auto bad = server->decrypt(std::span<char>(buf));
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("decrypting data from the peer"), std::string::npos)
        << bad.error().message();
}

TEST_F(TlsSessionTest, AServerCertificateForAnotherNameFailsTheClientsHandshake) {
    auto client = session(TlsSession::Role::client, "other.test");
    auto server = session(TlsSession::Role::server);
    error_code ec;
    EXPECT_FALSE(handshake(
        *client, *server, [] { return std::size_t{4096}; }, &ec));
    EXPECT_NE(ec.message().find("certificate verify failed"), std::string::npos) << ec.message();
    EXPECT_EQ(SSL_get_verify_result(client->native()), X509_V_ERR_HOSTNAME_MISMATCH);
    EXPECT_TRUE(client->has_output()) << "the alert for the server";
}

// The CN of the peer certificate `s` has, resumed or not.
std::string peer_cn(const TlsSession& s) {
    X509* cert = SSL_get1_peer_certificate(s.native());
    if (!cert) return {};
    char buf[256] = {};
    const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
    X509_free(cert);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// One connection from `client_ctx` to `server_ctx` offering what `cache` holds; the server's
// ticket (sent after the handshake) is read by the client as the data would be.
struct Connected {
    bool ok = false;
    std::unique_ptr<TlsSession> client;
    std::unique_ptr<TlsSession> server;
};
Connected connect_once(SSL_CTX* client_ctx, SSL_CTX* server_ctx, const TlsClientSessionCache& cache) {
    Connected c;
    auto client = TlsSession::make(client_ctx, TlsSession::Role::client);
    auto server = TlsSession::make(server_ctx, TlsSession::Role::server);
    EXPECT_TRUE(client && server);
    if (!client || !server) return c;
    c.client = std::move(*client);
    c.server = std::move(*server);
    EXPECT_EQ(SSL_set1_host(c.client->native(), "server.test"), 1);
    cache.offer(c.client->native());
    c.ok = handshake(*c.client, *c.server, [] { return std::size_t{4096}; });
    std::vector<char> received;
    if (c.ok) EXPECT_TRUE(decrypt_all(*c.client, received));
    EXPECT_TRUE(received.empty());
    return c;
}

TEST_F(TlsSessionTest, ASecondConnectionResumesTheSessionAndTheServerStillSeesTheClientCertificate) {
    ASSERT_TRUE(enable_server_resumption(server_ctx_));
    TlsClientSessionCache cache(client_ctx_);
    EXPECT_FALSE(cache.has_session());
    auto first = connect_once(client_ctx_, server_ctx_, cache);
    ASSERT_TRUE(first.ok);
    EXPECT_FALSE(first.client->resumed());
    EXPECT_FALSE(first.server->resumed());
    ASSERT_TRUE(cache.has_session()) << "the server's ticket was kept";
    for (int i = 0; i < 2; ++i) {  // the newest ticket each time
        auto again = connect_once(client_ctx_, server_ctx_, cache);
        ASSERT_TRUE(again.ok);
        EXPECT_TRUE(again.client->resumed()) << i;
        EXPECT_TRUE(again.server->resumed()) << i;
        // The identity check reads the CN from here: the session keeps the certificate.
        EXPECT_EQ(peer_cn(*again.server), "server.test");
        std::mt19937 rng(3);
        const auto up = random_bytes(10000, rng);
        EXPECT_EQ(transfer(*again.client, *again.server, up, 4000, [] { return std::size_t{999}; }), up);
    }
    cache.clear();
    auto full = connect_once(client_ctx_, server_ctx_, cache);
    ASSERT_TRUE(full.ok);
    EXPECT_FALSE(full.server->resumed()) << "nothing offered after clear()";
}

TEST_F(TlsSessionTest, ASessionFromAnotherServerIsNotResumedAndTheOtherServersCaDecides) {
    ASSERT_TRUE(enable_server_resumption(server_ctx_));
    TlsClientSessionCache cache(client_ctx_);
    ASSERT_TRUE(connect_once(client_ctx_, server_ctx_, cache).ok);
    ASSERT_TRUE(cache.has_session());
    // Another server with the same certificate and CA: its ticket keys are its own.
    SSL_CTX* other = make_ctx(TLS_server_method());
    SSL_CTX_set_verify(other, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    ASSERT_TRUE(enable_server_resumption(other));
    auto elsewhere = connect_once(client_ctx_, other, cache);
    ASSERT_TRUE(elsewhere.ok);
    EXPECT_FALSE(elsewhere.server->resumed()) << "a full handshake";
    EXPECT_FALSE(elsewhere.client->resumed());
    SSL_CTX_free(other);
    // A server that trusts another CA refuses our certificate, whatever session we offer.
    const std::string ca = (dir_ / "other-ca.pem").string();
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=other-ca -keyout " +
        (dir_ / "other-ca.key").string() + " -out " + ca + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    SSL_CTX* strict = make_ctx(TLS_server_method());
    X509_STORE* store = X509_STORE_new();
    ASSERT_EQ(X509_STORE_load_file(store, ca.c_str()), 1);
    SSL_CTX_set_cert_store(strict, store);  // the context owns it now
    SSL_CTX_set_verify(strict, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    ASSERT_TRUE(enable_server_resumption(strict));
    ASSERT_TRUE(cache.has_session());
    auto refused = connect_once(client_ctx_, strict, cache);
    EXPECT_FALSE(refused.ok);
    if (refused.server) {
        EXPECT_FALSE(refused.server->resumed());
        EXPECT_EQ(SSL_get_verify_result(refused.server->native()), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    }
    SSL_CTX_free(strict);
}

}  // namespace
}  // namespace zferry::transport
