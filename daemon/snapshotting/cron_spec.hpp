// `snapshotting: type: cron`: zrepl's dialect of cron (robfig/cron v3 with an optional
// leading seconds field, no @descriptors), parsed into bit sets and searched as robfig
// does, so a spec fires at exactly the instants it fires at under zrepl.
#pragma once

#include "core/error.hpp"
#include "daemon/snapshotting/time_zone.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zferry::snapshotting {

class CronSpec {
public:
    // "[seconds] minute hour day-of-month month day-of-week", fields separated by
    // whitespace; each field a ','-list of '*', '?', N, N-M, with optional '/step'; month
    // and weekday names (jan, sun; any case). An optional "CRON_TZ=Zone " or "TZ=Zone "
    // prefix names the zone to evaluate in (time_zone_name(); the caller loads it).
    // Errors name the key `cron` and say what is expected.
    static Result<CronSpec> parse(std::string_view spec);

    // The first activation strictly after `after` (whole seconds), evaluated in `zone`'s
    // wall clock; nullopt if there is none within five years (e.g. "0 0 30 2 *").
    std::optional<std::chrono::sys_seconds> next(std::chrono::sys_seconds after, const TimeZone& zone) const;

    const std::string& time_zone_name() const noexcept { return tz_name_; }

private:
    std::uint64_t second_ = 0, minute_ = 0, hour_ = 0, dom_ = 0, month_ = 0, dow_ = 0;
    std::string tz_name_;
};

}  // namespace zferry::snapshotting
