// The remote endpoints end to end over loopback TCP between two zfs-sim hosts: a push
// (local sender, remote receiver served by a sink) and a pull (remote sender served by a
// source, local receiver), initial and incremental, GUIDs compared; a client identity confined
// to its own root_fs/<identity>; a source refusing what its filter excludes; an unmapped peer
// refused; the server stopped with every connection task joined.
#include "replication/remote/remote_endpoint.hpp"
#include "replication/remote/endpoint_server.hpp"

#include "core/async.hpp"
#include "daemon/config/tcp_client_map.hpp"
#include "replication/control/pdu_convert.hpp"
#include "replication/driver/replication.hpp"
#include "replication/endpoint/local_receiver.hpp"
#include "replication/endpoint/local_sender.hpp"
#include "tests/integration/test_support.hpp"
#include "tests/integration/zfs_sim_fixture.hpp"
#include "transport/frame_codec.hpp"
#include "transport/handshake.hpp"
#include "transport/mux_label.hpp"
#include "transport/tls_wire.hpp"
#include "zfs/listing_ops.hpp"
#include "zfs/zfs_error.hpp"

#include <gtest/gtest.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace zferry::replication::remote {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;

// No child process at all, exited or not; reaps nothing (WNOWAIT), so polling it never takes
// a child from the code that waits for it.
bool no_children() {
    siginfo_t info{};
    return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD;
}

asio::awaitable<void> close_sender(RemoteSender* s) { co_await s->close(); }
asio::awaitable<void> close_receiver(RemoteReceiver* r) { co_await r->close(); }
asio::awaitable<void> stop_server(EndpointServer* s) { co_await s->stop(); }
asio::awaitable<void> shutdown_connector(transport::WireConnector* c) { co_await c->shutdown(); }

// A sink's receiver around the real one: its `zfs recv` finds the dataset busy the first
// `busy` times (zfs still tearing down an earlier receive: temporary on the server), and it
// logs a line of its own with the logger the server made it with when it lists filesystems.
class TestReceiver final : public Receiver {
public:
    TestReceiver(std::unique_ptr<Receiver> inner, std::shared_ptr<std::atomic<int>> busy, Logger log)
        : inner_(std::move(inner)), busy_(std::move(busy)), log_(std::move(log)) {}
    asio::awaitable<Result<std::vector<FilesystemInfo>>> list_filesystems() override {
        log_.info("test endpoint lists filesystems");
        co_return co_await inner_->list_filesystems();
    }
    asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> list_versions(std::string fs) override {
        co_return co_await inner_->list_versions(std::move(fs));
    }
    asio::awaitable<Result<std::vector<DestroySnapshotResult>>> destroy_snapshots(
        std::string fs, std::vector<zfs::FilesystemVersion> snapshots) override {
        co_return co_await inner_->destroy_snapshots(std::move(fs), std::move(snapshots));
    }
    asio::awaitable<Result<ReceiveSession>> receive(ReceiveRequest req) override {
        if (busy_->fetch_sub(1) > 0)
            co_return Error(zfs::ZfsErrc::dataset_busy,
                            "cannot receive into " + req.filesystem + ": dataset is busy");
        co_return co_await inner_->receive(std::move(req));
    }
    asio::awaitable<Result<void>> finish_receive(ReceiveSession& session) override {
        co_return co_await inner_->finish_receive(session);
    }

private:
    std::unique_ptr<Receiver> inner_;
    std::shared_ptr<std::atomic<int>> busy_;
    Logger log_;
};

class RemoteEndpointTest : public test::ZfsSimFixture {
protected:
    RemoteEndpointTest() : ZfsSimFixture("zferry-remote") {
        snapshot_bytes_ = 3000;
        require_end_of_options_ = false;
    }
    void SetUp() override {
        ::signal(SIGPIPE, SIG_IGN);
        log_init({LogLevel::info, LogFormat::human, &captured_});
        ZfsSimFixture::SetUp();
        engine_ = IoEngine::make_reactor(ctx_);
        src_ = runner("src");
        dst_ = runner("dst");
        sh("src", "sim-create-pool p && $Z create p/a && $Z create p/a/b && $Z create p/secret");
        sh("dst", "sim-create-pool q && $Z create q/sink");
        snapshots("p/secret", {"x1"});
    }
    void TearDown() override {
        for (auto& s : servers_) test::run(ctx_, stop_server(s.get()));
        servers_.clear();
        EXPECT_TRUE(no_children()) << "every zfs child reaped";
        log_init({});
        ZfsSimFixture::TearDown();
    }

    SenderConfig sender_config() {
        SenderConfig sc{*JobId::make("src"), {}, {}};
        EXPECT_TRUE(sc.filesystems.add("p/a<", true).has_value());
        return sc;
    }
    // A sink on dst: root_fs q/sink, each client below its identity.
    using Clients = std::vector<std::pair<std::string, std::string>>;
    EndpointServer& sink_server(Clients clients, EndpointServerOptions o = {},
                                std::shared_ptr<std::atomic<int>> busy = nullptr) {
        ServedEndpoint served;
        served.receiver = [this, busy](const std::string& id,
                                       Logger log) -> Result<std::unique_ptr<Receiver>> {
            ReceiverConfig rc{*JobId::make("sink"), "q/sink", id, PlaceholderEncryptionPolicy::inherit, {}};
            auto local = std::make_unique<LocalReceiver>(*dst_, std::move(rc), log);
            if (busy)
                return std::unique_ptr<Receiver>(std::make_unique<TestReceiver>(std::move(local), busy, log));
            return std::unique_ptr<Receiver>(std::move(local));
        };
        return server(std::move(served), std::move(clients), std::move(o));
    }
    // A source on src serving p/a and below.
    EndpointServer& source_server(Clients clients, EndpointServerOptions o = {},
                                  zfs::ZfsRunner* zfs = nullptr) {
        ServedEndpoint served;
        served.sender = [this, zfs](const std::string&, Logger log) -> Result<std::unique_ptr<Sender>> {
            return std::unique_ptr<Sender>(
                std::make_unique<LocalSender>(zfs ? *zfs : *src_, sender_config(), std::move(log)));
        };
        return server(std::move(served), std::move(clients), std::move(o));
    }
    // The tcp transport with zrepl's `clients:` map; this test's client is 127.0.0.1.
    EndpointServer& server(ServedEndpoint served, Clients clients, EndpointServerOptions o = {}) {
        auto map = config::TcpClientMap::make(clients);
        EXPECT_TRUE(map) << map.error().message();
        auto shared = std::make_shared<config::TcpClientMap>(std::move(*map));
        auto listener = std::make_unique<transport::TcpWireListener>(
            ctx_.get_executor(),
            [shared](const asio::ip::address& a) { return shared->identity(a.to_string()); }, Logger());
        auto listening = listener->listen({asio::ip::make_address("127.0.0.1"), 0});
        EXPECT_TRUE(listening) << listening.error().message();
        auto s = std::make_unique<EndpointServer>(ctx_, *engine_, std::move(listener), std::move(served), o,
                                                  Logger());
        s->start();
        servers_.push_back(std::move(s));
        return *servers_.back();
    }
    // Certificates made by the openssl CLI: a CA, the server (CN server.test), clients
    // client1 and intruder from that CA, and a client1 from another CA.
    void make_certificates() {
        const auto script = dir_ / "certs.sh";
        std::ofstream(script) << R"(set -e
cd "$1"
key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $key -keyout ca.key -out ca.crt -subj /CN=test-ca -days 2
openssl req -x509 $key -keyout other-ca.key -out other-ca.crt -subj /CN=other-ca -days 2
issue() {
  openssl req $key -keyout $1.key -out $1.csr -subj /CN=$2
  printf 'subjectAltName=DNS:%s
' "$2" > $1.ext
  openssl x509 -req -in $1.csr -CA $3.crt -CAkey $3.key -CAcreateserial -out $1.crt -days ${4:-2} -extfile $1.ext
}
issue server server.test ca
issue client1 client1 ca
issue intruder intruder ca
issue foreign client1 other-ca
# Expired yesterday (-days -1): a client's and a server's.
issue expired client1 ca -1
issue expired-server server.test ca -1
)";
        const std::string cmd = "bash " + script.string() + " " + dir_.string() + " >/dev/null 2>&1";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl CLI";
    }
    transport::TlsFiles files(const std::string& name, const std::string& ca = "ca") {
        return {(dir_ / (ca + ".crt")).string(), (dir_ / (name + ".crt")).string(),
                (dir_ / (name + ".key")).string()};
    }
    EndpointServer& tls_sink_server(
        std::vector<std::string> client_cns, const std::string& cert = "server",
        std::chrono::milliseconds handshake_timeout = std::chrono::milliseconds(2000),
        transport::PendingLimits handshake_limits = {}) {
        ServedEndpoint served;
        served.receiver = [this](const std::string& id, Logger log) -> Result<std::unique_ptr<Receiver>> {
            ReceiverConfig rc{*JobId::make("sink"), "q/sink", id, PlaceholderEncryptionPolicy::inherit, {}};
            return std::unique_ptr<Receiver>(
                std::make_unique<LocalReceiver>(*dst_, std::move(rc), std::move(log)));
        };
        transport::TlsServerConfig tc{files(cert), std::move(client_cns), handshake_timeout,
                                      handshake_limits};
        auto listener =
            std::make_unique<transport::TlsWireListener>(ctx_.get_executor(), std::move(tc), Logger());
        tls_listener_ = listener.get();
        auto listening = listener->listen({asio::ip::make_address("127.0.0.1"), 0});
        EXPECT_TRUE(listening) << listening.error().message();
        auto s = std::make_unique<EndpointServer>(ctx_, *engine_, std::move(listener), std::move(served),
                                                  EndpointServerOptions{}, Logger());
        s->start();
        servers_.push_back(std::move(s));
        return *servers_.back();
    }
    std::shared_ptr<transport::TlsWireConnector> tls_connector(const EndpointServer& s, transport::TlsFiles f,
                                                               std::string server_cn = "server.test") {
        transport::TlsClientConfig cc{std::move(f), std::move(server_cn), std::chrono::milliseconds(2000)};
        auto c = std::make_shared<transport::TlsWireConnector>(ctx_.get_executor(), s.local_endpoint(),
                                                               std::move(cc), Logger());
        auto loaded = c->load();
        EXPECT_TRUE(loaded) << loaded.error().message();
        return c;
    }
    RemoteOptions remote_options(const EndpointServer& s) {
        RemoteOptions o;
        o.connector = std::make_shared<transport::TcpWireConnector>(s.local_endpoint());
        o.connect_timeout = std::chrono::milliseconds(3000);
        // Kept data connections never age out within a test, however slow the machine: the
        // connection counts below depend on the protocol only.
        o.data.reuse.client_idle_timeout = std::chrono::minutes(10);
        return o;
    }
    // A server whose kept data connections wait long enough for the client's next request.
    static EndpointServerOptions patient() {
        EndpointServerOptions o;
        o.data.limits.next_request_timeout = std::chrono::minutes(20);
        return o;
    }
    // A server that looks like zrepl (no zferry/1 in its banner).
    static EndpointServerOptions zrepl_like() {
        EndpointServerOptions o = patient();
        o.advertise_zferry = false;
        return o;
    }
    std::size_t steps_of(const ReplicationRun& r, const std::string& fs) {
        for (const auto& f : r.report().attempts.back().filesystems)
            if (f.name == fs) return f.steps.size();
        return 0;
    }
    // s01..sNN
    void numbered_snapshots(const std::string& fs, int n) {
        std::string cmds;
        for (int i = 1; i <= n; ++i) {
            char name[8];
            std::snprintf(name, sizeof name, "s%02d", i);
            cmds += std::string(cmds.empty() ? "" : " && $Z ") + "snapshot " + fs + "@" + name;
        }
        sh("src", cmds);
    }
    ReplicationOptions run_options() {
        ReplicationOptions o;
        o.protection = {GuaranteeKind::resumability, GuaranteeKind::resumability};
        o.reconnect_backoff_min = std::chrono::milliseconds(5);
        return o;
    }
    std::string log_text() const { return captured_.str(); }

    std::ostringstream captured_;  // outlives the log configuration TearDown resets
    std::unique_ptr<IoEngine> engine_;
    std::unique_ptr<zfs::ZfsRunner> stalling_src_;  // before servers_: a source server may use it
    std::vector<std::unique_ptr<EndpointServer>> servers_;
    transport::TlsWireListener* tls_listener_ = nullptr;  // the last tls_sink_server's
};

