// `zferry zfs-abstraction list|release-all|release-stale` (alias `zferry holds list`): the
// replication abstractions (step holds, last-received holds, cursors) on this host's pools,
// zrepl's and zferry's alike, selected by --fs, --job, --type and --createtxg-* bounds.
#include "tools/zferry/commands.hpp"

#include "replication/endpoint/abstractions.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <iostream>
#include <memory>
#include <sstream>

namespace zferry::cli {
namespace {

struct AbstractionOptions {
    std::string fs, job, types, zfs_binary = "zfs";
    std::optional<std::uint64_t> since, until;
    bool json = false, dry_run = false;
};

enum class Mode { list, release_all, release_stale };

Result<replication::AbstractionQuery> make_query(const AbstractionOptions& o) {
    replication::AbstractionQuery q;
    if (!o.fs.empty()) {
        auto f = replication::FilesystemFilter::parse_spec(o.fs);
        if (!f) return Error(f.error()).wrap("--fs");
        q.filesystems = std::move(*f);
    }
    if (!o.job.empty()) {
        auto j = replication::JobId::make(o.job);
        if (!j) return Error(j.error()).wrap("--job");
        q.job = std::move(*j);
    }
    std::stringstream types(o.types);
    for (std::string t; std::getline(types, t, ',');) {
        if (t.empty()) continue;
        auto parsed = replication::parse_abstraction_type(t);
        if (!parsed)
            return Error(Errc::invalid_argument,
                         "--type: unknown abstraction type '" + t +
                             "' (step-hold, last-received-hold, replication-cursor-bookmark-v1, "
                             "replication-cursor-bookmark-v2, tentative-replication-cursor-bookmark-v2)");
        q.types.push_back(*parsed);
    }
    if (o.since) q.createtxg.since = replication::CreateTxgBound{*o.since, true};
    if (o.until) q.createtxg.until = replication::CreateTxgBound{*o.until, false};
    return q;
}

int run(Mode mode, const AbstractionOptions& o) {
    auto q = make_query(o);
    if (!q) {
        std::cerr << "zferry: " << q.error().message() << "\n";
        return 2;
    }
    boost::asio::io_context ctx;
    zfs::ZfsRunnerOptions ro;
    ro.binary = o.zfs_binary;
    zfs::ZfsRunner runner(ctx.get_executor(), std::move(ro));
    auto work = [&]() -> boost::asio::awaitable<int> {
        auto listing = co_await replication::list_abstractions(runner, *q);
        if (!listing) {
            std::cerr << "zferry: listing abstractions: " << listing.error().message() << "\n";
            co_return 1;
        }
        for (const auto& i : listing->ignored) std::cerr << "zferry: " << i << "\n";
        for (const auto& s : listing->holds_unknown)
            std::cerr << "zferry: " << s << " has holds whose tags this zfs cannot list (no `zfs holds`)\n";
        auto selected = mode == Mode::release_stale ? replication::stale_of(listing->found) : listing->found;
        for (const auto& a : selected) {
            if (o.json)
                std::cout << boost::json::serialize(boost::json::value_from(a)) << "\n";
            else
                std::cout << (mode == Mode::list ? ""
                              : o.dry_run        ? "would release "
                                                 : "release ")
                          << a.describe() << "\n";
        }
        if (mode == Mode::list) co_return 0;
        auto done = co_await replication::release_abstractions(runner, selected, o.dry_run);
        if (!done) {
            std::cerr << "zferry: releasing: " << done.error().message() << "\n";
            co_return 1;
        }
        co_return 0;
    };
    auto f = boost::asio::co_spawn(ctx, work(), boost::asio::use_future);
    ctx.run();
    return f.get();
}

void add_selection(CLI::App* cmd, AbstractionOptions& o) {
    cmd->add_option("--fs", o.fs, "filesystem filter: PATTERN:ok|!,... (PATTERN< for a subtree)");
    cmd->add_option("--job", o.job, "only this job's abstractions");
    cmd->add_option("--type", o.types,
                    "comma list of step-hold, last-received-hold, replication-cursor-bookmark-v1, "
                    "replication-cursor-bookmark-v2, tentative-replication-cursor-bookmark-v2");
    cmd->add_option("--createtxg-since", o.since, "only at or after this createtxg");
    cmd->add_option("--createtxg-until", o.until, "only before this createtxg");
    cmd->add_flag("--json", o.json, "one JSON object per line (zrepl's fields)");
    cmd->add_option("--zfs", o.zfs_binary, "the zfs binary")->capture_default_str();
}

}  // namespace

void register_zfs_abstraction(CLI::App& app, ExitCode& rc) {
    auto o = std::make_shared<AbstractionOptions>();
    auto* za = app.add_subcommand(
        "zfs-abstraction", "list or release the holds and bookmarks replication keeps on this host's pools");
    za->require_subcommand(1);
    auto* list = za->add_subcommand("list", "list step holds, last-received holds and replication cursors");
    add_selection(list, *o);
    list->callback([o, &rc] { rc.value = run(Mode::list, *o); });
    auto* all = za->add_subcommand("release-all", "release every selected abstraction");
    add_selection(all, *o);
    all->add_flag("--dry-run", o->dry_run, "print what would be released, change nothing");
    all->callback([o, &rc] { rc.value = run(Mode::release_all, *o); });
    auto* stale = za->add_subcommand("release-stale",
                                     "release what no replication needs any more: per filesystem and job, "
                                     "step holds at or before the newest "
                                     "cursor, and all but the newest cursor and last-received hold");
    add_selection(stale, *o);
    stale->add_flag("--dry-run", o->dry_run, "print what would be released, change nothing");
    stale->callback([o, &rc] { rc.value = run(Mode::release_stale, *o); });

    // zrepl's older name.
    auto* holds = app.add_subcommand("holds", "alias of zfs-abstraction (zrepl's older name)");
    holds->require_subcommand(1);
    auto* hl = holds->add_subcommand("list", "same as zfs-abstraction list");
    add_selection(hl, *o);
    hl->callback([o, &rc] { rc.value = run(Mode::list, *o); });
}

}  // namespace zferry::cli
