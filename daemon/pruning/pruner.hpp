// The pruner (reference §6.4): per filesystem of one side, list its snapshots, mark what is
// replicated from the sender's replication cursor, plan with the keep rules (prune_plan.hpp)
// and destroy what no rule keeps, in batches. It runs for the sender and the receiver side of
// push and pull jobs and for the local side of snap jobs; the sides are interfaces, so the
// same pruner works on a local pool and, through the replication endpoint, on a remote one.
//
// Safe by construction, whatever the rules say:
// - only snapshots are ever destroyed, and only of filesystems the side lists (the job's);
// - the newest snapshot common to both sides (by GUID) is protected: it is the base of the
//   next incremental;
// - snapshots the job names as in use (the from and to of an active replication step) are
//   protected;
// - a held snapshot (step hold, last-received hold, or a user's own) is reported with zfs's
//   reason and kept, never force-released;
// - without a replication cursor nothing is known to be replicated, and the receiver side
//   of that filesystem is not pruned at all (zrepl's error text).
#pragma once

#include "core/error.hpp"
#include "core/log.hpp"
#include "daemon/pruning/keep_rule.hpp"
#include "daemon/pruning/prune_plan.hpp"
#include "zfs/filesystem_version.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/fwd.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace zferry::pruning {

// The side being pruned (names are the job's filesystem names on both sides).
class PruneTarget {
public:
    virtual ~PruneTarget() = default;
    // The filesystems to prune: the job's, without placeholders.
    virtual boost::asio::awaitable<Result<std::vector<std::string>>> list_filesystems() = 0;
    virtual boost::asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> list_versions(
        std::string fs) = 0;
    struct Refused {
        std::string snapshot;  // the name after '@'
        std::string reason;    // zfs's words
        bool held = false;
    };
    // Destroys FS@name for each name; what zfs refused comes back in the result, and the
    // rest is gone. Errors only for failures that say nothing about single snapshots.
    virtual boost::asio::awaitable<Result<std::vector<Refused>>> destroy_snapshots(
        std::string fs, std::vector<std::string> names) = 0;
};

// What the pruner needs to know of the replication (absent for snap jobs): the other side's
// versions, and the job's replication cursor, which lives on the sender whichever side is
// pruned (the job wires both endpoints behind this).
class PrunePeer {
public:
    virtual ~PrunePeer() = default;
    // The versions of `fs` on the other side (empty: it has none).
    virtual boost::asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> list_versions(
        std::string fs) = 0;
    // The GUID of the snapshot the sender's replication cursor points at; nullopt: no cursor.
    virtual boost::asio::awaitable<Result<std::optional<std::uint64_t>>> replication_cursor(
        std::string fs) = 0;
};

struct PrunerConfig {
    std::string job;
    std::string side;  // "sender", "receiver" or "local", for logs and the report
    std::vector<KeepRule> rules;
    // Snapshots of `fs` that must stay for now (active replication steps).
    std::function<std::vector<ProtectedSnapshot>(const std::string& fs)> in_use;
    bool dry_run = false;
};

struct PruneFilesystemReport {
    std::string filesystem;
    PrunePlan plan;                             // every snapshot, kept (why) or destroyed
    std::vector<PruneTarget::Refused> refused;  // what zfs would not destroy (kept)
    std::string skip_reason;                    // not pruned at all (no cursor, no counterpart)
    std::string error;                          // listing or destroy failed
};

struct PrunerReport {
    enum class State { plan, plan_error, exec, exec_error, done };
    State state = State::plan;
    std::string error;  // plan_error: listing the filesystems failed
    std::vector<std::string> pending;
    std::vector<PruneFilesystemReport> completed;

    std::size_t destroyed() const noexcept;  // snapshots destroyed (0 in a dry run)
};

const char* to_string(PrunerReport::State s) noexcept;
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const PrunerReport& r);

class Pruner {
public:
    // `peer` null: a snap job (no replication partner, no cursor, no common snapshot).
    Pruner(PruneTarget& target, PrunePeer* peer, PrunerConfig config, Logger log);

    // One pruning run over every filesystem of the target.
    boost::asio::awaitable<void> run();

    const PrunerReport& report() const noexcept { return report_; }

private:
    // Plans (and unless dry, executes) one filesystem; fills `out`.
    boost::asio::awaitable<void> prune_filesystem(const std::string& fs, PruneFilesystemReport& out);

    PruneTarget& target_;
    PrunePeer* peer_;
    PrunerConfig config_;
    Logger log_;
    PrunerReport report_;
};

}  // namespace zferry::pruning
