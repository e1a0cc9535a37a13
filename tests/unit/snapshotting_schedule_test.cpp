// Schedules: cron (cron_schedule.json cases are facts from zrepl and robfig/cron), the
// periodic sync-up, manual, and the next-fire function over all three.
#include "daemon/snapshotting/cron_spec.hpp"
#include "daemon/snapshotting/periodic_sync.hpp"
#include "daemon/snapshotting/schedule.hpp"
#include "daemon/snapshotting/zone_loader.hpp"
#include "tests/unit/snapshotting_test_support.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

namespace zferry::snapshotting {
namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;
using test::parse_utc_seconds;
using test::VectorCase;

std::string utc_string(sys_seconds t) {
    const auto c = civil_from_seconds(t.time_since_epoch().count());
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02dZ", static_cast<long long>(c.year),
                  c.month, c.day, c.hour, c.minute, c.second);
    return buf;
}

// ---- cron_schedule.json ----------------------------------------------------------------------

class SnapCronNextVector : public ::testing::TestWithParam<VectorCase> {};

TEST_P(SnapCronNextVector, NextFireTime) {
    const auto& c = GetParam().data;
    auto spec = CronSpec::parse(test::str(c.at("spec")));
    ASSERT_TRUE(spec) << spec.error().message();
    auto next = spec->next(parse_utc_seconds(test::str(c.at("after_utc"))), TimeZone::utc());
    ASSERT_TRUE(next);
    EXPECT_EQ(utc_string(*next), test::str(c.at("expect_next_utc")));
}
INSTANTIATE_TEST_SUITE_P(Snap, SnapCronNextVector,
                         ::testing::ValuesIn(test::vector_cases("cron_schedule.json", "next_fire_time")),
                         test::case_name);

// The case gives the YAML scalar as written after "cron: "; a YAML error (an unquoted '*'
// starts an alias) or a missing value is as invalid as a bad spec.
class SnapCronValidationVector : public ::testing::TestWithParam<VectorCase> {};

TEST_P(SnapCronValidationVector, SpecValidation) {
    const auto& c = GetParam().data;
    const std::string yaml = "cron: " + test::str(c.at("yaml_value"));
    bool valid = false;
    std::string why;
    try {
        const YAML::Node doc = YAML::Load(yaml);
        const YAML::Node v = doc["cron"];
        if (!v || !v.IsScalar()) {
            why = "no scalar value";
        } else {
            auto spec = CronSpec::parse(v.as<std::string>());
            valid = spec.has_value();
            if (!spec) why = spec.error().message();
        }
    } catch (const YAML::Exception& e) {
        why = std::string("YAML: ") + e.what();
    }
    EXPECT_EQ(valid, c.at("expect_valid").as_bool()) << yaml << " -> " << why;
}
INSTANTIATE_TEST_SUITE_P(Snap, SnapCronValidationVector,
                         ::testing::ValuesIn(test::vector_cases("cron_schedule.json", "spec_validation")),
                         test::case_name);

TEST(SnapCronVectors, AllKindsPresent) {
    EXPECT_EQ(test::vector_cases("cron_schedule.json", "next_fire_time").size() +
                  test::vector_cases("cron_schedule.json", "spec_validation").size(),
              test::load_cases("cron_schedule.json").size());
}

// ---- more cron: the robfig dialect ---------------------------------------------------------

sys_seconds next_utc(const std::string& spec, const std::string& after,
                     const TimeZone& zone = TimeZone::utc()) {
    auto s = CronSpec::parse(spec);
    if (!s) throw std::runtime_error(s.error().message());
    auto n = s->next(parse_utc_seconds(after), zone);
    if (!n) throw std::runtime_error("no next time for " + spec);
    return *n;
}

