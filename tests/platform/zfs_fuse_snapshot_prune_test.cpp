// The snapshotter, its hooks and the pruner on zfs-fuse: snapshot names (dense in UTC, a Go
// layout in a zone east of UTC) on the filesystems a filter matches, the periodic and cron
// schedules driven by the real wall clock and stopped by cancellation, hooks that see zrepl's
// environment and a fatal pre hook that keeps its filesystem from being snapshotted, and a
// pruning run over 200 snapshots that destroys exactly what the keep rules leave, keeps a held
// snapshot, plans in a dry run exactly what the real run then destroys, and costs one zfs
// invocation per listing and one per destroyed snapshot (zfs-fuse has no comma-list destroy).
#include "tests/platform/zfs_fuse_fixture.hpp"

#include "daemon/pruning/local_prune_target.hpp"
#include "daemon/snapshotting/snapshotter.hpp"
#include "daemon/snapshotting/zone_loader.hpp"
#include "zfs/listing_ops.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <regex>
#include <set>
#include <thread>

namespace zferry::platform {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using snapshotting::FilesystemSnapshotReport;
using snapshotting::Snapshotter;
using snapshotting::SnapshotterConfig;
using snapshotting::SnapshotterReport;
using snapshotting::SnapshotterState;
using std::chrono::system_clock;

// 2024-05-14T21:16:23.456Z: a fixed instant for rounds whose names the test knows in advance.
const system_clock::time_point kFixedNow = system_clock::time_point(std::chrono::milliseconds(1715721383456));

snapshotting::SnapshotNaming naming(const std::string& prefix, const std::string& layout,
                                    const snapshotting::TimeZone& zone) {
    auto format = snapshotting::TimestampFormat::make(layout, zone);
    EXPECT_TRUE(format.has_value()) << layout << ": " << format.error().message();
    auto n = snapshotting::SnapshotNaming::make(prefix, *format);
    EXPECT_TRUE(n.has_value()) << prefix << layout << ": " << n.error().message();
    return *n;
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p);
    return {std::istreambuf_iterator<char>(f), {}};
}

// A timestamp parsed back from a snapshot name whose format `re` captures as year, month, day,
// hour, minute, second and, if it has them, milliseconds (UTC).
std::optional<system_clock::time_point> parse_name(const std::string& name, const std::regex& re) {
    std::smatch m;
    if (!std::regex_match(name, m, re)) return std::nullopt;
    std::tm tm{};
    tm.tm_year = std::stoi(m[1]) - 1900;
    tm.tm_mon = std::stoi(m[2]) - 1;
    tm.tm_mday = std::stoi(m[3]);
    tm.tm_hour = std::stoi(m[4]);
    tm.tm_min = std::stoi(m[5]);
    tm.tm_sec = std::stoi(m[6]);
    const int ms = m.size() > 7 && m[7].matched ? std::stoi(m[7]) : 0;
    return system_clock::from_time_t(::timegm(&tm)) + std::chrono::milliseconds(ms);
}

class ZfsFuseSnapshotter : public ZfsFuse {
protected:
    // root, root/a, root/a/b and root/skip, the filter taking root's subtree without root/skip.
    void make_tree() {
        root_ = create(src_fs("root"));
        create(root_ + "/a");
        create(root_ + "/a/b");
        create(root_ + "/skip");
        matched_ = {root_, root_ + "/a", root_ + "/a/b"};
    }

    SnapshotterConfig config(snapshotting::SnapshotNaming n, snapshotting::Schedule schedule) {
        SnapshotterConfig c{"platform_job", {}, std::move(n), std::move(schedule)};
        EXPECT_TRUE(c.filesystems.add(root_ + "<", true).has_value());
        EXPECT_TRUE(c.filesystems.add(root_ + "/skip", false).has_value());
        return c;
    }

    std::vector<std::string> snapshots(const std::string& fs) { return names(versions(fs)); }

    daemon::CommandHook hook(const std::string& file, const std::string& body) {
        const auto path = tmp_ / file;
        std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
        fs::permissions(path, fs::perms::owner_all);
        daemon::CommandHook h;
        h.path = path.string();
        h.filesystems = daemon::all_filesystems();
        return h;
    }

    struct RunResult {
        std::vector<std::string> names;  // one per round, in order
        bool stopped = false;            // run() ended after the cancellation
        SnapshotterState state = SnapshotterState::starting;
    };

