// Pruning: keep rules, the retention grid and the per-filesystem plan. Every pruning.json
// case (facts from zrepl) is a test of its own.
#include "daemon/pruning/keep_rule.hpp"
#include "daemon/pruning/prune_plan.hpp"
#include "daemon/pruning/re2_regex.hpp"
#include "daemon/pruning/retention_grid.hpp"
#include "tests/unit/snapshotting_test_support.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <algorithm>
#include <set>
#include <sstream>

namespace zferry::pruning {
namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;
using test::VectorCase;

std::set<std::string> string_set(const boost::json::value& v) {
    std::set<std::string> out;
    for (const auto& e : v.as_array()) out.insert(test::str(e));
    return out;
}

Result<KeepRuleConfig> rule_config(const boost::json::object& r) {
    const auto type = test::str(r.at("type"));
    auto regex = [&] { return r.contains("regex") ? test::str(r.at("regex")) : std::string(); };
    if (type == "not_replicated") {
        NotReplicatedConfig c;
        if (r.contains("keep_snapshot_at_cursor"))
            c.keep_snapshot_at_cursor = r.at("keep_snapshot_at_cursor").as_bool();
        return KeepRuleConfig{c};
    }
    if (type == "last_n")
        return KeepRuleConfig{LastNConfig{r.at("count").to_number<std::int64_t>(), regex()}};
    if (type == "regex")
        return KeepRuleConfig{RegexConfig{regex(), r.contains("negate") && r.at("negate").as_bool()}};
    if (type == "grid") return KeepRuleConfig{GridConfig{test::str(r.at("grid")), regex()}};
    return Error(Errc::invalid_argument, "unknown rule type " + type);
}

// ---- pruning.json: prune ------------------------------------------------------------------

class PruneVector : public ::testing::TestWithParam<VectorCase> {};

TEST_P(PruneVector, Prune) {
    const auto& c = GetParam().data;
    std::vector<PruneSnapshot> snaps;
    std::uint64_t txg = 0;
    for (const auto& s : c.at("snapshots").as_array()) {
        const auto& o = s.as_object();
        snaps.push_back(PruneSnapshot{test::str(o.at("name")),
                                      sys_seconds(seconds(o.at("creation_unix").to_number<std::int64_t>())),
                                      ++txg, txg, o.at("replicated").as_bool()});
    }
    std::vector<KeepRule> rules;
    if (!c.at("rules").is_null()) {
        for (const auto& r : c.at("rules").as_array()) {
            auto cfg = rule_config(r.as_object());
            ASSERT_TRUE(cfg) << cfg.error().message();
            auto rule = KeepRule::make(*cfg);
            ASSERT_TRUE(rule) << rule.error().message();
            rules.push_back(std::move(*rule));
        }
    }
    const auto plan = plan_pruning("pool/fs", snaps, rules, {});
    std::set<std::string> destroyed, kept;
    for (const auto& d : plan.decisions) (d.destroy ? destroyed : kept).insert(d.snapshot);
    std::ostringstream text;
    text << plan;
    EXPECT_EQ(destroyed, string_set(c.at("expect_destroy"))) << text.str();
    EXPECT_EQ(kept, string_set(c.at("expect_keep"))) << text.str();
    EXPECT_EQ(plan.decisions.size(), snaps.size());
}
INSTANTIATE_TEST_SUITE_P(Prune, PruneVector, ::testing::ValuesIn(test::vector_cases("pruning.json", "prune")),
                         test::case_name);

// ---- pruning.json: rule_validation ---------------------------------------------------------

class PruneRuleValidationVector : public ::testing::TestWithParam<VectorCase> {};

TEST_P(PruneRuleValidationVector, RuleValidation) {
    const auto& c = GetParam().data;
    auto cfg = rule_config(c.at("rule").as_object());
    ASSERT_TRUE(cfg) << cfg.error().message();
    auto rule = KeepRule::make(*cfg);
    EXPECT_EQ(rule.has_value(), c.at("expect_valid").as_bool())
        << (rule ? rule->description() : rule.error().message());
    if (!rule) {
        // The message names the rule type and says what is expected.
        EXPECT_NE(rule.error().message().find("keep rule " + test::str(c.at("rule").at("type"))),
                  std::string::npos)
            << rule.error().message();
        EXPECT_NE(rule.error().message().find("expected"), std::string::npos) << rule.error().message();
    }
}
INSTANTIATE_TEST_SUITE_P(Prune, PruneRuleValidationVector,
                         ::testing::ValuesIn(test::vector_cases("pruning.json", "rule_validation")),
                         test::case_name);

// ---- pruning.json: grid_spec_parse --------------------------------------------------------

class PruneGridSpecVector : public ::testing::TestWithParam<VectorCase> {};

TEST_P(PruneGridSpecVector, GridSpecParse) {
    const auto& c = GetParam().data;
    const auto spec = test::str(c.at("spec"));
    auto parsed = parse_grid_spec(spec);
    const auto& expect = c.at("expect").as_object();
    if (expect.contains("error")) {
        ASSERT_FALSE(parsed) << to_string(*parsed);
        EXPECT_NE(parsed.error().message().find("grid '" + spec + "'"), std::string::npos)
            << parsed.error().message();
        EXPECT_NE(parsed.error().message().find("expected"), std::string::npos) << parsed.error().message();
        return;
    }
    ASSERT_TRUE(parsed) << parsed.error().message();
    std::vector<GridSpecElement> want;
    for (const auto& i : expect.at("intervals").as_array()) {
        const auto& o = i.as_object();
        const int keep = o.at("keep").is_string() ? kKeepAll : o.at("keep").to_number<int>();
        want.push_back(GridSpecElement{o.at("count").to_number<std::int64_t>(),
                                       seconds(o.at("length_seconds").to_number<std::int64_t>()), keep});
    }
    EXPECT_EQ(*parsed, want) << to_string(*parsed);
}
INSTANTIATE_TEST_SUITE_P(Prune, PruneGridSpecVector,
                         ::testing::ValuesIn(test::vector_cases("pruning.json", "grid_spec_parse")),
                         test::case_name);

// ---- pruning.json: retention_grid_fit ------------------------------------------------------

class PruneGridFitVector : public ::testing::TestWithParam<VectorCase> {};

TEST_P(PruneGridFitVector, RetentionGridFit) {
    const auto& c = GetParam().data;
    std::vector<GridInterval> grid;
    for (const auto& i : c.at("intervals").as_array()) {
        const auto& o = i.as_object();
        grid.push_back(GridInterval{seconds(o.at("length_seconds").to_number<std::int64_t>()),
                                    o.at("keep").is_string() ? kKeepAll : o.at("keep").to_number<int>()});
    }
    std::vector<GridEntry> entries;
    std::vector<std::string> names;
    for (const auto& e : c.at("entries").as_array()) {
        names.push_back(test::str(e.at("name")));
        entries.push_back(GridEntry{e.at("time_unix").to_number<std::int64_t>(), names.size() - 1});
    }
    std::optional<std::int64_t> now;
    if (!c.at("now_unix").is_null()) now = c.at("now_unix").to_number<std::int64_t>();
    const auto fit = fit_grid(grid, entries, now);
    std::set<std::string> keep, remove;
    for (auto i : fit.keep) keep.insert(names[i]);
    for (auto i : fit.remove) remove.insert(names[i]);
    EXPECT_EQ(keep, string_set(c.at("expect_keep")));
    EXPECT_EQ(remove, string_set(c.at("expect_remove")));
}
INSTANTIATE_TEST_SUITE_P(Prune, PruneGridFitVector,
                         ::testing::ValuesIn(test::vector_cases("pruning.json", "retention_grid_fit")),
                         test::case_name);

TEST(PruneVectorFamilies, AllKindsPresent) {
    std::size_t n = 0;
    for (auto kind : {"prune", "rule_validation", "grid_spec_parse", "retention_grid_fit"})
        n += test::vector_cases("pruning.json", kind).size();
    EXPECT_EQ(n, test::load_cases("pruning.json").size());
}

// ---- grid spec details ---------------------------------------------------------------------

TEST(PruneGridSpec, SyntaxAsZrepl) {
    auto sp = parse_grid_spec(" 2 x 15m ( keep=3) |1x1w ");
    ASSERT_TRUE(sp) << sp.error().message();
    EXPECT_EQ(to_string(*sp), "2x15m(keep=3) | 1x1w");
    EXPECT_TRUE(parse_grid_spec("1x1h(keep=0)"));
    for (const char* bad :
         {"", "x1h", "1x", "1x1h(keep=all )", "1x1h(keep=)", "1x1h(keep=-1)", "1x1h(keep=1,foo=2)",
          "1x1h(keep=all", "1x-1h", "1x0s", "1 1h", "1x1h|", "|1x1h", "99999999999999999999x1h", "1x1y"})
        EXPECT_FALSE(parse_grid_spec(bad)) << bad;
    auto err = parse_grid_spec("1x1h | 24x1h | 14xfoo");
    ASSERT_FALSE(err);
    EXPECT_NE(err.error().message().find("element 3 of 3"), std::string::npos) << err.error().message();
}

TEST(PruneGridSpec, MonotonicLengthsExceptAfterKeepAll) {
    EXPECT_TRUE(KeepRule::make(GridConfig{"1x1h(keep=all) | 1x10m | 1x1h", "^z"}));
    EXPECT_FALSE(KeepRule::make(GridConfig{"1x1h(keep=all) | 1x1h | 1x10m", "^z"}));
    auto huge = KeepRule::make(GridConfig{"999999999x1s", "^z"});
    ASSERT_FALSE(huge);
    EXPECT_NE(huge.error().message().find("intervals in total"), std::string::npos) << huge.error().message();
}

// ---- rules and the plan --------------------------------------------------------------------

PruneSnapshot snap(std::string name, std::int64_t creation, std::uint64_t txg, bool replicated = false) {
    return PruneSnapshot{std::move(name), sys_seconds(seconds(creation)), txg, 0x1000 + txg, replicated};
}

std::vector<KeepRule> rules_of(std::initializer_list<KeepRuleConfig> cfgs) {
    std::vector<KeepRule> out;
    for (const auto& c : cfgs) {
        auto r = KeepRule::make(c);
        if (!r) throw std::runtime_error(r.error().message());
        out.push_back(std::move(*r));
    }
    return out;
}

TEST(PrunePlan, ProtectedSnapshotsSurviveEveryRule) {
    const std::vector<PruneSnapshot> snaps = {snap("zrepl_1", 100, 1, true), snap("zrepl_2", 200, 2, true),
                                              snap("zrepl_3", 300, 3, true)};
    const auto rules = rules_of({NotReplicatedConfig{}, LastNConfig{1, "^zrepl_"}});
    const std::vector<ProtectedSnapshot> prot = {{"zrepl_1", "newest common snapshot with the receiver"}};
    const auto plan = plan_pruning("pool/a", snaps, rules, prot);
    EXPECT_EQ(plan.destroy_names(), std::vector<std::string>{"zrepl_2"});
    std::ostringstream os;
    os << plan;
    EXPECT_EQ(
        os.str(),
        "pool/a: destroy 1 of 3 snapshots\n"
        "  keep pool/a@zrepl_1 (created 1970-01-01T00:01:40Z): protected: newest common snapshot with the "
        "receiver\n"
        "  destroy pool/a@zrepl_2 (created 1970-01-01T00:03:20Z): no rule keeps it\n"
        "  keep pool/a@zrepl_3 (created 1970-01-01T00:05:00Z): kept by last_n(count=1, regex=^zrepl_)\n");
}

TEST(PrunePlan, ZeroRulesDestroyNothing) {
    const std::vector<PruneSnapshot> snaps = {snap("a", 1, 1, true)};
    const auto plan = plan_pruning("p", snaps, {}, {});
    ASSERT_EQ(plan.decisions.size(), 1u);
    EXPECT_FALSE(plan.decisions[0].destroy);
    std::ostringstream os;
    os << plan.decisions[0];
    EXPECT_EQ(os.str(), "keep @a (created 1970-01-01T00:00:01Z): no keep rules configured");
}

TEST(PrunePlan, JsonForTheStatusView) {
    const std::vector<PruneSnapshot> snaps = {snap("zrepl_1", 100, 1, true), snap("zrepl_2", 200, 2, false)};
    const auto rules = rules_of({NotReplicatedConfig{}, RegexConfig{"^manual_", false}});
    const auto plan =
        plan_pruning("pool/a", snaps, rules, std::vector<ProtectedSnapshot>{{"zrepl_2", "step source"}});
    const auto jv = boost::json::value_from(plan);
    EXPECT_EQ(
        boost::json::serialize(jv),
        R"({"filesystem":"pool/a","destroy_count":1,"decisions":[)"
        R"({"snapshot":"zrepl_1","creation_unix":100,"createtxg":1,"action":"destroy","kept_by":[],"protected":null},)"
        R"({"snapshot":"zrepl_2","creation_unix":200,"createtxg":2,"action":"keep","kept_by":["not_replicated"],"protected":"step source"}]})");
}

TEST(PrunePlan, OrderedOldestFirstByCreatetxg) {
    const std::vector<PruneSnapshot> snaps = {snap("c", 300, 30), snap("a", 100, 10), snap("b", 200, 20)};
    const auto plan = plan_pruning("p", snaps, rules_of({LastNConfig{1, ""}}), {});
    ASSERT_EQ(plan.decisions.size(), 3u);
    EXPECT_EQ(plan.decisions[0].snapshot, "a");
    EXPECT_EQ(plan.decisions[2].snapshot, "c");
    EXPECT_EQ(plan.destroy_names(), (std::vector<std::string>{"a", "b"}));
}

TEST(PruneKeepRules, LastNTiesAndNonMatching) {
    // Same creation: name descending decides; non-matching snapshots are not kept (v0.7).
    const std::vector<PruneSnapshot> snaps = {snap("zrepl_a", 100, 1), snap("zrepl_b", 100, 2),
                                              snap("other", 50, 3)};
    const auto keep = rules_of({LastNConfig{1, "^zrepl_"}})[0].keeps(snaps);
    EXPECT_EQ(keep, (std::vector<bool>{false, true, false}));
    // Fewer matches than count: all matches kept, still not the others.
    EXPECT_EQ(rules_of({LastNConfig{5, "^zrepl_"}})[0].keeps(snaps), (std::vector<bool>{true, true, false}));
}

TEST(PruneKeepRules, RegexNegateAndGrid) {
    const std::vector<PruneSnapshot> snaps = {snap("zrepl_1", 0, 1), snap("manual", 0, 2)};
    EXPECT_EQ(rules_of({RegexConfig{"^zrepl_", true}})[0].keeps(snaps), (std::vector<bool>{false, true}));
    // Grid: "now" is the newest matching snapshot; the non-matching one is not kept by it.
    const std::vector<PruneSnapshot> g = {snap("zrepl_1", 0, 1), snap("zrepl_2", 1800, 2),
                                          snap("zrepl_3", 3000, 3), snap("zrepl_4", 3500, 4),
                                          snap("other", 3600, 5)};
    const auto grid = rules_of({GridConfig{"1x10m(keep=all) | 2x1h", "^zrepl_"}})[0];
    // now=3500: bucket 0 (2900,3500] keeps all: 3, 4; bucket 1 (-700,2900] keeps the oldest: 1.
    EXPECT_EQ(grid.keeps(g), (std::vector<bool>{true, false, true, true, false}));
    EXPECT_EQ(grid.description(), "grid(1x10m(keep=all) | 2x1h, regex=^zrepl_)");
}

// A wall-clock jump of one day forward on the sender (chaos scenario 12). No rule reads the
// wall clock: the grid's "now" is the newest matching snapshot (zrepl), last_n counts. So the
// jump alone ages nothing; once the first snapshot after the jump exists, the snapshots from
// before are a day older than it and the grid thins them as it would after a day without
// snapshots (one per bucket), while last_n keeps its count whatever the times. Measuring from
// the wall clock instead would make everything look old the moment the clock jumps and, with a
// large jump, leave nothing but protected snapshots; measuring from the newest snapshot never
// destroys that snapshot nor empties a bucket.
TEST(PruneKeepRules, AClockJumpMovesTheGridOnlyWithTheNewestSnapshot) {
    const std::int64_t t = 1'800'000'000;
    std::vector<PruneSnapshot> snaps = {snap("zferry_1", t, 1, true), snap("zferry_2", t + 600, 2, true),
                                        snap("zferry_3", t + 1200, 3, true),
                                        snap("zferry_4", t + 1800, 4, true)};
    const auto grid = rules_of({GridConfig{"1x1h(keep=all) | 24x1h | 7x1d", "^zferry_"}})[0];
    EXPECT_EQ(grid.keeps(snaps), (std::vector<bool>{true, true, true, true}))
        << "before the first snapshot after the jump, everything is within the keep=all hour";
    // The first snapshot after the jump: a day and a few seconds after zferry_4.
    snaps.push_back(snap("zferry_5", t + 1800 + 86400 + 3, 5, false));
    // zferry_1..4 are 24 h 0 min 3 s .. 24 h 30 min 3 s older: all in the bucket (24h, 25h],
    // which keeps its oldest.
    EXPECT_EQ(grid.keeps(snaps), (std::vector<bool>{true, false, false, false, true}));
    const auto last_n = rules_of({LastNConfig{4, "^zferry_"}})[0];
    EXPECT_EQ(last_n.keeps(snaps), (std::vector<bool>{false, true, true, true, true}));
    // The sender of the chaos scenario: not_replicated + last_n 4 destroys only zferry_1.
    const auto sender =
        plan_pruning("p/a", snaps, rules_of({NotReplicatedConfig{}, LastNConfig{4, "^zferry_"}}), {});
    EXPECT_EQ(sender.destroy_names(), std::vector<std::string>{"zferry_1"});
    // The receiver with the grid: zferry_1 and zferry_5 stay.
    const auto receiver =
        plan_pruning("q/a", snaps, rules_of({GridConfig{"1x1h(keep=all) | 24x1h | 7x1d", "^zferry_"}}), {});
    EXPECT_EQ(receiver.destroy_names(), (std::vector<std::string>{"zferry_2", "zferry_3", "zferry_4"}));
}

TEST(PruneKeepRules, NotReplicatedWithTheCursor) {
    std::vector<PruneSnapshot> snaps = {snap("s3", 300, 3), snap("s1", 100, 1), snap("s2", 200, 2),
                                        snap("s4", 400, 4)};
    const std::uint64_t cursor_guid = 0x1000 + 2;  // s2
    ASSERT_TRUE(mark_replicated_by_cursor(snaps, cursor_guid, false));
    EXPECT_TRUE(snaps[1].replicated);   // s1: before the cursor
    EXPECT_FALSE(snaps[2].replicated);  // s2: the cursor snapshot, kept by default
    EXPECT_FALSE(snaps[0].replicated);  // s3
    EXPECT_FALSE(snaps[3].replicated);  // s4
    const auto keep_at_cursor = rules_of({NotReplicatedConfig{true}});
    EXPECT_FALSE(keep_at_cursor[0].treats_cursor_as_replicated());
    EXPECT_EQ(plan_pruning("p", snaps, keep_at_cursor, {}).destroy_names(), std::vector<std::string>{"s1"});

    const auto drop_cursor = rules_of({NotReplicatedConfig{false}});
    ASSERT_TRUE(drop_cursor[0].treats_cursor_as_replicated());
    ASSERT_TRUE(mark_replicated_by_cursor(snaps, cursor_guid, true));
    EXPECT_EQ(plan_pruning("p", snaps, drop_cursor, {}).destroy_names(),
              (std::vector<std::string>{"s1", "s2"}));

    auto missing = mark_replicated_by_cursor(snaps, 0xdeadbeef, false);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("00000000deadbeef"), std::string::npos)
        << missing.error().message();
    EXPECT_TRUE(
        std::none_of(snaps.begin(), snaps.end(), [](const PruneSnapshot& s) { return s.replicated; }));
}

