// Two `zferry daemon` processes on two zfs-sim "hosts", as two machines would run them: a sink
// daemon serving tcp or tls on 127.0.0.1 (an ephemeral port, read from its log) or stdinserver
// behind an sshd of the test's own, and a push daemon replicating to it, driven by `zferry
// signal` and watched with `zferry status`. The client's identity comes from the transport
// (tcp: the clients map; tls: the certificate's CN; ssh+stdinserver: the identity the
// authorized_keys line forces) and decides where its datasets land; a client the sink does not
// know is refused.
#include "tests/integration/daemon_process.hpp"
#include "tests/integration/metrics_check.hpp"
#include "tests/integration/sshd_process.hpp"

#include <gtest/gtest.h>

#include <sys/prctl.h>
#include <sys/stat.h>

#include <regex>
#include <sstream>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using zferry::test::DaemonProcess;
using zferry::test::expect_promtool_accepts;
using zferry::test::free_loopback_port;
using zferry::test::invocation_finished;
using zferry::test::last_attempt_done;
using zferry::test::scrape_metrics;
using zferry::test::Sshd;
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
    void snapshot(const std::string& fs, const std::string& name, std::size_t bytes = 3000) {
        zfs("src", "sim-write " + fs + " /dev/stdin; $Z snapshot " + fs + "@" + name,
            "head -c " + std::to_string(bytes) + " /dev/urandom | ");
    }
    std::string guid(const std::string& host, const std::string& snap) {
        return zfs_out(host, "get -H -p -o value guid " + snap);
    }
    std::vector<std::string> env(const std::string& host) const { return {"ZFS_SIM_STATE=" + state(host)}; }

    // `extra`: more YAML lines at the level of `control:`.
    static std::string global(const std::string& sockpath, const std::string& extra = {}) {
        return "global:\n  logging:\n    - {type: stdout, level: info, format: human}\n  control:\n    "
               "sockpath: " +
               sockpath + "\n" + extra + "jobs:\n";
    }
    void write_sink_config(const std::string& serve, const std::string& extra_global,
                           const std::string& recv_extra = {}) {
        std::ofstream(sink_->config()) << global(sink_->sockpath(), extra_global)
                                       << "  - name: sink1\n"
                                          "    type: sink\n"
                                          "    root_fs: q/sink\n"
                                          "    recv: {placeholder: {encryption: inherit}"
                                       << recv_extra
                                       << "}\n"
                                          "    serve:\n"
                                       << serve;
    }
    // Starts the sink daemon with `serve` (YAML lines at the serve: level) and returns the
    // port it listens on (from its log: it binds port 0).
    int start_sink(const std::string& serve, const std::string& extra_global = {}) {
        write_sink_config(serve, extra_global);
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
    // The push job push1 (`connect`: YAML lines at the connect: level) replicating `filesystems`
    // and keeping the last `keep_sender` snapshots beside those not replicated, then `more_jobs`.
    void start_push(const std::string& connect, const std::string& extra_global = {},
                    const std::string& filesystems = "{\"p/a<\": true}", int keep_sender = 10,
                    const std::string& more_jobs = {}) {
        std::ofstream(push_->config()) << global(push_->sockpath(), extra_global)
                                       << "  - name: push1\n"
                                          "    type: push\n"
                                          "    connect:\n"
                                       << connect << "    filesystems: " << filesystems
                                       << "\n"
                                          "    snapshotting: {type: manual}\n"
                                          "    pruning:\n"
                                          "      keep_sender: [{type: not_replicated}, {type: last_n, count: "
                                       << keep_sender
                                       << "}]\n"
                                          "      keep_receiver: [{type: last_n, count: 10}]\n"
                                       << more_jobs;
        ASSERT_TRUE(push_->start(env("src"))) << push_->log();
    }
    static std::string tcp_connect(int port) {
        return "      type: tcp\n      address: \"127.0.0.1:" + std::to_string(port) + "\"\n";
    }
    json::value push_status() { return push_->job_status("push1", "push"); }
    // Wakes the push job and waits until its invocation `n` finished.
    json::value replicate(std::int64_t n) {
        EXPECT_EQ(push_->cli("signal wakeup push1").rc, 0);
        json::value push;
        EXPECT_TRUE(wait_for([&] { return invocation_finished(push = push_status(), n); }, 60s))
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
    start_push(tcp_connect(port));
    auto push = replicate(1);
    ASSERT_TRUE(last_attempt_done(push)) << json::serialize(push) << "\n"
                                         << push_->log() << "\n"
                                         << sink_->log();
    expect_replicated("host1", {"p/a@s1", "p/a/b@s1"});

    snapshot("p/a", "s2");
    snapshot("p/a", "s3");
    push = replicate(2);
    ASSERT_TRUE(last_attempt_done(push)) << json::serialize(push);
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
    start_push(tcp_connect(port));
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
    ASSERT_TRUE(last_attempt_done(push)) << json::serialize(push) << "\n"
                                         << push_->log() << "\n"
                                         << sink_->log();
    expect_replicated("host1", {"p/a@s1", "p/a/b@s1"});
    // The sink's request lines name the TLS client's address, not the relay's socketpair.
    const std::string sink_log = sink_->log();
    EXPECT_NE(sink_log.find("peer=127.0.0.1:"), std::string::npos) << sink_log;
    EXPECT_EQ(sink_log.find("peer=[::]:0"), std::string::npos) << sink_log;
    stop_both();
}

// ---- bandwidth limits of the passive side ---------------------------------------------------

// The seconds from `signal wakeup` until the active job's invocation `n` finished.
double timed_replication(DaemonProcess& active, const std::function<bool()>& finished) {
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(wait_for(finished, 120s)) << active.log();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A source's send.bandwidth_limit holds for the transfers it serves over the network: 16 MiB
// at 4 MiB/s (128 KiB bucket) takes about 4 s. Only a lower bound: a slow machine is no failure.
TEST_F(RemoteDaemons, ASourcesSendBandwidthLimitHoldsForAPullOverTcp) {
    snapshot("p/a", "big", 16 << 20);
    zfs("dst", "create q/pull");
    // The source runs in sink_'s slot on the src host; the puller in push_'s, on dst.
    std::ofstream(sink_->config()) << global(sink_->sockpath())
                                   << "  - name: src1\n"
                                      "    type: source\n"
                                      "    serve:\n"
                                      "      type: tcp\n"
                                      "      listen: \"127.0.0.1:0\"\n"
                                      "      clients: {\"127.0.0.1\": \"puller\"}\n"
                                      "    filesystems: {\"p/a\": true}\n"
                                      "    send: {bandwidth_limit: {max: 4 MiB}}\n"
                                      "    snapshotting: {type: manual}\n";
    ASSERT_TRUE(sink_->start(env("src"))) << sink_->log();
    std::smatch m;
    std::string log;
    static const std::regex serving("serving on tcp 127\\.0\\.0\\.1:([0-9]+)");
    ASSERT_TRUE(wait_for([&] { return std::regex_search(log = sink_->log(), m, serving); }, 5s)) << log;
    std::ofstream(push_->config()) << global(push_->sockpath())
                                   << "  - name: pull1\n"
                                      "    type: pull\n"
                                      "    connect:\n"
                                      "      type: tcp\n"
                                      "      address: \"127.0.0.1:"
                                   << m[1].str()
                                   << "\"\n"
                                      "    root_fs: q/pull\n"
                                      "    interval: manual\n"
                                      "    recv: {placeholder: {encryption: inherit}}\n"
                                      "    pruning:\n"
                                      "      keep_sender: [{type: not_replicated}]\n"
                                      "      keep_receiver: [{type: last_n, count: 5}]\n";
    ASSERT_TRUE(push_->start(env("dst"))) << push_->log();
    ASSERT_EQ(push_->cli("signal wakeup pull1").rc, 0);
    json::value pull;
    const double took = timed_replication(
        *push_, [&] { return invocation_finished(pull = push_->job_status("pull1", "pull"), 1); });
    ASSERT_TRUE(last_attempt_done(pull)) << json::serialize(pull) << "\n"
                                         << push_->log() << "\n"
                                         << sink_->log();
    EXPECT_EQ(guid("dst", "q/pull/p/a@big"), guid("src", "p/a@big"));
    EXPECT_GE(took, 3.0) << "16 MiB at 4 MiB/s went faster than the limit allows";
    stop_both();
}

// A sink's recv.bandwidth_limit holds for what its clients push to it over the network.
TEST_F(RemoteDaemons, ASinksRecvBandwidthLimitHoldsForAPushOverTcp) {
    snapshot("p/a", "big", 16 << 20);
    snapshot("p/a/b", "s1");
    write_sink_config(
        "      type: tcp\n      listen: \"127.0.0.1:0\"\n"
        "      clients: {\"127.0.0.1\": \"host1\"}\n",
        {}, ", bandwidth_limit: {max: 4 MiB}");
    ASSERT_TRUE(sink_->start(env("dst"))) << sink_->log();
    std::smatch m;
    std::string log;
    static const std::regex serving("serving on tcp 127\\.0\\.0\\.1:([0-9]+)");
    ASSERT_TRUE(wait_for([&] { return std::regex_search(log = sink_->log(), m, serving); }, 5s)) << log;
    start_push(tcp_connect(std::stoi(m[1].str())));
    ASSERT_EQ(push_->cli("signal wakeup push1").rc, 0);
    json::value push;
    const double took =
        timed_replication(*push_, [&] { return invocation_finished(push = push_status(), 1); });
    ASSERT_TRUE(last_attempt_done(push)) << json::serialize(push) << "\n"
                                         << push_->log() << "\n"
                                         << sink_->log();
    expect_replicated("host1", {"p/a@big", "p/a/b@s1"});
    EXPECT_GE(took, 3.0) << "16 MiB at 4 MiB/s went faster than the limit allows";
    stop_both();
}

// ---- ssh+stdinserver behind a real OpenSSH sshd ---------------------------------------------

class SshDaemons : public RemoteDaemons {
protected:
    void TearDown() override {
        push_.reset();
        sink_.reset();
        sshd_.reset();
        // sshd's per-connection processes (and the stdinserver under them) end with their ssh
        // connection; as the subreaper this process reaps them, at most 10 s after the clients
        // went. Anything still there then is killed, and the test fails.
        const bool all = wait_for(
            [] {
                int st = 0;
                pid_t r;
                while ((r = ::waitpid(-1, &st, WNOHANG)) > 0) {
                }
                return r < 0 && errno == ECHILD;
            },
            10s);
        EXPECT_TRUE(all) << "sshd sessions outlived their ssh clients";
        if (!all) {
            for (const auto& e : fs::directory_iterator("/proc")) {
                const std::string stat = zferry::test::read_file(e.path() / "stat");
                const auto close = stat.rfind(')');
                if (close == std::string::npos) continue;
                std::istringstream rest(stat.substr(close + 2));
                std::string state;
                int ppid = 0;
                rest >> state >> ppid;
                if (ppid == ::getpid()) ::kill(std::stoi(e.path().filename().string()), SIGKILL);
            }
            int st = 0;
            while (::waitpid(-1, &st, 0) > 0) {
            }
        }
        RemoteDaemons::TearDown();
    }
    std::string sockdir() const { return (dir_ / "run" / "stdinserver").string(); }
    std::string stdinserver_global() const {
        return "  serve:\n    stdinserver:\n      sockdir: " + sockdir() + "\n";
    }
    // The sink serving stdinserver for client1; true once it says it serves.
    bool start_ssh_sink() {
        write_sink_config("      type: stdinserver\n      client_identities: [client1]\n",
                          stdinserver_global());
        if (!sink_->start(env("dst"))) {
            ADD_FAILURE() << "the sink daemon did not start:\n" << sink_->log();
            return false;
        }
        return wait_for([&] { return sink_->log().find("serving on stdinserver") != std::string::npos; }, 5s);
    }
    // `command`: what authorized_keys forces; by default the stdinserver for the sink's client1.
    bool start_sshd(std::string command = {}) {
        sshd_ = std::make_unique<Sshd>(dir_ / "ssh");
        if (command.empty())
            command =
                std::string(ZFERRY_BINARY) + " stdinserver --config " + sink_->config().string() + " client1";
        const bool ok = sshd_->start(command);
        if (!ok) ADD_FAILURE() << "sshd did not start:\n" << sshd_->log();
        return ok;
    }
    std::string ssh_connect(const fs::path& key, const std::string& dial_timeout = "10s") const {
        return "      type: ssh+stdinserver\n      host: 127.0.0.1\n      user: " + sshd_->user() +
               "\n      port: " + std::to_string(sshd_->port()) + "\n      identity_file: " + key.string() +
               "\n      options: [\"UserKnownHostsFile=" + sshd_->known_hosts().string() +
               "\", \"StrictHostKeyChecking=yes\"]\n      dial_timeout: " + dial_timeout + "\n";
    }

    // Wakes the push job and waits until its replication waits for connectivity.
    json::value wait_for_reconnect() {
        EXPECT_EQ(push_->cli("signal wakeup push1").rc, 0);
        json::value push;
        EXPECT_TRUE(wait_for(
            [&] {
                push = push_status();
                return push.is_object() && !push.at("Replication").is_null() &&
                       !push.at("Replication").at("WaitReconnectSince").is_null();
            },
            30s))
            << json::serialize(push) << "\n"
            << push_->log();
        return push;
    }

    std::unique_ptr<Sshd> sshd_;
};

TEST_F(SshDaemons, PushOverSshStdinserverLandsBelowTheForcedIdentityThenIncrementally) {
    snapshot("p/a", "s1");
    snapshot("p/a/b", "s1");
    ASSERT_TRUE(start_ssh_sink()) << sink_->log();
    struct stat st {};
    ASSERT_EQ(::stat(sockdir().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u) << "the sockdir is created private";
    EXPECT_TRUE(fs::is_socket(sockdir() + "/client1"));
    ASSERT_TRUE(start_sshd());
    start_push(ssh_connect(sshd_->client_key()));
    auto push = replicate(1);
    ASSERT_TRUE(last_attempt_done(push)) << json::serialize(push) << "\n"
                                         << push_->log() << "\n"
                                         << sink_->log() << "\n"
                                         << sshd_->log();
    expect_replicated("client1", {"p/a@s1", "p/a/b@s1"});

    snapshot("p/a", "s2");
    snapshot("p/a", "s3");
    push = replicate(2);
    ASSERT_TRUE(last_attempt_done(push)) << json::serialize(push) << "\n"
                                         << push_->log() << "\n"
                                         << sink_->log();
    expect_replicated("client1", {"p/a@s2", "p/a@s3"});
    EXPECT_NE(sink_->log().find("client=client1"), std::string::npos)
        << "the sink's log lines name the client:\n"
        << sink_->log();
    stop_both();
    EXPECT_FALSE(fs::exists(sockdir() + "/client1")) << "the sink removes its socket when it stops";
    sshd_->stop();
}

// The other direction: a source on the src host serves stdinserver, a pull job on the dst host
// connects over ssh and receives below its root_fs (no identity component for a pull).
TEST_F(SshDaemons, PullFromASourceOverSshStdinserver) {
    snapshot("p/a", "s1");
    snapshot("p/a/b", "s1");
    zfs("dst", "create q/pull");
    // The source daemon runs in sink_'s slot, on the src host; the puller in push_'s, on dst.
    std::ofstream(sink_->config()) << global(sink_->sockpath(), stdinserver_global())
                                   << "  - name: src1\n"
                                      "    type: source\n"
                                      "    serve:\n"
                                      "      type: stdinserver\n"
                                      "      client_identities: [puller]\n"
                                      "    filesystems: {\"p/a<\": true}\n"
                                      "    snapshotting: {type: manual}\n";
    ASSERT_TRUE(sink_->start(env("src"))) << sink_->log();
    ASSERT_TRUE(
        wait_for([&] { return sink_->log().find("serving on stdinserver") != std::string::npos; }, 5s))
        << sink_->log();
    ASSERT_TRUE(start_sshd(std::string(ZFERRY_BINARY) + " stdinserver --config " + sink_->config().string() +
                           " puller"));
    std::ofstream(push_->config()) << global(push_->sockpath())
                                   << "  - name: pull1\n"
                                      "    type: pull\n"
                                      "    connect:\n"
                                   << ssh_connect(sshd_->client_key())
                                   << "    root_fs: q/pull\n"
                                      "    interval: manual\n"
                                      "    recv: {placeholder: {encryption: inherit}}\n"
                                      "    pruning:\n"
                                      "      keep_sender: [{type: not_replicated}]\n"
                                      "      keep_receiver: [{type: last_n, count: 5}]\n";
    ASSERT_TRUE(push_->start(env("dst"))) << push_->log();
    auto pull_done = [&](std::int64_t n) {
        json::value pull;
        const bool done =
            wait_for([&] { return invocation_finished(pull = push_->job_status("pull1", "pull"), n); }, 60s);
        EXPECT_TRUE(done) << json::serialize(pull) << "\npuller:\n"
                          << push_->log() << "\nsource:\n"
                          << sink_->log() << "\nsshd:\n"
                          << sshd_->log();
        return pull;
    };
    ASSERT_EQ(push_->cli("signal wakeup pull1").rc, 0);
    auto pull = pull_done(1);
    ASSERT_TRUE(last_attempt_done(pull)) << json::serialize(pull) << "\n"
                                         << push_->log() << "\n"
                                         << sink_->log();
    for (const std::string snap : {"p/a@s1", "p/a/b@s1"})
        EXPECT_EQ(guid("dst", "q/pull/" + snap), guid("src", snap)) << snap;

    snapshot("p/a", "s2");
    ASSERT_EQ(push_->cli("signal wakeup pull1").rc, 0);
    pull = pull_done(2);
    ASSERT_TRUE(last_attempt_done(pull)) << json::serialize(pull) << "\n" << push_->log();
    EXPECT_EQ(guid("dst", "q/pull/p/a@s2"), guid("src", "p/a@s2")) << "incremental over ssh";
    stop_both();
    sshd_->stop();
}

TEST_F(SshDaemons, AKeyTheServerDoesNotKnowIsAPermanentErrorWithSshsMessage) {
    snapshot("p/a", "s1");
    ASSERT_TRUE(start_ssh_sink()) << sink_->log();
    ASSERT_TRUE(start_sshd());
    start_push(ssh_connect(sshd_->stranger_key()));
    // Permanent: the run ends at once (no waiting for connectivity) and says what ssh said.
    auto push = replicate(1);
    ASSERT_FALSE(push.is_null());
    EXPECT_FALSE(last_attempt_done(push));
    const std::string text = json::serialize(push);
    EXPECT_NE(text.find("Permission denied (publickey"), std::string::npos) << text << "\n" << push_->log();
    EXPECT_NE(text.find("(permanent)"), std::string::npos) << text;
    EXPECT_TRUE(push.at("Replication").at("WaitReconnectSince").is_null()) << text;
    EXPECT_EQ(zfs_out("dst", "list -H -o name -r q/sink"), "q/sink\n") << "nothing may land";
    stop_both();
    sshd_->stop();
}

TEST_F(SshDaemons, APusherWhoseSinkDaemonIsDownWaitsWithTheProxyErrorAndFinishesOnceItIsUp) {
    snapshot("p/a", "s1");
    snapshot("p/a/b", "s1");
    // The sink's configuration exists (the stdinserver reads its sockdir), its daemon does not run.
    write_sink_config("      type: stdinserver\n      client_identities: [client1]\n", stdinserver_global());
    ASSERT_TRUE(start_sshd());
    start_push(ssh_connect(sshd_->client_key()));
    auto push = wait_for_reconnect();
    const std::string text = json::serialize(push);
    EXPECT_NE(text.find("proxy error, check remote configuration"), std::string::npos) << text;
    EXPECT_NE(text.find("cannot connect to the daemon's socket " + sockdir() + "/client1"), std::string::npos)
        << "the remote stdinserver's reason comes along:\n"
        << text;
    EXPECT_NE(text.find("(temporary, retrying can help)"), std::string::npos) << text;

    ASSERT_TRUE(sink_->start(env("dst"))) << sink_->log();
    ASSERT_TRUE(wait_for([&] { return invocation_finished(push = push_status(), 1); }, 60s))
        << json::serialize(push) << "\n"
        << push_->log() << "\n"
        << sink_->log();
    ASSERT_TRUE(last_attempt_done(push)) << json::serialize(push);
    expect_replicated("client1", {"p/a@s1", "p/a/b@s1"});
    stop_both();
    sshd_->stop();
}

TEST_F(SshDaemons, AServerThatNeverSendsTheBannerFailsTheDialTimeoutAndItsSshIsReaped) {
    snapshot("p/a", "s1");
    // A forced command that reads and says nothing (ends when the connection closes).
    ASSERT_TRUE(start_sshd("cat >/dev/null"));
    start_push(ssh_connect(sshd_->client_key(), "2s"));
    auto push = wait_for_reconnect();
    const std::string text = json::serialize(push);
    EXPECT_NE(text.find("no SSHCON_HELO banner within the dial timeout (2000 ms)"), std::string::npos)
        << text;
    EXPECT_NE(text.find("(temporary, retrying can help)"), std::string::npos) << text;
    // Waiting for connectivity, the pusher stops promptly; the ssh children it started are
    // reaped by it (TearDown fails on any process left behind).
    EXPECT_EQ(push_->stop(SIGTERM), 0) << push_->log();
    sshd_->stop();
}

TEST_F(SshDaemons, TheSinkRefusesASocketDirectoryOthersCanReach) {
    fs::create_directories(sockdir());
    fs::permissions(sockdir(),
                    fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                        fs::perms::others_read | fs::perms::others_exec,
                    fs::perm_options::replace);
    write_sink_config("      type: stdinserver\n      client_identities: [client1]\n", stdinserver_global());
    EXPECT_FALSE(sink_->start(env("dst"))) << "a sink daemon with a 0755 sockdir must not start";
    EXPECT_EQ(sink_->stop(SIGTERM), -1) << "it already exited";
    const std::string log = sink_->log();
    EXPECT_NE(
        log.find("global.serve.stdinserver.sockdir " + sockdir() + " is accessible by others (mode 0755)"),
        std::string::npos)
        << log;
    EXPECT_FALSE(fs::exists(sockdir() + "/client1"));
}

// ---- Prometheus metrics of both sides ------------------------------------------------------

// The sum of the samples of every series whose name and labels start with `prefix`.
double sum_of(const std::string& scrape, const std::string& prefix, std::size_t* series = nullptr) {
    double sum = 0;
    std::size_t n = 0;
    std::istringstream lines(scrape);
    for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with(prefix)) continue;
        sum += std::stod(line.substr(line.rfind(' ') + 1));
        ++n;
    }
    if (series) *series = n;
    return sum;
}

std::string monitoring(int port) {
    return "  monitoring:\n    - type: prometheus\n      listen: \"127.0.0.1:" + std::to_string(port) +
           "\"\n";
}

// The value of the sample `series` (name and labels as exposed) in a scrape; -1 if absent.
double sample(const std::string& scrape, const std::string& series) {
    const auto at = scrape.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(scrape.substr(at + series.size() + 2));
}

// After a push over tcp, both daemons' /metrics: the stream bytes each side's dataconn counted
// equal the bytes the push job replicated, which equal the sizes of the zfs send streams;
// attempts, log entries, control requests; promtool accepts both scrapes.
TEST_F(RemoteDaemons, MetricsOfBothSidesCountTheBytesMovedAndPassPromtool) {
    snapshot("p/a", "s1", 200000);
    snapshot("p/a/b", "s1", 100000);
    const int sink_metrics = free_loopback_port(), push_metrics = free_loopback_port();
    ASSERT_GT(sink_metrics, 0);
    ASSERT_GT(push_metrics, 0);
    const int port = start_sink(
        "      type: tcp\n      listen: \"127.0.0.1:0\"\n      clients: {\"127.0.0.1\": \"host1\"}\n",
        monitoring(sink_metrics));
    ASSERT_GT(port, 0);
    start_push(tcp_connect(port), monitoring(push_metrics));
    auto push = replicate(1);
    ASSERT_TRUE(last_attempt_done(push)) << json::serialize(push) << "\n"
                                         << push_->log() << "\n"
                                         << sink_->log();
    expect_replicated("host1", {"p/a@s1", "p/a/b@s1"});

    const fs::path push_file = dir_ / "push.metrics", sink_file = dir_ / "sink.metrics";
    const std::string pushed = scrape_metrics(push_metrics, push_file),
                      sunk = scrape_metrics(sink_metrics, sink_file);

    // What `zfs send` makes of the two snapshots, byte for byte.
    auto stream_size = [&](const std::string& snap) {
        return std::stod(zferry::test::shell(
                             "ZFS_SIM_STATE=" + state("src") + " " ZFS_SIM_BIN " send " + snap + " | wc -c",
                             dir_ / "send.err")
                             .out);
    };
    const double a = stream_size("p/a@s1"), b = stream_size("p/a/b@s1");
    ASSERT_GT(a, 200000);
    ASSERT_GT(b, 100000);
    EXPECT_EQ(sample(pushed, "zrepl_replication_bytes_replicated{zrepl_job=\"push1\",filesystem=\"p/a\"}"), a)
        << pushed;
    EXPECT_EQ(sample(pushed, "zrepl_replication_bytes_replicated{zrepl_job=\"push1\",filesystem=\"p/a/b\"}"),
              b)
        << pushed;
    EXPECT_EQ(sample(pushed,
                     "zferry_dataconn_stream_bytes_total{zrepl_job=\"push1\",endpoint=\"/v1/recv\","
                     "direction=\"sent\"}"),
              a + b)
        << pushed;
    EXPECT_EQ(sample(sunk,
                     "zferry_dataconn_stream_bytes_total{zrepl_job=\"sink1\",endpoint=\"/v1/recv\","
                     "direction=\"received\"}"),
              a + b)
        << sunk;
    EXPECT_EQ(sample(pushed, "zrepl_replication_state_time_count{zrepl_job=\"push1\",state=\"done\"}"), 1)
        << pushed;
    // The push job logged "invocation done" at info, and more before it.
    EXPECT_GE(sample(pushed, "zrepl_daemon_log_entries{zrepl_job=\"push1\",level=\"info\"}"), 1) << pushed;
    EXPECT_GE(sample(sunk, "zrepl_daemon_log_entries{zrepl_job=\"sink1\",level=\"info\"}"), 1) << sunk;
    // One `zferry signal wakeup`, and the status polls that waited for the replication.
    EXPECT_EQ(sample(pushed, "zrepl_control_request_begin{endpoint=\"/signal\"}"), 1) << pushed;
    EXPECT_EQ(sample(pushed, "zrepl_control_request_finished_count{endpoint=\"/signal\"}"), 1) << pushed;
    EXPECT_GE(sample(pushed, "zrepl_control_request_begin{endpoint=\"/status\"}"), 1) << pushed;

    // promtool: both parse; the only lint findings are those of zrepl's own names.
    for (const auto& file : {push_file, sink_file}) expect_promtool_accepts(file);
    stop_both();
}

// The families zrepl's dashboard reads beyond the replication's: zfs commands' CPU times,
// per-filesystem zfs operation durations, frame-layer shutdowns, active tasks, filter entries
// that match nothing. After a push over tcp (p/a@s1 and @s2, p/a/b@s1; the sender keeps one
// snapshot) and a snap job's first snapshot of p/c, each has the values of what ran.
TEST_F(RemoteDaemons, MetricsOfZfsCommandsOperationsShutdownsAndTasksCountWhatRan) {
    zfs("src", "create p/c");
    snapshot("p/a", "s1");
    snapshot("p/a", "s2");
    snapshot("p/a/b", "s1");
    const int sink_metrics = free_loopback_port(), push_metrics = free_loopback_port();
    ASSERT_GT(sink_metrics, 0);
    ASSERT_GT(push_metrics, 0);
    const int port = start_sink(
        "      type: tcp\n      listen: \"127.0.0.1:0\"\n      clients: {\"127.0.0.1\": \"host1\"}\n",
        monitoring(sink_metrics));
    ASSERT_GT(port, 0);
    // Two entries of push1's filter name no dataset (p/gone, p/a/none); snap1's one does.
    start_push(tcp_connect(port), monitoring(push_metrics),
               "{\"p/a<\": true, \"p/gone\": true, \"p/a/none<\": false}", 1,
               "  - name: snap1\n"
               "    type: snap\n"
               "    filesystems: {\"p/c\": true}\n"
               "    snapshotting: {type: periodic, prefix: zf_, interval: 1h}\n"
               "    pruning:\n"
               "      keep: [{type: last_n, count: 10}]\n");
    // snap1 has no zf_ snapshot yet: it takes one at once, then prunes.
    json::value snap;
    ASSERT_TRUE(wait_for(
        [&] {
            snap = push_->job_status("snap1", "snap");
            return snap.is_object() && !snap.at("Pruning").is_null() &&
                   snap.at("Pruning").at("State") == "Done" && snap.at("State") == "waiting";
        },
        20s))
        << json::serialize(snap) << "\n"
        << push_->log();
    auto push = replicate(1);
    ASSERT_TRUE(last_attempt_done(push)) << json::serialize(push) << "\n"
                                         << push_->log() << "\n"
                                         << sink_->log();
    expect_replicated("host1", {"p/a@s2", "p/a/b@s1"});
    const std::string left = zfs_out("src", "list -H -o name -t snapshot -r p/a");
    ASSERT_EQ(left.find("p/a@s1\n"), std::string::npos) << "the sender pruned p/a@s1: " << left;
    ASSERT_NE(left.find("p/a@s2\n"), std::string::npos) << left;

    const fs::path push_file = dir_ / "push.metrics", sink_file = dir_ / "sink.metrics";
    const std::string pushed = scrape_metrics(push_metrics, push_file),
                      sunk = scrape_metrics(sink_metrics, sink_file);

    // zfscmd: every reaped zfs process has its CPU times beside its runtime, and the zfs-sim
    // processes of both sides used some CPU (wait4's rusage).
    for (const auto* scraped : {&pushed, &sunk}) {
        std::size_t runtime_series = 0, user_series = 0, system_series = 0;
        const double commands = sum_of(*scraped, "zrepl_zfscmd_runtime_count{", &runtime_series);
        EXPECT_GT(commands, 0) << *scraped;
        EXPECT_EQ(sum_of(*scraped, "zrepl_zfscmd_usertime_count{", &user_series), commands) << *scraped;
        EXPECT_EQ(sum_of(*scraped, "zrepl_zfscmd_systemtime_count{", &system_series), commands) << *scraped;
        EXPECT_EQ(user_series, runtime_series);
        EXPECT_EQ(system_series, runtime_series);
        const double cpu =
            sum_of(*scraped, "zrepl_zfscmd_usertime_sum{") + sum_of(*scraped, "zrepl_zfscmd_systemtime_sum{");
        EXPECT_GT(cpu, 0) << *scraped;
        EXPECT_LE(cpu, sum_of(*scraped, "zrepl_zfscmd_runtime_sum{")) << *scraped;
    }
    EXPECT_GT(sum_of(pushed, "zrepl_zfscmd_usertime_count{jobid=\"push1\",zfsbinary=\"" ZFS_SIM_BIN
                             "\",zfsverb=\"send\"}"),
              0)
        << pushed;

    // Per-filesystem operations: snap1's one snapshot of p/c; the sender's listings of p/a
    // and its cursor bookmark; the pruner's one destroy of p/a@s1.
    EXPECT_EQ(sample(pushed, "zrepl_zfs_snapshot_duration_count{filesystem=\"p/c\"}"), 1) << pushed;
    EXPECT_EQ(sum_of(pushed, "zrepl_zfs_snapshot_duration_count{"), 1) << pushed;
    EXPECT_GE(sample(pushed, "zrepl_zfs_list_filesystem_versions_duration_count{filesystem=\"p/a\"}"), 1)
        << pushed;
    EXPECT_GT(sample(pushed, "zrepl_zfs_list_filesystem_versions_duration_sum{filesystem=\"p/a\"}"), 0)
        << pushed;
    EXPECT_GE(sample(pushed, "zrepl_zfs_bookmark_duration_count{filesystem=\"p/a\"}"), 1) << pushed;
    EXPECT_EQ(
        sample(pushed, "zrepl_zfs_destroy_duration_count{dataset_type=\"snapshot\",filesystem=\"p/a\"}"), 1)
        << pushed;
    EXPECT_GE(
        sample(sunk, "zrepl_zfs_list_filesystem_versions_duration_count{filesystem=\"q/sink/host1/p/a\"}"), 1)
        << sunk;

    // Filter entries without a dataset: push1's two per listing it filtered, snap1's none.
    const double unmatched =
        sample(pushed, "zrepl_zfs_list_unmatched_user_specified_dataset_count{jobid=\"push1\"}");
    EXPECT_GE(unmatched, 2) << pushed;
    EXPECT_EQ(std::fmod(unmatched, 2), 0) << pushed;
    EXPECT_EQ(sample(pushed, "zrepl_zfs_list_unmatched_user_specified_dataset_count{jobid=\"snap1\"}"), 0)
        << pushed;

    // Active tasks: at least each job's own (two here, one on the sink), the control and
    // metrics servers'.
    EXPECT_GE(sample(pushed, "zrepl_trace_active_tasks"), 4) << pushed;
    EXPECT_GE(sample(sunk, "zrepl_trace_active_tasks"), 3) << sunk;

    // Frame-layer shutdowns. Between zferry peers a data connection carries several requests:
    // the push closes the one it kept once its idle timeout (3 s) passes, and the sink's end
    // of it shuts down then (or at its own next-request timeout, 10 s, whichever comes first).
    // Each shutdown drained, or closed hard if the peer had gone first.
    const fs::path sink_later = dir_ / "sink-later.metrics", push_later = dir_ / "push-later.metrics";
    std::string sunk_after;  // the last scrape of the sink
    ASSERT_TRUE(wait_for(
        [&] {
            std::this_thread::sleep_for(450ms);  // a scrape a second or so, not 20 per second
            sunk_after = scrape_metrics(sink_metrics, sink_later);
            return sample(sunk_after, "zrepl_frameconn_shutdown_seconds_count") >= 1;
        },
        60s))
        << sunk_after;
    snapshot("p/a", "s3");
    push = replicate(2);
    ASSERT_TRUE(last_attempt_done(push)) << json::serialize(push) << "\n"
                                         << push_->log() << "\n"
                                         << sink_->log();
    std::string pushed_after = scrape_metrics(push_metrics, push_later);
    for (const auto* scraped : {&pushed_after, &sunk_after}) {
        const double shutdowns = sample(*scraped, "zrepl_frameconn_shutdown_seconds_count");
        const double drained = sample(*scraped, "zrepl_frameconn_shutdown_drain_seconds_count");
        EXPECT_GE(shutdowns, 1) << *scraped;
        EXPECT_EQ(drained + sum_of(*scraped, "zrepl_frameconn_shutdown_hard_closes{"), shutdowns) << *scraped;
        EXPECT_EQ(sample(*scraped, "zrepl_frameconn_shutdown_drain_bytes_read_count"), drained) << *scraped;
        EXPECT_GE(sample(*scraped, "zrepl_frameconn_shutdown_seconds{quantile=\"0.5\"}"), 0) << *scraped;
        EXPECT_GT(sample(*scraped, "zrepl_frameconn_shutdown_seconds_sum"), 0) << *scraped;
        EXPECT_LE(sample(*scraped, "zrepl_frameconn_shutdown_drain_seconds_sum"),
                  sample(*scraped, "zrepl_frameconn_shutdown_seconds_sum"))
            << *scraped;
    }

    for (const auto& file : {push_file, sink_file, push_later, sink_later}) expect_promtool_accepts(file);
    stop_both();
}

}  // namespace