    // Runs `s.run()` on the real wall clock until `rounds` rounds have taken their snapshots
    // (at most 30 s), then cancels it while it waits for the next round and waits (at most
    // 30 s) for it to end. Every round must have snapshotted every matched filesystem.
    RunResult run_rounds(Snapshotter& s, std::size_t rounds) {
        RunResult result;
        bool finished = false;
        boost::asio::cancellation_signal stop;
        ctx_.restart();  // the listings before ran the context out of work
        boost::asio::co_spawn(
            ctx_, s.run([&](const SnapshotterReport& r) {
                EXPECT_EQ(r.filesystems.size(), matched_.size()) << r.error;
                EXPECT_EQ(r.done(), matched_.size()) << r.error;
                if (!r.filesystems.empty()) result.names.push_back(r.filesystems.front().snapshot);
            }),
            boost::asio::bind_cancellation_slot(stop.slot(), [&](std::exception_ptr) { finished = true; }));
        auto run_until = [&](auto pred) {
            const auto until = std::chrono::steady_clock::now() + 30s;
            while (!pred() && std::chrono::steady_clock::now() < until) ctx_.run_one_for(50ms);
            return pred();
        };
        // Waiting between rounds (not inside one), so no `zfs snapshot` is cut off by the
        // cancellation: on zfs-fuse a killed zfs client does not stop the daemon's snapshot.
        const bool enough = run_until([&] {
            return finished ||
                   (result.names.size() >= rounds && s.report().state == SnapshotterState::waiting);
        });
        EXPECT_TRUE(enough) << result.names.size() << " of " << rounds << " rounds in 30 s; state "
                            << to_string(s.report().state) << ", error '" << s.report().error << "'";
        EXPECT_FALSE(finished) << "run() ended before it was cancelled";
        stop.emit(boost::asio::cancellation_type::all);
        result.stopped = run_until([&] { return finished; });
        result.state = s.report().state;
        // Whatever the cancellation left queued (a killed timer, a reaped child) runs now, so
        // the listings that follow see the final state.
        ctx_.restart();
        ctx_.run_for(1500ms);
        return result;
    }

    // Every round's name is on every matched filesystem, nothing else is, and the excluded
    // filesystem has nothing.
    void expect_exactly(const std::vector<std::string>& round_names) {
        for (const auto& fs : matched_) EXPECT_EQ(snapshots(fs), round_names) << fs;
        EXPECT_TRUE(snapshots(root_ + "/skip").empty()) << "the filter excludes " << root_ << "/skip";
    }

    std::string root_;
    std::vector<std::string> matched_;
};

TEST_F(ZfsFuseSnapshotter, RoundNamesSnapshotsWithPrefixAndTimestampOnTheMatchedFilesystemsOnly) {
    make_tree();
    const auto utc = snapshotting::TimeZone::utc();
    Snapshotter dense(
        *runner_, config(naming("zferry_", "dense", utc), snapshotting::ManualSchedule{}),
        [] { return system_clock::now(); }, Logger());
    await(dense.snapshot_round(kFixedNow));
    EXPECT_EQ(dense.report().done(), 3u) << dense.report().error;

    // A Go layout in a zone east of UTC: the offset's '+' becomes '_' (no '+' in ZFS names).
    auto kolkata = snapshotting::load_time_zone("Asia/Kolkata");
    ASSERT_TRUE(kolkata.has_value()) << kolkata.error().message() << " (needs the tzdata package)";
    Snapshotter custom(
        *runner_,
        config(naming("custom-", "2006-01-02T15:04:05.000Z0700", *kolkata), snapshotting::ManualSchedule{}),
        [] { return system_clock::now(); }, Logger());
    await(custom.snapshot_round(kFixedNow));
    EXPECT_EQ(custom.report().done(), 3u) << custom.report().error;

    // dense is Go's "20060102_150405_000", whose "_000" is literal text in Go (only ".000" and
    // ",000" are fractions), so zrepl's dense names always end in _000, whatever the instant.
    expect_exactly({"zferry_20240514_211623_000", "custom-2024-05-15T02:46:23.456_0530"});
    for (const auto& f : custom.report().filesystems)
        EXPECT_EQ(f.state, FilesystemSnapshotReport::State::done) << f.filesystem << ": " << f.error;
}

