// A time zone as data: UTC offsets over time from a TZif file (see tzif.hpp) or fixed.
// libstdc++ 12 has no std::chrono::tzdb, and setting TZ for localtime_r would change the
// whole process; this small model answers the two questions snapshot naming and cron need:
// "what is the offset at this instant" and "which instant is this wall-clock reading".
#pragma once

#include "daemon/snapshotting/posix_tz.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zferry::snapshotting {

struct LocalTimeType {
    std::int32_t utc_offset = 0;  // seconds east of UTC
    bool is_dst = false;
    std::string abbreviation;
};

struct LocalInfo {
    std::int32_t utc_offset = 0;
    bool is_dst = false;
    // Owned (short: no allocation): a view into the zone would dangle when the zone is a
    // temporary, as it did in a test under ASan.
    std::string abbreviation;
};

class TimeZone {
public:
    // UTC, named "UTC" (Go's time.UTC).
    TimeZone();
    static TimeZone utc() { return TimeZone(); }

    // `transitions` ascending, `transition_types` indexes into `types` (non-empty);
    // `rule` covers instants after the last transition.
    TimeZone(std::string name, std::vector<std::int64_t> transitions,
             std::vector<std::uint8_t> transition_types, std::vector<LocalTimeType> types,
             std::optional<PosixTz> rule);

    const std::string& name() const noexcept { return name_; }
    bool is_utc() const noexcept { return name_ == "UTC"; }

    LocalInfo lookup(std::int64_t unix_seconds) const;

    // The instant of a wall-clock reading given as seconds since 1970-01-01T00:00 local,
    // resolved as Go's time.Date does: in a gap the pre-transition offset applies, in an
    // overlap the first matching period wins.
    std::int64_t to_utc(std::int64_t local_seconds) const;

private:
    std::string name_;
    std::vector<std::int64_t> transitions_;
    std::vector<std::uint8_t> transition_types_;
    std::vector<LocalTimeType> types_;
    std::optional<PosixTz> rule_;
};

}  // namespace zferry::snapshotting
