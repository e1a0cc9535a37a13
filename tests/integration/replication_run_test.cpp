// Whole replication runs between the local endpoints on two zfs-sim hosts: initial policies,
// incrementals, coalescing, parents before children, retries of temporary errors limited to
// what the failed attempt planned, permanent errors, cancellation into a resumable state, a
// stale resume token cleared, an incremental from the cursor bookmark once the common snapshot
// is gone, and the report as zrepl's status JSON.
#include "replication/driver/replication.hpp"

#include "replication/endpoint/abstractions.hpp"

#include "replication/endpoint/local_receiver.hpp"
#include "replication/endpoint/local_sender.hpp"
#include "replication/logic/replication_error.hpp"
#include "tests/integration/test_support.hpp"
#include "tests/integration/zfs_sim_fixture.hpp"
#include "zfs/listing_ops.hpp"
#include "zfs/send_recv.hpp"

#include <gtest/gtest.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/json.hpp>

#include <sys/wait.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>

namespace zferry::replication {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;

// The test process has no zfs child left (all reaped).
bool no_children() {
    int st = 0;
    return ::waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD;
}

// A sender whose first sends fail with a chosen error, as a network transport would (the
// local endpoints never lose connectivity); `on_fail` runs at the failure, e.g. to take a
// snapshot meanwhile. Everything else goes to the real sender.
class FlakySender final : public Sender {
public:
    FlakySender(Sender& real, int failures, Error error) : real_(real), failures_(failures), error_(error) {}
    std::function<void()> on_fail;
    int pings = 0, failing_pings = 0;
    int failing_completions = 0;  // SendCompleted lost on the way, as a dropped connection would

    asio::awaitable<Result<std::vector<FilesystemInfo>>> list_filesystems() override {
        co_return co_await real_.list_filesystems();
    }
    asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> list_versions(std::string fs) override {
        co_return co_await real_.list_versions(std::move(fs));
    }
    asio::awaitable<Result<std::vector<DestroySnapshotResult>>> destroy_snapshots(
        std::string fs, std::vector<zfs::FilesystemVersion> snapshots) override {
        co_return co_await real_.destroy_snapshots(std::move(fs), std::move(snapshots));
    }
    asio::awaitable<Result<void>> wait_for_connectivity() override {
        ++pings;
        if (failing_pings > 0) {
            --failing_pings;
            co_return Error(Errc::timeout, "ping");
        }
        co_return Result<void>{};
    }
    asio::awaitable<Result<SendReply>> send(StepRequest req) override {
        if (failures_ > 0) {
            --failures_;
            if (on_fail) on_fail();
            co_return error_;
        }
        co_return co_await real_.send(std::move(req));
    }
    asio::awaitable<Result<void>> send_completed(StepRequest req) override {
        if (failing_completions > 0) {
            --failing_completions;
            co_return Error(Errc::connection_closed, "SendCompleted");
        }
        co_return co_await real_.send_completed(std::move(req));
    }
    asio::awaitable<Result<std::optional<std::uint64_t>>> send_dry(StepRequest req) override {
        co_return co_await real_.send_dry(std::move(req));
    }
    asio::awaitable<Result<std::optional<std::uint64_t>>> replication_cursor(std::string fs) override {
        co_return co_await real_.replication_cursor(std::move(fs));
    }

private:
    Sender& real_;
    int failures_;
    Error error_;
};

class ReplicationRunTest : public test::ZfsSimFixture {
protected:
    ReplicationRunTest() : ZfsSimFixture("zferry-run") {}
    void SetUp() override {
        ::signal(SIGPIPE, SIG_IGN);
        ZfsSimFixture::SetUp();
        src_ = runner("src");
        dst_ = runner("dst");
        sh("src", "sim-create-pool p && $Z create p/a && $Z create p/a/b");
        sh("dst", "sim-create-pool q");
        sender_ = make_sender(*src_);
        receiver_ = std::make_unique<LocalReceiver>(
            *dst_,
            ReceiverConfig{*JobId::make("sink"), "q", std::nullopt, PlaceholderEncryptionPolicy::inherit, {}},
            Logger());
    }
    void TearDown() override {
        sender_.reset();
        receiver_.reset();
        ZfsSimFixture::TearDown();
    }
    std::unique_ptr<LocalSender> make_sender(zfs::ZfsRunner& r) {
        SenderConfig sc{*JobId::make("push"), {}, {}};
        EXPECT_TRUE(sc.filesystems.add("p/a<", true).has_value());
        return std::make_unique<LocalSender>(r, std::move(sc), Logger());
    }
    // Every snapshot the receiver has below q carries the sender's GUID.
    void expect_same_guids(const std::string& fs) { ZfsSimFixture::expect_same_guids(fs, "q"); }
    ReplicationRun make_run(Sender& s, ReplicationOptions o = {}) {
        o.protection = {GuaranteeKind::resumability, GuaranteeKind::resumability};
        o.reconnect_backoff_min = std::chrono::milliseconds(5);
        return ReplicationRun(s, *receiver_, std::move(o), Logger());
    }
    void run(ReplicationRun& r) { test::run(ctx_, r.run()); }
    const FilesystemReport* fs_report(const ReplicationRun& r, const std::string& name) {
        for (const auto& f : r.report().attempts.back().filesystems)
            if (f.name == name) return &f;
        return nullptr;
    }

