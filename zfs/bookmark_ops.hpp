// Bookmarks: zrepl's replication cursors. Creation is idempotent by GUID, so a retried
// SendCompleted never fails on the cursor it already moved.
#pragma once

#include "core/error.hpp"
#include "zfs/filesystem_version.hpp"
#include "zfs/zfs_runner.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace zferry::zfs {

// `zfs bookmark FS@snap FS#name` (or FS#other FS#name where zfs copies bookmarks). `source`
// comes from a listing: its guid must be set. `name` is the short bookmark name.
// Idempotent: if FS#name exists with source's GUID, that is success (one more `zfs get`);
// with another GUID it is ZfsErrc::dataset_exists naming both GUIDs. Returns the bookmark as a
// version (source's guid, createtxg and creation). Errors: no bookmarks on this zfs
// (ZfsErrc::unsupported; zfs-fuse), the source missing (ZfsErrc::dataset_not_found), bad
// names or a guid of 0 (Errc::invalid_argument; nothing run).
boost::asio::awaitable<Result<FilesystemVersion>> create_bookmark(ZfsRunner& runner, FilesystemVersion source,
                                                                  std::string name);

// `zfs destroy FS#name`. Idempotent: an absent bookmark (or filesystem) is success.
// Errors: not a bookmark name (Errc::invalid_argument), other zfs failures
// (ZfsErrc::command_failed). Where zfs has no bookmarks there is nothing to destroy: success.
boost::asio::awaitable<Result<void>> destroy_bookmark(ZfsRunner& runner, std::string bookmark);

}  // namespace zferry::zfs
