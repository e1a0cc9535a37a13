// The snapshotter on zfs-sim: one name per round on the filesystems the filter matches, hooks
// around each snapshot (a fatal pre hook skips only its filesystem), dry runs that take
// nothing, and the schedule driven by a fake wall clock: the periodic sync-up, and a jump of
// a day forward that gives one snapshot, not a burst.
#include "daemon/snapshotting/snapshotter.hpp"

#include "tests/integration/test_support.hpp"
#include "zfs/listing_ops.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>

#include <sys/wait.h>

#include <filesystem>
#include <fstream>

namespace zferry::snapshotting {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

system_clock::time_point at_unix(std::int64_t s) { return system_clock::time_point(std::chrono::seconds(s)); }

class SnapshotterTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/zferry-snapshotter-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        zfs::ZfsRunnerOptions o;
        o.binary = ZFS_SIM_BIN;
        // zfs-sim refuses a name not preceded by "--": zferry never lets zfs read one as an option.
        o.env = {{"ZFS_SIM_STATE", (dir_ / "state").string()}, {"ZFS_SIM_REQUIRE_END_OF_OPTIONS", "1"}};
        runner_ = std::make_unique<zfs::ZfsRunner>(ctx_.get_executor(), std::move(o));
        sh("sim-create-pool p && $Z create p/a && $Z create p/skip && $Z create p/a/b");
    }
    void TearDown() override {
        runner_.reset();
        fs::remove_all(dir_);
    }

    void sh(const std::string& cmds) {
        const std::string cmd = "cd " + dir_.string() +
                                " && Z=" ZFS_SIM_BIN " ZFS_SIM_STATE=" + (dir_ / "state").string() +
                                " bash -c '$Z " + cmds + "' >/dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmds;
    }

    SnapshotterConfig config() {
        SnapshotterConfig c{"job1",
                            {},
                            *SnapshotNaming::make("zrepl_", *TimestampFormat::make("dense", TimeZone::utc())),
                            PeriodicSchedule{std::chrono::seconds(60)}};
        EXPECT_TRUE(c.filesystems.add("p<", true).has_value());
        EXPECT_TRUE(c.filesystems.add("p/skip", false).has_value());
        c.max_sleep = std::chrono::milliseconds(2);
        return c;
    }

    daemon::CommandHook hook(const std::string& name, const std::string& body) {
        const auto path = dir_ / name;
        std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
        fs::permissions(path, fs::perms::owner_all);
        daemon::CommandHook h;
        h.path = path.string();
        h.filesystems = daemon::all_filesystems();
        return h;
    }

    std::vector<std::string> snapshots(const std::string& filesystem) {
        auto vs = test::run(ctx_, zfs::list_versions(*runner_, filesystem));
        EXPECT_TRUE(vs.has_value()) << vs.error().message();
        std::vector<std::string> out;
        if (vs)
            for (const auto& v : *vs) out.push_back(v.name);
        return out;
    }

    boost::asio::io_context ctx_;
    fs::path dir_;
    std::unique_ptr<zfs::ZfsRunner> runner_;
    system_clock::time_point fake_now_ = at_unix(1715721383);  // 2024-05-14T21:16:23Z
    WallClock clock_ = [this] { return fake_now_; };
};

TEST_F(SnapshotterTest, RoundSnapshotsTheMatchedFilesystemsWithOneName) {
    Snapshotter s(*runner_, config(), clock_, Logger());
    test::run(ctx_, s.snapshot_round(fake_now_));
    const std::string name = "zrepl_20240514_211623_000";
    EXPECT_EQ(snapshots("p"), std::vector<std::string>{name});
    EXPECT_EQ(snapshots("p/a"), std::vector<std::string>{name});
    EXPECT_EQ(snapshots("p/a/b"), std::vector<std::string>{name});
    EXPECT_TRUE(snapshots("p/skip").empty()) << "the filter leaves p/skip out";
    const auto& r = s.report();
    EXPECT_EQ(r.done(), 3u);
    EXPECT_EQ(r.state, SnapshotterState::waiting);
    auto jv = boost::json::value_from(r);
    EXPECT_EQ(jv.at("filesystems").as_array().size(), 3u);
    EXPECT_EQ(jv.at("filesystems").at(1).at("snapshot").as_string(), name);
    EXPECT_EQ(jv.at("filesystems").at(1).at("state").as_string(), "done");
    EXPECT_EQ(jv.at("last_run_started_unix").as_int64(), 1715721383);

    // The same instant again: the names exist, each filesystem fails with zfs's reason.
    test::run(ctx_, s.snapshot_round(fake_now_));
    ASSERT_EQ(s.report().filesystems.size(), 3u);
    for (const auto& f : s.report().filesystems) {
        EXPECT_EQ(f.state, FilesystemSnapshotReport::State::failed) << f.filesystem;
        EXPECT_NE(f.error.find("dataset already exists"), std::string::npos) << f.error;
    }
}

