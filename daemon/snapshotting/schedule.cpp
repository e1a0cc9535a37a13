#include "daemon/snapshotting/schedule.hpp"

#include "core/overloaded.hpp"

#include <algorithm>

namespace zferry::snapshotting {

std::optional<std::chrono::sys_seconds> next_fire_time(const Schedule& schedule, const ScheduleState& state,
                                                       std::chrono::sys_seconds now) {
    return std::visit(
        Overloaded{
            [&](const PeriodicSchedule& p) -> std::optional<std::chrono::sys_seconds> {
                if (!state.last_invocation) return state.sync_point.value_or(now);
                return *state.last_invocation + p.interval;
            },
            [&](const CronSchedule& c) -> std::optional<std::chrono::sys_seconds> {
                const auto from = state.last_invocation ? std::max(now, *state.last_invocation) : now;
                return c.spec.next(from, c.zone);
            },
            [](const ManualSchedule&) -> std::optional<std::chrono::sys_seconds> { return std::nullopt; },
        },
        schedule);
}

}  // namespace zferry::snapshotting
