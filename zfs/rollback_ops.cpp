#include "zfs/rollback_ops.hpp"

#include "zfs/command_errors.hpp"
#include "zfs/ops_support.hpp"
#include "zfs/send_command.hpp"
#include "zfs/tsv.hpp"

namespace zferry::zfs {

boost::asio::awaitable<Result<void>> rollback(ZfsRunner& runner, std::string snapshot, bool destroy_newer) {
    const std::string what = "rolling back to " + snapshot;
    if (auto r = detail::check_name(what, snapshot, EntityType::snapshot); !r) co_return r.error();
    std::vector<std::string> argv = {"rollback"};
    if (destroy_newer) argv.push_back("-r");
    argv.push_back("--");
    argv.push_back(snapshot);
    auto out = co_await runner.run(std::move(argv));
    if (!out) co_return Error(out.error()).wrap(what);
    if (out->ok()) co_return Result<void>{};
    const auto& err = out->result.err;
    if (err.find("more recent snapshots") != std::string::npos) {
        // zfs lists them after "use '-r' to force deletion of the following snapshots:".
        std::string newer;
        bool listing = false;
        tsv::for_each_line(err, [&](std::size_t, std::string_view line) {
            if (listing && !line.empty()) newer += (newer.empty() ? "" : ", ") + std::string(line);
            if (line.find("following snapshots") != std::string_view::npos) listing = true;
            return true;
        });
        co_return Error(make_error_code(ZfsErrc::more_recent_snapshots),
                        what + ": later snapshots exist" + (newer.empty() ? "" : " (" + newer + ")") +
                            "; roll back with destroy_newer (-r) to destroy them");
    }
    if (auto p = detail::missing_dataset(err))
        co_return Error(make_error_code(ZfsErrc::dataset_not_found), what + ": " + *p + " does not exist");
    if (err.find("being held") != std::string::npos)
        co_return detail::command_error(ZfsErrc::snapshot_held, what, *out);
    // zfs-fuse's asynchronous unmount, or a receive still being torn down: gone moments later.
    // (zfs < 2.4 also says "busy" for a held later snapshot under -r; the caller's bounded
    // retry then ends with this error, naming it.)
    if (err.find("dataset is busy") != std::string::npos)
        co_return detail::command_error(ZfsErrc::dataset_busy, what, *out);
    co_return detail::command_error(ZfsErrc::command_failed, what, *out);
}

boost::asio::awaitable<Result<void>> recv_abort(ZfsRunner& runner, std::string filesystem) {
    const std::string what = "aborting the resumable receive into " + filesystem;
    if (auto r = detail::check_name(what, filesystem, EntityType::filesystem); !r) co_return r.error();
    auto caps = co_await detail::capabilities(runner, what);
    if (!caps) co_return caps.error();
    if (!caps->resumable_recv) {
        detail::log_degraded_once(
            runner, "recv_abort",
            "no resumable receive: no partial receive state can exist, `recv -A` is skipped");
        co_return Result<void>{};
    }
    auto out = co_await runner.run(recv_abort_argv(filesystem));
    if (!out) co_return Error(out.error()).wrap(what);
    if (out->ok() || is_recv_abort_nothing_to_abort(out->result.err) ||
        is_dataset_not_found(out->result.err, filesystem))
        co_return Result<void>{};
    co_return detail::command_error(ZfsErrc::command_failed, what, *out);
}

}  // namespace zferry::zfs
