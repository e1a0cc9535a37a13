// User holds on snapshots (zrepl's step and last-received holds). hold and release are
// idempotent exactly as zrepl's: an existing tag on hold and an absent tag on release are
// success, so a retried replication step never fails on its own earlier half-done work.
#pragma once

#include "core/error.hpp"
#include "zfs/batching.hpp"
#include "zfs/zfs_runner.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace zferry::zfs {

// `zfs hold TAG SNAPSHOT`. Success when the tag is already there ("tag already exists on this
// dataset"). Errors: the snapshot does not exist (ZfsErrc::dataset_not_found, names it), an
// invalid snapshot name or tag (Errc::invalid_argument; nothing run), other zfs failures
// (ZfsErrc::command_failed quoting zfs).
boost::asio::awaitable<Result<void>> hold(ZfsRunner& runner, std::string snapshot, std::string tag);

// `zfs hold TAG SNAP...` in one invocation (a replication step holds `from` and `to`
// together). zfs holds all or none; when that fails (one has the tag already), each snapshot
// is held by itself as hold() does, so the result is the same idempotent one.
boost::asio::awaitable<Result<void>> hold_all(ZfsRunner& runner, std::vector<std::string> snapshots,
                                              std::string tag);

// `zfs release TAG SNAP...` batched to at most `max_arg_bytes` of arguments per call (halved
// and retried when exec says E2BIG). Idempotent: "no such tag on this dataset" and snapshots
// (or their filesystems) that no longer exist are success: the hold is gone either way.
// Errors: ZfsErrc::command_failed with every unexpected zfs line; bad names (nothing run).
boost::asio::awaitable<Result<void>> release(ZfsRunner& runner, std::string tag,
                                             std::vector<std::string> snapshots,
                                             std::size_t max_arg_bytes = kDefaultArgBudget);

struct SnapshotHolds {
    std::string snapshot;     // "pool/fs@snap"
    std::uint64_t count = 0;  // userrefs
    bool tags_known = false;  // false where zfs cannot list tags (zfs-fuse): only `count` is known
    std::vector<std::string> tags;
    friend bool operator==(const SnapshotHolds&, const SnapshotHolds&) = default;
};

// The holds of each snapshot, in the order given, with one invocation per argument batch:
// `zfs holds -H SNAP...` where supported, else `zfs get -Hp -o name,value userrefs SNAP...`
// (zfs-fuse has no working `zfs holds`; the result then says tags_known = false and only the
// count is known, announced once in the log). Errors: a snapshot does not exist
// (ZfsErrc::dataset_not_found, names it), bad names (Errc::invalid_argument; nothing run).
boost::asio::awaitable<Result<std::vector<SnapshotHolds>>> list_holds(ZfsRunner& runner,
                                                                      std::vector<std::string> snapshots);

}  // namespace zferry::zfs
