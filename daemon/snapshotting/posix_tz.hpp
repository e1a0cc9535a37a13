// The POSIX TZ rule string ("CET-1CEST,M3.5.0,M10.5.0/3") that ends every version 2+ TZif
// file: it gives the offsets after the last listed transition, so snapshot names keep the
// right offset in years the compiled table no longer covers.
#pragma once

#include "core/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zferry::snapshotting {

// When in a year a daylight-saving period starts or ends, in local time.
struct PosixTzRule {
    enum class Kind { julian_no_leap, zero_based, month_week_day };
    Kind kind = Kind::month_week_day;
    int day = 0;                   // julian_no_leap: 1..365; zero_based: 0..365; month_week_day: weekday 0..6
    int week = 0;                  // month_week_day: 1..5 (5 = last)
    int month = 0;                 // month_week_day: 1..12
    std::int32_t time = 2 * 3600;  // seconds after local midnight; -167h..167h

    // Days since the epoch of the rule's day in `year`.
    std::int64_t day_in_year(std::int64_t year) const;
};

struct PosixTzLocal {
    std::int32_t utc_offset = 0;  // seconds east of UTC
    bool is_dst = false;
    std::string_view abbreviation;
};

class PosixTz {
public:
    // Parses the TZ string; an empty string is an error (the caller decides what "no rule"
    // means). A DST name without rules gets the US default rules, as Go does.
    static Result<PosixTz> parse(std::string_view tz);

    PosixTzLocal lookup(std::int64_t unix_seconds) const;
    bool has_dst() const noexcept { return dst_.has_value(); }

private:
    struct Dst {
        std::string abbreviation;
        std::int32_t utc_offset = 0;
        PosixTzRule start, end;
    };
    std::string std_abbreviation_;
    std::int32_t std_offset_ = 0;
    std::optional<Dst> dst_;
};

}  // namespace zferry::snapshotting
