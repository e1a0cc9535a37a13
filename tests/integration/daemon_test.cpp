// `zferry daemon` run as a child process on zfs-sim, with a configuration written by the test
// and a private control socket, driven by `zferry status` and `zferry signal` as an
// administrator would: a push job replicating to a sink in the same daemon (local transport),
// a manual job that waits for its wakeup, SIGTERM in the middle of a transfer, and a
// configuration the daemon refuses. Every process a test starts is stopped by the test: the
// test process is a child subreaper, so even a zfs child the daemon left behind would be
// found (and fail the test) instead of escaping to init.
#include "tests/integration/daemon_process.hpp"
#include "tests/integration/metrics_check.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

using zferry::test::CmdResult;
using zferry::test::read_file;
using zferry::test::wait_for;

CmdResult sh(const std::string& cmd, const fs::path& err_file) { return zferry::test::shell(cmd, err_file); }

std::string children(pid_t parent);

class DaemonTest : public ::testing::Test {
protected:
    void SetUp() override {
        ::prctl(PR_SET_CHILD_SUBREAPER, 1);
        char tmpl[] = "/tmp/zferry-daemon-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        fs::create_directory(dir_ / "run");
        fs::permissions(dir_ / "run", fs::perms::owner_all, fs::perm_options::replace);
        ::setenv("ZFS_SIM_STATE", (dir_ / "zfs").c_str(), 1);
        zfs("sim-create-pool p && $Z create p/a && $Z create p/a/b && $Z sim-create-pool q && $Z create "
            "q/sink");
    }
    void TearDown() override {
        stop_daemon(SIGKILL);
        // Anything left (a daemon's orphaned zfs child) is a child of ours: reap it.
        reap_all();
        ::unsetenv("ZFS_SIM_STATE");
        fs::remove_all(dir_);
    }

    void zfs(const std::string& cmds, const std::string& input = {}) {
        const std::string cmd = input + "Z=" ZFS_SIM_BIN " bash -c '$Z " + cmds + "' >/dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmds;
    }
    std::string zfs_out(const std::string& args) { return sh(ZFS_SIM_BIN " " + args, dir_ / "zfs.err").out; }
    // Data and a snapshot on the sender.
    void snapshot(const std::string& fs, const std::string& name, std::size_t bytes = 2000) {
        // A pipeline, not a process substitution: its `head` would outlive bash and become ours.
        zfs("sim-write " + fs + " /dev/stdin; $Z snapshot " + fs + "@" + name,
            "head -c " + std::to_string(bytes) + " /dev/urandom | ");
    }
    std::string guid(const std::string& snap) { return zfs_out("get -H -p -o value guid " + snap); }

    std::string sockpath() const { return (dir_ / "run" / "control").string(); }
    fs::path config_path() const { return dir_ / "zferry.yml"; }

    // A push job (filesystems p/a<) into a sink below q/sink, local transport.
    void write_config(const std::string& snapshotting) {
        std::ofstream out(config_path());
        out << "global:\n"
               "  logging:\n"
               "    - type: stdout\n"
               "      level: info\n"
               "      format: human\n"
               "  control:\n"
               "    sockpath: "
            << sockpath()
            << "\n"
               "jobs:\n"
               "  - name: push1\n"
               "    type: push\n"
               "    connect:\n"
               "      type: local\n"
               "      listener_name: backup\n"
               "      client_identity: host1\n"
               "    filesystems:\n"
               "      \"p/a<\": true\n"
               "    snapshotting:\n"
            << snapshotting
            << "    pruning:\n"
               "      keep_sender:\n"
               "        - type: not_replicated\n"
               "        - type: last_n\n"
               "          count: 10\n"
               "      keep_receiver:\n"
               "        - type: last_n\n"
               "          count: 10\n"
               "  - name: sink1\n"
               "    type: sink\n"
               "    root_fs: q/sink\n"
               "    recv:\n"
               "      placeholder:\n"
               "        encryption: inherit\n"
               "    serve:\n"
               "      type: local\n"
               "      listener_name: backup\n";
    }

    void write_raw_config(const std::string& jobs) {
        std::ofstream out(config_path());
        out << "global:\n  logging:\n    - {type: stdout, level: info, format: human}\n  control:\n    "
               "sockpath: "
            << sockpath() << "\njobs:\n"
            << jobs;
    }
    json::value job_status(const std::string& job, const std::string& type) {
        return zferry::test::job_part(status(), job, type);
    }

