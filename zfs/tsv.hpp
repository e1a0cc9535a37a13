// Line and TAB-field splitting shared by the `zfs ... -H` output parsers. string_view only:
// a 100 000-line listing is parsed without a regex or an allocation per field.
#pragma once

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zferry::zfs::tsv {

// Calls f(line_number (1-based), line) for every line; a trailing "\r" is stripped and a
// final line without "\n" still counts. Stops and returns false as soon as f returns false.
template <class F>
bool for_each_line(std::string_view text, F&& f) {
    std::size_t pos = 0, number = 0;
    while (pos < text.size()) {
        auto nl = text.find('\n', pos);
        auto end = nl == std::string_view::npos ? text.size() : nl;
        auto line = text.substr(pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!f(++number, line)) return false;
        pos = end + 1;
    }
    return true;
}

// Splits `line` at TABs into exactly N fields; nullopt when the count differs.
template <std::size_t N>
std::optional<std::array<std::string_view, N>> split_exact(std::string_view line) {
    std::array<std::string_view, N> out;
    std::size_t pos = 0;
    for (std::size_t i = 0; i < N; ++i) {
        auto tab = line.find('\t', pos);
        if (i + 1 == N) {
            if (tab != std::string_view::npos) return std::nullopt;
            out[i] = line.substr(pos);
        } else {
            if (tab == std::string_view::npos) return std::nullopt;
            out[i] = line.substr(pos, tab - pos);
            pos = tab + 1;
        }
    }
    return out;
}

inline std::size_t count_fields(std::string_view line) {
    std::size_t n = 1;
    for (char c : line) n += c == '\t';
    return n;
}

// Strict unsigned decimal: digits only, no sign, no spaces, no overflow.
inline std::optional<std::uint64_t> parse_u64(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::uint64_t v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v, 10);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) return std::nullopt;
    return v;
}

inline std::string line_prefix(std::size_t number) { return "line " + std::to_string(number) + ": "; }

// A line shortened for error messages (listings can contain huge garbage lines).
inline std::string quote_line(std::string_view line) {
    constexpr std::size_t kMax = 200;
    std::string out = "'";
    out.append(line.substr(0, kMax));
    if (line.size() > kMax) out += "...";
    out += "'";
    return out;
}

}  // namespace zferry::zfs::tsv
