// One job of the daemon (reference §6.1) and everything it runs, as owned tasks:
// - push: the snapshotter, and the invocation cycle woken after each snapshot round (or by
//   `signal wakeup`): replication, then pruning of the sender, then of the receiver;
// - pull: the same cycle, woken every `interval` (or only by the signal for `manual`);
// - snap: the snapshotter, and pruning after each round (or on `signal wakeup`);
// - source: the snapshotter; sink: nothing runs (its receiver serves the active job).
// `signal reset` cancels the running invocation: the replication's steps stop their zfs
// children and leave a resumable state, the rest of the invocation is skipped, and the job
// waits for its next wakeup. stop() does the same and also ends the snapshotter; it returns
// when every task of the job has finished.
#pragma once

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/owned_task.hpp"
#include "daemon/config/config.hpp"
#include "daemon/jobs/endpoint_prune.hpp"
#include "daemon/jobs/job_endpoints.hpp"
#include "daemon/jobs/wakeup_schedule.hpp"
#include "daemon/metrics/zrepl_metrics.hpp"
#include "daemon/pruning/local_prune_target.hpp"
#include "daemon/pruning/pruner.hpp"
#include "daemon/snapshotting/snapshotter.hpp"
#include "replication/driver/replication.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <string>

namespace zferry::daemon {

enum class JobState { waiting, replicating, pruning_sender, pruning_receiver, pruning, serving, stopped };
const char* to_string(JobState s) noexcept;

struct JobOptions {
    // The snapshotter's longest sleep between looks at the wall clock.
    std::chrono::milliseconds snapshot_max_sleep{std::chrono::seconds(60)};
    // The snapshotter's wall clock; empty: the system clock (tests: daemon/jobs/test_clock.hpp).
    snapshotting::WallClock wall_clock;
    // The io_context and engine of the remote transports (tcp, tls); null: only local works.
    const TransportContext* transport = nullptr;
};

class Job {
public:
    // Builds the job's parts from its configuration; errors name the job and what is wrong
    // (an unavailable transport, an unsupported hook, a pull or push without its passive job).
    static Result<std::unique_ptr<Job>> make(const config::Job& job, const LocalListeners& listeners,
                                             zfs::ZfsRunner& runner, JobOptions options, Logger log);
    ~Job();

    const std::string& name() const noexcept { return name_; }
    std::string_view type() const noexcept { return type_; }
    JobState state() const noexcept { return state_; }

    void start(boost::asio::any_io_executor ex);
    // Cancels everything and waits until every task of the job has finished.
    boost::asio::awaitable<void> stop();

    // `wakeup` or `reset` (zrepl's signals); an error says why the job does not take it.
    Result<void> signal(std::string_view op);

    // zrepl's job status: {"type": T, T: {...}} with zferry's "State" and "Invocations" added.
    boost::json::object status() const;

    // Where the job reports zrepl's per-job metrics (label zrepl_job); none: not exported.
    void set_metrics(ZreplMetrics* metrics) noexcept { metrics_ = metrics; }

private:
    Job() = default;
    boost::asio::awaitable<void> drive();
    boost::asio::awaitable<void> invocation();
    std::unique_ptr<pruning::Pruner> make_pruner(pruning::PruneTarget& target, pruning::PrunePeer* peer,
                                                 const char* side,
                                                 const std::vector<pruning::KeepRule>& rules,
                                                 const Logger& l) const;
    void wake();

    std::string name_;
    std::string type_;
    Logger log_;
    JobState state_ = JobState::waiting;
    bool stopping_ = false;
    std::size_t invocations_ = 0;

    // The cycle (push, pull, snap); absent for source and sink.
    std::optional<WakeupSchedule> schedule_;
    std::optional<boost::asio::steady_timer> wake_timer_;
    std::optional<OwnedTask> main_, snap_task_, invocation_;

    std::unique_ptr<snapshotting::Snapshotter> snapshotter_;
    bool snapshotter_runs_ = false;  // not for manual snapshotting

    // sink and source on tcp or tls
    std::unique_ptr<PassiveServer> server_;

    // push and pull
    JobEndpoints endpoints_;
    replication::ReplicationOptions replication_options_;
    std::unique_ptr<replication::ReplicationRun> run_;
    std::vector<pruning::KeepRule> keep_sender_, keep_receiver_;
    std::unique_ptr<EndpointPruneTarget> sender_target_, receiver_target_;
    std::unique_ptr<EndpointPrunePeer> sender_peer_, receiver_peer_;
    std::unique_ptr<pruning::Pruner> prune_sender_, prune_receiver_;

    // metrics
    ZreplMetrics* metrics_ = nullptr;
    void pruning_took(const char* side, std::chrono::steady_clock::time_point since);
    void replication_finished();

    // snap
    std::vector<pruning::KeepRule> keep_;
    std::unique_ptr<pruning::LocalPruneTarget> local_target_;
    std::unique_ptr<pruning::Pruner> prune_local_;
};

}  // namespace zferry::daemon
