#include "daemon/pruning/prune_snapshot.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

namespace zferry::pruning {

Result<void> mark_replicated_by_cursor(std::span<PruneSnapshot> snapshots, std::uint64_t cursor_guid,
                                       bool cursor_counts_as_replicated) {
    std::vector<std::size_t> order(snapshots.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return snapshots[a].createtxg < snapshots[b].createtxg;
    });
    bool pre_cursor = true;
    for (auto i : order) {
        const bool at_cursor = snapshots[i].guid == cursor_guid;
        pre_cursor = pre_cursor && !at_cursor;
        snapshots[i].replicated = pre_cursor || (cursor_counts_as_replicated && at_cursor);
    }
    if (pre_cursor) {
        // Undo: a half-marked list must not reach the rules.
        for (auto& s : snapshots) s.replicated = false;
        char hex[17];
        static const char* digits = "0123456789abcdef";
        for (int k = 0; k < 16; ++k) hex[k] = digits[(cursor_guid >> (60 - 4 * k)) & 0xf];
        hex[16] = '\0';
        return Error(Errc::not_found, std::string("replication cursor snapshot (guid 0x") + hex +
                                          ") not found among the snapshots to prune; not pruning this "
                                          "filesystem (one successful replication is required first)");
    }
    return {};
}

}  // namespace zferry::pruning
