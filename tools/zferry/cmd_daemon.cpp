// `zferry daemon`: loads the configuration (nothing starts on an invalid one), runs the jobs
// and the control socket on one io_context until SIGTERM or SIGINT, then stops everything in
// order. SIGHUP does not reload: it logs that a restart is needed and changes nothing.
#include "core/io_engine.hpp"
#include "core/process.hpp"
#include "tools/zferry/commands.hpp"

#include "daemon/config/config_loader.hpp"
#include "daemon/daemon.hpp"
#include "daemon/jobs/dry_run.hpp"
#include "daemon/jobs/test_clock.hpp"
#include "daemon/logging/log_outlets.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_future.hpp>

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

namespace zferry::cli {
namespace {

namespace asio = boost::asio;

struct DaemonCliOptions {
    std::string config;
    std::string zfs_binary = "zfs";
    unsigned stop_timeout_s = 30;
    unsigned snapshot_max_sleep_ms = 60000;
    bool dry_run = false;
};

// `zferry daemon --dry-run`: every job's dry run (see daemon/jobs/dry_run.hpp), then exit.
int dry_run_all(const config::Config& cfg, const std::string& zfs_binary) {
    daemon::LocalListeners listeners;
    for (const auto& j : cfg.jobs)
        if (const auto* s = j.serve(); s && std::holds_alternative<config::LocalServe>(*s))
            if (auto r = listeners.add(j); !r) {
                std::cerr << "zferry daemon --dry-run: " << r.error().context() << "\n";
                return 1;
            }
    asio::io_context ctx;
    zfs::ZfsRunnerOptions ro;
    ro.binary = zfs_binary;
    zfs::ZfsRunner runner(ctx.get_executor(), std::move(ro));
    auto engine = IoEngine::make(ctx);
    const daemon::TransportContext transport{ctx, *engine};
    bool ok = true;
    for (const auto& j : cfg.jobs) {
        auto f = asio::co_spawn(ctx, daemon::dry_run_job(j, listeners, runner, Logger(), &transport),
                                asio::use_future);
        ctx.restart();
        ctx.run();
        auto out = f.get();
        std::cout << out.text << "\n";
        ok = ok && out.ok;
    }
    return ok ? 0 : 1;
}

// If stopping outlasts its bound (a zfs child that ignores SIGKILL in D state, a hook that
// will not die), the daemon says so and exits anyway.
class StopWatchdog {
public:
    explicit StopWatchdog(std::chrono::seconds bound) : bound_(bound) {}
    ~StopWatchdog() {
        {
            std::lock_guard l(m_);
            done_ = true;
        }
        cv_.notify_all();
        if (t_.joinable()) t_.join();
    }
    void arm(Logger log) {
        t_ = std::thread([this, log] {
            std::unique_lock l(m_);
            if (cv_.wait_for(l, bound_, [this] { return done_; })) return;
            log.error("stopping took longer than {} s; exiting without waiting further", bound_.count());
            std::_Exit(2);
        });
    }

private:
    std::chrono::seconds bound_;
    std::mutex m_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread t_;
};

int run_daemon(const DaemonCliOptions& o, const GlobalOptions& global) {
    const std::string path = !o.config.empty()        ? o.config
                             : !global.config.empty() ? global.config
                                                      : config::default_config_path();
    auto cfg = config::load_config(path);
    if (!cfg) {
        std::cerr << "zferry daemon: not starting: " << cfg.error().message() << "\n";
        return 1;
    }
    if (o.dry_run) return dry_run_all(*cfg, o.zfs_binary);
    // global.logging: every outlet with its level and format (stdout, syslog, tcp).
    log_init(daemon::log_options_from(cfg->global));
    // The outlets go before this function returns, not with the process's static objects: a
    // tcp outlet's thread and its TLS connection must end while OpenSSL is still initialised
    // (OpenSSL's own atexit cleanup runs before later-registered static destructors).
    struct OutletsClosed {
        ~OutletsClosed() {
            LogOptions plain;
            plain.level = zferry::LogLevel::error;
            log_init(plain);
        }
    } outlets_closed;
    ::signal(SIGPIPE, SIG_IGN);
    const Logger log = Logger().with("job", "_daemon");
    // As Go's runtime does for zrepl: the soft open-file limit up to the hard one (a TLS client
    // costs a sink about 3 descriptors); zfs children get the original back (core/process.hpp).
    if (auto lim = raise_open_file_limit(); !lim)
        log.warn("{}; connections stay bounded by the soft limit", lim.error().message());
    else if (lim->after != lim->before)
        log.info("open-file limit raised from {} to {} (the hard limit); zfs children keep {}", lim->before,
                 lim->after, lim->before);
    else
        log.info("open-file limit {} (the hard limit)", lim->after);

    asio::io_context ctx;
    daemon::DaemonOptions dopts;
    dopts.io = &ctx;
    dopts.zfs_binary = o.zfs_binary;
    dopts.version = ZFERRY_VERSION;
    dopts.jobs.snapshot_max_sleep = std::chrono::milliseconds(o.snapshot_max_sleep_ms);
    // A test facility (daemon/jobs/test_clock.hpp): never set in production, loud when set.
    if (const char* clock_file = std::getenv(daemon::kTestClockEnv); clock_file != nullptr && *clock_file) {
        auto clock = daemon::make_test_clock(clock_file, log.with("subsystem", "test-clock"));
        if (!clock) {
            std::cerr << "zferry daemon: not starting: " << daemon::kTestClockEnv
                      << " is set: " << clock.error().message() << "\n";
            return 1;
        }
        log.warn(
            "{}={}: the wall clock of the snapshotter is FAKED (system clock + the offset in that "
            "file, now {} s); a test facility, unset it in production",
            daemon::kTestClockEnv, clock_file,
            std::chrono::duration_cast<std::chrono::seconds>((*clock)() - std::chrono::system_clock::now())
                .count());
        dopts.jobs.wall_clock = std::move(*clock);
    }
    daemon::Daemon d(ctx.get_executor(), std::move(*cfg), dopts, log);
    StopWatchdog watchdog{std::chrono::seconds(o.stop_timeout_s)};
    // Signals are caught before start() so a SIGTERM during the startup checks stops cleanly.
    asio::signal_set signals(ctx, SIGTERM, SIGINT, SIGHUP);

    auto main_task = [&]() -> asio::awaitable<int> {
        auto started = co_await d.start();
        if (!started) {
            log.error("not starting: {}", started.error().message());
            // Also on stderr, as every failing command says why: the log outlets may be
            // elsewhere (stdout, syslog, a collector).
            std::cerr << "zferry daemon: not starting: " << started.error().message() << "\n";
            co_await d.stop();
            co_return 1;
        }
        for (;;) {
            auto [ec, sig] = co_await signals.async_wait(use_ec);
            if (ec) break;
            if (sig == SIGHUP) {
                log.warn(
                    "SIGHUP: zferry does not reload its configuration; restart the daemon to apply changes");
                continue;
            }
            log.info("{}: stopping (bounded by {} s)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                     o.stop_timeout_s);
            break;
        }
        watchdog.arm(log);
        co_await d.stop();
        co_return 0;
    };
    auto f = asio::co_spawn(ctx, main_task(), asio::use_future);
    ctx.run();
    return f.get();
}

}  // namespace

void register_daemon(CLI::App& app, ExitCode& rc, const GlobalOptions& global) {
    auto o = std::make_shared<DaemonCliOptions>();
    auto* cmd = app.add_subcommand(
        "daemon",
        "run the jobs of the configuration: snapshots, replication, pruning, and the control socket.\n"
        "Stops on SIGTERM or SIGINT: running replication steps are cancelled into a resumable state and\n"
        "every zfs child is reaped. SIGHUP does not reload the configuration (it logs that a restart is\n"
        "needed). Exit status 1: the configuration or a startup check failed (the error names it).");
    cmd->add_option("--config", o->config, "the configuration file (default: see zferry --help)");
    cmd->add_option("--zfs", o->zfs_binary, "the zfs binary")->capture_default_str();
    cmd->add_option("--stop-timeout", o->stop_timeout_s,
                    "seconds stopping may take before the daemon exits anyway")
        ->capture_default_str();
    cmd->add_option("--snapshot-max-sleep-ms", o->snapshot_max_sleep_ms,
                    "longest sleep of a snapshotter between looks at the wall clock")
        ->capture_default_str();
    cmd->add_flag("--dry-run", o->dry_run,
                  "print what one invocation of every job would do now (as zferry run --dry-run), change "
                  "nothing, and exit");
    cmd->callback([o, &rc, &global] { rc.value = run_daemon(*o, global); });
}

}  // namespace zferry::cli