TEST_F(RemoteEndpointTest, PushToASinkInitialThenIncremental) {
    snapshots("p/a", {"s1"});
    snapshots("p/a/b", {"s1", "s2"});
    auto& sink = sink_server({{"127.0.0.1", "client1"}});
    LocalSender sender(*src_, sender_config(), Logger());
    RemoteReceiver receiver(ctx_, *engine_, remote_options(sink), Logger());

    ReplicationRun first(sender, receiver, run_options(), Logger());
    test::run(ctx_, first.run());
    ASSERT_TRUE(first.succeeded()) << to_json(first.report());
    EXPECT_EQ(names(*dst_, "q/sink/client1/p/a/b"), "s2") << "most_recent: a full send of the newest";
    EXPECT_EQ(names(*dst_, "q/sink/client1/p/a"), "s1");
    expect_same_guids("p/a/b", "q/sink/client1");

    snapshots("p/a/b", {"s3", "s4"});
    ReplicationRun second(sender, receiver, run_options(), Logger());
    test::run(ctx_, second.run());
    ASSERT_TRUE(second.succeeded()) << to_json(second.report());
    EXPECT_EQ(names(*dst_, "q/sink/client1/p/a/b"), "s2 s3 s4");
    expect_same_guids("p/a/b", "q/sink/client1");
    EXPECT_EQ(names(*dst_, "q/sink/client1/p/secret"), "") << "outside the sender's filter";

    auto pinged = test::run(ctx_, receiver.wait_for_connectivity());
    EXPECT_TRUE(pinged) << pinged.error().message();
    test::run(ctx_, close_receiver(&receiver));
    test::run(ctx_, stop_server(&sink));
    EXPECT_EQ(sink.active_connections(), 0u) << "every connection task joined";
    // The endpoint's own lines carry the client identity and the request that caused them.
    const auto log = log_text();
    const auto at = log.find("created placeholder q/sink/client1/p");
    ASSERT_NE(at, std::string::npos) << log;
    const auto start = log.rfind('\n', at) + 1;
    const auto line = log.substr(start, log.find('\n', at) - start);
    EXPECT_NE(line.find("client=client1"), std::string::npos) << line;
    EXPECT_NE(line.find("request=/v1/recv"), std::string::npos) << line;
}

TEST_F(RemoteEndpointTest, PullFromASourceInitialThenIncremental) {
    snapshots("p/a", {"s1", "s2"});
    snapshots("p/a/b", {"s1"});
    auto& source = source_server({{"127.0.0.1", "backup"}});
    sh("dst", "create q/pull");
    RemoteSender sender(ctx_, *engine_, remote_options(source), Logger());
    LocalReceiver receiver(
        *dst_,
        ReceiverConfig{
            *JobId::make("pull"), "q/pull", std::nullopt, PlaceholderEncryptionPolicy::inherit, {}},
        Logger());

    ReplicationRun first(sender, receiver, run_options(), Logger());
    test::run(ctx_, first.run());
    ASSERT_TRUE(first.succeeded()) << to_json(first.report());
    EXPECT_EQ(names(*dst_, "q/pull/p/a"), "s2");
    expect_same_guids("p/a", "q/pull");

    snapshots("p/a", {"s3", "s4"});
    ReplicationRun second(sender, receiver, run_options(), Logger());
    test::run(ctx_, second.run());
    ASSERT_TRUE(second.succeeded()) << to_json(second.report());
    EXPECT_EQ(names(*dst_, "q/pull/p/a"), "s2 s3 s4");
    for (const auto& f : second.report().attempts.back().filesystems)
        if (f.name == "p/a")
            EXPECT_EQ(f.steps.size(), 1u) << "a zferry source takes a coalesced step (send -I s2 s4)";
    expect_same_guids("p/a", "q/pull");
    auto cursor = test::run(ctx_, sender.replication_cursor("p/a"));
    ASSERT_TRUE(cursor) << cursor.error().message();
    ASSERT_TRUE(cursor->has_value()) << "SendCompleted moved the source's cursor";
    EXPECT_EQ(**cursor, versions(*src_, "p/a").back().guid);

    test::run(ctx_, close_sender(&sender));
    test::run(ctx_, stop_server(&source));
    EXPECT_EQ(source.active_connections(), 0u);
}

