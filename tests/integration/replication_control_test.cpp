// zrepl's Replication service end to end on 127.0.0.1: zferry's ControlClient calls zferry's
// gRPC server, which serves a LocalSender (and, in one test, a LocalReceiver) on zfs-sim.
// Every method; a filesystem outside the filter refused with a permanent error; a temporary
// endpoint error answered UNAVAILABLE and reported temporary again by the client; a request
// with invalid fields answered INVALID_ARGUMENT; and Debian's grpcio (/usr/bin/python3) as
// the client of the listings.
#include "replication/control/control_client.hpp"
#include "replication/control/pdu_convert.hpp"
#include "replication/control/replication_service.hpp"
#include "replication/endpoint/local_receiver.hpp"
#include "replication/endpoint/local_sender.hpp"
#include "replication/pdu/pdu.pb.h"
#include "tests/integration/test_support.hpp"
#include "transport/grpc/grpc_client.hpp"
#include "transport/grpc/grpc_server.hpp"
#include "zfs/listing_ops.hpp"
#include "zfs/zfs_error.hpp"

#include "core/owned_task.hpp"

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include <unistd.h>

namespace zferry::replication::control {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace grpc = transport::grpc;
namespace json = boost::json;
using namespace std::chrono_literals;

// A Sender that answers for "p/busy" with the temporary error zfs gives for a dataset it
// still holds (ZfsErrc::dataset_busy) and passes everything else to the LocalSender: the
// server must map that to UNAVAILABLE without knowing where it came from.
class BusyFilesystemSender final : public Sender {
public:
    explicit BusyFilesystemSender(Sender& inner) : inner_(inner) {}
    asio::awaitable<Result<std::vector<FilesystemInfo>>> list_filesystems() override {
        co_return co_await inner_.list_filesystems();
    }
    asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> list_versions(std::string fs) override {
        if (fs == "p/busy") co_return busy();
        co_return co_await inner_.list_versions(std::move(fs));
    }
    asio::awaitable<Result<std::vector<DestroySnapshotResult>>> destroy_snapshots(
        std::string fs, std::vector<zfs::FilesystemVersion> snapshots) override {
        co_return co_await inner_.destroy_snapshots(std::move(fs), std::move(snapshots));
    }
    asio::awaitable<Result<SendReply>> send(StepRequest req) override {
        co_return co_await inner_.send(std::move(req));
    }
    asio::awaitable<Result<void>> send_completed(StepRequest req) override {
        co_return co_await inner_.send_completed(std::move(req));
    }
    asio::awaitable<Result<std::optional<std::uint64_t>>> send_dry(StepRequest req) override {
        if (req.filesystem == "p/busy") co_return busy();
        co_return co_await inner_.send_dry(std::move(req));
    }
    asio::awaitable<Result<std::optional<std::uint64_t>>> replication_cursor(std::string fs) override {
        if (fs == "p/busy") co_return busy();
        co_return co_await inner_.replication_cursor(std::move(fs));
    }

private:
    static Error busy() { return Error(zfs::ZfsErrc::dataset_busy, "zfs list p/busy"); }
    Sender& inner_;
};

asio::awaitable<void> serve(asio::ip::tcp::socket sock, const grpc::ServiceDispatch* dispatch,
                            Result<void>* out) {
    grpc::GrpcServerOptions opt;
    opt.client_identity = "client1";
    *out = co_await grpc::serve_grpc_connection(std::move(sock), *dispatch, opt, Logger());
}

asio::awaitable<void> drive(grpc::GrpcClientConnection* conn, Result<void>* out) {
    *out = co_await conn->run();
}

asio::awaitable<void> join_both(OwnedTask* a, OwnedTask* b) {
    co_await a->join();
    co_await b->join();
}

class ReplicationControlTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/zferry-control-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        zfs::ZfsRunnerOptions o;
        o.binary = ZFS_SIM_BIN;
        // zfs-sim refuses a name not preceded by "--": zferry never lets zfs read one as an option.
        o.env = {{"ZFS_SIM_STATE", (dir_ / "state").string()}, {"ZFS_SIM_REQUIRE_END_OF_OPTIONS", "1"}};
        runner_ = std::make_unique<zfs::ZfsRunner>(ctx_.get_executor(), std::move(o));
        sh("sim-create-pool p && $Z create p/a && $Z create p/other && "
           "for s in s1 s2 s3; do printf $s | $Z sim-write p/a && $Z snapshot p/a@$s || exit 1; done && "
           "$Z snapshot p/other@x && $Z create p/sink && $Z create p/sink/client1 && "
           "$Z create p/sink/client1/q && $Z create p/sink/client1/q/b && $Z snapshot p/sink/client1/q/b@r1 "
           "&& "
           "$Z create p/sink/client2 && $Z create p/sink/client2/secret");
        SenderConfig c{*JobId::make("job"), {}, {}};
        ASSERT_TRUE(c.filesystems.add("p/a", true).has_value());
        local_ = std::make_unique<LocalSender>(*runner_, std::move(c), Logger());
        sender_ = std::make_unique<BusyFilesystemSender>(*local_);
        ReceiverConfig rc{
            *JobId::make("sink"), "p/sink", "client1", PlaceholderEncryptionPolicy::unspecified, {}};
        receiver_ = std::make_unique<LocalReceiver>(*runner_, std::move(rc), Logger());
    }
    void TearDown() override {
        if (conn_) {
            conn_->close();
            run(join_both(runner_task_.get(), server_task_.get()));
            EXPECT_TRUE(run_result_.has_value()) << run_result_.error().message();
            EXPECT_TRUE(serve_result_.has_value()) << serve_result_.error().message();
        }
        client_.reset();
        conn_.reset();
        receiver_.reset();
        sender_.reset();
        local_.reset();
        runner_.reset();
        fs::remove_all(dir_);
    }
    void sh(const std::string& cmds) {
        const std::string cmd = "Z=" ZFS_SIM_BIN " ZFS_SIM_STATE=" + (dir_ / "state").string() +
                                " bash -c '$Z " + cmds + "' >/dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmds;
    }
    template <class T>
    T run(asio::awaitable<T> a) {
        return test::run(ctx_, std::move(a));
    }

    // One connection from a ControlClient to a server with `dispatch_`, both on ctx_.
    void connect() {
        asio::ip::tcp::acceptor acceptor(ctx_, {asio::ip::make_address("127.0.0.1"), 0});
        asio::ip::tcp::socket sock(ctx_);
        sock.connect(acceptor.local_endpoint());
        auto accepted = acceptor.accept();
        server_task_ = std::make_unique<OwnedTask>(ctx_.get_executor());
        server_task_->start(serve(std::move(accepted), &dispatch_, &serve_result_));
        conn_ = std::make_unique<grpc::GrpcClientConnection>(std::move(sock), grpc::ClientSessionOptions{},
                                                             Logger());
        runner_task_ = std::make_unique<OwnedTask>(ctx_.get_executor());
        runner_task_->start(drive(conn_.get(), &run_result_));
        ControlClientOptions opt;
        opt.call_timeout = std::chrono::duration_cast<grpc::Duration>(20s);
        client_ = std::make_unique<ControlClient>(*conn_, opt, Logger());
    }

    zfs::FilesystemVersion local_version(const std::string& fs, const std::string& name) {
        auto vs = run(zfs::list_versions(*runner_, fs));
        EXPECT_TRUE(vs.has_value());
        for (const auto& x : *vs)
            if (x.name == name) return x;
        ADD_FAILURE() << "no " << fs << "@" << name;
        return {};
    }
    StepRequest step(std::optional<std::string> from, const std::string& to) {
        StepRequest r;
        r.filesystem = "p/a";
        if (from) r.from = local_version("p/a", *from);
        r.to = local_version("p/a", to);
        r.protection = {GuaranteeKind::resumability, GuaranteeKind::resumability};
        return r;
    }
    static void expect_permanent_refusal(const Error& e, const std::string& text) {
        EXPECT_FALSE(e.temporary()) << e.message();
        EXPECT_EQ(e.code(),
                  error_code(static_cast<int>(grpc::StatusCode::invalid_argument), remote_status_category()))
            << e.message();
        EXPECT_NE(e.message().find(text), std::string::npos) << e.message();
    }

    asio::io_context ctx_;
    fs::path dir_;
    std::unique_ptr<zfs::ZfsRunner> runner_;
    std::unique_ptr<LocalSender> local_;
    std::unique_ptr<BusyFilesystemSender> sender_;
    std::unique_ptr<LocalReceiver> receiver_;
    grpc::ServiceDispatch dispatch_;
    std::unique_ptr<OwnedTask> server_task_;
    std::unique_ptr<OwnedTask> runner_task_;
    std::unique_ptr<grpc::GrpcClientConnection> conn_;
    std::unique_ptr<ControlClient> client_;
    Result<void> run_result_;
    Result<void> serve_result_;
};

