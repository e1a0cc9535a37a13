// zrepl's `command` hooks around a snapshot (reference §6.3): the program runs with the
// daemon's environment plus ZREPL_HOOKTYPE (pre_snapshot / post_snapshot), ZREPL_FS,
// ZREPL_SNAPNAME, ZREPL_DRYRUN ("true" or empty) and ZREPL_TIMEOUT (whole seconds), no
// arguments, stdin from /dev/null. Its output is kept up to a bound (the rest is counted, never
// buffered: a hook that prints megabytes does not grow the daemon) and logged. At the timeout
// it is killed with its whole process group (SIGTERM, SIGKILL after a grace), so a hook's own
// children do not outlive it.
#pragma once

#include "core/error.hpp"
#include "core/log.hpp"
#include "daemon/hooks/hook_plan.hpp"
#include "replication/logic/filesystem_filter.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace zferry::daemon {

struct CommandHook {
    std::string path;  // absolute path of the executable
    std::chrono::milliseconds timeout{std::chrono::seconds(30)};
    bool err_is_fatal = false;
    // Which filesystems the hook runs for; zrepl's default is every filesystem of the job.
    replication::FilesystemFilter filesystems;
    // Output kept per stream (stdout and stderr), zrepl's ZREPL_MAX_HOOK_LOG_SIZE default.
    std::size_t max_output = std::size_t{1} << 20;
    // After SIGTERM at the timeout, how long before SIGKILL.
    std::chrono::milliseconds kill_grace{std::chrono::seconds(2)};
};

// The filter that accepts every filesystem ("<": ok).
replication::FilesystemFilter all_filesystems();

using HookEnv = std::vector<std::pair<std::string, std::string>>;

// The variables zrepl sets for an edge of a phase ("snapshot"), sorted by name; `extra`
// (ZREPL_FS, ZREPL_SNAPNAME) is added.
HookEnv hook_environment(HookEdge edge, std::string_view phase, bool dry_run,
                         std::chrono::milliseconds timeout, const HookEnv& extra);

struct HookOutcome {
    bool ok = false;
    bool timed_out = false;
    std::string status;       // "exit status 0", "killed by signal 15 (Terminated)", or why it did not run
    std::string out, err;     // the heads of stdout and stderr, each at most max_output bytes
    std::size_t dropped = 0;  // output bytes beyond the bound, not kept
    std::chrono::milliseconds took{};

    // One line for the log and the status view: "ZREPL_FS='...' ... /path: exit status 1".
    std::string describe(const CommandHook& hook, const HookEnv& env) const;
};

// Runs one edge of a hook. Never throws; a program that cannot start is a failed outcome.
// Cancelling the awaiting coroutine kills the hook's process group and reaps it.
boost::asio::awaitable<HookOutcome> run_command_hook(const CommandHook& hook, HookEdge edge,
                                                     std::string_view phase, bool dry_run,
                                                     const HookEnv& extra, const Logger& log);

// The hooks of `hooks` that apply to `filesystem`, in configuration order.
std::vector<const CommandHook*> hooks_for(const std::vector<CommandHook>& hooks, std::string_view filesystem);

// Drives a HookPlan for one filesystem's snapshot: pre edges, `callback` (the snapshot; its
// Result says whether it worked), post edges. Returns the finished plan for the report.
using HookCallback = std::function<boost::asio::awaitable<Result<void>>()>;
boost::asio::awaitable<HookPlan> run_hooks(const std::vector<const CommandHook*>& hooks,
                                           std::string_view phase, bool dry_run, HookEnv extra,
                                           HookCallback callback, const Logger& log);

}  // namespace zferry::daemon
