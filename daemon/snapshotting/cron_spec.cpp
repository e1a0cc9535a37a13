#include "daemon/snapshotting/cron_spec.hpp"

#include "daemon/snapshotting/civil_time.hpp"

#include <array>
#include <cctype>
#include <vector>

namespace zferry::snapshotting {
namespace {

// robfig marks a field written as '*' or '?' (without a step > 1) with this bit: it
// decides whether day-of-month and day-of-week combine with AND or OR.
constexpr std::uint64_t kStarBit = std::uint64_t(1) << 63;

struct Bounds {
    unsigned min, max;
    const char* what;
    const std::array<const char*, 12>* names;  // index = value - name_base
    unsigned name_base;
};

constexpr std::array<const char*, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                     "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 12> kDayNames = {"sun", "mon",   "tue",   "wed",   "thu",   "fri",
                                                   "sat", nullptr, nullptr, nullptr, nullptr, nullptr};

constexpr Bounds kSeconds{0, 59, "seconds", nullptr, 0};
constexpr Bounds kMinutes{0, 59, "minute", nullptr, 0};
constexpr Bounds kHours{0, 23, "hour", nullptr, 0};
constexpr Bounds kDom{1, 31, "day of month", nullptr, 0};
constexpr Bounds kMonths{1, 12, "month", &kMonthNames, 1};
constexpr Bounds kDow{0, 6, "day of week", &kDayNames, 0};

std::vector<std::string_view> split(std::string_view s, auto is_sep) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && is_sep(s[i])) ++i;
        std::size_t j = i;
        while (j < s.size() && !is_sep(s[j])) ++j;
        if (j > i) out.push_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

std::vector<std::string_view> split_all(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        auto p = s.find(sep, start);
        out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
        if (p == std::string_view::npos) return out;
        start = p + 1;
    }
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

class FieldParser {
public:
    explicit FieldParser(std::string_view spec) : spec_(spec) {}

    Error fail(std::string_view why) const {
        return Error(Errc::invalid_argument,
                     "cron '" + std::string(spec_) + "': " + std::string(why) +
                         " (expected '[second] minute hour day-of-month month day-of-week', e.g. "
                         "'*/15 * * * *'; @descriptors are not supported)");
    }

    // Go's strconv.Atoi, then robfig's "negative number" check.
    Result<unsigned> number(std::string_view s) const {
        std::size_t i = 0;
        bool neg = false;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
        if (i == s.size()) return fail("'" + std::string(s) + "' is not a number");
        std::uint64_t v = 0;
        for (; i < s.size(); ++i) {
            if (s[i] < '0' || s[i] > '9') return fail("'" + std::string(s) + "' is not a number");
            v = v * 10 + unsigned(s[i] - '0');
            if (v > 0xffffffffu) return fail("'" + std::string(s) + "' is out of range");
        }
        if (neg && v != 0) return fail("'" + std::string(s) + "' is negative");
        return static_cast<unsigned>(v);
    }

    Result<unsigned> int_or_name(std::string_view s, const Bounds& b) const {
        if (b.names) {
            std::string low;
            for (char c : s) low += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            for (std::size_t i = 0; i < b.names->size(); ++i)
                if ((*b.names)[i] && low == (*b.names)[i]) return static_cast<unsigned>(i + b.name_base);
        }
        return number(s);
    }

    Result<std::uint64_t> range(std::string_view expr, const Bounds& b) const {
        const auto range_and_step = split_all(expr, '/');
        const auto low_and_high = split_all(range_and_step[0], '-');
        const bool single = low_and_high.size() == 1;
        unsigned start, end, step = 1;
        std::uint64_t extra = 0;
        if (low_and_high[0] == "*" || low_and_high[0] == "?") {
            start = b.min;
            end = b.max;
            extra = kStarBit;
        } else {
            auto s = int_or_name(low_and_high[0], b);
            if (!s) return s.error();
            start = *s;
            if (low_and_high.size() == 1) {
                end = start;
            } else if (low_and_high.size() == 2) {
                auto e = int_or_name(low_and_high[1], b);
                if (!e) return e.error();
                end = *e;
            } else {
                return fail("too many hyphens in '" + std::string(expr) + "'");
            }
        }
        if (range_and_step.size() == 2) {
            auto s = number(range_and_step[1]);
            if (!s) return s.error();
            step = *s;
            // "N/step" means "N-max/step".
            if (single) end = b.max;
            if (step > 1) extra = 0;
        } else if (range_and_step.size() > 2) {
            return fail("too many slashes in '" + std::string(expr) + "'");
        }
        const std::string where = std::string(b.what) + " field '" + std::string(expr) + "'";
        if (start < b.min) return fail(where + ": beginning of range below " + std::to_string(b.min));
        if (end > b.max) return fail(where + ": end of range above " + std::to_string(b.max));
        if (start > end) return fail(where + ": beginning of range after its end");
        if (step == 0) return fail(where + ": step must be a positive number");
        std::uint64_t bits = 0;
        for (unsigned v = start; v <= end; v += step) bits |= std::uint64_t(1) << v;
        return bits | extra;
    }

    Result<std::uint64_t> field(std::string_view f, const Bounds& b) const {
        std::uint64_t bits = 0;
        // Go's strings.FieldsFunc: empty list elements are dropped.
        for (auto r : split(f, [](char c) { return c == ','; })) {
            auto v = range(r, b);
            if (!v) return v;
            bits |= *v;
        }
        return bits;
    }

private:
    std::string_view spec_;
};

bool has_bit(std::uint64_t set, int v) { return (set >> v) & 1u; }

