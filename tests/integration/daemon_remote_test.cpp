// Two `zferry daemon` processes on two zfs-sim "hosts", as two machines would run them: a sink
// daemon serving tcp or tls on 127.0.0.1 (an ephemeral port, read from its log) and a push
// daemon replicating to it, driven by `zferry signal` and watched with `zferry status`. The
// client's identity comes from the transport (tcp: the clients map; tls: the certificate's
// CN) and decides where its datasets land; a client the sink does not know is refused.
#include "tests/integration/daemon_process.hpp"

#include <gtest/gtest.h>

#include <sys/prctl.h>

#include <regex>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using zferry::test::DaemonProcess;
using zferry::test::wait_for;

class RemoteDaemons : public ::testing::Test {
protected:
    void SetUp() override {
        ::prctl(PR_SET_CHILD_SUBREAPER, 1);
        char tmpl[] = "/tmp/zferry-remote-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        for (const char* d : {"src", "dst", "run"}) fs::create_directory(dir_ / d);
        fs::permissions(dir_ / "run", fs::perms::owner_all, fs::perm_options::replace);
        zfs("src", "sim-create-pool p && $Z create p/a && $Z create p/a/b");
        zfs("dst", "sim-create-pool q && $Z create q/sink");
        sink_ = std::make_unique<DaemonProcess>(ZFERRY_BINARY, ZFS_SIM_BIN, dir_ / "dst",
                                                (dir_ / "run" / "sink").string());
        push_ = std::make_unique<DaemonProcess>(ZFERRY_BINARY, ZFS_SIM_BIN, dir_ / "src",
                                                (dir_ / "run" / "push").string());
    }
    void TearDown() override {
        push_.reset();
        sink_.reset();
        int st = 0;
        while (::waitpid(-1, &st, WNOHANG) > 0) {
        }
        fs::remove_all(dir_);
    }
    std::string state(const std::string& host) const { return (dir_ / host / "zfs").string(); }
    void zfs(const std::string& host, const std::string& cmds, const std::string& input = {}) {
        const std::string cmd = input + "Z=" ZFS_SIM_BIN " ZFS_SIM_STATE=" + state(host) + " bash -c '$Z " +
                                cmds + "' >/dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmds;
    }
    std::string zfs_out(const std::string& host, const std::string& args) {
        return zferry::test::shell("ZFS_SIM_STATE=" + state(host) + " " ZFS_SIM_BIN " " + args,
                                   dir_ / "zfs.err")
            .out;
    }
    void snapshot(const std::string& fs, const std::string& name) {
        zfs("src", "sim-write " + fs + " /dev/stdin; $Z snapshot " + fs + "@" + name,
            "head -c 3000 /dev/urandom | ");
    }
    std::string guid(const std::string& host, const std::string& snap) {
        return zfs_out(host, "get -H -p -o value guid " + snap);
    }
    std::vector<std::string> env(const std::string& host) const { return {"ZFS_SIM_STATE=" + state(host)}; }

    static std::string global(const std::string& sockpath) {
        return "global:\n  logging:\n    - {type: stdout, level: info, format: human}\n  control:\n    "
               "sockpath: " +
               sockpath + "\njobs:\n";
    }
    // Starts the sink daemon with `serve` (YAML lines at the serve: level) and returns the
    // port it listens on (from its log: it binds port 0).
    int start_sink(const std::string& serve) {
        std::ofstream(sink_->config()) << global(sink_->sockpath())
                                       << "  - name: sink1\n"
                                          "    type: sink\n"
                                          "    root_fs: q/sink\n"
                                          "    recv: {placeholder: {encryption: inherit}}\n"
                                          "    serve:\n"
                                       << serve;
        if (!sink_->start(env("dst"))) {
            ADD_FAILURE() << "the sink daemon did not start:\n" << sink_->log();
            return -1;
        }
        std::smatch m;
        std::string log;
        static const std::regex serving("serving on (tcp|tls) 127\\.0\\.0\\.1:([0-9]+)");
        if (!wait_for([&] { return std::regex_search(log = sink_->log(), m, serving); }, 5s)) {
            ADD_FAILURE() << "the sink does not say where it listens:\n" << log;
            return -1;
        }
        return std::stoi(m[2]);
    }
    void start_push(const std::string& connect) {
        std::ofstream(push_->config())
            << global(push_->sockpath())
            << "  - name: push1\n"
               "    type: push\n"
               "    connect:\n"
            << connect
            << "    filesystems: {\"p/a<\": true}\n"
               "    snapshotting: {type: manual}\n"
               "    pruning:\n"
               "      keep_sender: [{type: not_replicated}, {type: last_n, count: 10}]\n"
               "      keep_receiver: [{type: last_n, count: 10}]\n";
        ASSERT_TRUE(push_->start(env("src"))) << push_->log();
    }
    json::value push_status() {
        auto s = push_->status();
        if (!s.is_object()) return nullptr;
        return s.at("Jobs").at("push1").at("push");
    }
    // The invocation number `n` has finished its replication: done or failed.
    bool replication_finished(const json::value& push, std::int64_t n) {
        if (!push.is_object() || push.at("Replication").is_null()) return false;
        if (push.at("Invocations").to_number<std::int64_t>() < n) return false;
        return !push.at("Replication").at("FinishAt").is_null() && push.at("State") == "waiting";
    }
    static bool succeeded(const json::value& push) {
        const auto& attempts = push.at("Replication").at("Attempts").as_array();
        return !attempts.empty() && attempts.back().at("State") == "done";
    }
    // Wakes the push job and waits until its invocation `n` finished.
    json::value replicate(std::int64_t n) {
        EXPECT_EQ(push_->cli("signal wakeup push1").rc, 0);
        json::value push;
        EXPECT_TRUE(wait_for([&] { return replication_finished(push = push_status(), n); }, 60s))
            << json::serialize(push) << "\npush:\n"
            << push_->log() << "\nsink:\n"
            << sink_->log();
        return push;
    }
    void expect_replicated(const std::string& identity, const std::vector<std::string>& snaps) {
        for (const auto& s : snaps) {
            const std::string g = guid("src", s);
            ASSERT_FALSE(g.empty()) << s;
            EXPECT_EQ(guid("dst", "q/sink/" + identity + "/" + s), g) << s;
        }
    }
    void stop_both() {
        EXPECT_EQ(push_->stop(SIGTERM), 0) << push_->log();
        EXPECT_EQ(sink_->stop(SIGTERM), 0) << sink_->log();
    }

