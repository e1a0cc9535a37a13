// Reading the daemon's /status JSON leniently: a field that is missing, null or of another
// type reads as absent, so a view never fails on a daemon (or zrepl) that reports less.
#pragma once

#include <fmt/core.h>
#include <boost/json.hpp>

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace zferry::cli::status_json {

inline const boost::json::value* field(const boost::json::value& v, std::string_view key) {
    if (!v.is_object()) return nullptr;
    const auto* f = v.as_object().if_contains(key);
    return (f && !f->is_null()) ? f : nullptr;
}

inline std::string str(const boost::json::value& v, std::string_view key) {
    const auto* f = field(v, key);
    return (f && f->is_string()) ? std::string(f->as_string()) : std::string();
}

inline std::uint64_t num(const boost::json::value& v, std::string_view key) {
    const auto* f = field(v, key);
    if (!f) return 0;
    if (f->is_uint64()) return f->as_uint64();
    if (f->is_int64()) return f->as_int64() < 0 ? 0 : static_cast<std::uint64_t>(f->as_int64());
    return 0;
}

inline const boost::json::array* array(const boost::json::value& v, std::string_view key) {
    const auto* f = field(v, key);
    return (f && f->is_array()) ? &f->as_array() : nullptr;
}

// 1536 -> "1.5 KiB"; below 1 KiB exact bytes.
inline std::string bytes(std::uint64_t b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(b);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.1f} {}", v, units[u]);
}

// A `*_unix` field as RFC 3339 UTC ("-" when absent).
inline std::string unix_time(const boost::json::value& v, std::string_view key) {
    const auto* f = field(v, key);
    if (!f || !f->is_int64()) return "-";
    std::time_t t = static_cast<std::time_t>(f->as_int64());
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace zferry::cli::status_json
