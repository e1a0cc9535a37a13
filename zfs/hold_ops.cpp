#include "zfs/hold_ops.hpp"

#include "zfs/command_errors.hpp"
#include "zfs/holds.hpp"
#include "zfs/ops_support.hpp"
#include "zfs/tsv.hpp"

#include <algorithm>
#include <unordered_map>

namespace zferry::zfs {
namespace {

Result<void> check_tag(std::string_view what, std::string_view tag) {
    if (tag.empty() || tag.size() > 255)
        return Error(Errc::invalid_argument, std::string(what) + ": hold tag must be 1..255 bytes, got " +
                                                 std::to_string(tag.size()));
    if (tag.find_first_of(std::string_view("\0\n\t", 3)) != std::string_view::npos)
        return Error(Errc::invalid_argument, std::string(what) + ": hold tag contains NUL, TAB or newline");
    return {};
}

Result<void> check_snapshots(std::string_view what, const std::vector<std::string>& snapshots) {
    for (const auto& s : snapshots)
        if (auto r = detail::check_name(what, s, EntityType::snapshot); !r) return r.error();
    return {};
}

std::string filesystem_of(std::string_view snapshot) {
    return std::string(snapshot.substr(0, snapshot.find('@')));
}

// Consecutive groups of `items` whose bytes (with NULs) stay within `budget`, at least one each.
std::vector<std::vector<std::string>> chunk(const std::vector<std::string>& items, std::size_t budget) {
    std::vector<std::vector<std::string>> out;
    std::size_t size = 0;
    for (const auto& s : items) {
        if (out.empty() || (size + s.size() + 1 > budget && !out.back().empty())) {
            out.emplace_back();
            size = 0;
        }
        out.back().push_back(s);
        size += s.size() + 1;
    }
    return out;
}

Error not_found(std::string_view what, std::string_view name) {
    return Error(make_error_code(ZfsErrc::dataset_not_found),
                 std::string(what) + ": " + std::string(name) + " does not exist");
}

// Adds one batch's output (`zfs holds -H` lines, or `zfs get -o name,value userrefs` lines) to
// the result entries of the snapshots it names.
Result<void> absorb(const std::string& what, std::string_view text, bool holds_listing,
                    const std::unordered_map<std::string, std::size_t>& index,
                    std::vector<SnapshotHolds>& result) {
    if (holds_listing) {
        auto holds = parse_holds(text);
        if (!holds) return Error(holds.error()).wrap(what);
        for (auto& h : *holds) {
            auto it = index.find(h.snapshot);
            if (it == index.end())
                return Error(Errc::parse_error,
                             what + ": zfs holds printed a snapshot not asked for: " + h.snapshot);
            auto& sh = result[it->second];
            sh.tags.push_back(std::move(h.tag));
            sh.count = sh.tags.size();
        }
        return {};
    }
    Error err;
    tsv::for_each_line(text, [&](std::size_t n, std::string_view line) {
        if (line.empty()) return true;
        auto f = tsv::split_exact<2>(line);
        auto count = f ? tsv::parse_u64((*f)[1]) : std::nullopt;
        auto it = f ? index.find(std::string((*f)[0])) : index.end();
        if (!count || it == index.end()) {
            err = Error(Errc::parse_error, what + ": " + tsv::line_prefix(n) +
                                               "expected 'snapshot<TAB>userrefs': " + tsv::quote_line(line));
            return false;
        }
        result[it->second].count = *count;
        return true;
    });
    if (err) return err;
    return {};
}

}  // namespace

boost::asio::awaitable<Result<void>> hold(ZfsRunner& runner, std::string snapshot, std::string tag) {
    const std::string what = "holding " + snapshot + " with tag '" + tag + "'";
    if (auto r = detail::check_name(what, snapshot, EntityType::snapshot); !r) co_return r.error();
    if (auto r = check_tag(what, tag); !r) co_return r.error();
    std::vector<std::string> out_argv{"hold", "--", tag, snapshot};
    auto out = co_await runner.run(std::move(out_argv));
    if (!out) co_return Error(out.error()).wrap(what);
    if (out->ok() || is_hold_tag_exists(out->result.err)) co_return Result<void>{};
    if (auto p = detail::missing_dataset(out->result.err)) co_return not_found(what, *p);
    co_return detail::command_error(ZfsErrc::command_failed, what, *out);
}

boost::asio::awaitable<Result<void>> hold_all(ZfsRunner& runner, std::vector<std::string> snapshots,
                                              std::string tag) {
    if (snapshots.size() == 1) co_return co_await hold(runner, std::move(snapshots.front()), std::move(tag));
    if (snapshots.empty()) co_return Result<void>{};
    const std::string what = "holding " + snapshots.front() + " and " + std::to_string(snapshots.size() - 1) +
                             " more with tag '" + tag + "'";
    if (auto r = check_snapshots(what, snapshots); !r) co_return r.error();
    if (auto r = check_tag(what, tag); !r) co_return r.error();
    std::vector<std::string> argv;
    argv.push_back("hold");
    argv.push_back("--");
    argv.push_back(tag);
    argv.insert(argv.end(), snapshots.begin(), snapshots.end());
    auto out = co_await runner.run(std::move(argv));
    if (!out) co_return Error(out.error()).wrap(what);
    if (out->ok()) co_return Result<void>{};
    // zfs holds all or none: where one already carries the tag, hold each by itself (each
    // idempotent), which also names the snapshot that fails for another reason.
    for (auto& s : snapshots)
        if (auto r = co_await hold(runner, std::move(s), tag); !r) co_return r;
    co_return Result<void>{};
}

boost::asio::awaitable<Result<void>> release(ZfsRunner& runner, std::string tag,
                                             std::vector<std::string> snapshots, std::size_t max_arg_bytes) {
    const std::string what = "releasing hold '" + tag + "'";
    if (auto r = check_tag(what, tag); !r) co_return r.error();
    if (auto r = check_snapshots(what, snapshots); !r) co_return r.error();
    std::vector<std::vector<std::string>> work;  // snapshot lists, last one first
    for (auto& argv : release_batches(tag, snapshots, max_arg_bytes))
        work.emplace_back(std::make_move_iterator(argv.begin() + 3), std::make_move_iterator(argv.end()));
    std::reverse(work.begin(), work.end());
    while (!work.empty()) {
        auto batch = std::move(work.back());
        work.pop_back();
        const std::string step =
            what + " from " + batch.front() +
            (batch.size() > 1 ? " and " + std::to_string(batch.size() - 1) + " more" : "");
        std::vector<std::string> argv = {"release", "--", tag};
        argv.insert(argv.end(), batch.begin(), batch.end());
        auto out = co_await runner.run(std::move(argv));
        const bool too_long =
            out ? detail::is_argument_list_too_long(*out) : detail::is_argument_list_too_long(out.error());
        // zfs prints one line per snapshot without the tag; a batch of hundreds of long names
        // can say more than the stderr bound keeps, and a cut last line cannot be classified.
        // Halves again: a release is idempotent, a second "no such tag" is success.
        const bool said_too_much = out && out->result.err_dropped > 0;
        if ((too_long || said_too_much) && batch.size() > 1) {
            const auto half = static_cast<std::ptrdiff_t>(batch.size() / 2);
            work.emplace_back(batch.begin() + half, batch.end());
            work.emplace_back(batch.begin(), batch.begin() + half);
            continue;
        }
        if (!out) co_return Error(out.error()).wrap(step);
        if (out->ok()) continue;
        std::vector<std::string> unexpected;
        for (auto& line : release_unexpected_lines(out->result.err)) {
            // A snapshot (or filesystem) that is gone has no hold left to release.
            if (auto p = detail::missing_dataset(line)) {
                const bool ours = std::any_of(batch.begin(), batch.end(), [&](const std::string& s) {
                    return s == *p || filesystem_of(s) == *p;
                });
                if (ours) continue;
            }
            unexpected.push_back(std::move(line));
        }
        if (unexpected.empty()) continue;
        std::string msg = step + ":";
        for (const auto& l : unexpected) msg += " " + l + ";";
        msg.pop_back();
        co_return Error(make_error_code(ZfsErrc::command_failed), msg);
    }
    co_return Result<void>{};
}

boost::asio::awaitable<Result<std::vector<SnapshotHolds>>> list_holds(ZfsRunner& runner,
                                                                      std::vector<std::string> snapshots) {
    const std::string what =
        "listing holds of " + (snapshots.empty() ? std::string("no snapshot") : snapshots.front()) +
        (snapshots.size() > 1 ? " and " + std::to_string(snapshots.size() - 1) + " more" : "");
    if (auto r = check_snapshots(what, snapshots); !r) co_return r.error();
    std::vector<SnapshotHolds> result;
    if (snapshots.empty()) co_return result;
    auto caps = co_await detail::capabilities(runner, what);
    if (!caps) co_return caps.error();
    if (!caps->holds_listing)
        detail::log_degraded_once(
            runner, "list_holds",
            "no working `zfs holds`: hold tags cannot be listed, only counted (userrefs)");

    std::unordered_map<std::string, std::size_t> index;
    for (const auto& s : snapshots) {
        if (index.try_emplace(s, result.size()).second) {
            SnapshotHolds h;
            h.snapshot = s;
            h.tags_known = caps->holds_listing;
            result.push_back(std::move(h));
        }
    }
    for (auto& batch : chunk(snapshots, kDefaultArgBudget)) {
        std::vector<std::string> argv;
        if (caps->holds_listing)
            argv = {"holds", "-H", "--"};
        else
            argv = {"get", "-Hp", "-o", "name,value", "--", "userrefs"};
        argv.insert(argv.end(), batch.begin(), batch.end());
        auto out = co_await runner.run(std::move(argv));
        if (!out) co_return Error(out.error()).wrap(what);
        if (!out->ok()) {
            if (auto p = detail::missing_dataset(out->result.err)) co_return not_found(what, *p);
            co_return detail::command_error(ZfsErrc::command_failed, what, *out);
        }
        if (auto r = absorb(what, out->result.out, caps->holds_listing, index, result); !r)
            co_return r.error();
    }
    co_return result;
}

}  // namespace zferry::zfs