// A time in the schedule's zone, with Go's time.Time operations the search uses.
class ZonedClock {
public:
    ZonedClock(std::int64_t t, const TimeZone& z) : t_(t), zone_(z) { refresh(); }
    const CivilTime& civil() const { return civil_; }
    std::int64_t unix() const { return t_; }
    void set(std::int64_t t) {
        t_ = t;
        refresh();
    }
    void add(std::int64_t secs) { set(t_ + secs); }
    // Go's time.Date in the zone, fields normalised.
    void date(std::int64_t y, std::int64_t mo, std::int64_t d, std::int64_t h, std::int64_t mi,
              std::int64_t s) {
        set(zone_.to_utc(seconds_from_civil(y, mo, d, h, mi, s)));
    }
    void truncate(std::int64_t unit) { set(floor_div(t_, unit) * unit); }

private:
    void refresh() { civil_ = civil_from_seconds(t_ + zone_.lookup(t_).utc_offset); }
    std::int64_t t_;
    const TimeZone& zone_;
    CivilTime civil_;
};

}  // namespace

Result<CronSpec> CronSpec::parse(std::string_view spec) {
    CronSpec out;
    const std::string_view original = spec;
    FieldParser p(original);
    if (spec.empty()) return p.fail("empty spec");
    if (spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=")) {
        const auto sp = spec.find(' ');
        const auto eq = spec.find('=');
        if (sp == std::string_view::npos) return p.fail("time zone prefix without a schedule");
        out.tz_name_ = std::string(spec.substr(eq + 1, sp - eq - 1));
        spec.remove_prefix(sp);
        while (!spec.empty() && is_space(spec.front())) spec.remove_prefix(1);
        while (!spec.empty() && is_space(spec.back())) spec.remove_suffix(1);
        if (out.tz_name_.empty()) return p.fail("empty time zone name");
    }
    if (spec.starts_with("@")) return p.fail("descriptors such as @daily or @every are not accepted");
    auto fields = split(spec, is_space);
    if (fields.size() == 5) {
        fields.insert(fields.begin(), std::string_view("0"));
    } else if (fields.size() != 6) {
        return p.fail("expected 5 to 6 fields, found " + std::to_string(fields.size()));
    }
    const Bounds* bounds[6] = {&kSeconds, &kMinutes, &kHours, &kDom, &kMonths, &kDow};
    std::uint64_t* dest[6] = {&out.second_, &out.minute_, &out.hour_, &out.dom_, &out.month_, &out.dow_};
    for (int i = 0; i < 6; ++i) {
        auto bits = p.field(fields[static_cast<std::size_t>(i)], *bounds[i]);
        if (!bits) return bits.error();
        *dest[i] = *bits;
    }
    return out;
}

std::optional<std::chrono::sys_seconds> CronSpec::next(std::chrono::sys_seconds after,
                                                       const TimeZone& zone) const {
    // A transcription of robfig/cron v3 SpecSchedule.Next; the structure (and the goto-like
    // restart when a field wraps) is kept so the DST corner cases match.
    // A field with no value at all (robfig accepts "," as a list of nothing) can never
    // match; robfig finds that out by searching five years second by second.
    constexpr std::uint64_t kValues = ~kStarBit;
    if (!(second_ & kValues) || !(minute_ & kValues) || !(hour_ & kValues) || !(month_ & kValues))
        return std::nullopt;
    ZonedClock t(after.time_since_epoch().count() + 1, zone);
    bool added = false;
    const std::int64_t year_limit = t.civil().year + 5;
    auto day_matches = [&]() {
        const bool dom_match = has_bit(dom_, t.civil().day);
        const bool dow_match = has_bit(dow_, t.civil().weekday);
        if ((dom_ & kStarBit) || (dow_ & kStarBit)) return dom_match && dow_match;
        return dom_match || dow_match;
    };
wrap:
    if (t.civil().year > year_limit) return std::nullopt;
    while (!has_bit(month_, t.civil().month)) {
        if (!added) {
            added = true;
            t.date(t.civil().year, t.civil().month, 1, 0, 0, 0);
        }
        const auto c = t.civil();
        t.date(c.year, c.month + 1, c.day, c.hour, c.minute, c.second);
        if (t.civil().month == 1) goto wrap;
    }
    while (!day_matches()) {
        if (!added) {
            added = true;
            t.date(t.civil().year, t.civil().month, t.civil().day, 0, 0, 0);
        }
        const auto c = t.civil();
        t.date(c.year, c.month, c.day + 1, c.hour, c.minute, c.second);
        // Daylight saving may have moved midnight; go back to (or forward to) it.
        if (t.civil().hour != 0) {
            if (t.civil().hour > 12)
                t.add((24 - t.civil().hour) * 3600);
            else
                t.add(-t.civil().hour * 3600);
        }
        if (t.civil().day == 1) goto wrap;
    }
    while (!has_bit(hour_, t.civil().hour)) {
        if (!added) {
            added = true;
            t.date(t.civil().year, t.civil().month, t.civil().day, t.civil().hour, 0, 0);
        }
        t.add(3600);
        if (t.civil().hour == 0) goto wrap;
    }
    while (!has_bit(minute_, t.civil().minute)) {
        if (!added) {
            added = true;
            t.truncate(60);
        }
        t.add(60);
        if (t.civil().minute == 0) goto wrap;
    }
    while (!has_bit(second_, t.civil().second)) {
        if (!added) {
            added = true;
            t.truncate(1);
        }
        t.add(1);
        if (t.civil().second == 0) goto wrap;
    }
    return std::chrono::sys_seconds(std::chrono::seconds(t.unix()));
}

}  // namespace zferry::snapshotting