    std::unique_ptr<LocalSender> sender_;
    std::unique_ptr<LocalReceiver> receiver_;
};

TEST_F(ReplicationRunTest, InitialMostRecentThenIncrementalsCoalesced) {
    snapshots("p/a", {"s1"});
    snapshots("p/a/b", {"s1", "s2", "s3"});
    auto r = make_run(*sender_);
    run(r);
    ASSERT_TRUE(r.succeeded()) << to_json(r.report());
    EXPECT_EQ(names(*dst_, "q/p/a/b"), "s3") << "most_recent: a full send of the newest snapshot";
    EXPECT_EQ(names(*dst_, "q/p/a"), "s1");
    expect_same_guids("p/a/b");

    snapshots("p/a/b", {"s4", "s5", "s6"});
    auto again = make_run(*sender_);
    run(again);
    ASSERT_TRUE(again.succeeded()) << to_json(again.report());
    EXPECT_EQ(names(*dst_, "q/p/a/b"), "s3 s4 s5 s6");
    expect_same_guids("p/a/b");
    const auto* b = fs_report(again, "p/a/b");
    ASSERT_NE(b, nullptr);
    ASSERT_EQ(b->steps.size(), 1u) << "three pending snapshots, one send -I step";
    EXPECT_TRUE(b->steps[0].compound);
    EXPECT_EQ(b->steps[0].intermediates, 2u);
    EXPECT_EQ(b->steps[0].from, "@s3");
    EXPECT_EQ(b->steps[0].to, "@s6");
    EXPECT_GT(b->steps[0].bytes_replicated, 6000u);
    EXPECT_GT(b->steps[0].bytes_expected, 0u) << "SendDry estimated the step";
    EXPECT_EQ(fs_report(again, "p/a")->steps.size(), 0u) << "p/a is up to date";
}

TEST_F(ReplicationRunTest, InitialAllWithAndWithoutCoalescing) {
    sh("src", "destroy -r p/a/b");
    snapshots("p/a", {"s1", "s2", "s3", "s4"});
    ReplicationOptions o;
    o.initial = InitialReplicationPolicy::all;
    o.coalesce = false;
    auto r = make_run(*sender_, o);
    run(r);
    ASSERT_TRUE(r.succeeded()) << to_json(r.report());
    EXPECT_EQ(names(*dst_, "q/p/a"), "s1 s2 s3 s4");
    EXPECT_EQ(fs_report(r, "p/a")->steps.size(), 4u) << "coalesce: false is zrepl's one step per snapshot";
    expect_same_guids("p/a");

    // The same again into a second receiver root (the first one holds its last-received snapshot).
    sh("dst", "create q/other");
    LocalReceiver other(
        *dst_,
        ReceiverConfig{
            *JobId::make("sink2"), "q/other", std::nullopt, PlaceholderEncryptionPolicy::inherit, {}},
        Logger());
    o.coalesce = true;
    ReplicationRun c(*sender_, other, o, Logger());
    run(c);
    ASSERT_TRUE(c.succeeded()) << to_json(c.report());
    EXPECT_EQ(names(*dst_, "q/other/p/a"), "s1 s2 s3 s4");
    EXPECT_EQ(fs_report(c, "p/a")->steps.size(), 2u) << "a full send of s1, then s1..s4 with -I";
    expect_same_guids("p/a");
}

// zrepl's one step per snapshot, estimated with one dry run: `send -nvP -I` prints each
// snapshot's estimate from the one before, which is each step's; in zfs-sim an estimate is the
// exact stream size, so every step's expected bytes are the bytes it moved.
TEST_F(ReplicationRunTest, PerSnapshotStepsAreEstimatedWithOneDryRun) {
    sh("src", "destroy -r p/a/b");
    snapshots("p/a", {"s1"});
    ReplicationOptions o;
    o.coalesce = false;
    auto first = make_run(*sender_, o);
    run(first);
    ASSERT_TRUE(first.succeeded()) << to_json(first.report());
    snapshots("p/a", {"s2"}, 1000);
    snapshots("p/a", {"s3"}, 5000);
    snapshots("p/a", {"s4"}, 9000);
    const fs::path log = dir_ / "src.log";
    auto logged = runner("src", {{"ZFS_SIM_LOG", log.string()}});
    auto sender = make_sender(*logged);
    auto r = make_run(*sender, o);
    run(r);
    ASSERT_TRUE(r.succeeded()) << to_json(r.report());
    EXPECT_EQ(names(*dst_, "q/p/a"), "s1 s2 s3 s4");
    expect_same_guids("p/a");
    const auto* a = fs_report(r, "p/a");
    ASSERT_NE(a, nullptr);
    ASSERT_EQ(a->steps.size(), 3u);
    for (const auto& st : a->steps) {
        EXPECT_GT(st.bytes_replicated, 1000u) << st.to;
        EXPECT_EQ(st.bytes_expected, st.bytes_replicated) << st.to;
    }
    EXPECT_LT(a->steps[0].bytes_expected, a->steps[1].bytes_expected);
    EXPECT_LT(a->steps[1].bytes_expected, a->steps[2].bytes_expected);
    std::ifstream in(log);
    std::vector<std::string> dry_runs;
    for (std::string line; std::getline(in, line);) {
        auto argv = boost::json::parse(line).at("argv").as_array();
        if (argv.size() > 2 && argv[1].as_string() == "send" && argv[2].as_string() == "-n") {
            std::string cmd;
            for (std::size_t i = 1; i < argv.size(); ++i)
                cmd += (i > 1 ? " " : "") + std::string(argv[i].as_string());
            dry_runs.push_back(cmd);
        }
    }
    EXPECT_EQ(dry_runs, std::vector<std::string>{"send -n -v -P -I p/a@s1 -- p/a@s4"});
}

TEST_F(ReplicationRunTest, InitialFailIsAPermanentPlanningErrorOfEachFilesystem) {
    snapshots("p/a", {"s1"});
    ReplicationOptions o;
    o.initial = InitialReplicationPolicy::fail;
    auto r = make_run(*sender_, o);
    run(r);
    EXPECT_FALSE(r.succeeded());
    ASSERT_EQ(r.report().attempts.size(), 1u) << "a permanent error is not retried";
    EXPECT_EQ(r.report().attempts[0].state, AttemptState::filesystem_error);
    const auto* a = fs_report(r, "p/a");
    ASSERT_TRUE(a && a->plan_error);
    EXPECT_NE(
        a->plan_error->message.find("automatic conflict resolution for initial replication is disabled"),
        std::string::npos)
        << a->plan_error->message;
    ASSERT_TRUE(r.final_error());
    EXPECT_FALSE(r.final_error()->temporary());
    EXPECT_EQ(names(*dst_, "q/p/a"), "");
}

TEST_F(ReplicationRunTest, AParentThatFailsInitialReplicationFailsItsChildren) {
    snapshots("p/a/b", {"s1"});  // p/a has no snapshot: "sender does not have any versions"
    auto r = make_run(*sender_);
    run(r);
    EXPECT_FALSE(r.succeeded());
    const auto* a = fs_report(r, "p/a");
    const auto* b = fs_report(r, "p/a/b");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->state, FilesystemState::planning_error);
    EXPECT_EQ(b->state, FilesystemState::step_error);
    ASSERT_TRUE(b->step_error);
    EXPECT_NE(b->step_error->message.find("parent(s) failed during initial replication: [p/a]"),
              std::string::npos)
        << b->step_error->message;
    EXPECT_EQ(names(*dst_, "q/p/a/b"), "") << "the child was never received";
}

