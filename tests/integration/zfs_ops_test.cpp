// The asynchronous zfs operations (listing, properties, placeholders, holds, bookmarks, batch
// destroy, rollback, recv -A) against zfs-sim: results, idempotency, the errors and their
// codes, invocation counts, and the degraded paths on a zfs that answers like zfs-fuse.
#include "zfs/zfs_ops.hpp"

#include "tests/integration/test_support.hpp"
#include "tests/unit/zfs_recorded_outputs.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace zferry::zfs {
namespace {

namespace fs = std::filesystem;
namespace rec = zferry::test::recorded;

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

std::string trim_nl(std::string s) {
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

// A zfs that answers like zfs-fuse 0.7.0 (recorded usage texts and refusals) where zfs-fuse
// differs from OpenZFS, and otherwise runs zfs-sim.
constexpr const char* kFuseLikeScript = R"SH(#!/bin/bash
R="$(dirname "$0")/recorded"
Z="$ZFS_SIM_BIN"
cmd=$1
case "$cmd" in
  send)
    [ $# -eq 1 ] && { cat "$R/send_usage" >&2; exit 2; } ;;
  receive|recv)
    [ $# -eq 1 ] && { cat "$R/receive_usage" >&2; exit 2; }
    for a in "${@:2}"; do case "$a" in -A|-s|-o|-x) echo "invalid option '${a#-}'" >&2; tail -n +2 "$R/receive_usage" >&2; exit 2;; esac; done ;;
  destroy)
    [ $# -eq 1 ] && { cat "$R/destroy_usage" >&2; exit 2; }
    last=${!#}
    case "$last" in *@*,*|*@*%*) echo "cannot open '$last': invalid dataset name" >&2; exit 1;; esac
    err=$("$Z" "$@" 2>&1 >/dev/null); rc=$?
    if [ $rc -ne 0 ]; then
      if [[ "$err" == *"could not find any snapshots"* ]]; then echo "cannot open '$last': dataset does not exist" >&2
      else printf '%s\n' "$err" | sed -E "s/^cannot destroy snapshot ([^:]*): /cannot destroy '\1': /" >&2; fi
    fi
    exit $rc ;;
  list)
    for a in "${@:2}"; do
      case "$a" in -*p*) [[ "$a" == -[A-Za-z]* ]] && { cat "$R/list_invalid_p" >&2; exit 2; } ;; esac
      case "$a" in *bookmark*) echo "invalid type 'bookmark'" >&2; exit 2;; esac
    done ;;
  get)
    for a in "${@:2}"; do
      case "$a" in -t) echo "invalid option 't'" >&2; exit 2;; esac
      case "$a" in *receive_resume_token*|*encryption*) cat "$R/bad_property_encryption" >&2; exit 2;; esac
    done ;;
  set)
    n=0; for a in "${@:2}"; do case "$a" in *=*) n=$((n+1)); [ $n -gt 1 ] && { echo "cannot open '$a': invalid dataset name" >&2; exit 1; };; esac; done ;;
  create)
    for a in "${@:2}"; do case "$a" in encryption=*) echo "cannot create '${!#}': invalid property 'encryption'" >&2; exit 1;; esac; done ;;
  bookmark)
    cat "$R/bookmark_unrecognized" >&2; exit 2 ;;
  holds)
    cat "$R/holds_pyzfs" >&2; exit 255 ;;
esac
exec "$Z" "$@"
)SH";

