// zfs/zfs_runner against zfs-sim: invocations, limits, logging, capability cache.
#include "zfs/zfs_runner.hpp"
#include "core/owned_task.hpp"
#include "tests/integration/test_support.hpp"

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;
using zferry::Result;
using zferry::zfs::Capabilities;
using zferry::zfs::ZfsOutput;
using zferry::zfs::ZfsRunner;
using zferry::zfs::ZfsRunnerOptions;

namespace {

namespace fs = std::filesystem;

class ZfsRunnerTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/zfs-runner-test-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        opts_.binary = ZFS_SIM_BIN;
        opts_.env = {{"ZFS_SIM_STATE", (dir_ / "state").string()}};
    }
    void TearDown() override { fs::remove_all(dir_); }

    Result<ZfsOutput> run(ZfsRunner& r, std::vector<std::string> args) {
        return zferry::test::run(ctx_, r.run(args));
    }

    // A stand-in zfs: a shell script that logs its arguments and answers like `body` says.
    std::string fake_zfs(const std::string& body) {
        auto p = dir_ / "fake-zfs";
        std::ofstream(p) << "#!/bin/sh\necho \"$@\" >> " << (dir_ / "calls").string() << "\n" << body << "\n";
        fs::permissions(p, fs::perms::owner_all);
        return p.string();
    }
    int calls() {
        std::ifstream f(dir_ / "calls");
        int n = 0;
        for (std::string l; std::getline(f, l);) ++n;
        return n;
    }

    asio::io_context ctx_;
    fs::path dir_;
    ZfsRunnerOptions opts_;
};

asio::awaitable<void> run_into(ZfsRunner& r, std::string arg, Result<ZfsOutput>& out) {
    // (A braced list inside a coroutine trips GCC 12: "array used as initializer".)
    std::vector<std::string> args;
    args.push_back(std::move(arg));
    out = co_await r.run(std::move(args));
}

// Starts `zfs list -H -o name p` with stdout into `out_fd` (closed once the child has it).
asio::awaitable<Result<ZfsOutput>> start_and_wait(ZfsRunner& r, int out_fd, int& pid) {
    std::vector<std::string> args{"list", "-H", "-o", "name", "p"};
    auto proc = co_await r.start(std::move(args), -1, out_fd);
    ::close(out_fd);
    if (!proc) co_return proc.error();
    pid = proc->pid();
    co_return co_await proc->wait();
}

asio::awaitable<void> caps_into(ZfsRunner& r, Result<Capabilities>& out) { out = co_await r.capabilities(); }

}  // namespace

TEST_F(ZfsRunnerTest, RunsZfsAndReturnsOutputAndFailures) {
    ZfsRunner r(ctx_.get_executor(), opts_);
    auto created = run(r, {"sim-create-pool", "p"});
    ASSERT_TRUE(created && created->ok()) << (created ? created->describe() : created.error().message());
    auto snap = run(r, {"snapshot", "p@s1"});
    ASSERT_TRUE(snap && snap->ok());
    auto listed = run(r, {"list", "-H", "-o", "name", "-t", "snapshot", "-r", "p"});
    ASSERT_TRUE(listed && listed->ok());
    EXPECT_EQ(listed->result.out, "p@s1\n");

    // A zfs error is an output with a status, not a runner error; describe() says which
    // command failed and why, on one line.
    auto again = run(r, {"snapshot", "p@s1"});
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_FALSE(again->ok());
    EXPECT_EQ(again->result.exit_code, 1);
    EXPECT_EQ(again->describe(),
              "zfs snapshot p@s1: exit status 1: cannot create snapshot 'p@s1': dataset already exists");
    EXPECT_EQ(r.invocations(), 4u);
}

