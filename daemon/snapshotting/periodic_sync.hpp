// The periodic snapshotter's sync-up on start (zrepl snapper/periodic.go findSyncPoint):
// the first snapshot after a restart lines up with the existing ones instead of starting a
// fresh interval at process start.
#pragma once

#include "core/error.hpp"

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace zferry::snapshotting {

// A snapshot of one filesystem whose name starts with the job's prefix (the caller lists
// with that prefix filter, as zrepl does).
struct PrefixedSnapshot {
    std::string name;
    std::chrono::sys_seconds creation;
    std::uint64_t createtxg = 0;
};

struct FilesystemPrefixedSnapshots {
    std::string filesystem;
    std::vector<PrefixedSnapshot> snapshots;
};

struct SyncPoint {
    std::chrono::sys_seconds when;
    // Filesystems that had no snapshot with the prefix (zrepl logs them).
    std::vector<std::string> without_snapshots;
    // Filesystems that could not be used, each with why (newest snapshot in the future).
    std::vector<Error> errors;
};

// Per filesystem: its newest prefixed snapshot by createtxg; its creation + interval is
// that filesystem's next optimal snapshot time (an error if the snapshot is from the
// future). The sync point is the earliest of these; `now` if no filesystem has a prefixed
// snapshot or there are no filesystems. If every filesystem gave an error, an error.
// A sync point in the past means "snapshot now".
Result<SyncPoint> find_sync_point(std::span<const FilesystemPrefixedSnapshots> filesystems,
                                  std::chrono::seconds interval, std::chrono::sys_seconds now);

}  // namespace zferry::snapshotting
