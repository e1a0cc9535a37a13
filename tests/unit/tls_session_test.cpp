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
#include <functional>
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

    std::unique_ptr<TlsSession> session(TlsSession::Role role, const char* server_name = "server.test",
                                        TlsSession::RecordLayer layer = TlsSession::RecordLayer::own) {
        auto s = TlsSession::make(role == TlsSession::Role::client ? client_ctx_ : server_ctx_, role, layer);
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
    // OpenSSL's record layer sends the close_notify (zferry itself ends with a TCP half-close),
    // our own receives it.
    auto client = session(TlsSession::Role::client);
    auto server = session(TlsSession::Role::server, "", TlsSession::RecordLayer::openssl);
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

// ---------------------------------------------------------------- own TLS 1.3 record layer
// After a TLS 1.3 handshake, TlsSession seals and opens the application records itself
// (transport/tls13_records). OpenSSL's record layer is the reference peer: every combination of
// our layer and OpenSSL's, for each TLS 1.3 cipher suite, with the server's session tickets sent
// under the application key before the data (so both sequence numbers are taken over
// mid-stream), key updates, padding, and malformed records.

using Layer = TlsSession::RecordLayer;

struct LayerCase {
    const char* suite;
    Layer client;
    Layer server;
    int tickets;  // the server's tickets per connection
};

class TlsOwnRecordsTest : public TlsSessionTest, public ::testing::WithParamInterface<LayerCase> {};

void only_tls13(SSL_CTX* ctx, const char* suite) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    ASSERT_EQ(SSL_CTX_set_ciphersuites(ctx, suite), 1) << suite;
}

TEST_P(TlsOwnRecordsTest, DataBothWaysMatchesOpenSslsRecordLayerAcrossTicketsAndRandomChunks) {
    const LayerCase c = GetParam();
    only_tls13(client_ctx_, c.suite);
    only_tls13(server_ctx_, c.suite);
    ASSERT_TRUE(enable_server_resumption(server_ctx_));
    ASSERT_EQ(SSL_CTX_set_num_tickets(server_ctx_, static_cast<std::size_t>(c.tickets)), 1);
    TlsClientSessionCache cache(client_ctx_);
    for (int connection = 0; connection < 2; ++connection) {  // the second one resumed
        auto client = session(TlsSession::Role::client, "server.test", c.client);
        auto server = session(TlsSession::Role::server, "", c.server);
        cache.offer(client->native());
        std::mt19937 rng(11 + connection);
        auto random_chunk = [&rng] { return std::size_t{1} + rng() % 40000; };
        ASSERT_TRUE(handshake(*client, *server, random_chunk));
        EXPECT_EQ(client->resumed(), connection == 1 && c.tickets > 0);
        EXPECT_EQ(SSL_CIPHER_get_name(SSL_get_current_cipher(client->native())), std::string(c.suite));
        EXPECT_EQ(client->own_records_sending(), c.client == Layer::own);
        EXPECT_EQ(server->own_records_sending(), c.server == Layer::own);
        const auto down = random_bytes(300000, rng);  // after the tickets, on the same stream
        EXPECT_EQ(transfer(*server, *client, down, 70000, random_chunk), down);
        const auto up = random_bytes(1 << 20, rng);
        EXPECT_EQ(transfer(*client, *server, up, 256 << 10, random_chunk), up);
        EXPECT_EQ(transfer(*server, *client, down, 3000, random_chunk), down);
        EXPECT_EQ(client->own_records_receiving(), c.client == Layer::own);
        EXPECT_EQ(server->own_records_receiving(), c.server == Layer::own);
        EXPECT_EQ(cache.has_session(), c.tickets > 0) << "the client keeps the server's ticket";
        EXPECT_FALSE(client->has_input());
        EXPECT_FALSE(server->has_input());
    }
}

INSTANTIATE_TEST_SUITE_P(
    SuitesAndPeers, TlsOwnRecordsTest,
    ::testing::Values(LayerCase{"TLS_AES_128_GCM_SHA256", Layer::own, Layer::openssl, 1},
                      LayerCase{"TLS_AES_128_GCM_SHA256", Layer::openssl, Layer::own, 1},
                      LayerCase{"TLS_AES_128_GCM_SHA256", Layer::own, Layer::own, 1},
                      LayerCase{"TLS_AES_128_GCM_SHA256", Layer::openssl, Layer::own, 3},
                      LayerCase{"TLS_AES_128_GCM_SHA256", Layer::own, Layer::openssl, 0},
                      LayerCase{"TLS_AES_256_GCM_SHA384", Layer::own, Layer::openssl, 2},
                      LayerCase{"TLS_AES_256_GCM_SHA384", Layer::openssl, Layer::own, 2},
                      LayerCase{"TLS_CHACHA20_POLY1305_SHA256", Layer::own, Layer::openssl, 1},
                      LayerCase{"TLS_CHACHA20_POLY1305_SHA256", Layer::openssl, Layer::own, 1}),
    [](const ::testing::TestParamInfo<LayerCase>& i) {
        auto name = [](Layer l) { return l == Layer::own ? std::string("Own") : std::string("OpenSsl"); };
        std::string suite = i.param.suite;
        suite = suite.substr(4, suite.find('_', 8) - 4);
        std::erase(suite, '_');
        return suite + "_" + name(i.param.client) + "Client_" + name(i.param.server) + "Server_" +
               std::to_string(i.param.tickets) + "Tickets";
    });

