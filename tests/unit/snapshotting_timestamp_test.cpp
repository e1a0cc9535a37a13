// Snapshot names: time zones (TZif, POSIX TZ rules), Go layouts, timestamp formats, and
// the configuration-time name check. timestamp_formats.json cases are facts from zrepl.
#include "daemon/snapshotting/go_layout.hpp"
#include "daemon/snapshotting/posix_tz.hpp"
#include "daemon/snapshotting/snapshot_naming.hpp"
#include "daemon/snapshotting/timestamp_format.hpp"
#include "daemon/snapshotting/tzif.hpp"
#include "daemon/snapshotting/zone_loader.hpp"
#include "tests/unit/snapshotting_test_support.hpp"

#include <gtest/gtest.h>

namespace zferry::snapshotting {
namespace {

using test::parse_utc;
using test::VectorCase;

std::int64_t unix_of(const std::string& utc) {
    return test::parse_utc_seconds(utc).time_since_epoch().count();
}

TimeZone zone(const std::string& name) {
    auto z = load_time_zone(name);
    if (!z) throw std::runtime_error(z.error().message());
    return *z;
}

// ---- timestamp_formats.json ----------------------------------------------------------------

class SnapTimestampFormatVector : public ::testing::TestWithParam<VectorCase> {};

TEST_P(SnapTimestampFormatVector, Format) {
    const auto& c = GetParam().data;
    auto fmt = TimestampFormat::make(test::str(c.at("format")), zone(test::str(c.at("location"))));
    ASSERT_TRUE(fmt) << fmt.error().message();
    EXPECT_EQ(fmt->format(parse_utc(test::str(c.at("time_utc")))), test::str(c.at("expect")));
}
INSTANTIATE_TEST_SUITE_P(Snap, SnapTimestampFormatVector,
                         ::testing::ValuesIn(test::vector_cases("timestamp_formats.json", "format")),
                         test::case_name);

class SnapTimestampNewVector : public ::testing::TestWithParam<VectorCase> {};

TEST_P(SnapTimestampNewVector, New) {
    const auto& c = GetParam().data;
    auto fmt = TimestampFormat::make(test::str(c.at("format")), zone(test::str(c.at("location"))));
    EXPECT_EQ(fmt.has_value(), c.at("expect_ok").as_bool()) << (fmt ? "" : fmt.error().message());
    if (!fmt) {
        EXPECT_NE(fmt.error().message().find("timestamp_format"), std::string::npos);
    }
}
INSTANTIATE_TEST_SUITE_P(Snap, SnapTimestampNewVector,
                         ::testing::ValuesIn(test::vector_cases("timestamp_formats.json", "new")),
                         test::case_name);

class SnapPositiveOffsetVector : public ::testing::TestWithParam<VectorCase> {};

TEST_P(SnapPositiveOffsetVector, HasPositiveOffset) {
    const auto& c = GetParam().data;
    // zrepl asks at "now"; Berlin is ahead of UTC in summer and winter alike.
    const auto z = zone(test::str(c.at("location")));
    for (auto when : {"2024-01-10T08:00:00Z", "2024-07-10T08:00:00Z"})
        EXPECT_EQ(location_has_positive_utc_offset(z, parse_utc(when)), c.at("expect").as_bool()) << when;
}
INSTANTIATE_TEST_SUITE_P(Snap, SnapPositiveOffsetVector,
                         ::testing::ValuesIn(test::vector_cases("timestamp_formats.json",
                                                                "location_has_positive_utc_offset")),
                         test::case_name);

TEST(SnapTimestampFormatVectors, AllKindsPresent) {
    std::size_t n = 0;
    for (auto kind : {"format", "new", "location_has_positive_utc_offset"})
        n += test::vector_cases("timestamp_formats.json", kind).size();
    EXPECT_EQ(n, test::load_cases("timestamp_formats.json").size()) << "a case of an unknown kind";
}

// ---- zrepl's timestamp_test.go custom layout, and more Go layout elements -----------------

TEST(SnapGoLayout, CustomLayoutWithSecondsOffset) {
    auto fmt = TimestampFormat::make("2006-01-02_15:04:05-07:00:00", zone("Europe/Berlin"));
    ASSERT_TRUE(fmt);
    EXPECT_EQ(fmt->format(parse_utc("2024-05-14T21:16:23Z")), "2024-05-14_23:16:23_02:00:00");
}

TEST(SnapGoLayout, Elements) {
    struct Case {
        const char* layout;
        const char* expect;
    };
    // 2024-03-05 07:08:09.012345678 at -03:30 (a Tuesday, day 65 of a leap year).
    const ZonedReading r{unix_of("2024-03-05T10:38:09Z"), 12'345'678, -12600, "NST"};
    const Case cases[] = {
        {"2006-01-02 15:04:05", "2024-03-05 07:08:09"},
        {"Jan January 1 01", "Mar March 3 03"},
        {"Mon Monday", "Tue Tuesday"},
        {"2 _2 02 __2 002", "5  5 05  65 065"},
        {"3 03 PM pm", "7 07 AM am"},
        {"4 5 06", "8 9 24"},
        {"MST", "NST"},
        {"Z07 Z0700 Z07:00 Z070000 Z07:00:00", "-03 -0330 -03:30 -033000 -03:30:00"},
        {"-07 -0700 -07:00", "-03 -0330 -03:30"},
        {".0 .000 ,000000 .999999999 .9", ".0 .012 ,012345 .012345678 "},  // .9 trims to nothing
        {"_2006", "_2024"},
        {"Janx Monx", "Janx Monx"},  // lower case after Jan/Mon: literal
        {"Jan2006", "Mar2024"},
        {"05.000", "09.012"},
        {"1.0001", "3.0003"},  // digits follow the zeros: no fraction, but "01" is a month
        {"literal text %!", "literal text %!"},
    };
    for (const auto& c : cases) EXPECT_EQ(GoLayout(c.layout).format(r), c.expect) << c.layout;
    // ".9" with zero nanoseconds prints nothing, not even the dot.
    EXPECT_EQ(GoLayout("05.999").format(ZonedReading{0, 0, 0, "UTC"}), "00");
    // ISO 8601 forms print Z at offset 0; numeric ones +0000.
    EXPECT_EQ(GoLayout("Z0700 -0700").format(ZonedReading{0, 0, 0, "UTC"}), "Z +0000");
    // Afternoon, midnight, noon in 12-hour form.
    EXPECT_EQ(GoLayout("3PM").format(ZonedReading{13 * 3600, 0, 0, ""}), "1PM");
    EXPECT_EQ(GoLayout("3PM").format(ZonedReading{0, 0, 0, ""}), "12AM");
    EXPECT_EQ(GoLayout("03pm").format(ZonedReading{12 * 3600, 0, 0, ""}), "12pm");
    // MST with an empty abbreviation prints the numeric offset.
    EXPECT_EQ(GoLayout("MST").format(ZonedReading{0, 0, 19800, ""}), "+0530");
}

TEST(SnapTimestampFormat, NamesAndErrors) {
    const auto utc = TimeZone::utc();
    auto human = TimestampFormat::make("Human", utc);
    ASSERT_TRUE(human);
    EXPECT_EQ(human->format(parse_utc("2024-05-14T21:16:23.999Z")), "2024-05-14_21:16:23");
    auto unix_s = TimestampFormat::make("unix-seconds", utc);
    ASSERT_TRUE(unix_s);
    EXPECT_EQ(unix_s->format(parse_utc("1969-12-31T23:59:59.5Z")), "-1");

    auto bad = TimestampFormat::make("human", zone("Europe/Berlin"));
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("timestamp_location UTC"), std::string::npos)
        << bad.error().message();
    EXPECT_NE(bad.error().message().find("Europe/Berlin"), std::string::npos);
    auto plus = TimestampFormat::make("2006+01", utc);
    ASSERT_FALSE(plus);
    EXPECT_NE(plus.error().message().find("'+'"), std::string::npos) << plus.error().message();
    EXPECT_FALSE(TimestampFormat::make("", utc));
}

TEST(SnapTimestampFormat, FarFutureUsesTheFooterRule) {
    auto iso = TimestampFormat::make("iso-8601", zone("Europe/Berlin"));
    ASSERT_TRUE(iso);
    EXPECT_EQ(iso->format(parse_utc("2100-07-01T00:00:00Z")), "2100-07-01T02:00:00.000_0200");
    EXPECT_EQ(iso->format(parse_utc("2100-12-01T00:00:00Z")), "2100-12-01T01:00:00.000_0100");
    auto ny = TimestampFormat::make("2006-01-02T15:04:05-07:00", zone("America/New_York"));
    ASSERT_TRUE(ny);
    EXPECT_EQ(ny->format(parse_utc("2024-05-14T21:16:23Z")), "2024-05-14T17:16:23-04:00");
}

// ---- snapshot names -------------------------------------------------------------------------

TEST(SnapSnapshotNaming, PrefixPlusTimestamp) {
    auto naming = SnapshotNaming::make("zrepl_", *TimestampFormat::make("dense", TimeZone::utc()));
    ASSERT_TRUE(naming) << naming.error().message();
    EXPECT_EQ(naming->name_at(parse_utc("2024-05-14T21:16:23Z")), "zrepl_20240514_211623_000");
    EXPECT_TRUE(check_snapshot_name("pool/data", naming->name_at(parse_utc("2024-05-14T21:16:23Z"))));
}

TEST(SnapSnapshotNaming, ConfigurationErrors) {
    const auto fmt = *TimestampFormat::make("dense", TimeZone::utc());
    auto empty = SnapshotNaming::make("", fmt);
    ASSERT_FALSE(empty);
    EXPECT_NE(empty.error().message().find("prefix"), std::string::npos);
    auto at = SnapshotNaming::make("a@b", fmt);
    ASSERT_FALSE(at);
    EXPECT_NE(at.error().message().find("'@'"), std::string::npos) << at.error().message();
    // A layout whose output is not a valid name component (the probe names catch it).
    auto slash = SnapshotNaming::make("zrepl_", *TimestampFormat::make("2006/01/02", TimeZone::utc()));
    ASSERT_FALSE(slash);
    EXPECT_NE(slash.error().message().find("invalid snapshot name"), std::string::npos)
        << slash.error().message();
    auto star = SnapshotNaming::make("zrepl_*", fmt);
    ASSERT_FALSE(star);
    EXPECT_NE(star.error().message().find("'*'"), std::string::npos) << star.error().message();
    // Two offset elements: the second '+' stays and is caught in Berlin.
    auto twice =
        SnapshotNaming::make("z_", *TimestampFormat::make("2006-01-02-0700-0700", zone("Europe/Berlin")));
    EXPECT_FALSE(twice);
}

TEST(SnapSnapshotNaming, FullNameCheck) {
    EXPECT_TRUE(check_snapshot_name("pool/a b", "zrepl_1"));
    auto bad = check_snapshot_name("pool/a", "x@y");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("pool/a"), std::string::npos);
    const std::string fs(250, 'a');
    auto too_long = check_snapshot_name(fs, "zrepl_20240514");
    ASSERT_FALSE(too_long);
    EXPECT_NE(too_long.error().message().find("255"), std::string::npos) << too_long.error().message();
    EXPECT_FALSE(check_snapshot_name("", "zrepl_1"));
}

