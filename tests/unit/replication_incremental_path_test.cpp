// The incremental path and its conflicts: every incremental_path.json case as its own test,
// then what the conflict messages must tell an operator.
#include "replication/logic/incremental_path.hpp"

#include "tests/unit/replication_vectors.hpp"

#include <gtest/gtest.h>

namespace zferry::replication {
namespace {

using test::str;
using test::version;
using test::versions;
using test::versions_from_json;

ConflictKind conflict_kind(const std::string& s) {
    for (auto k : {ConflictKind::no_sender_snapshots, ConflictKind::no_common_ancestor,
                   ConflictKind::diverged, ConflictKind::most_recent_snapshot_already_present})
        if (to_string(k) == s) return k;
    throw std::runtime_error("unknown conflict kind " + s);
}

class IncrementalPathVector : public ::testing::TestWithParam<test::VectorCase> {};

TEST_P(IncrementalPathVector, MatchesZrepl) {
    const auto& c = GetParam().json;
    const auto receiver = versions_from_json(c.at("receiver"));
    const auto sender = versions_from_json(c.at("sender"));
    const auto& e = c.at("expect").as_object();
    const auto result = incremental_path(receiver, sender);
    SCOPED_TRACE("receiver '" + str(c.at("receiver_notation")) + "' sender '" + str(c.at("sender_notation")) +
                 "'");
    if (e.contains("incremental_path")) {
        ASSERT_TRUE(std::holds_alternative<std::vector<zfs::FilesystemVersion>>(result))
            << std::get<Conflict>(result);
        EXPECT_EQ(std::get<0>(result), versions_from_json(e.at("incremental_path")));
        return;
    }
    ASSERT_TRUE(std::holds_alternative<Conflict>(result))
        << "expected conflict " << str(e.at("conflict")) << ", got a path of " << std::get<0>(result).size()
        << " versions";
    const auto& conflict = std::get<Conflict>(result);
    Conflict expected;
    expected.kind = conflict_kind(str(e.at("conflict")));
    if (e.contains("sorted_sender_versions"))
        expected.sorted_sender_versions = versions_from_json(e.at("sorted_sender_versions"));
    if (e.contains("sorted_receiver_versions"))
        expected.sorted_receiver_versions = versions_from_json(e.at("sorted_receiver_versions"));
    if (e.contains("common_ancestor"))
        expected.common_ancestor = test::version_from_json(e.at("common_ancestor"));
    if (e.contains("sender_only")) expected.sender_only = versions_from_json(e.at("sender_only"));
    if (e.contains("receiver_only")) expected.receiver_only = versions_from_json(e.at("receiver_only"));
    EXPECT_EQ(conflict, expected) << "got " << conflict;
}

INSTANTIATE_TEST_SUITE_P(Vectors, IncrementalPathVector,
                         ::testing::ValuesIn(test::vector_cases("incremental_path.json")),
                         [](const auto& info) { return test::case_name(info.param); });

Conflict conflict_of(const std::string& receiver, const std::string& sender) {
    auto r = incremental_path(versions(receiver), versions(sender));
    if (!std::holds_alternative<Conflict>(r)) throw std::runtime_error("expected a conflict");
    return std::get<Conflict>(r);
}

TEST(IncrementalPath, ReceiverBookmarksAreNeitherSourceNorObstacle) {
    // zrepl's "receiver bookmarks ignored": a receiver that only has a bookmark of the
    // sender's snapshot shares nothing usable with it.
    auto c = conflict_of("#a,1", "@a,1 @b,2");
    EXPECT_EQ(c.kind, ConflictKind::no_common_ancestor);
    EXPECT_TRUE(c.sorted_receiver_versions.empty()) << "receiver bookmarks are stripped";
}

TEST(IncrementalPath, NoSenderSnapshotsWhateverTheReceiverHas) {
    EXPECT_EQ(conflict_of("@a,1", "").kind, ConflictKind::no_sender_snapshots);
}

TEST(IncrementalPath, IntermediateBookmarksAreSkipped) {
    auto r = incremental_path(versions("@a,1"), versions("@a,1 #b,2 @c,3 #d,4 @e,5"));
    ASSERT_TRUE(std::holds_alternative<std::vector<zfs::FilesystemVersion>>(r));
    EXPECT_EQ(std::get<0>(r), versions("@a,1 @c,3 @e,5"));
}

TEST(IncrementalPath, DivergedAfterTheCommonBookmark) {
    auto c = conflict_of("@a,1 @x,5", "#a,1 @b,2");
    EXPECT_EQ(c.kind, ConflictKind::diverged);
    EXPECT_EQ(c.common_ancestor, version("#a,1"));
    EXPECT_EQ(c.sender_only, versions("@b,2"));
    EXPECT_EQ(c.receiver_only, versions("@x,5"));
}

TEST(ConflictMessage, ListsWhatEachSideHas) {
    const auto diverged = conflict_of("@a,1 @b1,2", "@a,1 @b2,3").message();
    EXPECT_EQ(diverged,
              "the receiver's latest snapshot is not present on sender:\n"
              "  last common: @a\n"
              "  sender-only:\n"
              "    @b2\n"
              "  receiver-only:\n"
              "    @b1\n");
    const auto none = conflict_of("@x,7", "#a,1 @b,2").message();
    EXPECT_EQ(none,
              "no common snapshot or suitable bookmark between sender and receiver:\n"
              "  sorted sender versions:\n"
              "    #a\n"
              "    @b\n"
              "  sorted receiver versions:\n"
              "    @x\n");
    EXPECT_EQ(conflict_of("@a,1 @b,2", "@a,1 @b,2").message(),
              "the most recent sender snapshot is already present on the receiver (guid=2, name=\"@b\")");
    EXPECT_EQ(conflict_of("", "").message(), "no snapshots available on sender side");
}

TEST(SortVersions, CreatetxgThenBookmarkBeforeSnapshot) {
    auto v = versions("@c,3 @a,1 #c,3 #a,1");
    sort_versions(v);
    EXPECT_EQ(v, versions("#a,1 @a,1 #c,3 @c,3"));
}

}  // namespace
}  // namespace zferry::replication
