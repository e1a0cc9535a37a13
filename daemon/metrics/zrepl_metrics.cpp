#include "daemon/metrics/zrepl_metrics.hpp"

namespace zferry::daemon {

using metrics::exponential_buckets;

ZreplMetrics::ZreplMetrics(metrics::Registry& r, double start_unix_seconds, std::string_view version)
    : start_time_(
          r.gauge("zrepl_start_time", "zferry daemon start time (unix seconds)", {"raw", "version_info"})),
      zfscmd_runtime_(r.histogram("zrepl_zfscmd_runtime", "wall-clock runtime of zfs commands in seconds",
                                  {"jobid", "zfsbinary", "zfsverb"}, exponential_buckets(0.001, 4, 10))),
      bytes_replicated_(r.counter("zrepl_replication_bytes_replicated",
                                  "number of bytes replicated from sender to receiver per filesystem",
                                  {"zrepl_job", "filesystem"})),
      filesystem_errors_(
          r.gauge("zrepl_replication_filesystem_errors",
                  "number of filesystems that failed replication in the latest replication attempt, or "
                  "-1 if the job failed before enumerating the filesystems",
                  {"zrepl_job"})),
      last_successful_(
          r.gauge("zrepl_replication_last_successful",
                  "timestamp of the last replication run where all filesystems were successfully "
                  "replicated",
                  {"zrepl_job"})),
      pruning_time_(r.histogram("zrepl_pruning_time", "seconds spent in pruner", {"zrepl_job", "prune_side"},
                                exponential_buckets(0.01, 4, 10))),
      // Prometheus' default buckets, as zrepl's histogram has them.
      state_time_(r.histogram("zrepl_replication_state_time", "seconds spent during replication",
                              {"zrepl_job", "state"},
                              {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})),
      log_entries_(r.counter("zrepl_daemon_log_entries", "number of log entries per job task and level",
                             {"zrepl_job", "level"})),
      stream_bytes_(r.counter("zferry_dataconn_stream_bytes_total",
                              "ZFS stream bytes moved by finished dataconn requests (/v1/send, /v1/recv)",
                              {"zrepl_job", "endpoint", "direction"})),
      control_begin_(
          r.counter("zrepl_control_request_begin", "number of request we started to handle", {"endpoint"})),
      control_finished_(r.histogram(
          "zrepl_control_request_finished", "time it took a request to finish", {"endpoint"},
          {1e-6, 10e-6, 100e-6, 500e-6, 1e-3, 10e-3, 100e-3, 200e-3, 400e-3, 800e-3, 1, 10, 20})) {
    start_time_.with({std::string(version), std::string(version)}).set(start_unix_seconds);
}

void ZreplMetrics::zfs_command(std::string_view job, std::string_view binary, std::string_view verb,
                               double seconds) {
    zfscmd_runtime_.with({std::string(job), std::string(binary), std::string(verb)}).observe(seconds);
}

void ZreplMetrics::bytes_replicated(std::string_view job, std::string_view filesystem, double bytes) {
    bytes_replicated_.with({std::string(job), std::string(filesystem)}).inc(bytes);
}

void ZreplMetrics::replication_finished(std::string_view job, std::size_t filesystem_errors, bool success,
                                        double unix_seconds) {
    filesystem_errors_.with({std::string(job)}).set(static_cast<double>(filesystem_errors));
    if (success) last_successful_.with({std::string(job)}).set(unix_seconds);
}

void ZreplMetrics::pruning_took(std::string_view job, std::string_view side, double seconds) {
    pruning_time_.with({std::string(job), std::string(side)}).observe(seconds);
}

void ZreplMetrics::replication_state_time(std::string_view job, std::string_view state, double seconds) {
    state_time_.with({std::string(job), std::string(state)}).observe(seconds);
}

void ZreplMetrics::log_entries(const std::vector<LogEntryCount>& counts) {
    for (const auto& c : counts) {
        auto& counter = log_entries_.with({c.job, std::string(log_level_name(c.level))});
        counter.inc(static_cast<double>(c.count) - counter.value());
    }
}

void ZreplMetrics::stream_bytes(std::string_view job, std::string_view endpoint, bool sent,
                                std::uint64_t bytes) {
    stream_bytes_.with({std::string(job), std::string(endpoint), sent ? "sent" : "received"})
        .inc(static_cast<double>(bytes));
}

void ZreplMetrics::control_request_begin(std::string_view endpoint) {
    control_begin_.with({std::string(endpoint)}).inc();
}

void ZreplMetrics::control_request_finished(std::string_view endpoint, double seconds) {
    control_finished_.with({std::string(endpoint)}).observe(seconds);
}

}  // namespace zferry::daemon
