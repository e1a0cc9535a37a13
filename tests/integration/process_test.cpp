// core/process: real children (/bin/sh) on an io_context.
#include "core/process.hpp"
#include "tests/integration/test_support.hpp"

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using zferry::ChildProcess;
using zferry::ProcessLimiter;
using zferry::ProcessResult;
using zferry::ProcessSpec;
using zferry::Result;
using zferry::run_process;

namespace {

ProcessSpec sh(std::string script) {
    ProcessSpec s;
    s.program = "sh";
    s.args = {"-c", std::move(script)};
    return s;
}

bool pid_alive(int pid) { return ::kill(pid, 0) == 0; }

std::string temp_path(const char* name) {
    return (std::filesystem::temp_directory_path() / (std::string(name) + "." + std::to_string(::getpid())))
        .string();
}

std::string read_file(const std::string& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

}  // namespace

TEST(Process, CapturesStdoutStderrAndExitStatus) {
    asio::io_context ctx;
    auto r = zferry::test::run(ctx, run_process(sh("echo out; echo err >&2; exit 3")));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->out, "out\n");
    EXPECT_EQ(r->err, "err\n");
    EXPECT_EQ(r->exit_code, 3);
    EXPECT_EQ(r->signal, 0);
    EXPECT_FALSE(r->ok());
    EXPECT_EQ(r->status(), "exit status 3");
    EXPECT_GT(r->duration.count(), 0);
}

// The child is reaped with wait4, whose rusage says what CPU it used: a shell counting in a
// loop has used some (zrepl_zfscmd_usertime / _systemtime come from these).
TEST(Process, ReapedChildReportsItsCpuTimes) {
    asio::io_context ctx;
    auto r = zferry::test::run(ctx, run_process(sh("i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done")));
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_TRUE(r->ok()) << r->status();
    EXPECT_GT((r->user_time + r->system_time).count(), 0);
    // Single-threaded: CPU time cannot exceed the time from spawn to reaping.
    EXPECT_LE(r->user_time + r->system_time, r->duration);
}

TEST(Process, ArgumentsArePassedVerbatimWithoutAShell) {
    asio::io_context ctx;
    ProcessSpec s;
    s.program = "printf";
    s.args = {"%s|", "a b", "$HOME", "'q'", ""};
    auto r = zferry::test::run(ctx, run_process(s));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->ok());
    EXPECT_EQ(r->out, "a b|$HOME|'q'||");
}

TEST(Process, MissingProgramIsAPermanentErrorNamingIt) {
    asio::io_context ctx;
    ProcessSpec s;
    s.program = "zferry-no-such-program";
    auto r = zferry::test::run(ctx, run_process(s));
    ASSERT_FALSE(r);
    EXPECT_FALSE(r.error().temporary());
    EXPECT_NE(r.error().message().find("zferry-no-such-program"), std::string::npos) << r.error().message();

    s.program = "/nonexistent/dir/zfs";
    r = zferry::test::run(ctx, run_process(s));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("/nonexistent/dir/zfs"), std::string::npos);
}

TEST(Process, EnvironmentIsInheritedAndExtended) {
    asio::io_context ctx;
    ::setenv("ZFERRY_PROCESS_TEST_INHERITED", "kept", 1);
    ::setenv("ZFERRY_PROCESS_TEST_OVERRIDDEN", "old", 1);
    auto s =
        sh("echo $ZFERRY_PROCESS_TEST_INHERITED $ZFERRY_PROCESS_TEST_OVERRIDDEN $ZFERRY_PROCESS_TEST_NEW");
    s.env = {{"ZFERRY_PROCESS_TEST_OVERRIDDEN", "new"}, {"ZFERRY_PROCESS_TEST_NEW", "x=y"}};
    auto r = zferry::test::run(ctx, run_process(s));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->out, "kept new x=y\n");
}

TEST(Process, StderrIsBoundedAndKeepsTheHead) {
    asio::io_context ctx;
    auto s = sh("echo first-line >&2; head -c 300000 /dev/zero | tr '\\0' x >&2; exit 1");
    s.max_stderr = 1000;
    auto r = zferry::test::run(ctx, run_process(s));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->exit_code, 1);
    EXPECT_EQ(r->err.size(), 1000u);
    EXPECT_EQ(r->err.rfind("first-line\n", 0), 0u);
    EXPECT_EQ(r->err_dropped, 300000u + 11u - 1000u);
}

