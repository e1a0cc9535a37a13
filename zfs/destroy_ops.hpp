// Batch destroy of snapshots (the pruner, stale abstraction cleanup). Idempotent: snapshots
// that are already gone are success. Held or busy snapshots do not stop the others: they are
// reported one by one with zfs's reason.
#pragma once

#include "core/error.hpp"
#include "zfs/batching.hpp"
#include "zfs/command_errors.hpp"
#include "zfs/zfs_runner.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace zferry::zfs {

struct DestroySnapshotsOptions {
    std::size_t max_batch_bytes = kDefaultArgBudget;  // per comma-list argument; halved on E2BIG
    std::size_t max_batch_count = 0;                  // snapshots per call (0: no limit; zrepl's
                                                      // ZREPL_DESTROY_MAX_BATCH_SIZE)
};

struct DestroyReport {
    // Snapshots zfs refused to destroy, with its reason; `held` for "dataset is busy" (ZFS < 2.4,
    // zfs-fuse) and "it's being held" (ZFS >= 2.4). Everything else asked for is gone now.
    std::vector<UndestroyableSnapshot> undestroyable;
    bool complete() const noexcept { return undestroyable.empty(); }
    // ZfsErrc::snapshot_held (if all refusals are holds) or ZfsErrc::snapshot_in_use, naming each
    // snapshot and its reason; no error when complete.
    Error error(std::string_view filesystem) const;
};

// Destroys FS@name for each short name in `snapshots`: `zfs destroy FS@a,b,c` in sorted,
// size-capped batches where zfs takes comma lists, else one `zfs destroy FS@a` per snapshot
// (zfs-fuse). OpenZFS destroys a batch atomically, so a batch with refused snapshots is
// retried without them; a batch too long for exec (E2BIG) is split in halves.
// Absent snapshots, and an absent filesystem, are success. Errors (Result) only for failures
// that say nothing about individual snapshots: bad names (Errc::invalid_argument; nothing
// run), unexpected zfs output (ZfsErrc::command_failed quoting zfs).
boost::asio::awaitable<Result<DestroyReport>> destroy_snapshots(ZfsRunner& runner, std::string filesystem,
                                                                std::vector<std::string> snapshots,
                                                                DestroySnapshotsOptions opts = {});

}  // namespace zferry::zfs
