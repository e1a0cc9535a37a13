// `zferry run --dry-run JOB`: what one invocation of the job would do now (snapshots, steps
// with sizes, pruning), changing nothing. Without --dry-run it refuses: jobs run in the daemon
// (`zferry signal wakeup JOB` starts one now).
#include "core/io_engine.hpp"
#include "tools/zferry/commands.hpp"

#include "daemon/config/config_loader.hpp"
#include "daemon/jobs/dry_run.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <iostream>

namespace zferry::cli {

void register_run(CLI::App& app, ExitCode& rc, const GlobalOptions& global) {
    struct Options {
        std::string config, job, zfs_binary = "zfs";
        bool dry_run = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand(
        "run",
        "print what one invocation of JOB would do now, changing nothing: the snapshots it would take, the\n"
        "replication steps with the sender's size estimates, and what pruning would destroy as things are "
        "now.\n"
        "Only --dry-run exists: jobs run in the daemon (zferry signal wakeup JOB starts one).");
    cmd->add_option("--config", o->config, "the configuration file (default: see zferry --help)");
    cmd->add_flag("--dry-run", o->dry_run, "plan and print, change nothing (required)");
    cmd->add_option("JOB", o->job, "the job's name")->required();
    cmd->add_option("--zfs", o->zfs_binary, "the zfs binary")->capture_default_str();
    cmd->callback([o, &rc, &global] {
        if (!o->dry_run) {
            std::cerr
                << "zferry run: only --dry-run is supported; jobs run in the daemon (zferry signal wakeup "
                << o->job << ")\n";
            rc.value = 2;
            return;
        }
        const std::string path = !o->config.empty()       ? o->config
                                 : !global.config.empty() ? global.config
                                                          : config::default_config_path();
        auto cfg = config::load_config(path);
        if (!cfg) {
            std::cerr << "zferry run: " << cfg.error().message() << "\n";
            rc.value = 1;
            return;
        }
        const config::Job* job = cfg->find_job(o->job);
        if (!job) {
            std::cerr << "zferry run: no job named \"" << o->job << "\" in " << path << "\n";
            rc.value = 1;
            return;
        }
        daemon::LocalListeners listeners;
        for (const auto& j : cfg->jobs)
            if (const auto* s = j.serve(); s && std::holds_alternative<config::LocalServe>(*s))
                (void)listeners.add(j);
        boost::asio::io_context ctx;
        zfs::ZfsRunnerOptions ro;
        ro.binary = o->zfs_binary;
        zfs::ZfsRunner runner(ctx.get_executor(), std::move(ro));
        auto engine = IoEngine::make(ctx);
        const daemon::TransportContext transport{ctx, *engine};
        auto f = boost::asio::co_spawn(
            ctx, daemon::dry_run_job(*job, listeners, runner, Logger(), &transport), boost::asio::use_future);
        ctx.run();
        auto out = f.get();
        std::cout << out.text;
        rc.value = out.ok ? 0 : 1;
    });
}

}  // namespace zferry::cli
