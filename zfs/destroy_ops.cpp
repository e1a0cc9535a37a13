#include "zfs/destroy_ops.hpp"

#include "zfs/ops_support.hpp"

#include <algorithm>

namespace zferry::zfs {

Error DestroyReport::error(std::string_view filesystem) const {
    if (undestroyable.empty()) return {};
    const bool all_held = std::all_of(undestroyable.begin(), undestroyable.end(),
                                      [](const UndestroyableSnapshot& u) { return u.held; });
    std::string msg = "cannot destroy " + std::to_string(undestroyable.size()) + " snapshot" +
                      (undestroyable.size() == 1 ? "" : "s") + " of " + std::string(filesystem) + ":";
    for (const auto& u : undestroyable) msg += " @" + u.name + " (" + u.reason + "),";
    msg.pop_back();
    msg += all_held ? "; release their holds first" : "; retry once they are no longer in use";
    return Error(make_error_code(all_held ? ZfsErrc::snapshot_held : ZfsErrc::snapshot_in_use), msg);
}

boost::asio::awaitable<Result<DestroyReport>> destroy_snapshots(ZfsRunner& runner, std::string filesystem,
                                                                std::vector<std::string> snapshots,
                                                                DestroySnapshotsOptions opts) {
    const std::string what = "destroying snapshots of " + filesystem;
    DestroyReport report;
    if (auto r = detail::check_name(what, filesystem, EntityType::filesystem); !r) co_return r.error();
    // The name check keeps ',' and '%' out of the comma lists: no name can widen a batch.
    for (const auto& s : snapshots)
        if (auto r = detail::check_name(what, filesystem + "@" + s, EntityType::snapshot); !r)
            co_return r.error();
    std::sort(snapshots.begin(), snapshots.end());
    snapshots.erase(std::unique(snapshots.begin(), snapshots.end()), snapshots.end());
    if (snapshots.empty()) co_return report;
    detail::OperationTimer timer(runner, ZfsOperation::destroy, "snapshot", filesystem);
    auto caps = co_await detail::capabilities(runner, what);
    if (!caps) co_return caps.error();

    std::vector<std::vector<std::string>> work;  // batches of short names; back() runs next
    if (caps->destroy_comma_list) {
        for (const auto& arg :
             destroy_batches(filesystem, snapshots, opts.max_batch_bytes, opts.max_batch_count)) {
            std::vector<std::string> batch;
            std::string_view names = std::string_view(arg).substr(filesystem.size() + 1);
            for (std::size_t pos = 0; pos <= names.size();) {
                auto comma = names.find(',', pos);
                if (comma == std::string_view::npos) comma = names.size();
                batch.emplace_back(names.substr(pos, comma - pos));
                pos = comma + 1;
            }
            work.push_back(std::move(batch));
        }
    } else {
        detail::log_degraded_once(runner, "destroy_snapshots",
                                  "no comma-list destroy: snapshots are destroyed one zfs destroy at a time");
        for (const auto& s : snapshots) work.push_back({s});
    }
    std::reverse(work.begin(), work.end());

    while (!work.empty()) {
        auto batch = std::move(work.back());
        work.pop_back();
        std::string arg = filesystem + "@";
        for (std::size_t i = 0; i < batch.size(); ++i) arg += (i ? "," : "") + batch[i];
        auto split = [&] {
            const auto half = static_cast<std::ptrdiff_t>(batch.size() / 2);
            work.emplace_back(batch.begin() + half, batch.end());
            work.emplace_back(batch.begin(), batch.begin() + half);
        };
        std::vector<std::string> out_argv{"destroy", "--", arg};
        auto out = co_await runner.run(std::move(out_argv));
        if (!out) {
            if (batch.size() > 1 && detail::is_argument_list_too_long(out.error())) {
                split();
                continue;
            }
            co_return Error(out.error()).wrap(what);
        }
        if (out->ok()) continue;
        if (batch.size() > 1 && detail::is_argument_list_too_long(*out)) {
            split();
            continue;
        }
        const auto& err = out->result.err;
        auto f = classify_destroy_failure(arg, err);
        // The whole filesystem is gone: so are its snapshots.
        if (f.kind == DestroyFailure::Kind::not_exists || is_dataset_not_found(err, filesystem)) continue;
        if (f.kind == DestroyFailure::Kind::undestroyable) {
            std::vector<std::string> rest = batch;
            bool all_ours = true;
            for (auto& u : f.snapshots) {
                auto it = std::find(rest.begin(), rest.end(), u.name);
                if (it == rest.end()) {
                    all_ours = false;
                    break;
                }
                rest.erase(it);
                report.undestroyable.push_back(std::move(u));
            }
            if (all_ours) {
                // OpenZFS destroyed nothing of this batch: try again without the refused ones.
                if (!rest.empty()) work.push_back(std::move(rest));
                continue;
            }
        }
        co_return detail::command_error(ZfsErrc::command_failed, what, *out);
    }
    std::sort(report.undestroyable.begin(), report.undestroyable.end(),
              [](const UndestroyableSnapshot& a, const UndestroyableSnapshot& b) { return a.name < b.name; });
    co_return report;
}

}  // namespace zferry::zfs