TEST_F(SnapshotterTest, FatalPreHookSkipsOnlyItsFilesystemAndHooksSeeTheNames) {
    auto c = config();
    auto log = hook("log.sh",
                    "echo \"$ZREPL_HOOKTYPE $ZREPL_FS $ZREPL_SNAPNAME\" >> \"$(dirname \"$0\")/hooks.log\"");
    auto fatal = hook("fatal.sh", "exit 1");
    fatal.err_is_fatal = true;
    fatal.filesystems = {};
    ASSERT_TRUE(fatal.filesystems.add("p/a", true).has_value());
    c.hooks = {log, fatal};
    Snapshotter s(*runner_, std::move(c), clock_, Logger());
    test::run(ctx_, s.snapshot_round(fake_now_));
    EXPECT_TRUE(snapshots("p/a").empty()) << "the fatal pre hook for p/a keeps its snapshot from being taken";
    EXPECT_EQ(snapshots("p/a/b").size(), 1u) << "the hook's filter matches p/a only";
    const auto& fss = s.report().filesystems;
    ASSERT_EQ(fss.size(), 3u);
    EXPECT_EQ(fss[1].filesystem, "p/a");
    EXPECT_EQ(fss[1].state, FilesystemSnapshotReport::State::skipped_by_hook);
    EXPECT_EQ(fss[0].state, FilesystemSnapshotReport::State::done);
    std::ifstream in(dir_ / "hooks.log");
    std::string all((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(
        all,
        "pre_snapshot p zrepl_20240514_211623_000\npost_snapshot p zrepl_20240514_211623_000\n"
        "pre_snapshot p/a zrepl_20240514_211623_000\npost_snapshot p/a zrepl_20240514_211623_000\n"
        "pre_snapshot p/a/b zrepl_20240514_211623_000\npost_snapshot p/a/b zrepl_20240514_211623_000\n");
}

TEST_F(SnapshotterTest, DryRunTakesNothing) {
    auto c = config();
    c.dry_run = true;
    Snapshotter s(*runner_, std::move(c), clock_, Logger());
    test::run(ctx_, s.snapshot_round(fake_now_));
    EXPECT_EQ(s.report().done(), 3u);
    EXPECT_TRUE(snapshots("p/a").empty());
}

TEST_F(SnapshotterTest, PeriodicSyncUpAndAClockJumpGiveOneSnapshotEach) {
    // An existing snapshot with the prefix, taken (by zfs-sim) at the real time R.
    sh("snapshot p/a@zrepl_old");
    auto vs = test::run(ctx_, zfs::list_versions(*runner_, "p/a"));
    ASSERT_TRUE(vs.has_value());
    const std::int64_t r = vs->at(0).creation;
    fake_now_ = at_unix(r + 30);

    Snapshotter s(*runner_, config(), clock_, Logger());
    int rounds = 0;
    bool finished = false;
    boost::asio::cancellation_signal stop;
    ctx_.restart();  // the listing above ran the context out of work
    boost::asio::co_spawn(
        ctx_, s.run([&](const SnapshotterReport&) { ++rounds; }),
        boost::asio::bind_cancellation_slot(stop.slot(), [&](std::exception_ptr) { finished = true; }));
    // Runs the loop until `pred` holds, at most `bound` of real time.
    auto run_until = [&](auto pred, std::chrono::seconds bound) {
        const auto until = std::chrono::steady_clock::now() + bound;
        while (!pred() && std::chrono::steady_clock::now() < until)
            ctx_.run_one_for(std::chrono::milliseconds(50));
        return pred();
    };
    ASSERT_TRUE(
        run_until([&] { return s.report().state == SnapshotterState::waiting; }, std::chrono::seconds(20)))
        << "state " << to_string(s.report().state) << ", finished " << finished << ", error "
        << s.report().error;
    ASSERT_TRUE(s.report().sync_point.has_value());
    EXPECT_EQ(s.report().sync_point->time_since_epoch().count(), r + 60)
        << "lined up with the existing snapshot";
    // 50 looks at the clock later, still before the sync point: nothing taken.
    for (int i = 0; i < 50; ++i) ctx_.run_one_for(std::chrono::milliseconds(50));
    EXPECT_EQ(rounds, 0);

    fake_now_ = at_unix(r + 60);
    ASSERT_TRUE(run_until([&] { return rounds == 1 && s.report().state == SnapshotterState::waiting; },
                          std::chrono::seconds(20)));
    // A day's jump forward: one round, not 1440 of them.
    fake_now_ = at_unix(r + 60 + 86400);
    ASSERT_TRUE(run_until([&] { return rounds == 2 && s.report().state == SnapshotterState::waiting; },
                          std::chrono::seconds(20)));
    for (int i = 0; i < 50; ++i) ctx_.run_one_for(std::chrono::milliseconds(50));
    EXPECT_EQ(rounds, 2);
    ASSERT_TRUE(s.report().next_run.has_value());
    EXPECT_EQ(s.report().next_run->time_since_epoch().count(), r + 60 + 86400 + 60);

    stop.emit(boost::asio::cancellation_type::all);
    ASSERT_TRUE(run_until([&] { return finished; }, std::chrono::seconds(20)));
    EXPECT_EQ(s.report().state, SnapshotterState::stopped);
    EXPECT_EQ(snapshots("p/a").size(), 3u);  // zrepl_old + two rounds
}

TEST_F(SnapshotterTest, CronFiresAtEachActivationTheClockReaches) {
    // Every 10 s. The driver sleeps toward an activation and, woken at that very second, must
    // take it: asking the schedule again would name the next one (strictly after now).
    auto c = config();
    c.schedule = CronSchedule{*CronSpec::parse("*/10 * * * * *"), TimeZone::utc()};
    Snapshotter s(*runner_, std::move(c), clock_, Logger());
    int rounds = 0;
    bool finished = false;
    boost::asio::cancellation_signal stop;
    fake_now_ = at_unix(1715721381);  // 21:16:21, the next activation is :30
    boost::asio::co_spawn(
        ctx_, s.run([&](const SnapshotterReport&) { ++rounds; }),
        boost::asio::bind_cancellation_slot(stop.slot(), [&](std::exception_ptr) { finished = true; }));
    auto run_until = [&](auto pred) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!pred() && std::chrono::steady_clock::now() < until)
            ctx_.run_one_for(std::chrono::milliseconds(50));
        return pred();
    };
    ASSERT_TRUE(run_until([&] { return s.report().next_run.has_value(); }));
    EXPECT_EQ(s.report().next_run->time_since_epoch().count(), 1715721390);
    for (int i = 1; i <= 3; ++i) {
        fake_now_ = at_unix(1715721380 + 10 * i);  // exactly at :30, :40, :50
        ASSERT_TRUE(run_until([&] { return rounds == i && s.report().state == SnapshotterState::waiting; }))
            << "activation " << i << " was skipped";
        EXPECT_EQ(s.report().filesystems.at(0).snapshot,
                  "zrepl_20240514_2116" + std::to_string(20 + 10 * i) + "_000");
    }
    // Between activations nothing fires.
    fake_now_ = at_unix(1715721415);
    for (int i = 0; i < 50; ++i) ctx_.run_one_for(std::chrono::milliseconds(20));
    EXPECT_EQ(rounds, 3);
    stop.emit(boost::asio::cancellation_type::all);
    ASSERT_TRUE(run_until([&] { return finished; }));
}

}  // namespace
}  // namespace zferry::snapshotting
