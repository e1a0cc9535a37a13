// One replication run between a Sender and a Receiver (zrepl's driver, reference §3.4): up
// to `max_attempts` attempts; each lists both sides, plans every filesystem (sizes estimated
// with bounded concurrency), then runs the steps through the StepQueue (oldest snapshot first
// across filesystems, `step_concurrency` at once, parents before children). After a failed
// attempt the most recent error decides: temporary (connectivity, a busy dataset) waits for
// both endpoints to answer, bounded by `reconnect_hard_fail_timeout`, and tries again;
// anything else ends the run. The report is updated in place as the run goes.
//
// Cancelling the coroutine that awaits run() (a `reset`, daemon shutdown) stops every step:
// their zfs children are stopped and reaped, a resumable receiver keeps its partial state,
// and run() returns with the report finished.
#pragma once

#include "core/log.hpp"
#include "replication/driver/step_runner.hpp"
#include "replication/endpoint/endpoint.hpp"
#include "replication/logic/planner.hpp"
#include "replication/report.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <regex>

namespace zferry::replication {

struct ReplicationOptions {
    Protection protection;
    InitialReplicationPolicy initial = InitialReplicationPolicy::most_recent;
    bool coalesce = true;  // replication.coalesce (zferry's own); off when the sender cannot
    std::optional<std::regex> snapshot_filter;  // only snapshots matching it are replicated
    int max_attempts = 3;                       // ZREPL_REPLICATION_MAX_ATTEMPTS
    std::chrono::steady_clock::duration reconnect_hard_fail_timeout = std::chrono::minutes(10);
    // Pause between connectivity checks while waiting to reconnect: doubling up to the max, each
    // a random point in the upper half of its nominal pause (core/backoff.hpp).
    std::chrono::steady_clock::duration reconnect_backoff_min = std::chrono::seconds(1);
    std::chrono::steady_clock::duration reconnect_backoff_max = std::chrono::seconds(30);
    std::size_t step_concurrency = 1;           // replication.concurrency.steps
    std::size_t size_estimate_concurrency = 4;  // replication.concurrency.size_estimates
    bool estimate_sizes = true;                 // SendDry per step while planning
};

class ReplicationRun {
public:
    ReplicationRun(Sender& sender, Receiver& receiver, ReplicationOptions options, Logger log);

    // Runs the attempts; returns when a run is done, failed for good, or was cancelled.
    boost::asio::awaitable<void> run();

    const ReplicationReport& report() const noexcept { return report_; }
    // The error that ended the run (the latest attempt's most recent error), if it failed.
    const std::optional<Error>& final_error() const noexcept { return final_error_; }
    bool succeeded() const noexcept {
        return !report_.attempts.empty() && report_.attempts.back().state == AttemptState::done;
    }
    // Wall clock for the report's times (tests fix it).
    void set_clock(std::function<WallTime()> now) { now_ = std::move(now); }

private:
    struct Attempt;
    boost::asio::awaitable<void> run_attempt(Attempt& at);
    // Plans filesystem i of the attempt (listings, resume token, plan, size estimates).
    boost::asio::awaitable<void> plan_one(Attempt* at, std::size_t i);
    // Runs step k of filesystem i; its outcome goes to *out.
    boost::asio::awaitable<void> step_one(Attempt* at, std::size_t i, std::size_t k,
                                          Result<StepOutcome>* out);
    boost::asio::awaitable<Result<void>> wait_for_connectivity();
    void record_error(const Error& e);

    Sender& sender_;
    Receiver& receiver_;
    ReplicationOptions options_;
    Logger log_;
    ReplicationReport report_;
    std::optional<Error> final_error_;
    std::optional<Error> last_error_;  // most recent error of the current attempt
    // Correlation: per filesystem, the GUID of the last target the previous attempt planned
    // and did not reach.
    std::map<std::string, std::uint64_t> unfinished_targets_;
    std::function<WallTime()> now_;
};

}  // namespace zferry::replication
