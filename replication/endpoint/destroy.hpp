// DestroySnapshots on this host's pools, shared by LocalSender and LocalReceiver once they
// have checked and mapped the filesystem: zfs/'s batched destroy, its refusals spread over
// the per-snapshot results as zrepl reports them.
#pragma once

#include "replication/endpoint/endpoint.hpp"
#include "zfs/zfs_runner.hpp"

namespace zferry::replication {

// Destroys `target`@name for each requested snapshot. Errc::invalid_argument (nothing run)
// when a requested version is not a snapshot or a name does not pass the name check.
boost::asio::awaitable<Result<std::vector<DestroySnapshotResult>>> destroy_snapshot_versions(
    zfs::ZfsRunner& runner, std::string target, std::vector<zfs::FilesystemVersion> snapshots);

}  // namespace zferry::replication