TEST_F(ZfsFuseSnapshotter, PeriodicRunOnTheRealClockTakesARoundEverySecondUntilCancelled) {
    make_tree();
    Snapshotter s(
        *runner_,
        config(naming("zferry_", "dense", snapshotting::TimeZone::utc()), snapshotting::PeriodicSchedule{1s}),
        [] { return system_clock::now(); }, Logger());
    const auto started = system_clock::now();
    auto r = run_rounds(s, 3);
    const auto ended = system_clock::now();
    EXPECT_TRUE(r.stopped) << "run() did not end within 30 s of its cancellation";
    EXPECT_EQ(r.state, SnapshotterState::stopped);
    ASSERT_GE(r.names.size(), 3u);
    EXPECT_EQ(std::set<std::string>(r.names.begin(), r.names.end()).size(), r.names.size())
        << "every round has its own name";
    const std::regex dense(R"(zferry_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})_000)");
    for (const auto& n : r.names) {
        auto t = parse_name(n, dense);
        ASSERT_TRUE(t.has_value()) << n << " is not prefix + dense timestamp";
        // Taken during the run, by the wall clock (1 s of slack for clocks read at other points).
        EXPECT_GE(*t, started - 1s) << n;
        EXPECT_LE(*t, ended + 1s) << n;
    }
    expect_exactly(r.names);
}

TEST_F(ZfsFuseSnapshotter, CronEverySecondOnTheRealClockTakesRoundsUntilCancelled) {
    make_tree();
    // Six fields: zrepl's cron dialect takes an optional leading seconds field.
    auto spec = snapshotting::CronSpec::parse("* * * * * *");
    ASSERT_TRUE(spec.has_value()) << spec.error().message();
    Snapshotter s(
        *runner_,
        config(naming("cron_", "2006-01-02_15:04:05.000", snapshotting::TimeZone::utc()),
               snapshotting::CronSchedule{*spec, snapshotting::TimeZone::utc()}),
        [] { return system_clock::now(); }, Logger());
    const auto started = system_clock::now();
    auto r = run_rounds(s, 3);
    const auto ended = system_clock::now();
    EXPECT_TRUE(r.stopped) << "run() did not end within 30 s of its cancellation";
    EXPECT_EQ(r.state, SnapshotterState::stopped);
    ASSERT_GE(r.names.size(), 3u);
    const std::regex layout(R"(cron_(\d{4})-(\d{2})-(\d{2})_(\d{2}):(\d{2}):(\d{2})\.(\d{3}))");
    std::set<std::int64_t> seconds;
    for (const auto& n : r.names) {
        auto t = parse_name(n, layout);
        ASSERT_TRUE(t.has_value()) << n << " is not prefix + the Go layout";
        EXPECT_GE(*t, started - 1s) << n;
        EXPECT_LE(*t, ended + 1s) << n;
        seconds.insert(std::chrono::floor<std::chrono::seconds>(*t).time_since_epoch().count());
    }
    EXPECT_EQ(seconds.size(), r.names.size()) << "cron fires at most once per second";
    expect_exactly(r.names);
}

TEST_F(ZfsFuseSnapshotter, HooksSeeZreplsEnvironmentAndAFatalPreHookSkipsOnlyItsFilesystem) {
    make_tree();
    const std::string a = root_ + "/a";
    // One file per hook invocation, named after the edge and the filesystem: its ZREPL_
    // variables and whether the snapshot existed while the hook ran (pre: not yet; post: yes,
    // unless the snapshot was skipped).
    auto env =
        hook("env.sh", "out=\"" + tmp_.string() +
                           "/$ZREPL_HOOKTYPE.$(echo \"$ZREPL_FS\" | tr / %)\"\n"
                           "env | grep -E '^ZREPL_(DRYRUN|FS|HOOKTYPE|SNAPNAME|TIMEOUT)=' | "
                           "LC_ALL=C sort > \"$out\"\n"
                           "if zfs list -H -o name \"$ZREPL_FS@$ZREPL_SNAPNAME\" >/dev/null 2>&1; then\n"
                           "  echo snapshot=present >> \"$out\"\n"
                           "else\n"
                           "  echo snapshot=absent >> \"$out\"\n"
                           "fi");
    env.timeout = 17s;
    auto fatal =
        hook("fatal.sh", "echo \"$ZREPL_HOOKTYPE $ZREPL_FS\" >> \"" + tmp_.string() + "/fatal.log\"\nexit 3");
    fatal.err_is_fatal = true;
    fatal.filesystems = {};
    ASSERT_TRUE(fatal.filesystems.add(a, true).has_value());
    auto c =
        config(naming("zferry_", "dense", snapshotting::TimeZone::utc()), snapshotting::ManualSchedule{});
    c.hooks = {env, fatal};
    Snapshotter s(
        *runner_, std::move(c), [] { return system_clock::now(); }, Logger());
    await(s.snapshot_round(kFixedNow));

    const std::string name = "zferry_20240514_211623_000";
    EXPECT_EQ(snapshots(root_), std::vector<std::string>{name});
    EXPECT_TRUE(snapshots(a).empty())
        << "the fatal pre hook of " << a << " keeps its snapshot from being taken";
    EXPECT_EQ(snapshots(a + "/b"), std::vector<std::string>{name})
        << "the fatal hook's filter is " << a << " only";
    EXPECT_TRUE(snapshots(root_ + "/skip").empty());

    auto expected = [&](const std::string& type, const std::string& fs, bool present) {
        return "ZREPL_DRYRUN=\nZREPL_FS=" + fs + "\nZREPL_HOOKTYPE=" + type + "\nZREPL_SNAPNAME=" + name +
               "\nZREPL_TIMEOUT=17\nsnapshot=" + (present ? "present" : "absent") + "\n";
    };
    auto written = [&](const std::string& type, const std::string& fs) {
        std::string file = fs;
        std::replace(file.begin(), file.end(), '/', '%');
        return slurp(tmp_ / (type + "." + file));
    };
    for (const auto& fs : {root_, a + "/b"}) {
        EXPECT_EQ(written("pre_snapshot", fs), expected("pre_snapshot", fs, false));
        EXPECT_EQ(written("post_snapshot", fs), expected("post_snapshot", fs, true));
    }
    // The env hook's pre edge succeeded before the fatal one failed, so its post edge still
    // runs, and finds no snapshot.
    EXPECT_EQ(written("pre_snapshot", a), expected("pre_snapshot", a, false));
    EXPECT_EQ(written("post_snapshot", a), expected("post_snapshot", a, false));
    EXPECT_EQ(slurp(tmp_ / "fatal.log"), "pre_snapshot " + a + "\n")
        << "the fatal hook runs for its filesystem only, and its failed pre edge has no post edge";

    const auto& fss = s.report().filesystems;
    ASSERT_EQ(fss.size(), 3u);
    for (const auto& f : fss) {
        const auto want = f.filesystem == a ? FilesystemSnapshotReport::State::skipped_by_hook
                                            : FilesystemSnapshotReport::State::done;
        EXPECT_EQ(f.state, want) << f.filesystem << ": " << to_string(f.state) << " " << f.error;
    }
}