TEST_F(ReplicationRunTest, ChildrenOfAParentWhoseStepFailedTemporarilyAreRetriedWithIt) {
    // The parent's initial step fails with a temporary error, so the child fails with "parent
    // failed" after it. That consequence must not make the attempt permanent: the run retries,
    // and the second attempt replicates both.
    snapshots("p/a", {"s1"});
    snapshots("p/a/b", {"s1"});
    FlakySender flaky(*sender_, 1, Error(Errc::timeout, "network"));
    auto r = make_run(flaky);
    run(r);
    ASSERT_TRUE(r.succeeded()) << to_json(r.report());
    ASSERT_EQ(r.report().attempts.size(), 2u);
    const auto& first = r.report().attempts[0];
    EXPECT_EQ(first.state, AttemptState::filesystem_error);
    bool child_failed_with_parent = false;
    for (const auto& f : first.filesystems)
        if (f.name == "p/a/b" && f.step_error && f.step_error->message.find("parent") != std::string::npos)
            child_failed_with_parent = true;
    EXPECT_TRUE(child_failed_with_parent) << to_json(r.report());
    EXPECT_EQ(names(*dst_, "q/p/a"), "s1");
    EXPECT_EQ(names(*dst_, "q/p/a/b"), "s1");
}

TEST_F(ReplicationRunTest, ATemporaryErrorIsRetriedUpToThePreviouslyPlannedTarget) {
    snapshots("p/a", {"s1", "s2"});
    sh("src", "destroy -r p/a/b");
    FlakySender flaky(*sender_, 1, Error(Errc::timeout, "network"));
    flaky.failing_pings = 2;                            // the endpoint answers on the third check
    flaky.on_fail = [&] { snapshots("p/a", {"s3"}); };  // taken while the attempt fails
    auto r = make_run(flaky);
    run(r);
    ASSERT_TRUE(r.succeeded()) << to_json(r.report());
    ASSERT_EQ(r.report().attempts.size(), 2u);
    EXPECT_EQ(r.report().attempts[0].state, AttemptState::filesystem_error);
    EXPECT_TRUE(r.report().wait_reconnect_since.has_value());
    EXPECT_EQ(flaky.pings, 3);
    EXPECT_EQ(names(*dst_, "q/p/a"), "s2") << "the retry finishes what the first attempt planned, not s3";

    auto next = make_run(*sender_);
    run(next);
    ASSERT_TRUE(next.succeeded());
    EXPECT_EQ(names(*dst_, "q/p/a"), "s2 s3") << "the next run takes the rest";
}

