#include "daemon/jobs/job.hpp"

#include "daemon/jobs/job_settings.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>

#include <map>

namespace zferry::daemon {

namespace asio = boost::asio;
namespace json = boost::json;

const char* to_string(JobState s) noexcept {
    switch (s) {
        case JobState::waiting: return "waiting";
        case JobState::replicating: return "replicating";
        case JobState::pruning_sender: return "pruning-sender";
        case JobState::pruning_receiver: return "pruning-receiver";
        case JobState::pruning: return "pruning";
        case JobState::serving: return "serving";
        case JobState::stopped: return "stopped";
    }
    return "?";
}

namespace {

snapshotting::WallClock wall_clock() {
    return [] { return std::chrono::system_clock::now(); };
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

bool is_manual(const config::Snapshotting& s) {
    return std::holds_alternative<config::ManualSnapshotting>(s);
}

}  // namespace

Job::~Job() = default;

Result<std::unique_ptr<Job>> Job::make(const config::Job& cfg, const LocalListeners& listeners,
                                       zfs::ZfsRunner& runner, JobOptions options, Logger log) {
    std::unique_ptr<Job> j(new Job());
    j->name_ = cfg.name;
    j->type_ = std::string(cfg.type());
    j->log_ = log.with("job", cfg.name);
    const auto now = WakeupSchedule::Clock::now();

    auto make_snapshotter = [&](const config::Snapshotting& s,
                                const replication::FilesystemFilter& fs) -> Result<void> {
        auto sc = snapshotter_config(cfg.name, s, fs);
        if (!sc) return sc.error();
        sc->max_sleep = options.snapshot_max_sleep;
        j->snapshotter_runs_ = !is_manual(s);
        j->snapshotter_ = std::make_unique<snapshotting::Snapshotter>(
            runner, std::move(*sc), options.wall_clock ? options.wall_clock : wall_clock(),
            j->log_.with("subsystem", "snapshot"));
        return {};
    };
    auto make_active = [&](const config::KeepRules& ks, const config::KeepRules& kr,
                           const config::ReplicationOptions& ro,
                           replication::InitialReplicationPolicy initial) -> Result<void> {
        auto ep = connect_endpoints(cfg, listeners, runner, options.transport, j->log_);
        if (!ep) return ep.error();
        j->endpoints_ = std::move(*ep);
        auto s = keep_rules(cfg.name, "keep_sender", ks);
        if (!s) return s.error();
        auto r = keep_rules(cfg.name, "keep_receiver", kr);
        if (!r) return r.error();
        j->keep_sender_ = std::move(*s);
        j->keep_receiver_ = std::move(*r);
        j->replication_options_ = replication_options(ro, initial);
        j->sender_target_ = std::make_unique<EndpointPruneTarget>(*j->endpoints_.sender);
        j->receiver_target_ = std::make_unique<EndpointPruneTarget>(*j->endpoints_.receiver);
        j->sender_peer_ = std::make_unique<EndpointPrunePeer>(*j->endpoints_.receiver, *j->endpoints_.sender);
        j->receiver_peer_ = std::make_unique<EndpointPrunePeer>(*j->endpoints_.sender, *j->endpoints_.sender);
        j->log_ = j->log_.with("peer", j->endpoints_.peer);
        return {};
    };

    // A sink or source on tcp or tls serves its clients through an endpoint server.
    auto make_server = [&]() -> Result<void> {
        const auto* serve = cfg.serve();
        if (!serve || std::holds_alternative<config::LocalServe>(*serve)) return {};
        if (!options.transport)
            return Error(Errc::internal, "job \"" + cfg.name + "\": no transport context for serve");
        auto s = PassiveServer::make(cfg, runner, *options.transport, j->log_);
        if (!s) return s.error();
        j->server_ = std::move(*s);
        return {};
    };

    if (const auto* push = std::get_if<config::PushJob>(&cfg.spec)) {
        if (auto r = make_active(push->keep_sender, push->keep_receiver, push->replication,
                                 push->initial_replication);
            !r)
            return r.error();
        if (auto r = make_snapshotter(push->snapshotting, push->filesystems); !r) return r.error();
        j->schedule_.emplace(is_manual(push->snapshotting) ? WakeupMode::manual : WakeupMode::snapshots,
                             std::chrono::seconds(0), now);
    } else if (const auto* pull = std::get_if<config::PullJob>(&cfg.spec)) {
        if (auto r = make_active(pull->keep_sender, pull->keep_receiver, pull->replication,
                                 pull->initial_replication);
            !r)
            return r.error();
        j->schedule_.emplace(pull->interval_manual ? WakeupMode::manual : WakeupMode::interval,
                             pull->interval, now);
    } else if (const auto* snap = std::get_if<config::SnapJob>(&cfg.spec)) {
        if (auto r = make_snapshotter(snap->snapshotting, snap->filesystems); !r) return r.error();
        auto k = keep_rules(cfg.name, "keep", snap->keep);
        if (!k) return k.error();
        j->keep_ = std::move(*k);
        j->local_target_ = std::make_unique<pruning::LocalPruneTarget>(runner, snap->filesystems);
        j->schedule_.emplace(is_manual(snap->snapshotting) ? WakeupMode::manual : WakeupMode::snapshots,
                             std::chrono::seconds(0), now);
    } else if (const auto* source = std::get_if<config::SourceJob>(&cfg.spec)) {
        if (auto r = check_serve(cfg); !r) return r.error();
        if (auto r = make_server(); !r) return r.error();
        if (auto r = make_snapshotter(source->snapshotting, source->filesystems); !r) return r.error();
        j->state_ = JobState::serving;
    } else {
        if (auto r = check_serve(cfg); !r) return r.error();
        if (auto r = make_server(); !r) return r.error();
        j->state_ = JobState::serving;
    }
    return j;
}

void Job::start(asio::any_io_executor ex) {
    if (snapshotter_ && snapshotter_runs_) {
        snap_task_.emplace(ex);
        snap_task_->start(snapshotter_->run([this](const snapshotting::SnapshotterReport&) {
            // After each round a push replicates and a snap job prunes.
            if (schedule_) wake();
        }));
    }
    if (schedule_) {
        wake_timer_.emplace(ex);
        main_.emplace(ex);
        main_->start(drive());
    }
    if (server_) {
        server_->start();
        log_.info("serving on {}", server_->describe());
    }
    log_.info("started ({})", type_);
}

void Job::wake() {
    schedule_->on_wakeup();
    wake_timer_->cancel();
}

asio::awaitable<void> Job::drive() {
    while (!stopping_) {
        const auto d = schedule_->next(WakeupSchedule::Clock::now());
        if (d.kind == WakeupSchedule::Decision::Kind::run) {
            schedule_->on_started();
            invocation_.emplace(co_await asio::this_coro::executor);
            invocation_->start(invocation());
            co_await invocation_->join();
            if (auto e = invocation_->error()) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    log_.debug("invocation ended by: {}", ex.what());
                }
            }
            if (!stopping_) state_ = JobState::waiting;
            if (schedule_->on_finished(WakeupSchedule::Clock::now()))
                log_.warn("pull job took longer than pull interval; one wakeup queued");
            continue;
        }
        if (d.kind == WakeupSchedule::Decision::Kind::sleep_until)
            wake_timer_->expires_at(d.until);
        else
            wake_timer_->expires_at(WakeupSchedule::Clock::time_point::max());
        co_await wake_timer_->async_wait(use_ec);
    }
}

