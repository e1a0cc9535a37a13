#include "core/units.hpp"
#include "tests/vectors.hpp"

#include <gtest/gtest.h>

namespace zferry {
namespace {

TEST(Units, DurationVectors) {
    int n = 0;
    for (const auto& cv : test::load_cases("durations.json")) {
        const auto& c = cv.as_object();
        std::string kind = test::str(c.at("kind"));
        std::string input = test::str(c.at("input"));
        const auto& expect = c.at("expect").as_object();
        bool want_error = expect.contains("error");
        SCOPED_TRACE(test::str(c.at("id")) + " input='" + input + "' kind=" + kind);
        if (kind == "duration" || kind == "positive_duration") {
            auto r = kind == "duration" ? parse_duration(input) : parse_positive_duration(input);
            ASSERT_EQ(!r, want_error) << (r ? "" : r.error().message());
            if (!want_error) {
                EXPECT_EQ(r->count(), expect.at("seconds").to_number<long long>());
            }
        } else {
            ASSERT_EQ(kind, "positive_duration_or_manual");
            auto r = parse_positive_duration_or_manual(input);
            ASSERT_EQ(!r, want_error);
            if (!want_error) {
                EXPECT_EQ(r->manual, expect.at("manual").as_bool());
                EXPECT_EQ(r->interval.count(), expect.at("interval_seconds").to_number<long long>());
            }
        }
        ++n;
    }
    EXPECT_GE(n, 12);
}

TEST(Units, DurationUnitsAndErrors) {
    EXPECT_EQ(parse_duration("10s")->count(), 10);
    EXPECT_EQ(parse_duration("5m")->count(), 300);
    EXPECT_EQ(parse_duration("1d")->count(), 86400);
    EXPECT_EQ(parse_duration("1w")->count(), 604800);
    EXPECT_EQ(parse_duration(" -3 h ")->count(), -10800);
    auto bad = parse_duration("3 fortnights");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("3 fortnights"), std::string::npos) << bad.error().message();
    EXPECT_FALSE(bad.error().temporary());
    EXPECT_FALSE(parse_duration("99999999999999999999s"));
    EXPECT_FALSE(parse_duration("9223372036854775807w"));
}

TEST(Units, DataSizeVectors) {
    int n = 0;
    for (const auto& cv : test::load_cases("datasize_units.json")) {
        const auto& c = cv.as_object();
        std::string input = test::str(c.at("input"));
        SCOPED_TRACE(test::str(c.at("id")) + " input='" + input + "'");
        auto r = parse_data_size_bits(input);
        if (c.contains("expect_error")) {
            EXPECT_FALSE(r);
        } else {
            ASSERT_TRUE(r) << r.error().message();
            EXPECT_EQ(*r, c.at("expect_bits").to_number<double>());
        }
        ++n;
    }
    EXPECT_GE(n, 16);
}

TEST(Units, DataSizeExtensions) {
    EXPECT_EQ(*parse_data_size_bits("100 Mbit"), 100e6);
    EXPECT_EQ(*parse_data_size_bits("50 MiB"), 50.0 * 1024 * 1024 * 8);
    EXPECT_EQ(*parse_data_size_bits("-1 B"), -8);
    EXPECT_EQ(*parse_data_size_bytes("128 KiB"), 128.0 * 1024);
    auto bad = parse_data_size_bits("12 parsecs");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("12 parsecs"), std::string::npos);
    EXPECT_FALSE(parse_data_size_bits(""));
    EXPECT_FALSE(parse_data_size_bits("1..2 B"));
}

}  // namespace
}  // namespace zferry