    // Starts the daemon with extra environment (fault injection for zfs-sim).
    void start_daemon(std::vector<std::string> env_extra = {}) {
        std::vector<std::string> args = {ZFERRY_BINARY, "daemon",    "--config",       config_path().string(),
                                         "--zfs",       ZFS_SIM_BIN, "--stop-timeout", "20"};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        std::vector<std::string> env;
        for (char** e = environ; *e; ++e) env.emplace_back(*e);
        for (auto& e : env_extra) env.push_back(e);
        std::vector<char*> envp;
        for (auto& e : env) envp.push_back(e.data());
        envp.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        const std::string log = (dir_ / "daemon.log").string();
        posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        ASSERT_EQ(::posix_spawn(&pid_, ZFERRY_BINARY, &fa, nullptr, argv.data(), envp.data()), 0);
        posix_spawn_file_actions_destroy(&fa);
        ASSERT_TRUE(wait_for([&] { return fs::exists(sockpath()); }, 10s)) << daemon_log();
    }
    // Sends `sig` and waits for the exit; the exit status (-1: killed by a signal or none running).
    int stop_daemon(int sig = SIGTERM) {
        if (pid_ <= 0) return -1;
        ::kill(pid_, sig);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    // Waits up to `bound` for the daemon to exit by itself; its exit status, or nullopt.
    std::optional<int> wait_exit(std::chrono::milliseconds bound) {
        const auto until = std::chrono::steady_clock::now() + bound;
        while (std::chrono::steady_clock::now() < until) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            std::this_thread::sleep_for(20ms);
        }
        return std::nullopt;
    }
    // Kills and reaps every child left (found by their parent pid in /proc).
    static void reap_all() {
        for (const auto& e : fs::directory_iterator("/proc")) {
            const std::string name = e.path().filename().string();
            if (name.find_first_not_of("0123456789") != std::string::npos) continue;
            std::ifstream stat(e.path() / "stat");
            std::string line;
            std::getline(stat, line);
            const auto close = line.rfind(')');
            if (close == std::string::npos) continue;
            char state = 0;
            int ppid = 0;
            if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == ::getpid())
                ::kill(std::stoi(name), SIGKILL);
        }
        int st = 0;
        while (::waitpid(-1, &st, 0) > 0) {
        }
    }
    std::string daemon_log() const { return read_file(dir_ / "daemon.log"); }

    CmdResult zferry(const std::string& args) {
        return sh(std::string(ZFERRY_BINARY) + " " + args + " --config " + config_path().string(),
                  dir_ / "cli.err");
    }
    json::value status() {
        auto r = zferry("status --json");
        if (r.rc != 0) return nullptr;
        boost::system::error_code ec;
        auto v = json::parse(r.out, ec);
        return ec ? json::value(nullptr) : v;
    }
    // The push job's part of the status (null when the daemon does not answer).
    json::value push_status() { return job_status("push1", "push"); }
    static bool replication_done(const json::value& push) {
        return zferry::test::replication_ended(push) && zferry::test::last_attempt_done(push);
    }
    // The replication done and the pruning after it too: the job waits for its next wakeup.
    static bool invocation_done(const json::value& push) {
        return replication_done(push) && push.at("State") == "waiting";
    }
    static std::int64_t invocations(const json::value& push) {
        return push.is_object() ? push.at("Invocations").to_number<std::int64_t>() : -1;
    }

    fs::path dir_;
    pid_t pid_ = -1;
};

// The children of `parent` (their command lines), from /proc.
std::string children(pid_t parent) {
    std::string out;
    for (const auto& e : fs::directory_iterator("/proc")) {
        const std::string name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream stat(e.path() / "stat");
        std::string line;
        std::getline(stat, line);
        const auto close = line.rfind(')');
        char state = 0;
        int ppid = 0;
        if (close == std::string::npos ||
            std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) != 2 || ppid != parent)
            continue;
        std::string cmd = read_file(e.path() / "cmdline");
        std::replace(cmd.begin(), cmd.end(), '\0', ' ');
        out += name + " " + line.substr(0, close + 1) + " state " + state + " ppid " + std::to_string(ppid) +
               ": " + cmd + "\n";
    }
    return out;
}

