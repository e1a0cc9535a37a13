// When an active job (push, pull) starts its next invocation (replication, then pruning of
// the sender, then of the receiver), as a pure class: events in, the decision out as data.
// A push job is woken by its snapshotter after each round; a pull job every `interval`; both
// by `zferry signal wakeup`. A manual job only by the signal.
//
// A pull whose invocation outlasts its interval does not run back to back for every tick it
// missed: as zrepl, it warns once and queues one wakeup (on_finished says so).
#pragma once

#include <chrono>
#include <optional>

namespace zferry::daemon {

enum class WakeupMode { snapshots, interval, manual };

class WakeupSchedule {
public:
    using Clock = std::chrono::steady_clock;

    struct Decision {
        enum class Kind { run, sleep_until, wait_for_wakeup };
        Kind kind = Kind::wait_for_wakeup;
        Clock::time_point until{};  // sleep_until only
    };

    // `interval` only for WakeupMode::interval; the first tick is one interval after `start`.
    WakeupSchedule(WakeupMode mode, std::chrono::seconds interval, Clock::time_point start);

    // What to do at `now` (not running an invocation).
    Decision next(Clock::time_point now);
    // A snapshotter round finished (push) or `signal wakeup`: one invocation is queued.
    void on_wakeup() noexcept { pending_ = true; }
    // The invocation the decision asked for has started.
    void on_started() noexcept { pending_ = false; }
    // The invocation ended at `now`; true when it outlasted a pull interval (then one wakeup
    // is queued, however many ticks passed).
    bool on_finished(Clock::time_point now);

    bool pending() const noexcept { return pending_; }

private:
    // Moves next_tick_ past `now`; true when at least one tick was due.
    bool advance_ticks(Clock::time_point now);

    WakeupMode mode_;
    std::chrono::seconds interval_;
    Clock::time_point next_tick_;
    bool pending_ = false;
};

const char* to_string(WakeupMode m) noexcept;
const char* to_string(WakeupSchedule::Decision::Kind k) noexcept;

}  // namespace zferry::daemon