TEST_F(ReplicationControlTest, PingAndWaitForConnectivity) {
    add_sender_methods(dispatch_, *sender_);
    connect();
    auto p = run(client_->ping("hello \xc3\xbc"));
    EXPECT_TRUE(p.has_value()) << p.error().message();
    auto w = run(client_->wait_for_connectivity());
    EXPECT_TRUE(w.has_value()) << w.error().message();
}

TEST_F(ReplicationControlTest, ListingsAreTheSendersWithinItsFilter) {
    add_sender_methods(dispatch_, *sender_);
    connect();
    auto fss = run(client_->list_filesystems());
    ASSERT_TRUE(fss.has_value()) << fss.error().message();
    ASSERT_EQ(fss->size(), 1u) << "p/other, p/sink and the pool are outside the filter";
    EXPECT_EQ((*fss)[0], (FilesystemInfo{"p/a", false, ""}));

    auto remote = run(client_->list_versions("p/a"));
    ASSERT_TRUE(remote.has_value()) << remote.error().message();
    auto local = run(zfs::list_versions(*runner_, "p/a"));
    ASSERT_TRUE(local.has_value());
    ASSERT_EQ(remote->size(), 3u);
    ASSERT_EQ(remote->size(), local->size());
    for (std::size_t i = 0; i < local->size(); ++i) {
        auto expected = (*local)[i];
        expected.userrefs.reset();  // not part of the protocol
        EXPECT_EQ((*remote)[i], expected) << expected.full_name();
    }
}