TEST(Process, LargeStdoutAndStderrTogetherDoNotDeadlock) {
    // Both pipes are drained concurrently: a child filling stderr while we read stdout (or
    // the reverse) must not block.
    asio::io_context ctx;
    auto r = zferry::test::run(
        ctx, run_process(sh("head -c 2000000 /dev/zero >&2 & head -c 3000000 /dev/zero; wait")));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->ok());
    EXPECT_EQ(r->out.size(), 3000000u);
    EXPECT_EQ(r->err.size() + r->err_dropped, 2000000u);
}

TEST(Process, StdoutOverLimitFailsAndKillsTheChild) {
    asio::io_context ctx;
    auto s = sh("exec cat /dev/zero");
    s.max_stdout = 1 << 20;
    auto r = zferry::test::run(ctx, run_process(s));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), zferry::Errc::message_too_large);
    EXPECT_NE(r.error().message().find("cat /dev/zero"), std::string::npos) << r.error().message();
}

TEST(Process, StdinAndStdoutCanBeCallerFileDescriptors) {
    asio::io_context ctx;
    std::string in_path = temp_path("zferry-proc-in"), out_path = temp_path("zferry-proc-out");
    {
        std::ofstream f(in_path);
        f << "hello through fds\n";
    }
    int in = ::open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(in, 0);
    ASSERT_GE(out, 0);
    ProcessSpec s;
    s.program = "cat";
    s.stdin_fd = in;
    s.stdout_fd = out;
    auto r = zferry::test::run(ctx, run_process(s));
    ::close(in);
    ::close(out);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->ok()) << r->status() << ": " << r->err;
    EXPECT_TRUE(r->out.empty());
    EXPECT_EQ(read_file(out_path), "hello through fds\n");
    std::filesystem::remove(in_path);
    std::filesystem::remove(out_path);
}

TEST(Process, ChildDiesOfSigpipeDespiteTheParentIgnoringIt) {
    // zferry ignores SIGPIPE; a zfs send whose reader went away must still die of it.
    ::signal(SIGPIPE, SIG_IGN);
    asio::io_context ctx;
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    ::close(p[0]);
    auto s = sh("exec yes");
    s.stdout_fd = p[1];
    auto r = zferry::test::run(ctx, run_process(s));
    ::close(p[1]);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->signal, SIGPIPE) << r->status();
}

namespace {

asio::awaitable<void> wait_into(ChildProcess& child, std::optional<Result<ProcessResult>>& out) {
    out = co_await child.wait();
}

// Cancels child.wait() after `after` and returns what wait() completed with.
asio::awaitable<Result<ProcessResult>> wait_with_timeout(ChildProcess& child,
                                                         std::chrono::milliseconds after) {
    std::optional<Result<ProcessResult>> out;
    asio::steady_timer t(co_await asio::this_coro::executor, after);
    co_await (wait_into(child, out) || t.async_wait(asio::use_awaitable));
    if (!out) co_return zferry::Error(zferry::Errc::internal, "wait() did not complete");
    co_return std::move(*out);
}

}  // namespace

TEST(Process, CancellationKillsTheWholeProcessGroupAndReaps) {
    asio::io_context ctx;
    std::string pidfile = temp_path("zferry-proc-grandchild");
    // The shell starts a grandchild that would outlive a plain kill of the shell.
    auto s = sh("sleep 1000 & echo $! > " + pidfile + "; wait");
    auto child = ChildProcess::spawn(ctx.get_executor(), s);
    ASSERT_TRUE(child) << child.error().message();
    int pid = child->pid();
    auto t0 = std::chrono::steady_clock::now();
    // The pid file appears once the grandchild exists; give the shell time to write it.
    while (read_file(pidfile).empty() && std::chrono::steady_clock::now() - t0 < 10s)
        std::this_thread::sleep_for(5ms);
    int grandchild = std::stoi(read_file(pidfile));
    auto r = zferry::test::run(ctx, wait_with_timeout(*child, 200ms));
    auto elapsed = std::chrono::steady_clock::now() - t0;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), asio::error::operation_aborted) << r.error().message();
    EXPECT_LT(elapsed, 10s);
    // Reaped (no zombie left: the pid is gone), and the grandchild is dead too.
    EXPECT_FALSE(pid_alive(pid));
    for (int i = 0; i < 200 && pid_alive(grandchild); ++i) std::this_thread::sleep_for(10ms);
    EXPECT_FALSE(pid_alive(grandchild));
    std::filesystem::remove(pidfile);
}

