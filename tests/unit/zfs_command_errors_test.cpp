// Classification of zfs error output (reference §5.5): what makes hold, release, destroy,
// bookmark and `recv -A` idempotent, and what a failed receive means.
#include "zfs/command_errors.hpp"

#include "tests/unit/zfs_recorded_outputs.hpp"

#include <gtest/gtest.h>

namespace zferry::zfs {
namespace {

namespace rec = test::recorded;

TEST(CommandErrors, HoldOfAnExistingTagIsRecognised) {
    EXPECT_TRUE(is_hold_tag_exists(rec::kHoldTagExists));
    EXPECT_TRUE(is_hold_tag_exists(rec::kZfsFuseHoldTagExists));
    EXPECT_FALSE(is_hold_tag_exists(rec::kZfsFuseOpenMissing)) << "a missing snapshot is a real failure";
}

TEST(CommandErrors, ReleaseIgnoresOnlyMissingTagLines) {
    EXPECT_TRUE(release_unexpected_lines(rec::kReleaseNoSuchTag).empty());
    EXPECT_TRUE(release_unexpected_lines(rec::kZfsFuseReleaseNoSuchTag).empty());
    const std::string mixed =
        std::string(rec::kReleaseNoSuchTag) + std::string(rec::kZfsFuseOpenMissing) + "\n";
    const std::vector<std::string> want = {"cannot open 'srcpool/nonexist': dataset does not exist"};
    EXPECT_EQ(release_unexpected_lines(mixed), want)
        << "the missing dataset is reported, the missing tag is not";
}

TEST(CommandErrors, DatasetNotFoundNamesThePath) {
    EXPECT_EQ(dataset_not_found_path(rec::kZfsFuseOpenMissing), "srcpool/nonexist");
    EXPECT_EQ(dataset_not_found_path(rec::kOpenzfsOpenNoPool), "nopool/x");
    EXPECT_TRUE(is_dataset_not_found(rec::kZfsFuseGetMissing, "zprobe/nonexist"))
        << "zfs get of a missing dataset";
    EXPECT_TRUE(is_dataset_not_found(rec::kOpenzfsOpenNoPool, "nopool/x"));
    EXPECT_FALSE(is_dataset_not_found(rec::kOpenzfsOpenNoPool, "nopool/y")) << "another path is not ours";
    EXPECT_FALSE(dataset_not_found_path(rec::kZfsFuseDestroyCommaList))
        << "'invalid dataset name' is not 'missing'";
}

TEST(CommandErrors, DestroyClassification) {
    struct Case {
        std::string arg;
        std::string_view output;
        DestroyFailure::Kind kind;
        std::vector<UndestroyableSnapshot> snaps;
        const char* what;
    };
    using K = DestroyFailure::Kind;
    const Case cases[] = {
        {"pool/data@a,b", rec::kDestroyNoSnapshots, K::not_exists, {}, "no snapshot of the list exists"},
        {"pool/data#b1", "bookmark 'pool/data#b1' does not exist\n", K::not_exists, {}, "a missing bookmark"},
        {"srcpool/nonexist", rec::kZfsFuseOpenMissing, K::not_exists, {}, "a missing filesystem"},
        {"pool/data@s1,s2,s3",
         rec::kDestroyBatchHeldOld,
         K::undestroyable,
         {{"s1", "dataset is busy", true}, {"s3", "dataset is busy", true}},
         "a batch with held snapshots (ZFS < 2.4)"},
        {"pool/data@s1",
         rec::kDestroyHeldNew,
         K::undestroyable,
         {{"s1", "it's being held. Run 'zfs holds -r pool/data@s1' to see holders.", true}},
         "a held snapshot (ZFS >= 2.4)"},
        {"zprobe/a@s1",
         rec::kZfsFuseDestroyHeld,
         K::undestroyable,
         {{"s1", "dataset is busy", true}},
         "a held snapshot on zfs-fuse"},
        {"pool/data@s1",
         "cannot destroy snapshot pool/data@s1: snapshot has dependent clones\n",
         K::undestroyable,
         {{"s1", "snapshot has dependent clones", false}},
         "a snapshot with clones is not 'held'"},
        {"pool/data@s1",
         "cannot destroy snapshot other/fs@s1: dataset is busy\n",
         K::other,
         {},
         "a line about another filesystem makes the whole output unexpected"},
        {"pool/data@s1",
         "cannot destroy snapshot pool/data@s1: dataset is busy\nsomething else\n",
         K::other,
         {},
         "an unexpected line makes the whole output unexpected"},
        {"zprobe/a@s1,s2", rec::kZfsFuseDestroyCommaList, K::other, {}, "zfs-fuse refusing the comma list"},
        {"zprobe/a@nosuch",
         rec::kZfsFuseDestroyMissingSnapshot,
         K::not_exists,
         {},
         "a missing snapshot on zfs-fuse"},
    };
    for (const auto& c : cases) {
        auto f = classify_destroy_failure(c.arg, c.output);
        EXPECT_EQ(f.kind, c.kind) << "destroy of " << c.arg << ": " << c.what;
        EXPECT_EQ(f.snapshots, c.snaps) << "undestroyable snapshots of " << c.arg << ": " << c.what;
    }
}

TEST(CommandErrors, BookmarkExistsAndRecvAbortNothingToDo) {
    EXPECT_TRUE(is_bookmark_exists(rec::kBookmarkExists));
    EXPECT_FALSE(is_bookmark_exists(rec::kZfsFuseBookmarkUnrecognized));
    EXPECT_TRUE(is_recv_abort_nothing_to_abort(rec::kRecvAbortNothing));
    EXPECT_FALSE(is_recv_abort_nothing_to_abort(rec::kOpenzfsOpenNoPool));
}

TEST(CommandErrors, RecvFailureClassification) {
    auto resumable = classify_recv_failure(rec::kRecvResumable);
    EXPECT_EQ(resumable.kind, RecvFailure::Kind::resumable);
    EXPECT_EQ(resumable.resume_token.substr(0, 14), "1-eadabb296-e8") << "the token follows 'zfs send -t'";
    EXPECT_EQ(resumable.resume_token.back(), '1') << "the token ends at the newline";
    EXPECT_EQ(classify_recv_failure(rec::kRecvEncryptedOverwrite).kind,
              RecvFailure::Kind::encrypted_overwrite_refused);
    EXPECT_EQ(classify_recv_failure(rec::kRecvEmptyStdin).kind, RecvFailure::Kind::stream_read_failed);
    EXPECT_EQ(classify_recv_failure(rec::kZfsFuseRecvInvalidStream).kind,
              RecvFailure::Kind::stream_read_failed)
        << "zfs-fuse's words for a stream cut mid-transfer (a connectivity problem)";
    EXPECT_EQ(classify_recv_failure(rec::kZfsFuseRecvBusy).kind, RecvFailure::Kind::dataset_busy)
        << "the target is still held by an earlier receive: free again moments later";
    EXPECT_EQ(classify_recv_failure(rec::kZfsFuseRecvOutOfSpace).kind, RecvFailure::Kind::out_of_space)
        << "a full receiving pool, in zfs-fuse's (and libzfs's) words";
    EXPECT_EQ(classify_recv_failure("cannot receive incremental stream: out of space\n").kind,
              RecvFailure::Kind::out_of_space);
    EXPECT_EQ(
        classify_recv_failure("A resuming stream can be generated on the sending system by running:\n").kind,
        RecvFailure::Kind::other)
        << "the hint without a token is not resumable";
}

TEST(CommandErrors, ZfsFuseRefusalsNameTheOptionOrCommand) {
    EXPECT_EQ(invalid_option(rec::kZfsFuseListInvalidP), "p");
    EXPECT_EQ(unrecognized_command(rec::kZfsFuseBookmarkUnrecognized), "bookmark");
    EXPECT_FALSE(invalid_option(rec::kOpenzfsSendUsage));
    EXPECT_EQ(invalid_property(rec::kZfsFuseBadPropertyEncryption), "encryption")
        << "zfs-fuse has no encryption property: its datasets are unencrypted";
    EXPECT_EQ(invalid_option(rec::kZfsFuseInvalidOptionT), "t");
}

}  // namespace
}  // namespace zferry::zfs