TEST_F(ReplicationControlTest, FilesystemOutsideTheFilterIsRefusedPermanently) {
    add_sender_methods(dispatch_, *sender_);
    connect();
    auto vs = run(client_->list_versions("p/other"));
    ASSERT_FALSE(vs.has_value());
    expect_permanent_refusal(vs.error(), "endpoint does not allow access to filesystem p/other");
    EXPECT_NE(vs.error().message().find("/Replication/ListFilesystemVersions"), std::string::npos);

    auto cursor = run(client_->replication_cursor("p/other"));
    ASSERT_FALSE(cursor.has_value());
    expect_permanent_refusal(cursor.error(), "p/other");

    auto other = step(std::nullopt, "s1");
    other.filesystem = "p/other";
    other.to = local_version("p/other", "x");
    auto dry = run(client_->send_dry(other));
    ASSERT_FALSE(dry.has_value());
    expect_permanent_refusal(dry.error(), "p/other");
    auto done = run(client_->send_completed(other));
    ASSERT_FALSE(done.has_value());
    expect_permanent_refusal(done.error(), "p/other");
    EXPECT_EQ(local_version("p/other", "x").userrefs, std::optional<std::uint64_t>(0)) << "nothing held";
}

TEST_F(ReplicationControlTest, TemporaryErrorTravelsAsUnavailableAndStaysTemporary) {
    add_sender_methods(dispatch_, *sender_);
    connect();
    auto vs = run(client_->list_versions("p/busy"));
    ASSERT_FALSE(vs.has_value());
    EXPECT_TRUE(vs.error().temporary()) << vs.error().message();
    EXPECT_EQ(vs.error().code(),
              error_code(static_cast<int>(grpc::StatusCode::unavailable), remote_status_category()));
    EXPECT_NE(vs.error().message().find("dataset is busy"), std::string::npos) << vs.error().message();

    auto cursor = run(client_->replication_cursor("p/busy"));
    ASSERT_FALSE(cursor.has_value());
    EXPECT_TRUE(cursor.error().temporary()) << cursor.error().message();
    // The connection is fine afterwards.
    EXPECT_TRUE(run(client_->list_versions("p/a")).has_value());
}

