// When the snapshotter fires next, as a pure function of the schedule, what has happened
// so far, and `now`.
//
// Driving it: never arm one long timer for the returned instant. Wall clocks jump (NTP
// steps, suspend/resume, an administrator's `date -s`), and a monotonic timer set for
// "in 6 hours" fires 6 hours of running time later, whatever the wall clock did meanwhile.
// The driver sleeps in short slices (at most a minute or so), re-reads the wall clock after
// every wake-up and calls next_fire_time again; it fires when the returned instant is <= now.
// After a jump forward that means one snapshot, not one per missed interval (as zrepl). After
// a jump backward, periodic waits until last_invocation + interval on the new clock, and cron
// recomputes from the new now (as zrepl's wall-clock timer does).
#pragma once

#include "daemon/snapshotting/cron_spec.hpp"
#include "daemon/snapshotting/time_zone.hpp"

#include <chrono>
#include <optional>
#include <variant>

namespace zferry::snapshotting {

struct PeriodicSchedule {
    std::chrono::seconds interval;
};

struct CronSchedule {
    CronSpec spec;
    TimeZone zone;  // the spec's CRON_TZ zone if it names one, else the machine's local zone
};

// Never fires: snapshots are taken by someone else; replication runs on `signal wakeup`.
struct ManualSchedule {};

using Schedule = std::variant<PeriodicSchedule, CronSchedule, ManualSchedule>;

struct ScheduleState {
    // Periodic only: from find_sync_point at start.
    std::optional<std::chrono::sys_seconds> sync_point;
    // When the last snapshotting run started (zrepl's lastInvocation).
    std::optional<std::chrono::sys_seconds> last_invocation;
};

// The next instant to snapshot at, or nullopt for never. An instant <= now means "now".
// periodic: the sync point before the first run (now if there is none), then
// last_invocation + interval. cron: the first activation strictly after the later of now
// and last_invocation (so a run that finishes within its own second cannot fire twice).
std::optional<std::chrono::sys_seconds> next_fire_time(const Schedule& schedule, const ScheduleState& state,
                                                       std::chrono::sys_seconds now);

}  // namespace zferry::snapshotting
