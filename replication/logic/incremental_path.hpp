// The incremental path from the receiver's state to the sender's newest snapshot
// (zrepl's IncrementalPath, reference §3.2): start at the newest version whose GUID both
// sides have (a sender bookmark will do, a snapshot is preferred), then every later sender
// snapshot. Receiver bookmarks are ignored: they can be neither a source nor an obstacle.
#pragma once

#include "replication/logic/conflict.hpp"
#include "zfs/filesystem_version.hpp"

#include <span>
#include <variant>
#include <vector>

namespace zferry::replication {

// Sorts by createtxg, a bookmark before a snapshot of the same createtxg (a bookmark made
// of a snapshot shares its createtxg and GUID; the snapshot then wins the scan from the
// newest end). Stable, so equal versions keep their listing order.
void sort_versions(std::vector<zfs::FilesystemVersion>& versions);

// The path: element 0 is the incremental source (snapshot or bookmark), the rest are the
// snapshots to send, in order, at least one. Or the conflict that prevents one, including
// most_recent_snapshot_already_present, which means nothing is to be done.
using IncrementalPathResult = std::variant<std::vector<zfs::FilesystemVersion>, Conflict>;

IncrementalPathResult incremental_path(std::span<const zfs::FilesystemVersion> receiver,
                                       std::span<const zfs::FilesystemVersion> sender);

}  // namespace zferry::replication