class ZfsOps : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/zfs-ops-test-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        state_ = (dir_ / "state").string();
        ::setenv("ZFS_SIM_STATE", state_.c_str(), 1);
        ::setenv("ZFS_SIM_BIN", ZFS_SIM_BIN, 1);
        ::setenv("Z", ZFS_SIM_BIN, 1);
        ::setenv("T", dir_.c_str(), 1);
        for (const char* v :
             {"ZFS_SIM_FAIL_SEND_AFTER", "ZFS_SIM_STALL_SEND_AFTER", "ZFS_SIM_FAIL_RECV_AFTER",
              "ZFS_SIM_STALL_RECV_AFTER", "ZFS_SIM_FAIL_SUBCOMMAND", "ZFS_SIM_LOG"})
            ::unsetenv(v);
        runner_ = make_runner(ZFS_SIM_BIN);
    }
    void TearDown() override {
        runner_.reset();
        fs::remove_all(dir_);
    }

    std::unique_ptr<ZfsRunner> make_runner(const std::string& binary,
                                           std::vector<std::pair<std::string, std::string>> extra_env = {}) {
        ZfsRunnerOptions o;
        o.binary = binary;
        // zfs-sim refuses a name not preceded by "--": zferry never lets zfs read one as an option.
        o.env = {
            {"ZFS_SIM_STATE", state_}, {"ZFS_SIM_BIN", ZFS_SIM_BIN}, {"ZFS_SIM_REQUIRE_END_OF_OPTIONS", "1"}};
        for (auto& e : extra_env) o.env.push_back(std::move(e));
        return std::make_unique<ZfsRunner>(ctx_.get_executor(), std::move(o));
    }

    // The zfs-fuse lookalike (see kFuseLikeScript) with the recorded texts beside it.
    std::unique_ptr<ZfsRunner> make_fuse_like_runner() {
        fs::create_directories(dir_ / "recorded");
        auto put = [&](const char* name, std::string_view text) {
            std::ofstream(dir_ / "recorded" / name) << text;
        };
        put("send_usage", rec::kZfsFuseSendUsage);
        put("receive_usage", rec::kZfsFuseReceiveUsage);
        put("destroy_usage", rec::kZfsFuseDestroyUsage);
        put("list_invalid_p", rec::kZfsFuseListInvalidP);
        put("bookmark_unrecognized", rec::kZfsFuseBookmarkUnrecognized);
        put("holds_pyzfs", rec::kZfsFuseHoldsPyzfs);
        put("bad_property_encryption", rec::kZfsFuseBadPropertyEncryption);
        const auto script = dir_ / "zfs-fuse-like";
        std::ofstream(script) << kFuseLikeScript;
        fs::permissions(script, fs::perms::owner_all);
        return make_runner(script.string());
    }

    template <class T>
    T run(boost::asio::awaitable<T> a) {
        return zferry::test::run(ctx_, std::move(a));
    }

    // Runs a bash script ($Z is zfs-sim, $T the test's temp dir); returns stdout, fails on rc≠0.
    std::string sh(const std::string& script) {
        std::ofstream(dir_ / "script.sh") << script << "\n";
        std::string cmd = "bash " + (dir_ / "script.sh").string() + " </dev/null >" +
                          (dir_ / "out").string() + " 2>" + (dir_ / "err").string();
        int st = std::system(cmd.c_str());
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << script << "\nstderr: " << slurp(dir_ / "err");
        return slurp(dir_ / "out");
    }
    std::string prop(const std::string& ds, const std::string& p) {
        return trim_nl(sh("$Z get -Hp -o value " + p + " '" + ds + "'"));
    }

    // Invocations of `f` on `r`, after the capability probes have been made and cached.
    template <class F>
    std::size_t invocations(ZfsRunner& r, F&& f) {
        EXPECT_TRUE(run(r.capabilities()).has_value());
        const auto before = r.invocations();
        f();
        return r.invocations() - before;
    }

    boost::asio::io_context ctx_;
    fs::path dir_;
    std::string state_;
    std::unique_ptr<ZfsRunner> runner_;
};

// ---- listing ---------------------------------------------------------------------------

TEST_F(ZfsOps, ListFilesystemsWithPropertiesInOneInvocation) {
    sh("$Z sim-create-pool p && $Z create -o zrepl:placeholder=on p/a && $Z create p/a/b && $Z create p/c");
    Result<std::vector<FilesystemListEntry>> r;
    EXPECT_EQ(invocations(*runner_,
                          [&] {
                              r = run(list_filesystems(*runner_, "p", {"zrepl:placeholder", "guid"}));
                          }),
              1u);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    ASSERT_EQ(r->size(), 4u);
    EXPECT_EQ((*r)[0].name, "p");
    EXPECT_EQ((*r)[1].name, "p/a");
    EXPECT_EQ((*r)[1].values.at(0), "on");
    EXPECT_EQ((*r)[2].values.at(0), "on");  // inherited: listing shows values, not sources
    EXPECT_EQ((*r)[3].values.at(0), "-");
    EXPECT_EQ((*r)[1].values.at(1), prop("p/a", "guid"));

    auto all = run(list_filesystems(*runner_, "", {}));
    ASSERT_TRUE(all.has_value()) << all.error().message();
    EXPECT_EQ(all->size(), 4u);

    auto missing = run(list_filesystems(*runner_, "p/nope", {}));
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code(), ZfsErrc::dataset_not_found);
    EXPECT_NE(missing.error().message().find("p/nope does not exist"), std::string::npos)
        << missing.error().message();
}

