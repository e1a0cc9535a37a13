// The pruner on zfs-sim: keep rules applied to real listings, batched destroys, held snapshots
// reported and kept, the newest common snapshot and snapshots in use protected, nothing
// outside the job's filesystems touched, no pruning without a replication cursor, and a dry
// run that plans exactly what a real run then destroys.
#include "daemon/pruning/local_prune_target.hpp"

#include "tests/integration/test_support.hpp"
#include "zfs/listing_ops.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>

namespace zferry::pruning {
namespace {

namespace fs = std::filesystem;

// The other side, as a test double: its versions and the cursor's GUID are set by the test.
class FakePeer final : public PrunePeer {
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

std::string slurp(const fs::path& p) {
    std::ifstream f(p);
    return {std::istreambuf_iterator<char>(f), {}};
}
std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
}

class PrunerTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/zferry-pruner-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        zfs::ZfsRunnerOptions o;
        o.binary = ZFS_SIM_BIN;
        // zfs-sim refuses a name not preceded by "--": zferry never lets zfs read one as an option.
        o.env = {{"ZFS_SIM_STATE", (dir_ / "state").string()},
                 {"ZFS_SIM_LOG", (dir_ / "zfs.log").string()},
                 {"ZFS_SIM_REQUIRE_END_OF_OPTIONS", "1"}};
        runner_ = std::make_unique<zfs::ZfsRunner>(ctx_.get_executor(), std::move(o));
        sh("sim-create-pool p && $Z create p/a && $Z create p/other && $Z create -o zrepl:placeholder=on "
           "p/ph");
        for (int i = 1; i <= 6; ++i)
            sh("snapshot p/a@s" + std::to_string(i) + " && $Z snapshot p/other@s" + std::to_string(i));
        ASSERT_TRUE(filter_.add("p<", true).has_value());
        ASSERT_TRUE(filter_.add("p/other", false).has_value());
    }
    void TearDown() override {
        runner_.reset();
        fs::remove_all(dir_);
    }
    void sh(const std::string& cmds) {
        const std::string cmd = "Z=" ZFS_SIM_BIN " ZFS_SIM_STATE=" + (dir_ / "state").string() +
                                " bash -c '$Z " + cmds + "' >/dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmds;
    }
    std::vector<zfs::FilesystemVersion> versions(const std::string& f) {
        auto vs = test::run(ctx_, zfs::list_versions(*runner_, f));
        EXPECT_TRUE(vs.has_value()) << vs.error().message();
        return vs ? *vs : std::vector<zfs::FilesystemVersion>{};
    }
    std::vector<std::string> names(const std::string& f) {
        std::vector<std::string> out;
        for (const auto& v : versions(f)) out.push_back(v.name);
        return out;
    }
    static std::vector<KeepRule> rules(std::vector<KeepRuleConfig> configs) {
        std::vector<KeepRule> out;
        for (const auto& c : configs) out.push_back(*KeepRule::make(c));
        return out;
    }
    PrunerConfig config(std::vector<KeepRuleConfig> r, std::string side = "local") {
        PrunerConfig c;
        c.job = "job1";
        c.side = std::move(side);
        c.rules = rules(std::move(r));
        return c;
    }

    boost::asio::io_context ctx_;
    fs::path dir_;
    std::unique_ptr<zfs::ZfsRunner> runner_;
    replication::FilesystemFilter filter_;
};

TEST_F(PrunerTest, SnapJobKeepsTheNewestAndOnlyTouchesItsFilesystemsInOneDestroy) {
    LocalPruneTarget target(*runner_, filter_);
    Pruner pruner(target, nullptr, config({LastNConfig{2, ""}}), Logger());
    fs::remove(dir_ / "zfs.log");
    test::run(ctx_, pruner.run());
    const auto log = slurp(dir_ / "zfs.log");
    const auto& r = pruner.report();
    EXPECT_EQ(r.state, PrunerReport::State::done) << r.error;
    ASSERT_EQ(r.completed.size(), 2u) << "p and p/a; p/other is outside the filter and p/ph a placeholder";
    EXPECT_EQ(r.completed[0].filesystem, "p");
    EXPECT_EQ(r.completed[1].filesystem, "p/a");
    EXPECT_EQ(names("p/a"), (std::vector<std::string>{"s5", "s6"}));
    EXPECT_EQ(names("p/other").size(), 6u) << "outside the job: untouched";
    EXPECT_EQ(r.destroyed(), 4u);
    // Four snapshots of p/a in one batched destroy; one listing of all filesystems.
    EXPECT_EQ(count(log, "\"destroy\",\"--\",\"p"), 1u) << log;  // (the capability probe runs a bare destroy)
    EXPECT_NE(log.find("\"p/a@s1,s2,s3,s4\""), std::string::npos) << log;
    EXPECT_EQ(count(log, "\"-t\",\"filesystem,volume\""), 1u) << log;
    auto jv = boost::json::value_from(r);
    EXPECT_EQ(jv.at("State").as_string(), "Done");
    EXPECT_EQ(jv.at("Completed").at(1).at("DestroyList").as_array().size(), 4u);
}

