// Child processes on the io_context (Boost.Process v2 underneath): spawn with chosen stdin and
// stdout, stderr kept in a bounded buffer, exit observed through a pidfd, and cancellation that
// kills the child's whole process group and reaps it before returning. The zfs layer runs every
// `zfs` invocation through this; nothing else in zferry forks.
#pragma once

#include "core/async.hpp"
#include "core/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace zferry {

// The open-file limit, as Go's runtime (and so zrepl) sets it at start: the soft RLIMIT_NOFILE
// raised to the hard limit. A sink holds about 3 descriptors per TLS client (its control
// connection and the relay pair), so the usual soft limit of 1 024 would refuse connections
// near 300 clients. Children spawned afterwards get the soft limit the process started with
// back before exec, as Go's os/exec does (a program using select() expects at most 1 024).
// Call once, at start, before any child is spawned and while the process has one thread.
struct OpenFileLimit {
    std::uint64_t before = 0;  // the soft limit found
    std::uint64_t after = 0;   // the soft limit now (== before when it already was the hard limit)
    std::uint64_t hard = 0;
};
Result<OpenFileLimit> raise_open_file_limit();

struct ProcessSpec {
    std::string program;            // absolute path, or a name looked up in PATH
    std::vector<std::string> args;  // argv[1..]
    // Added to (or replacing entries of) the inherited environment.
    std::vector<std::pair<std::string, std::string>> env;

    // -1: /dev/null. Otherwise the child gets a duplicate; the caller keeps and closes its own.
    int stdin_fd = -1;
    // -1: captured into ProcessResult::out (run_process / ChildProcess::wait). Otherwise as stdin.
    int stdout_fd = -1;

    // Captured stdout beyond this fails the run (Errc::message_too_large) and kills the child:
    // a listing that large means something is wrong, not that more memory would help.
    std::size_t max_stdout = std::size_t{512} << 20;
    // false: stdout beyond max_stdout is dropped and counted (ProcessResult::out_dropped) like
    // stderr, and the child runs on: for output that is only logged (hooks).
    bool kill_on_stdout_overflow = true;
    // stderr beyond this is dropped (the head is kept: zfs puts the reason first) and counted.
    std::size_t max_stderr = std::size_t{64} << 10;

    // On cancellation: SIGTERM to the process group, SIGKILL after this grace.
    std::chrono::milliseconds kill_grace{2000};
    // After the child exits, how long its pipes may stay open (held by a grandchild) before
    // zferry stops reading them.
    std::chrono::milliseconds drain_grace{1000};
};

struct ProcessResult {
    int exit_code = 0;  // meaningful when signal == 0
    int signal = 0;     // the signal that ended the child, or 0
    std::string out;    // captured stdout (empty when stdout_fd was given)
    std::string err;    // the head of stderr, at most ProcessSpec::max_stderr bytes
    std::size_t err_dropped = 0;
    std::size_t out_dropped = 0;  // with kill_on_stdout_overflow = false
    std::chrono::nanoseconds duration{};
    // The child's own CPU time (wait4's rusage; its waited-for descendants included, as the
    // kernel counts them), zero when the exit was not observed through a pidfd.
    std::chrono::microseconds user_time{};
    std::chrono::microseconds system_time{};

    bool ok() const noexcept { return signal == 0 && exit_code == 0; }
    // "exit status 1" / "killed by signal 9 (Killed)"
    std::string status() const;
};

// A spawned child. wait() is the only way to its result; destroying a ChildProcess that was
// not waited for kills its process group and reaps it synchronously (a last resort: prefer
// cancelling wait()).
class ChildProcess {
public:
    ChildProcess(ChildProcess&&) noexcept;
    ChildProcess& operator=(ChildProcess&&) noexcept;
    ~ChildProcess();

    // Errors: the program cannot be found or executed (permanent, names the program).
    static Result<ChildProcess> spawn(boost::asio::any_io_executor ex, ProcessSpec spec);

    int pid() const noexcept;

    // Drains stdout (when captured) and stderr and waits for the exit. Cancelling the awaiting
    // coroutine kills the process group (SIGTERM, SIGKILL after kill_grace), reaps the child and
    // then completes with operation_aborted. A non-zero exit is not an error here: callers
    // classify ProcessResult. Call at most once.
    boost::asio::awaitable<Result<ProcessResult>> wait();

    // Sends a signal to the child's process group now (e.g. SIGTERM); wait() still reaps.
    void signal(int sig) noexcept;

    struct Impl;

private:
    explicit ChildProcess(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// spawn + wait.
boost::asio::awaitable<Result<ProcessResult>> run_process(ProcessSpec spec);

// A cap on concurrently running children (e.g. zfs processes). acquire() waits for a slot
// (first come, first served); the Permit gives it back when destroyed. Cancelling acquire()
// gives up the wait.
class ProcessLimiter {
public:
    using Permit = AsyncSemaphore::Permit;

    ProcessLimiter(boost::asio::any_io_executor ex, std::size_t max_concurrent)
        : slots_(ex, max_concurrent) {}

    boost::asio::awaitable<Result<Permit>> acquire();

    std::size_t max_concurrent() const noexcept { return slots_.max(); }
    std::size_t in_use() const noexcept { return slots_.in_use(); }

private:
    AsyncSemaphore slots_;
};

}  // namespace zferry