TEST_F(ZfsOps, ListVersionsOfOneFilesystemAndRecursively) {
    sh("$Z sim-create-pool p && $Z create p/a && $Z create p/a/b && $Z snapshot -r p/a@s1 && $Z snapshot "
       "p/a@s2 && "
       "$Z bookmark p/a@s1 p/a#b1 && $Z hold t p/a@s2");
    Result<std::vector<FilesystemVersion>> own;
    EXPECT_EQ(invocations(*runner_, [&] { own = run(list_versions(*runner_, "p/a")); }), 1u);
    ASSERT_TRUE(own.has_value()) << own.error().message();
    ASSERT_EQ(own->size(), 3u);
    for (const auto& v : *own) EXPECT_EQ(v.filesystem, "p/a");
    const auto& s1 = own->front().type == VersionType::snapshot ? (*own)[0] : (*own)[1];
    const auto& b1 = own->front().type == VersionType::snapshot ? (*own)[1] : (*own)[0];
    EXPECT_EQ(s1.name, "s1");
    EXPECT_EQ(b1.name, "b1");
    EXPECT_EQ(b1.type, VersionType::bookmark);
    EXPECT_TRUE(b1.same_identity(s1));
    EXPECT_FALSE(b1.userrefs.has_value());
    EXPECT_EQ(s1.guid, std::stoull(prop("p/a@s1", "guid")));
    EXPECT_EQ((*own)[2].name, "s2");
    EXPECT_EQ((*own)[2].userrefs, 1u);

    Result<std::vector<FilesystemVersion>> all;
    EXPECT_EQ(invocations(*runner_, [&] { all = run(list_versions(*runner_, "p", {.recursive = true})); }),
              1u);
    ASSERT_TRUE(all.has_value()) << all.error().message();
    auto by_fs = group_by_filesystem(*all);
    ASSERT_EQ(by_fs.size(), 2u);
    EXPECT_EQ(by_fs["p/a"].size(), 3u);
    ASSERT_EQ(by_fs["p/a/b"].size(), 1u);
    EXPECT_EQ(by_fs["p/a/b"][0].createtxg, s1.createtxg);  // snapshot -r: one txg

    auto snaps = run(list_versions(*runner_, "p/a", {.bookmarks = false}));
    ASSERT_TRUE(snaps.has_value());
    EXPECT_EQ(snaps->size(), 2u);
    auto bms = run(list_versions(*runner_, "p/a", {.snapshots = false}));
    ASSERT_TRUE(bms.has_value());
    ASSERT_EQ(bms->size(), 1u);
    EXPECT_EQ(bms->at(0).name, "b1");

    auto missing = run(list_versions(*runner_, "p/nope"));
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code(), ZfsErrc::dataset_not_found);
    EXPECT_NE(missing.error().message().find("p/nope"), std::string::npos);

    const auto before = runner_->invocations();
    auto bad = run(list_versions(*runner_, "p/a@s1"));
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code(), Errc::invalid_argument);
    EXPECT_EQ(runner_->invocations(), before);  // refused before running zfs
}

// The acceptance criterion of the listing: the cost does not grow with the tree.
TEST_F(ZfsOps, ListingATreeCostsAConstantNumberOfInvocations) {
    constexpr unsigned kFs = 50, kSnaps = 10;
    sh("$Z sim-create-pool big && for i in $(seq 1 " + std::to_string(kFs) +
       "); do $Z create big/fs$i || exit 1; done && $Z snapshot -r $(for j in $(seq 1 " +
       std::to_string(kSnaps) + "); do echo big@s$j; done)");
    Result<std::vector<FilesystemListEntry>> fss;
    Result<std::vector<FilesystemVersion>> versions;
    auto n = invocations(*runner_, [&] {
        fss = run(list_filesystems(*runner_, "big", {"zrepl:placeholder"}));
        versions = run(list_versions(*runner_, "big", {.recursive = true}));
    });
    EXPECT_EQ(n, 2u);
    ASSERT_TRUE(fss.has_value()) << fss.error().message();
    ASSERT_TRUE(versions.has_value()) << versions.error().message();
    EXPECT_EQ(fss->size(), kFs + 1);
    EXPECT_EQ(versions->size(), (kFs + 1) * kSnaps);
    EXPECT_EQ(group_by_filesystem(*versions).size(), kFs + 1);

    // The same on the zfs-fuse path (zfs get -Hp instead of list -p).
    auto fuse = make_fuse_like_runner();
    Result<std::vector<FilesystemVersion>> fuse_versions;
    n = invocations(*fuse, [&] { fuse_versions = run(list_versions(*fuse, "big", {.recursive = true})); });
    EXPECT_EQ(n, 1u);
    ASSERT_TRUE(fuse_versions.has_value()) << fuse_versions.error().message();
    EXPECT_EQ(*fuse_versions, *versions);
}

// ---- properties and placeholders -----------------------------------------------------

TEST_F(ZfsOps, PropertiesWithSources) {
    sh("$Z sim-create-pool p && $Z sim-create-pool q && $Z create p/a && $Z create p/a/b && "
       "$Z set user:x=1 p/a && $Z snapshot p/a@s1 && $Z send -p p/a@s1 | $Z recv q/a");
    const std::vector<std::string> props = {"user:x", "mountpoint", "user:unset"};
    auto r = run(get_properties(*runner_, "p/a", props, {.recursive = true}));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    ASSERT_EQ(r->size(), 3u);  // p/a, p/a@s1, p/a/b
    EXPECT_EQ(r->at(0).find("user:x")->source, PropertySource::local);
    EXPECT_EQ(r->at(0).find("mountpoint")->source, PropertySource::default_value);
    EXPECT_EQ(r->at(0).find("user:unset")->source, PropertySource::none);
    const auto& child = r->back();
    EXPECT_EQ(child.name, "p/a/b");
    EXPECT_EQ(child.find("user:x")->source, PropertySource::inherited);
    EXPECT_EQ(child.find("user:x")->inherited_from, "p/a");
    EXPECT_EQ(child.find("user:x", static_cast<unsigned>(PropertySource::local)), nullptr);

    auto fs_only =
        run(get_properties(*runner_, "p", {"user:x"}, {.recursive = true, .filesystems_only = true}));
    ASSERT_TRUE(fs_only.has_value()) << fs_only.error().message();
    EXPECT_EQ(fs_only->size(), 3u);  // p, p/a, p/a/b

    auto received = run(get_property(*runner_, "q/a", "user:x"));
    ASSERT_TRUE(received.has_value()) << received.error().message();
    EXPECT_EQ(received->value, "1");
    EXPECT_EQ(received->source, PropertySource::received);

    auto missing = run(get_property(*runner_, "p/nope", "user:x"));
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code(), ZfsErrc::dataset_not_found);
    auto bogus = run(get_property(*runner_, "p/a", "bogus"));
    ASSERT_FALSE(bogus.has_value());
    EXPECT_EQ(bogus.error().code(), ZfsErrc::unsupported);
    EXPECT_NE(bogus.error().message().find("'bogus'"), std::string::npos) << bogus.error().message();
}