TEST_F(PrunerTest, HeldSnapshotIsReportedAndKeptAndDryRunPlansWhatARunDestroys) {
    sh("hold zrepl_STEP_J_job1 p/a@s2");
    LocalPruneTarget target(*runner_, filter_);
    auto dry_config = config({LastNConfig{2, ""}});
    dry_config.dry_run = true;
    Pruner dry(target, nullptr, dry_config, Logger());
    test::run(ctx_, dry.run());
    EXPECT_EQ(names("p/a").size(), 6u) << "a dry run destroys nothing";
    const auto planned = dry.report().completed.at(1).plan.destroy_names();
    EXPECT_EQ(planned, (std::vector<std::string>{"s1", "s2", "s3", "s4"}));

    Pruner real(target, nullptr, config({LastNConfig{2, ""}}), Logger());
    test::run(ctx_, real.run());
    const auto& fsr = real.report().completed.at(1);
    EXPECT_EQ(fsr.plan.destroy_names(), planned) << "the dry run planned what the run did";
    ASSERT_EQ(fsr.refused.size(), 1u);
    EXPECT_EQ(fsr.refused[0].snapshot, "s2");
    EXPECT_TRUE(fsr.refused[0].held);
    EXPECT_EQ(fsr.refused[0].reason, "dataset is busy");
    EXPECT_EQ(names("p/a"), (std::vector<std::string>{"s2", "s5", "s6"}))
        << "the held snapshot stays, its hold too";
    EXPECT_EQ(versions("p/a").at(0).userrefs, 1u);
}

TEST_F(PrunerTest, ReceiverSideNeedsTheCursorAndProtectsTheNewestCommonSnapshot) {
    LocalPruneTarget target(*runner_, filter_);
    FakePeer peer;
    const auto mine = versions("p/a");
    Pruner no_cursor(target, &peer, config({NotReplicatedConfig{}, LastNConfig{1, ""}}, "receiver"),
                     Logger());
    test::run(ctx_, no_cursor.run());
    EXPECT_EQ(
        no_cursor.report().completed.at(1).skip_reason,
        "replication cursor bookmark does not exist (one successful replication is required before pruning "
        "works)");
    EXPECT_EQ(names("p/a").size(), 6u);

    // The sender has s1..s3 (same GUIDs), its cursor at s3: s1 and s2 are replicated. Rules
    // alone would keep s3..s6 (not replicated) and s6 (last_n), so s1 and s2 go. The newest
    // common snapshot is s3: protected anyway.
    peer.versions.assign(mine.begin(), mine.begin() + 3);
    peer.cursor = mine[2].guid;
    Pruner pruner(target, &peer, config({NotReplicatedConfig{}, LastNConfig{1, ""}}, "receiver"), Logger());
    test::run(ctx_, pruner.run());
    EXPECT_EQ(names("p/a"), (std::vector<std::string>{"s3", "s4", "s5", "s6"}));
    const auto& plan = pruner.report().completed.at(1).plan;
    ASSERT_EQ(plan.decisions.size(), 6u);
    EXPECT_EQ(plan.decisions[2].protected_reason,
              "newest snapshot common to both sides (the next incremental starts here)");

    // A cursor whose snapshot the target does not have: nothing can be known, nothing pruned.
    peer.cursor = 12345;
    Pruner lost(target, &peer, config({NotReplicatedConfig{}}, "receiver"), Logger());
    test::run(ctx_, lost.run());
    EXPECT_FALSE(lost.report().completed.at(1).skip_reason.empty());
    EXPECT_EQ(names("p/a").size(), 4u);
}

TEST_F(PrunerTest, SnapshotsInUseAndTheCommonOneSurviveRulesThatKeepNothing) {
    LocalPruneTarget target(*runner_, filter_);
    FakePeer peer;
    const auto mine = versions("p/a");
    peer.versions = {mine[3]};  // s4 is on both sides
    peer.cursor = mine[5].guid;
    auto c = config({RegexConfig{"^nothing-matches$", false}}, "sender");
    c.in_use = [](const std::string& f) {
        return f == "p/a" ? std::vector<ProtectedSnapshot>{{"s5", "from of an active step"}}
                          : std::vector<ProtectedSnapshot>{};
    };
    Pruner pruner(target, &peer, c, Logger());
    test::run(ctx_, pruner.run());
    EXPECT_EQ(names("p/a"), (std::vector<std::string>{"s4", "s5"}));
}

TEST_F(PrunerTest, ZeroRulesDestroyNothing) {
    LocalPruneTarget target(*runner_, filter_);
    Pruner pruner(target, nullptr, config({}), Logger());
    test::run(ctx_, pruner.run());
    EXPECT_EQ(names("p/a").size(), 6u);
    EXPECT_EQ(pruner.report().destroyed(), 0u);
}

TEST_F(PrunerTest, DestroyOutsideTheFilterIsRefused) {
    LocalPruneTarget target(*runner_, filter_);
    auto r = test::run(ctx_, target.destroy_snapshots("p/other", {"s1"}));
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("not one of the job's filesystems"), std::string::npos);
    EXPECT_EQ(names("p/other").size(), 6u);
}

}  // namespace
}  // namespace zferry::pruning
