// The metrics zferry exports under zrepl's names and labels (reference §6.1, §6.5), so that
// zrepl's Grafana dashboard keeps working. Only what zferry measures is registered; each
// family has one update function that the daemon calls with plain values.
#pragma once

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "transport/frame_shutdown_report.hpp"
#include "zfs/zfs_runner.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace zferry::daemon {

class ZreplMetrics {
public:
    // Registers the families; zrepl_start_time is set to `start_unix_seconds`.
    ZreplMetrics(metrics::Registry& registry, double start_unix_seconds, std::string_view version);

    // zrepl_zfscmd_runtime, _usertime and _systemtime{jobid,zfsbinary,zfsverb}: a reaped zfs
    // process's wall-clock seconds and its CPU seconds.
    void zfs_command(std::string_view job, std::string_view binary, std::string_view verb, double seconds,
                     double user_seconds, double system_seconds);
    // zrepl_zfs_list_filesystem_versions_duration, _snapshot_duration, _bookmark_duration
    // {filesystem} and zrepl_zfs_destroy_duration{dataset_type,filesystem}.
    void zfs_operation(zfs::ZfsOperation op, std::string_view dataset_type, std::string_view filesystem,
                       double seconds);
    // zrepl_zfs_list_unmatched_user_specified_dataset_count{jobid}: grows by `unmatched` after
    // every listing the job's filter was applied to (zrepl adds, too).
    void unmatched_datasets(std::string_view job, std::size_t unmatched);
    // zrepl_frameconn_shutdown_seconds, _drain_seconds, _drain_bytes_read (summaries) and
    // _hard_closes{step} (a counter).
    void frame_shutdown(const transport::FrameShutdownReport& report);
    // zrepl_trace_active_tasks: the owned tasks running now (taken before each scrape).
    void active_tasks(std::int64_t running);
    // zrepl_replication_bytes_replicated{zrepl_job,filesystem} (a counter: add what moved).
    void bytes_replicated(std::string_view job, std::string_view filesystem, double bytes);
    // At the end of a replication: zrepl_replication_filesystem_errors{zrepl_job} and, when
    // it succeeded, zrepl_replication_last_successful{zrepl_job} (unix seconds).
    void replication_finished(std::string_view job, std::size_t filesystem_errors, bool success,
                              double unix_seconds);
    // zrepl_pruning_time{zrepl_job,prune_side} (seconds per pruning run).
    void pruning_took(std::string_view job, std::string_view side, double seconds);
    // zrepl_replication_state_time{zrepl_job,state}: the seconds of one replication attempt,
    // under the state it ended in (the status' attempt states: done, planning-error, ...).
    void replication_state_time(std::string_view job, std::string_view state, double seconds);
    // zrepl_daemon_log_entries{zrepl_job,level}: brought up to the log's own counts (taken
    // before each scrape; the log counts from any thread, the registry is the daemon's).
    void log_entries(const std::vector<LogEntryCount>& counts);
    // zferry_dataconn_stream_bytes_total{zrepl_job,endpoint,direction} (zrepl has no byte
    // counter of its transport): the ZFS stream bytes of a finished dataconn request,
    // direction "sent" or "received" as seen from this daemon.
    void stream_bytes(std::string_view job, std::string_view endpoint, bool sent, std::uint64_t bytes);
    // zrepl_control_request_begin{endpoint} (a counter) and zrepl_control_request_finished{endpoint}
    // (seconds, zrepl's buckets): requests to the control socket.
    void control_request_begin(std::string_view endpoint);
    void control_request_finished(std::string_view endpoint, double seconds);

private:
    metrics::Family<metrics::Gauge>& start_time_;
    metrics::Family<metrics::Histogram>& zfscmd_runtime_;
    metrics::Family<metrics::Histogram>& zfscmd_usertime_;
    metrics::Family<metrics::Histogram>& zfscmd_systemtime_;
    metrics::Family<metrics::Histogram>& list_versions_duration_;
    metrics::Family<metrics::Histogram>& snapshot_duration_;
    metrics::Family<metrics::Histogram>& bookmark_duration_;
    metrics::Family<metrics::Histogram>& destroy_duration_;
    metrics::Family<metrics::Gauge>& unmatched_datasets_;
    metrics::Family<metrics::Summary>& shutdown_drain_bytes_;
    metrics::Family<metrics::Summary>& shutdown_seconds_;
    metrics::Family<metrics::Summary>& shutdown_drain_seconds_;
    metrics::Family<metrics::Counter>& shutdown_hard_closes_;
    metrics::Family<metrics::Gauge>& trace_active_tasks_;
    metrics::Family<metrics::Counter>& bytes_replicated_;
    metrics::Family<metrics::Gauge>& filesystem_errors_;
    metrics::Family<metrics::Gauge>& last_successful_;
    metrics::Family<metrics::Histogram>& pruning_time_;
    metrics::Family<metrics::Histogram>& state_time_;
    metrics::Family<metrics::Counter>& log_entries_;
    metrics::Family<metrics::Counter>& stream_bytes_;
    metrics::Family<metrics::Counter>& control_begin_;
    metrics::Family<metrics::Histogram>& control_finished_;
};

}  // namespace zferry::daemon