TEST_F(TlsSessionTest, TLS12StaysWithOpenSslsRecordLayer) {
    SSL_CTX_set_max_proto_version(client_ctx_, TLS1_2_VERSION);
    auto client = session(TlsSession::Role::client);
    auto server = session(TlsSession::Role::server);
    auto big = [] { return std::size_t{1} << 20; };
    ASSERT_TRUE(handshake(*client, *server, big));
    EXPECT_EQ(SSL_version(client->native()), TLS1_2_VERSION);
    EXPECT_FALSE(client->own_records_sending());
    EXPECT_FALSE(server->own_records_sending());
    std::mt19937 rng(5);
    const auto up = random_bytes(100000, rng);
    EXPECT_EQ(transfer(*client, *server, up, 30000, big), up);
    EXPECT_FALSE(server->own_records_receiving());
}

// OpenSSL's peer updates its keys and asks for ours (RFC 8446 §4.6.3): we open its records under
// the new key, answer with a key update of our own before our next record, and OpenSSL opens what
// we send under our new key. Twice, so that the second generation of secrets is right too.
TEST_F(TlsSessionTest, AKeyUpdateFromThePeerMovesBothOfOurKeys) {
    only_tls13(client_ctx_, "TLS_AES_128_GCM_SHA256");
    auto client = session(TlsSession::Role::client);
    auto server = session(TlsSession::Role::server, "", Layer::openssl);
    std::mt19937 rng(9);
    auto random_chunk = [&rng] { return std::size_t{1} + rng() % 20000; };
    ASSERT_TRUE(handshake(*client, *server, random_chunk));
    const auto first = random_bytes(50000, rng);
    ASSERT_EQ(transfer(*server, *client, first, 50000, random_chunk), first);
    ASSERT_TRUE(client->own_records_receiving());
    for (int round = 0; round < 2; ++round) {
        ASSERT_EQ(SSL_key_update(server->native(), SSL_KEY_UPDATE_REQUESTED), 1);
        const auto down = random_bytes(40000, rng);
        EXPECT_EQ(transfer(*server, *client, down, 40000, random_chunk), down) << round;
        EXPECT_TRUE(client->has_output()) << "our key update, queued for the peer";
        const auto up = random_bytes(60000, rng);
        EXPECT_EQ(transfer(*client, *server, up, 60000, random_chunk), up) << round;
    }
    // A key update without a request moves only the peer's key.
    ASSERT_EQ(SSL_key_update(server->native(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
    const auto down = random_bytes(1000, rng);
    EXPECT_EQ(transfer(*server, *client, down, 1000, random_chunk), down);
    EXPECT_FALSE(client->has_output());
    const auto up = random_bytes(1000, rng);
    EXPECT_EQ(transfer(*client, *server, up, 1000, random_chunk), up);
}

// The peer's key update right after its session ticket, before any data (found by the
// tls_records fuzzer): OpenSSL reads the ticket, we read the key update and answer it.
TEST_F(TlsSessionTest, AKeyUpdateBeforeAnyDataIsAnsweredByUsNotByOpenSsl) {
    only_tls13(client_ctx_, "TLS_AES_128_GCM_SHA256");
    ASSERT_TRUE(enable_server_resumption(server_ctx_));
    TlsClientSessionCache cache(client_ctx_);
    auto client = session(TlsSession::Role::client);
    auto server = session(TlsSession::Role::server, "", Layer::openssl);
    auto big = [] { return std::size_t{1} << 20; };
    ASSERT_TRUE(handshake(*client, *server, big));
    ASSERT_EQ(SSL_key_update(server->native(), SSL_KEY_UPDATE_REQUESTED), 1);
    std::mt19937 rng(21);
    const auto down = random_bytes(30000, rng);
    EXPECT_EQ(transfer(*server, *client, down, 30000, big), down);  // ticket, key update, data at once
    EXPECT_TRUE(client->own_records_receiving());
    EXPECT_TRUE(cache.has_session()) << "OpenSSL read the ticket";
    const auto up = random_bytes(30000, rng);
    EXPECT_EQ(transfer(*client, *server, up, 30000, big), up);  // our key update, then data
}

TEST_F(TlsSessionTest, PaddedRecordsFromThePeerLoseTheirPadding) {
    only_tls13(client_ctx_, "TLS_AES_128_GCM_SHA256");
    auto client = session(TlsSession::Role::client);
    auto server = session(TlsSession::Role::server, "", Layer::openssl);
    ASSERT_EQ(SSL_set_block_padding(server->native(), 4096), 1);
    std::mt19937 rng(13);
    auto one_k = [] { return std::size_t{1000}; };
    ASSERT_TRUE(handshake(*client, *server, one_k));
    for (std::size_t n : {1u, 100u, 4095u, 4096u, 4097u, 16383u, 16384u, 70000u}) {
        const auto down = random_bytes(n, rng);
        EXPECT_EQ(transfer(*server, *client, down, n, one_k), down) << n;
    }
}

// A record as our receiver opens it (after a first one that made it take over from OpenSSL),
// with `edit` applied to its bytes.
template <class Edit>
Result<TlsSession::Decrypted> receive_edited(TlsSession& from, TlsSession& to, Edit&& edit) {
    const std::string text = "0123456789abcdef0123456789abcdef";
    std::vector<char> wire, buf(100);
    EXPECT_TRUE(from.encrypt(std::span<const char>(text.data(), text.size())));
    from.take_output(wire);
    deliver(wire, to, [] { return std::size_t{1} << 20; });
    auto first = to.decrypt(std::span<char>(buf));
    EXPECT_TRUE(first && first->bytes == text.size());
    EXPECT_TRUE(to.own_records_receiving());
    EXPECT_TRUE(from.encrypt(std::span<const char>(text.data(), text.size())));
    from.take_output(wire);
    edit(wire);
    deliver(wire, to, [] { return std::size_t{1} << 20; });
    return to.decrypt(std::span<char>(buf));
}

TEST_F(TlsSessionTest, MalformedRecordsAreErrorsNamingWhatIsWrong) {
    struct Case {
        const char* what;
        std::function<void(std::vector<char>&)> edit;
        const char* expected;
    };
    const std::vector<Case> cases = {
        {"a flipped ciphertext bit", [](auto& w) { w[7] ^= 4; }, "bad record mac"},
        {"a flipped tag bit", [](auto& w) { w.back() ^= 1; }, "bad record mac"},
        {"a changed header (authenticated data)", [](auto& w) { w[2] = 1; }, "bad record mac"},
        {"a handshake record after the handshake", [](auto& w) { w[0] = 22; }, "unexpected record"},
        {"a record longer than 2^14 + 256", [](auto& w) { w[3] = 0x41, w[4] = 1; },
         "encrypted length too long"},
        {"a record shorter than its tag", [](auto& w) { w[3] = 0, w[4] = 16; }, "record too small"},
    };
    for (const auto& c : cases) {
        auto client = session(TlsSession::Role::client);
        auto server = session(TlsSession::Role::server);
        ASSERT_TRUE(handshake(*client, *server, [] { return std::size_t{1} << 20; }));
        auto r = receive_edited(*client, *server, c.edit);
        ASSERT_FALSE(r) << c.what;
        EXPECT_NE(r.error().message().find(c.expected), std::string::npos)
            << c.what << ": " << r.error().message();
        EXPECT_NE(r.error().message().find("decrypting data from the peer"), std::string::npos) << c.what;
        EXPECT_FALSE(r.error().temporary()) << c.what;
    }
}

// A record cut short is not an error: the rest is waited for, whatever the chunking.
TEST_F(TlsSessionTest, AnIncompleteRecordWaitsForTheRest) {
    auto client = session(TlsSession::Role::client);
    auto server = session(TlsSession::Role::server);
    ASSERT_TRUE(handshake(*client, *server, [] { return std::size_t{1} << 20; }));
    std::mt19937 rng(17);
    const auto up = random_bytes(20000, rng);
    ASSERT_TRUE(client->encrypt(up));
    std::vector<char> wire;
    client->take_output(wire);
    std::vector<char> received, buf(50000);
    for (std::size_t w = 0; w < wire.size(); ++w) {
        auto space = server->input_space(1);
        space[0] = wire[w];
        server->commit_input(1);
        auto d = server->decrypt(std::span<char>(buf));
        ASSERT_TRUE(d) << w;
        received.insert(received.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(d->bytes));
    }
    EXPECT_EQ(received, up);
    EXPECT_TRUE(server->own_records_receiving());
    EXPECT_FALSE(server->has_input());
}

}  // namespace
}  // namespace zferry::transport