TEST_F(ReplicationRunTest, TemporaryErrorsStopAfterMaxAttemptsAndPermanentOnesAtOnce) {
    snapshots("p/a", {"s1"});
    sh("src", "destroy -r p/a/b");
    FlakySender temporary(*sender_, 10, Error(Errc::timeout, "network"));
    ReplicationOptions o;
    o.max_attempts = 3;
    auto r = make_run(temporary, o);
    run(r);
    EXPECT_FALSE(r.succeeded());
    EXPECT_EQ(r.report().attempts.size(), 3u);
    ASSERT_TRUE(r.final_error());
    EXPECT_TRUE(r.final_error()->temporary());

    FlakySender permanent(*sender_, 10, Error(Errc::protocol_error, "garbage"));
    auto p = make_run(permanent, o);
    run(p);
    EXPECT_FALSE(p.succeeded());
    EXPECT_EQ(p.report().attempts.size(), 1u);

    FlakySender unreachable(*sender_, 10, Error(Errc::timeout, "network"));
    unreachable.failing_pings = 1000;
    o.reconnect_hard_fail_timeout = std::chrono::milliseconds(50);
    auto u = make_run(unreachable, o);
    run(u);
    EXPECT_EQ(u.report().attempts.size(), 1u);
    ASSERT_TRUE(u.report().wait_reconnect_error.has_value());
    EXPECT_NE(u.report().wait_reconnect_error->message.find("hard-fail timeout"), std::string::npos);
}