TEST_F(RemoteEndpointTest, ASourceRefusesFilesystemsOutsideItsFilter) {
    snapshots("p/a", {"s1"});
    auto& source = source_server({{"127.0.0.1", "backup"}});
    RemoteSender sender(ctx_, *engine_, remote_options(source), Logger());

    auto listed = test::run(ctx_, sender.list_filesystems());
    ASSERT_TRUE(listed) << listed.error().message();
    for (const auto& f : *listed) EXPECT_NE(f.path, "p/secret");

    auto secret = test::run(ctx_, sender.list_versions("p/secret"));
    ASSERT_FALSE(secret);
    EXPECT_FALSE(secret.error().temporary()) << secret.error().message();

    // The data channel refuses the send itself, before any byte of the stream.
    auto x1 = versions(*src_, "p/secret");
    ASSERT_EQ(x1.size(), 1u);
    StepRequest req;
    req.filesystem = "p/secret";
    req.to = x1[0];
    auto sent = test::run(ctx_, sender.send(req));
    ASSERT_FALSE(sent) << "a send outside the filter";
    EXPECT_FALSE(sent.error().temporary()) << sent.error().message();
    EXPECT_NE(sent.error().message().find("p/secret"), std::string::npos) << sent.error().message();

    test::run(ctx_, close_sender(&sender));
    test::run(ctx_, stop_server(&source));
    EXPECT_EQ(source.active_connections(), 0u);
    // The refusal was logged with the client's identity and the method.
    const auto log = log_text();
    auto line_at = log.find("/Replication/ListFilesystemVersions");
    ASSERT_NE(line_at, std::string::npos) << log;
    auto line_end = log.find('\n', line_at);
    auto line_start = log.rfind('\n', line_at);
    auto line = log.substr(line_start + 1, line_end - line_start - 1);
    EXPECT_NE(line.find("client=backup"), std::string::npos) << line;
}

TEST_F(RemoteEndpointTest, AClientCannotTouchAnotherClientsDatasets) {
    snapshots("p/a", {"s1"});
    snapshots("p/a/b", {"s1"});
    auto& sink1 = sink_server({{"127.0.0.1", "client1"}});
    LocalSender sender(*src_, sender_config(), Logger());
    RemoteReceiver one(ctx_, *engine_, remote_options(sink1), Logger());
    ReplicationRun run(sender, one, run_options(), Logger());
    test::run(ctx_, run.run());
    ASSERT_TRUE(run.succeeded()) << to_json(run.report());
    const auto before = versions(*dst_, "q/sink/client1/p/a");
    ASSERT_EQ(before.size(), 1u);

    // The same host, mapped to another identity: it sees nothing of client1's and its
    // requests land below q/sink/client2.
    auto& sink2 = sink_server({{"127.0.0.1", "client2"}});
    RemoteReceiver two(ctx_, *engine_, remote_options(sink2), Logger());
    auto listed = test::run(ctx_, two.list_filesystems());
    ASSERT_TRUE(listed) << listed.error().message();
    EXPECT_TRUE(listed->empty()) << listed->front().path;
    auto destroyed = test::run(ctx_, two.destroy_snapshots("p/a", before));
    if (destroyed) {
        ASSERT_EQ(destroyed->size(), 1u);
    }
    auto escape = test::run(ctx_, two.list_versions("../client1/p/a"));
    EXPECT_FALSE(escape) << "a name that is no dataset name is refused";
    EXPECT_EQ(versions(*dst_, "q/sink/client1/p/a").size(), 1u) << "client1's snapshot is still there";
    EXPECT_EQ(versions(*dst_, "q/sink/client1/p/a")[0].guid, before[0].guid);

    test::run(ctx_, close_receiver(&one));
    test::run(ctx_, close_receiver(&two));
}

TEST_F(RemoteEndpointTest, AnUnmappedPeerIsClosedAndLogged) {
    auto& sink = sink_server({{"127.0.0.2", "other"}, {"10.0.0.0/8", "ten-*"}});
    RemoteReceiver receiver(ctx_, *engine_, remote_options(sink), Logger());
    auto listed = test::run(ctx_, receiver.list_filesystems());
    ASSERT_FALSE(listed) << "the server closed the connection before the handshake";
    EXPECT_TRUE(listed.error().temporary()) << listed.error().message();
    test::run(ctx_, close_receiver(&receiver));
    test::run(ctx_, stop_server(&sink));
    EXPECT_NE(log_text().find("refusing connection: 127.0.0.1 is not in the clients map"), std::string::npos)
        << log_text();
}

TEST_F(RemoteEndpointTest, ANetworkEntryMakesTheAddressPartOfTheIdentity) {
    snapshots("p/a", {"s1"});
    snapshots("p/a/b", {"s1"});
    auto& sink = sink_server({{"127.0.0.0/8", "lo-*"}, {"127.0.0.2", "other"}});
    LocalSender sender(*src_, sender_config(), Logger());
    RemoteReceiver receiver(ctx_, *engine_, remote_options(sink), Logger());
    ReplicationRun run(sender, receiver, run_options(), Logger());
    test::run(ctx_, run.run());
    ASSERT_TRUE(run.succeeded()) << to_json(run.report());
    EXPECT_EQ(names(*dst_, "q/sink/lo-127.0.0.1/p/a"), "s1");
    expect_same_guids("p/a", "q/sink/lo-127.0.0.1");
    test::run(ctx_, close_receiver(&receiver));
}

TEST_F(RemoteEndpointTest, PushOverMutualTlsWithTheCertificateCnAsIdentity) {
    make_certificates();
    snapshots("p/a", {"s1"});
    snapshots("p/a/b", {"s1", "s2"});
    auto& sink = tls_sink_server({"client1"});
    auto connector = tls_connector(sink, files("client1"));
    auto o = remote_options(sink);
    o.connector = connector;
    LocalSender sender(*src_, sender_config(), Logger());
    RemoteReceiver receiver(ctx_, *engine_, o, Logger());
    ReplicationRun first(sender, receiver, run_options(), Logger());
    test::run(ctx_, first.run());
    ASSERT_TRUE(first.succeeded()) << to_json(first.report());
    snapshots("p/a/b", {"s3"});
    ReplicationRun second(sender, receiver, run_options(), Logger());
    test::run(ctx_, second.run());
    ASSERT_TRUE(second.succeeded()) << to_json(second.report());
    EXPECT_EQ(names(*dst_, "q/sink/client1/p/a/b"), "s2 s3");
    expect_same_guids("p/a/b", "q/sink/client1");
    expect_same_guids("p/a", "q/sink/client1");
    // The first connection's session came with its first response: the data connections
    // opened after it resumed it (no certificate work) and were still client1's.
    EXPECT_GE(connector->resumed_sessions(), 1u);
    EXPECT_GE(tls_listener_->resumed_sessions(), 1u);

    test::run(ctx_, close_receiver(&receiver));
    test::run(ctx_, shutdown_connector(connector.get()));
    test::run(ctx_, stop_server(&sink));
    EXPECT_EQ(sink.active_connections(), 0u);
}

TEST_F(RemoteEndpointTest, TlsRefusesWrongCaUnlistedCnNoCertificateAndAWrongServerName) {
    make_certificates();
    auto& sink = tls_sink_server({"client1"});
    struct Case {
        std::string what;
        transport::TlsFiles files;
        std::string server_cn;
        std::string server_log;  // expected in the server's log; empty: refused by the client
    };
    std::vector<Case> cases;
    cases.push_back(
        {"a certificate from another CA", files("foreign"), "server.test", "certificate verify failed"});
    cases.push_back({"a CN not in client_cns", files("intruder"), "server.test",
                     "client certificate CN 'intruder' is not in client_cns"});
    transport::TlsFiles none{(dir_ / "ca.crt").string(), "", ""};
    cases.push_back({"no client certificate", none, "server.test", "peer did not return a certificate"});
    cases.push_back({"a server whose certificate is for another name", files("client1"), "wrong.test", ""});
    cases.push_back(
        {"an expired client certificate", files("expired"), "server.test", "certificate has expired"});
    for (const auto& c : cases) {
        auto connector = tls_connector(sink, c.files, c.server_cn);
        auto o = remote_options(sink);
        o.connector = connector;
        RemoteReceiver receiver(ctx_, *engine_, o, Logger());
        auto listed = test::run(ctx_, receiver.list_filesystems());
        EXPECT_FALSE(listed) << c.what;
        if (c.server_log.empty()) {
            ASSERT_FALSE(listed);
            EXPECT_FALSE(listed.error().temporary()) << c.what << ": " << listed.error().message();
            EXPECT_NE(listed.error().message().find("certificate verify failed"), std::string::npos)
                << listed.error().message();
        } else {
            EXPECT_NE(log_text().find("refusing TLS connection"), std::string::npos) << c.what << "\n"
                                                                                     << log_text();
            EXPECT_NE(log_text().find(c.server_log), std::string::npos) << c.what << "\n" << log_text();
        }
        test::run(ctx_, close_receiver(&receiver));
        test::run(ctx_, shutdown_connector(connector.get()));
    }
    EXPECT_EQ(names(*dst_, "q/sink"), "") << "nothing was received";
    test::run(ctx_, stop_server(&sink));
    EXPECT_EQ(sink.active_connections(), 0u);
}

