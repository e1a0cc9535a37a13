// The daemon: one io_context, the jobs of one configuration as owned tasks, the control
// socket. start() checks before anything runs (every job can be built: its transport is
// available and its passive partner exists; every receiving root_fs exists) and refuses to
// start otherwise, and reports holds and cursors of jobs the configuration does not have; stop() stops the
// control socket, then every job (invocations cancelled, their zfs children stopped and reaped, receivers
// left resumable, snapshotters ended), and returns when nothing of the daemon runs any more.
#pragma once

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/owned_task.hpp"
#include "daemon/config/config.hpp"
#include "daemon/control/control_server.hpp"
#include "daemon/jobs/job.hpp"
#include "daemon/metrics/metrics_server.hpp"
#include "daemon/metrics/zrepl_metrics.hpp"
#include "zfs/zfs_runner.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <vector>

namespace zferry::daemon {

struct DaemonOptions {
    // The daemon's io_context: the remote transports (tcp, tls) run on it (null: local only).
    boost::asio::io_context* io = nullptr;
    std::string zfs_binary = "zfs";
    std::string version;
    JobOptions jobs;
};

class Daemon {
public:
    Daemon(boost::asio::any_io_executor ex, config::Config config, DaemonOptions options, Logger log);
    ~Daemon();

    boost::asio::awaitable<Result<void>> start();
    boost::asio::awaitable<void> stop();

    // zrepl's /status: {"Jobs": {NAME: job status}, "Global": {...}}.
    boost::json::value status() const;
    Result<void> signal(const std::string& job, const std::string& op);
    // zrepl's metric names in Prometheus's text format (what /metrics serves).
    std::string metrics() const {
        if (zrepl_metrics_) {
            zrepl_metrics_->log_entries(log_entry_counts());
            zrepl_metrics_->active_tasks(owned_tasks_running().load(std::memory_order_relaxed));
        }
        return registry_.expose();
    }

private:
    boost::asio::awaitable<Result<void>> check_root_fs();
    boost::asio::awaitable<void> report_stale_abstractions();

    boost::asio::any_io_executor ex_;
    config::Config config_;
    DaemonOptions options_;
    Logger log_;
    // The remote transports' data-path engine and context; before the jobs, which use them.
    std::unique_ptr<IoEngine> engine_;
    std::optional<TransportContext> transport_;
    metrics::Registry registry_;
    std::unique_ptr<ZreplMetrics> zrepl_metrics_;           // registered on registry_ at start()
    std::unique_ptr<zfs::ZfsRunner> runner_;                // startup checks
    std::vector<std::unique_ptr<zfs::ZfsRunner>> runners_;  // one per job, before the jobs (they use them)
    LocalListeners listeners_;
    std::vector<std::unique_ptr<Job>> jobs_;
    std::unique_ptr<ControlServer> control_;
    std::vector<std::unique_ptr<MetricsServer>> metrics_servers_;
    std::chrono::system_clock::time_point started_;
    std::vector<std::string> stale_jobs_;  // jobs with abstractions on the pools but not configured
};

}  // namespace zferry::daemon