TEST_F(ZfsOps, SetPropertiesInOneInvocationAndIdempotently) {
    sh("$Z sim-create-pool p && $Z create p/a");
    std::vector<std::pair<std::string, std::string>> kv = {{"user:a", "1"}, {"user:b", "two words"}};
    Result<void> r;
    EXPECT_EQ(invocations(*runner_, [&] { r = run(set_properties(*runner_, "p/a", kv)); }), 1u);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    r = run(set_properties(*runner_, "p/a", kv));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(prop("p/a", "user:a"), "1");
    EXPECT_EQ(prop("p/a", "user:b"), "two words");

    auto missing = run(set_properties(*runner_, "p/nope", kv));
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code(), ZfsErrc::dataset_not_found);
    auto bad = run(set_properties(*runner_, "p/a", {{"-bad", "1"}}));
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code(), Errc::invalid_argument);
}

TEST_F(ZfsOps, Placeholders) {
    sh("$Z sim-create-pool p");
    auto created = run(create_placeholder(*runner_, "p/ph", PlaceholderEncryption::off));
    ASSERT_TRUE(created.has_value()) << created.error().message();
    EXPECT_EQ(prop("p/ph", "encryption"), "off");
    EXPECT_EQ(prop("p/ph", "mountpoint"), "none");
    auto st = run(get_placeholder_state(*runner_, "p/ph"));
    ASSERT_TRUE(st.has_value()) << st.error().message();
    EXPECT_TRUE(st->exists);
    EXPECT_TRUE(st->is_placeholder);
    EXPECT_EQ(st->raw_local_value, "on");

    auto again = run(create_placeholder(*runner_, "p/ph", PlaceholderEncryption::inherit));
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().code(), ZfsErrc::dataset_exists);
    auto orphan = run(create_placeholder(*runner_, "p/no/child", PlaceholderEncryption::inherit));
    ASSERT_FALSE(orphan.has_value());
    EXPECT_EQ(orphan.error().code(), ZfsErrc::dataset_not_found);
    EXPECT_NE(orphan.error().message().find("p/no"), std::string::npos) << orphan.error().message();

    // Children inherit the property but are not placeholders.
    sh("$Z create p/ph/child");
    st = run(get_placeholder_state(*runner_, "p/ph/child"));
    ASSERT_TRUE(st.has_value());
    EXPECT_TRUE(st->exists);
    EXPECT_FALSE(st->is_placeholder);
    EXPECT_EQ(st->raw_local_value, "");

    ASSERT_TRUE(run(set_placeholder(*runner_, "p/ph", false)).has_value());
    ASSERT_TRUE(run(set_placeholder(*runner_, "p/ph", false)).has_value());
    st = run(get_placeholder_state(*runner_, "p/ph"));
    ASSERT_TRUE(st.has_value());
    EXPECT_FALSE(st->is_placeholder);
    EXPECT_EQ(st->raw_local_value, "off");

    // zrepl 0.0.x wrote a hash of the dataset name.
    sh("$Z set zrepl:placeholder=" + legacy_placeholder_value("p/ph") + " p/ph");
    st = run(get_placeholder_state(*runner_, "p/ph"));
    ASSERT_TRUE(st.has_value());
    EXPECT_TRUE(st->is_placeholder);

    st = run(get_placeholder_state(*runner_, "p/nope"));
    ASSERT_TRUE(st.has_value()) << st.error().message();
    EXPECT_FALSE(st->exists);
    EXPECT_FALSE(st->is_placeholder);
}

// ---- holds -----------------------------------------------------------------------------

