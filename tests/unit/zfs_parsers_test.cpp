// Parsers of `zfs` output: versions (OpenZFS list -p and the zfs-fuse get fallback),
// filesystem listings, properties and placeholders, holds, dry-send size estimates.
#include "zfs/dry_send_info.hpp"
#include "zfs/filesystem_listing.hpp"
#include "zfs/filesystem_version.hpp"
#include "zfs/holds.hpp"
#include "zfs/properties.hpp"
#include "zfs/sha512_256.hpp"

#include "tests/unit/zfs_recorded_outputs.hpp"
#include "tests/vectors.hpp"

#include <gtest/gtest.h>

namespace zferry::zfs {
namespace {

namespace rec = test::recorded;

FilesystemVersion snap(std::string fs, std::string name, std::uint64_t guid, std::uint64_t txg,
                       std::int64_t creation, std::optional<std::uint64_t> refs) {
    return {VersionType::snapshot, std::move(fs), std::move(name), guid, txg, creation, refs};
}

TEST(VersionsListing, ParsesOpenzfsSnapshotsAndBookmarksInOrder) {
    auto r = parse_versions_listing(rec::kOpenzfsVersionsListing);
    ASSERT_TRUE(r) << r.error().context();
    ASSERT_EQ(r->size(), 4u);
    EXPECT_EQ((*r)[0],
              snap("pool/data", "zrepl_20261124_020000_000", 12205403398441345881ull, 1043, 1795917600, 1));
    const auto& bm = (*r)[1];
    EXPECT_EQ(bm.type, VersionType::bookmark);
    EXPECT_EQ(bm.full_name(), "pool/data#zrepl_CURSOR_G_a962a7a4c5c1a159_J_backup");
    EXPECT_FALSE(bm.userrefs) << "a bookmark's userrefs '-' means no count";
    EXPECT_TRUE(bm.same_identity((*r)[0])) << "a bookmark has the identity of its snapshot";
    EXPECT_EQ((*r)[3].name, "manual snap: with space") << "spaces and colons are legal in names";
    EXPECT_EQ((*r)[3].relative_name(), "@manual snap: with space");
}

TEST(VersionsListing, RefusesMalformedLinesNamingTheLine) {
    struct Case {
        std::string text, why;
    };
    const Case cases[] = {
        {"pool/a@s\t1\t2\t3\n", "expected 5 TAB-separated fields"},
        {"pool/a\t1\t2\t3\t0\n", "neither a snapshot"},
        {"pool/a@s\t1.99E\t2\t3\t0\n", "guid '1.99E'"},
        {"pool/a@s\t1\t-2\t3\t0\n", "createtxg"},
        {"pool/a@s\t1\t2\tTue Nov 24\t0\n", "creation"},
        {"pool/a@s\t1\t2\t3\t-\n", "userrefs '-' of a snapshot"},
        {"pool/a#b\t1\t2\t3\t0\n", "userrefs of a bookmark"},
        {"pool/a@s\t18446744073709551616\t2\t3\t0\n", "guid"},
        {"pool/a@s\t1\t2\t3\t0\npool/a@t\t1\t2\t3\n", "line 2"},
    };
    for (const auto& c : cases) {
        auto r = parse_versions_listing(c.text);
        ASSERT_FALSE(r) << "'" << c.text << "' should be refused";
        EXPECT_NE(r.error().context().find(c.why), std::string::npos)
            << "refusal of '" << c.text << "' should mention '" << c.why
            << "' but says: " << r.error().context();
    }
}

TEST(VersionsListing, AcceptsEmptyOutputAndCrlfAndMissingFinalNewline) {
    EXPECT_EQ(parse_versions_listing("").value().size(), 0u)
        << "a filesystem without snapshots lists nothing";
    auto r = parse_versions_listing("p/a@s\t1\t2\t3\t0\r\np/a@t\t4\t5\t6\t7");
    ASSERT_TRUE(r) << r.error().context();
    EXPECT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[1].userrefs, 7u);
}

TEST(VersionsListing, ArgvIsTheOneTheParserExpects) {
    const std::vector<std::string> want = {
        "list", "-H",        "-p",      "-o", "name,guid,createtxg,creation,userrefs",
        "-r",   "-d",        "1",       "-t", "bookmark,snapshot",
        "-s",   "createtxg", "pool/a b"};
    EXPECT_EQ(list_versions_argv("pool/a b"), want);
    EXPECT_EQ(get_versions_argv("srcpool/a").back(), "srcpool/a");
}

TEST(VersionsGetListing, ReadsZfsFuseSnapshots) {
    auto r = parse_versions_get_listing(rec::kZfsFuseVersionsGet);
    ASSERT_TRUE(r) << r.error().context();
    ASSERT_EQ(r->size(), 2u) << "the filesystem and its child are not versions";
    EXPECT_EQ((*r)[0], snap("zprobe/a", "s1", 9257401375648202238ull, 12, 1795491056, 1));
    EXPECT_EQ((*r)[1], snap("zprobe/a", "s2", 14549836892993644610ull, 17, 1795491056, 0));
}

TEST(VersionsGetListing, SortsByCreatetxgBecauseZfsGetSortsByName) {
    // Snapshot "b" is older than "a": name order and creation order differ.
    auto r = parse_versions_get_listing(
        "p/fs@a\tguid\t1\np/fs@a\tcreatetxg\t30\np/fs@a\tcreation\t3\np/fs@a\tuserrefs\t0\n"
        "p/fs@b\tguid\t2\np/fs@b\tcreatetxg\t20\np/fs@b\tcreation\t2\np/fs@b\tuserrefs\t0\n");
    ASSERT_TRUE(r) << r.error().context();
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0].name, "b");
    EXPECT_EQ((*r)[1].name, "a");
}