TEST(Process, ChildIgnoringTermIsKilledAfterTheGrace) {
    asio::io_context ctx;
    auto s = sh("trap '' TERM; echo ready; while :; do sleep 0.05; done");
    s.kill_grace = 300ms;
    auto child = ChildProcess::spawn(ctx.get_executor(), s);
    ASSERT_TRUE(child);
    int pid = child->pid();
    auto t0 = std::chrono::steady_clock::now();
    auto r = zferry::test::run(ctx, wait_with_timeout(*child, 200ms));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), asio::error::operation_aborted);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    EXPECT_FALSE(pid_alive(pid));
}

TEST(Process, GrandchildHoldingThePipesDoesNotBlockTheResult) {
    // The shell exits at once but leaves a background child with stderr open: the result
    // arrives after drain_grace, not after the grandchild's 1000 s.
    asio::io_context ctx;
    std::string pidfile = temp_path("zferry-proc-stray");
    auto s = sh("echo bye; sleep 1000 >/dev/null & echo $! > " + pidfile + "; exit 0");
    s.drain_grace = 200ms;
    auto t0 = std::chrono::steady_clock::now();
    auto r = zferry::test::run(ctx, run_process(s));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->ok());
    EXPECT_EQ(r->out, "bye\n");
    int stray = std::stoi(read_file(pidfile));
    ::kill(stray, SIGKILL);
    std::filesystem::remove(pidfile);
}

TEST(Process, DestroyingAnUnwaitedChildKillsAndReapsIt) {
    asio::io_context ctx;
    int pid;
    {
        auto child = ChildProcess::spawn(ctx.get_executor(), sh("sleep 1000"));
        ASSERT_TRUE(child);
        pid = child->pid();
        EXPECT_TRUE(pid_alive(pid));
    }
    EXPECT_FALSE(pid_alive(pid));
}

TEST(Process, SignalIsDeliveredAndReportedAsSuch) {
    asio::io_context ctx;
    auto child = ChildProcess::spawn(ctx.get_executor(), sh("exec sleep 1000"));
    ASSERT_TRUE(child);
    child->signal(SIGTERM);
    auto r = zferry::test::run(ctx, child->wait());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->signal, SIGTERM);
    EXPECT_NE(r->status().find("killed by signal 15"), std::string::npos) << r->status();
}

TEST(Process, FileDescriptorsDoNotLeakIntoChildren) {
    asio::io_context ctx;
    int fd = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
    ASSERT_GE(fd, 0);
    auto r = zferry::test::run(ctx, run_process(sh("ls /proc/self/fd | wc -l")));
    ::close(fd);
    ASSERT_TRUE(r);
    // 0, 1, 2 and the directory fd of ls itself.
    EXPECT_LE(std::stoi(r->out), 4) << r->out;
}

namespace {

// Counts the fork notifications its io_context receives.
class ForkNotifications : public asio::execution_context::service {
public:
    using key_type = ForkNotifications;
    static inline asio::execution_context::id id;
    explicit ForkNotifications(asio::execution_context& c) : asio::execution_context::service(c) {}
    void notify_fork(asio::execution_context::fork_event) override { ++count; }
    void shutdown() override {}
    int count = 0;
};

}  // namespace