TEST_F(ZfsOps, HoldAndReleaseAreIdempotent) {
    sh("$Z sim-create-pool p && $Z create p/a && $Z snapshot p/a@s1 p/a@s2 p/a@s3");
    ASSERT_TRUE(run(hold(*runner_, "p/a@s1", "zrepl_STEP_J_job")).has_value());
    auto twice = run(hold(*runner_, "p/a@s1", "zrepl_STEP_J_job"));
    ASSERT_TRUE(twice.has_value()) << twice.error().message();
    ASSERT_TRUE(run(hold(*runner_, "p/a@s2", "zrepl_last_received_J_sink job")).has_value());
    EXPECT_EQ(prop("p/a@s1", "userrefs"), "1");

    auto holds = run(list_holds(*runner_, {"p/a@s1", "p/a@s2", "p/a@s3"}));
    ASSERT_TRUE(holds.has_value()) << holds.error().message();
    ASSERT_EQ(holds->size(), 3u);
    EXPECT_EQ(holds->at(0), (SnapshotHolds{"p/a@s1", 1, true, {"zrepl_STEP_J_job"}}));
    EXPECT_EQ(holds->at(1), (SnapshotHolds{"p/a@s2", 1, true, {"zrepl_last_received_J_sink job"}}));
    EXPECT_EQ(holds->at(2), (SnapshotHolds{"p/a@s3", 0, true, {}}));

    // Absent tags and absent snapshots are success.
    auto rel = run(release(*runner_, "zrepl_STEP_J_job", {"p/a@s1", "p/a@s2", "p/a@gone"}));
    ASSERT_TRUE(rel.has_value()) << rel.error().message();
    EXPECT_EQ(prop("p/a@s1", "userrefs"), "0");
    EXPECT_EQ(prop("p/a@s2", "userrefs"), "1");
    rel = run(release(*runner_, "zrepl_STEP_J_job", {"p/a@s1"}));
    ASSERT_TRUE(rel.has_value()) << rel.error().message();
    rel = run(release(*runner_, "zrepl_STEP_J_job", {"p/nope@s1"}));
    ASSERT_TRUE(rel.has_value()) << rel.error().message();

    auto missing = run(hold(*runner_, "p/a@gone", "t"));
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code(), ZfsErrc::dataset_not_found);
    auto missing_list = run(list_holds(*runner_, {"p/a@gone"}));
    ASSERT_FALSE(missing_list.has_value());
    EXPECT_EQ(missing_list.error().code(), ZfsErrc::dataset_not_found);
    auto bad_tag = run(hold(*runner_, "p/a@s1", std::string(256, 'x')));
    ASSERT_FALSE(bad_tag.has_value());
    EXPECT_EQ(bad_tag.error().code(), Errc::invalid_argument);
}

TEST_F(ZfsOps, ReleaseIsBatched) {
    std::string names;
    for (int i = 0; i < 40; ++i) names += " p/a@snapshot_with_a_longish_name_" + std::to_string(i);
    sh("$Z sim-create-pool p && $Z create p/a && $Z snapshot" + names + "");
    std::vector<std::string> snaps;
    for (int i = 0; i < 40; ++i) snaps.push_back("p/a@snapshot_with_a_longish_name_" + std::to_string(i));
    for (const auto& s : snaps) ASSERT_TRUE(run(hold(*runner_, s, "t")).has_value());
    Result<void> r;
    // ~40 bytes per name, 400 bytes per call: about four calls.
    const auto n = invocations(*runner_, [&] { r = run(release(*runner_, "t", snaps, 400)); });
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_GE(n, 4u);
    EXPECT_LE(n, 6u);
    for (const auto& s : {snaps.front(), snaps.back()}) EXPECT_EQ(prop(s, "userrefs"), "0");
}

TEST_F(ZfsOps, ReleaseOfMoreSnapshotsThanStderrCanReportIsStillIdempotent) {
    // One "no such tag" line per snapshot: 1 200 long names say more than the 64 KiB of
    // stderr a run keeps, so the cut last line must not turn an idempotent release into an
    // error (seen on zfs-fuse with 1 000 snapshots).
    const std::string fs = "p/a_filesystem_with_a_rather_long_name_like_the_platform_tests_use";
    std::string names;
    std::vector<std::string> snaps;
    for (int i = 0; i < 1200; ++i) {
        snaps.push_back(fs + "@snapshot_" + std::to_string(i));
        names += " " + snaps.back();
    }
    sh("$Z sim-create-pool p && $Z create " + fs + " && $Z snapshot" + names);
    ASSERT_TRUE(run(hold(*runner_, snaps.back(), "t")).has_value());
    auto r = run(release(*runner_, "t", snaps));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(prop(snaps.back(), "userrefs"), "0");
}

TEST_F(ZfsOps, InjectedFailuresNameTheDatasetAndQuoteZfs) {
    sh("$Z sim-create-pool p && $Z create p/a && $Z snapshot p/a@s1");
    // Not `list`: the capability probe would fail too and select the zfs-fuse path.
    auto failing = make_runner(ZFS_SIM_BIN, {{"ZFS_SIM_FAIL_SUBCOMMAND", "hold,release,get"}});
    auto h = run(hold(*failing, "p/a@s1", "t"));
    ASSERT_FALSE(h.has_value());
    EXPECT_EQ(h.error().code(), ZfsErrc::command_failed);
    EXPECT_NE(h.error().message().find("p/a@s1"), std::string::npos) << h.error().message();
    EXPECT_NE(h.error().message().find("injected failure of 'hold'"), std::string::npos)
        << h.error().message();
    EXPECT_NE(h.error().message().find("(permanent)"), std::string::npos) << h.error().message();
    auto r = run(release(*failing, "t", {"p/a@s1"}));
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("injected failure of 'release'"), std::string::npos)
        << r.error().message();
    auto g = run(get_property(*failing, "p/a", "user:x"));
    ASSERT_FALSE(g.has_value());
    EXPECT_EQ(g.error().code(), ZfsErrc::command_failed);
    EXPECT_NE(g.error().message().find("getting user:x of p/a"), std::string::npos) << g.error().message();
}

// ---- bookmarks -------------------------------------------------------------------------