// ---- TZif and POSIX TZ ------------------------------------------------------------------------

TEST(SnapTimeZone, RealZoneinfoOffsets) {
    struct Case {
        const char* zone;
        const char* at;
        std::int32_t offset;
        const char* abbr;
    };
    // Expected values from Python's zoneinfo on the same tzdata.
    const Case cases[] = {
        {"Europe/Berlin", "2024-05-14T21:16:23Z", 7200, "CEST"},
        {"Europe/Berlin", "2024-01-10T08:00:00Z", 3600, "CET"},
        {"Europe/Berlin", "2040-03-25T00:59:59Z", 3600, "CET"},
        {"Europe/Berlin", "2040-03-25T01:00:00Z", 7200, "CEST"},
        {"Europe/Berlin", "2040-10-28T00:59:59Z", 7200, "CEST"},
        {"Europe/Berlin", "2040-10-28T01:00:00Z", 3600, "CET"},
        {"Europe/Berlin", "1880-01-01T00:00:00Z", 3208, "LMT"},
        {"Australia/Sydney", "2100-01-15T00:00:00Z", 39600, "AEDT"},
        {"Australia/Sydney", "2100-07-15T00:00:00Z", 36000, "AEST"},
        {"America/New_York", "2100-07-15T00:00:00Z", -14400, "EDT"},
        {"America/St_Johns", "2030-07-01T00:00:00Z", -9000, "NDT"},
        {"Asia/Kolkata", "2030-07-01T00:00:00Z", 19800, "IST"},
    };
    for (const auto& c : cases) {
        const auto tz = zone(c.zone);  // lookup's abbreviation views into the zone: keep it alive
        const auto info = tz.lookup(unix_of(c.at));
        EXPECT_EQ(info.utc_offset, c.offset) << c.zone << " at " << c.at;
        EXPECT_EQ(info.abbreviation, c.abbr) << c.zone << " at " << c.at;
    }
}

