#include "daemon/snapshotting/timestamp_format.hpp"

#include "daemon/snapshotting/civil_time.hpp"

#include <algorithm>
#include <cctype>

namespace zferry::snapshotting {
namespace {

constexpr std::string_view kExpected =
    " (expected dense, human, iso-8601, unix-seconds or a Go time layout such as "
    "'2006-01-02_15:04:05')";

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

struct Split {
    std::int64_t seconds;
    std::int32_t nanos;
};

Split split(Instant t) {
    const auto ns = t.time_since_epoch().count();
    const std::int64_t s = floor_div(ns, 1'000'000'000);
    return {s, static_cast<std::int32_t>(ns - s * 1'000'000'000)};
}

}  // namespace

Result<TimestampFormat> TimestampFormat::make(std::string_view format, TimeZone location) {
    const std::string name = lower(format);
    auto require_utc = [&]() -> Result<void> {
        if (location.is_utc()) return {};
        return Error(Errc::invalid_argument,
                     "timestamp_format '" + std::string(format) + "' requires timestamp_location UTC, got '" +
                         location.name() + "' (use iso-8601 or a Go layout with an offset for other zones)");
    };
    if (name == "dense" || name == "human") {
        if (auto r = require_utc(); !r) return r.error();
        return TimestampFormat(GoLayout(name == "dense" ? "20060102_150405_000" : "2006-01-02_15:04:05"),
                               std::move(location));
    }
    if (name == "unix-seconds") {
        if (auto r = require_utc(); !r) return r.error();
        return TimestampFormat(std::nullopt, std::move(location));
    }
    if (name == "iso-8601")
        return TimestampFormat(GoLayout("2006-01-02T15:04:05.000Z0700"), std::move(location));
    if (format.empty())
        return Error(Errc::invalid_argument, "timestamp_format is empty" + std::string(kExpected));
    if (format.find('+') != std::string_view::npos)
        return Error(Errc::invalid_argument, "timestamp_format '" + std::string(format) +
                                                 "' contains '+', which ZFS snapshot names do not allow" +
                                                 std::string(kExpected));
    // A layout without any time element is accepted, as zrepl does; the name check at
    // configuration time cannot see that, and the second snapshot would then fail.
    return TimestampFormat(GoLayout(format), std::move(location));
}

std::string TimestampFormat::format(Instant t) const {
    const auto [secs, nanos] = split(t);
    if (!layout_) return std::to_string(secs);
    const auto info = location_.lookup(secs);
    std::string out = layout_->format(ZonedReading{secs, nanos, info.utc_offset, info.abbreviation});
    if (auto plus = out.find('+'); plus != std::string::npos) out[plus] = '_';
    return out;
}

bool location_has_positive_utc_offset(const TimeZone& zone, Instant at) {
    return zone.lookup(split(at).seconds).utc_offset > 0;
}

}  // namespace zferry::snapshotting
