// `zferry daemon` end to end on real ZFS (zfs-fuse): real daemon processes, configured in zrepl's
// format, replicate between the fixture's two pools for every job kind and transport: push to a
// sink in one daemon (local), push over tcp and over mutual TLS, pull from a source over tcp,
// push over ssh+stdinserver behind an sshd of the test's own, a snap job snapshotting on its
// interval and pruning, a periodic push and a pull from a periodic source that prune both sides
// (rounds driven by a faked clock), `signal reset` in the middle of a step, and each daemon of a
// push (push, sink) and of a pull (pull, source) SIGKILLed in the middle of a step and started
// again. The tests wait on what can be
// observed (the control socket's status, zfs listings) with generous bounds, never on a fixed
// sleep.
//
// Each ends with a verdict: every sender snapshot is on the receiver with the sender's GUID; the
// only holds left are the sender's cursor (zfs-fuse has no bookmarks: a hold plus a property) on
// each filesystem's newest snapshot and the receiver's last-received hold on its newest, and once
// these two are released by their tags nothing is held (no step hold leaked); the daemons stop on
// SIGTERM with exit status 0; no process they started is left (the test process is a child
// subreaper: an orphaned zfs child would become its child).
#include "tests/integration/daemon_process.hpp"
#include "tests/integration/sshd_process.hpp"
#include "tests/platform/zfs_fuse_fixture.hpp"

#include "replication/logic/abstraction_names.hpp"
#include "replication/logic/job_id.hpp"
#include "zfs/hold_ops.hpp"

#include <boost/json.hpp>

#include <sys/prctl.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <regex>
#include <sstream>

namespace zferry::platform {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using test::DaemonProcess;
using test::invocation_finished;
using test::last_attempt_done;
using test::Sshd;
using test::wait_for;

// The processes whose parent is `parent` and whose command is `comm` (any when empty), one
// line each, from /proc.
std::string children_of(pid_t parent, const std::string& comm = {}) {
    std::string out;
    for (const auto& e : fs::directory_iterator("/proc")) {
        const std::string pid = e.path().filename().string();
        if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
        const std::string stat = test::read_file(e.path() / "stat");
        const auto open = stat.find('('), close = stat.rfind(')');
        if (open == std::string::npos || close == std::string::npos) continue;
        char state = 0;
        int ppid = 0;
        if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) != 2 || ppid != parent) continue;
        const std::string name = stat.substr(open + 1, close - open - 1);
        if (!comm.empty() && name != comm) continue;
        std::string cmd = test::read_file(e.path() / "cmdline");
        std::replace(cmd.begin(), cmd.end(), '\0', ' ');
        out += pid + " (" + name + "): " + cmd + "\n";
    }
    return out;
}

