#include "daemon/metrics/zrepl_metrics.hpp"

namespace zferry::daemon {

using metrics::exponential_buckets;

namespace {
// zrepl's zfscmd buckets (internal/zfs/zfscmd/zfscmd_prometheus.go).
const std::vector<double> kZfsCmdBuckets{0.01, 0.1, 0.2, 0.5, 0.75, 1, 2, 5, 10, 60};
// Prometheus' default buckets, which zrepl's histograms without their own have.
const std::vector<double> kDefaultBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const std::vector<std::string> kZfsCmdLabels{"jobid", "zfsbinary", "zfsverb"};
}  // namespace

ZreplMetrics::ZreplMetrics(metrics::Registry& r, double start_unix_seconds, std::string_view version)
    : start_time_(
          r.gauge("zrepl_start_time", "zferry daemon start time (unix seconds)", {"raw", "version_info"})),
      zfscmd_runtime_(r.histogram("zrepl_zfscmd_runtime",
                                  "number of seconds that the command took from start until wait returned",
                                  kZfsCmdLabels, kZfsCmdBuckets)),
      zfscmd_usertime_(r.histogram("zrepl_zfscmd_usertime",
                                   "user CPU seconds of the zfs command (its rusage when it was reaped)",
                                   kZfsCmdLabels, kZfsCmdBuckets)),
      zfscmd_systemtime_(r.histogram("zrepl_zfscmd_systemtime",
                                     "system CPU seconds of the zfs command (its rusage when it was reaped)",
                                     kZfsCmdLabels, kZfsCmdBuckets)),
      list_versions_duration_(r.histogram("zrepl_zfs_list_filesystem_versions_duration",
                                          "Seconds it took for listing the versions of a given filesystem",
                                          {"filesystem"}, kDefaultBuckets)),
      snapshot_duration_(r.histogram("zrepl_zfs_snapshot_duration",
                                     "Seconds it took to create a snapshot a given filesystem",
                                     {"filesystem"}, kDefaultBuckets)),
      bookmark_duration_(r.histogram("zrepl_zfs_bookmark_duration",
                                     "Duration it took to bookmark a given snapshot", {"filesystem"},
                                     kDefaultBuckets)),
      destroy_duration_(r.histogram("zrepl_zfs_destroy_duration", "Duration it took to destroy a dataset",
                                    {"dataset_type", "filesystem"}, kDefaultBuckets)),
      unmatched_datasets_(r.gauge(
          "zrepl_zfs_list_unmatched_user_specified_dataset_count",
          "When evaluating a DatsetFilter against zfs list output, this counter is incremented for every "
          "DatasetFilter rule that did not match any filesystem name in the zfs list output. Monitor for "
          "increases to detect filesystem filter rules that have no effect because they don't match any "
          "local "
          "filesystem.",
          {"jobid"})),
      shutdown_drain_bytes_(r.summary("zrepl_frameconn_shutdown_drain_bytes_read",
                                      "Number of bytes read during the drain phase of connection shutdown")),
      shutdown_seconds_(r.summary("zrepl_frameconn_shutdown_seconds",
                                  "Seconds it took for connection shutdown to complete")),
      shutdown_drain_seconds_(r.summary("zrepl_frameconn_shutdown_drain_seconds",
                                        "Seconds it took from read-side-drain until shutdown completion")),
      shutdown_hard_closes_(r.counter("zrepl_frameconn_shutdown_hard_closes",
                                      "Number of hard connection closes during shutdown (abortive close)",
                                      {"step"})),
      trace_active_tasks_(
          r.gauge("zrepl_trace_active_tasks",
                  "number of active (tracing-level) tasks in the daemon (zferry: its owned coroutines)")),
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
    // Present from the start, as zrepl's unlabelled summaries are (NaN quantiles, count 0).
    shutdown_drain_bytes_.with();
    shutdown_seconds_.with();
    shutdown_drain_seconds_.with();
}

void ZreplMetrics::zfs_command(std::string_view job, std::string_view binary, std::string_view verb,
                               double seconds, double user_seconds, double system_seconds) {
    const metrics::LabelValues labels{std::string(job), std::string(binary), std::string(verb)};
    zfscmd_runtime_.with(labels).observe(seconds);
    zfscmd_usertime_.with(labels).observe(user_seconds);
    zfscmd_systemtime_.with(labels).observe(system_seconds);
}

void ZreplMetrics::zfs_operation(zfs::ZfsOperation op, std::string_view dataset_type,
                                 std::string_view filesystem, double seconds) {
    const std::string fs(filesystem);
    switch (op) {
        case zfs::ZfsOperation::list_filesystem_versions:
            list_versions_duration_.with({fs}).observe(seconds);
            break;
        case zfs::ZfsOperation::snapshot: snapshot_duration_.with({fs}).observe(seconds); break;
        case zfs::ZfsOperation::bookmark: bookmark_duration_.with({fs}).observe(seconds); break;
        case zfs::ZfsOperation::destroy:
            destroy_duration_.with({std::string(dataset_type), fs}).observe(seconds);
            break;
    }
}

void ZreplMetrics::unmatched_datasets(std::string_view job, std::size_t unmatched) {
    unmatched_datasets_.with({std::string(job)}).inc(static_cast<double>(unmatched));
}

void ZreplMetrics::frame_shutdown(const transport::FrameShutdownReport& report) {
    shutdown_seconds_.with().observe(std::chrono::duration<double>(report.took).count());
    if (report.drained) {
        shutdown_drain_seconds_.with().observe(std::chrono::duration<double>(report.drain_took).count());
        shutdown_drain_bytes_.with().observe(static_cast<double>(report.drain_bytes));
    }
    if (!report.hard_close_step.empty())
        shutdown_hard_closes_.with({std::string(report.hard_close_step)}).inc();
}

void ZreplMetrics::active_tasks(std::int64_t running) {
    trace_active_tasks_.with().set(static_cast<double>(running));
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