TEST_F(ZfsOps, BookmarkCreationIsIdempotentByGuid) {
    sh("$Z sim-create-pool p && $Z create p/a && $Z snapshot p/a@s1 && $Z snapshot p/a@s2");
    auto versions = run(list_versions(*runner_, "p/a"));
    ASSERT_TRUE(versions.has_value());
    const auto s1 = versions->at(0), s2 = versions->at(1);
    const std::string cursor = "zrepl_CURSOR_G_0000000000000001_J_job";
    auto bm = run(create_bookmark(*runner_, s1, cursor));
    ASSERT_TRUE(bm.has_value()) << bm.error().message();
    EXPECT_EQ(bm->full_name(), "p/a#" + cursor);
    EXPECT_TRUE(bm->same_identity(s1));
    EXPECT_EQ(prop("p/a#" + cursor, "guid"), std::to_string(s1.guid));

    Result<FilesystemVersion> again;
    EXPECT_EQ(invocations(*runner_, [&] { again = run(create_bookmark(*runner_, s1, cursor)); }), 2u);
    ASSERT_TRUE(again.has_value()) << again.error().message();
    EXPECT_EQ(*again, *bm);

    auto other = run(create_bookmark(*runner_, s2, cursor));
    ASSERT_FALSE(other.has_value());
    EXPECT_EQ(other.error().code(), ZfsErrc::dataset_exists);
    EXPECT_NE(other.error().message().find("p/a#" + cursor), std::string::npos) << other.error().message();

    auto gone = s1;
    gone.name = "nope";
    auto missing = run(create_bookmark(*runner_, gone, "b"));
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code(), ZfsErrc::dataset_not_found) << missing.error().message();

    auto zero = s1;
    zero.guid = 0;
    EXPECT_EQ(run(create_bookmark(*runner_, zero, "b")).error().code(), Errc::invalid_argument);
    EXPECT_EQ(run(create_bookmark(*runner_, s1, "bad#name")).error().code(), Errc::invalid_argument);

    // Bookmarks of bookmarks (zfs copies them) and their destruction, twice.
    auto copy = run(create_bookmark(*runner_, *bm, "copy"));
    ASSERT_TRUE(copy.has_value()) << copy.error().message();
    ASSERT_TRUE(run(destroy_bookmark(*runner_, "p/a#copy")).has_value());
    auto twice = run(destroy_bookmark(*runner_, "p/a#copy"));
    ASSERT_TRUE(twice.has_value()) << twice.error().message();
    ASSERT_TRUE(run(destroy_bookmark(*runner_, "p/nope#copy")).has_value());
    EXPECT_EQ(run(destroy_bookmark(*runner_, "p/a@s1")).error().code(), Errc::invalid_argument);
}

// ---- destroy ---------------------------------------------------------------------------

TEST_F(ZfsOps, BatchDestroyIsIdempotentAndReportsHeldSnapshots) {
    sh("$Z sim-create-pool p && $Z create p/a && $Z snapshot p/a@s1 p/a@s2 p/a@s3 p/a@s4 p/a@s5 p/a@s6 && "
       "$Z hold keep p/a@s4");
    Result<DestroyReport> r;
    EXPECT_EQ(invocations(*runner_,
                          [&] {
                              r = run(destroy_snapshots(*runner_, "p/a", {"s2", "s1", "absent"}));
                          }),
              1u);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_TRUE(r->complete());
    EXPECT_EQ(trim_nl(sh("$Z list -H -o name -t snapshot -r p/a | tr '\\n' ' '")),
              "p/a@s3 p/a@s4 p/a@s5 p/a@s6 ");

    // One held: the batch is refused atomically, retried without it.
    EXPECT_EQ(invocations(*runner_,
                          [&] {
                              r = run(destroy_snapshots(*runner_, "p/a", {"s3", "s4", "s5"}));
                          }),
              2u);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    ASSERT_EQ(r->undestroyable.size(), 1u);
    EXPECT_EQ(r->undestroyable[0].name, "s4");
    EXPECT_TRUE(r->undestroyable[0].held);
    EXPECT_EQ(r->undestroyable[0].reason, "dataset is busy");
    EXPECT_EQ(r->error("p/a").code(), ZfsErrc::snapshot_held);
    EXPECT_NE(r->error("p/a").message().find("@s4 (dataset is busy)"), std::string::npos)
        << r->error("p/a").message();
    EXPECT_EQ(trim_nl(sh("$Z list -H -o name -t snapshot -r p/a | tr '\\n' ' '")), "p/a@s4 p/a@s6 ");

    // Everything absent, the filesystem absent, nothing asked: success.
    r = run(destroy_snapshots(*runner_, "p/a", {"s1", "s2"}));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_TRUE(r->complete());
    r = run(destroy_snapshots(*runner_, "p/nope", {"s1"}));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(invocations(*runner_, [&] { r = run(destroy_snapshots(*runner_, "p/a", {})); }), 0u);

    // A name that would widen the comma list is refused before anything runs.
    EXPECT_EQ(invocations(*runner_, [&] { r = run(destroy_snapshots(*runner_, "p/a", {"s6,s4"})); }), 0u);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), Errc::invalid_argument);
}

TEST_F(ZfsOps, BatchDestroyRespectsTheCountCap) {
    sh("$Z sim-create-pool p && $Z create p/a && $Z snapshot $(for i in $(seq 1 9); do echo p/a@s$i; done)");
    std::vector<std::string> names;
    for (int i = 1; i <= 9; ++i) names.push_back("s" + std::to_string(i));
    Result<DestroyReport> r;
    EXPECT_EQ(
        invocations(*runner_,
                    [&] { r = run(destroy_snapshots(*runner_, "p/a", names, {.max_batch_count = 4})); }),
        3u);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(sh("$Z list -H -o name -t snapshot -r p/a"), "");
}