class DaemonsOnZfsFuse : public ZfsFuse {
protected:
    void SetUp() override {
        ZfsFuse::SetUp();
        if (HasFatalFailure()) return;
        ::prctl(PR_SET_CHILD_SUBREAPER, 1);
        // Daemon files live apart from the fixture's directory: unix socket paths are short.
        char tmpl[] = "/tmp/zferry-e2e-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        fs::create_directory(dir_ / "run");
        fs::permissions(dir_ / "run", fs::perms::owner_all, fs::perm_options::replace);
        root_ = create(src_fs("root"));
        // The child does not inherit the root's mountpoint, so either can be mounted alone to
        // write into it (zfs-fuse cannot unmount a parent below which a child is mounted).
        child_ = create(root_ + "/a", {"mountpoint=none"});
        sink_ = create(dst_fs("sink"));
    }
    void TearDown() override {
        // Daemons first (SIGKILL if a test left one running), then whatever they left.
        for (auto& [name, d] : daemons_) d.reset();
        sshd_.reset();
        reap_children(10s);
        if (runner_) release_all_holds();  // none when the fixture's setup failed
        ZfsFuse::TearDown();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    // Reaps the children of this process (sshd sessions end with their clients); what is still
    // there after `bound` is killed, and the test fails naming it.
    void reap_children(std::chrono::milliseconds bound) {
        const bool none = wait_for(
            [] {
                int st = 0;
                pid_t r;
                while ((r = ::waitpid(-1, &st, WNOHANG)) > 0) {
                }
                return r < 0 && errno == ECHILD;
            },
            bound);
        if (none) return;
        const std::string left = children_of(::getpid());
        ADD_FAILURE() << "processes left behind (killed now):\n" << left;
        std::istringstream in(left);
        for (std::string line; std::getline(in, line);) ::kill(std::stoi(line), SIGKILL);
        int st = 0;
        while (::waitpid(-1, &st, 0) > 0) {
        }
    }

    // Every job's hold tags released from this test's held snapshots: `destroy -r` refuses
    // held snapshots, and zfs-fuse cannot list hold tags.
    void release_all_holds() {
        const auto held = held_snapshots();
        if (held.empty()) return;
        for (const char* job : {"push1", "sink1", "pull1", "src1"}) {
            const auto id = *replication::JobId::make(job);
            for (const auto& tag : {replication::step_hold_tag(id), replication::last_received_hold_tag(id),
                                    replication::cursor_hold_tag(id)}) {
                auto r = await(zfs::release(*runner_, tag, held));
                EXPECT_TRUE(r.has_value()) << tag << ": " << r.error().message();
            }
        }
    }
    // This test's snapshots on both pools that carry any hold.
    std::vector<std::string> held_snapshots() {
        std::vector<std::string> out;
        for (const auto& pool : {env_.src, env_.dst}) {
            std::istringstream in(ok({"list", "-H", "-o", "name,userrefs", "-t", "snapshot", "-r", pool}));
            for (std::string name, refs; in >> name >> refs;)
                if (name.find(name_) != std::string::npos && refs != "0") out.push_back(name);
        }
        return out;
    }

    // A daemon of this test named `name` (its directory and control socket).
    DaemonProcess& daemon(const std::string& name) {
        auto& d = daemons_[name];
        if (!d) {
            fs::create_directory(dir_ / name);
            fs::permissions(dir_ / name, fs::perms::owner_all, fs::perm_options::replace);
            d = std::make_unique<DaemonProcess>(ZFERRY_BINARY, "zfs", dir_ / name,
                                                (dir_ / "run" / name).string());
        }
        return *d;
    }
    // Writes `jobs` (YAML list items) as the daemon's configuration and starts it, with extra
    // environment and `zferry daemon` options.
    void start(DaemonProcess& d, const std::string& jobs, const std::string& extra_global = {},
               const std::vector<std::string>& env = {}, const std::vector<std::string>& args = {}) {
        std::ofstream(d.config()) << "global:\n  logging:\n    - {type: stdout, level: info, format: human}\n"
                                     "  control:\n    sockpath: "
                                  << d.sockpath() << "\n"
                                  << extra_global << "jobs:\n"
                                  << jobs;
        ASSERT_TRUE(d.start(env, args)) << "the daemon did not start:\n" << d.log();
    }
    // The port a daemon serving tcp or tls on 127.0.0.1:0 says it listens on (from its log).
    int listening_port(DaemonProcess& d) {
        static const std::regex serving("serving on (?:tcp|tls) 127\\.0\\.0\\.1:([0-9]+)");
        std::smatch m;
        std::string log;
        if (!wait_for([&] { return std::regex_search(log = d.log(), m, serving); }, 10s)) {
            ADD_FAILURE() << "the daemon does not say where it listens:\n" << log;
            return -1;
        }
        return std::stoi(m[1]);
    }

    std::string logs() const {
        std::string out;
        for (const auto& [name, d] : daemons_) out += "--- " + name + " daemon:\n" + d->log();
        if (sshd_) out += "--- sshd:\n" + sshd_->log();
        return out;
    }
    // `signal wakeup JOB`, then waits until its invocation `n` finished, which must succeed.
    json::value wakeup_and_finish(DaemonProcess& d, const std::string& job, const std::string& type,
                                  std::int64_t n) {
        auto sig = d.cli("signal wakeup " + job);
        EXPECT_EQ(sig.rc, 0) << sig.err;
        return wait_finished(d, job, type, n);
    }
    // Waits until invocation `n` of the job finished, which must succeed.
    json::value wait_finished(DaemonProcess& d, const std::string& job, const std::string& type,
                              std::int64_t n) {
        json::value j;
        EXPECT_TRUE(wait_for([&] { return invocation_finished(j = d.job_status(job, type), n); }, 120s))
            << "invocation " << n << " of " << job << " did not finish within 120 s: " << json::serialize(j)
            << "\n"
            << logs();
        EXPECT_TRUE(j.is_object() && invocation_finished(j, n) && last_attempt_done(j))
            << "invocation " << n << " of " << job << " failed: " << json::serialize(j) << "\n"
            << logs();
        return j;
    }

    // Writes a small file into `fs` (a different one each time: the next incremental has data).
    void write_some(const std::string& fs, const std::string& what) {
        write_files(fs,
                    {{what, "contents of " + what + " in " + fs + "\n" + incompressible(4096, files_++)}});
    }
    // New data in the root and its child, then one recursive snapshot of both.
    void snapshot_both(const std::string& snap) {
        write_some(root_, snap);
        write_some(child_, snap);
        ok({"snapshot", "-r", root_ + "@" + snap});
    }

    // Verdict, part 1: every snapshot of each sender filesystem is on the receiver under the same
    // name with the same GUID. `pairs`: sender filesystem -> receiver filesystem.
    void expect_replicated(const std::vector<std::pair<std::string, std::string>>& pairs) {
        for (const auto& [src, dst] : pairs) {
            const auto sv = versions(src), dv = versions(dst);
            ASSERT_FALSE(sv.empty()) << src << " has no snapshot";
            std::string wrong;
            for (const auto& s : sv) {
                auto it = std::find_if(dv.begin(), dv.end(), [&](const auto& d) { return d.name == s.name; });
                if (it == dv.end())
                    wrong += " @" + s.name + " is missing;";
                else if (it->guid != s.guid)
                    wrong += " @" + s.name + " has GUID " + std::to_string(it->guid) + ", the sender's is " +
                             std::to_string(s.guid) + ";";
            }
            EXPECT_EQ(wrong, "") << "every snapshot of " << src << " is on the receiver at " << dst
                                 << " with the sender's GUID";
            if (wrong.empty())
                std::cout << "verdict: all " << sv.size() << " snapshot(s) of " << src
                          << " are on the receiver at " << dst << " with the sender's GUIDs\n";
        }
    }
    static zfs::FilesystemVersion newest(const std::vector<zfs::FilesystemVersion>& vs) {
        return *std::max_element(vs.begin(), vs.end(),
                                 [](const auto& a, const auto& b) { return a.createtxg < b.createtxg; });
    }
    // The snapshots of fs that carry holds, "name:count" each.
    std::string holds_on(const std::string& fs) {
        std::string out;
        for (const auto& v : versions(fs))
            if (v.userrefs.value_or(0) > 0)
                out += (out.empty() ? "" : " ") + v.name + ":" + std::to_string(*v.userrefs);
        return out;
    }
    // Verdict, part 2: what a clean run leaves on zfs-fuse, and nothing else. Releases those
    // holds (the test is over).
    void expect_only_cursor_and_last_received(const std::vector<std::pair<std::string, std::string>>& pairs,
                                              const std::string& sender_job,
                                              const std::string& receiver_job) {
        const auto sj = *replication::JobId::make(sender_job);
        const auto rj = *replication::JobId::make(receiver_job);
        for (const auto& [src, dst] : pairs) {
            const auto s = newest(versions(src)), d = newest(versions(dst));
            EXPECT_EQ(holds_on(src), s.name + ":1")
                << "on the sender, only the newest replicated snapshot of " << src << " is held (the cursor)";
            EXPECT_EQ(prop(src, replication::cursor_property_name(sj)), std::to_string(s.guid))
                << "the cursor property of " << src << " names its newest snapshot's GUID";
            EXPECT_EQ(holds_on(dst), d.name + ":1")
                << "on the receiver, only the newest snapshot of " << dst << " is held (last received)";
            auto r = zfs({"release", replication::cursor_hold_tag(sj), s.full_name()});
            EXPECT_TRUE(r.ok()) << "the sender's hold is the cursor: " << r.describe();
            r = zfs({"release", replication::last_received_hold_tag(rj), d.full_name()});
            EXPECT_TRUE(r.ok()) << "the receiver's hold is the last-received hold: " << r.describe();
            EXPECT_EQ(holds_on(src), "") << "no other hold is left on " << src << " (no step hold leaked)";
            EXPECT_EQ(holds_on(dst), "") << "no other hold is left on " << dst;
            if (!HasFailure())
                std::cout << "verdict: the only holds were the cursor " << replication::cursor_hold_tag(sj)
                          << " on " << s.full_name() << " and " << replication::last_received_hold_tag(rj)
                          << " on " << d.full_name()
                          << "; released by tag, nothing is held (no step hold leaked)\n";
        }
    }
    // Verdict, part 3: the daemons stop on SIGTERM with exit status 0 and leave no process.
    void expect_clean_stop(const std::vector<std::string>& names) {
        for (const auto& n : names) {
            auto& d = daemon(n);
            const std::string zfs_left = children_of(d.pid(), "zfs");
            EXPECT_EQ(zfs_left, "") << "the " << n << " daemon runs no zfs child while idle";
            EXPECT_EQ(d.stop(SIGTERM), 0) << "the " << n << " daemon stops cleanly:\n" << d.log();
        }
        if (sshd_) sshd_->stop();
        // sshd's session processes end with their ssh clients; anything else left fails here.
        reap_children(10s);
        if (!HasFailure())
            std::cout
                << "verdict: " << names.size()
                << " daemon(s) stopped on SIGTERM with exit status 0, no zfs child or other process left\n";
    }

    // The sink's and push job's YAML for the local transport (one daemon).
    std::string push_job(const std::string& connect, const std::string& extra = {}) const {
        return "  - name: push1\n    type: push\n    connect:\n" + connect + "    filesystems: {\"" + root_ +
               "<\": true}\n    snapshotting: {type: manual}\n" + extra +
               "    pruning:\n"
               "      keep_sender: [{type: not_replicated}, {type: last_n, count: 10}]\n"
               "      keep_receiver: [{type: last_n, count: 10}]\n";
    }
    std::string sink_job(const std::string& serve) const {
        return "  - name: sink1\n    type: sink\n    root_fs: " + sink_ +
               "\n    recv: {placeholder: {encryption: inherit}}\n    serve:\n" + serve;
    }
    // Where a push by `identity` lands on the sink.
    std::vector<std::pair<std::string, std::string>> pushed_to(const std::string& identity) const {
        return {{root_, sink_ + "/" + identity + "/" + root_},
                {child_, sink_ + "/" + identity + "/" + child_}};
    }
    // Where a pull lands (no identity component).
    std::vector<std::pair<std::string, std::string>> pulled_to() const {
        return {{root_, sink_ + "/" + root_}, {child_, sink_ + "/" + child_}};
    }
    // The receiver's filesystems exist only once received: the teardown destroys them with sink_.

    // A CA and two certificates from the openssl CLI in dir_/certs: the sink's (CN sink.test)
    // and its client's (CN host1).
    void make_certs() {
        fs::create_directory(dir_ / "certs");
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
        const std::string cmd =
            "bash " + (dir_ / "certs.sh").string() + " " + (dir_ / "certs").string() + " >/dev/null 2>&1";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << "the openssl CLI could not make the certificates";
    }
    std::string cert(const std::string& file) const { return (dir_ / "certs" / file).string(); }

    // The wall clock of the daemons started with clock_env(): the system clock plus `offset`
    // seconds. The file is replaced whole, so a daemon never reads it half-written.
    void set_clock(std::int64_t offset) {
        std::ofstream(dir_ / "clock.new") << offset << "\n";
        fs::rename(dir_ / "clock.new", dir_ / "clock");
    }
    std::vector<std::string> clock_env() const {
        return {"ZFERRY_TEST_CLOCK_FILE=" + (dir_ / "clock").string()};
    }
    // The snapshotter looks at the (faked) clock every 200 ms instead of every minute.
    static std::vector<std::string> fast_snapshotter() { return {"--snapshot-max-sleep-ms", "200"}; }
    // Periodic snapshots every 10 minutes of the faked clock: a round exactly when the test moves
    // the clock by an interval (and one at start: nothing to sync up with). Pruning deletes on
    // both sides: the sender keeps what is not replicated and its last 2, the receiver its last 3.
    static std::string periodic_and_pruning() {
        return "    snapshotting: {type: periodic, interval: 10m, prefix: zf_}\n"
               "    pruning:\n"
               "      keep_sender: [{type: not_replicated}, {type: last_n, count: 2, regex: \"^zf_\"}]\n"
               "      keep_receiver: [{type: last_n, count: 3, regex: \"^zf_\"}]\n";
    }
    // Round `round` (from 2 on) of a periodic job: new data in both filesystems, then the faked
    // clock one interval further than the round before.
    void next_round(int round) {
        write_some(root_, "round" + std::to_string(round));
        write_some(child_, "round" + std::to_string(round));
        set_clock(std::int64_t{600} * (round - 1));
    }
    // The snapshot names of fs, oldest first.
    std::vector<std::string> names_by_txg(const std::string& fs) {
        auto vs = versions(fs);
        std::sort(vs.begin(), vs.end(),
                  [](const auto& a, const auto& b) { return a.createtxg < b.createtxg; });
        return names(vs);
    }
    // What a periodic round left on the sender: its snapshot (the same name on both filesystems,
    // the newest of each) appended to `taken`, each one's GUID in `guids` (by full name).
    void record_round(std::vector<std::string>& taken, std::map<std::string, std::uint64_t>& guids) {
        const auto rv = versions(root_), cv = versions(child_);
        ASSERT_FALSE(rv.empty() || cv.empty());
        const auto r = newest(rv), c = newest(cv);
        EXPECT_EQ(r.name, c.name) << "one round, one name on both filesystems";
        ASSERT_TRUE(taken.empty() || taken.back() != r.name)
            << "round " << taken.size() + 1 << " took no snapshot";
        taken.push_back(r.name);
        guids[r.full_name()] = r.guid;
        guids[c.full_name()] = c.guid;
    }
    // After the rounds in `taken`: exactly the last 2 on the sender, the last 3 on the receiver,
    // each with the GUID the sender's had.
    void expect_pruned(const std::vector<std::pair<std::string, std::string>>& pairs,
                       const std::vector<std::string>& taken,
                       const std::map<std::string, std::uint64_t>& guids) {
        const std::vector<std::string> sender_keeps(taken.end() - 2, taken.end());
        const std::vector<std::string> receiver_keeps(taken.end() - 3, taken.end());
        auto joined = [](const std::vector<std::string>& v) {
            std::string out;
            for (const auto& n : v) out += (out.empty() ? "" : " ") + n;
            return out;
        };
        for (const auto& [src, dst] : pairs) {
            EXPECT_EQ(joined(names_by_txg(src)), joined(sender_keeps))
                << "after " << taken.size() << " rounds the sender " << src << " keeps its last 2";
            EXPECT_EQ(joined(names_by_txg(dst)), joined(receiver_keeps))
                << "after " << taken.size() << " rounds the receiver " << dst << " keeps its last 3";
            for (const auto& v : versions(dst)) {
                const auto it = guids.find(src + "@" + v.name);
                ASSERT_NE(it, guids.end()) << dst << "@" << v.name << " was never a snapshot of " << src;
                EXPECT_EQ(v.guid, it->second) << dst << "@" << v.name << " has the sender's GUID";
            }
            if (!HasFailure())
                std::cout << "verdict: after " << taken.size() << " rounds, " << src << " keeps "
                          << joined(names_by_txg(src)) << " and " << dst << " keeps "
                          << joined(names_by_txg(dst)) << " (GUIDs as the sender's); " << taken.size() - 2
                          << " and " << taken.size() - 3 << " pruned\n";
        }
    }
    // The root's step in the last attempt of a push or pull job's status (null before it is
    // planned).
    json::value root_step(const json::value& j) const {
        if (!j.is_object() || j.at("Replication").is_null()) return nullptr;
        const auto& attempts = j.at("Replication").at("Attempts").as_array();
        if (attempts.empty()) return nullptr;
        for (const auto& f : attempts.back().at("Filesystems").as_array())
            if (f.at("Info").at("Name") == json::value(root_) && !f.at("Steps").as_array().empty())
                return f.at("Steps").as_array()[0].at("Info");
        return nullptr;
    }
    static void expect_pruning_done(const json::value& j) {
        EXPECT_EQ(j.at("PruningSender").at("State"), "Done") << json::serialize(j);
        EXPECT_EQ(j.at("PruningReceiver").at("State"), "Done") << json::serialize(j);
    }

    fs::path dir_;
    std::string root_, child_, sink_;
    std::map<std::string, std::unique_ptr<DaemonProcess>> daemons_;
    std::unique_ptr<Sshd> sshd_;
    std::uint64_t files_ = 1;
};

TEST_F(DaemonsOnZfsFuse, LocalPushToASinkInOneDaemonInitialThenIncrementalAfterWakeup) {
    snapshot_both("s1");
    auto& d = daemon("local");
    start(d, push_job("      type: local\n      listener_name: backup\n      client_identity: host1\n") +
                 sink_job("      type: local\n      listener_name: backup\n"));
    auto push = wakeup_and_finish(d, "push1", "push", 1);
    expect_replicated(pushed_to("host1"));

    snapshot_both("s2");
    snapshot_both("s3");
    push = wakeup_and_finish(d, "push1", "push", 2);
    EXPECT_EQ(json::serialize(push.at("PruningSender").at("State")), "\"Done\"") << json::serialize(push);
    EXPECT_EQ(json::serialize(push.at("PruningReceiver").at("State")), "\"Done\"") << json::serialize(push);
    expect_replicated(pushed_to("host1"));
    expect_clean_stop({"local"});
    expect_only_cursor_and_last_received(pushed_to("host1"), "push1", "sink1");
}

TEST_F(DaemonsOnZfsFuse, PushOverTcpToASinkDaemonLandsBelowTheClientsIdentityThenIncrementally) {
    snapshot_both("s1");
    auto& sink = daemon("sink");
    start(sink, sink_job("      type: tcp\n      listen: \"127.0.0.1:0\"\n"
                         "      clients: {\"127.0.0.1\": \"host1\"}\n"));
    const int port = listening_port(sink);
    ASSERT_GT(port, 0);
    auto& push = daemon("push");
    start(push, push_job("      type: tcp\n      address: \"127.0.0.1:" + std::to_string(port) + "\"\n"));
    wakeup_and_finish(push, "push1", "push", 1);
    expect_replicated(pushed_to("host1"));

    snapshot_both("s2");
    snapshot_both("s3");
    wakeup_and_finish(push, "push1", "push", 2);
    expect_replicated(pushed_to("host1"));
    EXPECT_NE(sink.log().find("client=host1"), std::string::npos) << "the sink names its client:\n"
                                                                  << sink.log();
    expect_clean_stop({"push", "sink"});
    expect_only_cursor_and_last_received(pushed_to("host1"), "push1", "sink1");
}

TEST_F(DaemonsOnZfsFuse, PullFromASourceDaemonOverTcpInitialThenIncrementalAfterWakeup) {
    snapshot_both("s1");
    auto& source = daemon("source");
    start(source,
          "  - name: src1\n    type: source\n    serve:\n      type: tcp\n"
          "      listen: \"127.0.0.1:0\"\n      clients: {\"127.0.0.1\": \"puller\"}\n"
          "    filesystems: {\"" +
              root_ + "<\": true}\n    snapshotting: {type: manual}\n");
    const int port = listening_port(source);
    ASSERT_GT(port, 0);
    auto& pull = daemon("pull");
    start(pull,
          "  - name: pull1\n    type: pull\n    connect:\n      type: tcp\n      address: \"127.0.0.1:" +
              std::to_string(port) + "\"\n    root_fs: " + sink_ +
              "\n    interval: manual\n    recv: {placeholder: {encryption: inherit}}\n"
              "    pruning:\n"
              "      keep_sender: [{type: not_replicated}, {type: last_n, count: 10}]\n"
              "      keep_receiver: [{type: last_n, count: 10}]\n");
    auto j = pull.job_status("pull1", "pull");
    ASSERT_TRUE(j.is_object()) << pull.log();
    EXPECT_EQ(j.at("Invocations"), 0) << "interval: manual waits for the signal";
    wakeup_and_finish(pull, "pull1", "pull", 1);
    expect_replicated(pulled_to());

    snapshot_both("s2");
    snapshot_both("s3");
    wakeup_and_finish(pull, "pull1", "pull", 2);
    expect_replicated(pulled_to());
    expect_clean_stop({"pull", "source"});
    expect_only_cursor_and_last_received(pulled_to(), "src1", "pull1");
}

TEST_F(DaemonsOnZfsFuse, PushOverSshStdinserverThroughARealSshdThenIncrementally) {
    snapshot_both("s1");
    auto& sink = daemon("sink");
    const std::string sockdir = (dir_ / "run" / "stdinserver").string();
    start(sink, sink_job("      type: stdinserver\n      client_identities: [client1]\n"),
          "  serve:\n    stdinserver:\n      sockdir: " + sockdir + "\n");
    ASSERT_TRUE(wait_for([&] { return sink.log().find("serving on stdinserver") != std::string::npos; }, 10s))
        << sink.log();
    sshd_ = std::make_unique<Sshd>(dir_ / "ssh");
    ASSERT_TRUE(sshd_->start(std::string(ZFERRY_BINARY) + " stdinserver --config " + sink.config().string() +
                             " client1"))
        << "sshd did not start:\n"
        << sshd_->log();
    auto& push = daemon("push");
    start(push, push_job("      type: ssh+stdinserver\n      host: 127.0.0.1\n      user: " + sshd_->user() +
                         "\n      port: " + std::to_string(sshd_->port()) +
                         "\n      identity_file: " + sshd_->client_key().string() +
                         "\n      options: [\"UserKnownHostsFile=" + sshd_->known_hosts().string() +
                         "\", \"StrictHostKeyChecking=yes\"]\n      dial_timeout: 10s\n"));
    wakeup_and_finish(push, "push1", "push", 1);
    expect_replicated(pushed_to("client1"));

    snapshot_both("s2");
    snapshot_both("s3");
    wakeup_and_finish(push, "push1", "push", 2);
    expect_replicated(pushed_to("client1"));
    EXPECT_NE(sink.log().find("client=client1"), std::string::npos)
        << "the identity is the one authorized_keys forces:\n"
        << sink.log();
    expect_clean_stop({"push", "sink"});
    expect_only_cursor_and_last_received(pushed_to("client1"), "push1", "sink1");
}

TEST_F(DaemonsOnZfsFuse, ASnapJobSnapshotsOnItsIntervalWithItsPrefixAndPrunesByItsKeepRules) {
    write_some(root_, "old");
    ok({"snapshot", "-r", root_ + "@zf_old"});  // older than any round: pruned by last_n
    ok({"snapshot", root_ + "@keepme"});        // kept by the regex rule
    auto& d = daemon("snap");
    start(d, "  - name: snap1\n    type: snap\n    filesystems: {\"" + root_ +
                 "<\": true}\n    snapshotting: {type: periodic, prefix: zf_, interval: 2s}\n"
                 "    pruning:\n      keep:\n"
                 "        - {type: last_n, count: 2, regex: \"^zf_\"}\n"
                 "        - {type: regex, regex: \"^keepme$\"}\n");
    // A consistent view: the job waits after its third round or a later one, pruning done, and
    // its status did not change while the snapshots were listed.
    json::value j;
    std::vector<zfs::FilesystemVersion> rv, cv;
    ASSERT_TRUE(wait_for(
        [&] {
            auto before = d.job_status("snap1", "snap");
            if (!before.is_object() || before.at("Invocations").to_number<std::int64_t>() < 3 ||
                before.at("State") != "waiting" || before.at("Pruning").is_null() ||
                before.at("Pruning").at("State") != "Done" || before.at("Snapshotting").is_null() ||
                before.at("Snapshotting").at("state") != "waiting")
                return false;
            rv = versions(root_);
            cv = versions(child_);
            j = d.job_status("snap1", "snap");
            return json::serialize(before) == json::serialize(j);
        },
        120s))
        << json::serialize(j) << "\n"
        << d.log();
    const auto& snapshotting = j.at("Snapshotting");
    EXPECT_EQ(snapshotting.at("next_run_unix").to_number<std::int64_t>() -
                  snapshotting.at("last_run_started_unix").to_number<std::int64_t>(),
              2)
        << "the next round is one interval after the last: " << json::serialize(snapshotting);
    // The last round's snapshot, the same name on both filesystems.
    const auto& round = snapshotting.at("filesystems").as_array();
    ASSERT_EQ(round.size(), 2u) << json::serialize(snapshotting);
    const std::string last = json::value_to<std::string>(round[0].at("snapshot"));
    static const std::regex prefixed("zf_[0-9]{8}_[0-9]{6}_[0-9]{3}");
    EXPECT_TRUE(std::regex_match(last, prefixed)) << last << ": the configured prefix and zrepl's timestamp";
    for (const auto& f : round) {
        EXPECT_EQ(json::value_to<std::string>(f.at("snapshot")), last) << json::serialize(f);
        EXPECT_EQ(f.at("state"), "done") << json::serialize(f);
    }
    // What the keep rules leave: the two newest zf_ snapshots (both taken by the job), keepme on
    // the root; zf_old is gone.
    auto describe = [](std::vector<zfs::FilesystemVersion> vs) {
        std::sort(vs.begin(), vs.end(),
                  [](const auto& a, const auto& b) { return a.createtxg < b.createtxg; });
        std::string out;
        for (const auto& v : vs) out += (out.empty() ? "" : " ") + v.name;
        return out;
    };
    for (const auto* vs : {&rv, &cv}) {
        const bool is_root = vs == &rv;
        std::vector<zfs::FilesystemVersion> zf;
        for (const auto& v : *vs)
            if (v.name.rfind("zf_", 0) == 0) zf.push_back(v);
        ASSERT_EQ(zf.size(), 2u) << "last_n 2 keeps two zf_ snapshots: " << describe(*vs);
        const auto by_txg = [](const auto& a, const auto& b) { return a.createtxg < b.createtxg; };
        std::sort(zf.begin(), zf.end(), by_txg);
        EXPECT_EQ(zf[1].name, last) << "the newest is the last round's: " << describe(*vs);
        EXPECT_TRUE(std::regex_match(zf[0].name, prefixed))
            << "the older one was taken by the job too, not zf_old: " << describe(*vs);
        EXPECT_LT(zf[0].name, zf[1].name) << "taken at two rounds: " << describe(*vs);
        std::vector<zfs::FilesystemVersion> rest;
        for (const auto& v : *vs)
            if (v.name.rfind("zf_", 0) != 0) rest.push_back(v);
        EXPECT_EQ(describe(rest), is_root ? "keepme" : "")
            << "the regex rule keeps keepme; nothing else stays";
        std::cout << "verdict: after " << j.at("Invocations").to_number<std::int64_t>()
                  << " rounds 2 s apart, " << (is_root ? root_ : child_) << " keeps " << describe(*vs)
                  << "\n";
    }
    expect_clean_stop({"snap"});
    EXPECT_EQ(holds_on(root_) + holds_on(child_), "") << "a snap job holds nothing";
}

// zfs-fuse cannot resume a receive (no `recv -s`): the reset step is sent again from its first
// byte by the next run.
TEST_F(DaemonsOnZfsFuse, ResetInTheMiddleOfALargeStepThenWakeupReplicatesCleanlyFromTheStart) {
    constexpr std::uint64_t big = 24ull << 20;
    write_files(root_, {{"big", incompressible(big, 7)}});
    write_some(child_, "small");
    ok({"snapshot", "-r", root_ + "@big"});
    auto& d = daemon("local");
    // 24 MiB at 4 MiB/s: about 6 s of transfer, so bytes are surely moving when the reset comes.
    start(d, push_job("      type: local\n      listener_name: backup\n      client_identity: host1\n",
                      "    send:\n      bandwidth_limit: {max: \"4 MiB\", bucket_capacity: \"256 KiB\"}\n") +
                 sink_job("      type: local\n      listener_name: backup\n"));
    auto moved = [&](const json::value& step) {
        return step.is_object() ? step.at("BytesReplicated").to_number<std::uint64_t>() : 0;
    };
    ASSERT_EQ(d.cli("signal wakeup push1").rc, 0);
    json::value j;
    ASSERT_TRUE(
        wait_for([&] { return moved(root_step(j = d.job_status("push1", "push"))) >= (1u << 20); }, 60s))
        << json::serialize(j) << "\n"
        << d.log();
    const auto at_reset = moved(root_step(j));
    EXPECT_LT(at_reset, big / 2) << "the reset comes mid-transfer";
    EXPECT_EQ(j.at("State"), "replicating");
    auto reset = d.cli("signal reset push1");
    ASSERT_EQ(reset.rc, 0) << reset.err;
    ASSERT_TRUE(wait_for(
        [&] {
            j = d.job_status("push1", "push");
            return j.is_object() && j.at("State") == "waiting";
        },
        60s))
        << json::serialize(j) << "\n"
        << d.log();
    EXPECT_FALSE(j.at("Replication").at("FinishAt").is_null()) << "the reset run's report is final";
    EXPECT_NE(j.at("Replication").at("Attempts").as_array().back().at("State"), "done") << json::serialize(j);
    EXPECT_LT(moved(root_step(j)), big) << json::serialize(j);
    EXPECT_EQ(children_of(d.pid(), "zfs"), "") << "the step's zfs send and recv are stopped and reaped";
    // The cut full receive leaves nothing on zfs-fuse (it discards it once the pipe closes).
    const std::string target = sink_ + "/host1/" + root_;
    EXPECT_TRUE(wait_for(
        [&] {
            return !zfs({"list", "-H", "-o", "name", target + "@big"}).ok();
        },
        30s))
        << target << "@big exists after the reset";

    j = wakeup_and_finish(d, "push1", "push", 2);
    const auto step = root_step(j);
    ASSERT_TRUE(step.is_object()) << json::serialize(j);
    EXPECT_EQ(step.at("Resumed"), false) << "zfs-fuse cannot resume: the step restarts";
    EXPECT_GE(moved(step), big) << "the whole stream is sent again: " << json::serialize(step);
    std::cout << "verdict: reset after " << at_reset << " of about " << big << " bytes; the next run sent "
              << moved(step) << " bytes from the start (zfs-fuse cannot resume)\n";
    expect_replicated(pushed_to("host1"));
    const auto files = read_snapshot(target + "@big");
    EXPECT_TRUE(files.count("big") && files.at("big") == incompressible(big, 7)) << "the data arrived intact";
    expect_clean_stop({"local"});
    expect_only_cursor_and_last_received(pushed_to("host1"), "push1", "sink1");
}

TEST_F(DaemonsOnZfsFuse, PushOverMutualTlsToASinkDaemonLandsBelowTheCertificatesCnThenIncrementally) {
    make_certs();
    if (HasFatalFailure()) return;
    snapshot_both("s1");
    auto& sink = daemon("sink");
    start(sink, sink_job("      type: tls\n      listen: \"127.0.0.1:0\"\n      ca: " + cert("ca.crt") +
                         "\n      cert: " + cert("sink.test.crt") + "\n      key: " + cert("sink.test.key") +
                         "\n      client_cns: [host1]\n"));
    const int port = listening_port(sink);
    ASSERT_GT(port, 0);
    auto& push = daemon("push");
    start(push, push_job("      type: tls\n      address: \"127.0.0.1:" + std::to_string(port) +
                         "\"\n      ca: " + cert("ca.crt") + "\n      cert: " + cert("host1.crt") +
                         "\n      key: " + cert("host1.key") + "\n      server_cn: sink.test\n"));
    wakeup_and_finish(push, "push1", "push", 1);
    expect_replicated(pushed_to("host1"));

    snapshot_both("s2");
    snapshot_both("s3");
    const auto j = wakeup_and_finish(push, "push1", "push", 2);
    const auto step = root_step(j);
    ASSERT_TRUE(step.is_object()) << json::serialize(j);
    EXPECT_EQ(step.at("From"), "@s1")
        << "incremental from the last replicated snapshot: " << json::serialize(step);
    EXPECT_EQ(step.at("To"), "@s3") << json::serialize(step);
    expect_replicated(pushed_to("host1"));
    EXPECT_NE(sink.log().find("client=host1"), std::string::npos)
        << "the identity is the client certificate's CN:\n"
        << sink.log();
    expect_clean_stop({"push", "sink"});
    expect_only_cursor_and_last_received(pushed_to("host1"), "push1", "sink1");
}

// Pruning that deletes on both sides of a push over tcp. The push job snapshots periodically on a
// faked clock the test moves by one interval per round, so every round (snapshot, replication,
// pruning of the sender, then of the sink) happens when the test says. After 5 rounds the sender
// keeps its last 2, the sink its last 3; a sixth round still replicates incrementally from what
// pruning left (the cursor's snapshot was not pruned).
TEST_F(DaemonsOnZfsFuse, PushWithPeriodicSnapshotsPrunesBothSidesAndTheNextRoundIsStillIncremental) {
    set_clock(0);
    auto& sink = daemon("sink");
    start(sink, sink_job("      type: tcp\n      listen: \"127.0.0.1:0\"\n"
                         "      clients: {\"127.0.0.1\": \"host1\"}\n"));
    const int port = listening_port(sink);
    ASSERT_GT(port, 0);
    auto& push = daemon("push");
    start(push,
          "  - name: push1\n    type: push\n    connect:\n      type: tcp\n      address: \"127.0.0.1:" +
              std::to_string(port) + "\"\n    filesystems: {\"" + root_ + "<\": true}\n" +
              periodic_and_pruning(),
          {}, clock_env(), fast_snapshotter());
    std::vector<std::string> taken;
    std::map<std::string, std::uint64_t> guids;
    json::value j;
    for (int round = 1; round <= 6; ++round) {
        if (round > 1) next_round(round);
        j = wait_finished(push, "push1", "push", round);
        ASSERT_FALSE(HasFailure()) << "round " << round;
        EXPECT_EQ(j.at("Invocations"), round) << "one invocation per snapshot round";
        expect_pruning_done(j);
        record_round(taken, guids);
        ASSERT_FALSE(HasFailure()) << "round " << round;
        if (round == 5) expect_pruned(pushed_to("host1"), taken, guids);
    }
    // Round 6 went from round 5's snapshot, which both sides kept.
    const auto step = root_step(j);
    ASSERT_TRUE(step.is_object()) << json::serialize(j);
    EXPECT_EQ(step.at("From"), json::value("@" + taken[4]))
        << "incremental after pruning: " << json::serialize(step);
    EXPECT_EQ(step.at("To"), json::value("@" + taken[5])) << json::serialize(step);
    expect_pruned(pushed_to("host1"), taken, guids);
    expect_replicated(pushed_to("host1"));
    expect_clean_stop({"push", "sink"});
    expect_only_cursor_and_last_received(pushed_to("host1"), "push1", "sink1");
}

// The same for a pull from a source daemon over tcp: the source snapshots periodically on the
// faked clock, the pull job (interval: manual) replicates on `signal wakeup` and prunes the source
// and its own side.
TEST_F(DaemonsOnZfsFuse, PullFromAPeriodicSourcePrunesBothSidesAndTheNextRoundIsStillIncremental) {
    set_clock(0);
    auto& source = daemon("source");
    start(source,
          "  - name: src1\n    type: source\n    serve:\n      type: tcp\n"
          "      listen: \"127.0.0.1:0\"\n      clients: {\"127.0.0.1\": \"puller\"}\n"
          "    filesystems: {\"" +
              root_ + "<\": true}\n    snapshotting: {type: periodic, interval: 10m, prefix: zf_}\n",
          {}, clock_env(), fast_snapshotter());
    const int port = listening_port(source);
    ASSERT_GT(port, 0);
    auto& pull = daemon("pull");
    std::string pruning = periodic_and_pruning();
    pruning = pruning.substr(pruning.find("    pruning:"));
    start(pull,
          "  - name: pull1\n    type: pull\n    connect:\n      type: tcp\n      address: \"127.0.0.1:" +
              std::to_string(port) + "\"\n    root_fs: " + sink_ +
              "\n    interval: manual\n    recv: {placeholder: {encryption: inherit}}\n" + pruning);
    // The source's snapshotter finished a round other than the one named `previous`.
    auto source_round = [&](const std::string& previous) {
        std::string name;
        json::value snapper;
        const bool done = wait_for(
            [&] {
                snapper = source.job_status("src1", "source");
                if (!snapper.is_object() || snapper.at("Snapper").is_null()) return false;
                const auto& s = snapper.at("Snapper");
                if (s.at("state") != "waiting") return false;
                const auto& round = s.at("filesystems").as_array();
                if (round.size() != 2) return false;
                for (const auto& f : round)
                    if (f.at("state") != "done" || f.at("snapshot") == json::value(previous)) return false;
                name = json::value_to<std::string>(round[0].at("snapshot"));
                return true;
            },
            60s);
        EXPECT_TRUE(done) << "the source took no new snapshot: " << json::serialize(snapper) << "\n"
                          << logs();
        return name;
    };
    std::vector<std::string> taken;
    std::map<std::string, std::uint64_t> guids;
    json::value j;
    std::string last;
    for (int round = 1; round <= 6; ++round) {
        if (round > 1) next_round(round);
        last = source_round(last);
        ASSERT_FALSE(HasFailure()) << "round " << round;
        j = wakeup_and_finish(pull, "pull1", "pull", round);
        ASSERT_FALSE(HasFailure()) << "round " << round;
        expect_pruning_done(j);
        record_round(taken, guids);
        ASSERT_FALSE(HasFailure()) << "round " << round;
        EXPECT_EQ(taken.back(), last) << "the pull replicated the source's newest round";
        if (round == 5) expect_pruned(pulled_to(), taken, guids);
    }
    const auto step = root_step(j);
    ASSERT_TRUE(step.is_object()) << json::serialize(j);
    EXPECT_EQ(step.at("From"), json::value("@" + taken[4]))
        << "incremental after pruning: " << json::serialize(step);
    EXPECT_EQ(step.at("To"), json::value("@" + taken[5])) << json::serialize(step);
    expect_pruned(pulled_to(), taken, guids);
    expect_replicated(pulled_to());
    expect_clean_stop({"pull", "source"});
    expect_only_cursor_and_last_received(pulled_to(), "src1", "pull1");
}

// Issue 13's daemon kills on zfs-fuse: a daemon SIGKILLed in the middle of a 24 MiB step and
// started again. zfs-fuse cannot resume a receive, so the step starts again from its first byte
// (the bytes sent twice are in the verdict line); the snapshot must arrive intact, and no hold
// of the killed step may be left behind.
class DaemonKilledMidStepOnZfsFuse : public DaemonsOnZfsFuse {
protected:
    static constexpr std::uint64_t big = 24ull << 20;

