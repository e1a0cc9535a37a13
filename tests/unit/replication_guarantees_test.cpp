// The replication guarantees as actions: what the sender does before a send and on
// SendCompleted, what the receiver does after a receive, and what is stale. Each case prints
// its actions, so a failure reads as a sentence.
#include "replication/logic/guarantees.hpp"

#include <gtest/gtest.h>

#include <iomanip>
#include <sstream>

namespace zferry::replication {
namespace {

zfs::FilesystemVersion snap(const std::string& name, std::uint64_t guid, std::uint64_t txg) {
    return {zfs::VersionType::snapshot, "pool/fs", name, guid, txg, 0, std::nullopt};
}
zfs::FilesystemVersion bookmark(const std::string& name, std::uint64_t guid, std::uint64_t txg) {
    return {zfs::VersionType::bookmark, "pool/fs", name, guid, txg, 0, std::nullopt};
}
Abstraction step_hold(const zfs::FilesystemVersion& v, const std::string& job = "job") {
    return {AbstractionType::step_hold, v, "zrepl_STEP_J_" + job};
}
Abstraction last_received(const zfs::FilesystemVersion& v, const std::string& job = "job") {
    return {AbstractionType::last_received_hold, v, "zrepl_last_received_J_" + job};
}
Abstraction cursor(std::uint64_t guid, std::uint64_t txg) {
    std::ostringstream name;
    name << "zrepl_CURSOR_G_" << std::hex << std::setw(16) << std::setfill('0') << guid << "_J_job";
    return {AbstractionType::replication_cursor_bookmark_v2, bookmark(name.str(), guid, txg), ""};
}
Abstraction tentative(std::uint64_t guid, std::uint64_t txg) {
    std::ostringstream name;
    name << "zrepl_CURSORTENTATIVE__G_" << std::hex << std::setw(16) << std::setfill('0') << guid << "_J_job";
    return {AbstractionType::tentative_replication_cursor_bookmark_v2, bookmark(name.str(), guid, txg), ""};
}

std::string text(const Result<std::vector<AbstractionAction>>& r) {
    if (!r) return "error: " + r.error().message();
    std::ostringstream os;
    for (const auto& a : *r) os << a << "; ";
    return os.str();
}

const JobId kJob = *JobId::make("job");
const auto s1 = snap("s1", 0x11, 10), s2 = snap("s2", 0x22, 20), s3 = snap("s3", 0x33, 30);

TEST(Guarantees, KindsParseAsZreplSpellsThem) {
    EXPECT_EQ(parse_guarantee_kind("guarantee_resumability"), GuaranteeKind::resumability);
    EXPECT_EQ(parse_guarantee_kind("guarantee_incremental"), GuaranteeKind::incremental);
    EXPECT_EQ(parse_guarantee_kind("guarantee_nothing"), GuaranteeKind::nothing);
    EXPECT_EQ(parse_guarantee_kind("resumability"), std::nullopt);
    Protection p{GuaranteeKind::nothing, GuaranteeKind::incremental};
    EXPECT_EQ(p.for_step(false), GuaranteeKind::nothing);
    EXPECT_EQ(p.for_step(true), GuaranteeKind::incremental);
}

TEST(Guarantees, SenderPreSend) {
    struct Case {
        const char* what;
        GuaranteeKind kind;
        std::optional<zfs::FilesystemVersion> from;
        const char* expect;
    };
    const std::vector<Case> cases = {
        {"resumability: one hold call on both ends", GuaranteeKind::resumability, s1,
         "hold zrepl_STEP_J_job on pool/fs@s1, pool/fs@s2; "},
        {"resumability, full send: only `to`", GuaranteeKind::resumability, std::nullopt,
         "hold zrepl_STEP_J_job on pool/fs@s2; "},
        {"resumability from a bookmark: bookmarks cannot be held", GuaranteeKind::resumability,
         bookmark("b1", 0x11, 10), "hold zrepl_STEP_J_job on pool/fs@s2; "},
        {"incremental: tentative cursors on both", GuaranteeKind::incremental, s1,
         "bookmark pool/fs@s1 as pool/fs#zrepl_CURSORTENTATIVE__G_0000000000000011_J_job; "
         "bookmark pool/fs@s2 as pool/fs#zrepl_CURSORTENTATIVE__G_0000000000000022_J_job; "},
        {"incremental from a bookmark: no bookmark of a bookmark", GuaranteeKind::incremental,
         bookmark("b1", 0x11, 10),
         "bookmark pool/fs@s2 as pool/fs#zrepl_CURSORTENTATIVE__G_0000000000000022_J_job; "},
        {"nothing", GuaranteeKind::nothing, s1, ""},
    };
    for (const auto& c : cases)
        EXPECT_EQ(text(sender_pre_send(c.kind, kJob, c.from, s2)), c.expect) << c.what;
    EXPECT_NE(text(sender_pre_send(GuaranteeKind::resumability, kJob, s1, bookmark("b2", 2, 20)))
                  .find("not a snapshot"),
              std::string::npos);
}

TEST(Guarantees, SenderStaleAfterSendKeepsWhatTheStepUses) {
    const std::vector<Abstraction> existing = {
        step_hold(s1),                  // the step's own `from`: kept
        step_hold(s2),                  // the step's own `to`: kept
        step_hold(snap("s0", 0x1, 5)),  // an earlier step's: stale
        step_hold(s3, "other"),         // another job's hold: never this job's to release
        tentative(0x1, 5),              // stale
    };
    EXPECT_EQ(text(sender_stale_after_send(GuaranteeKind::resumability, kJob, s1, s2, existing)),
              "release zrepl_STEP_J_job from pool/fs@s0; destroy "
              "pool/fs#zrepl_CURSORTENTATIVE__G_0000000000000001_J_job; ");
    // Sending from a tentative cursor: that bookmark is `from` and stays.
    const auto from_bm = tentative(0x11, 10);
    EXPECT_EQ(text(sender_stale_after_send(GuaranteeKind::incremental, kJob, from_bm.version, s2, {from_bm})),
              "");
}

TEST(Guarantees, SendCompletedMovesTheCursorThenCleansUp) {
    const std::vector<Abstraction> existing = {step_hold(s1), step_hold(s2), tentative(0x22, 20),
                                               cursor(0x11, 10)};
    EXPECT_EQ(text(sender_send_completed(GuaranteeKind::resumability, kJob, s2, existing)),
              "bookmark pool/fs@s2 as pool/fs#zrepl_CURSOR_G_0000000000000022_J_job; "
              "release zrepl_STEP_J_job from pool/fs@s1, pool/fs@s2; "
              "destroy pool/fs#zrepl_CURSORTENTATIVE__G_0000000000000022_J_job, "
              "pool/fs#zrepl_CURSOR_G_0000000000000011_J_job; ");
    // SendCompleted repeated (the first answer was lost): the cursor exists, nothing is created twice.
    EXPECT_EQ(text(sender_send_completed(GuaranteeKind::resumability, kJob, s2, {cursor(0x22, 20)})), "");
    // A newer cursor (another run got further) is not removed by a late SendCompleted.
    EXPECT_EQ(text(sender_send_completed(GuaranteeKind::resumability, kJob, s2, {cursor(0x33, 30)})),
              "bookmark pool/fs@s2 as pool/fs#zrepl_CURSOR_G_0000000000000022_J_job; ");
    // guarantee_nothing makes no cursor but still removes what earlier steps left.
    EXPECT_EQ(text(sender_send_completed(GuaranteeKind::nothing, kJob, s2,
                                         {step_hold(s1), step_hold(s1, "other")})),
              "release zrepl_STEP_J_job from pool/fs@s1; ");
}

TEST(Guarantees, ReceiverMovesTheLastReceivedHold) {
    EXPECT_EQ(
        text(receiver_post_recv(GuaranteeKind::resumability, kJob, s2, {last_received(s1)})),
        "hold zrepl_last_received_J_job on pool/fs@s2; release zrepl_last_received_J_job from pool/fs@s1; ");
    EXPECT_EQ(text(receiver_post_recv(GuaranteeKind::incremental, kJob, s2, {last_received(s2)})), "")
        << "already held (a repeated receive confirmation)";
    EXPECT_EQ(text(receiver_post_recv(GuaranteeKind::resumability, kJob, s2, {last_received(s1, "other")})),
              "hold zrepl_last_received_J_job on pool/fs@s2; ")
        << "another job's hold is not ours to release";
    EXPECT_EQ(text(receiver_post_recv(GuaranteeKind::nothing, kJob, s2, {last_received(s1)})), "");
}

TEST(Guarantees, StaleAbstractionsAsReleaseStaleSeesThem) {
    const auto h1 = step_hold(s1), h3 = step_hold(s3), c1 = cursor(0x11, 10), c2 = cursor(0x22, 20);
    const auto r1 = last_received(s1), r2 = last_received(s2), t = tentative(0x33, 30);
    const Abstraction v1{AbstractionType::replication_cursor_bookmark_v1,
                         bookmark("zrepl_replication_cursor", 1, 1), ""};
    auto stale = stale_abstractions({h1, h3, c1, c2, r1, r2, t, v1});
    EXPECT_EQ(stale, (std::vector<Abstraction>{h1, c1, r1}))
        << "step holds at or before the newest cursor, all but the newest cursor and last-received hold; "
           "tentative cursors and the v1 cursor are live";
    EXPECT_EQ(stale_abstractions({h1, h3}), (std::vector<Abstraction>{h1}))
        << "no cursor: all but the newest step hold";
}

}  // namespace
}  // namespace zferry::replication
