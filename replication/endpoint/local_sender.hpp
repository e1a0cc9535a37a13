// The sending side on this host's pools: every request checked against the job's filesystem
// filter (a client never lists, sends or confirms anything outside it), sends validated by
// zfs/ against the live dataset (names, GUIDs, a resume token that must name the requested
// dataset and versions), and the replication guarantees applied with zrepl's names.
#pragma once

#include "core/log.hpp"
#include "replication/endpoint/endpoint.hpp"
#include "replication/logic/filesystem_filter.hpp"
#include "replication/logic/job_id.hpp"
#include "zfs/zfs_runner.hpp"

#include <memory>

namespace zferry::replication {

struct SenderConfig {
    JobId job;
    FilesystemFilter filesystems;
    zfs::SendPolicy policy;
    // send.bandwidth_limit, shared by every step of the job (null: unlimited).
    std::shared_ptr<Throttle> bandwidth_limit;
};

class LocalSender final : public Sender {
public:
    LocalSender(zfs::ZfsRunner& runner, SenderConfig config, Logger log);

    boost::asio::awaitable<Result<std::vector<FilesystemInfo>>> list_filesystems() override;
    boost::asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> list_versions(
        std::string fs) override;
    boost::asio::awaitable<Result<std::vector<DestroySnapshotResult>>> destroy_snapshots(
        std::string fs, std::vector<zfs::FilesystemVersion> snapshots) override;
    boost::asio::awaitable<Result<SendReply>> send(StepRequest req) override;
    boost::asio::awaitable<Result<void>> send_completed(StepRequest req) override;
    boost::asio::awaitable<Result<std::optional<std::uint64_t>>> send_dry(StepRequest req) override;
    // Consecutive single-snapshot steps (zrepl's one step per snapshot) are estimated with one
    // `zfs send -nvP -I first..last`, which prints each snapshot's estimate from the one before;
    // anything else (a resume, a compound step, a bookmark source, a gap) step by step.
    boost::asio::awaitable<std::vector<Result<std::optional<std::uint64_t>>>> send_dry_steps(
        std::vector<StepRequest> reqs) override;
    boost::asio::awaitable<Result<std::optional<std::uint64_t>>> replication_cursor(std::string fs) override;
    Throttle* send_bandwidth_limit() noexcept override { return config_.bandwidth_limit.get(); }

private:
    // Errc::invalid_argument (permanent) naming the filesystem when the filter excludes it.
    Result<void> check_access(const std::string& fs) const;
    // What send() needs from validation and the step's protection (applied before it returns).
    struct PreparedSend {
        zfs::ValidatedSendArgs validated;
        GuaranteeKind kind = GuaranteeKind::nothing;
        bool holds_listing = false;  // zfs can list hold tags
    };
    // Validates the request against ZFS and applies the step's protection (sender_pre_send).
    boost::asio::awaitable<Result<PreparedSend>> prepare_send(StepRequest req);
    boost::asio::awaitable<Result<void>> execute(const std::vector<AbstractionAction>& actions,
                                                 const StepRequest& req);

    // Where ZFS has no bookmarks (zfs-fuse): the cursor as a hold plus a property (see
    // cursor_hold_tag), step holds released by tag from every held snapshot.
    boost::asio::awaitable<Result<void>> send_completed_without_bookmarks(const StepRequest& req,
                                                                          GuaranteeKind kind);
    // Releases `tag` from every snapshot of `listing` that was held when it was taken, except
    // `keep` (full names): one `zfs release` for all of them, no listing of its own.
    boost::asio::awaitable<Result<void>> release_from_held(const std::vector<zfs::FilesystemVersion>& listing,
                                                           const std::string& tag,
                                                           const std::vector<std::string>& keep);

    zfs::ZfsRunner& runner_;
    SenderConfig config_;
    Logger log_;
};

}  // namespace zferry::replication