TEST_F(ReplicationRunTest, CancellingMidStreamLeavesAResumableStateThatTheNextRunResumes) {
    sh("src", "destroy -r p/a/b");
    snapshots("p/a", {"s1"}, 3'000'000);
    auto stalling = runner("src", {{"ZFS_SIM_STALL_SEND_AFTER", "1000000"}});
    auto sender = make_sender(*stalling);
    auto r = make_run(*sender);
    asio::cancellation_signal cancel;
    bool finished = false;
    asio::co_spawn(ctx_, r.run(),
                   asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr) { finished = true; }));
    ctx_.restart();
    // Until the receiver has the first million bytes (the sender then stalls).
    auto bytes = [&]() -> std::uint64_t {
        const auto& as = r.report().attempts;
        if (as.empty() || as.back().filesystems.empty() || as.back().filesystems[0].steps.empty()) return 0;
        return as.back().filesystems[0].steps[0].bytes_replicated;
    };
    while (bytes() < 1'000'000) ctx_.run_one();
    cancel.emit(asio::cancellation_type::terminal);
    while (!finished) ctx_.run_one();
    EXPECT_FALSE(r.succeeded());
    ASSERT_TRUE(r.final_error());
    EXPECT_EQ(r.final_error()->code(), make_error_code(ReplicationErrc::cancelled))
        << r.final_error()->message();
    EXPECT_EQ(r.report().attempts.size(), 1u) << "a cancelled run is not retried";
    EXPECT_TRUE(no_children());
    auto token = test::run(ctx_, zfs::receive_resume_token(*dst_, "q/p/a"));
    ASSERT_TRUE(token && token->has_value()) << "the partial receive stays for a resume";

    auto resumed = make_run(*sender_);
    run(resumed);
    ASSERT_TRUE(resumed.succeeded()) << to_json(resumed.report());
    const auto* a = fs_report(resumed, "p/a");
    ASSERT_EQ(a->steps.size(), 1u);
    EXPECT_TRUE(a->steps[0].resumed);
    EXPECT_LT(a->steps[0].bytes_replicated, 2'500'000u) << "the first million bytes were not sent again";
    EXPECT_EQ(names(*dst_, "q/p/a"), "s1");
    expect_same_guids("p/a");
}

TEST_F(ReplicationRunTest, AResumeTokenTheSenderCannotServeIsClearedAndTheFilesystemPlannedAfresh) {
    sh("src", "destroy -r p/a/b");
    snapshots("p/a", {"s1"});
    auto first = make_run(*sender_);
    run(first);
    ASSERT_TRUE(first.succeeded());
    snapshots("p/a", {"s2"}, 3'000'000);
    {
        auto stalling = runner("src", {{"ZFS_SIM_STALL_SEND_AFTER", "500000"}});
        auto sender = make_sender(*stalling);
        auto r = make_run(*sender);
        asio::cancellation_signal cancel;
        bool finished = false;
        asio::co_spawn(ctx_, r.run(), asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr) {
                           finished = true;
                       }));
        ctx_.restart();
        while (r.report().attempts.empty() || r.report().attempts[0].filesystems.empty() ||
               r.report().attempts[0].filesystems[0].steps.empty() ||
               r.report().attempts[0].filesystems[0].steps[0].bytes_replicated < 500'000)
            ctx_.run_one();
        cancel.emit(asio::cancellation_type::terminal);
        while (!finished) ctx_.run_one();
    }
    auto token = test::run(ctx_, zfs::receive_resume_token(*dst_, "q/p/a"));
    ASSERT_TRUE(token && token->has_value());
    // The partial s2 can never be finished: s2 is gone on the sender.
    sh("src", "release zrepl_STEP_J_push p/a@s2; $Z destroy p/a@s2");
    snapshots("p/a", {"s3"});
    auto r = make_run(*sender_);
    run(r);
    ASSERT_TRUE(r.succeeded()) << to_json(r.report());
    EXPECT_EQ(names(*dst_, "q/p/a"), "s1 s3");
    auto after = test::run(ctx_, zfs::receive_resume_token(*dst_, "q/p/a"));
    ASSERT_TRUE(after.has_value());
    EXPECT_FALSE(after->has_value()) << "the stale partial receive was discarded";
}

