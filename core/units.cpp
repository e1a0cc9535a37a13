#include "core/units.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

namespace zferry {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

Error duration_error(std::string_view s, std::string_view why) {
    return Error(Errc::parse_error, "invalid duration '" + std::string(s) + "': " + std::string(why) +
                                        " (expected e.g. 30s, 10m, 1h, 1d, 1w)");
}

}  // namespace

Result<std::chrono::seconds> parse_duration(std::string_view input) {
    std::string_view s = trim(input);
    std::size_t i = 0;
    bool negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        negative = s[i] == '-';
        ++i;
    }
    std::size_t digits_begin = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == digits_begin) return duration_error(input, "missing number");
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(s.data() + digits_begin, s.data() + i, n);
    if (ec != std::errc() || p != s.data() + i) return duration_error(input, "number out of range");
    while (i < s.size() && is_space(s[i])) ++i;
    std::string_view unit = s.substr(i);
    std::int64_t mult;
    if (unit.empty()) {
        if (n != 0) return duration_error(input, "missing unit");
        mult = 1;
    } else if (unit == "s") {
        mult = 1;
    } else if (unit == "m") {
        mult = 60;
    } else if (unit == "h") {
        mult = 3600;
    } else if (unit == "d") {
        mult = 86400;
    } else if (unit == "w") {
        mult = 7 * 86400;
    } else {
        return duration_error(input, "unknown unit '" + std::string(unit) + "'");
    }
    if (n > INT64_MAX / mult) return duration_error(input, "out of range");
    std::int64_t v = n * mult;
    return std::chrono::seconds(negative ? -v : v);
}

Result<std::chrono::seconds> parse_positive_duration(std::string_view s) {
    auto d = parse_duration(s);
    if (!d) return d;
    if (d->count() <= 0) return duration_error(s, "must be positive");
    return d;
}

Result<IntervalOrManual> parse_positive_duration_or_manual(std::string_view s) {
    if (s == "manual") return IntervalOrManual{true, std::chrono::seconds(0)};
    auto d = parse_duration(s);
    if (!d) {
        return Error(Errc::parse_error,
                     "invalid interval '" + std::string(s) + "': expected 'manual' or a positive duration");
    }
    if (d->count() <= 0) return duration_error(s, "must be positive (or 'manual')");
    return IntervalOrManual{false, *d};
}

Result<double> parse_data_size_bits(std::string_view input) {
    auto fail = [&](std::string_view why) {
        return Error(Errc::parse_error, "invalid data size '" + std::string(input) +
                                            "': " + std::string(why) +
                                            " (expected e.g. '50 MiB', '100 Mbit', '1 GB', '-1 B')");
    };
    std::string_view s = trim(input);
    std::size_t i = 0;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-')) ++i;
    if (i == 0) return fail("missing number");
    double number = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + i, number);
    if (ec != std::errc() || p != s.data() + i || !std::isfinite(number)) return fail("bad number");
    std::string_view unit = s.substr(i);
    while (!unit.empty() && is_space(unit.front())) unit.remove_prefix(1);
    if (unit.empty()) return fail("missing unit");

    double prefix = 1;
    bool is_bit_word = false;
    auto take = [&](std::string_view pfx, double f) {
        if (unit.substr(0, pfx.size()) == pfx && unit.size() > pfx.size()) {
            prefix = f;
            unit.remove_prefix(pfx.size());
            return true;
        }
        return false;
    };
    if (unit != "bit") {
        take("Ki", 1024.0) || take("Mi", 1024.0 * 1024) || take("Gi", 1024.0 * 1024 * 1024) ||
            take("Ti", 1024.0 * 1024 * 1024 * 1024) || take("K", 1e3) || take("M", 1e6) || take("G", 1e9) ||
            take("T", 1e12);
    }
    double unit_bits;
    if (unit == "bit") {
        unit_bits = 1;
        is_bit_word = true;
    } else if (unit == "b") {
        unit_bits = 1;
    } else if (unit == "B") {
        unit_bits = 8;
    } else {
        return fail("unknown unit (prefixes K M G T Ki Mi Gi Ti are case-sensitive; b = bit, B = byte)");
    }
    double bits = number * prefix * unit_bits;
    if (is_bit_word && bits != std::floor(bits)) return fail("a number of bits must be whole");
    return bits;
}

Result<double> parse_data_size_bytes(std::string_view s) {
    auto bits = parse_data_size_bits(s);
    if (!bits) return bits;
    return *bits / 8.0;
}

}  // namespace zferry
