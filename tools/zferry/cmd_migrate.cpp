// `zferry migrate replication-cursor:v1-v2 --job JOB --fs SPEC [--dry-run]`: destroys the
// legacy v1 cursor (`#zrepl_replication_cursor`) of every filesystem of the job where the job
// already has a v2 cursor at the same or a newer snapshot (zrepl's migration). Until zferry
// reads the configuration, the owning job and its filesystems are given on the command line.
#include "tools/zferry/commands.hpp"

#include "replication/endpoint/abstractions.hpp"
#include "zfs/bookmark_ops.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <iostream>
#include <memory>

namespace zferry::cli {
namespace {

struct MigrateOptions {
    std::string migration, job, fs, zfs_binary = "zfs";
    bool dry_run = false;
};

int migrate_cursors(const MigrateOptions& o) {
    auto job = replication::JobId::make(o.job);
    if (!job) {
        std::cerr << "zferry: --job: " << job.error().message() << "\n";
        return 2;
    }
    auto filter = replication::FilesystemFilter::parse_spec(o.fs);
    if (!filter) {
        std::cerr << "zferry: --fs: " << filter.error().message() << "\n";
        return 2;
    }
    replication::AbstractionQuery q;
    q.filesystems = std::move(*filter);
    q.types = {replication::AbstractionType::replication_cursor_bookmark_v1,
               replication::AbstractionType::replication_cursor_bookmark_v2};
    boost::asio::io_context ctx;
    zfs::ZfsRunnerOptions ro;
    ro.binary = o.zfs_binary;
    zfs::ZfsRunner runner(ctx.get_executor(), std::move(ro));
    auto work = [&]() -> boost::asio::awaitable<int> {
        auto listing = co_await replication::list_abstractions(runner, q);
        if (!listing) {
            std::cerr << "zferry: listing cursors: " << listing.error().message() << "\n";
            co_return 1;
        }
        int rc = 0;
        const auto plan = replication::plan_v1_cursor_migration(listing->found, *job);
        if (plan.empty()) std::cout << "no v1 replication cursor on the filesystems of job " << o.job << "\n";
        for (const auto& m : plan) {
            if (!m.destroy) {
                std::cout << "skip " << m.v1_cursor << ": " << m.reason << "\n";
                rc = 1;
                continue;
            }
            std::cout << (o.dry_run ? "would destroy " : "destroy ") << m.v1_cursor << ": " << m.reason
                      << "\n";
            if (o.dry_run) continue;
            if (auto r = co_await zfs::destroy_bookmark(runner, m.v1_cursor); !r) {
                std::cerr << "zferry: " << r.error().message() << "\n";
                rc = 1;
            }
        }
        co_return rc;
    };
    auto f = boost::asio::co_spawn(ctx, work(), boost::asio::use_future);
    ctx.run();
    return f.get();
}

}  // namespace

void register_migrate(CLI::App& app, ExitCode& rc) {
    auto o = std::make_shared<MigrateOptions>();
    auto* mig = app.add_subcommand(
        "migrate",
        "one-time migrations of on-disk state left by older zrepl versions; MIGRATION is "
        "replication-cursor:v1-v2 "
        "(destroy the v1 replication cursor where the job's v2 cursor is at the same or a newer snapshot)");
    // zrepl spells the migration with a ':', which CLI11 does not allow in a subcommand name:
    // it is a positional argument here, with the same spelling on the command line.
    mig->add_option("MIGRATION", o->migration, "the migration to run")
        ->required()
        ->check(CLI::IsMember({std::string("replication-cursor:v1-v2")}));
    mig->add_option("--job", o->job, "the push or source job that owns these filesystems")->required();
    mig->add_option("--fs", o->fs, "the job's filesystems: PATTERN:ok|!,... (PATTERN< for a subtree)")
        ->required();
    mig->add_flag("--dry-run", o->dry_run, "print what would be destroyed, change nothing");
    mig->add_option("--zfs", o->zfs_binary, "the zfs binary")->capture_default_str();
    mig->callback([o, &rc] { rc.value = migrate_cursors(*o); });
}

}  // namespace zferry::cli
