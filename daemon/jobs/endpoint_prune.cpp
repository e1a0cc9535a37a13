#include "daemon/jobs/endpoint_prune.hpp"

#include <algorithm>

namespace zferry::daemon {

namespace asio = boost::asio;

asio::awaitable<Result<std::vector<std::string>>> EndpointPruneTarget::list_filesystems() {
    auto fss = co_await endpoint_.list_filesystems();
    if (!fss) co_return fss.error();
    std::vector<std::string> out;
    for (const auto& f : *fss)
        if (!f.is_placeholder) out.push_back(f.path);
    co_return out;
}

asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> EndpointPruneTarget::list_versions(
    std::string fs) {
    auto vs = co_await endpoint_.list_versions(std::move(fs));
    if (!vs) co_return vs.error();
    std::erase_if(*vs, [](const zfs::FilesystemVersion& v) { return v.type != zfs::VersionType::snapshot; });
    co_return std::move(*vs);
}

asio::awaitable<Result<std::vector<pruning::PruneTarget::Refused>>> EndpointPruneTarget::destroy_snapshots(
    std::string fs, std::vector<std::string> names) {
    auto vs = co_await list_versions(fs);
    if (!vs) co_return vs.error();
    std::vector<zfs::FilesystemVersion> wanted;
    for (const auto& n : names) {
        auto it = std::find_if(vs->begin(), vs->end(),
                               [&](const zfs::FilesystemVersion& v) { return v.name == n; });
        if (it != vs->end()) wanted.push_back(*it);
    }
    auto results = co_await endpoint_.destroy_snapshots(fs, std::move(wanted));
    if (!results) co_return results.error();
    std::vector<Refused> refused;
    for (const auto& r : *results) {
        if (r.error.empty()) continue;
        const bool held =
            r.error.find("hold") != std::string::npos || r.error.find("held") != std::string::npos;
        Refused x;
        x.snapshot = r.snapshot.name;
        x.reason = r.error;
        x.held = held;
        refused.push_back(std::move(x));
    }
    co_return refused;
}

asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> EndpointPrunePeer::list_versions(
    std::string fs) {
    auto fss = co_await other_.list_filesystems();
    if (!fss) co_return fss.error();
    const bool has = std::any_of(fss->begin(), fss->end(), [&](const replication::FilesystemInfo& f) {
        return f.path == fs && !f.is_placeholder;
    });
    if (!has) {
        std::vector<zfs::FilesystemVersion> none;
        co_return none;
    }
    co_return co_await other_.list_versions(std::move(fs));
}

asio::awaitable<Result<std::optional<std::uint64_t>>> EndpointPrunePeer::replication_cursor(std::string fs) {
    co_return co_await sender_.replication_cursor(std::move(fs));
}

}  // namespace zferry::daemon