// Every exited zfs process is reported with its verb and runtime: short commands and a
// streaming child alike (the daemon's zrepl_zfscmd_runtime histogram).
TEST_F(ZfsRunnerTest, EveryFinishedCommandIsReportedWithItsVerbAndRuntime) {
    std::vector<std::pair<std::string, zferry::zfs::ZfsCommandTimes>> seen;
    opts_.on_finished = [&](std::string_view verb, const zferry::zfs::ZfsCommandTimes& t) {
        seen.emplace_back(verb, t);
    };
    ZfsRunner r(ctx_.get_executor(), opts_);
    ASSERT_TRUE(run(r, {"sim-create-pool", "p"}));
    ASSERT_TRUE(run(r, {"snapshot", "--", "p@s1"}));
    ASSERT_TRUE(run(r, {"snapshot", "--", "p@s1"}));  // fails (exists): still reported
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    int pid = -1;
    auto streamed = zferry::test::run(ctx_, start_and_wait(r, fds[1], pid));
    ::close(fds[0]);
    ASSERT_TRUE(streamed) << streamed.error().message();
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_EQ(seen[0].first, "sim-create-pool");
    EXPECT_EQ(seen[1].first, "snapshot");
    EXPECT_EQ(seen[2].first, "snapshot");
    EXPECT_EQ(seen[3].first, "list") << "the streaming child, reported when it was reaped";
    for (const auto& [verb, t] : seen) {
        EXPECT_GT(t.runtime.count(), 0) << verb;
        EXPECT_LT(t.runtime, std::chrono::seconds(30)) << verb;
        // zfs-sim is a process like zfs: starting it alone costs CPU, which wait4 reported.
        EXPECT_GT((t.user + t.system).count(), 0) << verb;
        EXPECT_LE(t.user + t.system, t.runtime) << verb;
    }
}

TEST_F(ZfsRunnerTest, MissingBinaryIsAPermanentErrorNamingIt) {
    opts_.binary = (dir_ / "no-such-zfs").string();
    ZfsRunner r(ctx_.get_executor(), opts_);
    auto out = run(r, {"list"});
    ASSERT_FALSE(out);
    EXPECT_FALSE(out.error().temporary());
    EXPECT_NE(out.error().message().find("no-such-zfs"), std::string::npos) << out.error().message();
    // Not cached: a capability probe with a missing binary fails each time it is asked.
    auto caps = zferry::test::run(ctx_, r.capabilities());
    ASSERT_FALSE(caps);
    EXPECT_NE(caps.error().message().find("probing zfs capabilities"), std::string::npos);
}

TEST_F(ZfsRunnerTest, CapabilitiesOfOpenZfsAreProbedOnceAndCached) {
    ZfsRunner r(ctx_.get_executor(), opts_);
    Result<Capabilities> a = zferry::Error(zferry::Errc::internal), b = a, c = a;
    // Three concurrent first callers share one probe.
    zferry::test::run(ctx_,
                      [](ZfsRunner& r, Result<Capabilities>& a, Result<Capabilities>& b,
                         Result<Capabilities>& c) -> asio::awaitable<void> {
                          co_await (caps_into(r, a) && caps_into(r, b) && caps_into(r, c));
                      }(r, a, b, c));
    ASSERT_TRUE(a) << a.error().message();
    ASSERT_TRUE(b && c);
    EXPECT_EQ(*a, *b);
    EXPECT_EQ(*a, *c);
    auto probes = r.invocations();
    EXPECT_EQ(probes, 6u);
    auto again = zferry::test::run(ctx_, r.capabilities());
    ASSERT_TRUE(again);
    EXPECT_EQ(r.invocations(), probes);
    // zfs-sim is OpenZFS 2.2: everything zferry uses.
    EXPECT_TRUE(a->resumable_send && a->resumable_recv && a->bookmarks && a->raw_send && a->list_parsable &&
                a->send_size_estimate && a->holds_listing && a->destroy_comma_list &&
                a->recv_property_options);
}

TEST_F(ZfsRunnerTest, ProbeThatNeverReachesZfsIsAnErrorAndNotCached) {
    // zfs-fuse's client when the daemon is down.
    opts_.binary = fake_zfs(
        "echo 'connect: No such file or directory' >&2\n"
        "echo 'Please make sure that the zfs-fuse daemon is running.' >&2\n"
        "echo 'internal error: failed to initialize ZFS library' >&2\nexit 1");
    ZfsRunner r(ctx_.get_executor(), opts_);
    auto caps = zferry::test::run(ctx_, r.capabilities());
    ASSERT_FALSE(caps);
    EXPECT_NE(caps.error().message().find("did not reach ZFS"), std::string::npos) << caps.error().message();
    int first = calls();
    EXPECT_GE(first, 1);
    caps = zferry::test::run(ctx_, r.capabilities());
    EXPECT_FALSE(caps);
    EXPECT_GT(calls(), first);
}