TEST(SnapCronSpec, Dialect) {
    struct Case {
        const char* spec;
        const char* after;
        const char* expect;
    };
    const Case cases[] = {
        {"30 * * * * *", "2022-07-23T10:00:30Z", "2022-07-23T10:01:30Z"},    // seconds field
        {"*/20 * * * * *", "2022-07-23T10:00:39Z", "2022-07-23T10:00:40Z"},  // seconds step
        {"0 0 * * MON", "2022-07-23T10:00:00Z", "2022-07-25T00:00:00Z"},     // a Saturday -> Monday
        {"0 0 1 jan-Mar *", "2022-07-23T10:00:00Z", "2023-01-01T00:00:00Z"},
        {"0 12 13 * FRI", "2022-07-23T10:00:00Z", "2022-07-29T12:00:00Z"},  // dom OR dow when both set
        {"0 12 13 * *", "2022-07-23T10:00:00Z", "2022-08-13T12:00:00Z"},
        {"0 12 * * 5", "2022-07-23T10:00:00Z", "2022-07-29T12:00:00Z"},    // dom '*' => AND
        {"0 0 29 2 *", "2022-07-23T10:00:00Z", "2024-02-29T00:00:00Z"},    // leap day
        {"5/15 * * * *", "2022-07-23T10:21:00Z", "2022-07-23T10:35:00Z"},  // N/step = N-max/step
        {"10-20/5 3 * * *", "2022-07-23T03:16:00Z", "2022-07-23T03:20:00Z"},
        {"? * * * ?", "2022-07-23T03:16:00Z", "2022-07-23T03:17:00Z"},
        {"1,,3 * * * *", "2022-07-23T03:01:00Z", "2022-07-23T03:03:00Z"},  // empty list items dropped
        {"59 23 31 12 *", "2022-12-31T23:59:00Z", "2023-12-31T23:59:00Z"},
    };
    for (const auto& c : cases)
        EXPECT_EQ(utc_string(next_utc(c.spec, c.after)), c.expect) << c.spec << " after " << c.after;
    // Impossible dates give no next time within five years.
    auto never = CronSpec::parse("0 0 30 2 *");
    ASSERT_TRUE(never);
    EXPECT_FALSE(never->next(parse_utc_seconds("2022-01-01T00:00:00Z"), TimeZone::utc()));
    // A list of nothing parses (as in robfig) and never fires.
    auto nothing = CronSpec::parse(", * * * *");
    ASSERT_TRUE(nothing);
    EXPECT_FALSE(nothing->next(parse_utc_seconds("2022-01-01T00:00:00Z"), TimeZone::utc()));
}

TEST(SnapCronSpec, EvaluatedInTheZone) {
    auto berlin = load_time_zone("Europe/Berlin");
    ASSERT_TRUE(berlin);
    // 03:00 in Berlin summer is 01:00 UTC.
    EXPECT_EQ(utc_string(next_utc("0 3 * * *", "2024-05-14T00:00:00Z", *berlin)), "2024-05-14T01:00:00Z");
    // Hourly across the spring-forward gap: one hour after 00:00Z is 01:00Z (03:00 CEST).
    EXPECT_EQ(utc_string(next_utc("0 * * * *", "2024-03-31T00:30:00Z", *berlin)), "2024-03-31T01:00:00Z");
    // Daily at midnight across the autumn change.
    EXPECT_EQ(utc_string(next_utc("0 0 * * *", "2024-10-26T23:00:00Z", *berlin)), "2024-10-27T23:00:00Z");
}

TEST(SnapCronSpec, Errors) {
    for (const char* bad : {"",
                            "@daily",
                            "@every 1h",
                            "* * * *",
                            "* * * * * * *",
                            "60 * * * *",
                            "* 24 * * *",
                            "* * 0 * *",
                            "* * 32 * *",
                            "* * * 13 *",
                            "* * * * 7",
                            "5-1 * * * *",
                            "*/0 * * * *",
                            "1-2-3 * * * *",
                            "1/2/3 * * * *",
                            "-1 * * * *",
                            "x * * * *",
                            "* * * foo *",
                            "CRON_TZ=Europe/Berlin",
                            "TZ= 0 * * * *"}) {
        auto r = CronSpec::parse(bad);
        ASSERT_FALSE(r) << "'" << bad << "' was accepted";
        EXPECT_NE(r.error().message().find("cron"), std::string::npos) << r.error().message();
        EXPECT_NE(r.error().message().find("expected"), std::string::npos) << r.error().message();
    }
    auto tz = CronSpec::parse("CRON_TZ=Europe/Berlin 0 3 * * *");
    ASSERT_TRUE(tz) << tz.error().message();
    EXPECT_EQ(tz->time_zone_name(), "Europe/Berlin");
    auto range = CronSpec::parse("61 * * * *");
    ASSERT_FALSE(range);
    EXPECT_NE(range.error().message().find("minute"), std::string::npos) << range.error().message();
}

// ---- periodic sync-up ------------------------------------------------------------------------