TEST_F(RemoteEndpointTest, TlsClientRefusesAServerWithAnExpiredCertificate) {
    make_certificates();
    auto& sink = tls_sink_server({"client1"}, "expired-server");
    auto connector = tls_connector(sink, files("client1"));
    auto o = remote_options(sink);
    o.connector = connector;
    RemoteReceiver receiver(ctx_, *engine_, o, Logger());
    auto listed = test::run(ctx_, receiver.list_filesystems());
    ASSERT_FALSE(listed);
    EXPECT_FALSE(listed.error().temporary()) << listed.error().message();
    EXPECT_NE(listed.error().message().find("certificate has expired"), std::string::npos)
        << listed.error().message();
    test::run(ctx_, close_receiver(&receiver));
    test::run(ctx_, shutdown_connector(connector.get()));
    test::run(ctx_, stop_server(&sink));
    EXPECT_EQ(sink.active_connections(), 0u);
}

// Waits (on the io_context, so the server keeps serving) until `done` is set by another thread.
asio::awaitable<void> wait_for_flag(const std::atomic<bool>* done) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (!done->load()) {
        t.expires_after(std::chrono::milliseconds(20));
        co_await t.async_wait(use_ec);
    }
}

TEST_F(RemoteEndpointTest, OpensslSClientWithoutACertificateIsRefusedWithALogLine) {
    make_certificates();
    auto& sink = tls_sink_server({"client1"});
    // The openssl CLI as a TLS client that trusts the CA but offers no certificate, as a person
    // poking the port would; it runs on a thread while the server's io_context serves.
    const std::string cmd =
        "openssl s_client -connect 127.0.0.1:" + std::to_string(sink.local_endpoint().port()) + " -CAfile " +
        (dir_ / "ca.crt").string() + " -servername server.test </dev/null >" +
        (dir_ / "s_client.out").string() + " 2>&1";
    std::atomic<bool> done{false};
    int rc = -1;
    std::thread client([&] {
        rc = std::system(cmd.c_str());
        done = true;
    });
    test::run(ctx_, with_timeout(wait_for_flag(&done), std::chrono::seconds(30)));
    client.join();
    std::ifstream in(dir_ / "s_client.out");
    const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The server verified nothing but its own certificate to s_client, then refused it.
    EXPECT_NE(out.find("server.test"), std::string::npos) << out;
    EXPECT_NE(log_text().find("refusing TLS connection"), std::string::npos) << log_text();
    EXPECT_NE(log_text().find("peer did not return a certificate"), std::string::npos) << log_text();
    EXPECT_EQ(names(*dst_, "q/sink"), "") << "nothing was received";
    test::run(ctx_, stop_server(&sink));
    EXPECT_EQ(sink.active_connections(), 0u);
    (void)rc;  // s_client's own exit status differs between OpenSSL releases; the logs decide
}

asio::awaitable<std::pair<error_code, std::string>> read_until_closed(asio::ip::tcp::socket* s) {
    std::string got;
    char buf[4096];
    for (;;) {
        auto [ec, n] = co_await s->async_read_some(asio::buffer(buf), use_ec);
        got.append(buf, n);
        if (ec) co_return std::pair{ec, got};
    }
}

TEST_F(RemoteEndpointTest, TlsClosesASilentPeerAtTheHandshakeDeadlineAndRefusesPlaintext) {
    make_certificates();
    auto& sink = tls_sink_server({"client1"});
    {
        asio::ip::tcp::socket silent(ctx_);
        silent.connect(sink.local_endpoint());
        const auto start = std::chrono::steady_clock::now();
        auto closed = test::run(ctx_, with_timeout(read_until_closed(&silent), std::chrono::seconds(10)));
        ASSERT_TRUE(closed) << "the server closed the silent connection";
        const auto waited = std::chrono::steady_clock::now() - start;
        EXPECT_GE(waited, std::chrono::milliseconds(1500));
        EXPECT_NE(log_text().find("refusing TLS connection: no handshake within 2000 ms"), std::string::npos)
            << log_text();
    }
    {
        // What a zrepl client speaking plain tcp (or a port scanner) sends first.
        asio::ip::tcp::socket plain(ctx_);
        plain.connect(sink.local_endpoint());
        asio::write(plain, asio::buffer(std::string("0000000051 ZREPL_ZFS_REPLICATION PROTOVERSION=0007\n")));
        auto closed = test::run(ctx_, with_timeout(read_until_closed(&plain), std::chrono::seconds(10)));
        ASSERT_TRUE(closed);
        EXPECT_NE(log_text().find("refusing TLS connection: handshake failed"), std::string::npos)
            << log_text();
    }
    test::run(ctx_, stop_server(&sink));
    EXPECT_EQ(sink.active_connections(), 0u);
}

// Connects, writes nothing and reads (through the connection, which decrypts and so takes in
// the server's ticket) until the server closes: "closed after N bytes", or what went wrong.
asio::awaitable<std::string> connect_and_wait_for_close(transport::WireConnector* c, IoEngine* engine) {
    auto wire = co_await c->connect(std::chrono::seconds(5));
    if (!wire) co_return "connect failed: " + wire.error().message();
    transport::TcpConn conn(*engine, std::move(wire->socket), {}, std::move(wire->tls));
    std::size_t got = 0;
    char buf[4096];
    for (;;) {
        iovec iov{buf, sizeof buf};
        auto [ec, n] = co_await conn.read_some(std::span<const iovec>(&iov, 1));
        got += n;
        if (ec) break;
    }
    conn.close();
    co_return "closed after " + std::to_string(got) + " bytes";
}

// A session resumed by a client whose CN is not allowed is refused as its full handshake was:
// the CN comes from the certificate the session keeps. The client writes nothing, so it reads
// the server's ticket and then the close, in that order.
TEST_F(RemoteEndpointTest, TlsRefusesAResumedSessionWhoseCertificateCnIsNotAllowed) {
    make_certificates();
    auto& sink = tls_sink_server({"client1"});
    auto connector = tls_connector(sink, files("intruder"));
    for (int i = 0; i < 2; ++i)
        EXPECT_EQ(test::run(ctx_, connect_and_wait_for_close(connector.get(), engine_.get())),
                  "closed after 0 bytes")
            << "closed before a byte of the preamble";
    EXPECT_EQ(connector->resumed_sessions(), 1u) << "the second connection resumed";
    EXPECT_EQ(tls_listener_->resumed_sessions(), 1u);
    const std::string text = log_text();
    const std::string refusal = "client certificate CN 'intruder' is not in client_cns";
    const auto first = text.find(refusal);
    ASSERT_NE(first, std::string::npos) << text;
    EXPECT_NE(text.find(refusal, first + 1), std::string::npos) << "refused again when resumed\n" << text;
    test::run(ctx_, shutdown_connector(connector.get()));
    test::run(ctx_, stop_server(&sink));
    EXPECT_EQ(sink.active_connections(), 0u);
}

asio::awaitable<void> accept_and_close(asio::ip::tcp::acceptor* a, int n) {
    for (int i = 0; i < n; ++i) {
        auto [ec, s] = co_await a->async_accept(use_ec);
        if (ec) co_return;
        s.close();
    }
}

asio::awaitable<std::string> connect_result(transport::WireConnector* c) {
    auto wire = co_await c->connect(std::chrono::seconds(5));
    if (wire) co_return std::string("connected");
    co_return std::string(wire.error().temporary() ? "temporary: " : "permanent: ") + wire.error().message();
}

// A server that closes a connection in its handshake without an alert (what a listener shedding
// handshakes does) is busy, not refusing us: the client's error is temporary, so it retries.
TEST_F(RemoteEndpointTest, TlsHandshakeEndedByTheServerClosingIsTemporary) {
    make_certificates();
    asio::ip::tcp::acceptor closer(ctx_, {asio::ip::make_address("127.0.0.1"), 0});
    transport::TlsClientConfig cc{files("client1"), "server.test", std::chrono::milliseconds(5000)};
    auto connector = std::make_shared<transport::TlsWireConnector>(
        ctx_.get_executor(), closer.local_endpoint(), std::move(cc), Logger());
    ASSERT_TRUE(connector->load());
    OwnedTask server(ctx_.get_executor());
    server.start(accept_and_close(&closer, 1));
    const std::string got = test::run(ctx_, connect_result(connector.get()));
    EXPECT_EQ(got.rfind("temporary: TLS handshake with ", 0), 0u) << got;
    EXPECT_NE(got.find("the server closed the connection"), std::string::npos) << got;
    test::run(ctx_, server.stop());
    test::run(ctx_, shutdown_connector(connector.get()));
}