TEST(SnapTimeZone, WallClockToInstantAsGoDate) {
    const auto berlin = zone("Europe/Berlin");
    // Ordinary time.
    EXPECT_EQ(berlin.to_utc(unix_of("2024-05-14T23:16:23Z")), unix_of("2024-05-14T21:16:23Z"));
    // 02:30 does not exist on 2024-03-31: Go lands on 03:30 CEST.
    EXPECT_EQ(berlin.to_utc(unix_of("2024-03-31T02:30:00Z")), unix_of("2024-03-31T01:30:00Z"));
    // 02:30 happens twice on 2024-10-27: Go takes the second (CET).
    EXPECT_EQ(berlin.to_utc(unix_of("2024-10-27T02:30:00Z")), unix_of("2024-10-27T01:30:00Z"));
    EXPECT_EQ(TimeZone::utc().to_utc(12345), 12345);
}

TEST(SnapTimeZone, LoaderNames) {
    EXPECT_TRUE(load_time_zone("UTC")->is_utc());
    EXPECT_TRUE(load_time_zone("")->is_utc());
    EXPECT_TRUE(load_time_zone("Local"));
    auto missing = load_time_zone("Mars/Olympus_Mons");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("Mars/Olympus_Mons"), std::string::npos);
    EXPECT_NE(missing.error().message().find("timestamp_location"), std::string::npos)
        << missing.error().message();
    EXPECT_FALSE(load_time_zone("../../etc/passwd"));
    EXPECT_FALSE(load_time_zone("/etc/localtime"));
    EXPECT_FALSE(load_time_zone("Europe/../../../etc/passwd"));
    // Not a TZif file.
    auto not_tzif = load_time_zone("iso3166.tab");
    ASSERT_FALSE(not_tzif);
    EXPECT_NE(not_tzif.error().message().find("TZif"), std::string::npos) << not_tzif.error().message();
}

