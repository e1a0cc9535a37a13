#include "daemon/snapshotting/periodic_sync.hpp"

#include <algorithm>
#include <optional>

namespace zferry::snapshotting {

Result<SyncPoint> find_sync_point(std::span<const FilesystemPrefixedSnapshots> filesystems,
                                  std::chrono::seconds interval, std::chrono::sys_seconds now) {
    SyncPoint out{now, {}, {}};
    if (filesystems.empty()) return out;
    std::optional<std::chrono::sys_seconds> earliest;
    for (const auto& fs : filesystems) {
        if (fs.snapshots.empty()) {
            out.without_snapshots.push_back(fs.filesystem);
            continue;
        }
        // zrepl sorts stably by createtxg and takes the last: on equal createtxg the later
        // listed snapshot wins.
        const PrefixedSnapshot* latest = &fs.snapshots.front();
        for (const auto& s : fs.snapshots)
            if (s.createtxg >= latest->createtxg) latest = &s;
        if (latest->creation > now) {
            out.errors.push_back(Error(Errc::invalid_argument,
                                       "filesystem '" + fs.filesystem + "': snapshot '" + latest->name +
                                           "' is from the future (is the clock right?); it is not used to "
                                           "align the snapshot schedule"));
            continue;
        }
        const auto t = latest->creation + interval;
        if (!earliest || t < *earliest) earliest = t;
    }
    if (out.errors.size() == filesystems.size())
        return Error(Errc::invalid_argument,
                     "cannot determine the periodic snapshot sync point: every filesystem's newest snapshot "
                     "is from the future (first: " +
                         out.errors.front().context() + ")");
    if (earliest) out.when = *earliest;
    return out;
}

}  // namespace zferry::snapshotting
