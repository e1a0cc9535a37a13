// The `filesystems:` filter: every fs_filter.json case as its own test, then the parse
// errors and the command-line form.
#include "replication/logic/filesystem_filter.hpp"

#include "tests/unit/replication_vectors.hpp"

#include <gtest/gtest.h>

namespace zferry::replication {
namespace {

using test::str;

class FilesystemFilterVector : public ::testing::TestWithParam<test::VectorCase> {};

TEST_P(FilesystemFilterVector, MatchesZrepl) {
    const auto& c = GetParam().json;
    std::vector<std::pair<std::string, std::string>> entries;
    for (const auto& [pattern, result] : c.at("filter").as_object())
        entries.emplace_back(std::string(pattern), str(result));
    auto f = FilesystemFilter::from_results(entries);
    if (c.contains("expect_filter_error")) {
        ASSERT_TRUE(c.at("expect_filter_error").as_bool());
        EXPECT_FALSE(f) << "filter must be refused, got " << *f;
        if (!f) {
            EXPECT_EQ(f.error().code(), make_error_code(Errc::invalid_argument));
        }
        return;
    }
    ASSERT_TRUE(f) << f.error().context();
    const auto dataset = str(c.at("dataset"));
    auto pass = f->passes(dataset);
    ASSERT_TRUE(pass) << pass.error().context();
    EXPECT_EQ(*pass, c.at("expect_pass").as_bool()) << *f << " on '" << dataset << "'";
}

INSTANTIATE_TEST_SUITE_P(Vectors, FilesystemFilterVector,
                         ::testing::ValuesIn(test::vector_cases("fs_filter.json")),
                         [](const auto& info) { return test::case_name(info.param); });

FilesystemFilter spec(std::string_view s) {
    auto f = FilesystemFilter::parse_spec(s);
    if (!f) throw std::runtime_error("spec refused: " + f.error().context());
    return *f;
}

struct PassCase {
    const char* dataset;
    bool pass;
    const char* why;
};

TEST(FilesystemFilter, MostSpecificEntryDecides) {
    const auto f = spec("tank<:ok,tank/tmp<:!,tank/tmp/keep:ok,tank/tmp/keep/deeper<:!");
    const PassCase cases[] = {
        {"tank", true, "tank< covers tank itself"},
        {"tank/a/b", true, "tank< covers the subtree"},
        {"tank/tmp", false, "the longer subtree tank/tmp< rejects"},
        {"tank/tmp/x", false, "below tank/tmp<"},
        {"tank/tmp/keep", true, "an exact entry beats every subtree"},
        {"tank/tmp/keep/y", false, "the exact entry covers only itself; tank/tmp< decides"},
        {"tank/tmp/keep/deeper/z", false, "the longest subtree rejects"},
        {"tankette", false, "a prefix is component-wise, not by characters"},
        {"other", false, "nothing matches: excluded"},
    };
    for (const auto& c : cases) EXPECT_EQ(f.passes(c.dataset).value(), c.pass) << c.dataset << ": " << c.why;
}

TEST(FilesystemFilter, ConfigFormAndEmptyFilter) {
    const std::vector<std::pair<std::string, bool>> cfg = {{"<", true}, {"secret", false}};
    auto f = FilesystemFilter::from_config(cfg);
    ASSERT_TRUE(f) << f.error().context();
    EXPECT_TRUE(f->passes("pool/a").value());
    EXPECT_FALSE(f->passes("secret").value());
    EXPECT_TRUE(f->passes("pool/secret").value()) << "'secret' without '<' is exact and top-level";
    EXPECT_FALSE(FilesystemFilter{}.passes("pool").value()) << "the empty filter excludes everything";
}

TEST(FilesystemFilter, RefusesBadPatterns) {
    const std::pair<const char*, const char*> bad[] = {
        {"tank<<:ok", "two '<'"},
        {"<tank:ok", "'<' not at the end"},
        {"tank/:ok", "trailing slash"},
        {"tank@snap:ok", "a snapshot is no dataset path"},
        {"tank:maybe", "result neither ok nor !"},
        {"tank", "no result"},
        {"tank:ok,", "an empty item"},
        {"tank:ok,tank:!", "the same pattern twice"},
    };
    for (const auto& [s, why] : bad) {
        auto f = FilesystemFilter::parse_spec(s);
        EXPECT_FALSE(f) << "'" << s << "' must be refused: " << why;
        if (!f) {
            EXPECT_EQ(f.error().code(), make_error_code(Errc::invalid_argument)) << s;
        }
    }
    auto f = FilesystemFilter::parse_spec("tank<x:ok");
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().context().find("'tank<x'"), std::string::npos) << f.error().context();
}

TEST(FilesystemFilter, SpecAcceptsResultsInAnyCaseAndColonsInNames) {
    const auto f = spec("pool/a:b<:OK,pool/a:b/c:!");
    EXPECT_TRUE(f.passes("pool/a:b/x").value());
    EXPECT_FALSE(f.passes("pool/a:b/c").value());
    std::ostringstream os;
    os << f;
    EXPECT_EQ(os.str(), "{pool/a:b<: ok, pool/a:b/c: !}");
}

TEST(FilesystemFilter, InvalidDatasetNameIsAnErrorNotARejection) {
    const auto f = spec("<:ok");
    auto r = f.passes("pool/a@snap");
    EXPECT_FALSE(r);
}

// zrepl_zfs_list_unmatched_user_specified_dataset_count: the entries that name a dataset the
// listing does not have, rejecting ones included; "<" names none and is never counted.
TEST(FilesystemFilter, UnmatchedEntriesAreThoseNamingNoListedDataset) {
    const auto f = spec("<:ok,pool/a<:ok,pool/gone:ok,pool/tmp<:!,other<:ok");
    const std::vector<std::string> listed{"pool", "pool/a", "pool/a/b", "pool/tmp"};
    EXPECT_EQ(f.unmatched_entries(listed), 2u) << "pool/gone and other";
    EXPECT_EQ(f.unmatched_entries({}), 4u);
    EXPECT_EQ(spec("<:ok").unmatched_entries(listed), 0u);
}

}  // namespace
}  // namespace zferry::replication