// Outside the coroutine: GCC 12 mishandles braced temporaries with string literals in
// coroutine bodies.
std::unique_ptr<pruning::Pruner> Job::make_pruner(pruning::PruneTarget& target, pruning::PrunePeer* peer,
                                                  const char* side,
                                                  const std::vector<pruning::KeepRule>& rules,
                                                  const Logger& l) const {
    pruning::PrunerConfig config;
    config.job = name_;
    config.side = side;
    config.rules = rules;
    return std::make_unique<pruning::Pruner>(target, peer, std::move(config),
                                             l.with("subsystem", "pruning").with("prune_side", side));
}

asio::awaitable<void> Job::invocation() {
    ++invocations_;
    const Logger l = log_.with("invocation", std::to_string(invocations_));
    if (!endpoints_.sender) {
        state_ = JobState::pruning;
        prune_local_ = make_pruner(*local_target_, nullptr, "local", keep_, l);
        const auto t = std::chrono::steady_clock::now();
        co_await prune_local_->run();
        pruning_took("local", t);
        co_return;
    }
    state_ = JobState::replicating;
    l.info("replication starts");
    run_ = std::make_unique<replication::ReplicationRun>(*endpoints_.sender, *endpoints_.receiver,
                                                         replication_options_, l.with("subsystem", "repl"));
    co_await run_->run();
    if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) {
        l.warn("replication cancelled; the next wakeup resumes it");
        co_return;
    }
    replication_finished();
    if (run_->succeeded()) {
        l.info("replication done");
    } else
        l.error("replication failed: {}",
                run_->final_error() ? run_->final_error()->message() : "unknown error");
    state_ = JobState::pruning_sender;
    prune_sender_ = make_pruner(*sender_target_, sender_peer_.get(), "sender", keep_sender_, l);
    auto t = std::chrono::steady_clock::now();
    co_await prune_sender_->run();
    pruning_took("sender", t);
    if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)
        co_return;
    state_ = JobState::pruning_receiver;
    prune_receiver_ = make_pruner(*receiver_target_, receiver_peer_.get(), "receiver", keep_receiver_, l);
    t = std::chrono::steady_clock::now();
    co_await prune_receiver_->run();
    pruning_took("receiver", t);
    l.info("invocation done");
}