TEST_F(ReplicationRunTest, ALostSendCompletedLeaksNoHoldAndTheNextRunWorks) {
    sh("src", "destroy -r p/a/b");
    snapshots("p/a", {"s1", "s2"});
    FlakySender lossy(*sender_, 0, Error());
    lossy.failing_completions = 1;
    ReplicationOptions o;
    o.max_attempts = 1;
    auto r = make_run(lossy, o);
    run(r);
    EXPECT_FALSE(r.succeeded()) << "the step's confirmation did not arrive";
    EXPECT_EQ(names(*dst_, "q/p/a"), "s2") << "the receiver has the snapshot all the same";
    snapshots("p/a", {"s3"});
    auto next = make_run(*sender_);
    run(next);
    ASSERT_TRUE(next.succeeded()) << to_json(next.report());
    EXPECT_EQ(names(*dst_, "q/p/a"), "s2 s3");
    auto left = test::run(ctx_, list_abstractions_of(*src_, "p/a", *JobId::make("push")));
    ASSERT_TRUE(left.has_value());
    ASSERT_EQ(left->size(), 1u) << "only the cursor: no step hold of the unconfirmed step is left";
    EXPECT_EQ(left->front().type, AbstractionType::replication_cursor_bookmark_v2);
    EXPECT_EQ(left->front().version.guid, versions(*src_, "p/a").back().guid) << "the cursor is on s3";
    for (const auto& v : versions(*src_, "p/a")) EXPECT_EQ(v.userrefs.value_or(0), 0u) << v.name;
}

TEST_F(ReplicationRunTest, ChainedReplicationCarriesPlaceholdersFromBToC) {
    // A -> B as above; then B's tree (below q, with the placeholder q/p) -> C.
    snapshots("p/a/b", {"s1", "s2"});
    ReplicationOptions o;
    o.initial = InitialReplicationPolicy::all;
    SenderConfig only_b{*JobId::make("push"), {}, {}};
    ASSERT_TRUE(only_b.filesystems.add("p/a/b", true).has_value());
    LocalSender sender_b(*src_, std::move(only_b), Logger());
    auto ab = make_run(sender_b, o);
    run(ab);
    ASSERT_TRUE(ab.succeeded()) << to_json(ab.report());
    EXPECT_EQ(names(*dst_, "q/p/a/b"), "s1 s2");

    auto c = runner("c");
    sh("c", "sim-create-pool r && $Z create r/sink");
    SenderConfig from_b{*JobId::make("chain"), {}, {}};
    // B's receiver root q itself is no replicated filesystem: the filter starts below it, at
    // the placeholder q/p that B's receiver made for A's pool.
    ASSERT_TRUE(from_b.filesystems.add("q/p<", true).has_value());
    LocalSender sender(*dst_, std::move(from_b), Logger());
    LocalReceiver receiver(
        *c,
        ReceiverConfig{
            *JobId::make("chain-sink"), "r/sink", std::nullopt, PlaceholderEncryptionPolicy::inherit, {}},
        Logger());
    ReplicationRun bc(sender, receiver, o, Logger());
    run(bc);
    ASSERT_TRUE(bc.succeeded()) << to_json(bc.report());
    EXPECT_EQ(names(*c, "r/sink/q/p/a/b"), "s1 s2");
    for (const char* fs : {"r/sink/q", "r/sink/q/p", "r/sink/q/p/a"}) {
        auto state = test::run(ctx_, zfs::get_placeholder_state(*c, fs));
        ASSERT_TRUE(state.has_value());
        EXPECT_TRUE(state->exists && state->is_placeholder) << fs << " is a placeholder on C";
    }
}

