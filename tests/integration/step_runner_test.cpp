// One step between the local sender and receiver on two zfs-sim hosts, as the driver runs it:
// bytes counted; a receiver that fails mid-stream ends the step with its own error, no hang and
// no zfs child left; a cancelled step leaves a resumable partial receive, and the next attempt
// resumes it without sending the first bytes again.
#include "replication/driver/step_runner.hpp"

#include "core/throttle.hpp"

#include "replication/endpoint/local_receiver.hpp"
#include "replication/endpoint/local_sender.hpp"
#include "tests/integration/test_support.hpp"
#include "zfs/listing_ops.hpp"
#include "zfs/resume_token.hpp"
#include "zfs/send_recv.hpp"

#include <gtest/gtest.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace zferry::replication {
namespace {

namespace fs = std::filesystem;

class StepRunner : public ::testing::Test {
protected:
    void SetUp() override {
        ::signal(SIGPIPE, SIG_IGN);  // as zferry itself: a receiver that went away is an EPIPE, not a death
        char tmpl[] = "/tmp/zferry-step-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        src_ = runner("src");
        sh("src", "sim-create-pool p && $Z create p/a && head -c 3000000 /dev/urandom > " +
                      (dir_ / "d").string() + " && $Z sim-write p/a " + (dir_ / "d").string() +
                      " && $Z snapshot p/a@s1");
        sh("dst", "sim-create-pool q");
        SenderConfig sc{*JobId::make("push"), {}, {}};
        ASSERT_TRUE(sc.filesystems.add("p<", true).has_value());
        sender_ = std::make_unique<LocalSender>(*src_, std::move(sc), Logger());
    }
    void TearDown() override {
        sender_.reset();
        fs::remove_all(dir_);
    }
    std::unique_ptr<zfs::ZfsRunner> runner(const std::string& host,
                                           std::vector<std::pair<std::string, std::string>> env = {}) {
        zfs::ZfsRunnerOptions o;
        o.binary = ZFS_SIM_BIN;
        // zfs-sim refuses a name not preceded by "--": zferry never lets zfs read one as an option.
        o.env = {{"ZFS_SIM_STATE", (dir_ / host).string()}, {"ZFS_SIM_REQUIRE_END_OF_OPTIONS", "1"}};
        for (auto& e : env) o.env.push_back(std::move(e));
        return std::make_unique<zfs::ZfsRunner>(ctx_.get_executor(), std::move(o));
    }
    void sh(const std::string& host, const std::string& cmds) {
        const std::string cmd = "Z=" ZFS_SIM_BIN " ZFS_SIM_STATE=" + (dir_ / host).string() +
                                " bash -c '$Z " + cmds + "' >/dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmds;
    }
    std::unique_ptr<LocalReceiver> receiver(zfs::ZfsRunner& r) {
        return std::make_unique<LocalReceiver>(
            r,
            ReceiverConfig{*JobId::make("sink"), "q", std::nullopt, PlaceholderEncryptionPolicy::inherit, {}},
            Logger());
    }
    Step full_s1() {
        auto vs = test::run(ctx_, zfs::list_versions(*src_, "p/a"));
        return Step{std::nullopt, vs->at(0), {}, ""};
    }
    // No child process of this test is left (zfs children are ours; zombies count too).
    static bool no_children() {
        const std::string me = std::to_string(::getpid());
        for (const auto& e : fs::directory_iterator("/proc")) {
            std::ifstream stat(e.path() / "stat");
            std::string line;
            if (!std::getline(stat, line)) continue;
            auto paren = line.rfind(')');
            if (paren == std::string::npos) continue;
            std::istringstream rest(line.substr(paren + 2));
            std::string state, ppid;
            rest >> state >> ppid;
            if (ppid == me) return false;
        }
        return true;
    }

    boost::asio::io_context ctx_;
    fs::path dir_;
    std::unique_ptr<zfs::ZfsRunner> src_;
    std::unique_ptr<LocalSender> sender_;
};

TEST_F(StepRunner, CopiesCountsAndConfirms) {
    auto dst = runner("dst");
    auto recv = receiver(*dst);
    std::uint64_t last_progress = 0;
    auto r = test::run(
        ctx_, run_step(*sender_, *recv, "p/a", full_s1(), {}, [&](std::uint64_t b) { last_progress = b; }));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_GT(r->bytes, 3000000u);
    EXPECT_EQ(last_progress, r->bytes);
    auto cursor = test::run(ctx_, sender_->replication_cursor("p/a"));
    ASSERT_TRUE(cursor.has_value());
    EXPECT_EQ(*cursor, full_s1().to.guid) << "SendCompleted moved the cursor";
}

TEST_F(StepRunner, ReceiverFailingMidStreamIsTheStepsErrorWithNothingLeftRunning) {
    auto dst = runner("dst", {{"ZFS_SIM_FAIL_RECV_AFTER", "1000000"}});
    auto recv = receiver(*dst);
    auto r = test::run(ctx_, run_step(*sender_, *recv, "p/a", full_s1(), {}));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message().rfind("receiver: ", 0), 0u) << r.error().message();
    EXPECT_TRUE(r.error().temporary()) << "a cut stream is retried: " << r.error().message();
    EXPECT_TRUE(no_children());
    auto token = test::run(ctx_, zfs::receive_resume_token(*dst, "q/p/a"));
    ASSERT_TRUE(token.has_value());
    ASSERT_TRUE(token->has_value()) << "the partial receive is resumable";