// exec refuses a single argument over 128 KiB with E2BIG: with a generous byte budget the
// first comma list is too long for the kernel, and the batch is split until it fits.
TEST_F(ZfsOps, BatchDestroySplitsOnArgumentListTooLong) {
    constexpr int kSnaps = 3000;
    const std::string prefix = "a_rather_long_snapshot_name_for_the_e2big_test_";
    sh("cd $T && for i in $(seq 1 " + std::to_string(kSnaps) + "); do echo p/a@" + prefix +
       "$i; done > names && $Z sim-create-pool p && $Z create p/a && xargs -n 1000 $Z snapshot < names");
    std::vector<std::string> names;
    for (int i = 1; i <= kSnaps; ++i) names.push_back(prefix + std::to_string(i));
    Result<DestroyReport> r;
    auto n = invocations(*runner_, [&] {
        r = run(destroy_snapshots(*runner_, "p/a", names, {.max_batch_bytes = std::size_t{1} << 20}));
    });
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_TRUE(r->complete());
    EXPECT_GE(n, 2u);  // at least two halves (the refused exec may not count as an invocation)
    EXPECT_EQ(sh("$Z list -H -o name -t snapshot -r p/a"), "");
}

// ---- rollback, recv -A -----------------------------------------------------------------

TEST_F(ZfsOps, Rollback) {
    sh("$Z sim-create-pool p && $Z create p/a && printf one | $Z sim-write p/a && $Z snapshot p/a@s1 && "
       "printf two | $Z sim-write p/a && $Z snapshot p/a@s2 && printf three | $Z sim-write p/a");
    auto refused = run(rollback(*runner_, "p/a@s1", false));
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code(), ZfsErrc::more_recent_snapshots);
    EXPECT_NE(refused.error().message().find("p/a@s2"), std::string::npos) << refused.error().message();

    ASSERT_TRUE(run(rollback(*runner_, "p/a@s2", false)).has_value());
    EXPECT_EQ(sh("$Z sim-read p/a"), "two");
    auto r = run(rollback(*runner_, "p/a@s1", true));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(sh("$Z sim-read p/a"), "one");
    ASSERT_TRUE(run(rollback(*runner_, "p/a@s1", true)).has_value());
    EXPECT_EQ(sh("$Z list -H -o name -t snapshot -r p/a"), "p/a@s1\n");

    auto missing = run(rollback(*runner_, "p/a@s2", false));
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code(), ZfsErrc::dataset_not_found);
}

TEST_F(ZfsOps, RecvAbortIsIdempotent) {
    sh("$Z sim-create-pool p && $Z sim-create-pool q && $Z create p/a && head -c 300000 /dev/urandom | "
       "$Z sim-write p/a && $Z snapshot p/a@s1 && { ZFS_SIM_FAIL_SEND_AFTER=100000 $Z send p/a@s1 | $Z recv "
       "-s q/a; "
       "true; }");
    ASSERT_NE(prop("q/a", "receive_resume_token"), "-");
    auto r = run(recv_abort(*runner_, "q/a"));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(sh("$Z list -H -o name -r q"), "q\n");  // the receive had created q/a
    r = run(recv_abort(*runner_, "q/a"));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    r = run(recv_abort(*runner_, "p/a"));
    ASSERT_TRUE(r.has_value()) << r.error().message();
}

// ---- the zfs-fuse path ------------------------------------------------------------------

TEST_F(ZfsOps, FuseLikeZfsIsDetectedAsDegraded) {
    auto fuse = make_fuse_like_runner();
    auto caps = run(fuse->capabilities());
    ASSERT_TRUE(caps.has_value()) << caps.error().message();
    EXPECT_FALSE(caps->list_parsable);
    EXPECT_FALSE(caps->bookmarks);
    EXPECT_FALSE(caps->holds_listing);
    EXPECT_FALSE(caps->destroy_comma_list);
    EXPECT_FALSE(caps->resumable_recv);
    EXPECT_FALSE(caps->raw_send);
}

