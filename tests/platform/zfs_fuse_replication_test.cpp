// Whole replication runs (planner, step queue, local endpoints, guarantees) on zfs-fuse:
// initial replication most_recent / all / fail, incrementals coalesced into one `send -I`
// step and zrepl's one step per snapshot, the cursor kept without bookmarks (a hold plus a
// property) and no step hold left behind, requests outside the filter refused, divergence
// reported with both sides' snapshots, a step cancelled mid-stream leaving no zfs child and
// replicated cleanly by the next run, and 1 000 small incremental snapshots in one run.
#include "tests/platform/zfs_fuse_fixture.hpp"

#include "replication/driver/replication.hpp"
#include "replication/endpoint/local_receiver.hpp"
#include "replication/endpoint/local_sender.hpp"
#include "replication/logic/abstraction_names.hpp"
#include "zfs/hold_ops.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>

#include <sys/wait.h>

#include <csignal>
#include <sstream>

namespace zferry::platform {
namespace {

using namespace zferry::replication;

class ZfsFuseReplication : public ZfsFuse {
protected:
    void SetUp() override {
        ZfsFuse::SetUp();
        ::signal(SIGPIPE, SIG_IGN);
        root_ = create(src_fs("root"));
        child_ = create(root_ + "/a");
        sink_ = create(dst_fs("sink"));
    }
    void TearDown() override {
        // Holds keep `destroy -r` from working: release every tag the runs may have set, on
        // the snapshots of this test that are held.
        std::vector<std::string> snaps;
        for (const auto& pool : {env_.src, env_.dst}) {
            std::istringstream in(ok({"list", "-H", "-o", "name,userrefs", "-t", "snapshot", "-r", pool}));
            for (std::string name, refs; in >> name >> refs;)
                if (name.find(name_) != std::string::npos && refs != "0") snaps.push_back(name);
        }
        for (const auto& tag :
             {step_hold_tag(job()), last_received_hold_tag(sink_job()), cursor_hold_tag(job())}) {
            if (snaps.empty()) break;
            auto r = await(zfs::release(*runner_, tag, snaps));
            EXPECT_TRUE(r.has_value()) << r.error().message();
        }
        ZfsFuse::TearDown();
    }
    static JobId job() { return *JobId::make("push"); }
    static JobId sink_job() { return *JobId::make("sink"); }
    std::unique_ptr<LocalSender> sender(zfs::ZfsRunner& r) {
        SenderConfig sc{job(), {}, {}};
        EXPECT_TRUE(sc.filesystems.add(root_ + "<", true).has_value());
        return std::make_unique<LocalSender>(r, std::move(sc), Logger());
    }
    std::unique_ptr<LocalReceiver> receiver() {
        return std::make_unique<LocalReceiver>(
            *runner_,
            ReceiverConfig{sink_job(), sink_, std::nullopt, PlaceholderEncryptionPolicy::inherit, {}},
            Logger());
    }
    // The receiver's name of a sender filesystem.
    std::string target(const std::string& fs) const { return sink_ + "/" + fs; }
    ReplicationRun run(Sender& s, Receiver& r, ReplicationOptions o = {}) {
        ReplicationRun run(s, r, std::move(o), Logger());
        await(run.run());
        return run;
    }
    void snapshots(const std::string& fs, int from, int to) {
        for (int i = from; i <= to; ++i) ok({"snapshot", fs + "@s" + std::to_string(i)});
    }
    std::string snapshot_names(const std::string& fs) {
        std::string out;
        for (const auto& n : names(versions(fs))) out += (out.empty() ? "" : " ") + n;
        return out;
    }
    void expect_same_guids(const std::string& fs) {
        auto src = versions(fs);
        auto dst = versions(target(fs));
        ASSERT_FALSE(dst.empty());
        for (const auto& d : dst) {
            auto it = std::find_if(src.begin(), src.end(), [&](const auto& s) { return s.name == d.name; });
            ASSERT_NE(it, src.end()) << d.name;
            EXPECT_EQ(it->guid, d.guid) << d.name;
        }
    }
    // Snapshots of fs that carry any hold.
    std::string held(const std::string& fs) {
        std::string out;
        for (const auto& v : versions(fs))
            if (v.userrefs.value_or(0) > 0) out += (out.empty() ? "" : " ") + v.name;
        return out;
    }
    static const FilesystemReport& fs_report(const ReplicationRun& r, const std::string& name) {
        for (const auto& f : r.report().attempts.back().filesystems)
            if (f.name == name) return f;
        throw std::runtime_error("no report for " + name);
    }

