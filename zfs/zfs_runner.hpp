// Runs the `zfs` command line: the one door from zferry to a pool. Every invocation goes
// through a limiter (a cap on concurrent zfs processes, one for short commands and one for
// streaming children), is logged at debug with its
// duration and exit status, and keeps at most a bounded head of stderr. Capabilities are probed
// once per runner (= once per host) and cached; concurrent first callers share one probe.
#pragma once

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "zfs/capabilities.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zferry::zfs {

struct ZfsRunnerOptions {
    std::string binary = "zfs";                            // tests point this at zfs-sim
    std::vector<std::pair<std::string, std::string>> env;  // extra environment (ZFS_SIM_STATE)
    // Two limits, because the two kinds of zfs process live for very different times: short
    // commands (run(): list, get, snapshot, hold, destroy, ...) take milliseconds, streaming
    // children (start(): send and recv) live as long as a transfer, hours on a slow link.
    // With one shared limit, slow transfers took every slot and snapshots and pruning waited
    // behind them.
    std::size_t max_concurrent = 8;  // short commands at once (run())
    // Streaming children at once (start()), per direction: sends (stdout to the caller) and
    // receives (stdin from the caller) have their own slots, so a local push, which holds one
    // of each on the same runner, can never deadlock with itself.
    std::size_t max_streaming = 8;
    std::size_t max_stdout = std::size_t{512} << 20;  // captured output limit
    std::chrono::milliseconds kill_grace{2000};       // cancellation: TERM, then KILL
    Logger log;
    // Told of every zfs process that exited (short commands and streams alike): its verb
    // (args[0]) and wall-clock runtime. The daemon feeds zrepl_zfscmd_runtime from it.
    std::function<void(std::string_view verb, std::chrono::nanoseconds runtime)> on_finished;
};

// Output of a finished zfs invocation (any exit status).
struct ZfsOutput {
    std::vector<std::string> args;
    ProcessResult result;

    bool ok() const noexcept { return result.ok(); }
    // "zfs destroy pool/a@s1: exit status 1: cannot destroy ...: dataset is busy"
    std::string describe() const;
};

// A started zfs process whose stdin or stdout is a pipe end owned by the caller (send/recv).
// The streaming limiter's slot is held until the object is destroyed.
class ZfsProcess {
public:
    ZfsProcess(ZfsProcess&&) noexcept = default;
    ZfsProcess& operator=(ZfsProcess&&) noexcept = default;
    ~ZfsProcess();

    int pid() const noexcept;
    // Waits for the exit and logs it like ZfsRunner::run. Cancellation kills the child.
    boost::asio::awaitable<Result<ZfsOutput>> wait();
    void signal(int sig) noexcept;

private:
    friend class ZfsRunner;
    ZfsProcess(std::vector<std::string> args, ChildProcess child, ProcessLimiter::Permit permit, Logger log,
               std::chrono::steady_clock::time_point started,
               std::function<void(std::string_view, std::chrono::nanoseconds)> on_finished);
    std::vector<std::string> args_;
    std::function<void(std::string_view, std::chrono::nanoseconds)> on_finished_;
    std::optional<ChildProcess> child_;
    ProcessLimiter::Permit permit_;
    Logger log_;
    std::chrono::steady_clock::time_point started_;
};

class ZfsRunner {
public:
    ZfsRunner(boost::asio::any_io_executor ex, ZfsRunnerOptions opts);
    ~ZfsRunner();
    ZfsRunner(const ZfsRunner&) = delete;
    ZfsRunner& operator=(const ZfsRunner&) = delete;

    // Runs `binary args...` to completion with stdin from /dev/null and stdout captured.
    // Errors only when zfs could not run at all (missing binary: permanent) or on cancellation;
    // a non-zero exit is returned in ZfsOutput for the caller to classify.
    boost::asio::awaitable<Result<ZfsOutput>> run(std::vector<std::string> args);

    // Starts `binary args...` with the given stdin/stdout (-1: /dev/null / captured). Takes a
    // slot of max_streaming of its direction (stdin given: a receive; else a send), never one
    // of the short commands' max_concurrent.
    boost::asio::awaitable<Result<ZfsProcess>> start(std::vector<std::string> args, int stdin_fd,
                                                     int stdout_fd);

    // Probed on first use and cached. A probe that never reached ZFS (binary missing, zfs-fuse
    // daemon down) is an error and is not cached, so a later call probes again.
    boost::asio::awaitable<Result<Capabilities>> capabilities();

    // Number of zfs processes started so far (for benchmarks and tests that count invocations).
    std::size_t invocations() const noexcept;

    const ZfsRunnerOptions& options() const noexcept;
    const Logger& log() const noexcept;

    struct State;

private:
    std::shared_ptr<State> state_;
};

}  // namespace zferry::zfs