TEST(SnapPeriodicSync, EarliestNextOptimalTimeAcrossFilesystems) {
    const auto now = parse_utc_seconds("2024-05-14T12:00:00Z");
    const std::vector<FilesystemPrefixedSnapshots> fss = {
        {"pool/a",
         {{"zrepl_1", parse_utc_seconds("2024-05-14T11:50:00Z"), 10},
          {"zrepl_2", parse_utc_seconds("2024-05-14T11:55:00Z"), 20}}},
        // The newest by createtxg counts, not by listing order.
        {"pool/b",
         {{"zrepl_3", parse_utc_seconds("2024-05-14T11:57:00Z"), 31},
          {"zrepl_2", parse_utc_seconds("2024-05-14T11:52:00Z"), 30}}},
        {"pool/empty", {}},
    };
    auto sp = find_sync_point(fss, seconds(600), now);
    ASSERT_TRUE(sp) << sp.error().message();
    EXPECT_EQ(utc_string(sp->when), "2024-05-14T12:05:00Z");
    EXPECT_EQ(sp->without_snapshots, std::vector<std::string>{"pool/empty"});
    EXPECT_TRUE(sp->errors.empty());
}

TEST(SnapPeriodicSync, NoSnapshotsMeansNowAndOverdueStaysInThePast) {
    const auto now = parse_utc_seconds("2024-05-14T12:00:00Z");
    EXPECT_EQ(find_sync_point({}, seconds(600), now)->when, now);
    const std::vector<FilesystemPrefixedSnapshots> none = {{"pool/a", {}}, {"pool/b", {}}};
    auto sp = find_sync_point(none, seconds(600), now);
    ASSERT_TRUE(sp);
    EXPECT_EQ(sp->when, now);
    EXPECT_EQ(sp->without_snapshots.size(), 2u);
    // The last snapshot is two intervals old: the sync point is in the past, i.e. "now".
    const std::vector<FilesystemPrefixedSnapshots> old = {
        {"pool/a", {{"zrepl_1", parse_utc_seconds("2024-05-14T11:40:00Z"), 1}}}};
    auto overdue = find_sync_point(old, seconds(600), now);
    ASSERT_TRUE(overdue);
    EXPECT_EQ(utc_string(overdue->when), "2024-05-14T11:50:00Z");
}

TEST(SnapPeriodicSync, SnapshotsFromTheFuture) {
    const auto now = parse_utc_seconds("2024-05-14T12:00:00Z");
    const std::vector<FilesystemPrefixedSnapshots> one_bad = {
        {"pool/a", {{"zrepl_f", parse_utc_seconds("2024-05-14T13:00:00Z"), 5}}},
        {"pool/b", {{"zrepl_1", parse_utc_seconds("2024-05-14T11:58:00Z"), 1}}}};
    auto sp = find_sync_point(one_bad, seconds(600), now);
    ASSERT_TRUE(sp);
    EXPECT_EQ(utc_string(sp->when), "2024-05-14T12:08:00Z");
    ASSERT_EQ(sp->errors.size(), 1u);
    EXPECT_NE(sp->errors[0].message().find("pool/a"), std::string::npos);
    const std::vector<FilesystemPrefixedSnapshots> all_bad = {one_bad[0]};
    auto err = find_sync_point(all_bad, seconds(600), now);
    ASSERT_FALSE(err);
    EXPECT_NE(err.error().message().find("future"), std::string::npos);
}

// ---- next_fire_time --------------------------------------------------------------------------

TEST(SnapSchedule, Periodic) {
    const Schedule s = PeriodicSchedule{seconds(600)};
    const auto now = parse_utc_seconds("2024-05-14T12:00:00Z");
    EXPECT_EQ(next_fire_time(s, {}, now), now);  // no sync point: right away
    ScheduleState st;
    st.sync_point = parse_utc_seconds("2024-05-14T12:05:00Z");
    EXPECT_EQ(next_fire_time(s, st, now), st.sync_point);
    st.last_invocation = parse_utc_seconds("2024-05-14T12:05:00Z");
    EXPECT_EQ(utc_string(*next_fire_time(s, st, now)), "2024-05-14T12:15:00Z");
    // After a jump forward, the missed runs collapse into one (the instant is in the past).
    EXPECT_LT(*next_fire_time(s, st, parse_utc_seconds("2024-05-15T00:00:00Z")),
              parse_utc_seconds("2024-05-15T00:00:00Z"));
}

TEST(SnapSchedule, CronAndManual) {
    auto spec = CronSpec::parse("*/15 * * * *");
    ASSERT_TRUE(spec);
    const Schedule cron = CronSchedule{*spec, TimeZone::utc()};
    const auto now = parse_utc_seconds("2024-05-14T12:07:00Z");
    EXPECT_EQ(utc_string(*next_fire_time(cron, {}, now)), "2024-05-14T12:15:00Z");
    // A run that started at 12:15:00 and finished within the second does not fire again.
    ScheduleState st;
    st.last_invocation = parse_utc_seconds("2024-05-14T12:15:00Z");
    EXPECT_EQ(utc_string(*next_fire_time(cron, st, parse_utc_seconds("2024-05-14T12:14:59Z"))),
              "2024-05-14T12:30:00Z");
    EXPECT_FALSE(next_fire_time(Schedule{ManualSchedule{}}, {}, now));
}

