#include "replication/endpoint/destroy.hpp"

#include "zfs/destroy_ops.hpp"

namespace zferry::replication {

boost::asio::awaitable<Result<std::vector<DestroySnapshotResult>>> destroy_snapshot_versions(
    zfs::ZfsRunner& runner, std::string target, std::vector<zfs::FilesystemVersion> snapshots) {
    std::vector<std::string> names;
    for (const auto& v : snapshots) {
        if (v.type != zfs::VersionType::snapshot)
            co_return Error(Errc::invalid_argument,
                            "destroying versions of " + target + ": " + v.relative_name() +
                                " is not a snapshot (only snapshots can be destroyed)");
        names.push_back(v.name);
    }
    auto report = co_await zfs::destroy_snapshots(runner, target, std::move(names));
    if (!report) co_return report.error();
    std::vector<DestroySnapshotResult> out;
    out.reserve(snapshots.size());
    for (auto& v : snapshots) {
        DestroySnapshotResult r;
        for (const auto& u : report->undestroyable)
            if (u.name == v.name) r.error = u.reason;
        r.snapshot = std::move(v);
        out.push_back(std::move(r));
    }
    co_return out;
}

}  // namespace zferry::replication
