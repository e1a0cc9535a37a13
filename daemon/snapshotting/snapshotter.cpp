#include "daemon/snapshotting/snapshotter.hpp"

#include "daemon/snapshotting/periodic_sync.hpp"
#include "replication/endpoint/unmatched_datasets.hpp"
#include "zfs/busy_retry.hpp"
#include "zfs/listing_ops.hpp"
#include "zfs/snapshot_ops.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <set>

namespace zferry::snapshotting {

namespace asio = boost::asio;
using std::chrono::system_clock;

const char* to_string(SnapshotterState s) noexcept {
    switch (s) {
        case SnapshotterState::starting: return "starting";
        case SnapshotterState::syncing_up: return "syncing_up";
        case SnapshotterState::waiting: return "waiting";
        case SnapshotterState::snapshotting: return "snapshotting";
        case SnapshotterState::stopped: return "stopped";
    }
    return "?";
}

const char* to_string(FilesystemSnapshotReport::State s) noexcept {
    using S = FilesystemSnapshotReport::State;
    switch (s) {
        case S::pending: return "pending";
        case S::running: return "running";
        case S::done: return "done";
        case S::skipped_by_hook: return "skipped_by_hook";
        case S::failed: return "failed";
    }
    return "?";
}

std::size_t SnapshotterReport::done() const noexcept {
    return static_cast<std::size_t>(std::count_if(filesystems.begin(), filesystems.end(), [](const auto& f) {
        return f.state == FilesystemSnapshotReport::State::done;
    }));
}

namespace {

template <class D>
boost::json::value unix_or_null(const std::optional<std::chrono::time_point<system_clock, D>>& t) {
    if (!t) return nullptr;
    return std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
}

// Outside the coroutines: GCC 12 rejects braced lists of string literals in a coroutine body.
daemon::HookEnv snapshot_hook_env(const FilesystemSnapshotReport& f) {
    return {{"ZREPL_FS", f.filesystem}, {"ZREPL_SNAPNAME", f.snapshot}};
}

}  // namespace

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const SnapshotterReport& r) {
    boost::json::array fss;
    for (const auto& f : r.filesystems) {
        boost::json::array hooks;
        for (const auto& h : f.hooks) {
            std::ostringstream edge, status;
            edge << h.edge;
            status << h.status;
            hooks.push_back({{"edge", edge.str()},
                             {"status", status.str()},
                             {"report", h.report},
                             {"took_ms", h.took.count()}});
        }
        fss.push_back({{"filesystem", f.filesystem},
                       {"snapshot", f.snapshot},
                       {"state", to_string(f.state)},
                       {"error", f.error},
                       {"hooks", std::move(hooks)}});
    }
    jv = {{"state", to_string(r.state)},
          {"sync_point_unix", unix_or_null(r.sync_point)},
          {"last_run_started_unix", unix_or_null(r.last_run_started)},
          {"last_run_finished_unix", unix_or_null(r.last_run_finished)},
          {"next_run_unix", unix_or_null(r.next_run)},
          {"error", r.error},
          {"filesystems", std::move(fss)}};
}

Snapshotter::Snapshotter(zfs::ZfsRunner& runner, SnapshotterConfig config, WallClock clock, Logger log)
    : runner_(runner),
      config_(std::move(config)),
      clock_(std::move(clock)),
      log_(log.with("job", config_.job).with("subsystem", "snapshot")) {}

asio::awaitable<Result<std::vector<std::string>>> Snapshotter::matched_filesystems() {
    auto all = co_await zfs::list_filesystems(runner_, "");
    if (!all) co_return all.error();
    replication::report_unmatched(runner_, config_.filesystems, *all);
    std::vector<std::string> out;
    for (const auto& e : *all) {
        auto passes = config_.filesystems.passes(e.name);
        if (passes && *passes) out.push_back(e.name);
    }
    co_return out;
}

asio::awaitable<void> Snapshotter::sync_up(std::chrono::sys_seconds now) {
    const auto* periodic = std::get_if<PeriodicSchedule>(&config_.schedule);
    if (!periodic) co_return;
    report_.state = SnapshotterState::syncing_up;
    auto fss = co_await matched_filesystems();
    if (!fss) {
        report_.error = "sync-up: " + fss.error().message();
        log_.error("{}; snapshotting starts now", report_.error);
        co_return;
    }
    // One recursive listing per pool that holds a matched filesystem.
    std::set<std::string> pools;
    for (const auto& fs : *fss) pools.insert(fs.substr(0, fs.find('/')));
    std::map<std::string, std::vector<zfs::FilesystemVersion>> versions;
    for (const auto& pool : pools) {
        auto vs = co_await zfs::list_versions(runner_, pool,
                                              {.recursive = true, .snapshots = true, .bookmarks = false});
        if (!vs) {
            report_.error = "sync-up: " + vs.error().message();
            log_.error("{}; snapshotting starts now", report_.error);
            co_return;
        }
        versions.merge(zfs::group_by_filesystem(std::move(*vs)));
    }
    std::vector<FilesystemPrefixedSnapshots> input;
    for (const auto& fs : *fss) {
        FilesystemPrefixedSnapshots f{fs, {}};
        for (const auto& v : versions[fs]) {
            if (v.name.rfind(config_.naming.prefix(), 0) != 0) continue;
            f.snapshots.push_back(
                {v.name, std::chrono::sys_seconds(std::chrono::seconds(v.creation)), v.createtxg});
        }
        input.push_back(std::move(f));
    }
    auto sp = find_sync_point(input, periodic->interval, now);
    if (!sp) {
        report_.error = "sync-up: " + sp.error().message();
        log_.error("{}; snapshotting starts now", report_.error);
        co_return;
    }
    for (const auto& e : sp->errors) log_.warn("sync-up: {}", e.message());
    if (!sp->without_snapshots.empty())
        log_.info("sync-up: {} filesystem(s) have no snapshot with prefix '{}' yet",
                  sp->without_snapshots.size(), config_.naming.prefix());
    schedule_state_.sync_point = sp->when;
    report_.sync_point = sp->when;
}