    std::string root_, child_, sink_;
};

TEST_F(ZfsFuseReplication, InitialMostRecentThenCoalescedThenPerSnapshotSteps) {
    snapshot_with(root_, "s1", {{"f", "one"}});
    snapshot_with(child_, "s1", {{"g", incompressible(200000, 1)}});
    snapshots(child_, 2, 3);
    auto s = sender(*runner_);
    auto r = receiver();
    auto first = run(*s, *r);
    ASSERT_TRUE(first.succeeded()) << to_json(first.report());
    EXPECT_EQ(snapshot_names(target(child_)), "s3") << "most_recent";
    EXPECT_EQ(snapshot_names(target(root_)), "s1");
    expect_same_guids(child_);

    snapshots(child_, 4, 6);
    auto coalesced = run(*s, *r);
    ASSERT_TRUE(coalesced.succeeded()) << to_json(coalesced.report());
    EXPECT_EQ(snapshot_names(target(child_)), "s3 s4 s5 s6");
    ASSERT_EQ(fs_report(coalesced, child_).steps.size(), 1u);
    EXPECT_TRUE(fs_report(coalesced, child_).steps[0].compound);

    snapshots(child_, 7, 9);
    ReplicationOptions per_snapshot;
    per_snapshot.coalesce = false;
    auto single = run(*s, *r, per_snapshot);
    ASSERT_TRUE(single.succeeded()) << to_json(single.report());
    EXPECT_EQ(fs_report(single, child_).steps.size(), 3u);
    EXPECT_EQ(snapshot_names(target(child_)), "s3 s4 s5 s6 s7 s8 s9");
    expect_same_guids(child_);

    // Without bookmarks the cursor is a hold on the last replicated snapshot plus its GUID in
    // a property; no step hold is left, and the receiver holds only its newest snapshot.
    auto cursor = await(s->replication_cursor(child_));
    ASSERT_TRUE(cursor.has_value()) << cursor.error().message();
    ASSERT_TRUE(cursor->has_value());
    EXPECT_EQ(**cursor, versions(child_).back().guid);
    EXPECT_EQ(held(child_), "s9") << "only the cursor's hold";
    EXPECT_EQ(held(target(child_)), "s9") << "only the last-received hold";
    auto root_cursor = await(s->replication_cursor(root_));
    ASSERT_TRUE(root_cursor && root_cursor->has_value());
    EXPECT_EQ(**root_cursor, versions(root_).back().guid) << "each filesystem has its own cursor";
}

TEST_F(ZfsFuseReplication, InitialAllAndFail) {
    snapshots(root_, 1, 1);
    snapshots(child_, 1, 4);
    auto s = sender(*runner_);
    auto r = receiver();
    ReplicationOptions fail;
    fail.initial = InitialReplicationPolicy::fail;
    auto refused = run(*s, *r, fail);
    EXPECT_FALSE(refused.succeeded());
    EXPECT_EQ(refused.report().attempts.size(), 1u);
    ASSERT_TRUE(fs_report(refused, child_).plan_error);
    EXPECT_NE(fs_report(refused, child_).plan_error->message.find("initial replication is disabled"),
              std::string::npos);
    EXPECT_EQ(zfs({"list", target(child_)}).rc, 1) << "nothing was received";

    ReplicationOptions all;
    all.initial = InitialReplicationPolicy::all;
    auto everything = run(*s, *r, all);
    ASSERT_TRUE(everything.succeeded()) << to_json(everything.report());
    EXPECT_EQ(snapshot_names(target(child_)), "s1 s2 s3 s4");
    expect_same_guids(child_);
}

TEST_F(ZfsFuseReplication, RequestsOutsideTheFilterAreRefused) {
    const std::string other = create(src_fs("other"));
    snapshots(other, 1, 1);
    auto s = sender(*runner_);
    auto listing = await(s->list_filesystems());
    ASSERT_TRUE(listing.has_value());
    for (const auto& f : *listing) EXPECT_NE(f.path, other) << "the listing hides what the filter excludes";
    auto vs = await(s->list_versions(other));
    ASSERT_FALSE(vs.has_value());
    EXPECT_FALSE(vs.error().temporary());
    EXPECT_NE(vs.error().message().find("does not allow access to filesystem " + other), std::string::npos)
        << vs.error().message();
    StepRequest req;
    req.filesystem = other;
    req.to = versions(other).at(0);
    auto sent = await(s->send(req));
    ASSERT_FALSE(sent.has_value());
    EXPECT_NE(sent.error().message().find("does not allow access"), std::string::npos);
}

TEST_F(ZfsFuseReplication, DivergenceIsReportedWithBothSidesSnapshots) {
    snapshots(root_, 1, 1);
    snapshots(child_, 1, 1);
    auto s = sender(*runner_);
    auto r = receiver();
    ASSERT_TRUE(run(*s, *r).succeeded());
    ok({"snapshot", target(child_) + "@only_on_receiver"});
    snapshots(child_, 2, 2);
    auto diverged = run(*s, *r);
    EXPECT_FALSE(diverged.succeeded());
    const auto& fr = fs_report(diverged, child_);
    ASSERT_TRUE(fr.plan_error);
    const std::string& m = fr.plan_error->message;
    EXPECT_NE(m.find("the receiver's latest snapshot is not present on sender"), std::string::npos) << m;
    EXPECT_NE(m.find("only_on_receiver"), std::string::npos) << m;
    EXPECT_NE(m.find("s2"), std::string::npos) << m;
}

TEST_F(ZfsFuseReplication, ACancelledStepLeavesNoChildAndTheNextRunReplicatesCleanly) {
    snapshots(root_, 1, 1);
    snapshot_with(child_, "big", {{"data", incompressible(24 << 20, 7)}});
    auto s = sender(*runner_);
    auto r = receiver();
    ReplicationRun cancelled(*s, *r, {}, Logger());
    boost::asio::cancellation_signal cancel;
    bool finished = false;
    boost::asio::co_spawn(
        ctx_, cancelled.run(),
        boost::asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr) { finished = true; }));
    ctx_.restart();
    auto moved = [&]() -> std::uint64_t {
        const auto& as = cancelled.report().attempts;
        if (as.empty()) return 0;
        for (const auto& f : as.back().filesystems)
            if (f.name == child_ && !f.steps.empty()) return f.steps[0].bytes_replicated;
        return 0;
    };
    while (!finished && moved() < (2u << 20)) ctx_.run_one();
    ASSERT_FALSE(finished) << "the step ended before it could be cancelled: " << to_json(cancelled.report());
    cancel.emit(boost::asio::cancellation_type::terminal);
    while (!finished) ctx_.run_one();
    EXPECT_FALSE(cancelled.succeeded());
    int st = 0;
    EXPECT_TRUE(::waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD) << "no zfs child left";

    auto next = run(*s, *r);
    ASSERT_TRUE(next.succeeded()) << to_json(next.report());
    EXPECT_EQ(snapshot_names(target(child_)), "big");
    expect_same_guids(child_);
    EXPECT_EQ(read_snapshot(target(child_) + "@big").at("data"), incompressible(24 << 20, 7));
}

TEST_F(ZfsFuseReplication, AThousandSmallIncrementalSnapshotsInOneRun) {
    snapshots(root_, 1, 1);
    snapshots(child_, 1, 1);
    auto s = sender(*runner_);
    auto r = receiver();
    ASSERT_TRUE(run(*s, *r).succeeded());
    snapshots(child_, 2, 1001);
    auto many = run(*s, *r);
    ASSERT_TRUE(many.succeeded()) << to_json(many.report());
    EXPECT_EQ(fs_report(many, child_).steps.size(), 1u) << "coalesced into one send -I";
    const auto got = versions(target(child_));
    ASSERT_EQ(got.size(), 1001u);
    expect_same_guids(child_);
    EXPECT_EQ(held(child_), "s1001");
}

}  // namespace
}  // namespace zferry::platform