// A flood of TLS connections that never finish their handshake (silent connects, and
// ClientHellos that stop after a few bytes): the listener counts handshakes per source address
// and in total and closes the oldest beyond a limit, so a legitimate client's handshake gets in
// while the flood holds every slot. Before, every handshake ran until its own deadline.
TEST_F(RemoteEndpointTest, AFloodOfUnfinishedTlsHandshakesIsBoundedAndALegitimatePushCompletes) {
    make_certificates();
    snapshots("p/a", {"s1"});
    snapshots("p/a/b", {"s1"});
    // Long deadlines: only the limits close anything here.
    auto& sink = tls_sink_server({"client1"}, "server", std::chrono::seconds(120),
                                 {.max_pending = 6, .max_pending_per_address = 4});
    // Connected in order, so accepted in order: 20 silent from 127.0.0.2, then 5 from 127.0.0.3
    // that start a ClientHello (a handshake record header and its first bytes) and stop.
    const std::string trickle("\x16\x03\x01\x02\x00\x01\x00", 7);
    auto flood = [&](const char* from, int n, bool hello) {
        std::vector<asio::ip::tcp::socket> out;
        for (int i = 0; i < n; ++i) {
            asio::ip::tcp::socket s(ctx_);
            s.open(asio::ip::tcp::v4());
            s.bind({asio::ip::make_address(from), 0});
            s.connect(sink.local_endpoint());
            if (hello) asio::write(s, asio::buffer(trickle));
            out.push_back(std::move(s));
        }
        return out;
    };
    auto a = flood("127.0.0.2", 20, false);
    auto b = flood("127.0.0.3", 5, true);
    // Closed: a[0..15] (more than 4 from 127.0.0.2), then a[16] and a[17] for b[2] and b[3] (6
    // in total), and b[0] for b[4] (more than 4 from 127.0.0.3).
    std::vector<asio::ip::tcp::socket*> closed;
    for (int i = 0; i < 18; ++i) closed.push_back(&a[i]);
    closed.push_back(&b[0]);
    for (auto* s : closed) {
        auto r = test::run(ctx_, with_timeout(read_until_closed(s), std::chrono::seconds(60)));
        ASSERT_TRUE(r) << "a connection beyond the limits stays open";
        EXPECT_EQ(r->second, "") << "closed before the server wrote a byte";
    }
    EXPECT_EQ(tls_listener_->handshakes_in_progress(), 6u) << "a[18], a[19], b[1..4]";
    auto count = [&](const std::string& needle) {
        const std::string text = log_text();
        std::size_t n = 0;
        for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
        return n;
    };
    EXPECT_EQ(
        count("closing a TLS connection in its handshake: more than 4 connections in their TLS handshake "
              "from 127.0.0.2; a legitimate client reconnects"),
        16u)
        << log_text();
    EXPECT_EQ(
        count("closing a TLS connection in its handshake: more than 6 connections in their TLS handshake;"),
        2u);
    EXPECT_EQ(count("refusing TLS connection"), 0u) << "a closed one is not logged twice\n" << log_text();
    // The legitimate client (127.0.0.1) pushes while the flood holds every slot: each of its
    // connections closes the oldest flooding handshake.
    auto connector = tls_connector(sink, files("client1"));
    auto o = remote_options(sink);
    o.connector = connector;
    LocalSender sender(*src_, sender_config(), Logger());
    RemoteReceiver receiver(ctx_, *engine_, o, Logger());
    ReplicationRun run(sender, receiver, run_options(), Logger());
    test::run(ctx_, run.run());
    ASSERT_TRUE(run.succeeded()) << to_json(run.report());
    expect_same_guids("p/a", "q/sink/client1");
    expect_same_guids("p/a/b", "q/sink/client1");
    EXPECT_LE(tls_listener_->handshakes_in_progress(), 6u);
    test::run(ctx_, close_receiver(&receiver));
    test::run(ctx_, shutdown_connector(connector.get()));
    a.clear();
    b.clear();
    test::run(ctx_, stop_server(&sink));
    EXPECT_EQ(sink.active_connections(), 0u);
    EXPECT_EQ(tls_listener_->handshakes_in_progress(), 0u);
}

// Connections that never finish their handshake (slowloris, a flood of silent connects) from
// addresses in the clients map: before the fix the endpoint server kept every one of them for
// its whole preamble deadline, so a flood took every descriptor (the chaos scenario
// daemon_connection_storm saw a sink at its 1024-descriptor limit). Now each address and all
// together are bounded, the oldest goes first, and a legitimate client gets in.
TEST_F(RemoteEndpointTest, AFloodOfConnectionsInTheirHandshakeIsBoundedAndALegitimateClientGetsIn) {
    snapshots("p/a", {"s1"});
    EndpointServerOptions o;
    o.preamble_timeout = std::chrono::seconds(120);  // so that only the limits close anything here
    o.pending.max_pending = 6;
    o.pending.max_pending_per_address = 4;
    auto& sink = sink_server({{"127.0.0.0/8", "lo-*"}}, o);
    // Connected in order, so accepted in order: 20 from 127.0.0.2, then 5 from 127.0.0.3.
    auto flood = [&](const char* from, int n) {
        std::vector<asio::ip::tcp::socket> out;
        for (int i = 0; i < n; ++i) {
            asio::ip::tcp::socket s(ctx_);
            s.open(asio::ip::tcp::v4());
            s.bind({asio::ip::make_address(from), 0});
            s.connect(sink.local_endpoint());
            out.push_back(std::move(s));
        }
        return out;
    };
    auto a = flood("127.0.0.2", 20);
    auto b = flood("127.0.0.3", 5);
    // Closed by the limits: a[0..15] (more than 4 from 127.0.0.2); then b[2] and b[3] each
    // close the oldest of all (a[16], a[17]) at 6 in total, and b[4] closes b[0] (more than 4
    // from 127.0.0.3). Each closed one reads EOF (after the server's banner, if its task had
    // written it).
    std::vector<asio::ip::tcp::socket*> closed;
    for (int i = 0; i < 18; ++i) closed.push_back(&a[i]);
    closed.push_back(&b[0]);
    for (auto* s : closed) {
        auto r = test::run(ctx_, with_timeout(read_until_closed(s), std::chrono::seconds(60)));
        ASSERT_TRUE(r) << "a connection beyond the limits stays open";
    }
    EXPECT_EQ(sink.pending_connections(), 6u) << "a[18], a[19], b[1..4]";
    auto count = [&](const std::string& needle) {
        const std::string text = log_text();
        std::size_t n = 0;
        for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
        return n;
    };
    EXPECT_EQ(count("closing a connection in its handshake: more than 4 connections in their preamble from "
                    "127.0.0.2; a legitimate client reconnects"),
              16u)
        << log_text();
    EXPECT_EQ(count("closing a connection in its handshake: more than 6 connections in their preamble;"), 2u);
    // The legitimate client (127.0.0.1) is served while the flood holds every slot.
    RemoteReceiver receiver(ctx_, *engine_, remote_options(sink), Logger());
    auto listed = test::run(ctx_, receiver.list_filesystems());
    ASSERT_TRUE(listed) << listed.error().message();
    test::run(ctx_, close_receiver(&receiver));
    a.clear();
    b.clear();
    test::run(ctx_, stop_server(&sink));
    EXPECT_EQ(sink.active_connections(), 0u);
    EXPECT_EQ(sink.pending_connections(), 0u);
}

TEST_F(RemoteEndpointTest, StoppingTheServerEndsOpenClientConnectionsAndJoinsTheirTasks) {
    snapshots("p/a", {"s1"});
    auto& sink = sink_server({{"127.0.0.1", "client1"}});
    RemoteReceiver receiver(ctx_, *engine_, remote_options(sink), Logger());
    auto listed = test::run(ctx_, receiver.list_filesystems());
    ASSERT_TRUE(listed) << listed.error().message();
    EXPECT_EQ(sink.active_connections(), 1u) << "the control connection stays open";
    const auto start = std::chrono::steady_clock::now();
    test::run(ctx_, stop_server(&sink));
    EXPECT_EQ(sink.active_connections(), 0u);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4))
        << "the client leaves on GOAWAY; the server does not wait for the whole grace";
    auto after = test::run(ctx_, receiver.list_filesystems());
    EXPECT_FALSE(after) << "nobody listens any more";
    if (!after) EXPECT_TRUE(after.error().temporary()) << after.error().message();
    test::run(ctx_, close_receiver(&receiver));
}

