// The snapshotter of push, source and snap jobs (reference §6.3): on the schedule, one
// `zfs snapshot FS@<prefix><timestamp>` per filesystem of the job, bracketed by that
// filesystem's hooks, then a notification to the job (a push job replicates after each round).
//
// Why one snapshot per filesystem and not `zfs snapshot -r` or one multi-snapshot call, as
// zrepl does: the filter may leave out children, so -r would snapshot datasets the job must
// not touch; hooks belong to one filesystem and must bracket its own snapshot (a database
// flushed by a pre hook is snapshotted right after, not after every other filesystem); and
// zfs-fuse takes one snapshot argument per call. Every filesystem of a round gets the same
// name (the round's timestamp), so the snapshots still line up across filesystems.
//
// The driver owns the clock: it sleeps in slices of at most `max_sleep`, re-reads the wall
// clock after each and asks the pure schedule again, so a wall-clock jump or a suspend gives
// one snapshot, never a burst, and no long timer fires hours late.
#pragma once

#include "core/error.hpp"
#include "core/log.hpp"
#include "daemon/hooks/command_hook.hpp"
#include "daemon/snapshotting/schedule.hpp"
#include "daemon/snapshotting/snapshot_naming.hpp"
#include "replication/logic/filesystem_filter.hpp"
#include "zfs/zfs_runner.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/fwd.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace zferry::snapshotting {

struct SnapshotterConfig {
    std::string job;
    replication::FilesystemFilter filesystems;
    SnapshotNaming naming;
    Schedule schedule;
    std::vector<daemon::CommandHook> hooks;
    // Longest sleep between two looks at the wall clock.
    std::chrono::milliseconds max_sleep{std::chrono::seconds(60)};
    // Plan and run hooks with ZREPL_DRYRUN=true, but take no snapshot.
    bool dry_run = false;
};

using WallClock = std::function<std::chrono::system_clock::time_point()>;

enum class SnapshotterState { starting, syncing_up, waiting, snapshotting, stopped };

struct FilesystemSnapshotReport {
    enum class State { pending, running, done, skipped_by_hook, failed };
    std::string filesystem;
    std::string snapshot;  // the name after '@'
    State state = State::pending;
    std::string error;
    std::vector<daemon::HookStep> hooks;
};

struct SnapshotterReport {
    SnapshotterState state = SnapshotterState::starting;
    std::optional<std::chrono::sys_seconds> sync_point;
    std::optional<std::chrono::system_clock::time_point> last_run_started, last_run_finished;
    std::optional<std::chrono::sys_seconds> next_run;  // none: manual
    std::string error;  // of the last round as a whole (listing failed, sync-up failed)
    std::vector<FilesystemSnapshotReport> filesystems;  // of the current or last round

    // Filesystems of the last round that got their snapshot.
    std::size_t done() const noexcept;
};

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const SnapshotterReport& r);
const char* to_string(SnapshotterState s) noexcept;
const char* to_string(FilesystemSnapshotReport::State s) noexcept;

class Snapshotter {
public:
    Snapshotter(zfs::ZfsRunner& runner, SnapshotterConfig config, WallClock clock, Logger log);

    // Runs the schedule until the awaiting coroutine is cancelled: the periodic sync-up
    // first, then a round whenever the schedule says so, `on_round` after each.
    boost::asio::awaitable<void> run(std::function<void(const SnapshotterReport&)> on_round);

    // One round at `now`, whatever the schedule: the filesystems matched now, one name.
    boost::asio::awaitable<void> snapshot_round(std::chrono::system_clock::time_point now);

    // The periodic sync-up (reference §6.3); errors are reported and the round starts now.
    boost::asio::awaitable<void> sync_up(std::chrono::sys_seconds now);

    const SnapshotterReport& report() const noexcept { return report_; }

private:
    boost::asio::awaitable<Result<std::vector<std::string>>> matched_filesystems();

    zfs::ZfsRunner& runner_;
    SnapshotterConfig config_;
    WallClock clock_;
    Logger log_;
    ScheduleState schedule_state_;
    SnapshotterReport report_;
};

}  // namespace zferry::snapshotting
