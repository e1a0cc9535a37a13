// Putting a filesystem back into a state a receive can continue from: rollback to a snapshot
// and discarding a partial resumable receive (`recv -A`).
#pragma once

#include "core/error.hpp"
#include "zfs/zfs_runner.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace zferry::zfs {

// `zfs rollback [-r] FS@snap`; destroy_newer (-r) also destroys the later snapshots and
// bookmarks (OpenZFS) — without it, later snapshots are ZfsErrc::more_recent_snapshots naming
// them. Idempotent (rolling back to the most recent snapshot again is harmless).
// Errors: the snapshot does not exist (ZfsErrc::dataset_not_found), a later snapshot is held
// (ZfsErrc::snapshot_held, where zfs says so), the filesystem busy (ZfsErrc::dataset_busy,
// temporary: retry with retry_while_busy), bad name (Errc::invalid_argument).
boost::asio::awaitable<Result<void>> rollback(ZfsRunner& runner, std::string snapshot, bool destroy_newer);

// `zfs recv -A FS`: discards the partial state of an interrupted resumable receive.
// Idempotent: nothing to abort, a filesystem that does not exist, and a zfs without
// resumable receive (zfs-fuse: there can be no partial state) are success.
// Errors: ZfsErrc::command_failed quoting zfs; bad name (Errc::invalid_argument).
boost::asio::awaitable<Result<void>> recv_abort(ZfsRunner& runner, std::string filesystem);

}  // namespace zferry::zfs