TEST(VersionsGetListing, RefusesIncompleteOrDuplicateProperties) {
    struct Case {
        std::string text, why;
    };
    const Case cases[] = {
        {"p/a@s\tguid\t1\np/a@s\tcreatetxg\t2\np/a@s\tcreation\t3\n", "lacks property userrefs"},
        {"p/a@s\tguid\t1\np/a@s\tguid\t1\n", "appears twice"},
        {"p/a@s\tused\t1\n", "unexpected property"},
        {"p/a@s\tguid\t1.99E\n", "not a decimal"},
        {"p/a@s\tcreation\tTue Nov 24  2:09 2026\n", "was -p given"},
        {"p/a@s guid 1\n", "expected 3 TAB-separated fields"},
    };
    for (const auto& c : cases) {
        auto r = parse_versions_get_listing(c.text);
        ASSERT_FALSE(r) << "'" << c.text << "' should be refused";
        EXPECT_NE(r.error().context().find(c.why), std::string::npos)
            << "refusal of '" << c.text << "' should mention '" << c.why
            << "' but says: " << r.error().context();
    }
}

TEST(VersionsGetListing, ZfsFuseHumanizedListIsRefusedByTheListParser) {
    auto r = parse_versions_listing(rec::kZfsFuseHumanizedList);
    ASSERT_FALSE(r) << "a humanized guid must never be taken for a number";
}

TEST(FilesystemListing, ParsesNamesAndPropertiesInRequestOrder) {
    const std::vector<std::string> props = {"zrepl:placeholder", "encryption"};
    auto argv = list_filesystems_argv(props, "pool");
    EXPECT_EQ(argv[4], "name,zrepl:placeholder,encryption");
    EXPECT_EQ(argv.back(), "pool");
    auto r = parse_filesystem_listing(rec::kOpenzfsFilesystemListing, props.size());
    ASSERT_TRUE(r) << r.error().context();
    ASSERT_EQ(r->size(), 4u);
    EXPECT_EQ((*r)[2], (FilesystemListEntry{"pool/backups/client one", {"on", "aes-256-gcm"}}));
    auto bad = parse_filesystem_listing("pool\toff\n", 2);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().context().find("line 1: expected 3"), std::string::npos) << bad.error().context();
    EXPECT_FALSE(parse_filesystem_listing("\tx\n", 1)) << "an empty name is refused";
    EXPECT_EQ(parse_filesystem_listing("pool\n", 0).value().front().name, "pool");
}

TEST(FilesystemListing, ParsesTheZfsFuseListingWithoutP) {
    const std::vector<std::string> props = {"zrepl:placeholder"};
    auto argv = list_filesystems_argv(props, "zprobe", false);
    EXPECT_EQ(std::count(argv.begin(), argv.end(), "-p"), 0) << "zfs-fuse refuses list -p";
    auto r = parse_filesystem_listing(rec::kZfsFuseFilesystemListing, props.size());
    ASSERT_TRUE(r) << r.error().context();
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[2], (FilesystemListEntry{"zprobe/a/child", {"-"}})) << "an unset user property prints '-'";
}