asio::awaitable<void> Snapshotter::snapshot_round(system_clock::time_point now) {
    report_.state = SnapshotterState::snapshotting;
    report_.last_run_started = now;
    report_.error.clear();
    report_.filesystems.clear();
    const std::string name = config_.naming.name_at(now);
    auto fss = co_await matched_filesystems();
    if (!fss) {
        report_.error = "listing filesystems: " + fss.error().message();
        log_.error("{}", report_.error);
    } else {
        for (const auto& fs : *fss) report_.filesystems.push_back({fs, name});
        for (auto& f : report_.filesystems) {
            f.state = FilesystemSnapshotReport::State::running;
            const Logger l = log_.with("filesystem", f.filesystem);
            Error snap_error;
            auto take = [&]() -> asio::awaitable<Result<void>> {
                if (config_.dry_run) {
                    l.info("dry run: would take {}@{}", f.filesystem, f.snapshot);
                    co_return Result<void>{};
                }
                auto r = co_await zfs::retry_while_busy(
                    [&] { return zfs::create_snapshot(runner_, f.filesystem, f.snapshot); }, zfs::BusyRetry{},
                    l, "taking " + f.filesystem + "@" + f.snapshot);
                if (!r) snap_error = r.error();
                co_return r;
            };
            auto plan = co_await daemon::run_hooks(daemon::hooks_for(config_.hooks, f.filesystem), "snapshot",
                                                   config_.dry_run, snapshot_hook_env(f), take, l);
            f.hooks = plan.steps();
            if (plan.had_fatal_error()) {
                f.state = FilesystemSnapshotReport::State::skipped_by_hook;
                f.error = "a fatal pre-snapshot hook failed: no snapshot taken";
            } else if (snap_error) {
                f.state = FilesystemSnapshotReport::State::failed;
                f.error = snap_error.message();
                l.error("{}", f.error);
            } else {
                f.state = FilesystemSnapshotReport::State::done;
                if (!config_.dry_run) l.info("took snapshot {}@{}", f.filesystem, f.snapshot);
            }
        }
    }
    report_.last_run_finished = clock_();
    report_.state = SnapshotterState::waiting;
}

asio::awaitable<void> Snapshotter::run(std::function<void(const SnapshotterReport&)> on_round) {
    struct Stopped {
        SnapshotterReport& r;
        ~Stopped() { r.state = SnapshotterState::stopped; }
    } stopped{report_};
    const auto seconds_now = [&] { return std::chrono::floor<std::chrono::seconds>(clock_()); };
    co_await sync_up(seconds_now());
    asio::steady_timer timer(co_await asio::this_coro::executor);
    // The instant the last look said to fire at. Cron's next activation is strictly after
    // now, so asking again once the clock has reached it (same second) names the one after:
    // the activation slept toward is due when the clock passed it, and asking alone would
    // skip every one of them.
    std::optional<std::chrono::sys_seconds> pending;
    for (;;) {
        const auto now = clock_();
        auto next =
            next_fire_time(config_.schedule, schedule_state_, std::chrono::floor<std::chrono::seconds>(now));
        if (pending && *pending <= now) next = pending;
        pending = next;
        report_.next_run = next;
        report_.state = SnapshotterState::waiting;
        if (next && *next <= now) {
            pending.reset();
            schedule_state_.last_invocation = std::chrono::floor<std::chrono::seconds>(now);
            co_await snapshot_round(now);
            if (on_round) on_round(report_);
            continue;
        }
        // Sleep until the next fire or one slice, whichever is sooner, then look again.
        auto slice = config_.max_sleep;
        if (next) slice = std::min(slice, std::chrono::ceil<std::chrono::milliseconds>(*next - now));
        timer.expires_after(slice);
        co_await timer.async_wait(asio::use_awaitable);  // throws on cancellation: run() ends
    }
}

}  // namespace zferry::snapshotting