// A minimal TZif file built by hand: version 1 or 2, one transition.
std::vector<std::uint8_t> tzif(char version, bool with_footer,
                               std::string footer = "XST-1XDT,M3.5.0,M10.5.0/3") {
    std::vector<std::uint8_t> b;
    auto u32 = [&](std::uint32_t v) {
        for (int i = 3; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    };
    auto header = [&] {
        b.insert(b.end(), {'T', 'Z', 'i', 'f', static_cast<std::uint8_t>(version)});
        b.insert(b.end(), 15, 0);
        u32(0), u32(0), u32(0), u32(1), u32(2), u32(8);  // isut isstd leap time type char
    };
    auto block = [&](int time_size) {
        // transition at 1000: to type 1
        for (int i = time_size - 1; i >= 0; --i)
            b.push_back(static_cast<std::uint8_t>(std::int64_t{1000} >> (8 * i)));
        b.push_back(1);
        u32(0), b.push_back(0), b.push_back(0);     // type 0: UTC+0 "LMT"
        u32(3600), b.push_back(0), b.push_back(4);  // type 1: UTC+1 "XST"
        for (char c : std::string("LMT\0XST\0", 8)) b.push_back(static_cast<std::uint8_t>(c));
    };
    header();
    block(4);
    if (version != 0) {
        header();
        block(8);
        if (with_footer) {
            b.push_back('\n');
            b.insert(b.end(), footer.begin(), footer.end());
            b.push_back('\n');
        }
    }
    return b;
}

TEST(SnapTzif, HandBuiltVersions) {
    for (char v : {'\0', '2', '3'}) {
        auto z = parse_tzif("X", tzif(v, true));
        ASSERT_TRUE(z) << z.error().message();
        EXPECT_EQ(z->lookup(999).utc_offset, 0);
        EXPECT_EQ(z->lookup(999).abbreviation, "LMT");
        if (v == '\0') {
            EXPECT_EQ(z->lookup(1000).utc_offset, 3600);
            EXPECT_EQ(z->lookup(unix_of("2024-07-01T00:00:00Z")).utc_offset, 3600);  // no rule in v1
        } else {
            EXPECT_EQ(z->lookup(unix_of("2024-07-01T00:00:00Z")).utc_offset, 7200);  // footer DST
            EXPECT_EQ(z->lookup(unix_of("2024-07-01T00:00:00Z")).abbreviation, "XDT");
            EXPECT_EQ(z->lookup(unix_of("2024-01-01T00:00:00Z")).utc_offset, 3600);
        }
    }
    // An empty footer is allowed: the last transition's type applies.
    auto empty_footer = parse_tzif("X", tzif('2', true, ""));
    ASSERT_TRUE(empty_footer);
    EXPECT_EQ(empty_footer->lookup(unix_of("2024-07-01T00:00:00Z")).utc_offset, 3600);
}

TEST(SnapTzif, MalformedInputIsAnError) {
    const auto good = tzif('2', true);
    EXPECT_FALSE(parse_tzif("X", {}));
    for (std::size_t cut :
         {std::size_t{4}, std::size_t{43}, std::size_t{60}, good.size() - 30, good.size() - 1})
        EXPECT_FALSE(parse_tzif("X", std::span(good).first(cut))) << "cut at " << cut;
    auto bad_magic = good;
    bad_magic[0] = 'X';
    EXPECT_FALSE(parse_tzif("X", bad_magic));
    auto bad_version = good;
    bad_version[4] = '9';
    EXPECT_FALSE(parse_tzif("X", bad_version));
    auto bad_footer = tzif('2', true, "1-X");
    auto r = parse_tzif("Zone/Name", bad_footer);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("Zone/Name"), std::string::npos) << r.error().message();
    // Transition type index out of range (the v2 block's type byte after its one 8-byte time).
    auto bad_type = good;
    const std::size_t v1_size = 44 + 4 + 1 + 12 + 8;
    bad_type[v1_size + 44 + 8] = 7;
    EXPECT_FALSE(parse_tzif("X", bad_type));
    // Huge counts are refused before allocating.
    auto huge = good;
    huge[v1_size + 32] = 0x7f;  // timecnt of the second header
    EXPECT_FALSE(parse_tzif("X", huge));
}