    // The next attempt resumes: the sender uses the token and sends only the rest.
    auto healthy = runner("dst");
    auto recv2 = receiver(*healthy);
    Step resumed = full_s1();
    resumed.resume_token = **token;
    auto again = test::run(ctx_, run_step(*sender_, *recv2, "p/a", resumed, {}));
    ASSERT_TRUE(again.has_value()) << again.error().message();
    EXPECT_TRUE(again->used_resume_token);
    EXPECT_LT(again->bytes, 2500000u) << "the first million bytes were not sent again";
}

TEST_F(StepRunner, CancelledStepStopsBothSidesAndStaysResumable) {
    auto dst = runner("dst", {{"ZFS_SIM_STALL_RECV_AFTER", "1000000"}});
    auto recv = receiver(*dst);
    boost::asio::cancellation_signal stop;
    std::optional<Result<StepOutcome>> out;
    const Step step = full_s1();
    ctx_.restart();  // the listing ran the context out of work
    std::uint64_t copied = 0;
    boost::asio::co_spawn(
        ctx_, run_step(*sender_, *recv, "p/a", step, {}, [&](std::uint64_t b) { copied = b; }),
        boost::asio::bind_cancellation_slot(
            stop.slot(), [&](std::exception_ptr, Result<StepOutcome> r) { out = std::move(r); }));
    // Let the transfer reach the stall (the receiver stops reading after 1 000 000 bytes; its
    // pipe takes some more), then cancel.
    const auto stalled_by = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!out && copied < 1000000 && std::chrono::steady_clock::now() < stalled_by)
        ctx_.run_one_for(std::chrono::milliseconds(25));
    ASSERT_FALSE(out.has_value()) << "the step should be stalled, not finished";
    ASSERT_GE(copied, 1000000u);
    for (int i = 0; i < 10; ++i) ctx_.run_one_for(std::chrono::milliseconds(10));
    stop.emit(boost::asio::cancellation_type::all);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!out && std::chrono::steady_clock::now() < until) ctx_.run_one_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(out.has_value()) << "cancellation did not end the step";
    ASSERT_FALSE(out->has_value()) << "bytes " << (*out)->bytes;
    EXPECT_EQ(out->error().code(), boost::asio::error::operation_aborted) << out->error().message();
    EXPECT_TRUE(no_children());
    auto token = test::run(ctx_, zfs::receive_resume_token(*dst, "q/p/a"));
    ASSERT_TRUE(token.has_value()) << token.error().message();
    EXPECT_TRUE(token->has_value()) << "the cancelled receive left a resumable partial state";
}