TEST(PruneKeepRules, NotReplicatedRejectedForSnapJobs) {
    const std::vector<KeepRuleConfig> cfgs = {LastNConfig{3, ""}, NotReplicatedConfig{}};
    auto r = reject_not_replicated(cfgs, "pruning.keep");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("pruning.keep"), std::string::npos);
    EXPECT_TRUE(reject_not_replicated(std::vector<KeepRuleConfig>{LastNConfig{3, ""}}, "pruning.keep"));
}

// ---- RE2 compatibility of the regex engine -------------------------------------------------

TEST(PruneRe2Regex, SemanticsUsedBySnapshotRules) {
    auto re = [](const char* p) {
        auto r = Re2Regex::compile(p, "regex");
        if (!r) throw std::runtime_error(r.error().message());
        return *r;
    };
    EXPECT_TRUE(re("").search("anything"));
    EXPECT_TRUE(re("foo_").search("xfoo_1"));  // unanchored
    EXPECT_FALSE(re("^foo_").search("xfoo_1"));
    EXPECT_FALSE(re("^b$").search("a\nb"));           // ^ $ at text ends only
    EXPECT_FALSE(re("a.b").search("a\nb"));           // . excludes newline
    EXPECT_TRUE(re("(?i)^ZREPL").search("zrepl_1"));  // flags
    EXPECT_TRUE(re("^zrepl_[0-9]{8}_").search("zrepl_20240514_211623_000"));
    EXPECT_TRUE(re("(?P<date>\\d+)").search("a1"));  // RE2 named group
    EXPECT_TRUE(re("[[:digit:]]\\z").search("x1"));
    EXPECT_TRUE(re("[]a]").search("]"));
    for (const char* unsupported : {"(a)\\1", "a(?=b)", "a(?!b)", "(?<=a)b", "(?<!a)b", "(?>a)", "a*+", "a++",
                                    "\\Z", "(?R)", "(?(1)a|b)", "\\k<x>", "(?P<n>a)(?P=n)"}) {
        auto r = Re2Regex::compile(unsupported, "keep rule regex: regex");
        ASSERT_FALSE(r) << unsupported;
        EXPECT_NE(r.error().message().find("keep rule regex: regex"), std::string::npos);
        EXPECT_NE(r.error().message().find("RE2"), std::string::npos);
    }
    auto bad = Re2Regex::compile("(", "keep rule last_n: regex");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("not a valid regular expression"), std::string::npos);
}

}  // namespace
}  // namespace zferry::pruning