TEST_F(ReplicationRunTest, ACancelledFullSendResumesWithoutResendingForEveryGuarantee) {
    sh("src", "destroy -r p/a/b");
    snapshots("p/a", {"s1"}, 2'000'000);
    for (auto kind : {GuaranteeKind::resumability, GuaranteeKind::incremental, GuaranteeKind::nothing}) {
        SCOPED_TRACE(std::string(to_string(kind)));
        sh("dst", "create q/" + std::string(to_string(kind)));
        LocalReceiver receiver(*dst_,
                               ReceiverConfig{*JobId::make("sink"),
                                              "q/" + std::string(to_string(kind)),
                                              std::nullopt,
                                              PlaceholderEncryptionPolicy::inherit,
                                              {}},
                               Logger());
        ReplicationOptions o;
        o.protection = {kind, kind};
        auto stalling = runner("src", {{"ZFS_SIM_STALL_SEND_AFTER", "800000"}});
        auto stalled_sender = make_sender(*stalling);
        ReplicationRun first(*stalled_sender, receiver, o, Logger());
        asio::cancellation_signal cancel;
        bool finished = false;
        asio::co_spawn(
            ctx_, first.run(),
            asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr) { finished = true; }));
        ctx_.restart();
        auto moved = [&]() -> std::uint64_t {
            const auto& as = first.report().attempts;
            if (as.empty() || as.back().filesystems.empty() || as.back().filesystems[0].steps.empty())
                return 0;
            return as.back().filesystems[0].steps[0].bytes_replicated;
        };
        while (moved() < 800'000) ctx_.run_one();
        cancel.emit(asio::cancellation_type::terminal);
        while (!finished) ctx_.run_one();
        ASSERT_FALSE(first.succeeded());

        ReplicationRun second(*sender_, receiver, o, Logger());
        test::run(ctx_, second.run());
        ASSERT_TRUE(second.succeeded()) << to_json(second.report());
        const auto& step = second.report().attempts.back().filesystems.at(0).steps.at(0);
        EXPECT_TRUE(step.resumed);
        EXPECT_LT(step.bytes_replicated, 1'400'000u)
            << "about 2 MB in all, 800 kB of it sent before the cut and not again";
        EXPECT_EQ(names(*dst_, "q/" + std::string(to_string(kind)) + "/p/a"), "s1");
    }
}