    void SetUp() override {
        DaemonsOnZfsFuse::SetUp();
        if (HasFatalFailure()) return;
        write_files(root_, {{"big", incompressible(big, 11)}});
        write_some(child_, "small");
        ok({"snapshot", "-r", root_ + "@big"});
    }

    // A push to a sink, or (pull_) a pull from a source: the daemons' and jobs' names.
    bool pull_ = false;
    std::string active() const { return pull_ ? "pull" : "push"; }
    std::string active_job() const { return pull_ ? "pull1" : "push1"; }
    std::string passive() const { return pull_ ? "source" : "sink"; }
    std::string passive_job() const { return pull_ ? "src1" : "sink1"; }
    std::vector<std::pair<std::string, std::string>> landing() const {
        return pull_ ? pulled_to() : pushed_to("host1");
    }
    static std::string limit() {
        return "    send:\n      bandwidth_limit: {max: \"4 MiB\", bucket_capacity: \"256 KiB\"}\n";
    }
    // The passive daemon on 127.0.0.1:`port` (0: any; a restarted one takes the port it had).
    // A source sends at 4 MiB/s: about 6 s for the big step, so bytes surely move when the kill
    // comes.
    int start_passive(int port) {
        const std::string listen = "      listen: \"127.0.0.1:" + std::to_string(port) + "\"\n";
        if (pull_)
            start(daemon("source"), "  - name: src1\n    type: source\n    serve:\n      type: tcp\n" +
                                        listen +
                                        "      clients: {\"127.0.0.1\": \"puller\"}\n    filesystems: {\"" +
                                        root_ + "<\": true}\n    snapshotting: {type: manual}\n" + limit());
        else
            start(daemon("sink"),
                  sink_job("      type: tcp\n" + listen + "      clients: {\"127.0.0.1\": \"host1\"}\n"));
        return listening_port(daemon(passive()));
    }
    // The active daemon (a push sends at 4 MiB/s).
    void start_active(int port) {
        const std::string connect =
            "      type: tcp\n      address: \"127.0.0.1:" + std::to_string(port) + "\"\n";
        if (pull_)
            start(daemon("pull"),
                  "  - name: pull1\n    type: pull\n    connect:\n" + connect + "    root_fs: " + sink_ +
                      "\n    interval: manual\n    recv: {placeholder: {encryption: inherit}}\n"
                      "    pruning:\n"
                      "      keep_sender: [{type: not_replicated}, {type: last_n, count: 10}]\n"
                      "      keep_receiver: [{type: last_n, count: 10}]\n");
        else
            start(daemon("push"), push_job(connect, limit()));
    }
    json::value active_status() { return daemon(active()).job_status(active_job(), active()); }
    static std::uint64_t moved(const json::value& step) {
        return step.is_object() ? step.at("BytesReplicated").to_number<std::uint64_t>() : 0;
    }
    // Wakes the active job up and waits until its root step moved 1 MiB; the bytes moved then.
    std::uint64_t wakeup_and_wait_for_bytes() {
        EXPECT_EQ(daemon(active()).cli("signal wakeup " + active_job()).rc, 0);
        json::value j;
        EXPECT_TRUE(wait_for([&] { return moved(root_step(j = active_status())) >= (1u << 20); }, 60s))
            << json::serialize(j) << "\n"
            << logs();
        const auto at = moved(root_step(j));
        EXPECT_LT(at, big / 2) << "the kill comes mid-transfer";
        return at;
    }
    // After a kill: the killed daemon's zfs children (now this process's: it is a subreaper) end
    // once their pipe's other end is gone, the surviving daemon stops its own, and zfs-fuse
    // discards the cut full receive.
    void wait_for_the_cut_receive_to_go(const std::string& survivor) {
        EXPECT_TRUE(wait_for(
            [&] {
                int st = 0;
                while (::waitpid(-1, &st, WNOHANG) > 0) {
                }
                return children_of(::getpid(), "zfs").empty();
            },
            30s))
            << "the killed daemon's zfs children did not end:\n"
            << children_of(::getpid(), "zfs");
        EXPECT_TRUE(wait_for([&] { return children_of(daemon(survivor).pid(), "zfs").empty(); }, 30s))
            << "the " << survivor
            << " daemon stopped its zfs child: " << children_of(daemon(survivor).pid(), "zfs");
        const std::string target = landing()[0].second + "@big";
        EXPECT_TRUE(wait_for(
            [&] {
                return !zfs({"list", "-H", "-o", "name", target}).ok();
            },
            30s))
            << target << " exists after the cut";
    }
    // A restarted daemon replaces the killed one's control socket: true once it answers.
    bool answers(const std::string& name, const std::string& job, const std::string& type) {
        return wait_for([&] { return daemon(name).job_status(job, type).is_object(); }, 10s);
    }
    // The active daemon killed mid-step, started again and woken up: invocation 1 of the new
    // process sends the step again.
    void kill_the_active_daemon() {
        const int port = start_passive(0);
        ASSERT_GT(port, 0);
        start_active(port);
        const auto at_kill = wakeup_and_wait_for_bytes();
        ASSERT_FALSE(HasFailure());
        EXPECT_EQ(daemon(active()).stop(SIGKILL), -1) << "killed by the signal";
        wait_for_the_cut_receive_to_go(passive());
        start_active(port);
        ASSERT_TRUE(answers(active(), active_job(), active())) << daemon(active()).log();
        const auto j = wakeup_and_finish(daemon(active()), active_job(), active(), 1);
        ASSERT_FALSE(HasFailure());
        expect_restarted_cleanly(j, at_kill, "the " + active() + " daemon SIGKILLed and started again");
    }
    // The passive daemon killed mid-step: the active job's attempt fails with a temporary error
    // (the connection reset; the child filesystem's "parent failed" does not make it permanent),
    // the run waits for its peer, and once the daemon is started again on its port the same
    // invocation's next attempt sends the step again.
    void kill_the_passive_daemon() {
        const int port = start_passive(0);
        ASSERT_GT(port, 0);
        start_active(port);
        const auto at_kill = wakeup_and_wait_for_bytes();
        ASSERT_FALSE(HasFailure());
        EXPECT_EQ(daemon(passive()).stop(SIGKILL), -1) << "killed by the signal";
        json::value j;
        ASSERT_TRUE(wait_for(
            [&] {
                j = active_status();
                return j.is_object() && !j.at("Replication").is_null() &&
                       !j.at("Replication").at("WaitReconnectSince").is_null();
            },
            60s))
            << "the run waits for its peer to come back: " << json::serialize(j) << "\n"
            << logs();
        wait_for_the_cut_receive_to_go(active());
        ASSERT_EQ(start_passive(port), port);
        ASSERT_TRUE(answers(passive(), passive_job(), passive())) << daemon(passive()).log();
        j = wait_finished(daemon(active()), active_job(), active(), 1);
        ASSERT_FALSE(HasFailure());
        EXPECT_GE(j.at("Replication").at("Attempts").as_array().size(), 2u)
            << "the same run retried: " << json::serialize(j);
        expect_restarted_cleanly(j, at_kill, "the " + passive() + " daemon SIGKILLed and started again");
    }
    // Verdict: the root's step of the successful run sent the whole stream again, not resumed,
    // and everything ends as after a clean run.
    void expect_restarted_cleanly(const json::value& j, std::uint64_t at_kill, const std::string& what) {
        const auto step = root_step(j);
        ASSERT_TRUE(step.is_object()) << json::serialize(j);
        EXPECT_EQ(step.at("Resumed"), false) << "zfs-fuse cannot resume: the step restarts";
        EXPECT_GE(moved(step), big) << "the whole stream is sent again: " << json::serialize(step);
        std::cout << "verdict: " << what << " after " << at_kill << " of about " << big
                  << " bytes; the step was sent again from its first byte, " << moved(step)
                  << " bytes (what moved before the kill, about " << at_kill
                  << " bytes, was sent twice; zfs-fuse cannot resume)\n";
        expect_replicated(landing());
        const auto files = read_snapshot(landing()[0].second + "@big");
        EXPECT_TRUE(files.count("big") && files.at("big") == incompressible(big, 11))
            << "the data arrived intact";
        expect_clean_stop({active(), passive()});
        if (pull_)
            expect_only_cursor_and_last_received(landing(), "src1", "pull1");
        else
            expect_only_cursor_and_last_received(landing(), "push1", "sink1");
    }
};

TEST_F(DaemonKilledMidStepOnZfsFuse, ThePushDaemonKilledAndStartedAgainSendsTheStepAgainAfterWakeup) {
    kill_the_active_daemon();
}

TEST_F(DaemonKilledMidStepOnZfsFuse, TheSinkDaemonKilledAndStartedAgainTheWaitingRunSendsTheStepAgain) {
    kill_the_passive_daemon();
}

TEST_F(DaemonKilledMidStepOnZfsFuse, ThePullDaemonKilledAndStartedAgainReceivesTheStepAgainAfterWakeup) {
    pull_ = true;
    kill_the_active_daemon();
}

TEST_F(DaemonKilledMidStepOnZfsFuse, TheSourceDaemonKilledAndStartedAgainTheWaitingRunReceivesTheStepAgain) {
    pull_ = true;
    kill_the_passive_daemon();
}

}  // namespace
}  // namespace zferry::platform
