// The sending endpoint on zfs-sim: the job's filter guards every request, sends are validated
// against the live dataset, and each guarantee leaves zrepl's holds and bookmarks: step holds
// during a step, the cursor moved on SendCompleted, tentative cursors for
// guarantee_incremental, stale abstractions of earlier steps released.
#include "replication/endpoint/local_sender.hpp"

#include "replication/endpoint/abstractions.hpp"
#include "tests/integration/test_support.hpp"
#include "tests/integration/zfs_sim_fixture.hpp"
#include "zfs/listing_ops.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <unistd.h>

#include <filesystem>

namespace zferry::replication {
namespace {

namespace fs = std::filesystem;

class LocalSenderTest : public test::ZfsSimFixture {
protected:
    LocalSenderTest() : ZfsSimFixture("zferry-sender") {}
    void SetUp() override {
        ZfsSimFixture::SetUp();
        runner_ = runner("state");
        sh("sim-create-pool p && $Z create p/a && $Z create p/other && "
           "for s in s1 s2 s3; do printf $s | $Z sim-write p/a && $Z snapshot p/a@$s || exit 1; done && "
           "$Z snapshot p/other@x");
        SenderConfig c{*JobId::make("job"), {}, {}};
        ASSERT_TRUE(c.filesystems.add("p/a", true).has_value());
        sender_ = std::make_unique<LocalSender>(*runner_, std::move(c), Logger());
    }
    void TearDown() override {
        sender_.reset();
        runner_.reset();
        ZfsSimFixture::TearDown();
    }
    // zfs-sim commands on the one host.
    void sh(const std::string& cmds) { ZfsSimFixture::sh("state", cmds); }
    template <class T>
    T run(boost::asio::awaitable<T> a) {
        return test::run(ctx_, std::move(a));
    }
    zfs::FilesystemVersion v(const std::string& fs, const std::string& name) {
        auto vs = run(zfs::list_versions(*runner_, fs));
        EXPECT_TRUE(vs.has_value());
        for (const auto& x : *vs)
            if (x.name == name) return x;
        ADD_FAILURE() << "no " << fs << "@" << name;
        return {};
    }
    // The job's abstractions on p/a, one per line: "step-hold p/a@s1".
    std::string abstractions() {
        auto a = run(list_abstractions_of(*runner_, "p/a", *JobId::make("job")));
        EXPECT_TRUE(a.has_value()) << a.error().message();
        std::vector<std::string> lines;
        for (const auto& x : *a)
            lines.push_back(std::string(to_string(x.type)) + " " + x.version.full_name());
        std::sort(lines.begin(), lines.end());
        std::string out;
        for (const auto& l : lines) out += l + "\n";
        return out;
    }
    // Reads the stream to its end and finishes the send.
    void drain(SendReply& reply) {
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(reply.stream.fd(), buf, sizeof buf);
            if (n > 0) continue;
            if (n == 0) break;
            ASSERT_EQ(errno, EAGAIN);
            pollfd p{reply.stream.fd(), POLLIN, 0};
            ::poll(&p, 1, 5000);
        }
        auto r = run(reply.stream.finish());
        ASSERT_TRUE(r.has_value()) << r.error().message();
    }
    StepRequest step(std::optional<std::string> from, const std::string& to, GuaranteeKind kind) {
        StepRequest r;
        r.filesystem = "p/a";
        if (from) r.from = v("p/a", *from);
        r.to = v("p/a", to);
        r.protection = {kind, kind};
        return r;
    }
    std::string cursor_name(const std::string& snap) {
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(v("p/a", snap).guid));
        return std::string("p/a#zrepl_CURSOR_G_") + hex + "_J_job";
    }

    std::unique_ptr<zfs::ZfsRunner> runner_;
    std::unique_ptr<LocalSender> sender_;
};

TEST_F(LocalSenderTest, ResumabilityHoldsDuringTheStepAndTheCursorMovesOnCompletion) {
    auto full = step(std::nullopt, "s1", GuaranteeKind::resumability);
    auto reply = run(sender_->send(full));
    ASSERT_TRUE(reply.has_value()) << reply.error().message();
    EXPECT_FALSE(reply->used_resume_token);
    EXPECT_EQ(abstractions(), "step-hold p/a@s1\n");
    drain(*reply);
    ASSERT_TRUE(run(sender_->send_completed(full)).has_value());
    EXPECT_EQ(abstractions(), "replication-cursor-bookmark-v2 " + cursor_name("s1") + "\n");

    auto inc = step("s1", "s2", GuaranteeKind::resumability);
    reply = run(sender_->send(inc));
    ASSERT_TRUE(reply.has_value()) << reply.error().message();
    EXPECT_EQ(abstractions(), "replication-cursor-bookmark-v2 " + cursor_name("s1") +
                                  "\nstep-hold p/a@s1\nstep-hold p/a@s2\n");
    drain(*reply);
    ASSERT_TRUE(run(sender_->send_completed(inc)).has_value());
    EXPECT_EQ(abstractions(), "replication-cursor-bookmark-v2 " + cursor_name("s2") + "\n");
    auto cursor = run(sender_->replication_cursor("p/a"));
    ASSERT_TRUE(cursor.has_value());
    EXPECT_EQ(*cursor, v("p/a", "s2").guid);

    // A repeated confirmation (its first answer was lost) changes nothing.
    ASSERT_TRUE(run(sender_->send_completed(inc)).has_value());
    EXPECT_EQ(abstractions(), "replication-cursor-bookmark-v2 " + cursor_name("s2") + "\n");
}

