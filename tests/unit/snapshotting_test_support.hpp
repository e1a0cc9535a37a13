// Shared by the snapshotting/pruning unit tests: vector cases as gtest parameters (named by
// their id, so a failure names the case) and RFC 3339 UTC parsing.
#pragma once

#include "daemon/snapshotting/civil_time.hpp"
#include "tests/vectors.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace zferry::test {

struct VectorCase {
    std::string id;
    boost::json::object data;
};

inline std::vector<VectorCase> vector_cases(const std::string& file, const std::string& kind) {
    std::vector<VectorCase> out;
    for (const auto& c : load_cases(file)) {
        const auto& o = c.as_object();
        if (o.contains("kind") && str(o.at("kind")) != kind) continue;
        out.push_back(VectorCase{str(o.at("id")), o});
    }
    return out;
}

inline std::string case_name(const ::testing::TestParamInfo<VectorCase>& info) {
    std::string n = info.param.id;
    for (char& c : n)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) c = '_';
    return n;
}

inline std::ostream& operator<<(std::ostream& os, const VectorCase& c) { return os << c.id; }

// "2024-05-14T21:16:23Z" or with ".123" fraction; UTC only.
inline std::chrono::sys_time<std::chrono::nanoseconds> parse_utc(const std::string& s) {
    int y, mo, d, h, mi, sec;
    char rest[32] = {};
    if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d%31s", &y, &mo, &d, &h, &mi, &sec, rest) < 6)
        throw std::runtime_error("bad time " + s);
    std::int64_t nanos = 0;
    std::string r(rest);
    if (!r.empty() && r[0] == '.') {
        std::size_t i = 1;
        std::int64_t scale = 100'000'000;
        for (; i < r.size() && r[i] >= '0' && r[i] <= '9'; ++i, scale /= 10) nanos += (r[i] - '0') * scale;
        r = r.substr(i);
    }
    if (r != "Z") throw std::runtime_error("not UTC: " + s);
    const auto secs = snapshotting::seconds_from_civil(y, mo, d, h, mi, sec);
    return std::chrono::sys_time<std::chrono::nanoseconds>(std::chrono::seconds(secs) +
                                                           std::chrono::nanoseconds(nanos));
}

inline std::chrono::sys_seconds parse_utc_seconds(const std::string& s) {
    return std::chrono::floor<std::chrono::seconds>(parse_utc(s));
}

}  // namespace zferry::test
