// `zferry zfs-abstraction` as a user runs it, on a zfs-sim pool holding what zrepl leaves
// behind: step holds, a last-received hold, cursors v2 (an older and a newer one), a tentative
// cursor, the legacy v1 cursor, a user's own hold, and a cursor whose name lies about its GUID.
#include "tests/integration/shell.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

namespace fs = std::filesystem;

using Outcome = zferry::test::CmdResult;

class ZfsAbstractionCli : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/zferry-abstraction-cli-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        ::setenv("ZFS_SIM_STATE", (dir_ / "state").c_str(), 1);
        // What zrepl made: holds and bookmarks with its exact names and the real GUIDs.
        ASSERT_EQ(sh("$Z sim-create-pool p && $Z create p/a && $Z create p/b && "
                     "for s in s1 s2 s3; do $Z snapshot p/a@$s || exit 1; done && $Z snapshot p/b@x && "
                     "h() { printf %016x $($Z get -Hp -o value guid p/a@$1); } && "
                     "$Z hold zrepl_STEP_J_push p/a@s1 && $Z hold zrepl_STEP_J_push p/a@s3 && "
                     "$Z hold zrepl_last_received_J_sink p/a@s2 && $Z hold mine p/a@s2 && "
                     "$Z hold zrepl_STEP_J_push p/b@x && "
                     "$Z bookmark p/a@s1 p/a#zrepl_CURSOR_G_$(h s1)_J_push && "
                     "$Z bookmark p/a@s2 p/a#zrepl_CURSOR_G_$(h s2)_J_push && "
                     "$Z bookmark p/a@s3 p/a#zrepl_CURSORTENTATIVE__G_$(h s3)_J_push && "
                     "$Z bookmark p/a@s1 p/a#zrepl_replication_cursor && "
                     "$Z bookmark p/a@s2 p/a#zrepl_CURSOR_G_$(h s1)_J_fake")
                      .rc,
                  0);
    }
    void TearDown() override { fs::remove_all(dir_); }

    Outcome sh(const std::string& script) { return exec("Z=" ZFS_SIM_BIN "; " + script); }
    Outcome zferry(const std::string& args) {
        return exec(std::string(ZFERRY_BINARY) + " " + args + " --zfs " ZFS_SIM_BIN);
    }
    Outcome exec(const std::string& script) {
        return zferry::test::shell("bash -c '" + script + "'", dir_ / "stderr");
    }
    std::vector<std::string> full_paths(const std::string& json_lines) {
        std::vector<std::string> out;
        std::size_t start = 0;
        while (start < json_lines.size()) {
            auto end = json_lines.find('\n', start);
            auto v = boost::json::parse(json_lines.substr(start, end - start));
            out.push_back(std::string(v.at("Type").as_string()) + " " +
                          std::string(v.at("FullPath").as_string()));
            start = end + 1;
        }
        return out;
    }

    // The GUID of p/a@SNAP as a cursor name spells it.
    std::string hex(const std::string& snap) {
        auto r = sh("printf %016x $($Z get -Hp -o value guid p/a@" + snap + ")");
        return r.out;
    }

    fs::path dir_;
};

TEST_F(ZfsAbstractionCli, ListsZreplsAbstractionsAndIgnoresATamperedCursor) {
    auto r = zferry("zfs-abstraction list --json");
    ASSERT_EQ(r.rc, 0) << r.err;
    auto all = full_paths(r.out);
    std::sort(all.begin(), all.end());
    std::vector<std::string> expect = {
        "last-received-hold p/a@s2",
        "replication-cursor-bookmark-v1 p/a#zrepl_replication_cursor",
        "replication-cursor-bookmark-v2 p/a#zrepl_CURSOR_G_" + hex("s1") + "_J_push",
        "replication-cursor-bookmark-v2 p/a#zrepl_CURSOR_G_" + hex("s2") + "_J_push",
        "step-hold p/a@s1",
        "step-hold p/a@s3",
        "step-hold p/b@x",
        "tentative-replication-cursor-bookmark-v2 p/a#zrepl_CURSORTENTATIVE__G_" + hex("s3") + "_J_push",
    };
    std::sort(expect.begin(), expect.end());  // GUIDs are random: so is the order of the two cursors
    EXPECT_EQ(all, expect) << "the user's own hold 'mine' is not replication's";
    EXPECT_NE(r.err.find("J_fake: named for GUID"), std::string::npos) << r.err;
}

