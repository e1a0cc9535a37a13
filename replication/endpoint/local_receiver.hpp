// The receiving side on this host's pools (reference §4.5, §4.6): the sender's names are
// mapped below `root_fs` (and the client's identity for a sink), so a client can never name a
// dataset outside its own subtree; missing parents become placeholders (with the configured
// encryption policy); listings hide the prefix; a receive is checked against the requested
// GUID; the last-received hold moves with each step.
#pragma once

#include "core/log.hpp"
#include "replication/endpoint/endpoint.hpp"
#include "replication/logic/job_id.hpp"
#include "zfs/property_ops.hpp"
#include "zfs/zfs_runner.hpp"

#include <optional>

#include <memory>

namespace zferry::replication {

// recv.placeholder.encryption: unspecified refuses to create a placeholder (except the
// client's own root, which inherits), as zrepl does since its security fix.
enum class PlaceholderEncryptionPolicy { unspecified, inherit, off };

struct ReceiverConfig {
    JobId job;
    std::string root_fs;
    std::optional<std::string> client_identity;  // sinks: root_fs/<identity>; pull jobs: none
    PlaceholderEncryptionPolicy placeholder_encryption = PlaceholderEncryptionPolicy::unspecified;
    zfs::RecvOptions options;  // -o / -x properties; -s and -u are set by the receiver
    // recv.bandwidth_limit, shared by every step of the job (null: unlimited).
    std::shared_ptr<Throttle> bandwidth_limit;
};

class LocalReceiver final : public Receiver {
public:
    LocalReceiver(zfs::ZfsRunner& runner, ReceiverConfig config, Logger log);

    boost::asio::awaitable<Result<std::vector<FilesystemInfo>>> list_filesystems() override;
    boost::asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> list_versions(
        std::string fs) override;
    boost::asio::awaitable<Result<std::vector<DestroySnapshotResult>>> destroy_snapshots(
        std::string fs, std::vector<zfs::FilesystemVersion> snapshots) override;
    boost::asio::awaitable<Result<ReceiveSession>> receive(ReceiveRequest req) override;
    boost::asio::awaitable<Result<void>> finish_receive(ReceiveSession& session) override;
    Throttle* recv_bandwidth_limit() noexcept override { return config_.bandwidth_limit.get(); }

    // root_fs[/identity]: everything this receiver touches is strictly below it.
    const std::string& client_root() const noexcept { return client_root_; }
    // The receiver's name for a sender's filesystem name; errors for an empty or invalid name.
    Result<std::string> map(const std::string& fs) const;

private:
    boost::asio::awaitable<Result<void>> ensure_parents(const std::string& target);

    zfs::ZfsRunner& runner_;
    ReceiverConfig config_;
    std::string client_root_;
    Logger log_;
};

}  // namespace zferry::replication
