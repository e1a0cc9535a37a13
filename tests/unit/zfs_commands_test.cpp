// Command lines: send (policy flags, incremental, resume token), dry send, recv, and the
// batching of destroy and release arguments.
#include "zfs/batching.hpp"
#include "zfs/send_command.hpp"

#include <gtest/gtest.h>

#include <numeric>

namespace zferry::zfs {
namespace {

using Argv = std::vector<std::string>;

std::string join(const Argv& a) {
    std::string s;
    for (const auto& x : a) s += (s.empty() ? "" : " ") + x;
    return s;
}

TEST(SendArgv, MapsPolicyAndVersions) {
    SendPolicy all{true, true, true, true, true, true, true, true};
    SendPolicy raw_only;
    raw_only.raw = true;
    struct Case {
        SendPolicy policy;
        SendSpec spec;
        std::string want;
    };
    const Case cases[] = {
        {{}, {"pool/a", "", "@s2", ""}, "send -- pool/a@s2"},
        {{}, {"pool/a", "@s1", "@s2", ""}, "send -i pool/a@s1 -- pool/a@s2"},
        {{}, {"pool/a", "#cursor", "@s2", ""}, "send -i pool/a#cursor -- pool/a@s2"},
        {all, {"pool/a", "@s1", "@s2", ""}, "send -w -p -b -L -c -e -S -i pool/a@s1 -- pool/a@s2"},
        {raw_only, {"pool/a", "", "@s2", ""}, "send -w -- pool/a@s2"},
        {all, {"pool/a", "@s1", "@s2", "1-abc-10-00"}, "send -t 1-abc-10-00"},
        {{}, {"pool/a", "@s1", "@s4", "", true}, "send -I pool/a@s1 -- pool/a@s4"},
        {all, {"pool/a", "@s1", "@s4", "1-abc-10-00", true}, "send -t 1-abc-10-00"},
    };
    for (const auto& c : cases)
        EXPECT_EQ(join(send_argv(c.policy, c.spec)), c.want) << "for " << c.spec.filesystem << c.spec.to;
    EXPECT_EQ(join(dry_send_argv({}, {"pool/a", "@s1", "@s2", ""})),
              "send -n -v -P -i pool/a@s1 -- pool/a@s2");
    EXPECT_EQ(join(dry_send_argv(all, {"pool/a", "", "@s2", "TOKEN"})), "send -n -v -P -t TOKEN")
        << "a token carries everything; no other send argument may accompany it";
}

TEST(RecvArgv, OrdersFlagsThenPropertiesThenTarget) {
    RecvOptions o;
    o.force_rollback = o.resumable = o.unmounted = true;
    o.set_properties = {{"zrepl:placeholder", "off"}, {"canmount", "noauto"}};
    o.exclude_properties = {"mountpoint"};
    EXPECT_EQ(join(recv_argv(o, "pool/r/a@s1")),
              "recv -F -s -u -o zrepl:placeholder=off -o canmount=noauto -x mountpoint -- pool/r/a@s1");
    EXPECT_EQ(join(recv_argv({}, "pool/r/a@s1")), "recv -- pool/r/a@s1");
    EXPECT_EQ(join(recv_abort_argv("pool/r/a")), "recv -A -- pool/r/a");
}

TEST(DestroyBatches, SortsDeduplicatesAndSplitsAtTheByteLimit) {
    EXPECT_EQ(destroy_batches("p/a", {"c", "a", "b", "a"}), (Argv{"p/a@a,b,c"}));
    EXPECT_EQ(destroy_batches("p/a", {"aa", "bb", "cc"}, 9), (Argv{"p/a@aa,bb", "p/a@cc"}))
        << "'p/a@aa,bb' is exactly 9 bytes, adding ',cc' would exceed the limit";
    EXPECT_EQ(destroy_batches("p/a", {"aa", "bb"}, 8), (Argv{"p/a@aa", "p/a@bb"}));
}

TEST(DestroyBatches, RespectsLimitsAndKeepsEveryName) {
    std::vector<std::string> names;
    for (int i = 0; i < 1000; ++i) names.push_back("zrepl_" + std::to_string(100000 + i));
    for (std::size_t limit : {20u, 100u, 4096u, 49152u}) {
        auto batches = destroy_batches("pool/fs", names, limit);
        std::size_t total = 0;
        for (const auto& b : batches) {
            EXPECT_LE(b.size(), limit) << "batch '" << b.substr(0, 40) << "' exceeds " << limit << " bytes";
            EXPECT_EQ(b.rfind("pool/fs@", 0), 0u);
            total += static_cast<std::size_t>(std::count(b.begin(), b.end(), ',')) + 1;
        }
        EXPECT_EQ(total, names.size()) << "every snapshot is in exactly one batch at limit " << limit;
    }
    EXPECT_EQ(destroy_batches("p", {"a", "b", "c"}, 1000, 2), (Argv{"p@a,b", "p@c"}))
        << "max_count caps a batch";
    EXPECT_EQ(destroy_batches("p", {"toolongname"}, 4), (Argv{"p@toolongname"}))
        << "an oversize name still goes out alone";
    EXPECT_TRUE(destroy_batches("p", {}).empty());
}

TEST(ReleaseBatches, KeepsEachArgvWithinTheBudget) {
    std::vector<std::string> snaps;
    for (int i = 0; i < 300; ++i) snaps.push_back("pool/fs@snap_" + std::to_string(i));
    const std::size_t limit = 512;
    auto batches = release_batches("zrepl_STEP_J_job", snaps, limit);
    std::size_t count = 0;
    for (const auto& argv : batches) {
        ASSERT_GE(argv.size(), 4u);
        EXPECT_EQ(argv[0], "release");
        EXPECT_EQ(argv[1], "--") << "a tag or name is never read as an option";
        EXPECT_EQ(argv[2], "zrepl_STEP_J_job");
        std::size_t bytes = 0;
        for (const auto& a : argv) bytes += a.size() + 1;
        EXPECT_LE(bytes, limit) << "a release command line exceeds the budget";
        count += argv.size() - 3;
    }
    EXPECT_EQ(count, snaps.size()) << "every snapshot is released once";
    EXPECT_GT(batches.size(), 1u) << "300 snapshots do not fit in 512 bytes";
}

}  // namespace
}  // namespace zferry::zfs
