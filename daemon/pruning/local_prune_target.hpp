// The side being pruned as a pool on this host: the job's filesystems (filter), placeholders
// left out, listings and batched destroys through zfs/. The replication endpoint offers the
// same over the network for a remote side.
#pragma once

#include "daemon/pruning/pruner.hpp"
#include "replication/logic/filesystem_filter.hpp"
#include "zfs/zfs_runner.hpp"

namespace zferry::pruning {

class LocalPruneTarget final : public PruneTarget {
public:
    LocalPruneTarget(zfs::ZfsRunner& runner, replication::FilesystemFilter filesystems)
        : runner_(runner), filesystems_(std::move(filesystems)) {}

    boost::asio::awaitable<Result<std::vector<std::string>>> list_filesystems() override;
    boost::asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> list_versions(
        std::string fs) override;
    boost::asio::awaitable<Result<std::vector<Refused>>> destroy_snapshots(
        std::string fs, std::vector<std::string> names) override;

private:
    zfs::ZfsRunner& runner_;
    replication::FilesystemFilter filesystems_;
};

}  // namespace zferry::pruning