TEST_F(RemoteEndpointTest, APushCancelledMidStreamResumesOverTheNetwork) {
    sh("src", "destroy -r p/a/b");
    snapshots("p/a", {"s1"}, 3'000'000);
    auto& sink = sink_server({{"127.0.0.1", "client1"}});
    RemoteReceiver receiver(ctx_, *engine_, remote_options(sink), Logger());
    auto stalling = runner("src", {{"ZFS_SIM_STALL_SEND_AFTER", "1000000"}});
    LocalSender stalled_sender(*stalling, sender_config(), Logger());
    ReplicationRun r(stalled_sender, receiver, run_options(), Logger());
    asio::cancellation_signal cancel;
    bool finished = false;
    asio::co_spawn(ctx_, r.run(),
                   asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr) { finished = true; }));
    ctx_.restart();
    auto bytes = [&]() -> std::uint64_t {
        const auto& as = r.report().attempts;
        if (as.empty() || as.back().filesystems.empty() || as.back().filesystems[0].steps.empty()) return 0;
        return as.back().filesystems[0].steps[0].bytes_replicated;
    };
    while (bytes() < 1'000'000) ctx_.run_one();
    cancel.emit(asio::cancellation_type::terminal);
    while (!finished) ctx_.run_one();
    EXPECT_FALSE(r.succeeded());
    EXPECT_EQ(receiver.connection().data().idle_connections(), 0u)
        << "a request cancelled mid-stream never returns its connection to the pool";
    EXPECT_EQ(sink.data_connections(), 1u);
    // The server's receive was stopped with its partial state (zfs recv -s); the receiver
    // reports the token over the control channel.
    auto listed = test::run(ctx_, receiver.list_filesystems());
    ASSERT_TRUE(listed) << listed.error().message();
    std::string token;
    for (const auto& f : *listed)
        if (f.path == "p/a") token = f.resume_token;
    EXPECT_FALSE(token.empty()) << "the partial receive stays for a resume";

    LocalSender sender(*src_, sender_config(), Logger());
    ReplicationRun resumed(sender, receiver, run_options(), Logger());
    test::run(ctx_, resumed.run());
    ASSERT_TRUE(resumed.succeeded()) << to_json(resumed.report());
    const auto& fss = resumed.report().attempts.back().filesystems;
    ASSERT_EQ(fss.size(), 1u);
    ASSERT_EQ(fss[0].steps.size(), 1u);
    EXPECT_TRUE(fss[0].steps[0].resumed);
    EXPECT_LT(fss[0].steps[0].bytes_replicated, 2'500'000u) << "the first million bytes were not sent again";
    EXPECT_EQ(sink.data_connections(), 2u) << "the resumed step came on a new connection";
    EXPECT_EQ(sink.reused_data_requests(), 0u);
    EXPECT_EQ(names(*dst_, "q/sink/client1/p/a"), "s1");
    expect_same_guids("p/a", "q/sink/client1");
    test::run(ctx_, close_receiver(&receiver));
    test::run(ctx_, stop_server(&sink));
    EXPECT_EQ(sink.active_connections(), 0u);
}

// The sink's pool fills up mid-stream (zfs-sim's capacity): its zfs recv exits with ENOSPC while
// the client still sends. The client hears zfs's words naming the pool, not the sink's broken
// pipe; the run stops after one attempt (a full pool is permanent); the partial receive stays,
// and once the pool has room the next run resumes it.
TEST_F(RemoteEndpointTest, APushIntoAFullSinkPoolHearsWhyAndResumesOnceThereIsRoom) {
    sh("src", "destroy -r p/a/b");
    snapshots("p/a", {"s1"}, 4'000'000);
    sh("dst", "sim-set-pool-size q 1000000");
    auto& sink = sink_server({{"127.0.0.1", "client1"}});
    LocalSender sender(*src_, sender_config(), Logger());
    RemoteReceiver receiver(ctx_, *engine_, remote_options(sink), Logger());
    ReplicationRun full(sender, receiver, run_options(), Logger());
    test::run(ctx_, full.run());
    ASSERT_FALSE(full.succeeded());
    const auto& attempts = full.report().attempts;
    EXPECT_EQ(attempts.size(), 1u) << "a full pool is not retried: " << to_json(full.report());
    ASSERT_FALSE(attempts.empty());
    ASSERT_EQ(attempts.back().filesystems.size(), 1u);
    ASSERT_TRUE(attempts.back().filesystems[0].step_error);
    const std::string err = attempts.back().filesystems[0].step_error->message;
    EXPECT_NE(err.find("receiving pool 'q' is out of space"), std::string::npos) << err;
    EXPECT_NE(err.find("cannot receive new filesystem stream: out of space"), std::string::npos) << err;
    EXPECT_EQ(err.find("Broken pipe"), std::string::npos) << err;

    sh("dst", "sim-set-pool-size q none");
    ReplicationRun resumed(sender, receiver, run_options(), Logger());
    test::run(ctx_, resumed.run());
    ASSERT_TRUE(resumed.succeeded()) << to_json(resumed.report());
    const auto& step = resumed.report().attempts.back().filesystems.at(0).steps.at(0);
    EXPECT_TRUE(step.resumed);
    EXPECT_LT(step.bytes_replicated, 3'100'000u) << "the million bytes that fit were not sent again";
    expect_same_guids("p/a", "q/sink/client1");
    test::run(ctx_, close_receiver(&receiver));
    test::run(ctx_, stop_server(&sink));
    EXPECT_EQ(sink.active_connections(), 0u);
}

// A raw client on a thread of its own, blocking sockets: connects from `from`, writes `bytes`,
// and reads until the server closes (or 20 s pass); returns what it read.
std::string raw_exchange(unsigned short port, const std::string& bytes, const char* from = "127.0.0.1") {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    ::inet_pton(AF_INET, from, &src.sin_addr);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(port);
    timeval tv{20, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string got;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0 &&
        ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 &&
        ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size())) {
        char buf[4096];
        for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
            got.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return got;
}

// One dataconn message as zrepl frames it: a frame of `type`, then End.
std::string message_frames(std::uint32_t type, const std::string& payload) {
    std::string out;
    auto h = transport::encode_frame_header({type, static_cast<std::uint32_t>(payload.size())});
    out.append(reinterpret_cast<const char*>(h.data()), h.size());
    out += payload;
    auto end = transport::encode_frame_header({transport::frame_type::stream_end, 0});
    out.append(reinterpret_cast<const char*>(end.data()), end.size());
    return out;
}

// A sink whose dataset is busy for the first receive: between two zferry peers the server's
// error crosses as temporary, so the run retries and the second attempt succeeds (before, the
// refusal was permanent and the run stopped after one attempt). A zrepl client (no zferry/1
// in its banner) still gets the plain text, without the class line.
TEST_F(RemoteEndpointTest, ATemporaryServerErrorIsTemporaryOnAZferryClientAndPlainTextForZrepl) {
    snapshots("p/a", {"s1"});
    sh("src", "destroy -r p/a/b");
    auto busy = std::make_shared<std::atomic<int>>(1);
    auto& sink = sink_server({{"127.0.0.1", "client1"}, {"127.0.0.2", "zrepl"}}, {}, busy);
    LocalSender sender(*src_, sender_config(), Logger());
    RemoteReceiver receiver(ctx_, *engine_, remote_options(sink), Logger());
    ReplicationRun run(sender, receiver, run_options(), Logger());
    test::run(ctx_, run.run());
    ASSERT_TRUE(run.succeeded()) << to_json(run.report());
    const auto& attempts = run.report().attempts;
    ASSERT_EQ(attempts.size(), 2u) << "the busy sink was retried: " << to_json(run.report());
    ASSERT_EQ(attempts[0].filesystems.size(), 1u);
    ASSERT_TRUE(attempts[0].filesystems[0].step_error) << to_json(run.report());
    const std::string err = attempts[0].filesystems[0].step_error->message;
    EXPECT_NE(err.find("cannot receive into p/a: dataset is busy"), std::string::npos) << err;
    EXPECT_NE(err.find("server error, temporary on the server (temporary, retrying can help)"),
              std::string::npos)
        << err;
    EXPECT_EQ(err.find("zferry-error-class"), std::string::npos) << "the class line is not text: " << err;
    EXPECT_EQ(err.find("(permanent)"), std::string::npos) << err;
    expect_same_guids("p/a", "q/sink/client1");
    test::run(ctx_, close_receiver(&receiver));

    // A zrepl client: protocol 7 without extensions, label, a /v1/recv request for the busy
    // sink. It reads the response header with the server's plain text.
    busy->store(1);
    snapshots("p/a", {"s2"});
    std::string request = *transport::encode_banner(transport::Banner{7, {}});
    auto label = transport::encode_label(transport::MuxLabel::zrepl_data);
    request.append(label.data(), label.size());
    ReceiveRequest req;
    req.filesystem = "p/a";
    req.to = versions(*src_, "p/a").back();
    req.protection = {GuaranteeKind::resumability, GuaranteeKind::resumability};
    request += message_frames(transport::frame_type::req_header, "/v1/recv");
    request +=
        message_frames(transport::frame_type::req_structured, control::to_pdu(req).SerializeAsString());
    std::atomic<bool> done{false};
    std::string answer;
    std::thread zrepl([&] {
        answer = raw_exchange(sink.local_endpoint().port(), request, "127.0.0.2");
        done = true;
    });
    test::run(ctx_, with_timeout(wait_for_flag(&done), std::chrono::seconds(30)));
    zrepl.join();
    const std::string prefix = "HANDLER ERROR:\n";
    const auto at = answer.find(prefix);
    ASSERT_NE(at, std::string::npos) << answer;
    const std::string text = answer.substr(at + prefix.size());
    EXPECT_TRUE(text.starts_with("cannot receive into p/a: dataset is busy")) << text;
    EXPECT_EQ(answer.find("zferry-error-class"), std::string::npos) << answer;
    test::run(ctx_, stop_server(&sink));
    EXPECT_EQ(sink.active_connections(), 0u);
}