TEST_F(ZfsRunnerTest, ConcurrencyIsCappedByTheLimiter) {
    // Each call sleeps 0.2 s and records start/end; with a cap of 2, never 3 at once.
    opts_.binary = fake_zfs("d=" + dir_.string() +
                            "\n"
                            "n=$(ls $d/running 2>/dev/null | wc -l); echo $n >> $d/seen\n"
                            "mkdir -p $d/running; touch $d/running/$$; sleep 0.2; rm $d/running/$$");
    opts_.max_concurrent = 2;
    ZfsRunner r(ctx_.get_executor(), opts_);
    std::vector<Result<ZfsOutput>> outs(6, zferry::Error(zferry::Errc::internal));
    zferry::test::run(ctx_, [](ZfsRunner& r, std::vector<Result<ZfsOutput>>& o) -> asio::awaitable<void> {
        co_await (run_into(r, "a", o[0]) && run_into(r, "b", o[1]) && run_into(r, "c", o[2]) &&
                  run_into(r, "d", o[3]) && run_into(r, "e", o[4]) && run_into(r, "f", o[5]));
    }(r, outs));
    for (auto& o : outs) ASSERT_TRUE(o && o->ok());
    std::ifstream seen(dir_ / "seen");
    int max_seen = 0, lines = 0;
    for (std::string l; std::getline(seen, l); ++lines) max_seen = std::max(max_seen, std::stoi(l));
    EXPECT_EQ(lines, 6);
    EXPECT_LE(max_seen, 1);  // at most one other was running when each started
    EXPECT_EQ(calls(), 6);
}

TEST_F(ZfsRunnerTest, StartedProcessUsesCallerPipesAndIsLogged) {
    ZfsRunner r(ctx_.get_executor(), opts_);
    ASSERT_TRUE(run(r, {"sim-create-pool", "p"}));
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    int pid = -1;
    auto out = zferry::test::run(ctx_, start_and_wait(r, p[1], pid));
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_TRUE(out->ok()) << out->describe();
    EXPECT_GT(pid, 0);
    char buf[64];
    auto n = ::read(p[0], buf, sizeof buf);
    ::close(p[0]);
    EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "p\n");
}