TEST_F(ReplicationControlTest, LostConnectionIsTemporary) {
    add_sender_methods(dispatch_, *sender_);
    connect();
    ASSERT_TRUE(run(client_->wait_for_connectivity()).has_value());
    // The server goes away (its connection task is cancelled, which closes the socket).
    server_task_->cancel();
    run(server_task_->join());
    auto vs = run(client_->list_versions("p/a"));
    ASSERT_FALSE(vs.has_value());
    EXPECT_TRUE(vs.error().temporary()) << vs.error().message();
    auto ping = run(client_->wait_for_connectivity());
    ASSERT_FALSE(ping.has_value());
    EXPECT_TRUE(ping.error().temporary()) << ping.error().message();
    conn_->close();
    run(runner_task_->join());
    conn_.reset();  // TearDown: nothing left to join
}

TEST_F(ReplicationControlTest, SendDryMatchesTheLocalEstimate) {
    add_sender_methods(dispatch_, *sender_);
    connect();
    for (auto req : {step(std::nullopt, "s1"), step("s1", "s2"), step("s1", "s3")}) {
        auto local = run(local_->send_dry(req));
        ASSERT_TRUE(local.has_value()) << local.error().message();
        ASSERT_TRUE(local->has_value()) << "zfs-sim estimates sizes";
        auto remote = run(client_->send_dry(req));
        ASSERT_TRUE(remote.has_value()) << remote.error().message();
        EXPECT_EQ(*remote, *local) << req.to.full_name();
        EXPECT_GT(**remote, 0u);
    }
}

TEST_F(ReplicationControlTest, SendCompletedMovesTheCursorReadBackRemotely) {
    add_sender_methods(dispatch_, *sender_);
    connect();
    auto none = run(client_->replication_cursor("p/a"));
    ASSERT_TRUE(none.has_value()) << none.error().message();
    EXPECT_FALSE(none->has_value()) << "Notexist before the first step";

    auto full = step(std::nullopt, "s1");
    auto r = run(client_->send_completed(full));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    auto c1 = run(client_->replication_cursor("p/a"));
    ASSERT_TRUE(c1.has_value()) << c1.error().message();
    EXPECT_EQ(*c1, std::optional<std::uint64_t>(full.to.guid));

    auto inc = step("s1", "s2");
    ASSERT_TRUE(run(client_->send_completed(inc)).has_value());
    ASSERT_TRUE(run(client_->send_completed(inc)).has_value()) << "idempotent";
    auto c2 = run(client_->replication_cursor("p/a"));
    ASSERT_TRUE(c2.has_value());
    EXPECT_EQ(*c2, std::optional<std::uint64_t>(inc.to.guid));
    auto local = run(local_->replication_cursor("p/a"));
    ASSERT_TRUE(local.has_value());
    EXPECT_EQ(*local, *c2);
}

TEST_F(ReplicationControlTest, InvalidRequestFieldsAreInvalidArgument) {
    add_sender_methods(dispatch_, *sender_);
    connect();
    // A SendReq without To, and one whose From has a Creation Go would not have written.
    auto no_to = to_pdu(step(std::nullopt, "s1"));
    no_to.clear_to();
    auto bad_time = to_pdu(step("s1", "s2"));
    bad_time.mutable_from()->set_creation("2023-11-14 22:13:20");
    for (const auto& [req, text] :
         {std::pair<::SendReq, std::string>{no_to, "without To"}, {bad_time, "is not RFC 3339"}}) {
        auto res = run(conn_->call(std::string(kSendDryMethod), req.SerializeAsString(), std::nullopt));
        EXPECT_EQ(res.status.code, grpc::StatusCode::invalid_argument) << res.status.message;
        EXPECT_NE(res.status.message.find(text), std::string::npos) << res.status.message;
    }
    auto garbage =
        run(conn_->call(std::string(kSendCompletedMethod), std::string("\xff\xff\xff"), std::nullopt));
    EXPECT_EQ(garbage.status.code, grpc::StatusCode::internal);
    EXPECT_EQ(garbage.status.message, "grpc: error unmarshalling request: not a SendCompletedReq");
    // A SendCompletedReq without the step it confirms.
    auto empty = run(
        conn_->call(std::string(kSendCompletedMethod), SendCompletedReq().SerializeAsString(), std::nullopt));
    EXPECT_EQ(empty.status.code, grpc::StatusCode::invalid_argument);
    EXPECT_NE(empty.status.message.find("without OriginalReq"), std::string::npos) << empty.status.message;
}

