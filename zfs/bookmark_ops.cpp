#include "zfs/bookmark_ops.hpp"

#include "zfs/command_errors.hpp"
#include "zfs/ops_support.hpp"
#include "zfs/tsv.hpp"

#include <fmt/format.h>

namespace zferry::zfs {

boost::asio::awaitable<Result<FilesystemVersion>> create_bookmark(ZfsRunner& runner, FilesystemVersion source,
                                                                  std::string name) {
    const std::string target = source.filesystem + "#" + name;
    const std::string what = "creating bookmark " + target + " of " + source.full_name();
    if (auto r = detail::check_name(
            what, source.full_name(),
            source.type == VersionType::snapshot ? EntityType::snapshot : EntityType::bookmark);
        !r)
        co_return r.error();
    if (auto r = detail::check_name(what, target, EntityType::bookmark); !r) co_return r.error();
    detail::OperationTimer timer(runner, ZfsOperation::bookmark, "", source.filesystem);
    if (source.guid == 0)
        co_return Error(Errc::invalid_argument, what + ": the source's guid is unknown (0)");
    auto caps = co_await detail::capabilities(runner, what);
    if (!caps) co_return caps.error();
    if (!caps->bookmarks)
        co_return Error(make_error_code(ZfsErrc::unsupported),
                        what + ": this zfs has no bookmarks (zfs-fuse or a pool without feature flags)");

    FilesystemVersion bm = source;
    bm.type = VersionType::bookmark;
    bm.name = name;
    bm.userrefs.reset();

    std::vector<std::string> out_argv{"bookmark", "--", source.full_name(), target};
    auto out = co_await runner.run(std::move(out_argv));
    if (!out) co_return Error(out.error()).wrap(what);
    if (out->ok()) co_return bm;
    if (!is_bookmark_exists(out->result.err)) {
        // "cannot open 'X': dataset does not exist", or OpenZFS's "cannot create bookmark
        // '...': snapshot does not exist" (also "dataset does not exist" on some versions).
        if (auto p = detail::missing_dataset(out->result.err))
            co_return Error(make_error_code(ZfsErrc::dataset_not_found),
                            what + ": " + *p + " does not exist");
        if (out->result.err.find("does not exist") != std::string::npos)
            co_return Error(
                make_error_code(ZfsErrc::dataset_not_found),
                what + ": " + source.full_name() + " does not exist (" + detail::zfs_reason(*out) + ")");
        co_return detail::command_error(ZfsErrc::command_failed, what, *out);
    }
    // Exists: ours (a retry) if it has the source's GUID.
    std::vector<std::string> got_argv{"get", "-H", "-p", "-o", "value", "--", "guid", target};
    auto got = co_await runner.run(std::move(got_argv));
    if (!got) co_return Error(got.error()).wrap(what + ": bookmark exists; reading its guid");
    if (!got->ok())
        co_return detail::command_error(ZfsErrc::command_failed, what + ": bookmark exists; reading its guid",
                                        *got);
    std::string_view v = got->result.out;
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.remove_suffix(1);
    auto guid = tsv::parse_u64(v);
    if (!guid)
        co_return Error(Errc::parse_error,
                        what + ": bookmark exists; its guid '" + std::string(v) + "' is not a number");
    if (*guid != source.guid)
        co_return Error(
            make_error_code(ZfsErrc::dataset_exists),
            fmt::format("{}: a bookmark of that name exists with guid {:#018x}, not the source's {:#018x}",
                        what, *guid, source.guid));
    co_return bm;
}

boost::asio::awaitable<Result<void>> destroy_bookmark(ZfsRunner& runner, std::string bookmark) {
    const std::string what = "destroying bookmark " + bookmark;
    if (auto r = detail::check_name(what, bookmark, EntityType::bookmark); !r) co_return r.error();
    detail::OperationTimer timer(runner, ZfsOperation::destroy, "bookmark",
                                 bookmark.substr(0, bookmark.find('#')));
    auto caps = co_await detail::capabilities(runner, what);
    if (!caps) co_return caps.error();
    if (!caps->bookmarks) co_return Result<void>{};
    std::vector<std::string> out_argv{"destroy", "--", bookmark};
    auto out = co_await runner.run(std::move(out_argv));
    if (!out) co_return Error(out.error()).wrap(what);
    if (out->ok()) co_return Result<void>{};
    const auto& err = out->result.err;
    // "bookmark 'fs#b' does not exist." (the classifier wants it without the final dot on
    // some versions) or the filesystem itself is gone.
    const auto fs = bookmark.substr(0, bookmark.find('#'));
    if (classify_destroy_failure(bookmark, err).kind == DestroyFailure::Kind::not_exists ||
        err.find("bookmark '" + bookmark + "' does not exist") != std::string::npos ||
        is_dataset_not_found(err, fs) || is_dataset_not_found(err, bookmark))
        co_return Result<void>{};
    co_return detail::command_error(ZfsErrc::command_failed, what, *out);
}

}  // namespace zferry::zfs
