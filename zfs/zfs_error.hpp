// Error codes for what zfs refused, so callers can branch on the reason (a missing dataset, a
// held snapshot, a feature this zfs lacks) without scraping messages again. All but one are
// permanent for the replication driver: retrying the same command cannot help until something
// changes (a hold is released, the dataset appears, a newer zfs is installed). The exception is
// `dataset_busy`: zfs still holds the dataset for a receive it is tearing down or for an
// asynchronous unmount (zfs-fuse), and the same command succeeds moments later, so the category
// maps it to zferry::Condition::temporary. The Error's context names the dataset and quotes zfs.
#pragma once

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace zferry::zfs {

enum class ZfsErrc {
    command_failed = 1,     // zfs exited non-zero for a reason zferry does not classify
    dataset_not_found,      // the filesystem, snapshot or bookmark does not exist
    dataset_exists,         // e.g. a bookmark of that name exists with another GUID
    snapshot_held,          // destroy refused: the snapshot has user holds ("dataset is busy" / "being held")
    dataset_busy,           // "dataset is busy" where no hold explains it: in use for a moment (temporary)
    more_recent_snapshots,  // rollback without -r: later snapshots exist
    unsupported,            // this zfs lacks the feature (zfs-fuse: bookmarks, zfs holds, ...)
    snapshot_in_use,        // destroy refused for a reason other than holds (e.g. dependent clones)
    out_of_space,           // the pool has no space left (ENOSPC); permanent, see zfs_error.cpp
};

const boost::system::error_category& zfs_category() noexcept;

inline boost::system::error_code make_error_code(ZfsErrc e) noexcept {
    return {static_cast<int>(e), zfs_category()};
}

}  // namespace zferry::zfs

template <>
struct boost::system::is_error_code_enum<zferry::zfs::ZfsErrc> : std::true_type {};
