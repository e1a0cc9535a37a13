#include "daemon/pruning/retention_grid.hpp"

#include "core/units.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace zferry::pruning {
namespace {

// RE2's \s: [\t\n\f\r ].
bool is_re2_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

std::string_view skip_space(std::string_view s) {
    while (!s.empty() && is_re2_space(s.front())) s.remove_prefix(1);
    return s;
}

std::string_view trim_space_back(std::string_view s) {
    while (!s.empty() && is_re2_space(s.back())) s.remove_suffix(1);
    return s;
}

constexpr std::string_view kExpected = " (expected e.g. '1x1h(keep=all) | 24x1h | 14x1d')";

// Go's strconv.Atoi: optional sign, decimal digits, fits in int64.
std::optional<std::int64_t> atoi(std::string_view s) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (s.empty() || s.front() == '+') return std::nullopt;
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

constexpr std::size_t kMaxBuckets = 100'000;

}  // namespace

Result<std::vector<GridSpecElement>> parse_grid_spec(std::string_view spec) {
    std::vector<GridSpecElement> out;
    std::size_t n_elems = 1 + static_cast<std::size_t>(std::count(spec.begin(), spec.end(), '|'));
    std::size_t idx = 0, start = 0;
    for (;;) {
        const auto bar = spec.find('|', start);
        const std::string_view e = spec.substr(start, bar == std::string_view::npos ? bar : bar - start);
        ++idx;
        auto fail = [&](std::string_view why) {
            return Error(Errc::invalid_argument, "grid '" + std::string(spec) + "': element " +
                                                     std::to_string(idx) + " of " + std::to_string(n_elems) +
                                                     " ('" + std::string(trim_space_back(skip_space(e))) +
                                                     "'): " + std::string(why) + std::string(kExpected));
        };
        const auto no_match = "does not match '<count>x<duration>[(keep=<n>|all)]'";
        std::string_view r = skip_space(e);
        std::size_t digits = 0;
        while (digits < r.size() && r[digits] >= '0' && r[digits] <= '9') ++digits;
        if (digits == 0) return fail(no_match);
        auto count = atoi(r.substr(0, digits));
        r = skip_space(r.substr(digits));
        if (r.empty() || r.front() != 'x') return fail(no_match);
        r = skip_space(r.substr(1));
        const auto paren = r.find('(');
        std::string_view duration = r.substr(0, paren);
        std::optional<std::string_view> params;
        if (paren != std::string_view::npos) {
            std::string_view tail = trim_space_back(r.substr(paren));
            if (tail.size() < 2 || tail.back() != ')') return fail(no_match);
            params = tail.substr(1, tail.size() - 2);
        }
        if (duration.empty()) return fail(no_match);
        if (!count) return fail("count is out of range");
        if (*count <= 0) return fail("count must be greater than zero");
        auto length = parse_positive_duration(duration);
        if (!length) return fail("bad interval length: " + length.error().context());
        int keep = 1;
        if (params) {
            std::string_view p = skip_space(*params);
            if (!p.starts_with("keep=") || p.size() == 5)
                return fail("unknown interval parameter '" + std::string(*params) + "' (only keep=<n>|all)");
            const std::string_view value = p.substr(5);
            if (value == "all") {
                keep = kKeepAll;
            } else {
                auto k = atoi(value);
                if (!k || *k > INT32_MAX) return fail("keep must be a number or 'all'");
                if (*k < 0) return fail("keep must not be negative");
                keep = static_cast<int>(*k);
            }
        }
        out.push_back(GridSpecElement{*count, *length, keep});
        if (bar == std::string_view::npos) break;
        start = bar + 1;
    }
    return out;
}

Result<std::vector<GridInterval>> expand_grid(std::span<const GridSpecElement> spec) {
    if (spec.empty())
        return Error(Errc::invalid_argument,
                     "grid: must specify at least one interval" + std::string(kExpected));
    std::uint64_t total = 0;
    for (const auto& e : spec) {
        total += static_cast<std::uint64_t>(e.count);
        if (total > kMaxBuckets)
            return Error(Errc::invalid_argument, "grid '" + to_string(spec) + "': more than " +
                                                     std::to_string(kMaxBuckets) + " intervals in total" +
                                                     std::string(kExpected));
    }
    std::vector<GridInterval> out;
    out.reserve(total);
    for (const auto& e : spec)
        for (std::int64_t i = 0; i < e.count; ++i) out.push_back(GridInterval{e.length, e.keep});
    for (std::size_t i = 1; i < out.size(); ++i) {
        if (out[i].length >= out[i - 1].length) continue;
        const bool all_prev_keep_all = std::all_of(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(i),
                                                   [](const GridInterval& g) { return g.keep == kKeepAll; });
        if (!all_prev_keep_all)
            return Error(
                Errc::invalid_argument,
                "grid '" + to_string(spec) + "': interval " + std::to_string(i + 1) + " (" +
                    std::to_string(out[i].length.count()) + "s) is shorter than interval " +
                    std::to_string(i) + " (" + std::to_string(out[i - 1].length.count()) +
                    "s); interval lengths must not decrease, except after intervals that all keep=all" +
                    std::string(kExpected));
    }
    return out;
}

std::string to_string(std::span<const GridSpecElement> spec) {
    std::string out;
    for (const auto& e : spec) {
        if (!out.empty()) out += " | ";
        out += std::to_string(e.count) + "x";
        const auto s = e.length.count();
        if (s % 604800 == 0)
            out += std::to_string(s / 604800) + "w";
        else if (s % 86400 == 0)
            out += std::to_string(s / 86400) + "d";
        else if (s % 3600 == 0)
            out += std::to_string(s / 3600) + "h";
        else if (s % 60 == 0)
            out += std::to_string(s / 60) + "m";
        else
            out += std::to_string(s) + "s";
        if (e.keep == kKeepAll)
            out += "(keep=all)";
        else if (e.keep != 1)
            out += "(keep=" + std::to_string(e.keep) + ")";
    }
    return out;
}

GridFit fit_grid(std::span<const GridInterval> grid, std::vector<GridEntry> entries,
                 std::optional<std::int64_t> now) {
    GridFit fit;
    if (entries.empty()) return fit;
    // Youngest first, stable so equal times keep the caller's order.
    std::stable_sort(entries.begin(), entries.end(),
                     [](const GridEntry& a, const GridEntry& b) { return a.time > b.time; });
    const std::int64_t t_now = now.value_or(entries.front().time);
    std::size_t e = 0;
    // Entries in the future are always kept.
    while (e < entries.size() && entries[e].time > t_now) fit.keep.push_back(entries[e++].index);
    std::int64_t edge = t_now;
    std::vector<GridEntry> bucket;
    for (const auto& interval : grid) {
        const std::int64_t older_edge = edge - interval.length.count();
        bucket.clear();
        while (e < entries.size() && entries[e].time > older_edge) bucket.push_back(entries[e++]);
        // The bucket holds its entries youngest first; keep the oldest `keep`.
        const std::size_t n = bucket.size();
        const std::size_t keep = interval.keep == kKeepAll ? n : std::min<std::size_t>(n, interval.keep);
        // Oldest first; stable, so equal times stay in the order the entries came in.
        std::stable_sort(bucket.begin(), bucket.end(),
                         [](const GridEntry& a, const GridEntry& b) { return a.time < b.time; });
        for (std::size_t i = 0; i < n; ++i) (i < keep ? fit.keep : fit.remove).push_back(bucket[i].index);
        edge = older_edge;
    }
    while (e < entries.size()) fit.remove.push_back(entries[e++].index);
    return fit;
}

}  // namespace zferry::pruning
