#include "daemon/pruning/local_prune_target.hpp"

#include "replication/endpoint/unmatched_datasets.hpp"
#include "zfs/destroy_ops.hpp"
#include "zfs/listing_ops.hpp"
#include "zfs/properties.hpp"
#include "zfs/property_ops.hpp"

namespace zferry::pruning {

namespace asio = boost::asio;

namespace {
std::vector<std::string> placeholder_prop() { return {std::string(zfs::kPlaceholderProperty)}; }
}  // namespace

asio::awaitable<Result<std::vector<std::string>>> LocalPruneTarget::list_filesystems() {
    auto all = co_await zfs::list_filesystems(runner_, "", placeholder_prop());
    if (!all) co_return all.error();
    replication::report_unmatched(runner_, filesystems_, *all);
    std::vector<std::string> out;
    for (const auto& e : *all) {
        auto passes = filesystems_.passes(e.name);
        if (!passes || !*passes) continue;
        // The listing shows inherited values too; only a local value makes a placeholder,
        // so look closer only where the value says it might be one.
        if (!e.values.empty() && zfs::is_placeholder_value(e.values[0], e.name)) {
            auto state = co_await zfs::get_placeholder_state(runner_, e.name);
            if (!state) co_return state.error();
            if (state->is_placeholder) continue;
        }
        out.push_back(e.name);
    }
    co_return out;
}

asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> LocalPruneTarget::list_versions(std::string fs) {
    co_return co_await zfs::list_versions(runner_, std::move(fs),
                                          {.recursive = false, .snapshots = true, .bookmarks = false});
}

asio::awaitable<Result<std::vector<PruneTarget::Refused>>> LocalPruneTarget::destroy_snapshots(
    std::string fs, std::vector<std::string> names) {
    // Never anything outside the job, whatever the caller passes.
    auto passes = filesystems_.passes(fs);
    if (!passes) co_return passes.error();
    if (!*passes)
        co_return Error(Errc::invalid_argument, "pruning " + fs + ": not one of the job's filesystems");
    auto r = co_await zfs::destroy_snapshots(runner_, fs, std::move(names));
    if (!r) co_return r.error();
    std::vector<Refused> refused;
    for (const auto& u : r->undestroyable) refused.push_back({u.name, u.reason, u.held});
    co_return refused;
}

}  // namespace zferry::pruning