TEST_F(LocalSenderTest, IncrementalGuaranteeUsesTentativeCursors) {
    auto full = step(std::nullopt, "s1", GuaranteeKind::incremental);
    auto reply = run(sender_->send(full));
    ASSERT_TRUE(reply.has_value()) << reply.error().message();
    EXPECT_NE(abstractions().find("tentative-replication-cursor-bookmark-v2 p/a#zrepl_CURSORTENTATIVE__G_"),
              std::string::npos)
        << abstractions();
    drain(*reply);
    ASSERT_TRUE(run(sender_->send_completed(full)).has_value());
    EXPECT_EQ(abstractions(), "replication-cursor-bookmark-v2 " + cursor_name("s1") + "\n");
}

TEST_F(LocalSenderTest, StaleStepHoldsOfEarlierStepsAreReleased) {
    sh("hold zrepl_STEP_J_job p/a@s1 && $Z hold zrepl_STEP_J_other p/a@s1");  // a failed earlier step
    auto inc = step("s2", "s3", GuaranteeKind::resumability);
    auto reply = run(sender_->send(inc));
    ASSERT_TRUE(reply.has_value()) << reply.error().message();
    EXPECT_EQ(abstractions(), "step-hold p/a@s2\nstep-hold p/a@s3\n");
    drain(*reply);
    EXPECT_EQ(v("p/a", "s1").userrefs, 1u) << "another job's hold stays";
}

TEST_F(LocalSenderTest, NothingOutsideTheFilterAndNoForgedVersions) {
    auto list = run(sender_->list_filesystems());
    ASSERT_TRUE(list.has_value());
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ(list->at(0).path, "p/a");
    auto other = run(sender_->list_versions("p/other"));
    ASSERT_FALSE(other.has_value());
    EXPECT_NE(other.error().message().find("endpoint does not allow access to filesystem p/other"),
              std::string::npos);
    EXPECT_FALSE(other.error().temporary());

    StepRequest forged;
    forged.filesystem = "p/other";
    forged.to = v("p/other", "x");
    auto sent = run(sender_->send(forged));
    ASSERT_FALSE(sent.has_value());
    EXPECT_NE(sent.error().message().find("does not allow access"), std::string::npos);

    auto wrong_guid = step(std::nullopt, "s1", GuaranteeKind::resumability);
    wrong_guid.to.guid ^= 1;
    sent = run(sender_->send(wrong_guid));
    ASSERT_FALSE(sent.has_value());
    EXPECT_EQ(sent.error().code(), Errc::invalid_argument) << sent.error().message();
    EXPECT_EQ(abstractions(), "") << "a refused request leaves nothing behind";
}

TEST_F(LocalSenderTest, DestroysOnlySnapshotsInsideTheFilterAndReportsEachOne) {
    sh("hold keep p/a@s2");
    const auto s1 = v("p/a", "s1"), s2 = v("p/a", "s2"), s3 = v("p/a", "s3");
    auto gone = s1;
    gone.name = "never-existed";
    auto r = run(sender_->destroy_snapshots("p/a", {s1, s2, gone}));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0], (DestroySnapshotResult{s1, ""}));
    EXPECT_EQ((*r)[1].snapshot, s2);
    EXPECT_NE((*r)[1].error, "") << "held: zfs's reason";
    EXPECT_EQ((*r)[2], (DestroySnapshotResult{gone, ""})) << "absent is gone";
    auto left = run(zfs::list_versions(*runner_, "p/a"));
    ASSERT_TRUE(left.has_value());
    std::vector<std::string> names;
    for (const auto& x : *left) names.push_back(x.name);
    EXPECT_EQ(names, (std::vector<std::string>{"s2", "s3"}));

    auto bookmark = s3;
    bookmark.type = zfs::VersionType::bookmark;
    auto refused = run(sender_->destroy_snapshots("p/a", {s3, bookmark}));
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code(), Errc::invalid_argument) << refused.error().message();
    EXPECT_EQ(v("p/a", "s3").guid, s3.guid) << "a refused request destroys nothing";

    auto outside = run(sender_->destroy_snapshots("p/other", {v("p/other", "x")}));
    ASSERT_FALSE(outside.has_value());
    EXPECT_NE(outside.error().message().find("does not allow access to filesystem p/other"),
              std::string::npos);
    EXPECT_NE(v("p/other", "x").guid, 0u) << "still there";
}

}  // namespace
}  // namespace zferry::replication
