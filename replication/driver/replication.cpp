#include "replication/driver/replication.hpp"

#include "core/async.hpp"
#include "core/backoff.hpp"
#include "core/owned_task.hpp"
#include "replication/driver/step_runner.hpp"
#include "replication/logic/replication_error.hpp"
#include "replication/logic/step_queue.hpp"
#include "zfs/resume_token.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

// GCC 12 reports a mismatched new/delete where it inlines Asio's awaitable frame allocation
// (aligned_new) into a coroutine that ends after awaiting a lambda-using body: a false
// positive of its coroutine lowering (the frame's own operator new and delete are a pair).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <algorithm>
#include <memory>
#include <random>
#include <sstream>
#include <tuple>
#include <unordered_map>

namespace zferry::replication {

namespace asio = boost::asio;

namespace {

std::string version_label(const std::optional<zfs::FilesystemVersion>& v) {
    if (!v) return "";
    return v->relative_name();
}

template <class T>
std::string to_text(const T& v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

// Runs `inner`, then reports `id` on `done` (whose capacity the caller sized for every task).
template <class Channel>
asio::awaitable<void> then_notify(asio::awaitable<void> inner, Channel* done, std::size_t id) {
    co_await std::move(inner);
    done->try_send(boost::system::error_code{}, id);
}

asio::awaitable<bool> cancelled() {
    auto state = co_await asio::this_coro::cancellation_state;
    co_return state.cancelled() != asio::cancellation_type::none;
}

}  // namespace

// One attempt's working state beside its report entry.
struct ReplicationRun::Attempt {
    struct Fs {
        FilesystemInfo sender;
        std::optional<FilesystemInfo> receiver;
        std::vector<Step> steps;
        std::optional<Error> error;  // planning, or the failed step's
        std::size_t running_step = 0;
    };
    std::size_t index = 0;  // in report_.attempts
    std::vector<Fs> fss;    // sorted by name: a filesystem's children follow it
    std::unordered_map<std::string, std::size_t> by_name;
};

ReplicationRun::ReplicationRun(Sender& sender, Receiver& receiver, ReplicationOptions options, Logger log)
    : sender_(sender), receiver_(receiver), options_(std::move(options)), log_(std::move(log)), now_([] {
          return std::chrono::system_clock::now();
      }) {}

void ReplicationRun::record_error(const Error& e) {
    // zrepl classifies an attempt by its most recent error. A child that could not run because
    // its parent's initial replication failed is a consequence, not a cause: when it came last,
    // zrepl's permanent "parent(s) failed" would end the run although the parent's error was
    // temporary and the next attempt would replicate both. The cause keeps the attempt's class.
    if (e.code() == make_error_code(ReplicationErrc::parent_failed) && last_error_) return;
    last_error_ = e;
}

asio::awaitable<void> ReplicationRun::run() {
    // Cancellation arrives as errors from the operations below; this loop records it and
    // stops, it is never an exception thrown out of the middle of an attempt.
    co_await asio::this_coro::throw_if_cancelled(false);
    report_.start_at = now_();
    for (int n = 1; options_.max_attempts <= 0 || n <= options_.max_attempts; ++n) {
        last_error_.reset();
        report_.attempts.emplace_back();
        Attempt at;
        at.index = report_.attempts.size() - 1;
        report_.attempts.back().start_at = now_();
        co_await run_attempt(at);
        if (succeeded()) {
            final_error_.reset();
            break;
        }
        if (co_await cancelled()) {
            final_error_ =
                Error(ReplicationErrc::cancelled, "replication cancelled in attempt " + std::to_string(n));
            log_.info("{}", final_error_->message());
            break;
        }
        const Error err =
            last_error_ ? *last_error_ : Error(Errc::internal, "attempt failed without an error");
        final_error_ = err;
        if (!err.temporary()) {
            log_.error("replication failed (attempt {}): {}", n, err.message());
            break;
        }
        if (options_.max_attempts > 0 && n == options_.max_attempts) {
            log_.error("replication failed after {} attempts: {}", n, err.message());
            break;
        }
        log_.warn("attempt {} failed with a temporary error, waiting for connectivity: {}", n, err.message());
        if (auto w = co_await wait_for_connectivity(); !w) {
            report_.wait_reconnect_error = TimedError{w.error().message(), now_()};
            final_error_ = w.error();
            log_.error("giving up on replication: {}", w.error().message());
            break;
        }
    }
    report_.finish_at = now_();
}

asio::awaitable<Result<void>> ReplicationRun::wait_for_connectivity() {
    const auto since = now_();
    report_.wait_reconnect_since = since;
    report_.wait_reconnect_until =
        since + std::chrono::duration_cast<WallTime::duration>(options_.reconnect_hard_fail_timeout);
    const auto deadline = std::chrono::steady_clock::now() + options_.reconnect_hard_fail_timeout;
    // Jittered, so that the pushers of a sink that went away do not all come back at once.
    Backoff backoff(options_.reconnect_backoff_min, options_.reconnect_backoff_max, std::random_device{}());
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        auto s = co_await sender_.wait_for_connectivity();
        Result<void> r = s;
        if (s) r = co_await receiver_.wait_for_connectivity();
        if (r) co_return r;
        Error e = r.error();
        if (!e.temporary()) co_return e.wrap("waiting for connectivity");
        const auto pause = backoff.next();
        if (std::chrono::steady_clock::now() + pause > deadline)
            co_return e.wrap("endpoints unreachable until the reconnect hard-fail timeout");
        log_.info("endpoints not reachable yet, next check in {} ms: {}",
                  std::chrono::duration_cast<std::chrono::milliseconds>(pause).count(), e.message());
        timer.expires_after(pause);
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return Error(ReplicationErrc::cancelled, "waiting for connectivity");
    }
}

asio::awaitable<void> ReplicationRun::plan_one(Attempt* at, std::size_t i) {
    co_await asio::this_coro::throw_if_cancelled(false);
    auto& f = at->fss[i];
    auto& fr = report_.attempts[at->index].filesystems[i];
    const std::string& name = f.sender.path;
    const Logger l = log_.with("filesystem", name);
    auto fail = [&](Error e) { f.error = std::move(e); };
    PlanInput in;
    in.sender_is_placeholder = f.sender.is_placeholder;
    in.initial = options_.initial;
    in.coalesce = options_.coalesce && sender_.sends_coalesced_steps();
    in.snapshot_filter = options_.snapshot_filter;
    if (auto it = unfinished_targets_.find(name); it != unfinished_targets_.end())
        in.limit_to_guid = it->second;
    // Both sides' versions at once; a placeholder on the receiver has none worth listing.
    Result<std::vector<zfs::FilesystemVersion>> svs = std::vector<zfs::FilesystemVersion>();
    Result<std::vector<zfs::FilesystemVersion>> rvs = std::vector<zfs::FilesystemVersion>();
    if (f.receiver && !f.receiver->is_placeholder) {
        auto both = co_await in_parallel(sender_.list_versions(name), receiver_.list_versions(name));
        svs = std::move(std::get<0>(both));
        rvs = std::move(std::get<1>(both));
    } else {
        svs = co_await sender_.list_versions(name);
    }
    if (!svs) {
        fail(Error(svs.error()).wrap("sender: listing versions of " + name));
    } else {
        in.sender_versions = std::move(*svs);
        if (f.receiver) {
            in.receiver = f.receiver->is_placeholder ? ReceiverState::placeholder : ReceiverState::present;
            if (!rvs)
                fail(Error(rvs.error()).wrap("receiver: listing versions of " + name));
            else
                in.receiver_versions = std::move(*rvs);
            if (!f.receiver->resume_token.empty()) {
                // Decoded here, natively: zrepl shells out to `zfs send -nvt` on the
                // active side, which may not be the host that holds the token (#510).
                auto token = zfs::decode_resume_token(f.receiver->resume_token);
                if (token) {
                    in.resume_token_raw = f.receiver->resume_token;
                    in.resume_token = *token;
                } else {
                    l.warn(
                        "the receiver's resume token cannot be decoded ({}); its partial receive "
                        "is discarded and the filesystem planned afresh",
                        token.error().message());
                }
            }
        }
    }
    if (!f.error) {
        Plan plan = plan_filesystem(in);
        if (const auto* stale = std::get_if<ClearStaleResumeToken>(&plan.outcome)) {
            // The first step's receive clears it (`zfs recv -A`): the sender does not
            // use the token, so the receive request asks to discard the partial state.
            l.warn(
                "{}: the receiver's partial receive cannot be resumed; it is discarded (zfs recv -A) "
                "and the filesystem planned afresh",
                stale->reason);
            in.resume_token.reset();
            in.resume_token_raw.clear();
            plan = plan_filesystem(in);
        }
        if (const auto* steps = plan.steps()) {
            f.steps = *steps;
        } else if (const auto* c = std::get_if<Conflict>(&plan.outcome)) {
            fail(Error(ReplicationErrc::conflict, name + ": " + to_text(*c)));
        } else if (const auto* e = std::get_if<PlanError>(&plan.outcome)) {
            fail(Error(ReplicationErrc::planning_failed, name + ": " + e->message));
        } else {
            fail(Error(ReplicationErrc::planning_failed, name + ": " + to_text(plan)));
        }
    }
    if (!f.error) {
        for (const auto& s : f.steps) {
            StepReport sr;
            sr.from = version_label(s.from);
            sr.to = s.to.relative_name();
            sr.resumed = s.is_resumed();
            sr.compound = s.is_compound();
            sr.intermediates = s.intermediates.size();
            fr.steps.push_back(std::move(sr));
        }
        std::vector<StepRequest> reqs;
        for (std::size_t k = 0; options_.estimate_sizes && k < f.steps.size(); ++k) {
            const auto& s = f.steps[k];
            StepRequest req{name, s.from, s.to, s.resume_token, options_.protection, s.is_compound()};
            reqs.push_back(std::move(req));
        }
        auto estimates = co_await sender_.send_dry_steps(std::move(reqs));
        for (std::size_t k = 0; k < estimates.size() && k < f.steps.size(); ++k) {
            if (!estimates[k]) {
                fail(Error(estimates[k].error())
                         .wrap("sender: estimating the size of " + to_text(f.steps[k])));
                break;
            }
            fr.steps[k].bytes_expected = estimates[k]->value_or(0);
        }
    }
    if (f.error) {
        fr.state = FilesystemState::planning_error;
        fr.plan_error = TimedError{f.error->message(), now_()};
        fr.steps.clear();
        l.error("planning failed: {}", f.error->message());
    } else {
        l.info("planned {} step(s)", f.steps.size());
    }
}

asio::awaitable<void> ReplicationRun::step_one(Attempt* at, std::size_t i, std::size_t k,
                                               Result<StepOutcome>* out) {
    const auto& f = at->fss[i];
    const std::size_t attempt = at->index;
    auto progress = [this, attempt, i, k](std::uint64_t bytes) {
        report_.attempts[attempt].filesystems[i].steps[k].bytes_replicated = bytes;
    };
    log_.with("filesystem", f.sender.path).info("step {}/{}: {}", k + 1, f.steps.size(), to_text(f.steps[k]));
    *out = co_await run_step(sender_, receiver_, f.sender.path, f.steps[k], options_.protection, progress);
}

asio::awaitable<void> ReplicationRun::run_attempt(Attempt& at) {
    auto ex = co_await asio::this_coro::executor;
    auto report = [&]() -> AttemptReport& { return report_.attempts[at.index]; };
    auto fs_report = [&](std::size_t i) -> FilesystemReport& {
        return report_.attempts[at.index].filesystems[i];
    };
    auto finish = [&](AttemptState s) {
        report().state = s;
        report().finish_at = now_();
    };
    auto plan_failed = [&](Error e) {
        report().plan_error = TimedError{e.message(), now_()};
        record_error(e);
        log_.error("planning failed: {}", e.message());
        finish(AttemptState::planning_error);
    };

    // Both sides' filesystems at once (the sender's error first when both fail).
    auto listed = co_await in_parallel(sender_.list_filesystems(), receiver_.list_filesystems());
    auto& senders = std::get<0>(listed);
    auto& receivers = std::get<1>(listed);
    if (!senders) {
        plan_failed(Error(senders.error()).wrap("sender: listing filesystems"));
        co_return;
    }
    if (!receivers) {
        plan_failed(Error(receivers.error()).wrap("receiver: listing filesystems"));
        co_return;
    }
    std::unordered_map<std::string, FilesystemInfo> on_receiver;
    for (auto& r : *receivers) on_receiver.emplace(r.path, std::move(r));
    std::sort(senders->begin(), senders->end(),
              [](const FilesystemInfo& a, const FilesystemInfo& b) { return a.path < b.path; });
    for (auto& s : *senders) {
        Attempt::Fs f;
        if (auto it = on_receiver.find(s.path); it != on_receiver.end()) f.receiver = it->second;
        f.sender = std::move(s);
        at.by_name.emplace(f.sender.path, at.fss.size());
        FilesystemReport fr;
        fr.name = f.sender.path;
        fr.blocked_on = std::string(to_string(BlockedOn::plan_queue));
        report().filesystems.push_back(std::move(fr));
        at.fss.push_back(std::move(f));
    }

    // Every task reports its end here with its id; the loop below joins it. The capacity
    // covers every task that can run at once, so a task never waits to report.
    const std::size_t plan_slots = std::max<std::size_t>(options_.size_estimate_concurrency, 1);
    const std::size_t step_slots = std::max<std::size_t>(options_.step_concurrency, 1);
    asio::experimental::channel<void(boost::system::error_code, std::size_t)> done(
        ex, plan_slots + step_slots + 1);
    struct Task {
        std::unique_ptr<OwnedTask> task;
        bool is_step = false;
        std::size_t fs = 0;
        // Until the step reports, it has not run to its end.
        Result<StepOutcome> outcome = Error(ReplicationErrc::cancelled, "step did not finish");
    };
    std::unordered_map<std::size_t, Task> tasks;
    std::size_t next_id = 0, next_plan = 0, planning = 0;

    auto start_plan = [&](std::size_t i) {
        const std::size_t id = next_id++;
        auto& t = tasks[id];
        t.fs = i;
        t.task = std::make_unique<OwnedTask>(ex);
        fs_report(i).blocked_on = std::string(to_string(BlockedOn::nothing));
        t.task->start(then_notify(plan_one(&at, i), &done, id));
    };

    StepQueue queue(step_slots);
    bool fanned_out = false;
    bool stopping = false;

    auto start_step = [&](std::size_t i, std::size_t k) {
        const std::size_t id = next_id++;
        auto& t = tasks[id];
        t.is_step = true;
        t.fs = i;
        t.task = std::make_unique<OwnedTask>(ex);
        at.fss[i].running_step = k;
        auto& fr = fs_report(i);
        fr.current_step = k;
        fr.blocked_on = std::string(to_string(BlockedOn::nothing));
        t.task->start(then_notify(step_one(&at, i, k, &t.outcome), &done, id));
    };

    auto fail_fs = [&](std::size_t i, Error e) {
        auto& fr = fs_report(i);
        fr.state = FilesystemState::step_error;
        fr.step_error = TimedError{e.message(), now_()};
        fr.blocked_on = std::string(to_string(BlockedOn::nothing));
        log_.with("filesystem", at.fss[i].sender.path).error("{}", e.message());
        at.fss[i].error = e;
        record_error(e);
    };

    auto step_succeeded = [&](std::size_t i) {
        auto& f = at.fss[i];
        auto& fr = fs_report(i);
        fr.current_step = f.running_step + 1;
        if (fr.current_step == f.steps.size()) {
            fr.state = FilesystemState::done;
            log_.with("filesystem", f.sender.path).info("replicated");
        }
    };

    // A filesystem's queue state changed: it and its children (they follow it in name
    // order) may be blocked on something else now.
    auto refresh_one = [&](std::size_t j) {
        auto& fr = fs_report(j);
        if (fr.state == FilesystemState::stepping)
            fr.blocked_on = std::string(to_string(queue.blocked_on(fr.name)));
    };
    auto refresh_blocked = [&](std::size_t i) {
        const std::string prefix = at.fss[i].sender.path + "/";
        refresh_one(i);
        for (std::size_t j = i + 1; j < at.fss.size() && at.fss[j].sender.path.rfind(prefix, 0) == 0; ++j)
            refresh_one(j);
    };
    bool refresh_all = false;
    std::vector<std::size_t> dirty;  // filesystems whose step ended since the last refresh

    for (;;) {
        if (!stopping) {
            while (planning < plan_slots && next_plan < at.fss.size()) {
                start_plan(next_plan++);
                ++planning;
            }
            if (!fanned_out && planning == 0 && next_plan == at.fss.size()) {
                fanned_out = true;
                report().state = AttemptState::fan_out_filesystems;
                for (std::size_t i = 0; i < at.fss.size(); ++i) {
                    const auto& f = at.fss[i];
                    auto& fr = fs_report(i);
                    if (f.error) {
                        record_error(*f.error);
                        queue.add_failed_filesystem(f.sender.path, f.receiver.has_value());
                        continue;
                    }
                    std::vector<std::int64_t> dates;
                    for (const auto& s : f.steps) dates.push_back(s.to.creation);
                    queue.add_filesystem(f.sender.path, std::move(dates), f.receiver.has_value());
                    fr.state = f.steps.empty() ? FilesystemState::done : FilesystemState::stepping;
                }
                refresh_all = true;
            }
            if (fanned_out) {
                for (const auto& action : queue.next()) {
                    if (const auto* s = std::get_if<StartStep>(&action)) {
                        start_step(at.by_name.at(s->filesystem), s->step);
                    } else {
                        const auto& ff = std::get<FailFilesystem>(action);
                        fail_fs(at.by_name.at(ff.filesystem),
                                Error(ReplicationErrc::parent_failed, ff.filesystem + ": " + ff.reason));
                    }
                }
                if (refresh_all) {
                    for (std::size_t i = 0; i < at.fss.size(); ++i) refresh_one(i);
                    refresh_all = false;
                }
                for (auto i : dirty) refresh_blocked(i);
                dirty.clear();
            }
        }
        if (tasks.empty()) break;
        auto [ec, id] = co_await done.async_receive(asio::as_tuple(asio::use_awaitable));
        if (ec) {
            // Cancelled: stop every task (each stops its zfs children) and wait for them.
            stopping = true;
            for (auto& [tid, t] : tasks) t.task->cancel();
            for (auto& [tid, t] : tasks) co_await t.task->join();
            for (auto& [tid, t] : tasks) {
                if (!t.is_step) continue;
                queue.step_done(at.fss[t.fs].sender.path, t.outcome.has_value());
                if (t.outcome)
                    step_succeeded(t.fs);  // it ended just before the cancellation reached it
                else
                    fail_fs(t.fs, t.outcome.error());  // it names the filesystem and the step
            }
            tasks.clear();
            break;
        }
        auto it = tasks.find(id);
        if (it == tasks.end()) continue;
        co_await it->second.task->join();
        Task t = std::move(it->second);
        tasks.erase(it);
        if (!t.is_step) {
            --planning;
            continue;
        }
        auto& f = at.fss[t.fs];
        queue.step_done(f.sender.path, t.outcome.has_value());
        if (!t.outcome)
            fail_fs(
                t.fs,
                Error(t.outcome.error()).wrap(f.sender.path + ": step " + to_text(f.steps[f.running_step])));
        else
            step_succeeded(t.fs);
        dirty.push_back(t.fs);
    }

    // Correlation for the next attempt: a filesystem that did not reach its last planned
    // target is limited to it (see PlanInput::limit_to_guid).
    for (std::size_t i = 0; i < at.fss.size(); ++i) {
        const auto& f = at.fss[i];
        if (fs_report(i).state != FilesystemState::done && !f.steps.empty())
            unfinished_targets_[f.sender.path] = f.steps.back().to.guid;
        else
            unfinished_targets_.erase(f.sender.path);
    }
    bool ok = fanned_out && !stopping;
    for (std::size_t i = 0; ok && i < at.fss.size(); ++i)
        if (fs_report(i).state != FilesystemState::done) ok = false;
    if (stopping && !last_error_) record_error(Error(ReplicationErrc::cancelled, "replication cancelled"));
    finish(ok ? AttemptState::done : AttemptState::filesystem_error);
}

}  // namespace zferry::replication
