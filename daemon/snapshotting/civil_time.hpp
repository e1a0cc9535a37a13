// Proleptic Gregorian calendar arithmetic on Unix seconds, with Go's normalisation rules
// (month 13 is January of the next year, day 0 the last day of the previous month), which
// the cron search and the Go layout formatter depend on. Independent of any time zone.
#pragma once

#include <cstdint>

namespace zferry::snapshotting {

struct CivilTime {
    std::int64_t year = 1970;
    int month = 1;  // 1..12
    int day = 1;    // 1..31
    int hour = 0;
    int minute = 0;
    int second = 0;
    int weekday = 4;  // 0 = Sunday
    int yearday = 1;  // 1..366
};

inline std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

inline std::int64_t floor_mod(std::int64_t a, std::int64_t b) { return a - floor_div(a, b) * b; }

// Days since 1970-01-01 of a valid date (H. Hinnant's algorithm).
inline std::int64_t days_from_civil(std::int64_t y, int m, int d) {
    y -= m <= 2;
    const std::int64_t era = floor_div(y, 400);
    const std::int64_t yoe = y - era * 400;
    const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

inline bool is_leap_year(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

inline int days_in_month(std::int64_t y, int m) {
    static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap_year(y) ? 29 : kDays[m - 1];
}

// Seconds since the epoch of a wall-clock reading taken as UTC; every field may be out of
// range and is normalised as Go's time.Date does.
inline std::int64_t seconds_from_civil(std::int64_t y, std::int64_t mon, std::int64_t d, std::int64_t h,
                                       std::int64_t mi, std::int64_t s) {
    y += floor_div(mon - 1, 12);
    const int m = static_cast<int>(floor_mod(mon - 1, 12)) + 1;
    const std::int64_t days = days_from_civil(y, m, 1) + (d - 1);
    return days * 86400 + h * 3600 + mi * 60 + s;
}

inline CivilTime civil_from_seconds(std::int64_t t) {
    const std::int64_t days = floor_div(t, 86400);
    const std::int64_t secs = t - days * 86400;
    const std::int64_t z = days + 719468;
    const std::int64_t era = floor_div(z, 146097);
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    CivilTime c;
    c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    c.year = yoe + era * 400 + (c.month <= 2);
    c.hour = static_cast<int>(secs / 3600);
    c.minute = static_cast<int>(secs / 60 % 60);
    c.second = static_cast<int>(secs % 60);
    c.weekday = static_cast<int>(floor_mod(days + 4, 7));
    c.yearday = static_cast<int>(days - days_from_civil(c.year, 1, 1) + 1);
    return c;
}

}  // namespace zferry::snapshotting