// The test process has no child left (daemon and every zfs child reaped); else who is left.
::testing::AssertionResult no_children() {
    const std::string left = children(::getpid());
    int st = 0;
    if (::waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "children left:\n" << left;
}
::testing::AssertionResult no_children_of(pid_t pid) {
    const std::string left = children(pid);
    if (left.empty()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "children of " << pid << " left:\n" << left;
}

TEST_F(DaemonTest, SnapshotRoundThenWakeupReplicatePushToSinkAndStatusShowsTheReport) {
    write_config(
        "      type: periodic\n"
        "      prefix: zf_\n"
        "      interval: 1h\n");
    start_daemon();
    // The periodic sync-up snapshots at once (no zf_ snapshot yet); the round wakes the push.
    json::value push;
    ASSERT_TRUE(wait_for([&] { return invocation_done(push = push_status()); }, 20s))
        << json::serialize(push) << "\n"
        << daemon_log();
    const std::string snaps = zfs_out("list -H -o name -t snapshot -r q/sink/host1/p/a");
    ASSERT_NE(snaps.find("q/sink/host1/p/a@zf_"), std::string::npos) << snaps;
    ASSERT_NE(snaps.find("q/sink/host1/p/a/b@zf_"), std::string::npos) << snaps;
    const std::string first = snaps.substr(snaps.find('@'), snaps.find('\n') - snaps.find('@'));
    EXPECT_EQ(guid("p/a" + first), guid("q/sink/host1/p/a" + first)) << "the sink has the sender's snapshot";

    // A snapshot taken by hand goes over on `signal wakeup`.
    snapshot("p/a", "byhand");
    auto sig = zferry("signal wakeup push1");
    ASSERT_EQ(sig.rc, 0) << sig.err;
    ASSERT_TRUE(
        wait_for([&] { return invocations(push = push_status()) >= 2 && invocation_done(push); }, 20s))
        << json::serialize(push) << "\n"
        << daemon_log();
    EXPECT_EQ(guid("p/a@byhand"), guid("q/sink/host1/p/a@byhand"));
    // The finished report in zrepl's names, and the pruning of both sides after it.
    const auto& fss = push.at("Replication").at("Attempts").as_array().back().at("Filesystems").as_array();
    ASSERT_FALSE(fss.empty());
    EXPECT_EQ(fss[0].at("State"), "done");
    EXPECT_EQ(push.at("PruningSender").at("State"), "Done") << json::serialize(push.at("PruningSender"));
    EXPECT_EQ(push.at("PruningReceiver").at("State"), "Done") << json::serialize(push.at("PruningReceiver"));
    EXPECT_EQ(push.at("State"), "waiting");

    // The text view names the job, its filesystems and their state.
    auto text = zferry("status");
    ASSERT_EQ(text.rc, 0) << text.err;
    EXPECT_NE(text.out.find("Job push1 (push): waiting"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("p/a/b"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("done"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("Job sink1 (sink): serving"), std::string::npos) << text.out;
    auto only_sink = zferry("status --mode dump --job sink1");
    EXPECT_EQ(only_sink.out, "Job sink1 (sink): serving\n") << only_sink.err;
    auto raw = zferry("status --mode raw");
    boost::system::error_code ec;
    EXPECT_TRUE(json::parse(raw.out, ec).is_object()) << raw.out;
    auto live = zferry("status --mode interactive");
    EXPECT_EQ(live.rc, 2) << "the live view needs a terminal, and says so";
    EXPECT_NE(live.err.find("--mode interactive needs a terminal"), std::string::npos) << live.err;
    auto version = zferry("version --show daemon");
    EXPECT_EQ(version.rc, 0) << version.err;
    EXPECT_EQ(version.out, std::string("daemon: zferry version ") + ZFERRY_VERSION + "\n");

    // Log lines carry the job and, for replication, the filesystem.
    const auto log = daemon_log();
    EXPECT_NE(log.find("job=push1"), std::string::npos) << log;
    EXPECT_NE(log.find("filesystem=p/a"), std::string::npos) << log;

    EXPECT_EQ(stop_daemon(SIGTERM), 0) << daemon_log();
    EXPECT_TRUE(no_children());
    EXPECT_FALSE(fs::exists(sockpath())) << "the control socket is removed at exit";
}

TEST_F(DaemonTest, AManualJobDoesNothingUntilSignalledRefusesUnknownJobsAndReportsStaleHolds) {
    snapshot("p/a", "s1");
    snapshot("p/a/b", "s1");
    zfs("hold zrepl_STEP_J_oldname p/a@s1");  // a step hold of a job since renamed
    write_config("      type: manual\n");
    start_daemon();
    std::this_thread::sleep_for(1500ms);
    auto push = push_status();
    ASSERT_TRUE(push.is_object()) << daemon_log();
    EXPECT_EQ(invocations(push), 0) << json::serialize(push);
    EXPECT_TRUE(push.at("Replication").is_null());
    EXPECT_EQ(push.at("State"), "waiting");
    EXPECT_EQ(zfs_out("list -H -o name -t snapshot -r q/sink"), "") << "nothing replicated before the wakeup";

    const auto s = status();
    ASSERT_TRUE(s.is_object());
    EXPECT_EQ(json::serialize(s.at("Global").at("StaleAbstractionJobs")), "[\"oldname\"]");
    EXPECT_NE(
        daemon_log().find("1 hold(s) or cursor(s) of job \"oldname\", which is not in the configuration"),
        std::string::npos)
        << daemon_log();
    EXPECT_NE(zfs_out("holds -H p/a@s1").find("zrepl_STEP_J_oldname"), std::string::npos)
        << "reported, not released";

    auto bad = zferry("signal wakeup nosuchjob");
    EXPECT_EQ(bad.rc, 1);
    EXPECT_NE(bad.err.find("no job named \"nosuchjob\""), std::string::npos) << bad.err;
    auto sink = zferry("signal wakeup sink1");
    EXPECT_EQ(sink.rc, 1);
    EXPECT_NE(sink.err.find("sink job, which has nothing to wake up"), std::string::npos) << sink.err;

    ASSERT_EQ(zferry("signal wakeup push1").rc, 0);
    ASSERT_TRUE(wait_for([&] { return replication_done(push = push_status()); }, 20s))
        << json::serialize(push) << "\n"
        << daemon_log();
    EXPECT_EQ(invocations(push), 1);
    EXPECT_EQ(guid("p/a@s1"), guid("q/sink/host1/p/a@s1"));
    EXPECT_EQ(guid("p/a/b@s1"), guid("q/sink/host1/p/a/b@s1"));
    EXPECT_TRUE(push.at("Snapshotting").is_null()) << "manual snapshotting: no snapshotter runs";
    EXPECT_EQ(stop_daemon(SIGTERM), 0) << daemon_log();
    EXPECT_TRUE(no_children());
}

// As Go's runtime does for zrepl, the daemon raises its soft open-file limit to the hard limit
// (a TLS client costs a sink about 3 descriptors) and says so; its zfs children get the original
// back (Process.RaisingTheOpenFileLimitLeavesChildrenTheOriginal).
TEST_F(DaemonTest, TheDaemonRaisesItsOpenFileLimitToTheHardLimit) {
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    ASSERT_GT(saved.rlim_max, 1000u) << "this test needs a hard open-file limit above 1000";
    struct Restore {
        rlimit limit;
        ~Restore() { ::setrlimit(RLIMIT_NOFILE, &limit); }
    } restore{saved};
    rlimit low = saved;
    low.rlim_cur = 1000;  // the daemon inherits it
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    write_config("      type: manual\n");
    start_daemon();

    std::ifstream limits("/proc/" + std::to_string(pid_) + "/limits");
    std::string line, soft, hard;
    while (std::getline(limits, line))
        if (line.rfind("Max open files", 0) == 0) {
            std::istringstream(line.substr(std::string("Max open files").size())) >> soft >> hard;
            break;
        }
    const std::string max = std::to_string(saved.rlim_max);
    EXPECT_EQ(soft, max) << line;
    EXPECT_EQ(hard, max) << line;
    EXPECT_NE(daemon_log().find("open-file limit raised from 1000 to " + max + " (the hard limit)"),
              std::string::npos)
        << daemon_log();
    EXPECT_EQ(stop_daemon(SIGTERM), 0) << daemon_log();
}

TEST_F(DaemonTest, SigtermDuringATransferStopsWithinBoundsAndLeavesAResumableReceive) {
    zfs("destroy -r p/a/b");
    snapshot("p/a", "big", 3'000'000);
    write_config("      type: manual\n");
    // The sender stalls after a million bytes, so SIGTERM finds the step in flight.
    start_daemon({"ZFS_SIM_STALL_SEND_AFTER=1000000"});
    ASSERT_EQ(zferry("signal wakeup push1").rc, 0);
    auto replicated = [&] {
        auto push = push_status();
        if (!push.is_object() || push.at("Replication").is_null()) return std::uint64_t{0};
        const auto& as = push.at("Replication").at("Attempts").as_array();
        if (as.empty() || as.back().at("Filesystems").as_array().empty()) return std::uint64_t{0};
        const auto& steps = as.back().at("Filesystems").as_array()[0].at("Steps").as_array();
        return steps.empty() ? std::uint64_t{0}
                             : steps[0].at("Info").at("BytesReplicated").to_number<std::uint64_t>();
    };
    ASSERT_TRUE(wait_for([&] { return replicated() >= 1'000'000; }, 20s)) << daemon_log();
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(::kill(pid_, SIGTERM), 0);
    auto rc = wait_exit(10s);
    ASSERT_TRUE(rc.has_value()) << "the daemon did not stop within 10 s\n" << daemon_log();
    EXPECT_EQ(*rc, 0) << daemon_log();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
    EXPECT_TRUE(no_children()) << "a zfs child outlived the daemon";
    const auto token = zfs_out("get -H -o value receive_resume_token q/sink/host1/p/a");
    EXPECT_FALSE(token.empty() || token == "-\n") << "the partial receive stays resumable: " << token;

    // A daemon without the fault resumes the step instead of sending it again.
    start_daemon();
    ASSERT_EQ(zferry("signal wakeup push1").rc, 0);
    json::value push;
    ASSERT_TRUE(wait_for([&] { return replication_done(push = push_status()); }, 20s))
        << json::serialize(push) << "\n"
        << daemon_log();
    const auto& step = push.at("Replication")
                           .at("Attempts")
                           .as_array()
                           .back()
                           .at("Filesystems")
                           .as_array()[0]
                           .at("Steps")
                           .as_array()[0];
    EXPECT_EQ(step.at("Info").at("Resumed"), true) << json::serialize(step);
    EXPECT_EQ(guid("p/a@big"), guid("q/sink/host1/p/a@big"));
    EXPECT_EQ(stop_daemon(SIGTERM), 0);
    EXPECT_TRUE(no_children());
}

TEST_F(DaemonTest, ResetCancelsTheRunningTransferAndTheDaemonKeepsServing) {
    zfs("destroy -r p/a/b");
    snapshot("p/a", "big", 3'000'000);
    write_config("      type: manual\n");
    start_daemon({"ZFS_SIM_STALL_SEND_AFTER=1000000"});
    ASSERT_EQ(zferry("signal wakeup push1").rc, 0);
    json::value push;
    auto in_flight = [&] {
        push = push_status();
        if (!push.is_object() || push.at("Replication").is_null()) return false;
        const auto& as = push.at("Replication").at("Attempts").as_array();
        if (as.empty() || as.back().at("Filesystems").as_array().empty()) return false;
        const auto& steps = as.back().at("Filesystems").as_array()[0].at("Steps").as_array();
        return !steps.empty() &&
               steps[0].at("Info").at("BytesReplicated").to_number<std::uint64_t>() >= 1'000'000;
    };
    ASSERT_TRUE(wait_for(in_flight, 20s)) << daemon_log();
    EXPECT_EQ(push.at("State"), "replicating");
    ASSERT_EQ(zferry("signal reset push1").rc, 0);
    ASSERT_TRUE(
        wait_for([&] { return (push = push_status()).is_object() && push.at("State") == "waiting"; }, 10s))
        << json::serialize(push) << "\n"
        << daemon_log();
    EXPECT_FALSE(push.at("Replication").at("FinishAt").is_null()) << "the cancelled run's report is final";
    EXPECT_NE(push.at("Replication").at("Attempts").as_array().back().at("State"), "done");
    EXPECT_TRUE(push.at("PruningSender").is_null()) << "a reset skips the rest of the invocation";
    EXPECT_TRUE(no_children_of(pid_)) << "the step's zfs send and recv are reaped";
    const auto token = zfs_out("get -H -o value receive_resume_token q/sink/host1/p/a");
    EXPECT_FALSE(token.empty() || token == "-\n") << token;
    EXPECT_EQ(zferry("status").rc, 0) << "the daemon still answers";
    EXPECT_EQ(stop_daemon(SIGTERM), 0) << daemon_log();
    EXPECT_TRUE(no_children());
}

TEST_F(DaemonTest, PullFromASourceInTheSameDaemon) {
    snapshot("p/a", "s1");
    snapshot("p/a/b", "s1");
    zfs("create q/pull");
    write_raw_config(
        "  - name: src1\n"
        "    type: source\n"
        "    serve: {type: local, listener_name: src}\n"
        "    filesystems: {\"p/a<\": true}\n"
        "    snapshotting: {type: manual}\n"
        "  - name: pull1\n"
        "    type: pull\n"
        "    connect: {type: local, listener_name: src, client_identity: puller}\n"
        "    root_fs: q/pull\n"
        "    interval: manual\n"
        "    recv: {placeholder: {encryption: inherit}}\n"
        "    pruning:\n"
        "      keep_sender: [{type: not_replicated}]\n"
        "      keep_receiver: [{type: last_n, count: 5}]\n");
    start_daemon();
    json::value pull;
    ASSERT_TRUE(wait_for([&] { return (pull = job_status("pull1", "pull")).is_object(); }, 5s))
        << daemon_log();
    EXPECT_EQ(pull.at("Invocations"), 0) << "interval: manual waits for the signal";
    ASSERT_EQ(zferry("signal wakeup pull1").rc, 0);
    ASSERT_TRUE(wait_for([&] { return invocation_done(pull = job_status("pull1", "pull")); }, 20s))
        << json::serialize(pull) << "\n"
        << daemon_log();
    EXPECT_EQ(guid("p/a@s1"), guid("q/pull/p/a@s1")) << "a pull receives below root_fs, no identity";
    EXPECT_EQ(guid("p/a/b@s1"), guid("q/pull/p/a/b@s1"));
    EXPECT_EQ(job_status("src1", "source").at("State"), "serving");
    EXPECT_EQ(stop_daemon(SIGTERM), 0) << daemon_log();
    EXPECT_TRUE(no_children());
}

TEST_F(DaemonTest, ASnapJobSnapshotsThenPrunes) {
    zfs("destroy -r p/a/b");
    snapshot("p/a", "zfold");
    snapshot("p/a", "manual");
    std::this_thread::sleep_for(1100ms);  // the round's snapshot is strictly newer than zfold
    write_raw_config(
        "  - name: snap1\n"
        "    type: snap\n"
        "    filesystems: {\"p/a\": true}\n"
        "    snapshotting: {type: periodic, prefix: zf_, interval: 1h}\n"
        "    pruning:\n"
        "      keep:\n"
        "        - {type: last_n, count: 1, regex: \"^zf\"}\n"
        "        - {type: regex, regex: \"^manual$\"}\n");
    start_daemon();
    json::value snap;
    ASSERT_TRUE(wait_for(
        [&] {
            snap = job_status("snap1", "snap");
            return snap.is_object() && !snap.at("Pruning").is_null() &&
                   snap.at("Pruning").at("State") == "Done" && snap.at("State") == "waiting";
        },
        20s))
        << json::serialize(snap) << "\n"
        << daemon_log();
    const std::string names = zfs_out("list -H -o name -t snapshot -r p/a");
    EXPECT_EQ(names.find("p/a@zfold"), std::string::npos) << "the older zf snapshot is pruned: " << names;
    EXPECT_NE(names.find("p/a@manual"), std::string::npos) << names;
    EXPECT_NE(names.find("p/a@zf_"), std::string::npos) << "the round's snapshot stays: " << names;
    EXPECT_EQ(snap.at("Snapshotting").at("state"), "waiting");
    EXPECT_EQ(stop_daemon(SIGTERM), 0) << daemon_log();
    EXPECT_TRUE(no_children());
}

// A free TCP port on the loopback interface (bound and released; the daemon binds it next).
int free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(fd);
        return -1;
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

TEST_F(DaemonTest, PrometheusMetricsWithZreplsNamesPassPromtool) {
    const int port = free_loopback_port();
    ASSERT_GT(port, 0);
    write_config(
        "      type: periodic\n"
        "      prefix: zf_\n"
        "      interval: 1h\n");
    {
        // The same configuration with a prometheus listener on loopback.
        std::string text = read_file(config_path());
        const std::string monitoring =
            "  monitoring:\n    - type: prometheus\n      listen: \"127.0.0.1:" + std::to_string(port) +
            "\"\n";
        text.insert(text.find("  control:\n"), monitoring);
        std::ofstream(config_path()) << text;
    }
    start_daemon();
    json::value push;
    ASSERT_TRUE(wait_for([&] { return invocation_done(push = push_status()); }, 20s))
        << json::serialize(push) << "\n"
        << daemon_log();
    const fs::path scraped = dir_ / "metrics.txt";
    const std::string metrics = zferry::test::scrape_metrics(port, scraped);
    ASSERT_FALSE(metrics.empty());
    for (const char* expected :
         {"# TYPE zrepl_replication_bytes_replicated counter",
          "zrepl_replication_bytes_replicated{zrepl_job=\"push1\",filesystem=\"p/a\"} ",
          "zrepl_replication_filesystem_errors{zrepl_job=\"push1\"} 0",
          "zrepl_replication_last_successful{zrepl_job=\"push1\"} ",
          "zrepl_pruning_time_count{zrepl_job=\"push1\",prune_side=\"sender\"} 1",
          "zrepl_pruning_time_count{zrepl_job=\"push1\",prune_side=\"receiver\"} 1",
          "zrepl_zfscmd_runtime_count{jobid=\"push1\"", "zrepl_start_time{raw=\"",
          "zrepl_replication_state_time_count{zrepl_job=\"push1\",state=\"done\"} 1",
          "zrepl_daemon_log_entries{zrepl_job=\"push1\",level=\"info\"} ",
          "# TYPE zferry_dataconn_stream_bytes_total counter",
          "zrepl_control_request_begin{endpoint=\"/status\"} ",
          "zrepl_control_request_finished_count{endpoint=\"/status\"} "})
        EXPECT_NE(metrics.find(expected), std::string::npos) << expected << " in\n" << metrics;
    // The lint findings allowed are zrepl's own naming: its counters have no _total suffix, and
    // the names stay zrepl's so that its Grafana dashboard keeps working.
    zferry::test::expect_promtool_accepts(scraped);
    auto other =
        sh("curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:" + std::to_string(port) + "/other",
           dir_ / "curl.err");
    EXPECT_EQ(other.out, "404");
    EXPECT_EQ(stop_daemon(SIGTERM), 0) << daemon_log();
    EXPECT_TRUE(no_children());
}

TEST_F(DaemonTest, RunDryRunPrintsThePlanAndChangesNothing) {
    snapshot("p/a", "s1");
    snapshot("p/a", "s2");
    snapshot("p/a/b", "s1");
    write_config(
        "      type: periodic\n"
        "      prefix: zf_\n"
        "      interval: 1h\n");
    {
        std::ofstream out(config_path(), std::ios::app);
        out << "  - name: snap1\n"
               "    type: snap\n"
               "    filesystems: {\"p/a\": true}\n"
               "    snapshotting: {type: manual}\n"
               "    pruning: {keep: [{type: last_n, count: 1}]}\n";
    }
    const std::string before = read_file(dir_ / "zfs" / "state");
    ASSERT_FALSE(before.empty());
    auto push = zferry("run --dry-run push1 --zfs " ZFS_SIM_BIN);
    EXPECT_EQ(push.rc, 0) << push.out << push.err;
    EXPECT_NE(push.out.find("would snapshot p/a@zf_"), std::string::npos) << push.out;
    EXPECT_NE(push.out.find("would snapshot p/a/b@zf_"), std::string::npos) << push.out;
    EXPECT_NE(push.out.find("p/a: full send of @s2 ("), std::string::npos) << push.out;
    EXPECT_NE(push.out.find(" bytes)"), std::string::npos) << "with the sender's estimate: " << push.out;
    EXPECT_NE(push.out.find("p/a/b: full send of @s1 ("), std::string::npos) << push.out;
    EXPECT_NE(push.out.find("pruning receiver:\n  no filesystems\n"), std::string::npos) << push.out;
    EXPECT_NE(push.out.find("pruning sender:\n  p/a: not pruned: replication cursor"), std::string::npos)
        << push.out;
    auto snap = zferry("run --dry-run snap1 --zfs " ZFS_SIM_BIN);
    EXPECT_EQ(snap.rc, 0) << snap.out << snap.err;
    EXPECT_NE(snap.out.find("manual: no snapshots are taken"), std::string::npos) << snap.out;
    EXPECT_NE(snap.out.find("would destroy p/a@s1\n"), std::string::npos) << snap.out;
    EXPECT_EQ(snap.out.find("would destroy p/a@s2"), std::string::npos) << snap.out;
    EXPECT_EQ(read_file(dir_ / "zfs" / "state"), before) << "a dry run changes nothing on either side";
    auto all = zferry("daemon --dry-run --zfs " ZFS_SIM_BIN);
    EXPECT_EQ(all.rc, 0) << all.out << all.err;
    EXPECT_NE(all.out.find("dry run of job push1 (push)"), std::string::npos) << all.out;
    EXPECT_NE(all.out.find("dry run of job sink1 (sink)"), std::string::npos) << all.out;
    EXPECT_NE(all.out.find("dry run of job snap1 (snap)"), std::string::npos) << all.out;
    EXPECT_FALSE(fs::exists(sockpath())) << "a dry run starts no daemon";
    EXPECT_EQ(read_file(dir_ / "zfs" / "state"), before) << "nor does the daemon's dry run change anything";
    auto refused = zferry("run push1");
    EXPECT_EQ(refused.rc, 2);
    EXPECT_NE(refused.err.find("only --dry-run is supported"), std::string::npos) << refused.err;
    EXPECT_TRUE(no_children());
}

TEST_F(DaemonTest, TheControlSocketRefusesHugeRequestsAndAPublicDirectory) {
    write_config("      type: manual\n");
    start_daemon();
    const fs::path big = dir_ / "big.json";
    std::ofstream(big) << "{\"Name\":\"push1\",\"Op\":\"wakeup\",\"pad\":\"" << std::string(200 * 1024, 'x')
                       << "\"}";
    auto r = sh("curl -sS --unix-socket " + sockpath() + " -o " + (dir_ / "reply").string() +
                    " -w '%{http_code}' -X POST --data-binary @" + big.string() + " http://unix/signal",
                dir_ / "curl.err");
    EXPECT_EQ(r.out, "413") << r.err;
    EXPECT_NE(read_file(dir_ / "reply").find("request too large"), std::string::npos);
    EXPECT_EQ(invocations(push_status()), 0) << "the oversized request changed nothing";
    EXPECT_NE(daemon_log().find("refused a request larger than"), std::string::npos) << daemon_log();
    EXPECT_EQ(stop_daemon(SIGTERM), 0) << daemon_log();

    // A control directory others can enter is refused: whoever connects can reset jobs.
    fs::permissions(dir_ / "run",
                    fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                        fs::perms::others_read | fs::perms::others_exec,
                    fs::perm_options::replace);
    auto refused =
        sh(std::string(ZFERRY_BINARY) + " daemon --zfs " ZFS_SIM_BIN " --config " + config_path().string(),
           dir_ / "cli.err");
    EXPECT_EQ(refused.rc, 1);
    EXPECT_NE(refused.err.find("has mode 0755: it must be private"), std::string::npos) << refused.err;
    EXPECT_TRUE(no_children());
}

TEST_F(DaemonTest, SendBandwidthLimitOfThePushJobBoundsTheTransfer) {
    zfs("destroy -r p/a/b");
    snapshot("p/a", "big", 1'500'000);
    write_config("      type: manual\n");
    {
        // send.bandwidth_limit of the push job: 500 KiB/s with a 64 KiB bucket.
        std::string text = read_file(config_path());
        text.insert(text.find("    pruning:\n"),
                    "    send:\n      bandwidth_limit: {max: \"500 KiB\", bucket_capacity: \"64 KiB\"}\n");
        std::ofstream(config_path()) << text;
    }
    start_daemon();
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(zferry("signal wakeup push1").rc, 0);
    json::value push;
    ASSERT_TRUE(wait_for([&] { return replication_done(push = push_status()); }, 30s))
        << json::serialize(push) << "\n"
        << daemon_log();
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // About 1.5 MB at 500 KiB/s is 2.9 s; generous bounds for a loaded machine.
    EXPECT_GT(took, 2.0) << "the limit held the transfer back";
    EXPECT_LT(took, 20.0);
    EXPECT_EQ(guid("p/a@big"), guid("q/sink/host1/p/a@big"));
    EXPECT_EQ(stop_daemon(SIGTERM), 0) << daemon_log();
    EXPECT_TRUE(no_children());
}

// What `cmake --install` ships: the example configuration is valid, the unit names the daemon.
TEST(DistFiles, TheExampleConfigurationIsValidAndTheUnitStartsTheDaemon) {
    const fs::path dist = fs::path(ZFERRY_SOURCE_DIR) / "dist";
    const fs::path err = fs::temp_directory_path() / ("zferry_dist_err_" + std::to_string(::getpid()));
    auto r = sh(std::string(ZFERRY_BINARY) + " configcheck --what jobs --format json --config " +
                    (dist / "zferry.example.yml").string(),
                err);
    fs::remove(err);
    ASSERT_EQ(r.rc, 0) << r.err;
    boost::system::error_code ec;
    auto jobs = json::parse(r.out, ec);
    ASSERT_FALSE(ec) << r.out;
    ASSERT_EQ(jobs.as_array().size(), 2u);
    EXPECT_EQ(jobs.as_array()[0].at("type"), "push");
    EXPECT_EQ(jobs.as_array()[1].at("type"), "sink");
    const std::string unit = read_file(dist / "zferry.service");
    EXPECT_NE(unit.find("\nExecStart=/usr/local/bin/zferry daemon\n"), std::string::npos) << unit;
    EXPECT_NE(unit.find("\nKillMode=mixed\n"), std::string::npos)
        << "SIGTERM to zferry only, it stops its children";
    EXPECT_NE(unit.find("\nRestart=on-failure\n"), std::string::npos);
    EXPECT_NE(unit.find("\nLimitNOFILE=65536\n"), std::string::npos)
        << "3 descriptors per TLS client: systemd's default 1 024 ends at about 300 clients";
}

TEST_F(DaemonTest, AnInvalidConfigurationIsRefusedNamingFileLineAndKey) {
    {
        std::ofstream out(config_path());
        out << "jobs:\n"
               "  - name: snap1\n"
               "    type: snap\n"
               "    filesystems: {\"p/a\": true}\n"
               "    snapshotting:\n"
               "      type: periodic\n"
               "      prefix: zf_\n"
               "      interval: 10 parsecs\n"
               "    pruning:\n"
               "      keep: []\n";
    }
    auto r =
        sh(std::string(ZFERRY_BINARY) + " daemon --zfs " ZFS_SIM_BIN " --config " + config_path().string(),
           dir_ / "cli.err");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find(config_path().string() + ":8:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("job \"snap1\""), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("snapshotting.interval"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(sockpath())) << "nothing started";
}

TEST_F(DaemonTest, AStdinserverServeWithoutClientIdentitiesIsRefusedNamingTheJob) {
    {
        std::ofstream out(config_path());
        out << "global:\n  control:\n    sockpath: " << sockpath()
            << "\n  serve:\n    stdinserver:\n      sockdir: " << (dir_ / "stdinserver").string()
            << "\n"
               "jobs:\n"
               "  - name: sink2\n"
               "    type: sink\n"
               "    root_fs: q/sink\n"
               "    serve: {type: stdinserver, client_identities: []}\n";
    }
    auto r =
        sh(std::string(ZFERRY_BINARY) + " daemon --zfs " ZFS_SIM_BIN " --config " + config_path().string(),
           dir_ / "cli.err");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("job \"sink2\": serve.client_identities is empty"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(sockpath()));
}

TEST_F(DaemonTest, AMissingRootFsIsRefusedAtStartup) {
    write_config("      type: manual\n");
    zfs("destroy -r q/sink");
    auto r =
        sh(std::string(ZFERRY_BINARY) + " daemon --zfs " ZFS_SIM_BIN " --config " + config_path().string(),
           dir_ / "cli.err");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("job \"sink1\": root_fs \"q/sink\" must exist"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(sockpath()));
}

// The test clock (daemon/jobs/test_clock.hpp) is loud: a file that is not an offset stops the
// daemon before anything starts, naming the variable and the file.
TEST_F(DaemonTest, ATestClockFileThatIsNotAnOffsetIsRefusedAtStartup) {
    write_config("      type: manual\n");
    std::ofstream(dir_ / "clock") << "tomorrow\n";
    auto r = sh("ZFERRY_TEST_CLOCK_FILE=" + (dir_ / "clock").string() + " " + std::string(ZFERRY_BINARY) +
                    " daemon --zfs " ZFS_SIM_BIN " --config " + config_path().string(),
                dir_ / "cli.err");
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("ZFERRY_TEST_CLOCK_FILE is set"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find((dir_ / "clock").string()), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("integer number of seconds"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(sockpath()));
}

}  // namespace
