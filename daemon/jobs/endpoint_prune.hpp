// The pruner's two interfaces on replication endpoints, so an active job prunes its sender and
// its receiver through the same Sender/Receiver it replicates with (local today, remote when
// the remote endpoints land): names are the sender's on both sides, a receiver keeps every
// request below its client root, a sender inside its filter.
#pragma once

#include "daemon/pruning/pruner.hpp"
#include "replication/endpoint/endpoint.hpp"

namespace zferry::daemon {

// The side pruned: its filesystems without placeholders, its snapshots, destroys through the
// endpoint's DestroySnapshots (a refused snapshot comes back with zfs's reason).
class EndpointPruneTarget final : public pruning::PruneTarget {
public:
    explicit EndpointPruneTarget(replication::Endpoint& endpoint) : endpoint_(endpoint) {}

    boost::asio::awaitable<Result<std::vector<std::string>>> list_filesystems() override;
    boost::asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> list_versions(
        std::string fs) override;
    boost::asio::awaitable<Result<std::vector<Refused>>> destroy_snapshots(
        std::string fs, std::vector<std::string> names) override;

private:
    replication::Endpoint& endpoint_;
};

// The other side's versions (none where it does not have the filesystem) and the sender's
// replication cursor.
class EndpointPrunePeer final : public pruning::PrunePeer {
public:
    EndpointPrunePeer(replication::Endpoint& other, replication::Sender& sender)
        : other_(other), sender_(sender) {}

    boost::asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> list_versions(
        std::string fs) override;
    boost::asio::awaitable<Result<std::optional<std::uint64_t>>> replication_cursor(std::string fs) override;

private:
    replication::Endpoint& other_;
    replication::Sender& sender_;
};

}  // namespace zferry::daemon