Result<void> Job::signal(std::string_view op) {
    if (op == "wakeup") {
        if (!schedule_)
            return Error(Errc::invalid_argument,
                         "job \"" + name_ + "\" is a " + type_ + " job, which has nothing to wake up");
        if (stopping_) return Error(Errc::shutdown, "job \"" + name_ + "\" is stopping");
        log_.info("wakeup signalled");
        wake();
        return {};
    }
    if (op == "reset") {
        if (!schedule_)
            return Error(Errc::invalid_argument,
                         "job \"" + name_ + "\" is a " + type_ + " job, which has nothing to reset");
        if (invocation_ && invocation_->running()) {
            log_.info("reset signalled: cancelling the running invocation");
            invocation_->cancel();
        } else {
            log_.info("reset signalled: no invocation running");
        }
        return {};
    }
    return Error(Errc::invalid_argument, "unknown signal \"" + std::string(op) + "\" (wakeup or reset)");
}

asio::awaitable<void> Job::stop() {
    stopping_ = true;
    if (wake_timer_) wake_timer_->cancel();
    if (invocation_) invocation_->cancel();
    if (snap_task_) co_await snap_task_->stop();
    if (main_) co_await main_->join();
    if (server_) co_await server_->stop();
    if (endpoints_.close) co_await endpoints_.close();
    state_ = JobState::stopped;
    log_.info("stopped");
}

json::object Job::status() const {
    json::object inner;
    inner["State"] = to_string(state_);
    auto or_null = [](const auto& p) -> json::value {
        return p ? json::value_from(p->report()) : json::value(nullptr);
    };
    if (type_ == "push" || type_ == "pull") {
        inner["Invocations"] = invocations_;
        inner["Replication"] = or_null(run_);
        inner["PruningSender"] = or_null(prune_sender_);
        inner["PruningReceiver"] = or_null(prune_receiver_);
        inner["Snapshotting"] = snapshotter_runs_ ? or_null(snapshotter_) : json::value(nullptr);
    } else if (type_ == "snap") {
        inner["Invocations"] = invocations_;
        inner["Pruning"] = or_null(prune_local_);
        inner["Snapshotting"] = snapshotter_runs_ ? or_null(snapshotter_) : json::value(nullptr);
    } else {
        inner["Snapper"] = snapshotter_runs_ ? or_null(snapshotter_) : json::value(nullptr);
    }
    json::object out;
    out["type"] = type_;
    out[type_] = std::move(inner);
    return out;
}

void Job::pruning_took(const char* side, std::chrono::steady_clock::time_point since) {
    if (metrics_) metrics_->pruning_took(name_, side, seconds_since(since));
}

void Job::replication_finished() {
    if (!metrics_ || !run_) return;
    const auto& report = run_->report();
    // The counter gets what this run moved, every attempt's steps included.
    std::map<std::string, std::uint64_t> bytes;
    for (const auto& a : report.attempts)
        for (const auto& f : a.filesystems) bytes[f.name] += f.bytes_replicated();
    for (const auto& [fs, n] : bytes)
        if (n > 0) metrics_->bytes_replicated(name_, fs, static_cast<double>(n));
    for (const auto& a : report.attempts)
        if (a.finish_at)
            metrics_->replication_state_time(
                name_, replication::to_string(a.state),
                std::chrono::duration<double>(*a.finish_at - a.start_at).count());
    const int failed = report.failed_filesystems_in_latest_attempt();
    metrics_->replication_finished(
        name_, failed < 0 ? 0 : static_cast<std::size_t>(failed), run_->succeeded(),
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
}

}  // namespace zferry::daemon
