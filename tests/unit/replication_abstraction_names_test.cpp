// Abstraction names, job ids and createtxg ranges: every abstraction_names.json case as its
// own test, then the edges zrepl's regexes and name checks imply.
#include "replication/logic/abstraction_names.hpp"
#include "replication/logic/create_txg_range.hpp"
#include "replication/logic/job_id.hpp"

#include "tests/unit/replication_vectors.hpp"

#include <gtest/gtest.h>

namespace zferry::replication {
namespace {

using test::hex_u64;
using test::str;
using test::u64;

JobId job(std::string_view s) {
    auto j = JobId::make(s);
    if (!j) throw std::runtime_error("test job id invalid: " + j.error().context());
    return *j;
}

std::optional<CreateTxgBound> bound(const boost::json::value& v) {
    if (v.is_null()) return std::nullopt;
    return CreateTxgBound{u64(v.at("createtxg")), v.at("inclusive").as_bool()};
}

void expect_job_and_guid(const Result<JobAndGuid>& r, const boost::json::object& e,
                         const std::string& input) {
    if (e.contains("error")) {
        EXPECT_FALSE(r) << "'" << input << "' must be refused, got "
                        << (r ? ::testing::PrintToString(r->guid) : "");
        if (!r) {
            EXPECT_NE(r.error().context().find(input), std::string::npos) << r.error().context();
        }
        return;
    }
    ASSERT_TRUE(r) << "'" << input << "' must parse: " << r.error().context();
    EXPECT_EQ(r->guid, hex_u64(e.at("guid")));
    EXPECT_EQ(r->job.str(), str(e.at("jobid")));
}

class AbstractionNamesVector : public ::testing::TestWithParam<test::VectorCase> {};

TEST_P(AbstractionNamesVector, MatchesZrepl) {
    const auto& c = GetParam().json;
    const auto kind = str(c.at("kind"));
    const auto& e = c.contains("expect") ? c.at("expect").as_object() : boost::json::object{};
    if (kind == "parse_job_and_guid_bookmark_name") {
        const auto input = str(c.at("input"));
        expect_job_and_guid(parse_job_and_guid_bookmark_name(input, str(c.at("prefix"))), e, input);
    } else if (kind == "parse_replication_cursor_bookmark_name") {
        const auto input = str(c.at("input"));
        auto r = parse_replication_cursor_bookmark_name(input);
        if (e.contains("error") && e.at("error").is_string()) {
            ASSERT_EQ(str(e.at("error")), "v1_replication_cursor");
            ASSERT_TRUE(r) << r.error().context();
            EXPECT_TRUE(std::holds_alternative<ReplicationCursorV1>(*r))
                << input << " is the legacy v1 cursor";
        } else {
            Result<JobAndGuid> v2 = r ? (std::holds_alternative<JobAndGuid>(*r)
                                             ? Result<JobAndGuid>(std::get<JobAndGuid>(*r))
                                             : Result<JobAndGuid>(Error(Errc::parse_error, "v1 cursor")))
                                      : Result<JobAndGuid>(r.error());
            expect_job_and_guid(v2, e, input);
        }
    } else if (kind == "format_replication_cursor_bookmark_name" ||
               kind == "format_tentative_replication_cursor_bookmark_name") {
        const auto fs = str(c.at("fs"));
        const auto guid = hex_u64(c.at("guid"));
        const auto j = job(str(c.at("jobid")));
        auto r = kind == "format_replication_cursor_bookmark_name"
                     ? replication_cursor_bookmark_name(fs, guid, j)
                     : tentative_replication_cursor_bookmark_name(fs, guid, j);
        ASSERT_TRUE(r) << r.error().context();
        EXPECT_EQ(*r, str(e.at("name")));
        // What we write, we read back.
        auto back = kind == "format_replication_cursor_bookmark_name"
                        ? parse_job_and_guid_bookmark_name(fs + "#" + *r, kReplicationCursorPrefix)
                        : parse_tentative_replication_cursor_bookmark_name(fs + "#" + *r);
        ASSERT_TRUE(back) << back.error().context();
        EXPECT_EQ(*back, (JobAndGuid{guid, j}));
    } else if (kind == "format_step_hold_tag") {
        EXPECT_EQ(step_hold_tag(job(str(c.at("jobid")))), str(e.at("tag")));
    } else if (kind == "format_last_received_hold_tag") {
        EXPECT_EQ(last_received_hold_tag(job(str(c.at("jobid")))), str(e.at("tag")));
    } else if (kind == "parse_step_hold_tag" || kind == "parse_last_received_hold_tag") {
        const auto input = str(c.at("input"));
        auto r =
            kind == "parse_step_hold_tag" ? parse_step_hold_tag(input) : parse_last_received_hold_tag(input);
        if (e.contains("error")) {
            EXPECT_FALSE(r) << "tag '" << input << "' must be refused, got job " << (r ? r->str() : "");
        } else {
            ASSERT_TRUE(r) << r.error().context();
            EXPECT_EQ(r->str(), str(e.at("jobid")));
        }
    } else if (kind == "make_job_id") {
        const auto input = str(c.at("input"));
        auto r = JobId::make(input);
        EXPECT_EQ(r.has_value(), e.at("ok").as_bool())
            << "job id '" << input << "'" << (r ? std::string() : ": " + r.error().context());
    } else if (kind == "create_txg_range") {
        const CreateTxgRange range{bound(c.at("since")), bound(c.at("until"))};
        const bool allow_zero = c.at("allow_zero_createtxg").as_bool();
        EXPECT_EQ(range.to_string(), str(c.at("expect_string")));
        auto valid = range.validate(allow_zero);
        ASSERT_EQ(valid.has_value(), c.at("expect_valid").as_bool())
            << range << (valid ? std::string() : ": " + valid.error().context());
        if (c.contains("contains")) {
            for (const auto& q : c.at("contains").as_array()) {
                const auto txg = u64(q.at("createtxg"));
                EXPECT_EQ(range.contains(txg), q.at("expect").as_bool()) << range << " contains " << txg;
            }
        }
    } else {
        FAIL() << "unknown kind " << kind << ": add it to this test";
    }
}

INSTANTIATE_TEST_SUITE_P(Vectors, AbstractionNamesVector,
                         ::testing::ValuesIn(test::vector_cases("abstraction_names.json")),
                         [](const auto& info) { return test::case_name(info.param); });

TEST(AbstractionNames, GreedyPrefixMustEqualThePrefixExactly) {
    // The regex's (.+) takes the longest head, so a job id that itself looks like
    // "_G_<guid>_J_x" moves the split and the prefix no longer matches.
    const std::string nested = "p#zrepl_CURSOR_G_0000000000000001_J_a_G_0000000000000002_J_b";
    EXPECT_FALSE(parse_job_and_guid_bookmark_name(nested, kReplicationCursorPrefix));
    // A tentative cursor is no cursor and vice versa.
    EXPECT_FALSE(parse_job_and_guid_bookmark_name("p#zrepl_CURSORTENTATIVE__G_0000000000000001_J_a",
                                                  kReplicationCursorPrefix));
    EXPECT_FALSE(parse_tentative_replication_cursor_bookmark_name("p#zrepl_CURSOR_G_0000000000000001_J_a"));
    auto t =
        parse_tentative_replication_cursor_bookmark_name("p#zrepl_CURSORTENTATIVE__G_00000000000000ff_J_a");
    ASSERT_TRUE(t) << t.error().context();
    EXPECT_EQ(*t, (JobAndGuid{0xff, job("a")}));
    EXPECT_FALSE(
        parse_job_and_guid_bookmark_name("p#zrepl_CURSOR_G_0000000000000001_J_", kReplicationCursorPrefix))
        << "empty job id";
    EXPECT_FALSE(parse_job_and_guid_bookmark_name("p#_G_0000000000000001_J_a", kReplicationCursorPrefix))
        << "empty prefix";
    EXPECT_FALSE(
        parse_job_and_guid_bookmark_name("p#zrepl_CURSOR_G_000000000000000g_J_a", kReplicationCursorPrefix))
        << "'g' is not hex";
}

TEST(AbstractionNames, CursorNamesMustFitZfsNameLimit) {
    const std::string long_fs = "pool/" + std::string(200, 'f');
    auto r = replication_cursor_bookmark_name(long_fs, 1, job(std::string(40, 'j')));
    ASSERT_FALSE(r) << "a bookmark name over 255 bytes cannot exist";
    EXPECT_NE(r.error().context().find("cannot name bookmark"), std::string::npos) << r.error().context();
}

TEST(AbstractionNames, V1CursorOnlyAsBookmark) {
    auto v1 = parse_replication_cursor_bookmark_name("pool/ds#zrepl_replication_cursor");
    ASSERT_TRUE(v1);
    EXPECT_TRUE(std::holds_alternative<ReplicationCursorV1>(*v1));
    EXPECT_FALSE(parse_replication_cursor_bookmark_name("pool/ds@zrepl_replication_cursor"));
    auto v2 = parse_replication_cursor_bookmark_name("pool/ds#zrepl_CURSOR_G_0000000000000010_J_j");
    ASSERT_TRUE(v2);
    EXPECT_EQ(std::get<JobAndGuid>(*v2), (JobAndGuid{16, job("j")}));
}

TEST(AbstractionNames, HoldTagsRoundTripAndRefuseForeignTags) {
    const auto j = job("push job");
    EXPECT_EQ(step_hold_tag(j), "zrepl_STEP_J_push job");
    EXPECT_EQ(last_received_hold_tag(j), "zrepl_last_received_J_push job");
    EXPECT_EQ(parse_step_hold_tag(step_hold_tag(j)).value(), j);
    EXPECT_EQ(parse_last_received_hold_tag(last_received_hold_tag(j)).value(), j);
    EXPECT_FALSE(parse_step_hold_tag("zrepl_last_received_J_x"));
    EXPECT_FALSE(parse_last_received_hold_tag("zrepl_STEP_J_x"));
    EXPECT_FALSE(parse_step_hold_tag("zrepl_STEP_J_"));
    EXPECT_FALSE(parse_step_hold_tag("my_own_hold"));
    EXPECT_FALSE(parse_step_hold_tag("zrepl_STEP_J_a\tb")) << "TAB is no component character";
}

TEST(JobId, RulesOfMakeJobId) {
    EXPECT_TRUE(JobId::make("a"));
    EXPECT_TRUE(JobId::make("job:with.dots-and_underscores"));
    EXPECT_FALSE(JobId::make("."));
    EXPECT_FALSE(JobId::make(".."));
    EXPECT_FALSE(JobId::make("a@b"));
    EXPECT_FALSE(JobId::make("a#b"));
    EXPECT_FALSE(JobId::make("a\nb"));
    // A job id holding "_G_<16 hex>_J_" moves the greedy split into itself: its cursors
    // would never parse back (zrepl accepts such ids and loses its cursors).
    for (const char* id : {"a_G_0000000000000001_J_b", "G_0000000000000001_J_b"}) {
        auto r = JobId::make(id);
        ASSERT_FALSE(r) << id;
        EXPECT_NE(r.error().context().find("parsed back"), std::string::npos) << r.error().context();
    }
    for (const char* id :
         {"a_G_0000000000000001_J_", "a_G_000000000000001_J_b", "a_G_000000000000000A_J_b"}) {
        auto j = JobId::make(id);
        ASSERT_TRUE(j) << id << ": the marker is incomplete or at the very end, so the split stays put";
        auto name = replication_cursor_bookmark_name("p", 7, *j);
        ASSERT_TRUE(name);
        EXPECT_EQ(parse_job_and_guid_bookmark_name("p#" + *name, kReplicationCursorPrefix).value(),
                  (JobAndGuid{7, *j}));
    }
    // The binding limit is the tentative cursor probe "pool/ds#zrepl_CURSORTENTATIVE__G_
    // 00000000face601d_J_<job>" (52 bytes + job) within ZFS's 255: 203 bytes at most.
    EXPECT_TRUE(JobId::make(std::string(203, 'x')));
    auto too_long = JobId::make(std::string(204, 'x'));
    ASSERT_FALSE(too_long);
    EXPECT_NE(too_long.error().context().find("tentative replication cursor"), std::string::npos)
        << too_long.error().context();
    EXPECT_EQ(too_long.error().code(), make_error_code(Errc::invalid_argument));
}

TEST(AbstractionType, NamesAreZrepls) {
    const std::pair<AbstractionType, const char*> names[] = {
        {AbstractionType::step_hold, "step-hold"},
        {AbstractionType::last_received_hold, "last-received-hold"},
        {AbstractionType::tentative_replication_cursor_bookmark_v2,
         "tentative-replication-cursor-bookmark-v2"},
        {AbstractionType::replication_cursor_bookmark_v1, "replication-cursor-bookmark-v1"},
        {AbstractionType::replication_cursor_bookmark_v2, "replication-cursor-bookmark-v2"},
    };
    for (const auto& [t, s] : names) {
        EXPECT_EQ(to_string(t), s);
        EXPECT_EQ(parse_abstraction_type(s), t);
    }
    EXPECT_FALSE(parse_abstraction_type("step_hold"));
}

TEST(CreateTxgRange, EdgesOfTheBounds) {
    const auto incl = [](std::uint64_t t) { return CreateTxgBound{t, true}; };
    const auto excl = [](std::uint64_t t) { return CreateTxgBound{t, false}; };
    const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    EXPECT_FALSE((CreateTxgRange{excl(max), std::nullopt}.validate())) << "nothing lies above (max";
    EXPECT_FALSE((CreateTxgRange{incl(2), incl(2)}.validate())) << "zrepl refuses a single-txg range";
    EXPECT_TRUE((CreateTxgRange{incl(2), incl(3)}.validate()));
    EXPECT_TRUE((CreateTxgRange{incl(0), incl(3)}.validate(true))) << "0 allowed on request";
    EXPECT_FALSE((CreateTxgRange{incl(0), incl(3)}.validate(false)));
    EXPECT_FALSE((CreateTxgRange{incl(5), incl(3)}.contains(4))) << "an invalid range contains nothing";
    EXPECT_TRUE((CreateTxgRange{}.unbounded()));
    EXPECT_EQ((CreateTxgRange{std::nullopt, excl(9)}.to_string()), "~,9)");
    auto err = CreateTxgRange{incl(23), incl(20)}.validate();
    ASSERT_FALSE(err);
    EXPECT_NE(err.error().context().find("[23,20]"), std::string::npos) << err.error().context();
}

TEST(AbstractionNames, CursorSubstituteWithoutBookmarks) {
    EXPECT_EQ(cursor_hold_tag(*JobId::make("push")), "zferry_CURSOR_J_push");
    EXPECT_EQ(cursor_property_name(*JobId::make("push-1.a_b")), "zferry:cursor:push-1.a_b");
    // Upper case and spaces are valid job names but not user property names: hex.
    EXPECT_EQ(cursor_property_name(*JobId::make("Push Job")), "zferry:cursor:x50757368204a6f62");
}

}  // namespace
}  // namespace zferry::replication