TEST(Properties, ReceiveResumeTokenDashMeansNone) {
    EXPECT_FALSE(receive_resume_token_value("-"));
    EXPECT_FALSE(receive_resume_token_value(""));
    EXPECT_EQ(receive_resume_token_value("1-abc-10-00"), "1-abc-10-00");
}

TEST(Properties, ParsesValuesAndSources) {
    const std::vector<std::string> req = {"zrepl:placeholder", "encryption"};
    auto r = parse_properties(rec::kOpenzfsPropertiesGet, req);
    ASSERT_TRUE(r) << r.error().context();
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0].name, "pool/backups");
    EXPECT_EQ((*r)[0].find("zrepl:placeholder")->source, PropertySource::local);
    EXPECT_EQ((*r)[0].find("encryption")->source, PropertySource::default_value);
    const auto* inh = (*r)[1].find("zrepl:placeholder");
    EXPECT_EQ(inh->source, PropertySource::inherited);
    EXPECT_EQ(inh->inherited_from, "pool/backups");
    EXPECT_EQ((*r)[1].find("encryption")->source, PropertySource::none);
    EXPECT_EQ((*r)[2].find("zrepl:placeholder")->source, PropertySource::received);
    EXPECT_EQ((*r)[2].find("encryption")->source, PropertySource::temporary);
    EXPECT_EQ((*r)[1].find("zrepl:placeholder", static_cast<unsigned>(PropertySource::local)), nullptr)
        << "the source mask filters an inherited value out";
}

TEST(Properties, RefusesDuplicateMissingUnrequestedAndMalformed) {
    const std::vector<std::string> req = {"guid", "createtxg"};
    struct Case {
        std::string text, why;
    };
    const Case cases[] = {
        {"p\tguid\t1\t-\np\tguid\t1\t-\np\tcreatetxg\t2\t-\n", "appears twice"},
        {"p\tguid\t1\t-\n", "lacks requested property 'createtxg' of p"},
        {"p\tused\t1\t-\n", "'used' was not requested"},
        {"p\tguid\t1\n", "expected 4 TAB-separated fields"},
        {"p\tguid\t1\tsomewhere\n", "unknown property source"},
    };
    for (const auto& c : cases) {
        auto r = parse_properties(c.text, req);
        ASSERT_FALSE(r) << "'" << c.text << "' should be refused";
        EXPECT_NE(r.error().context().find(c.why), std::string::npos)
            << "refusal of '" << c.text << "' should mention '" << c.why
            << "' but says: " << r.error().context();
    }
}

TEST(Properties, ArgvAsksForTheFourColumns) {
    const std::vector<std::string> props = {"guid", "createtxg"};
    const std::vector<std::string> want = {
        "get", "-Hp", "-o", "name,property,value,source", "-r", "-d", "1", "guid,createtxg", "pool/a"};
    EXPECT_EQ(get_properties_argv(props, "pool/a", true, 1), want);
}

TEST(Placeholder, OnlyALocalOnOrLegacyHashCounts) {
    const std::vector<std::string> req = {"zrepl:placeholder", "encryption"};
    auto r = parse_properties(rec::kOpenzfsPropertiesGet, req).value();
    EXPECT_TRUE(is_placeholder(r[0])) << "local 'on' is a placeholder";
    EXPECT_FALSE(is_placeholder(r[1])) << "an inherited 'on' is not";
    EXPECT_FALSE(is_placeholder(r[2])) << "'off' is not";
    auto fuse = parse_properties(rec::kZfsFusePropertiesGet, {}).value();
    EXPECT_FALSE(is_placeholder(fuse[0])) << "an unset property ('-', source '-') is not";

    const std::string legacy = legacy_placeholder_value("pool/backups/c1");
    EXPECT_EQ(legacy.size(), 64u);
    EXPECT_TRUE(is_placeholder_value(legacy, "pool/backups/c1")) << "zrepl 0.0.x wrote the path's hash";
    EXPECT_FALSE(is_placeholder_value(legacy, "pool/backups/c2"))
        << "the hash of another path does not count";
}

