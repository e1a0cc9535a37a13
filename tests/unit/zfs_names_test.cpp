// Name checks and dataset paths: every entity_namecheck.json vector plus the edges of the
// component, property and path rules (reference §5.2).
#include "zfs/dataset_path.hpp"

#include "tests/vectors.hpp"

#include <gtest/gtest.h>

namespace zferry::zfs {
namespace {

EntityType entity_type(const std::string& s) {
    if (s == "filesystem") return EntityType::filesystem;
    if (s == "volume") return EntityType::volume;
    if (s == "snapshot") return EntityType::snapshot;
    if (s == "bookmark") return EntityType::bookmark;
    throw std::runtime_error("unknown entity type " + s);
}

TEST(EntityNamecheck, AcceptsExactlyTheVectorsMarkedValid) {
    auto cases = test::load_cases("entity_namecheck.json");
    ASSERT_FALSE(cases.empty());
    for (const auto& c : cases) {
        const auto& o = c.as_object();
        const auto input = test::str(o.at("input"));
        const auto type = test::str(o.at("type"));
        const bool ok = o.at("ok").as_bool();
        auto r = entity_namecheck(input, entity_type(type));
        EXPECT_EQ(r.has_value(), ok) << test::str(o.at("id")) << ": " << type << " name '" << input
                                     << "' should be " << (ok ? "accepted" : "rejected")
                                     << (r ? std::string() : " but was rejected: " + r.error().context());
    }
}

struct NameCase {
    const char* name;
    EntityType type;
    bool ok;
    const char* why;
};

TEST(EntityNamecheck, FollowsTheLibzfsRules) {
    const NameCase cases[] = {
        {"pool", EntityType::filesystem, true, "a pool is a filesystem"},
        {"pool/a b/c:d.e-f_g", EntityType::volume, true, "space, colon, dot, dash, underscore are legal"},
        {"pool/a@s", EntityType::filesystem, false, "'@' only in snapshots"},
        {"pool/a#b", EntityType::snapshot, false, "'#' only in bookmarks"},
        {"pool/a", EntityType::snapshot, false, "a snapshot needs '@'"},
        {"pool/a@", EntityType::snapshot, false, "the snapshot part must not be empty"},
        {"@s", EntityType::snapshot, false, "the dataset part must not be empty"},
        {"pool//a", EntityType::filesystem, false, "empty components are invalid"},
        {"pool/a/", EntityType::filesystem, false, "a trailing slash leaves an empty component"},
        {"pool/..", EntityType::filesystem, false, "'..' is not a component"},
        {"pool/a@.", EntityType::snapshot, false, "'.' is not a snapshot name"},
        {"pool/a@b+c", EntityType::snapshot, false, "'+' is illegal"},
        {"pool/\xc3\xa4", EntityType::filesystem, false, "non-ASCII is illegal"},
        {"pool/a#bm", EntityType::bookmark, true, "a plain bookmark"},
        {"pool/a#b#c", EntityType::bookmark, false, "only one '#'"},
        // Every operand zferry passes to zfs starts with the pool: a pool starting with '-'
        // would be read as an option. OpenZFS pool names begin with a letter; other
        // components may begin with '-' (entity_namecheck has no such rule).
        {"-pool", EntityType::filesystem, false, "a pool name must not start with '-'"},
        {"-o/a", EntityType::volume, false, "a pool name must not start with '-'"},
        {"-pool/a@s", EntityType::snapshot, false, "a pool name must not start with '-'"},
        {"-pool/a#b", EntityType::bookmark, false, "a pool name must not start with '-'"},
        {"pool/-a", EntityType::filesystem, true, "only the pool is read first on a command line"},
        {"pool/a@-s", EntityType::snapshot, true, "only the pool is read first on a command line"},
        {"pool/a#-b", EntityType::bookmark, true, "only the pool is read first on a command line"},
    };
    for (const auto& c : cases) {
        auto r = entity_namecheck(c.name, c.type);
        EXPECT_EQ(r.has_value(), c.ok)
            << "'" << c.name << "' should be " << (c.ok ? "accepted" : "rejected") << " because " << c.why;
    }
}

TEST(EntityNamecheck, ErrorNamesTheInputAndTheCharacter) {
    auto r = entity_namecheck("pool/b\tr@x", EntityType::snapshot);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().context().find("pool/b\tr@x"), std::string::npos) << r.error().context();
    EXPECT_NE(r.error().context().find("byte 0x09"), std::string::npos) << r.error().context();
    EXPECT_EQ(r.error().code(), make_error_code(Errc::invalid_argument));
}

TEST(ComponentNamecheck, AcceptsClientIdentitiesAndRejectsOthers) {
    const std::pair<std::string, bool> cases[] = {
        {"client-1.example.com", true},
        {"job with space", true},
        {"", false},
        {".", false},
        {"..", false},
        {"a/b", false},
        {"a@b", false},
        {std::string(255, 'x'), true},
        {std::string(256, 'x'), false},
    };
    for (const auto& [in, ok] : cases)
        EXPECT_EQ(component_namecheck(in).has_value(), ok)
            << "component '" << in << "' should be " << (ok ? "accepted" : "rejected");
}

TEST(PropertyNamecheck, AcceptsZfsAndUserProperties) {
    const std::pair<std::string, bool> cases[] = {
        {"zrepl:placeholder", true},
        {"com.example:x-y_z", true},
        {"guid", true},
        {"", false},
        {"-x", false},
        {"a b", false},
        {std::string(256, 'p'), true},
        {std::string(257, 'p'), false},
        {"a=b", false},
    };
    for (const auto& [in, ok] : cases)
        EXPECT_EQ(property_namecheck(in).has_value(), ok)
            << "property '" << in << "' should be " << (ok ? "accepted" : "rejected");
}

TEST(DatasetPath, ParsesComponentsAndRejectsForbiddenCharacters) {
    const std::pair<std::string, std::vector<std::string>> ok_cases[] = {
        {"", {}}, {"pool", {"pool"}}, {"pool/a b/c", {"pool", "a b", "c"}}};
    for (const auto& [in, comps] : ok_cases) {
        auto p = DatasetPath::parse(in);
        ASSERT_TRUE(p) << "'" << in << "' should parse";
        EXPECT_EQ(p->components(), comps) << "components of '" << in << "'";
        EXPECT_EQ(p->to_string(), in) << "'" << in << "' should print as itself";
    }
    for (std::string bad : {"a@b", "a#b", "a|b", "a\tb", "a<b", "a>b", "a*b", "a/", "/a", "a//b"})
        EXPECT_FALSE(DatasetPath::parse(bad)) << "'" << bad << "' should be rejected";
}

TEST(DatasetPath, PrefixOperationsAreComponentWise) {
    auto p = [](const char* s) { return DatasetPath::parse(s).value(); };
    EXPECT_TRUE(p("a/b/c").has_prefix(p("a/b")));
    EXPECT_FALSE(p("a/bc").has_prefix(p("a/b"))) << "'a/b' is not a prefix of 'a/bc'";
    EXPECT_TRUE(p("a").has_prefix(p(""))) << "the empty path is a prefix of everything";
    EXPECT_EQ(p("a/b/c").trim_prefix(p("a")), p("b/c"));
    EXPECT_EQ(p("a/b/c").trim_prefix(p("x")), p("a/b/c")) << "a non-prefix leaves the path unchanged";
    EXPECT_EQ(p("a").extend(p("b/c")), p("a/b/c"));
    EXPECT_EQ(p("a/b").parent(), p("a"));
    EXPECT_EQ(p("").parent(), p(""));
    EXPECT_EQ(p("pool/x").pool(), "pool");
    EXPECT_LT(p("a"), p("a/b"));
}

}  // namespace
}  // namespace zferry::zfs