TEST_F(ZfsOps, FuseLikeListingUsesZfsGet) {
    sh("$Z sim-create-pool p && $Z create -o zrepl:placeholder=on p/a && $Z create p/a/b && "
       "$Z snapshot -r p/a@s1 && $Z snapshot p/a@s2 && $Z hold t p/a@s1");
    auto fuse = make_fuse_like_runner();
    Result<std::vector<FilesystemListEntry>> strings, numbers;
    EXPECT_EQ(invocations(*fuse, [&] { strings = run(list_filesystems(*fuse, "p", {"zrepl:placeholder"})); }),
              1u);
    ASSERT_TRUE(strings.has_value()) << strings.error().message();
    auto expected = run(list_filesystems(*runner_, "p", {"zrepl:placeholder"}));
    ASSERT_TRUE(expected.has_value());
    EXPECT_EQ(*strings, *expected);

    EXPECT_EQ(invocations(*fuse,
                          [&] {
                              numbers = run(list_filesystems(*fuse, "p", {"guid", "createtxg"}));
                          }),
              1u);
    ASSERT_TRUE(numbers.has_value()) << numbers.error().message();
    expected = run(list_filesystems(*runner_, "p", {"guid", "createtxg"}));
    ASSERT_TRUE(expected.has_value());
    EXPECT_EQ(*numbers, *expected);

    auto versions = run(list_versions(*fuse, "p/a"));
    ASSERT_TRUE(versions.has_value()) << versions.error().message();
    auto want = run(list_versions(*runner_, "p/a"));
    ASSERT_TRUE(want.has_value());
    EXPECT_EQ(*versions, *want);
    ASSERT_EQ(versions->size(), 2u);
    EXPECT_EQ(versions->at(0).userrefs, 1u);

    auto props =
        run(get_properties(*fuse, "p", {"zrepl:placeholder"}, {.recursive = true, .filesystems_only = true}));
    ASSERT_TRUE(props.has_value()) << props.error().message();
    EXPECT_EQ(props->size(), 3u);
    auto enc = run(get_property(*fuse, "p/a", "encryption"));
    ASSERT_FALSE(enc.has_value());
    EXPECT_EQ(enc.error().code(), ZfsErrc::unsupported);
    EXPECT_NE(enc.error().message().find("encryption"), std::string::npos);
}

TEST_F(ZfsOps, FuseLikeWritesOnePropertyPerSetAndDestroysOneSnapshotPerCall) {
    sh("$Z sim-create-pool p && $Z create p/a && $Z snapshot p/a@s1 p/a@s2 p/a@s3 p/a@s4 && $Z hold keep "
       "p/a@s3");
    auto fuse = make_fuse_like_runner();
    Result<void> set;
    EXPECT_EQ(invocations(*fuse,
                          [&] {
                              set = run(set_properties(*fuse, "p/a", {{"user:a", "1"}, {"user:b", "2"}}));
                          }),
              2u);
    ASSERT_TRUE(set.has_value()) << set.error().message();
    EXPECT_EQ(prop("p/a", "user:b"), "2");

    Result<DestroyReport> r;
    EXPECT_EQ(invocations(*fuse,
                          [&] {
                              r = run(destroy_snapshots(*fuse, "p/a", {"s1", "s3", "s4", "gone"}));
                          }),
              4u);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    ASSERT_EQ(r->undestroyable.size(), 1u);
    EXPECT_EQ(r->undestroyable[0].name, "s3");
    EXPECT_TRUE(r->undestroyable[0].held);
    EXPECT_EQ(sh("$Z list -H -o name -t snapshot -r p/a"), "p/a@s2\np/a@s3\n");

    auto ph = run(create_placeholder(*fuse, "p/ph", PlaceholderEncryption::off));
    ASSERT_TRUE(ph.has_value()) << ph.error().message();
    EXPECT_EQ(prop("p/ph", "zrepl:placeholder"), "on");
}

TEST_F(ZfsOps, FuseLikeHoldsBookmarksAndRecvAbort) {
    sh("$Z sim-create-pool p && $Z create p/a && $Z snapshot p/a@s1 p/a@s2");
    auto fuse = make_fuse_like_runner();
    ASSERT_TRUE(run(hold(*fuse, "p/a@s1", "zrepl_STEP_J_job")).has_value());
    ASSERT_TRUE(run(hold(*fuse, "p/a@s1", "zrepl_STEP_J_job")).has_value());
    ASSERT_TRUE(run(hold(*fuse, "p/a@s1", "other")).has_value());
    Result<std::vector<SnapshotHolds>> holds;
    EXPECT_EQ(invocations(*fuse, [&] { holds = run(list_holds(*fuse, {"p/a@s1", "p/a@s2"})); }), 1u);
    ASSERT_TRUE(holds.has_value()) << holds.error().message();
    EXPECT_EQ(holds->at(0), (SnapshotHolds{"p/a@s1", 2, false, {}}));
    EXPECT_EQ(holds->at(1), (SnapshotHolds{"p/a@s2", 0, false, {}}));
    ASSERT_TRUE(run(release(*fuse, "zrepl_STEP_J_job", {"p/a@s1", "p/a@s2"})).has_value());
    EXPECT_EQ(prop("p/a@s1", "userrefs"), "1");

    auto versions = run(list_versions(*fuse, "p/a"));
    ASSERT_TRUE(versions.has_value());
    auto bm = run(create_bookmark(*fuse, versions->at(0), "cursor"));
    ASSERT_FALSE(bm.has_value());
    EXPECT_EQ(bm.error().code(), ZfsErrc::unsupported);
    EXPECT_NE(bm.error().message().find("no bookmarks"), std::string::npos) << bm.error().message();
    Result<void> none;
    EXPECT_EQ(invocations(*fuse, [&] { none = run(destroy_bookmark(*fuse, "p/a#cursor")); }), 0u);
    EXPECT_TRUE(none.has_value());
    EXPECT_EQ(invocations(*fuse, [&] { none = run(recv_abort(*fuse, "p/a")); }), 0u);
    EXPECT_TRUE(none.has_value());
}

}  // namespace
}  // namespace zferry::zfs
