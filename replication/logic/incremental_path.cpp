#include "replication/logic/incremental_path.hpp"

#include <algorithm>
#include <optional>

namespace zferry::replication {

using zfs::FilesystemVersion;
using zfs::VersionType;

void sort_versions(std::vector<FilesystemVersion>& versions) {
    std::stable_sort(versions.begin(), versions.end(),
                     [](const FilesystemVersion& a, const FilesystemVersion& b) {
                         if (a.createtxg != b.createtxg) return a.createtxg < b.createtxg;
                         return a.type == VersionType::bookmark && b.type == VersionType::snapshot;
                     });
}

IncrementalPathResult incremental_path(std::span<const FilesystemVersion> receiver_in,
                                       std::span<const FilesystemVersion> sender_in) {
    std::vector<FilesystemVersion> receiver;
    for (const auto& v : receiver_in)
        if (v.type == VersionType::snapshot) receiver.push_back(v);
    std::vector<FilesystemVersion> sender(sender_in.begin(), sender_in.end());
    sort_versions(receiver);
    sort_versions(sender);

    // The newest receiver snapshot that the sender has, and the sender's newest version with
    // that GUID (so a snapshot beats the bookmark made from it).
    std::optional<std::size_t> r_idx, s_idx;
    for (std::size_t r = receiver.size(); r-- > 0 && !r_idx;) {
        for (std::size_t s = sender.size(); s-- > 0;) {
            if (sender[s].guid == receiver[r].guid) {
                r_idx = r;
                s_idx = s;
                break;
            }
        }
    }

    if (!r_idx) {
        Conflict c;
        if (sender.empty()) {
            c.kind = ConflictKind::no_sender_snapshots;
            return c;
        }
        c.kind = ConflictKind::no_common_ancestor;
        c.sorted_sender_versions = std::move(sender);
        c.sorted_receiver_versions = std::move(receiver);
        return c;
    }
    if (*r_idx != receiver.size() - 1) {
        Conflict c;
        c.kind = ConflictKind::diverged;
        c.common_ancestor = sender[*s_idx];
        c.sender_only.assign(sender.begin() + static_cast<std::ptrdiff_t>(*s_idx) + 1, sender.end());
        c.receiver_only.assign(receiver.begin() + static_cast<std::ptrdiff_t>(*r_idx) + 1, receiver.end());
        c.sorted_sender_versions = std::move(sender);
        c.sorted_receiver_versions = std::move(receiver);
        return c;
    }

    // Only the source may be a bookmark; a snapshot with the GUID of the previous element is
    // the same data (the bookmark was made from it) and is skipped.
    std::vector<FilesystemVersion> path{sender[*s_idx]};
    for (std::size_t i = *s_idx + 1; i < sender.size(); ++i)
        if (sender[i].type == VersionType::snapshot && sender[i].guid != path.back().guid)
            path.push_back(sender[i]);
    if (path.size() == 1) {
        Conflict c;
        c.kind = ConflictKind::most_recent_snapshot_already_present;
        c.common_ancestor = sender[*s_idx];
        c.sorted_sender_versions = std::move(sender);
        c.sorted_receiver_versions = std::move(receiver);
        return c;
    }
    return path;
}

}  // namespace zferry::replication