// The replication partner as a test double (zfs-fuse has no bookmarks, so no real cursor):
// its versions and the GUID its cursor points at are set by the test.
class FakePeer final : public pruning::PrunePeer {
public:
    std::vector<zfs::FilesystemVersion> versions;
    std::optional<std::uint64_t> cursor;
    boost::asio::awaitable<Result<std::vector<zfs::FilesystemVersion>>> list_versions(std::string) override {
        co_return versions;
    }
    boost::asio::awaitable<Result<std::optional<std::uint64_t>>> replication_cursor(std::string) override {
        co_return cursor;
    }
};

std::string snap_name(int i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "zf_%03d", i);
    return buf;
}

std::vector<pruning::KeepRule> keep_rules() {
    std::vector<pruning::KeepRuleConfig> configs{
        pruning::NotReplicatedConfig{},
        pruning::LastNConfig{10, "^zf_0"},
        pruning::GridConfig{"1x1h(keep=3)", "^zf_1[0-4][0-9]$"},
    };
    std::vector<pruning::KeepRule> out;
    for (const auto& c : configs) {
        auto r = pruning::KeepRule::make(c);
        EXPECT_TRUE(r.has_value()) << r.error().message();
        if (r) out.push_back(*r);
    }
    return out;
}

TEST_F(ZfsFuse, PruningTwoHundredSnapshotsDestroysWhatNoRuleKeepsSparesTheHeldOneAndMatchesItsDryRun) {
    const std::string fs = create(src_fs("prune"));
    const std::string other = create(src_fs("other"));
    for (int i = 0; i < 3; ++i) ok({"snapshot", other + "@" + snap_name(i)});
    // zf_000 .. zf_199, oldest first. They are taken within seconds, so creation times (whole
    // seconds) tie; the rules are chosen so that the expected set follows from the indices:
    // - not_replicated, cursor at zf_150: keeps zf_150 .. zf_199 (the cursor snapshot and newer);
    // - last_n 10 among ^zf_0 (zf_000 .. zf_099): keeps zf_090 .. zf_099 (newest by creation,
    //   ties broken by name descending, which is index order here);
    // - grid 1x1h(keep=3) among zf_100 .. zf_149: all lie in the one-hour bucket that ends at the
    //   newest of them, which keeps its 3 oldest: zf_100 .. zf_102. A pause of more than a second
    //   before zf_103 makes those three strictly older than the rest, so the result does not
    //   depend on how the grid breaks ties between equal creation times.
    // The held zf_050 is planned for destruction; zfs refuses it ("dataset is busy").
    for (int i = 0; i < 200; ++i) {
        if (i == 103) std::this_thread::sleep_for(1200ms);
        ok({"snapshot", fs + "@" + snap_name(i)});
    }
    ok({"hold", "platform_test", fs + "@zf_050"});
    // Released however the test ends, else the teardown's destroy finds the snapshot busy.
    struct Release {
        std::function<void()> release;
        ~Release() { release(); }
    } release{[&] { zfs({"release", "platform_test", fs + "@zf_050"}); }};

    std::set<std::string> kept_by_rules, expected_destroy;
    for (int i = 0; i < 200; ++i) {
        const bool kept = i >= 150 || (i >= 90 && i <= 99) || (i >= 100 && i <= 102);
        (kept ? kept_by_rules : expected_destroy).insert(snap_name(i));
    }
    ASSERT_EQ(expected_destroy.size(), 137u);

    const auto before = versions(fs);
    ASSERT_EQ(before.size(), 200u);
    FakePeer peer;
    peer.versions.assign(before.begin(), before.begin() + 151);  // the receiver has zf_000 .. zf_150
    peer.cursor = before[150].guid;
    ASSERT_EQ(before[150].name, "zf_150");

    replication::FilesystemFilter filter;
    ASSERT_TRUE(filter.add(fs, true).has_value());
    pruning::LocalPruneTarget target(*runner_, filter);
    auto config = [&](bool dry) {
        pruning::PrunerConfig c;
        c.job = "platform_job";
        c.side = "sender";
        c.rules = keep_rules();
        c.dry_run = dry;
        return c;
    };

    pruning::Pruner dry(target, &peer, config(true), Logger());
    await(dry.run());
    ASSERT_EQ(dry.report().state, pruning::PrunerReport::State::done) << dry.report().error;
    ASSERT_EQ(dry.report().completed.size(), 1u) << "only the filter's filesystem";
    const auto& dry_fs = dry.report().completed[0];
    EXPECT_TRUE(dry_fs.error.empty() && dry_fs.skip_reason.empty()) << dry_fs.error << dry_fs.skip_reason;
    const auto planned_list = dry_fs.plan.destroy_names();
    const std::set<std::string> planned(planned_list.begin(), planned_list.end());
    EXPECT_EQ(planned, expected_destroy);
    EXPECT_EQ(versions(fs).size(), 200u) << "a dry run destroys nothing";

    ASSERT_TRUE(await(runner_->capabilities()).has_value());  // probed before counting
    const auto invocations_before = runner_->invocations();
    pruning::Pruner real(target, &peer, config(false), Logger());
    await(real.run());
    const auto invocations = runner_->invocations() - invocations_before;
    ASSERT_EQ(real.report().completed.size(), 1u);
    const auto& real_fs = real.report().completed[0];
    EXPECT_EQ(real.report().state, pruning::PrunerReport::State::done) << real_fs.error;
    ASSERT_EQ(real_fs.refused.size(), 1u);
    EXPECT_EQ(real_fs.refused[0].snapshot, "zf_050");
    EXPECT_TRUE(real_fs.refused[0].held);
    EXPECT_EQ(real_fs.refused[0].reason, "dataset is busy");
    EXPECT_EQ(real.report().destroyed(), 136u);

    const auto after = versions(fs);
    std::set<std::string> remaining, gone;
    for (const auto& v : after) remaining.insert(v.name);
    for (const auto& v : before)
        if (!remaining.count(v.name)) gone.insert(v.name);
    std::set<std::string> expected_remaining = kept_by_rules;
    expected_remaining.insert("zf_050");
    EXPECT_EQ(remaining, expected_remaining);
    // The dry run's plan is what the real run destroyed, plus the held snapshot zfs refused.
    std::set<std::string> gone_or_refused = gone;
    gone_or_refused.insert("zf_050");
    EXPECT_EQ(planned, gone_or_refused);
    for (const auto& v : after) {
        if (v.name == "zf_050") {
            EXPECT_EQ(v.userrefs, std::optional<std::uint64_t>(1)) << "the hold stays";
        }
    }
    EXPECT_EQ(versions(other).size(), 3u) << "outside the filter: untouched";

    // One listing of the filesystems, one of the snapshots, then one `zfs destroy FS@snap` per
    // planned snapshot (136 destroyed, 1 refused): zfs-fuse takes no comma lists.
    const std::size_t listings = 2;
    EXPECT_EQ(invocations, listings + planned.size());
    std::cout << "zfs invocations of a pruning run on zfs-fuse (200 snapshots, " << planned.size()
              << " planned, " << gone.size() << " destroyed): " << invocations << "\n";
    RecordProperty("zfs_invocations", static_cast<int>(invocations));
}

}  // namespace
}  // namespace zferry::platform
