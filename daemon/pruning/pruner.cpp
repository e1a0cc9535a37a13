#include "daemon/pruning/pruner.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <sstream>

namespace zferry::pruning {

namespace asio = boost::asio;

const char* to_string(PrunerReport::State s) noexcept {
    switch (s) {
        case PrunerReport::State::plan: return "Plan";
        case PrunerReport::State::plan_error: return "PlanErr";
        case PrunerReport::State::exec: return "Exec";
        case PrunerReport::State::exec_error: return "ExecErr";
        case PrunerReport::State::done: return "Done";
    }
    return "?";
}

std::size_t PrunerReport::destroyed() const noexcept {
    std::size_t n = 0;
    for (const auto& f : completed)
        if (f.error.empty() && f.skip_reason.empty()) n += f.plan.destroy_count() - f.refused.size();
    return n;
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const PrunerReport& r) {
    boost::json::array completed;
    for (const auto& f : r.completed) {
        boost::json::array snapshots, destroy, refused;
        for (const auto& d : f.plan.decisions) snapshots.push_back(boost::json::string(d.snapshot));
        for (const auto& n : f.plan.destroy_names()) destroy.push_back(boost::json::string(n));
        for (const auto& x : f.refused)
            refused.push_back({{"snapshot", x.snapshot}, {"reason", x.reason}, {"held", x.held}});
        completed.push_back({{"Filesystem", f.filesystem},
                             {"SnapshotList", std::move(snapshots)},
                             {"DestroyList", std::move(destroy)},
                             {"Refused", std::move(refused)},
                             {"SkipReason", f.skip_reason},
                             {"LastError", f.error},
                             {"Plan", boost::json::value_from(f.plan)}});
    }
    boost::json::array pending;
    for (const auto& p : r.pending) pending.push_back(boost::json::string(p));
    jv = {{"State", to_string(r.state)},
          {"Error", r.error},
          {"Pending", std::move(pending)},
          {"Completed", std::move(completed)}};
}

Pruner::Pruner(PruneTarget& target, PrunePeer* peer, PrunerConfig config, Logger log)
    : target_(target),
      peer_(peer),
      config_(std::move(config)),
      log_(log.with("job", config_.job).with("subsystem", "pruning").with("prune_side", config_.side)) {}

namespace {

std::vector<PruneSnapshot> snapshots_of(const std::vector<zfs::FilesystemVersion>& versions) {
    std::vector<PruneSnapshot> out;
    for (const auto& v : versions) {
        if (v.type != zfs::VersionType::snapshot) continue;
        out.push_back(
            {v.name, std::chrono::sys_seconds(std::chrono::seconds(v.creation)), v.createtxg, v.guid});
    }
    return out;
}

// The newest snapshot of `mine` whose GUID the peer has too.
std::optional<std::string> newest_common(const std::vector<PruneSnapshot>& mine,
                                         const std::vector<zfs::FilesystemVersion>& theirs) {
    std::optional<std::string> found;
    std::uint64_t txg = 0;
    for (const auto& s : mine) {
        const bool shared = std::any_of(theirs.begin(), theirs.end(), [&](const zfs::FilesystemVersion& v) {
            return v.type == zfs::VersionType::snapshot && v.guid == s.guid;
        });
        if (shared && (!found || s.createtxg >= txg)) {
            found = s.name;
            txg = s.createtxg;
        }
    }
    return found;
}

}  // namespace

asio::awaitable<void> Pruner::prune_filesystem(const std::string& fs, PruneFilesystemReport& out) {
    const Logger l = log_.with("filesystem", fs);
    out.filesystem = fs;
    out.plan.filesystem = fs;
    auto versions = co_await target_.list_versions(fs);
    if (!versions) {
        out.error = versions.error().message();
        co_return;
    }
    auto snapshots = snapshots_of(*versions);
    std::vector<ProtectedSnapshot> protect;
    if (config_.in_use)
        for (auto& p : config_.in_use(fs)) protect.push_back(std::move(p));

    if (peer_) {
        auto theirs = co_await peer_->list_versions(fs);
        if (!theirs) {
            out.error = "listing the replication partner's versions: " + theirs.error().message();
            co_return;
        }
        if (auto common = newest_common(snapshots, *theirs))
            protect.push_back(
                {*common, "newest snapshot common to both sides (the next incremental starts here)"});
        auto cursor = co_await peer_->replication_cursor(fs);
        if (!cursor) {
            out.error = "reading the replication cursor: " + cursor.error().message();
            co_return;
        }
        if (!*cursor) {
            // As zrepl: with no cursor nothing is known to be replicated, on either side.
            out.skip_reason =
                "replication cursor bookmark does not exist (one successful replication is required before "
                "pruning works)";
            l.warn("not pruning: {}", out.skip_reason);
            co_return;
        } else {
            const bool cursor_replicated =
                std::any_of(config_.rules.begin(), config_.rules.end(),
                            [](const KeepRule& r) { return r.treats_cursor_as_replicated(); });
            if (auto m = mark_replicated_by_cursor(snapshots, **cursor, cursor_replicated); !m) {
                out.skip_reason = m.error().message();
                l.warn("not pruning: {}", out.skip_reason);
                co_return;
            }
        }
    }
    out.plan = plan_pruning(fs, snapshots, config_.rules, protect);
    auto names = out.plan.destroy_names();
    if (names.empty() || config_.dry_run) {
        if (config_.dry_run && !names.empty()) l.info("dry run: would destroy {} snapshot(s)", names.size());
        co_return;
    }
    auto refused = co_await target_.destroy_snapshots(fs, names);
    if (!refused) {
        out.error = refused.error().message();
        l.error("destroying snapshots: {}", out.error);
        co_return;
    }
    out.refused = std::move(*refused);
    for (const auto& r : out.refused)
        l.warn("kept {}@{}: zfs refused to destroy it ({})", fs, r.snapshot, r.reason);
    l.info("destroyed {} snapshot(s)", names.size() - out.refused.size());
}

asio::awaitable<void> Pruner::run() {
    report_ = {};
    report_.state = PrunerReport::State::plan;
    auto fss = co_await target_.list_filesystems();
    if (!fss) {
        report_.state = PrunerReport::State::plan_error;
        report_.error = fss.error().message();
        log_.error("listing filesystems: {}", report_.error);
        co_return;
    }
    report_.pending = *fss;
    report_.state = PrunerReport::State::exec;
    bool any_error = false;
    while (!report_.pending.empty()) {
        const std::string fs = report_.pending.front();
        report_.pending.erase(report_.pending.begin());
        PruneFilesystemReport out;
        co_await prune_filesystem(fs, out);
        any_error = any_error || !out.error.empty();
        report_.completed.push_back(std::move(out));
    }
    report_.state = any_error ? PrunerReport::State::exec_error : PrunerReport::State::done;
}

}  // namespace zferry::pruning