namespace {

// Starts `zfs send p@s1` into a pipe nobody reads (with ZFS_SIM_STALL_SEND_AFTER=0 it stalls
// at once), holding a streaming slot until `release` is set.
asio::awaitable<Result<ZfsOutput>> stalled_send(ZfsRunner& r, int out_fd, bool& started,
                                                const bool& release) {
    std::vector<std::string> args;
    args.push_back("send");
    args.push_back("p@s1");
    auto proc = co_await r.start(std::move(args), -1, out_fd);
    ::close(out_fd);
    if (!proc) co_return proc.error();
    started = true;
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (!release) {
        t.expires_after(10ms);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    proc->signal(SIGTERM);
    co_return co_await proc->wait();
}

asio::awaitable<void> stalled_send_into(ZfsRunner& r, int out_fd, bool& started, const bool& release,
                                        Result<ZfsOutput>& out) {
    out = co_await stalled_send(r, out_fd, started, release);
}

}  // namespace

TEST_F(ZfsRunnerTest, StalledTransfersDoNotStarveShortCommands) {
    // Every streaming slot is held by a send that makes no progress (a slow peer, a busy
    // pool); `zfs list` must still run. With one shared limit it waited behind them forever.
    opts_.max_concurrent = 2;
    opts_.max_streaming = 2;
    opts_.env.emplace_back("ZFS_SIM_STALL_SEND_AFTER", "0");
    ZfsRunner r(ctx_.get_executor(), opts_);
    ASSERT_TRUE(run(r, {"sim-create-pool", "p"}));
    ASSERT_TRUE(run(r, {"snapshot", "p@s1"}));
    int a[2], b[2];
    ASSERT_EQ(::pipe2(a, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(b, O_CLOEXEC), 0);
    bool started_a = false, started_b = false, release = false;
    Result<ZfsOutput> send_a = zferry::Error(zferry::Errc::internal), send_b = send_a;
    Result<ZfsOutput> listed = zferry::Error(zferry::Errc::internal, "zfs list did not finish within 20 s");
    zferry::test::run(ctx_, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        zferry::OwnedTask ta(ex), tb(ex);
        ta.start(stalled_send_into(r, a[1], started_a, release, send_a));
        tb.start(stalled_send_into(r, b[1], started_b, release, send_b));
        asio::steady_timer t(ex);
        for (int i = 0; i < 2000 && !(started_a && started_b); ++i) {
            t.expires_after(10ms);
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        if (started_a && started_b) {
            std::vector<std::string> args;
            args.push_back("list");
            args.push_back("-H");
            args.push_back("-o");
            args.push_back("name");
            args.push_back("p");
            t.expires_after(20s);
            auto first =
                co_await (r.run(std::move(args)) || t.async_wait(asio::as_tuple(asio::use_awaitable)));
            if (first.index() == 0) listed = std::get<0>(std::move(first));
        }
        release = true;
        co_await ta.join();
        co_await tb.join();
    }());
    ::close(a[0]);
    ::close(b[0]);
    ASSERT_TRUE(started_a && started_b) << "the stalled sends did not start";
    ASSERT_TRUE(listed) << listed.error().message();
    EXPECT_TRUE(listed->ok()) << listed->describe();
    EXPECT_EQ(listed->result.out, "p\n");
    ASSERT_TRUE(send_a) << send_a.error().message();
    EXPECT_FALSE(send_a->ok()) << "the stalled send was ended by SIGTERM";
}

TEST_F(ZfsRunnerTest, SendsAndReceivesHaveTheirOwnStreamingSlots) {
    // A local push holds a send and a recv on one runner. With one shared streaming limit,
    // steps that each took a send slot could wait for ever for a recv slot; here the only
    // send slot is held by a stalled send and a receive must still start at once.
    opts_.max_streaming = 1;
    opts_.env.emplace_back("ZFS_SIM_STALL_SEND_AFTER", "0");
    ZfsRunner r(ctx_.get_executor(), opts_);
    ASSERT_TRUE(run(r, {"sim-create-pool", "p"}));
    ASSERT_TRUE(run(r, {"snapshot", "p@s1"}));
    int a[2], b[2];
    ASSERT_EQ(::pipe2(a, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(b, O_CLOEXEC), 0);
    bool started = false, release = false, recv_started = false;
    Result<ZfsOutput> send = zferry::Error(zferry::Errc::internal), received = send;
    zferry::test::run(ctx_, [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        zferry::OwnedTask ta(ex);
        ta.start(stalled_send_into(r, a[1], started, release, send));
        asio::steady_timer t(ex);
        for (int i = 0; i < 2000 && !started; ++i) {
            t.expires_after(10ms);
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        if (started) {
            std::vector<std::string> args;
            args.push_back("recv");
            args.push_back("-u");
            args.push_back("p/x");
            t.expires_after(20s);
            auto first = co_await (r.start(std::move(args), b[0], -1) ||
                                   t.async_wait(asio::as_tuple(asio::use_awaitable)));
            if (first.index() == 0 && std::get<0>(first)) {
                recv_started = true;
                ::close(b[1]);  // an empty stream: the receive ends with an error
                b[1] = -1;
                received = co_await std::get<0>(first)->wait();
            }
        }
        release = true;
        co_await ta.join();
    }());
    ::close(a[0]);
    ::close(b[0]);
    if (b[1] >= 0) ::close(b[1]);
    ASSERT_TRUE(started) << "the stalled send did not start";
    EXPECT_TRUE(recv_started) << "the receive waited behind the send's streaming slot";
    ASSERT_TRUE(received) << received.error().message();
    EXPECT_FALSE(received->ok()) << "an empty stream is refused";
    ASSERT_TRUE(send) << send.error().message();
}
