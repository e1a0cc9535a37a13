// Why no incremental path exists between a receiver and a sender (reference §3.2), with
// both sides' versions so the message tells the operator what each side has.
#pragma once

#include "zfs/filesystem_version.hpp"

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::replication {

enum class ConflictKind {
    // The sender has no versions at all.
    no_sender_snapshots,
    // No GUID is on both sides (the receiver may be empty: initial replication).
    no_common_ancestor,
    // The newest common version is not the receiver's newest snapshot: the receiver has
    // snapshots the sender does not (rolled back, or written to on the receiver).
    diverged,
    // The sender's newest snapshot is already on the receiver: nothing to do.
    most_recent_snapshot_already_present,
};

// "no_sender_snapshots", "no_common_ancestor", "diverged", "most_recent_snapshot_already_present"
std::string_view to_string(ConflictKind k) noexcept;
std::ostream& operator<<(std::ostream& os, ConflictKind k);

struct Conflict {
    ConflictKind kind = ConflictKind::no_common_ancestor;
    // Sorted by createtxg, bookmark before snapshot on a tie; receiver bookmarks removed.
    std::vector<zfs::FilesystemVersion> sorted_sender_versions;
    std::vector<zfs::FilesystemVersion> sorted_receiver_versions;
    // diverged, most_recent_snapshot_already_present: the newest version on both sides.
    std::optional<zfs::FilesystemVersion> common_ancestor;
    // diverged: the versions after the common ancestor on each side.
    std::vector<zfs::FilesystemVersion> sender_only;
    std::vector<zfs::FilesystemVersion> receiver_only;

    // zrepl's wording, listing the versions of both sides one per line, e.g.
    // "the receiver's latest snapshot is not present on sender:\n  last common: @a\n ...".
    std::string message() const;

    friend bool operator==(const Conflict&, const Conflict&) = default;
};

std::ostream& operator<<(std::ostream& os, const Conflict& c);

}  // namespace zferry::replication