// Connections that send banner and label and then nothing: before, the label took them out of
// the pending connections (only the preamble deadline bounded them). Now they stay counted
// until their request is in, so a flood of them is shed oldest first, per address and in
// total, while a legitimate client is served.
TEST_F(RemoteEndpointTest, AFloodOfLabelledSilentDataConnectionsIsBoundedAndALegitimateClientGetsIn) {
    snapshots("p/a", {"s1"});
    sh("src", "destroy -r p/a/b");
    EndpointServerOptions o;
    o.preamble_timeout = std::chrono::seconds(120);  // so that only the limits close anything here
    o.pending.max_pending = 6;
    o.pending.max_pending_per_address = 4;
    auto& sink = sink_server({{"127.0.0.0/8", "lo-*"}}, o);
    std::string preamble = *transport::encode_banner(transport::zferry_banner());
    auto label = transport::encode_label(transport::MuxLabel::zrepl_data);
    preamble.append(label.data(), label.size());
    // Connected and labelled in order, so accepted and admitted in order; the server reads
    // their labels at once (they are in its socket buffer), and before the fix each left the
    // pending connections right there.
    std::vector<asio::ip::tcp::socket> flood;
    auto connect_labelled = [&](const char* from) {
        asio::ip::tcp::socket s(ctx_);
        s.open(asio::ip::tcp::v4());
        s.bind({asio::ip::make_address(from), 0});
        s.connect(sink.local_endpoint());
        asio::write(s, asio::buffer(preamble));
        flood.push_back(std::move(s));
    };
    for (int i = 0; i < 10; ++i) connect_labelled("127.0.0.2");
    for (int i = 0; i < 3; ++i) connect_labelled("127.0.0.3");
    // 10 from .2: the first 6 closed by the per-address limit (4). Then .3's first two bring
    // the total to 6, and its third closes the oldest of all (the 7th from .2).
    for (int i = 0; i < 7; ++i) {
        auto r = test::run(ctx_, with_timeout(read_until_closed(&flood[i]), std::chrono::seconds(60)));
        ASSERT_TRUE(r) << "labelled connection " << i << " stays open beyond the limits";
    }
    EXPECT_EQ(sink.pending_connections(), 6u) << "3 from 127.0.0.2 and 3 from 127.0.0.3";
    const std::string log = log_text();
    std::size_t per_address = 0, total = 0;
    for (auto at = log.find("more than 4 connections in their preamble from 127.0.0.2");
         at != std::string::npos;
         at = log.find("more than 4 connections in their preamble from 127.0.0.2", at + 1))
        ++per_address;
    for (auto at = log.find("more than 6 connections in their preamble;"); at != std::string::npos;
         at = log.find("more than 6 connections in their preamble;", at + 1))
        ++total;
    EXPECT_EQ(per_address, 6u) << log;
    EXPECT_EQ(total, 1u) << log;
    // A legitimate client (127.0.0.1) replicates while the flood holds every slot.
    LocalSender sender(*src_, sender_config(), Logger());
    RemoteReceiver receiver(ctx_, *engine_, remote_options(sink), Logger());
    ReplicationRun run(sender, receiver, run_options(), Logger());
    test::run(ctx_, run.run());
    ASSERT_TRUE(run.succeeded()) << to_json(run.report());
    expect_same_guids("p/a", "q/sink/lo-127.0.0.1");
    test::run(ctx_, close_receiver(&receiver));
    flood.clear();
    test::run(ctx_, stop_server(&sink));
    EXPECT_EQ(sink.active_connections(), 0u);
    EXPECT_EQ(sink.pending_connections(), 0u);
}

// A pull from a source whose zfs send stalls 1 MB into its stream. Before: the server's
// copy loop waited for a full 512 KiB frame, so the client got only the first 512 KiB; and
// when the client gave up, the server's /v1/send stayed blocked on the stalled pipe (and its
// zfs send child stayed) until the server stopped. Now every byte the send produced reaches
// the client, and the server notices the client leaving: the connection ends and the zfs
// send child is stopped and reaped while the server keeps running.
TEST_F(RemoteEndpointTest, APullFromAStalledSourceGetsEveryByteAndTheServerLetsGoWhenTheClientLeaves) {
    sh("src", "destroy -r p/a/b");
    snapshots("p/a", {"s1"}, 3'000'000);
    stalling_src_ = runner("src", {{"ZFS_SIM_STALL_SEND_AFTER", "1000000"}});
    auto& source = source_server({{"127.0.0.1", "backup"}}, {}, stalling_src_.get());
    sh("dst", "create q/pull");
    RemoteSender sender(ctx_, *engine_, remote_options(source), Logger());
    LocalReceiver receiver(
        *dst_,
        ReceiverConfig{
            *JobId::make("pull"), "q/pull", std::nullopt, PlaceholderEncryptionPolicy::inherit, {}},
        Logger());
    ReplicationRun r(sender, receiver, run_options(), Logger());
    asio::cancellation_signal cancel;
    bool finished = false;
    asio::co_spawn(ctx_, r.run(),
                   asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr) { finished = true; }));
    ctx_.restart();
    auto bytes = [&]() -> std::uint64_t {
        const auto& as = r.report().attempts;
        if (as.empty() || as.back().filesystems.empty() || as.back().filesystems[0].steps.empty()) return 0;
        return as.back().filesystems[0].steps[0].bytes_replicated;
    };
    // A bound for a failure only: the bytes arrive in milliseconds.
    auto bound = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (bytes() < 1'000'000 && !finished && std::chrono::steady_clock::now() < bound)
        ctx_.run_one_for(std::chrono::milliseconds(100));
    EXPECT_EQ(bytes(), 1'000'000u) << "every byte the stalled zfs send produced reached the client";
    cancel.emit(asio::cancellation_type::terminal);
    while (!finished) ctx_.run_one();
    EXPECT_FALSE(r.succeeded());
    test::run(ctx_, close_sender(&sender));  // the control connection goes too

    // The client is gone; the server, still running, ends the /v1/send and its zfs send.
    bound = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while ((source.active_connections() > 0 || !no_children()) && std::chrono::steady_clock::now() < bound)
        ctx_.run_one_for(std::chrono::milliseconds(50));
    EXPECT_EQ(source.active_connections(), 0u) << "the /v1/send connection outlived its client";
    EXPECT_TRUE(no_children()) << "the stalled zfs send child was stopped and reaped";
    EXPECT_NE(log_text().find("sending stream: the client left"), std::string::npos) << log_text();
    test::run(ctx_, stop_server(&source));
}

// Every line the endpoint itself writes while serving a control call carries the client and
// the gRPC method (the endpoint is made per call, with the call's logger).
TEST_F(RemoteEndpointTest, TheEndpointsOwnLinesOnAControlCallCarryClientAndMethod) {
    auto& sink = sink_server({{"127.0.0.1", "client1"}}, {}, std::make_shared<std::atomic<int>>(0));
    RemoteReceiver receiver(ctx_, *engine_, remote_options(sink), Logger());
    auto listed = test::run(ctx_, receiver.list_filesystems());
    ASSERT_TRUE(listed) << listed.error().message();
    test::run(ctx_, close_receiver(&receiver));
    test::run(ctx_, stop_server(&sink));
    const auto log = log_text();
    const auto at = log.find("test endpoint lists filesystems");
    ASSERT_NE(at, std::string::npos) << log;
    const auto start = log.rfind('\n', at) + 1;
    const auto line = log.substr(start, log.find('\n', at) - start);
    EXPECT_NE(line.find("client=client1"), std::string::npos) << line;
    EXPECT_NE(line.find("method=/Replication/ListFilesystems"), std::string::npos) << line;
}

