#include "daemon/jobs/wakeup_schedule.hpp"

namespace zferry::daemon {

WakeupSchedule::WakeupSchedule(WakeupMode mode, std::chrono::seconds interval, Clock::time_point start)
    : mode_(mode), interval_(interval), next_tick_(start + interval) {
    if (mode_ == WakeupMode::interval && interval_ <= std::chrono::seconds(0)) mode_ = WakeupMode::manual;
}

bool WakeupSchedule::advance_ticks(Clock::time_point now) {
    if (mode_ != WakeupMode::interval || now < next_tick_) return false;
    const auto missed = (now - next_tick_) / interval_ + 1;
    next_tick_ += missed * interval_;
    return true;
}

WakeupSchedule::Decision WakeupSchedule::next(Clock::time_point now) {
    if (advance_ticks(now)) pending_ = true;
    if (pending_) return {Decision::Kind::run, {}};
    if (mode_ == WakeupMode::interval) return {Decision::Kind::sleep_until, next_tick_};
    return {Decision::Kind::wait_for_wakeup, {}};
}

bool WakeupSchedule::on_finished(Clock::time_point now) {
    if (!advance_ticks(now)) return false;
    pending_ = true;
    return true;
}

const char* to_string(WakeupMode m) noexcept {
    switch (m) {
        case WakeupMode::snapshots: return "after each snapshot round";
        case WakeupMode::interval: return "every interval";
        case WakeupMode::manual: return "manual";
    }
    return "?";
}

const char* to_string(WakeupSchedule::Decision::Kind k) noexcept {
    switch (k) {
        case WakeupSchedule::Decision::Kind::run: return "run";
        case WakeupSchedule::Decision::Kind::sleep_until: return "sleep until";
        case WakeupSchedule::Decision::Kind::wait_for_wakeup: return "wait for wakeup";
    }
    return "?";
}

}  // namespace zferry::daemon
