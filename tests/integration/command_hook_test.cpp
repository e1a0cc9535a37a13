// Command hooks as real processes (sh scripts): zrepl's environment, the filesystems filter,
// output kept to a bound, a hook killed with its children at the timeout, and a fatal pre
// hook that keeps the snapshot from being taken.
#include "daemon/hooks/command_hook.hpp"

#include "tests/integration/test_support.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace zferry::daemon {
namespace {

namespace fs = std::filesystem;

class CommandHookTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/zferry-hook-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { fs::remove_all(dir_); }

    CommandHook script(const std::string& name, const std::string& body) {
        const auto path = dir_ / name;
        std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
        fs::permissions(path, fs::perms::owner_all);
        CommandHook h;
        h.path = path.string();
        h.filesystems = all_filesystems();
        h.timeout = std::chrono::seconds(20);
        return h;
    }
    std::string slurp(const std::string& name) {
        std::ifstream in(dir_ / name);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    // True once `pid` is gone or a zombie.
    static bool dead(int pid) {
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        if (!std::getline(stat, line)) return true;
        auto paren = line.rfind(')');
        return paren == std::string::npos || line.substr(paren + 2, 1) == "Z";
    }
    static bool dies_within(int pid, std::chrono::milliseconds bound) {
        const auto until = std::chrono::steady_clock::now() + bound;
        while (!dead(pid)) {
            if (std::chrono::steady_clock::now() > until) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return true;
    }
    template <class T>
    T run(boost::asio::awaitable<T> a) {
        return zferry::test::run(ctx_, std::move(a));
    }

    boost::asio::io_context ctx_;
    fs::path dir_;
};

TEST_F(CommandHookTest, EnvironmentIsZreplsAndOutputIsKept) {
    auto h =
        script("env.sh", "env | grep ^ZREPL_ | sort > \"$(dirname \"$0\")/env.txt\"; echo out; echo err >&2");
    h.timeout = std::chrono::milliseconds(30500);
    auto o = run(run_command_hook(h, HookEdge::pre, "snapshot", false,
                                  {{"ZREPL_FS", "pool/a"}, {"ZREPL_SNAPNAME", "zrepl_1"}}, Logger()));
    EXPECT_TRUE(o.ok) << o.status;
    EXPECT_EQ(o.status, "exit status 0");
    EXPECT_EQ(o.out, "out\n");
    EXPECT_EQ(o.err, "err\n");
    EXPECT_EQ(slurp("env.txt"),
              "ZREPL_DRYRUN=\nZREPL_FS=pool/"
              "a\nZREPL_HOOKTYPE=pre_snapshot\nZREPL_SNAPNAME=zrepl_1\nZREPL_TIMEOUT=30\n");
    auto post = run(run_command_hook(h, HookEdge::post, "snapshot", true, {}, Logger()));
    EXPECT_TRUE(post.ok);
    EXPECT_NE(slurp("env.txt").find("ZREPL_HOOKTYPE=post_snapshot\n"), std::string::npos) << slurp("env.txt");
    EXPECT_NE(slurp("env.txt").find("ZREPL_DRYRUN=true\n"), std::string::npos) << slurp("env.txt");
}

TEST_F(CommandHookTest, FailureAndMissingProgramAreFailedOutcomes) {
    auto h = script("fail.sh", "echo broken >&2; exit 3");
    auto o = run(run_command_hook(h, HookEdge::pre, "snapshot", false, {}, Logger()));
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.status, "exit status 3");
    EXPECT_EQ(o.err, "broken\n");
    EXPECT_NE(o.describe(h, {{"ZREPL_FS", "p/a"}}).find("ZREPL_FS='p/a' " + h.path + ": exit status 3"),
              std::string::npos);
    CommandHook missing = h;
    missing.path = (dir_ / "does-not-exist").string();
    auto m = run(run_command_hook(missing, HookEdge::pre, "snapshot", false, {}, Logger()));
    EXPECT_FALSE(m.ok);
    EXPECT_NE(m.status.find("does-not-exist"), std::string::npos) << m.status;
}

TEST_F(CommandHookTest, TimeoutKillsTheHookAndItsChildren) {
    // The hook starts a child that would outlive it, writes its pid, and hangs.
    auto h = script("hang.sh", "sleep 300 & echo $! > \"$(dirname \"$0\")/child.pid\"; wait");
    h.timeout = std::chrono::milliseconds(300);
    h.kill_grace = std::chrono::milliseconds(300);
    auto o = run(run_command_hook(h, HookEdge::pre, "snapshot", false, {}, Logger()));
    EXPECT_FALSE(o.ok);
    EXPECT_TRUE(o.timed_out);
    EXPECT_NE(o.status.find("signal"), std::string::npos) << o.status;
    // The signal went to the whole group; the orphaned child dies asynchronously and may stay
    // a zombie until init reaps it, so look for it to be gone or a zombie, within a bound.
    const int child = std::stoi(slurp("child.pid"));
    EXPECT_TRUE(dies_within(child, std::chrono::seconds(10))) << "the hook's child " << child << " survived";
}

TEST_F(CommandHookTest, TermIgnoringHookIsKilledAfterTheGrace) {
    auto h = script("stubborn.sh", "trap '' TERM; while :; do sleep 0.05; done");
    h.timeout = std::chrono::milliseconds(200);
    h.kill_grace = std::chrono::milliseconds(200);
    auto o = run(run_command_hook(h, HookEdge::pre, "snapshot", false, {}, Logger()));
    EXPECT_TRUE(o.timed_out);
    EXPECT_EQ(o.status, "killed by signal 9 (Killed)");
}

TEST_F(CommandHookTest, MegabytesOfOutputAreCountedNotKept) {
    // 8 MiB on stdout and stderr each; 64 KiB of each kept.
    auto h = script("loud.sh", "head -c 8388608 /dev/zero; head -c 8388608 /dev/zero >&2; echo done >&2");
    h.max_output = 64 << 10;
    auto o = run(run_command_hook(h, HookEdge::pre, "snapshot", false, {}, Logger()));
    EXPECT_TRUE(o.ok) << "a loud hook is not killed for its output: " << o.status;
    EXPECT_EQ(o.out.size(), 64u << 10);
    EXPECT_EQ(o.err.size(), 64u << 10);
    EXPECT_EQ(o.dropped, 2 * (8u << 20) + 5 - 2 * (64u << 10));
}

TEST_F(CommandHookTest, FilterChoosesTheHooks) {
    std::vector<CommandHook> hooks;
    hooks.push_back(script("all.sh", "true"));
    auto db = script("db.sh", "true");
    db.filesystems = {};
    ASSERT_TRUE(db.filesystems.add("pool/db<", true).has_value());
    hooks.push_back(db);
    auto names = [&](std::string_view fs) {
        std::vector<std::string> out;
        for (const auto* h : hooks_for(hooks, fs)) out.push_back(fs::path(h->path).filename());
        return out;
    };
    EXPECT_EQ(names("pool/db/x"), (std::vector<std::string>{"all.sh", "db.sh"}));
    EXPECT_EQ(names("pool/web"), (std::vector<std::string>{"all.sh"}));
}

TEST_F(CommandHookTest, FatalPreHookSkipsTheSnapshotAndEarlierPostEdgesRun) {
    auto first = script("first.sh", "echo \"$ZREPL_HOOKTYPE\" >> \"$(dirname \"$0\")/log\"");
    auto fatal = script("fatal.sh", "echo \"fatal $ZREPL_HOOKTYPE\" >> \"$(dirname \"$0\")/log\"; exit 1");
    fatal.err_is_fatal = true;
    std::vector<const CommandHook*> hooks = {&first, &fatal};
    int snapshots = 0;
    auto callback = [&]() -> boost::asio::awaitable<Result<void>> {
        ++snapshots;
        co_return Result<void>{};
    };
    auto plan = run(run_hooks(hooks, "snapshot", false, {{"ZREPL_FS", "p/a"}}, callback, Logger()));
    EXPECT_EQ(snapshots, 0);
    EXPECT_TRUE(plan.had_fatal_error());
    EXPECT_EQ(slurp("log"), "pre_snapshot\nfatal pre_snapshot\npost_snapshot\n");

    fatal.err_is_fatal = false;
    fs::remove(dir_ / "log");
    plan = run(run_hooks(hooks, "snapshot", false, {{"ZREPL_FS", "p/a"}}, callback, Logger()));
    EXPECT_EQ(snapshots, 1) << "a non-fatal failure does not keep the snapshot from being taken";
    EXPECT_TRUE(plan.had_error());
    EXPECT_EQ(slurp("log"), "pre_snapshot\nfatal pre_snapshot\npost_snapshot\n")
        << "the failed hook's own post edge is skipped";
}

}  // namespace
}  // namespace zferry::daemon