// Waits (serving) until `server` has `n` connection tasks, or 60 s (a bound for failures only).
void settle(asio::io_context& ctx, const EndpointServer& server, std::size_t n) {
    const auto bound = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (server.active_connections() != n && std::chrono::steady_clock::now() < bound)
        ctx.run_one_for(std::chrono::milliseconds(20));
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

// Control connections that stay open without calling: a client beyond its limit (or all
// clients beyond the total) make the oldest idle one go with a graceful GOAWAY, logged with the
// client; the zferry client whose connection went connects again for its next call, unaware.
TEST_F(RemoteEndpointTest, ControlConnectionsAreBoundedPerClientAndInTotalAndTheClientReconnects) {
    for (bool per_identity : {true, false}) {
        SCOPED_TRACE(per_identity ? "per client identity" : "in total");
        EndpointServerOptions o;
        if (per_identity)
            o.control_limits.max_per_identity = 2;
        else
            o.control_limits.max_connections = 2;
        auto& sink = sink_server({{"127.0.0.1", "client1"}}, o);
        const std::string reason = per_identity ? "more than 2 control connections of client client1"
                                                : "more than 2 control connections;";
        std::vector<std::unique_ptr<RemoteReceiver>> clients;
        for (int i = 0; i < 3; ++i) {
            clients.push_back(
                std::make_unique<RemoteReceiver>(ctx_, *engine_, remote_options(sink), Logger()));
            auto listed = test::run(ctx_, clients.back()->list_filesystems());
            ASSERT_TRUE(listed) << i << ": " << listed.error().message();
        }
        // The third connection made the first (idle) one go.
        settle(ctx_, sink, 2);
        EXPECT_EQ(sink.active_connections(), 2u);
        const auto before = log_text();
        EXPECT_EQ(occurrences(before, reason), 1u) << before;
        const auto at = before.find("closing control connection (GOAWAY): " + reason);
        ASSERT_NE(at, std::string::npos) << before;
        const auto line = before.substr(at, before.find('\n', at) - at);
        EXPECT_NE(line.find("client=client1"), std::string::npos) << line;
        // Its client calls again: a new connection, transparently (which makes the now oldest
        // idle one, the second client's, go); and so does the second.
        for (int i = 0; i < 2; ++i) {
            auto again = test::run(ctx_, clients[i]->list_filesystems());
            ASSERT_TRUE(again) << i << ": " << again.error().message();
            settle(ctx_, sink, 2);
        }
        EXPECT_EQ(occurrences(log_text(), reason), 3u) << log_text();
        for (auto& c : clients) test::run(ctx_, close_receiver(c.get()));
        test::run(ctx_, stop_server(&sink));
        EXPECT_EQ(sink.active_connections(), 0u);
    }
}

}  // namespace
}  // namespace zferry::replication::remote

namespace zferry::replication::remote {
namespace {

// Between zferry peers a pull plans consecutive snapshots as one `send -I` step (zferry's own
// SendReq field), and every dataconn request of the test rides one kept data connection.
TEST_F(RemoteEndpointTest, APullOfTwentySnapshotsFromAZferrySourceIsOneCoalescedStepOnOneConnection) {
    snapshots("p/a", {"s00"});
    snapshots("p/a/b", {"s00"});
    auto& source = source_server({{"127.0.0.1", "backup"}}, patient());
    sh("dst", "create q/pull");
    RemoteSender sender(ctx_, *engine_, remote_options(source), Logger());
    LocalReceiver receiver(
        *dst_,
        ReceiverConfig{
            *JobId::make("pull"), "q/pull", std::nullopt, PlaceholderEncryptionPolicy::inherit, {}},
        Logger());
    ReplicationRun first(sender, receiver, run_options(), Logger());
    test::run(ctx_, first.run());
    ASSERT_TRUE(first.succeeded()) << to_json(first.report());
    EXPECT_TRUE(sender.sends_coalesced_steps()) << "the source's banner advertised zferry/1";

    numbered_snapshots("p/a", 20);
    ReplicationRun second(sender, receiver, run_options(), Logger());
    test::run(ctx_, second.run());
    ASSERT_TRUE(second.succeeded()) << to_json(second.report());
    EXPECT_EQ(steps_of(second, "p/a"), 1u) << "send -I s00 s20";
    EXPECT_EQ(versions(*dst_, "q/pull/p/a").size(), 21u) << names(*dst_, "q/pull/p/a");
    expect_same_guids("p/a", "q/pull");
    auto cursor = test::run(ctx_, sender.replication_cursor("p/a"));
    ASSERT_TRUE(cursor) << cursor.error().message();
    ASSERT_TRUE(cursor->has_value());
    EXPECT_EQ(**cursor, versions(*src_, "p/a").back().guid) << "SendCompleted of the coalesced step";

    EXPECT_EQ(source.data_connections(), 1u) << "three /v1/send requests, one connection";
    EXPECT_EQ(source.reused_data_requests(), 2u);
    test::run(ctx_, close_sender(&sender));
    test::run(ctx_, stop_server(&source));
    EXPECT_EQ(source.active_connections(), 0u);
}

// The same against a source that looks like zrepl: one step per snapshot, one connection per
// request, and a coalesced step asked for anyway is refused before anything is sent.
TEST_F(RemoteEndpointTest, APullFromAZreplLikeSourceIsOneStepPerSnapshotAndOneConnectionPerRequest) {
    snapshots("p/a", {"s00"});
    snapshots("p/a/b", {"s00"});
    auto& source = source_server({{"127.0.0.1", "backup"}}, zrepl_like());
    sh("dst", "create q/pull");
    RemoteSender sender(ctx_, *engine_, remote_options(source), Logger());
    LocalReceiver receiver(
        *dst_,
        ReceiverConfig{
            *JobId::make("pull"), "q/pull", std::nullopt, PlaceholderEncryptionPolicy::inherit, {}},
        Logger());
    ReplicationRun first(sender, receiver, run_options(), Logger());
    test::run(ctx_, first.run());
    ASSERT_TRUE(first.succeeded()) << to_json(first.report());
    EXPECT_FALSE(sender.sends_coalesced_steps());

    numbered_snapshots("p/a", 20);
    ReplicationRun second(sender, receiver, run_options(), Logger());
    test::run(ctx_, second.run());
    ASSERT_TRUE(second.succeeded()) << to_json(second.report());
    EXPECT_EQ(steps_of(second, "p/a"), 20u);
    EXPECT_EQ(versions(*dst_, "q/pull/p/a").size(), 21u) << names(*dst_, "q/pull/p/a");
    expect_same_guids("p/a", "q/pull");
    EXPECT_EQ(source.data_connections(), 22u) << "2 full sends + 20 incremental ones, a connection each";
    EXPECT_EQ(source.reused_data_requests(), 0u);

    auto vs = versions(*src_, "p/a");
    StepRequest req;
    req.filesystem = "p/a";
    req.from = vs.front();
    req.to = vs.back();
    req.intermediates = true;
    req.protection = {GuaranteeKind::resumability, GuaranteeKind::resumability};
    auto refused = test::run(ctx_, sender.send(req));
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("needs a zferry server"), std::string::npos)
        << refused.error().message();
    EXPECT_EQ(source.data_connections(), 22u) << "refused before connecting";
    test::run(ctx_, close_sender(&sender));
    test::run(ctx_, stop_server(&source));
}

// A push of N single-snapshot steps (coalescing off, so each is a request of its own) rides
// one data connection between zferry peers; a client that looks like zrepl opens one per
// request against the same server.
TEST_F(RemoteEndpointTest, NStepsBetweenZferryPeersUseOneDataConnectionAZreplLikeClientOnePerRequest) {
    sh("src", "destroy -r p/a/b");
    snapshots("p/a", {"s00"});
    auto& sink = sink_server({{"127.0.0.1", "client1"}}, patient());
    LocalSender sender(*src_, sender_config(), Logger());
    auto options = run_options();
    options.coalesce = false;
    {
        RemoteReceiver receiver(ctx_, *engine_, remote_options(sink), Logger());
        numbered_snapshots("p/a", 8);
        options.initial = InitialReplicationPolicy::all;
        ReplicationRun run(sender, receiver, options, Logger());
        test::run(ctx_, run.run());
        ASSERT_TRUE(run.succeeded()) << to_json(run.report());
        EXPECT_EQ(steps_of(run, "p/a"), 9u);
        expect_same_guids("p/a", "q/sink/client1");
        EXPECT_EQ(sink.data_connections(), 1u) << "9 /v1/recv requests on one connection";
        EXPECT_EQ(sink.reused_data_requests(), 8u);
        EXPECT_EQ(receiver.connection().data().idle_connections(), 1u) << "kept for the next run";
        test::run(ctx_, close_receiver(&receiver));
    }
    {
        auto o = remote_options(sink);
        o.advertise_zferry = false;
        RemoteReceiver receiver(ctx_, *engine_, std::move(o), Logger());
        sh("src", "snapshot p/a@t1 && $Z snapshot p/a@t2 && $Z snapshot p/a@t3");
        ReplicationRun run(sender, receiver, options, Logger());
        test::run(ctx_, run.run());
        ASSERT_TRUE(run.succeeded()) << to_json(run.report());
        EXPECT_EQ(steps_of(run, "p/a"), 3u);
        expect_same_guids("p/a", "q/sink/client1");
        EXPECT_EQ(sink.data_connections(), 4u) << "one more connection per request";
        EXPECT_EQ(sink.reused_data_requests(), 8u);
        EXPECT_EQ(receiver.connection().data().idle_connections(), 0u);
        test::run(ctx_, close_receiver(&receiver));
    }
    test::run(ctx_, stop_server(&sink));
    EXPECT_EQ(sink.active_connections(), 0u);
}

}  // namespace
}  // namespace zferry::replication::remote
