#include "daemon/snapshotting/go_layout.hpp"

#include "daemon/snapshotting/civil_time.hpp"

namespace zferry::snapshotting {
namespace {

// Element codes in the order of Go's time/format.go.
enum Std : int {
    kNone = 0,
    kLongMonth,
    kMonth,
    kNumMonth,
    kZeroMonth,
    kLongWeekDay,
    kWeekDay,
    kDay,
    kUnderDay,
    kZeroDay,
    kUnderYearDay,
    kZeroYearDay,
    kHour,
    kHour12,
    kZeroHour12,
    kMinute,
    kZeroMinute,
    kSecond,
    kZeroSecond,
    kLongYear,
    kYear,
    kPM,
    kpm,
    kTZ,
    kISO8601TZ,
    kISO8601SecondsTZ,
    kISO8601ShortTZ,
    kISO8601ColonTZ,
    kISO8601ColonSecondsTZ,
    kNumTZ,
    kNumSecondsTz,
    kNumShortTZ,
    kNumColonTZ,
    kNumColonSecondsTZ,
    kFracSecond0,
    kFracSecond9,
};

bool starts_with_lower(std::string_view s) { return !s.empty() && s[0] >= 'a' && s[0] <= 'z'; }
bool is_digit_at(std::string_view s, std::size_t i) { return i < s.size() && s[i] >= '0' && s[i] <= '9'; }

struct Next {
    std::size_t prefix_len;
    int std;
    std::size_t consumed;  // length of the element text
    int frac_digits = 0;
    char frac_sep = '.';
};

// Go's nextStdChunk: the first element in `l`, or {l.size(), kNone, 0}.
Next next_std_chunk(std::string_view l) {
    auto at = [&](std::size_t i, std::string_view w) { return l.substr(i, w.size()) == w; };
    for (std::size_t i = 0; i < l.size(); ++i) {
        switch (l[i]) {
            case 'J':
                if (at(i, "Jan")) {
                    if (at(i, "January")) return {i, kLongMonth, 7};
                    if (!starts_with_lower(l.substr(i + 3))) return {i, kMonth, 3};
                }
                break;
            case 'M':
                if (at(i, "Mon")) {
                    if (at(i, "Monday")) return {i, kLongWeekDay, 6};
                    if (!starts_with_lower(l.substr(i + 3))) return {i, kWeekDay, 3};
                }
                if (at(i, "MST")) return {i, kTZ, 3};
                break;
            case '0':
                if (i + 1 < l.size() && l[i + 1] >= '1' && l[i + 1] <= '6') {
                    static constexpr int k0x[6] = {kZeroMonth,  kZeroDay,    kZeroHour12,
                                                   kZeroMinute, kZeroSecond, kYear};
                    return {i, k0x[l[i + 1] - '1'], 2};
                }
                if (at(i, "002")) return {i, kZeroYearDay, 3};
                break;
            case '1':
                if (at(i, "15")) return {i, kHour, 2};
                return {i, kNumMonth, 1};
            case '2':
                if (at(i, "2006")) return {i, kLongYear, 4};
                return {i, kDay, 1};
            case '_':
                if (at(i, "_2")) {
                    // "_2006" is a literal '_' followed by the long year.
                    if (at(i, "_2006")) return {i + 1, kLongYear, 4};
                    return {i, kUnderDay, 2};
                }
                if (at(i, "__2")) return {i, kUnderYearDay, 3};
                break;
            case '3': return {i, kHour12, 1};
            case '4': return {i, kMinute, 1};
            case '5': return {i, kSecond, 1};
            case 'P':
                if (at(i, "PM")) return {i, kPM, 2};
                break;
            case 'p':
                if (at(i, "pm")) return {i, kpm, 2};
                break;
            case '-':
                if (at(i, "-070000")) return {i, kNumSecondsTz, 7};
                if (at(i, "-07:00:00")) return {i, kNumColonSecondsTZ, 9};
                if (at(i, "-0700")) return {i, kNumTZ, 5};
                if (at(i, "-07:00")) return {i, kNumColonTZ, 6};
                if (at(i, "-07")) return {i, kNumShortTZ, 3};
                break;
            case 'Z':
                if (at(i, "Z070000")) return {i, kISO8601SecondsTZ, 7};
                if (at(i, "Z07:00:00")) return {i, kISO8601ColonSecondsTZ, 9};
                if (at(i, "Z0700")) return {i, kISO8601TZ, 5};
                if (at(i, "Z07:00")) return {i, kISO8601ColonTZ, 6};
                if (at(i, "Z07")) return {i, kISO8601ShortTZ, 3};
                break;
            case '.':
            case ',':
                if (i + 1 < l.size() && (l[i + 1] == '0' || l[i + 1] == '9')) {
                    const char ch = l[i + 1];
                    std::size_t j = i + 1;
                    while (j < l.size() && l[j] == ch) ++j;
                    // Only a fractional second if the run of digits ends here.
                    if (!is_digit_at(l, j)) {
                        Next n{i, ch == '0' ? kFracSecond0 : kFracSecond9, j - i};
                        n.frac_digits = static_cast<int>(j - (i + 1));
                        n.frac_sep = l[i];
                        return n;
                    }
                }
                break;
            default: break;
        }
    }
    return {l.size(), kNone, 0};
}

void append_int(std::string& b, std::int64_t x, int width) {
    std::uint64_t u = x < 0 ? std::uint64_t(0) - std::uint64_t(x) : std::uint64_t(x);
    if (x < 0) b += '-';
    char buf[24];
    int n = 0;
    do {
        buf[n++] = static_cast<char>('0' + u % 10);
        u /= 10;
    } while (u != 0);
    for (int w = n; w < width; ++w) b += '0';
    while (n > 0) b += buf[--n];
}

constexpr const char* kLongMonths[12] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
constexpr const char* kLongDays[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                      "Thursday", "Friday", "Saturday"};

}  // namespace

GoLayout::GoLayout(std::string_view layout) {
    while (!layout.empty()) {
        auto n = next_std_chunk(layout);
        if (n.prefix_len > 0) chunks_.push_back(Chunk{kNone, std::string(layout.substr(0, n.prefix_len))});
        if (n.std == kNone) break;
        chunks_.push_back(Chunk{n.std, {}, n.frac_digits, n.frac_sep});
        layout.remove_prefix(n.prefix_len + n.consumed);
    }
}

std::string GoLayout::format(const ZonedReading& r) const {
    const CivilTime t = civil_from_seconds(r.unix_seconds + r.utc_offset);
    std::string b;
    for (const auto& c : chunks_) {
        switch (c.std) {
            case kNone: b += c.literal; break;
            case kYear: append_int(b, floor_mod(t.year, 100), 2); break;
            case kLongYear: append_int(b, t.year, 4); break;
            case kMonth: b += std::string_view(kLongMonths[t.month - 1]).substr(0, 3); break;
            case kLongMonth: b += kLongMonths[t.month - 1]; break;
            case kNumMonth: append_int(b, t.month, 0); break;
            case kZeroMonth: append_int(b, t.month, 2); break;
            case kWeekDay: b += std::string_view(kLongDays[t.weekday]).substr(0, 3); break;
            case kLongWeekDay: b += kLongDays[t.weekday]; break;
            case kDay: append_int(b, t.day, 0); break;
            case kUnderDay:
                if (t.day < 10) b += ' ';
                append_int(b, t.day, 0);
                break;
            case kZeroDay: append_int(b, t.day, 2); break;
            case kUnderYearDay:
                if (t.yearday < 100) {
                    b += ' ';
                    if (t.yearday < 10) b += ' ';
                }
                append_int(b, t.yearday, 0);
                break;
            case kZeroYearDay: append_int(b, t.yearday, 3); break;
            case kHour: append_int(b, t.hour, 2); break;
            case kHour12:
            case kZeroHour12: {
                int hr = t.hour % 12;
                if (hr == 0) hr = 12;
                append_int(b, hr, c.std == kHour12 ? 0 : 2);
                break;
            }
            case kMinute: append_int(b, t.minute, 0); break;
            case kZeroMinute: append_int(b, t.minute, 2); break;
            case kSecond: append_int(b, t.second, 0); break;
            case kZeroSecond: append_int(b, t.second, 2); break;
            case kPM: b += t.hour >= 12 ? "PM" : "AM"; break;
            case kpm: b += t.hour >= 12 ? "pm" : "am"; break;
            case kISO8601TZ:
            case kISO8601SecondsTZ:
            case kISO8601ShortTZ:
            case kISO8601ColonTZ:
            case kISO8601ColonSecondsTZ:
            case kNumTZ:
            case kNumSecondsTz:
            case kNumShortTZ:
            case kNumColonTZ:
            case kNumColonSecondsTZ: {
                const bool iso = c.std == kISO8601TZ || c.std == kISO8601SecondsTZ ||
                                 c.std == kISO8601ShortTZ || c.std == kISO8601ColonTZ ||
                                 c.std == kISO8601ColonSecondsTZ;
                if (iso && r.utc_offset == 0) {
                    b += 'Z';
                    break;
                }
                std::int64_t zone = r.utc_offset / 60;
                std::int64_t absoffset = r.utc_offset;
                if (zone < 0) {
                    b += '-';
                    zone = -zone;
                    absoffset = -absoffset;
                } else {
                    b += '+';
                }
                append_int(b, zone / 60, 2);
                const bool colon = c.std == kISO8601ColonTZ || c.std == kNumColonTZ ||
                                   c.std == kISO8601ColonSecondsTZ || c.std == kNumColonSecondsTZ;
                if (colon) b += ':';
                if (c.std != kNumShortTZ && c.std != kISO8601ShortTZ) append_int(b, zone % 60, 2);
                if (c.std == kISO8601SecondsTZ || c.std == kNumSecondsTz || c.std == kNumColonSecondsTZ ||
                    c.std == kISO8601ColonSecondsTZ) {
                    if (c.std == kNumColonSecondsTZ || c.std == kISO8601ColonSecondsTZ) b += ':';
                    append_int(b, absoffset % 60, 2);
                }
                break;
            }
            case kTZ:
                if (!r.abbreviation.empty()) {
                    b += r.abbreviation;
                    break;
                }
                {
                    std::int64_t zone = r.utc_offset / 60;
                    if (zone < 0) {
                        b += '-';
                        zone = -zone;
                    } else {
                        b += '+';
                    }
                    append_int(b, zone / 60, 2);
                    append_int(b, zone % 60, 2);
                }
                break;
            case kFracSecond0:
            case kFracSecond9: {
                char digits[9];
                std::int32_t ns = r.nanoseconds;
                for (int i = 8; i >= 0; --i) {
                    digits[i] = static_cast<char>('0' + ns % 10);
                    ns /= 10;
                }
                int n = c.frac_digits > 9 ? 9 : c.frac_digits;
                if (c.std == kFracSecond9) {
                    while (n > 0 && digits[n - 1] == '0') --n;
                    if (n == 0) break;
                }
                b += c.frac_sep;
                b.append(digits, static_cast<std::size_t>(n));
                break;
            }
            default: break;
        }
    }
    return b;
}

}  // namespace zferry::snapshotting