TEST_F(ReplicationControlTest, ReceiverServesListingsBelowItsClientRoot) {
    add_endpoint_methods(dispatch_, *receiver_);
    connect();
    auto fss = run(client_->list_filesystems());
    ASSERT_TRUE(fss.has_value()) << fss.error().message();
    std::vector<std::string> paths;
    for (const auto& f : *fss) paths.push_back(f.path);
    std::sort(paths.begin(), paths.end());
    EXPECT_EQ(paths, (std::vector<std::string>{"q", "q/b"})) << "client2's tree is not listed";

    auto vs = run(client_->list_versions("q/b"));
    ASSERT_TRUE(vs.has_value()) << vs.error().message();
    ASSERT_EQ(vs->size(), 1u);
    EXPECT_EQ((*vs)[0].name, "r1");
    EXPECT_EQ((*vs)[0].filesystem, "q/b") << "the sender's name";
    EXPECT_EQ((*vs)[0].guid, local_version("p/sink/client1/q/b", "r1").guid);

    auto escape = run(client_->list_versions("../client2/secret"));
    ASSERT_FALSE(escape.has_value());
    EXPECT_FALSE(escape.error().temporary()) << escape.error().message();
    auto sender_only = run(client_->replication_cursor("q/b"));
    ASSERT_FALSE(sender_only.has_value());
    EXPECT_EQ(sender_only.error().code(),
              error_code(static_cast<int>(grpc::StatusCode::unimplemented), remote_status_category()));
}

std::vector<std::string> names_of(const std::vector<zfs::FilesystemVersion>& vs) {
    std::vector<std::string> out;
    for (const auto& v : vs) out.push_back(v.name);
    return out;
}

TEST_F(ReplicationControlTest, SenderDestroysSnapshotsInsideItsFilter) {
    add_sender_methods(dispatch_, *sender_);
    connect();
    sh("hold keep p/a@s2");
    auto s1 = local_version("p/a", "s1"), s2 = local_version("p/a", "s2");
    s1.userrefs.reset();  // not part of the protocol
    s2.userrefs.reset();
    auto r = run(client_->destroy_snapshots("p/a", {s1, s2}));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0], (DestroySnapshotResult{s1, ""}));
    EXPECT_EQ((*r)[1].snapshot, s2);
    EXPECT_NE((*r)[1].error.find("busy"), std::string::npos)
        << "zfs's reason for a held snapshot: " << (*r)[1].error;
    auto left = run(zfs::list_versions(*runner_, "p/a"));
    ASSERT_TRUE(left.has_value());
    EXPECT_EQ(names_of(*left), (std::vector<std::string>{"s2", "s3"}));

    auto outside = run(client_->destroy_snapshots("p/other", {local_version("p/other", "x")}));
    ASSERT_FALSE(outside.has_value());
    expect_permanent_refusal(outside.error(), "endpoint does not allow access to filesystem p/other");
    auto bookmark = local_version("p/a", "s3");
    bookmark.type = zfs::VersionType::bookmark;
    auto not_snapshot = run(client_->destroy_snapshots("p/a", {bookmark}));
    ASSERT_FALSE(not_snapshot.has_value());
    expect_permanent_refusal(not_snapshot.error(), "is not a snapshot");
    auto other = run(zfs::list_versions(*runner_, "p/other"));
    ASSERT_TRUE(other.has_value());
    EXPECT_EQ(names_of(*other), (std::vector<std::string>{"x"}));
    EXPECT_EQ(local_version("p/a", "s3").name, "s3");
}

TEST_F(ReplicationControlTest, ReceiverDestroysOnlyBelowItsClientRoot) {
    add_endpoint_methods(dispatch_, *receiver_);
    connect();
    sh("snapshot p/sink/client2/secret@t1");
    auto r1 = run(client_->list_versions("q/b"));
    ASSERT_TRUE(r1.has_value()) << r1.error().message();
    ASSERT_EQ(r1->size(), 1u);
    auto r = run(client_->destroy_snapshots("q/b", *r1));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].error, "");
    EXPECT_EQ((*r)[0].snapshot.filesystem, "q/b") << "the sender's name";
    auto left = run(zfs::list_versions(*runner_, "p/sink/client1/q/b"));
    ASSERT_TRUE(left.has_value());
    EXPECT_TRUE(left->empty());

    auto secret = local_version("p/sink/client2/secret", "t1");
    for (const char* fs : {"../client2/secret", "/p/sink/client2/secret", ""}) {
        auto escape = run(client_->destroy_snapshots(fs, {secret}));
        ASSERT_FALSE(escape.has_value()) << fs;
        EXPECT_FALSE(escape.error().temporary()) << escape.error().message();
    }
    EXPECT_EQ(local_version("p/sink/client2/secret", "t1").guid, secret.guid)
        << "another client's snapshot stays";
}