TEST_F(ZfsAbstractionCli, FiltersByFilesystemJobAndType) {
    auto r = zferry("zfs-abstraction list --json --fs p/b:ok");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(full_paths(r.out), std::vector<std::string>{"step-hold p/b@x"});
    r = zferry("holds list --json --job sink");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(full_paths(r.out), std::vector<std::string>{"last-received-hold p/a@s2"});
    r = zferry("zfs-abstraction list --json --type replication-cursor-bookmark-v1");
    EXPECT_EQ(full_paths(r.out),
              std::vector<std::string>{"replication-cursor-bookmark-v1 p/a#zrepl_replication_cursor"});
    r = zferry("zfs-abstraction list --type bogus");
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.err.find("--type: unknown abstraction type 'bogus'"), std::string::npos) << r.err;
}

TEST_F(ZfsAbstractionCli, ReleaseStaleKeepsWhatReplicationStillNeeds) {
    auto dry = zferry("zfs-abstraction release-stale --dry-run");
    ASSERT_EQ(dry.rc, 0) << dry.err;
    // push on p/a: the step hold on s1 (before the newest cursor, at s2) and the older cursor
    // are stale; the step hold on s3 (after the newest cursor), the newest cursor, the
    // tentative and v1 cursors are not. push on p/b: its only step hold is the newest.
    auto txg = sh("$Z get -Hp -o value createtxg p/a@s1").out;
    txg.pop_back();
    EXPECT_EQ(dry.out, "would release replication-cursor-bookmark-v2: p/a#zrepl_CURSOR_G_" + hex("s1") +
                           "_J_push (createtxg " + txg +
                           ")\nwould release step-hold: p/a@s1 (tag zrepl_STEP_J_push, createtxg " + txg +
                           ")\n");
    EXPECT_EQ(sh("$Z get -Hp -o value userrefs p/a@s1").out, "1\n") << "a dry run changes nothing";

    auto real = zferry("zfs-abstraction release-stale");
    ASSERT_EQ(real.rc, 0) << real.err;
    EXPECT_EQ(sh("$Z get -Hp -o value userrefs p/a@s1").out, "0\n");
    auto after = zferry("zfs-abstraction list --json --job push");
    auto left = full_paths(after.out);
    EXPECT_EQ(std::count_if(left.begin(), left.end(),
                            [](const std::string& s) { return s.starts_with("step-hold"); }),
              2);
    EXPECT_EQ(zferry("zfs-abstraction release-stale --dry-run").out, "") << "nothing stale is left";
}

TEST_F(ZfsAbstractionCli, ReleaseAllOfOneJobLeavesOthersAlone) {
    auto r = zferry("zfs-abstraction release-all --job push");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(zferry("zfs-abstraction list --json --job push").out, "");
    auto rest = full_paths(zferry("zfs-abstraction list --json").out);
    std::sort(rest.begin(), rest.end());
    EXPECT_EQ(rest,
              (std::vector<std::string>{"last-received-hold p/a@s2",
                                        "replication-cursor-bookmark-v1 p/a#zrepl_replication_cursor"}));
    EXPECT_EQ(sh("$Z get -Hp -o value userrefs p/a@s2").out, "2\n") << "the user's own hold stays";
}

TEST_F(ZfsAbstractionCli, MigrateDestroysTheV1CursorOnlyBehindAV2Cursor) {
    // p/a: v2 cursors of push at s1 and s2, the v1 cursor at s1: it can go. p/b: a v1 cursor
    // but no v2 cursor yet: skipped with the reason, exit 1.
    ASSERT_EQ(sh("$Z bookmark p/b@x p/b#zrepl_replication_cursor").rc, 0);
    auto dry = zferry("migrate replication-cursor:v1-v2 --job push --fs \"p<:ok\" --dry-run");
    EXPECT_EQ(dry.rc, 1) << dry.err;
    EXPECT_NE(
        dry.out.find("would destroy p/a#zrepl_replication_cursor: v2 cursor p/a#zrepl_CURSOR_G_" + hex("s2")),
        std::string::npos)
        << dry.out;
    EXPECT_NE(dry.out.find("skip p/b#zrepl_replication_cursor: no v2 replication cursor of job push yet"),
              std::string::npos)
        << dry.out;
    auto v1 = [&] {
        return full_paths(zferry("zfs-abstraction list --json --type replication-cursor-bookmark-v1").out);
    };
    EXPECT_EQ(v1().size(), 2u) << "a dry run changes nothing";
    auto real = zferry("migrate replication-cursor:v1-v2 --job push --fs \"p<:ok\"");
    EXPECT_EQ(real.rc, 1);
    EXPECT_EQ(v1(), std::vector<std::string>{"replication-cursor-bookmark-v1 p/b#zrepl_replication_cursor"});
    // Another job owns no v2 cursor here: nothing is destroyed for it.
    auto other = zferry("migrate replication-cursor:v1-v2 --job sink --fs \"p<:ok\"");
    EXPECT_EQ(other.rc, 1);
    EXPECT_EQ(v1().size(), 1u);
}

}  // namespace