TEST_F(ReplicationRunTest, TheReportIsZreplsStatusJson) {
    snapshots("p/a", {"s1"});
    snapshots("p/a/b", {"s1"});
    auto r = make_run(*sender_);
    r.set_clock([] { return WallTime(std::chrono::seconds(1'800'000'000)); });
    run(r);
    ASSERT_TRUE(r.succeeded());
    auto doc = boost::json::parse(to_json(r.report())).as_object();
    EXPECT_EQ(doc.at("StartAt").as_string(), "2027-01-15T08:00:00Z");
    EXPECT_TRUE(doc.at("WaitReconnectError").is_null());
    const auto& attempt = doc.at("Attempts").as_array().at(0).as_object();
    EXPECT_EQ(attempt.at("State").as_string(), "done");
    const auto& fss = attempt.at("Filesystems").as_array();
    ASSERT_EQ(fss.size(), 2u);
    const auto& b = fss.at(1).as_object();
    EXPECT_EQ(b.at("Info").at("Name").as_string(), "p/a/b");
    EXPECT_EQ(b.at("State").as_string(), "done");
    EXPECT_EQ(b.at("BlockedOn").as_string(), "nothing");
    EXPECT_EQ(b.at("CurrentStep").as_int64(), 1);
    const auto& step = b.at("Steps").as_array().at(0).at("Info").as_object();
    EXPECT_EQ(step.at("From").as_string(), "");
    EXPECT_EQ(step.at("To").as_string(), "@s1");
    EXPECT_FALSE(step.at("Resumed").as_bool());
    EXPECT_GT(step.at("BytesReplicated").to_number<std::uint64_t>(), 2000u);
    EXPECT_EQ(r.report().failed_filesystems_in_latest_attempt(), 0);
}

// The common snapshot destroyed on the sender after a replication (as a pruner may): the next
// run is still incremental, from the replication cursor bookmark the last SendCompleted left,
// never a full send, and the receiver ends with the sender's GUIDs.
TEST_F(ReplicationRunTest, IncrementalFromTheCursorBookmarkAfterTheCommonSnapshotWasDestroyed) {
    sh("src", "destroy -r p/a/b");
    snapshots("p/a", {"s1", "s2"});
    auto first = make_run(*sender_);
    run(first);
    ASSERT_TRUE(first.succeeded()) << to_json(first.report());
    EXPECT_EQ(names(*dst_, "q/p/a"), "s2");
    const auto s2 = versions(*src_, "p/a").back();
    ASSERT_EQ(s2.name, "s2");
    char cursor[96];
    std::snprintf(cursor, sizeof cursor, "zrepl_CURSOR_G_%016llx_J_push",
                  static_cast<unsigned long long>(s2.guid));

    sh("src", "destroy p/a@s1 && $Z destroy p/a@s2");
    snapshots("p/a", {"s3", "s4", "s5"});
    // s2 lives on only as the cursor, with s2's GUID.
    std::map<std::string, std::uint64_t> sender_guids;
    for (const auto& v : *test::run(ctx_, zfs::list_versions(*src_, "p/a"))) sender_guids[v.name] = v.guid;
    ASSERT_EQ(sender_guids.count("s2"), 0u);
    ASSERT_EQ(sender_guids.count(cursor), 1u);
    EXPECT_EQ(sender_guids[cursor], s2.guid);
    const fs::path log = dir_ / "src.log";
    auto logged = runner("src", {{"ZFS_SIM_LOG", log.string()}});
    auto sender = make_sender(*logged);
    auto next = make_run(*sender);
    run(next);
    ASSERT_TRUE(next.succeeded()) << to_json(next.report());
    EXPECT_EQ(names(*dst_, "q/p/a"), "s2 s3 s4 s5");
    // Same GUIDs on both sides: s3-s5 as snapshots, s2 as the sender's cursor bookmark was.
    std::vector<std::string> compared;
    for (const auto& v : versions(*dst_, "q/p/a")) {
        const std::string on_sender = v.name == "s2" ? std::string(cursor) : v.name;
        ASSERT_EQ(sender_guids.count(on_sender), 1u) << on_sender;
        EXPECT_EQ(sender_guids[on_sender], v.guid) << v.name;
        compared.push_back(v.name);
    }
    EXPECT_EQ(compared.size(), 4u);
    const auto* a = fs_report(next, "p/a");
    ASSERT_NE(a, nullptr);
    ASSERT_EQ(a->steps.size(), 2u) << to_json(next.report());
    EXPECT_EQ(a->steps[0].from, std::string("#") + cursor) << "incremental from the cursor bookmark";
    EXPECT_EQ(a->steps[0].to, "@s3");
    EXPECT_EQ(a->steps[1].from, "@s3") << "then -I from the first snapshot both sides have";
    EXPECT_EQ(a->steps[1].to, "@s5");

    // What zfs was asked to send: the bookmark's incremental, the rest from s3, nothing full.
    std::ifstream in(log);
    std::vector<std::string> sends;
    for (std::string line; std::getline(in, line);) {
        auto argv = boost::json::parse(line).at("argv").as_array();
        // (a bare `send` is the capability probe of the new runner)
        if (argv.size() < 3 || argv[1].as_string() != "send") continue;
        std::string cmd;
        for (std::size_t i = 1; i < argv.size(); ++i)
            cmd += (i > 1 ? " " : "") + std::string(argv[i].as_string());
        if (cmd.find(" -n") == std::string::npos) sends.push_back(cmd);
    }
    EXPECT_EQ(sends, (std::vector<std::string>{"send -i p/a#" + std::string(cursor) + " -- p/a@s3",
                                               "send -I p/a@s3 -- p/a@s5"}));
    // The cursor moved on: s2's bookmark went once s5's existed.
    const auto s5 = versions(*src_, "p/a").back();
    ASSERT_EQ(s5.name, "s5");
    char moved[96];
    std::snprintf(moved, sizeof moved, "zrepl_CURSOR_G_%016llx_J_push",
                  static_cast<unsigned long long>(s5.guid));
    std::vector<std::string> bookmarks;
    for (const auto& v : *test::run(ctx_, zfs::list_versions(*src_, "p/a")))
        if (v.type == zfs::VersionType::bookmark) bookmarks.push_back(v.name);
    EXPECT_EQ(bookmarks, std::vector<std::string>{moved});
}

}  // namespace
}  // namespace zferry::replication