struct PeerRun {
    int exit_status = -1;
    std::string out;
    std::string err;
};

PeerRun run_peer(unsigned short port, const std::string& args) {
    char errfile[] = "/tmp/zferry-control-peer-XXXXXX";
    const int fd = ::mkstemp(errfile);
    ::close(fd);
    const std::string cmd = "timeout -k 5 60 /usr/bin/python3 " GRPC_PEER_SCRIPT " " + std::to_string(port) +
                            " " PDU_PY_DIR " " + args + " 2>" + errfile;
    PeerRun r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
    r.exit_status = ::pclose(p);
    std::ifstream e(errfile);
    std::stringstream ss;
    ss << e.rdbuf();
    r.err = ss.str();
    ::unlink(errfile);
    return r;
}

asio::awaitable<void> accept_and_serve(asio::ip::tcp::acceptor* acceptor,
                                       const grpc::ServiceDispatch* dispatch, Result<void>* out) {
    auto sock = co_await acceptor->async_accept(asio::use_awaitable);
    co_await serve(std::move(sock), dispatch, out);
}

TEST_F(ReplicationControlTest, GrpcioClientListsTheSender) {
    add_sender_methods(dispatch_, *sender_);
    asio::ip::tcp::acceptor acceptor(ctx_, {asio::ip::make_address("127.0.0.1"), 0});
    Result<void> served = Error(Errc::internal, "not served");
    OwnedTask server(ctx_.get_executor());
    server.start(accept_and_serve(&acceptor, &dispatch_, &served));
    const auto port = acceptor.local_endpoint().port();
    auto peer = std::async(std::launch::async, [port] { return run_peer(port, "endpoint p/a p/other"); });
    while (peer.wait_for(0s) != std::future_status::ready || server.running()) ctx_.run_one_for(50ms);
    const auto r = peer.get();
    ASSERT_EQ(r.exit_status, 0) << r.err;
    EXPECT_TRUE(served.has_value()) << served.error().message();

    boost::system::error_code ec;
    auto v = json::parse(r.out, ec);
    ASSERT_FALSE(ec) << r.out << r.err;
    const auto& out = v.as_object();
    const auto& fss = out.at("filesystems").as_array();
    ASSERT_EQ(fss.size(), 1u) << r.out;
    EXPECT_EQ(fss[0].at("path").as_string(), "p/a");
    EXPECT_FALSE(fss[0].at("placeholder").as_bool());
    EXPECT_EQ(fss[0].at("token").as_string(), "");

    const auto& vs = out.at("versions").as_array();
    auto local = run(zfs::list_versions(*runner_, "p/a"));
    ASSERT_TRUE(local.has_value());
    ASSERT_EQ(vs.size(), local->size()) << r.out;
    for (std::size_t i = 0; i < vs.size(); ++i) {
        const auto& l = (*local)[i];
        EXPECT_EQ(vs[i].at("type").as_string(), "Snapshot");
        EXPECT_EQ(vs[i].at("name").as_string(), l.name);
        EXPECT_EQ(vs[i].at("guid").as_string(), std::to_string(l.guid));
        EXPECT_EQ(vs[i].at("createtxg").to_number<std::uint64_t>(), l.createtxg);
        EXPECT_EQ(vs[i].at("creation").as_string(), format_rfc3339(l.creation));
    }
    const auto& outside = out.at("outside").as_array();
    ASSERT_EQ(outside.size(), 2u);
    EXPECT_EQ(outside[0].as_string(), "INVALID_ARGUMENT");
    EXPECT_NE(
        std::string(outside[1].as_string()).find("endpoint does not allow access to filesystem p/other"),
        std::string::npos)
        << r.out;
}

}  // namespace
}  // namespace zferry::replication::control