// The io_context a child is spawned on is not told of the fork: Asio's epoll reactor would make
// the child register every descriptor of that context again (two epoll_ctl calls per descriptor
// between fork and exec, while the parent waits in the launcher for the exec), so a daemon
// serving a thousand connections paid thousands of system calls per zfs command. The child still
// runs, is waited for on that context and reports its exit.
TEST(Process, SpawningDoesNotNotifyTheCallersIoContextOfTheFork) {
    asio::io_context ctx;
    auto& notifications = asio::make_service<ForkNotifications>(ctx);
    // Descriptors registered with the context's reactor (when opened), as a serving daemon's
    // connections are.
    std::vector<asio::local::stream_protocol::socket> held;
    for (int i = 0; i < 64; ++i) {
        held.emplace_back(ctx);
        held.emplace_back(ctx);
        asio::local::connect_pair(held[held.size() - 2], held.back());
    }
    for (int i = 0; i < 3; ++i) {
        auto r = zferry::test::run(ctx, run_process(sh("echo child " + std::to_string(i))));
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_EQ(r->out, "child " + std::to_string(i) + "\n");
        EXPECT_EQ(r->exit_code, 0);
    }
    EXPECT_EQ(notifications.count, 0) << "fork_prepare and fork_parent reached the caller's context";
}

namespace {

asio::awaitable<void> limited_run(ProcessLimiter& lim, int& running, int& peak, std::string marker) {
    auto permit = co_await lim.acquire();
    if (!permit) co_return;
    ++running;
    peak = std::max(peak, running);
    auto r = co_await run_process(sh("sleep 0.1; echo " + marker));
    --running;
    EXPECT_TRUE(r && r->out == marker + "\n");
}

asio::awaitable<void> run_many(ProcessLimiter& lim, int& running, int& peak) {
    co_await (limited_run(lim, running, peak, "a") && limited_run(lim, running, peak, "b") &&
              limited_run(lim, running, peak, "c") && limited_run(lim, running, peak, "d") &&
              limited_run(lim, running, peak, "e"));
}

asio::awaitable<bool> acquire_is_cancellable(ProcessLimiter& lim) {
    auto held = co_await lim.acquire();
    if (!held) co_return false;
    asio::steady_timer t(co_await asio::this_coro::executor, 50ms);
    auto v = co_await (lim.acquire() || t.async_wait(asio::use_awaitable));
    // The timer wins; the abandoned acquire must not have taken the slot.
    bool ok = v.index() == 1 && lim.in_use() == 1;
    held = {};
    ok = ok && lim.in_use() == 0;
    auto again = co_await lim.acquire();
    co_return ok&& static_cast<bool>(again);
}

}  // namespace

TEST(ProcessLimiter, CapsConcurrentChildren) {
    asio::io_context ctx;
    ProcessLimiter lim(ctx.get_executor(), 2);
    int running = 0, peak = 0;
    zferry::test::run(ctx, run_many(lim, running, peak));
    EXPECT_EQ(peak, 2);
    EXPECT_EQ(lim.in_use(), 0u);
}

TEST(ProcessLimiter, CancelledAcquireGivesUpItsPlace) {
    asio::io_context ctx;
    ProcessLimiter lim(ctx.get_executor(), 1);
    EXPECT_TRUE(zferry::test::run(ctx, acquire_is_cancellable(lim)));
}

// The daemon raises its soft open-file limit to the hard one, as Go's runtime does for zrepl;
// the zfs children it starts afterwards get the original soft limit back before exec.
TEST(Process, RaisingTheOpenFileLimitLeavesChildrenTheOriginal) {
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    ASSERT_GT(saved.rlim_max, 1000u) << "this test needs a hard open-file limit above 1000";
    rlimit low = saved;
    low.rlim_cur = 1000;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);

    auto raised = zferry::raise_open_file_limit();
    ASSERT_TRUE(raised) << raised.error().message();
    EXPECT_EQ(raised->before, 1000u);
    EXPECT_EQ(raised->after, saved.rlim_max);
    EXPECT_EQ(raised->hard, saved.rlim_max);
    rlimit now{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
    EXPECT_EQ(now.rlim_cur, saved.rlim_max);

    asio::io_context ctx;
    auto r = zferry::test::run(ctx, run_process(sh("ulimit -Sn; ulimit -Hn")));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->out, "1000\n" + std::to_string(saved.rlim_max) + "\n");

    // Already at the hard limit: nothing to do, and said so.
    auto again = zferry::raise_open_file_limit();
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(again->before, again->after);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
}