// An incremental step prepares both sides at once: when the sender refuses (a forged GUID here,
// or a failing hold), the receive already started is stopped, leaves no partial state and no
// child, and the receiver's data and holds are as before.
TEST_F(StepRunner, AnIncrementalStepTheSenderRefusesStopsTheStartedReceive) {
    const fs::path log = dir_ / "dst.log";
    auto dst = runner("dst", {{"ZFS_SIM_LOG", log.string()}});
    auto recv = receiver(*dst);
    auto first = test::run(ctx_, run_step(*sender_, *recv, "p/a", full_s1(), {}));
    ASSERT_TRUE(first.has_value()) << first.error().message();
    sh("src", "snapshot p/a@s2");
    auto vs = test::run(ctx_, zfs::list_versions(*src_, "p/a"));
    ASSERT_TRUE(vs.has_value());
    ASSERT_EQ(vs->size(), 3u) << "s1, s2 and the cursor bookmark";
    auto snapshot = [&](const std::string& name) {
        for (const auto& v : *vs)
            if (v.type == zfs::VersionType::snapshot && v.name == name) return v;
        ADD_FAILURE() << "no snapshot " << name;
        return zfs::FilesystemVersion{};
    };
    const auto s1 = snapshot("s1"), s2 = snapshot("s2");
    const auto received_before = test::run(ctx_, zfs::list_versions(*dst, "q/p/a"));
    ASSERT_TRUE(received_before.has_value());

    for (const bool forged : {true, false}) {
        SCOPED_TRACE(forged ? "forged GUID" : "failing hold");
        Step step{s1, s2, {}, ""};
        std::unique_ptr<LocalSender> sender;
        std::unique_ptr<zfs::ZfsRunner> failing;
        LocalSender* s = sender_.get();
        if (forged) {
            step.to.guid ^= 1;
        } else {
            failing = runner("src", {{"ZFS_SIM_FAIL_SUBCOMMAND", "hold"}});
            SenderConfig sc{*JobId::make("push"), {}, {}};
            ASSERT_TRUE(sc.filesystems.add("p<", true).has_value());
            sender = std::make_unique<LocalSender>(*failing, std::move(sc), Logger());
            s = sender.get();
        }
        fs::remove(log);
        auto r = test::run(ctx_, run_step(*s, *recv, "p/a", step, {}));
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().message().rfind("sender: ", 0), 0u) << r.error().message();
        EXPECT_TRUE(no_children());
        std::ifstream in(log);
        std::stringstream text;
        text << in.rdbuf();
        EXPECT_NE(text.str().find(R"("recv")"), std::string::npos)
            << "the receive ran beside the sender's preparation: " << text.str();
        auto token = test::run(ctx_, zfs::receive_resume_token(*dst, "q/p/a"));
        ASSERT_TRUE(token.has_value()) << token.error().message();
        EXPECT_FALSE(token->has_value()) << "a receive stopped before any byte leaves nothing to resume";
        auto after = test::run(ctx_, zfs::list_versions(*dst, "q/p/a"));
        ASSERT_TRUE(after.has_value());
        EXPECT_EQ(*after, *received_before) << "the receiver's snapshots and holds are unchanged";
    }
}

// send.bandwidth_limit and recv.bandwidth_limit on one step: the narrower one (the receiver's,
// 1 MiB/s with zrepl's default 128 KiB bucket) holds over about 10 s. The upper bound is exact
// (a bucket that starts full lets at most its capacity pass ahead of the rate); the lower
// bound is generous, since a loaded machine may be slower than the limit.
TEST_F(StepRunner, BandwidthLimitsHoldTheNarrowerRateOverTheWholeStep) {
    sh("src", "create p/big && head -c 10485760 /dev/urandom > " + (dir_ / "big").string() +
                  " && $Z sim-write p/big " + (dir_ / "big").string() + " && $Z snapshot p/big@s1");
    const double rate = 1 << 20, capacity = 128 << 10;
    SenderConfig sc{*JobId::make("push"), {}, {}};
    ASSERT_TRUE(sc.filesystems.add("p<", true).has_value());
    sc.bandwidth_limit = std::make_shared<Throttle>(4 * rate, capacity);
    LocalSender sender(*src_, std::move(sc), Logger());
    auto dst = runner("dst");
    ReceiverConfig rc{*JobId::make("sink"), "q", std::nullopt, PlaceholderEncryptionPolicy::inherit, {}};
    rc.bandwidth_limit = std::make_shared<Throttle>(rate, capacity);
    LocalReceiver recv(*dst, std::move(rc), Logger());
    auto vs = test::run(ctx_, zfs::list_versions(*src_, "p/big"));
    ASSERT_TRUE(vs.has_value() && vs->size() == 1);
    const auto start = std::chrono::steady_clock::now();
    std::uint64_t first_byte_at_us = 0;
    auto r = test::run(
        ctx_, run_step(sender, recv, "p/big", Step{std::nullopt, vs->at(0), {}, ""}, {}, [&](std::uint64_t) {
            if (first_byte_at_us == 0)
                first_byte_at_us =
                    static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                   std::chrono::steady_clock::now() - start)
                                                   .count());
        }));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(r.has_value()) << r.error().message();
    ASSERT_GT(r->bytes, 10485760u);
    const double bytes = static_cast<double>(r->bytes);
    EXPECT_GE(seconds, (bytes - capacity) / rate) << "faster than the limit allows";
    EXPECT_LE(seconds, 1.5 * bytes / rate + 2) << "far slower than the limit";
    std::printf(
        "bandwidth limit 1 MiB/s: %.0f bytes in %.2f s = %.4f x the limit (first byte after %.3f s)\n", bytes,
        seconds, bytes / seconds / rate, static_cast<double>(first_byte_at_us) / 1e6);
}

}  // namespace
}  // namespace zferry::replication
