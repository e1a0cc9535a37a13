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

// What a finished zfs process cost: wall clock from start until it was reaped, and its CPU
// time as wait4 reported it (zero where the exit was not observed through a pidfd).
struct ZfsCommandTimes {
    std::chrono::nanoseconds runtime{};
    std::chrono::microseconds user{};
    std::chrono::microseconds system{};
};

// The operations zrepl times per filesystem (zrepl_zfs_<operation>_duration{filesystem}).
enum class ZfsOperation { list_filesystem_versions, snapshot, bookmark, destroy };

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
    // (args[0]), wall-clock runtime and CPU times. The daemon feeds zrepl_zfscmd_runtime,
    // _usertime and _systemtime from it.
    std::function<void(std::string_view verb, const ZfsCommandTimes& times)> on_finished;
    // Told by the zfs operations (listing_ops, snapshot_ops, bookmark_ops, destroy_ops) how
    // long one operation on `filesystem` took, failed ones included, as zrepl's timers do;
    // dataset_type is "snapshot", "bookmark" or "filesystem" for destroy, else empty.
    std::function<void(ZfsOperation op, std::string_view dataset_type, std::string_view filesystem,
                       std::chrono::nanoseconds took)>
        on_operation;
    // Told, after a job's filesystems filter was applied to a listing of every dataset, how
    // many of the filter's entries named no listed dataset
    // (zrepl_zfs_list_unmatched_user_specified_dataset_count).
    std::function<void(std::size_t unmatched)> on_unmatched_datasets;
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
               std::function<void(std::string_view, const ZfsCommandTimes&)> on_finished);
    std::vector<std::string> args_;
    std::function<void(std::string_view, const ZfsCommandTimes&)> on_finished_;
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
    // Reports to on_operation / on_unmatched_datasets (if set).
    void operation_finished(ZfsOperation op, std::string_view dataset_type, std::string_view filesystem,
                            std::chrono::nanoseconds took) const;
    void unmatched_datasets(std::size_t unmatched) const;
    const Logger& log() const noexcept;

    struct State;

private:
    std::shared_ptr<State> state_;
};

}  // namespace zferry::zfs