// ---- a wall-clock jump of one day, the schedule looked at as the snapshotter does ---------------

// Snapshotter::run's use of next_fire_time on a simulated wall clock: a look every `step` from
// `from` to `to`; it fires when the instant asked for (or the one pending since the previous
// look) is due, and then records the run's start as last_invocation. Returns the runs' times.
struct Looker {
    const Schedule& schedule;
    ScheduleState state;
    std::optional<sys_seconds> pending;
    std::vector<sys_seconds> fired;

    void look(sys_seconds now) {
        auto next = next_fire_time(schedule, state, now);
        if (pending && *pending <= now) next = pending;
        pending = next;
        if (next && *next <= now) {
            pending.reset();
            state.last_invocation = now;
            fired.push_back(now);
        }
    }
    void run(sys_seconds from, sys_seconds to, seconds step) {
        for (auto t = from; t <= to; t += step) look(t);
    }
};

std::vector<std::string> utc_strings(const std::vector<sys_seconds>& ts) {
    std::vector<std::string> out;
    for (auto t : ts) out.push_back(utc_string(t));
    return out;
}

TEST(SnapScheduleClockJump, PeriodicTakesOneSnapshotAtTheJumpThenKeepsItsInterval) {
    const Schedule s = PeriodicSchedule{seconds(600)};
    Looker l{s, {}, {}, {}};
    l.run(parse_utc_seconds("2024-05-14T12:00:00Z"), parse_utc_seconds("2024-05-14T12:25:00Z"), seconds(10));
    // The clock jumps forward by a day between two looks: 144 intervals are "missed".
    l.run(parse_utc_seconds("2024-05-15T12:25:10Z"), parse_utc_seconds("2024-05-15T12:50:00Z"), seconds(10));
    EXPECT_EQ(
        utc_strings(l.fired),
        (std::vector<std::string>{"2024-05-14T12:00:00Z", "2024-05-14T12:10:00Z", "2024-05-14T12:20:00Z",
                                  "2024-05-15T12:25:10Z", "2024-05-15T12:35:10Z", "2024-05-15T12:45:10Z"}))
        << "one snapshot at the first look after the jump, then every interval from there; no burst";
}

TEST(SnapScheduleClockJump, CronTakesOneSnapshotAtTheJumpThenItsNextActivations) {
    auto spec = CronSpec::parse("*/15 * * * *");
    ASSERT_TRUE(spec);
    const Schedule s = CronSchedule{*spec, TimeZone::utc()};
    Looker l{s, {}, {}, {}};
    l.run(parse_utc_seconds("2024-05-14T12:07:00Z"), parse_utc_seconds("2024-05-14T12:35:00Z"), seconds(10));
    l.run(parse_utc_seconds("2024-05-15T12:37:00Z"), parse_utc_seconds("2024-05-15T13:05:00Z"), seconds(10));
    // The activation pending before the jump (12:45 of the first day) is due at once: one
    // snapshot for the 96 missed activations, then the new day's activations on the dot.
    EXPECT_EQ(utc_strings(l.fired), (std::vector<std::string>{"2024-05-14T12:15:00Z", "2024-05-14T12:30:00Z",
                                                              "2024-05-15T12:37:00Z", "2024-05-15T12:45:00Z",
                                                              "2024-05-15T13:00:00Z"}));
}

TEST(SnapScheduleClockJump, AJumpBackwardWaitsForTheIntervalOnTheNewClock) {
    const Schedule s = PeriodicSchedule{seconds(600)};
    Looker l{s, {}, {}, {}};
    l.run(parse_utc_seconds("2024-05-15T12:00:00Z"), parse_utc_seconds("2024-05-15T12:05:00Z"), seconds(10));
    // Back by a day: nothing until last_invocation + interval, a day ahead on the new clock
    // (zrepl's wall-clock timer does the same); no snapshot with an older timestamp.
    l.run(parse_utc_seconds("2024-05-14T12:05:10Z"), parse_utc_seconds("2024-05-14T14:00:00Z"), seconds(10));
    EXPECT_EQ(utc_strings(l.fired), (std::vector<std::string>{"2024-05-15T12:00:00Z"}));
    EXPECT_EQ(utc_string(*next_fire_time(s, l.state, parse_utc_seconds("2024-05-14T14:00:00Z"))),
              "2024-05-15T12:10:00Z");
}

}  // namespace
}  // namespace zferry::snapshotting
