// A snapshot as the pruning rules see it.
#pragma once

#include "core/error.hpp"

#include <chrono>
#include <cstdint>
#include <span>
#include <string>

namespace zferry::pruning {

struct PruneSnapshot {
    std::string name;  // the part after '@'
    std::chrono::sys_seconds creation;
    std::uint64_t createtxg = 0;
    std::uint64_t guid = 0;
    // True when the snapshot is known to be on the other side; the not_replicated rule
    // keeps the others. Set by the caller or by mark_replicated_by_cursor.
    bool replicated = false;
};

// The active-side pruner's marking (zrepl pruner.go): walking the snapshots in createtxg
// order, those strictly before the replication cursor's snapshot (matched by GUID, since
// sender and receiver createtxgs are unrelated) are replicated; the cursor snapshot itself
// counts as replicated only if `cursor_counts_as_replicated` (a not_replicated rule with
// keep_snapshot_at_cursor: false). An error if no snapshot has the cursor's GUID: then
// nothing can be known to be replicated and the filesystem must not be pruned.
Result<void> mark_replicated_by_cursor(std::span<PruneSnapshot> snapshots, std::uint64_t cursor_guid,
                                       bool cursor_counts_as_replicated);

}  // namespace zferry::pruning