TEST(SnapPosixTz, RulesAndErrors) {
    auto ok = [](const char* s) {
        auto r = PosixTz::parse(s);
        if (!r) ADD_FAILURE() << s << ": " << r.error().message();
        return r ? *r : *PosixTz::parse("UTC0");
    };
    EXPECT_EQ(ok("UTC0").lookup(0).utc_offset, 0);
    EXPECT_EQ(ok("<+0330>-3:30").lookup(0).utc_offset, 12600);
    EXPECT_EQ(ok("<+0330>-3:30").lookup(0).abbreviation, "+0330");
    // Southern hemisphere: DST over the new year.
    const auto nz = ok("NZST-12NZDT,M9.5.0,M4.1.0/3");
    EXPECT_EQ(nz.lookup(unix_of("2030-01-15T00:00:00Z")).utc_offset, 13 * 3600);
    EXPECT_EQ(nz.lookup(unix_of("2030-07-15T00:00:00Z")).utc_offset, 12 * 3600);
    // Julian day forms and a rule time beyond 24h (RFC 8536).
    const auto j = ok("AAA3BBB,J60/0,300/26");
    EXPECT_EQ(j.lookup(unix_of("2031-06-01T00:00:00Z")).utc_offset, -2 * 3600);
    EXPECT_EQ(j.lookup(unix_of("2031-01-01T00:00:00Z")).utc_offset, -3 * 3600);
    // No rule given: US rules (Go's default).
    EXPECT_EQ(ok("EST5EDT").lookup(unix_of("2030-07-01T00:00:00Z")).utc_offset, -4 * 3600);
    for (const char* bad : {"", "U", "UTC", "CET-1CEST,M3.5.0", "CET-1CEST,M13.5.0,M10.5.0",
                            "CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,J0,J10", "<+03", "CET-99"})
        EXPECT_FALSE(PosixTz::parse(bad)) << bad;
}

}  // namespace
}  // namespace zferry::snapshotting
