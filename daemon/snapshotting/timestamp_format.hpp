// The timestamp part of snapshot names: zrepl's `timestamp_format` (dense, human,
// iso-8601, unix-seconds, or a Go layout) rendered in `timestamp_location`.
#pragma once

#include "core/error.hpp"
#include "daemon/snapshotting/go_layout.hpp"
#include "daemon/snapshotting/time_zone.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace zferry::snapshotting {

using Instant = std::chrono::sys_time<std::chrono::nanoseconds>;

class TimestampFormat {
public:
    // Built-in names are case-insensitive. dense, human and unix-seconds require the UTC
    // location (their output carries no offset, so names from two zones would collide or
    // sort wrongly); iso-8601 and Go layouts work in any zone. A Go layout must not contain
    // '+' (invalid in ZFS names; zferry reserves it for the offset sign, see format()).
    // Errors name the key timestamp_format.
    static Result<TimestampFormat> make(std::string_view format, TimeZone location);

    // The timestamp of `t` in the location. The first '+' of the output (the sign of a
    // positive UTC offset, the only source of '+') becomes '_', as zrepl does.
    std::string format(Instant t) const;

    const TimeZone& location() const noexcept { return location_; }

private:
    TimestampFormat(std::optional<GoLayout> layout, TimeZone location)
        : layout_(std::move(layout)), location_(std::move(location)) {}
    std::optional<GoLayout> layout_;  // nullopt: unix-seconds
    TimeZone location_;
};

// zrepl's LocationHasPositiveUtcOffset, asked at the instant `at` (zrepl asks at "now").
bool location_has_positive_utc_offset(const TimeZone& zone, Instant at);

}  // namespace zferry::snapshotting