    fs::path dir_;
    std::unique_ptr<DaemonProcess> sink_, push_;
};

TEST_F(RemoteDaemons, PushOverTcpLandsBelowTheClientsIdentityThenIncrementally) {
    snapshot("p/a", "s1");
    snapshot("p/a/b", "s1");
    const int port = start_sink(
        "      type: tcp\n      listen: \"127.0.0.1:0\"\n"
        "      clients: {\"127.0.0.1\": \"host1\"}\n");
    ASSERT_GT(port, 0);
    start_push("      type: tcp\n      address: \"127.0.0.1:" + std::to_string(port) + "\"\n");
    auto push = replicate(1);
    ASSERT_TRUE(succeeded(push)) << json::serialize(push) << "\n" << push_->log() << "\n" << sink_->log();
    expect_replicated("host1", {"p/a@s1", "p/a/b@s1"});

    snapshot("p/a", "s2");
    snapshot("p/a", "s3");
    push = replicate(2);
    ASSERT_TRUE(succeeded(push)) << json::serialize(push);
    expect_replicated("host1", {"p/a@s2", "p/a@s3"});
    EXPECT_NE(sink_->log().find("client=host1"), std::string::npos)
        << "the sink's log lines name the client:\n"
        << sink_->log();
    stop_both();
}

TEST_F(RemoteDaemons, AClientTheSinksMapDoesNotKnowIsRefusedAndNothingLands) {
    snapshot("p/a", "s1");
    const int port = start_sink(
        "      type: tcp\n      listen: \"127.0.0.1:0\"\n"
        "      clients: {\"10.1.2.3\": \"elsewhere\"}\n");
    ASSERT_GT(port, 0);
    start_push("      type: tcp\n      address: \"127.0.0.1:" + std::to_string(port) + "\"\n");
    // The tcp transport closes an unmapped peer before a byte is exchanged (as zrepl's): to
    // the client that is a lost connection, so it waits for connectivity with growing pauses
    // (no retry storm) while the sink logs each refusal with the peer's address.
    ASSERT_EQ(push_->cli("signal wakeup push1").rc, 0);
    json::value push;
    ASSERT_TRUE(wait_for(
        [&] {
            push = push_status();
            return push.is_object() && !push.at("Replication").is_null() &&
                   !push.at("Replication").at("WaitReconnectSince").is_null();
        },
        20s))
        << json::serialize(push) << "\n"
        << push_->log();
    EXPECT_NE(sink_->log().find("refusing connection: 127.0.0.1 is not in the clients map"),
              std::string::npos)
        << sink_->log();
    EXPECT_EQ(zfs_out("dst", "list -H -o name -r q/sink"), "q/sink\n")
        << "nothing may land for an unknown client";
    stop_both();  // the push daemon stops promptly while it waits for connectivity
}

TEST_F(RemoteDaemons, PushOverMutualTlsWithCertificatesFromTheOpensslCli) {
    const auto certs = dir_ / "certs";
    fs::create_directory(certs);
    std::ofstream(dir_ / "certs.sh") << R"(set -e
cd "$1"
key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $key -keyout ca.key -out ca.crt -subj /CN=test-ca -days 2
issue() {
  openssl req $key -keyout $1.key -out $1.csr -subj /CN=$1
  printf 'subjectAltName=DNS:%s\n' "$1" > $1.ext
  openssl x509 -req -in $1.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $1.crt -days 2 -extfile $1.ext
}
issue sink.test
issue host1
)";
    ASSERT_EQ(
        std::system(
            ("bash " + (dir_ / "certs.sh").string() + " " + certs.string() + " >/dev/null 2>&1").c_str()),
        0)
        << "openssl CLI";
    auto c = [&](const std::string& f) { return (certs / f).string(); };
    snapshot("p/a", "s1");
    snapshot("p/a/b", "s1");
    const int port = start_sink("      type: tls\n      listen: \"127.0.0.1:0\"\n      ca: " + c("ca.crt") +
                                "\n      cert: " + c("sink.test.crt") + "\n      key: " + c("sink.test.key") +
                                "\n      client_cns: [host1]\n");
    ASSERT_GT(port, 0);
    start_push("      type: tls\n      address: \"127.0.0.1:" + std::to_string(port) +
               "\"\n      ca: " + c("ca.crt") + "\n      cert: " + c("host1.crt") +
               "\n      key: " + c("host1.key") + "\n      server_cn: sink.test\n");
    auto push = replicate(1);
    ASSERT_TRUE(succeeded(push)) << json::serialize(push) << "\n" << push_->log() << "\n" << sink_->log();
    expect_replicated("host1", {"p/a@s1", "p/a/b@s1"});
    // The sink's request lines name the TLS client's address, not the relay's socketpair.
    const std::string sink_log = sink_->log();
    EXPECT_NE(sink_log.find("peer=127.0.0.1:"), std::string::npos) << sink_log;
    EXPECT_EQ(sink_log.find("peer=[::]:0"), std::string::npos) << sink_log;
    stop_both();
}

}  // namespace
