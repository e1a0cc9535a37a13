// Taking a snapshot: `zfs snapshot FS@NAME`, one filesystem per call (zfs-fuse takes no more).
#pragma once

#include "core/error.hpp"
#include "zfs/zfs_runner.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace zferry::zfs {

// Errors: a snapshot of that name exists (ZfsErrc::dataset_exists: the caller decides whether
// that is success, e.g. a snapshotter that took it before a crash), the filesystem does not
// exist (ZfsErrc::dataset_not_found), zfs holds the filesystem for a moment
// (ZfsErrc::dataset_busy, temporary), anything else (ZfsErrc::command_failed quoting zfs),
// an invalid name (Errc::invalid_argument; nothing runs).
boost::asio::awaitable<Result<void>> create_snapshot(ZfsRunner& runner, std::string filesystem,
                                                     std::string name);

}  // namespace zferry::zfs
