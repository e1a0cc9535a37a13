#include "zfs/snapshot_ops.hpp"

#include "zfs/ops_support.hpp"

namespace zferry::zfs {

namespace {
std::vector<std::string> snapshot_argv(const std::string& full) { return {"snapshot", "--", full}; }
}  // namespace

boost::asio::awaitable<Result<void>> create_snapshot(ZfsRunner& runner, std::string filesystem,
                                                     std::string name) {
    const std::string full = filesystem + "@" + name;
    const std::string what = "taking snapshot " + full;
    if (auto r = detail::check_name(what, filesystem, EntityType::filesystem); !r) co_return r.error();
    if (auto r = detail::check_name(what, full, EntityType::snapshot); !r) co_return r.error();
    detail::OperationTimer timer(runner, ZfsOperation::snapshot, "", filesystem);
    auto out = co_await runner.run(snapshot_argv(full));
    if (!out) co_return Error(out.error()).wrap(what);
    if (out->ok()) co_return Result<void>{};
    const auto& err = out->result.err;
    if (err.find("dataset already exists") != std::string::npos)
        co_return detail::command_error(ZfsErrc::dataset_exists, what, *out);
    if (auto p = detail::missing_dataset(err))
        co_return Error(make_error_code(ZfsErrc::dataset_not_found), what + ": " + *p + " does not exist");
    if (err.find("dataset is busy") != std::string::npos)
        co_return detail::command_error(ZfsErrc::dataset_busy, what, *out);
    co_return detail::command_error(ZfsErrc::command_failed, what, *out);
}

}  // namespace zferry::zfs