TEST(Sha512_256, MatchesTheFipsVectors) {
    EXPECT_EQ(sha512_256_hex("abc"), "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
    EXPECT_EQ(sha512_256_hex(""), "c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a");
    EXPECT_EQ(sha512_256_hex(
                  "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlm"
                  "nopqrsmnopqrstnopqrstu"),
              "3928e184fb8690f840da3988121d31be65cb9d3ef83ee6146feac861e19b563a");
}

TEST(Holds, ParsesOpenzfsHolds) {
    auto r = parse_holds(rec::kOpenzfsHolds);
    ASSERT_TRUE(r) << r.error().context();
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[1], (Hold{"pool/data@s1", "zrepl_last_received_J_sink job", "Tue Nov 24 02:11 2026"}));
    EXPECT_TRUE(parse_holds("").value().empty()) << "a snapshot without holds prints nothing";
    EXPECT_FALSE(parse_holds(rec::kZfsFuseHoldsPyzfs)) << "zfs-fuse's error text is not a listing";
    EXPECT_FALSE(parse_holds("pool/a\ttag\tdate\n")) << "a hold is on a snapshot";
    EXPECT_EQ(holds_argv("p@s"), (std::vector<std::string>{"holds", "-H", "p@s"}));
}

TEST(DrySendInfo, ParsesEveryVector) {
    auto cases = test::load_cases("dry_send_info.json");
    ASSERT_FALSE(cases.empty());
    for (const auto& c : cases) {
        const auto& o = c.as_object();
        const auto id = test::str(o.at("id"));
        const auto& e = o.at("expect").as_object();
        auto r = parse_dry_send_info(test::str(o.at("zfs_output")));
        if (e.contains("error")) {
            EXPECT_FALSE(r) << id << " has no info line and should be refused";
            continue;
        }
        ASSERT_TRUE(r) << id << " should parse but: " << r.error().context();
        DrySendInfo want;
        want.type =
            test::str(e.at("type")) == "full" ? DrySendInfo::Type::full : DrySendInfo::Type::incremental;
        want.filesystem = test::str(e.at("filesystem"));
        want.from = test::str(e.at("from"));
        want.to = test::str(e.at("to"));
        want.size_estimate = e.at("size_estimate").to_number<std::uint64_t>();
        EXPECT_EQ(*r, want) << id << " parsed to different fields";
    }
}

TEST(DrySendInfo, TreatsAbsurdEstimatesAsUnknownAndOverflowAsError) {
    auto r = parse_dry_send_info("full\tp/a@s\t9223372036854775807\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->size_estimate, 0u) << "estimates at the threshold are reported as 0";
    EXPECT_EQ(parse_dry_send_info("full\tp/a@s\t100\n", 50).value().size_estimate, 0u);
    EXPECT_FALSE(parse_dry_send_info("full\tp/a@s\t99999999999999999999\n"))
        << "a size beyond 64 bits is an error";
    EXPECT_FALSE(parse_dry_send_info(rec::kZfsFuseInvalidOptionN))
        << "zfs-fuse's refusal of -n has no info line";
}

TEST(DrySendInfo, AnIncrementalPackageHasOneLinePerSnapshot) {
    // OpenZFS 2.2 `send -nvP -I @s1 p/a@s4` (short `from` names as some versions print them).
    auto r = parse_dry_send_infos(
        "incremental\ts1\tp/a@s2\t323\nincremental\ts2\tp/a@s3\t9223372036854775807\n"
        "incremental\tp/a@s3\tp/a@s4\t321\nsize\t966\n");
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0].from, "s1");
    EXPECT_EQ((*r)[0].to, "p/a@s2");
    EXPECT_EQ((*r)[0].size_estimate, 323u);
    EXPECT_EQ((*r)[1].size_estimate, 0u) << "an absurd estimate is unknown";
    EXPECT_EQ((*r)[2].from, "p/a@s3");
    EXPECT_EQ((*r)[2].size_estimate, 321u);
    auto overflow =
        parse_dry_send_infos("incremental\ts1\tp/a@s2\t1\nincremental\ts2\tp/a@s3\t99999999999999999999\n");
    ASSERT_FALSE(overflow);
    EXPECT_NE(overflow.error().message().find("line 2"), std::string::npos) << overflow.error().message();
    EXPECT_FALSE(parse_dry_send_infos("size\t966\n")) << "no estimate line";
}

}  // namespace
}  // namespace zferry::zfs
