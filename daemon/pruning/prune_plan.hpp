// What pruning would do to one filesystem, as data: every snapshot kept (by which rules,
// or protected and why) or destroyed. The pruner executes destroy_names(); `--dry-run`
// prints the plan; the status view serialises it.
#pragma once

#include "daemon/pruning/keep_rule.hpp"
#include "daemon/pruning/prune_snapshot.hpp"

#include <boost/json/value_from.hpp>

#include <iosfwd>
#include <span>
#include <string>
#include <vector>

namespace zferry::pruning {

// A snapshot the caller needs whatever the rules say: the source or target of an active
// replication step, the newest common snapshot of sender and receiver, ...
struct ProtectedSnapshot {
    std::string name;  // the part after '@'
    std::string reason;
};

struct PruneDecision {
    std::string snapshot;  // the part after '@'
    std::chrono::sys_seconds creation;
    std::uint64_t createtxg = 0;
    bool destroy = false;
    std::vector<std::string> kept_by;  // descriptions of the rules that keep it
    std::string protected_reason;      // non-empty: kept because the caller protects it
};

struct PrunePlan {
    std::string filesystem;
    std::vector<PruneDecision> decisions;  // oldest first (createtxg, then creation)

    std::vector<std::string> destroy_names() const;
    std::size_t destroy_count() const;
};

// A snapshot is destroyed iff it is not protected and no rule keeps it; with no rules
// nothing is destroyed. The plan lists every snapshot, oldest first.
PrunePlan plan_pruning(std::string filesystem, std::span<const PruneSnapshot> snapshots,
                       std::span<const KeepRule> rules,
                       std::span<const ProtectedSnapshot> protected_snapshots);

// One line per snapshot: "destroy pool/a@s1 (created 2024-05-14T21:16:23Z): no rule keeps
// it", "keep pool/a@s2 (created ...): kept by not_replicated, last_n(count=10)", "keep ...:
// protected: <reason>".
std::ostream& operator<<(std::ostream& os, const PruneDecision& d);
std::ostream& operator<<(std::ostream& os, const PrunePlan& p);

// {"snapshot", "creation_unix", "createtxg", "action": "keep"|"destroy", "kept_by": [...],
//  "protected": reason or null} and {"filesystem", "destroy_count", "decisions": [...]}.
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const PruneDecision& d);
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const PrunePlan& p);

}  // namespace zferry::pruning
