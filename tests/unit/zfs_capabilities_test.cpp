// Capability probing on the recorded usage texts of OpenZFS 2.2 and zfs-fuse.
#include "zfs/capabilities.hpp"

#include "tests/unit/zfs_recorded_outputs.hpp"

#include <gtest/gtest.h>

namespace zferry::zfs {
namespace {

namespace rec = test::recorded;

ProbeResult probe(int rc, std::string_view out) { return {rc, std::string(out)}; }

CapabilityProbes openzfs() {
    return {probe(2, rec::kOpenzfsSendUsage),     probe(2, rec::kOpenzfsReceiveUsage),
            probe(2, rec::kOpenzfsDestroyUsage),  probe(0, rec::kOpenzfsListProbe),
            probe(2, rec::kOpenzfsBookmarkUsage), probe(2, rec::kOpenzfsHoldsUsage)};
}

CapabilityProbes zfs_fuse() {
    return {probe(2, rec::kZfsFuseSendUsage),
            probe(2, rec::kZfsFuseReceiveUsage),
            probe(2, rec::kZfsFuseDestroyUsage),
            probe(2, rec::kZfsFuseListInvalidP),
            probe(2, rec::kZfsFuseBookmarkUnrecognized),
            probe(255, rec::kZfsFuseHoldsPyzfs)};
}

TEST(Capabilities, Openzfs22HasEverything) {
    Capabilities want;
    want.resumable_send = want.resumable_recv = want.bookmarks = want.raw_send = want.list_parsable =
        want.send_size_estimate = want.holds_listing = want.destroy_comma_list = want.recv_property_options =
            want.send_large_blocks = want.send_compressed = want.send_embedded_data =
                want.send_backup_properties = want.send_saved = true;
    EXPECT_EQ(derive_capabilities(openzfs()), want);
    EXPECT_TRUE(describe_missing(derive_capabilities(openzfs())).empty());
}

TEST(Capabilities, ZfsFuseHasNoneOfThePost2010Features) {
    EXPECT_EQ(derive_capabilities(zfs_fuse()), Capabilities{})
        << "zfs-fuse supports none of the probed features";
    EXPECT_EQ(describe_missing(Capabilities{}).size(), 9u) << "every missing feature is explained";
}

TEST(Capabilities, EachProbeDecidesOnlyItsOwnFeatures) {
    struct Case {
        const char* what;
        void (*apply)(Capabilities&, const ProbeResult&);
        ProbeResult result;
        bool Capabilities::*field;
        bool expect;
    };
    const Case cases[] = {
        {"OpenZFS send offers -t", apply_send_probe, probe(2, rec::kOpenzfsSendUsage),
         &Capabilities::resumable_send, true},
        {"zfs-fuse send lacks -t", apply_send_probe, probe(2, rec::kZfsFuseSendUsage),
         &Capabilities::resumable_send, false},
        {"OpenZFS send offers -w", apply_send_probe, probe(2, rec::kOpenzfsSendUsage),
         &Capabilities::raw_send, true},
        {"zfs-fuse send lacks -nP", apply_send_probe, probe(2, rec::kZfsFuseSendUsage),
         &Capabilities::send_size_estimate, false},
        {"OpenZFS recv offers -A", apply_receive_probe, probe(2, rec::kOpenzfsReceiveUsage),
         &Capabilities::resumable_recv, true},
        {"zfs-fuse recv lacks -o", apply_receive_probe, probe(2, rec::kZfsFuseReceiveUsage),
         &Capabilities::recv_property_options, false},
        {"OpenZFS destroy takes lists", apply_destroy_probe, probe(2, rec::kOpenzfsDestroyUsage),
         &Capabilities::destroy_comma_list, true},
        {"zfs-fuse destroy takes one", apply_destroy_probe, probe(2, rec::kZfsFuseDestroyUsage),
         &Capabilities::destroy_comma_list, false},
        {"zfs-fuse refuses list -p", apply_list_probe, probe(2, rec::kZfsFuseListInvalidP),
         &Capabilities::list_parsable, false},
        {"OpenZFS list -p succeeds", apply_list_probe, probe(0, rec::kOpenzfsListProbe),
         &Capabilities::list_parsable, true},
        {"zfs-fuse lacks bookmark", apply_bookmark_probe, probe(2, rec::kZfsFuseBookmarkUnrecognized),
         &Capabilities::bookmarks, false},
        {"zfs-fuse's holds needs pyzfs", apply_holds_probe, probe(255, rec::kZfsFuseHoldsPyzfs),
         &Capabilities::holds_listing, false},
        {"OpenZFS lists holds", apply_holds_probe, probe(2, rec::kOpenzfsHoldsUsage),
         &Capabilities::holds_listing, true},
        {"a missing binary offers nothing", apply_send_probe, probe(127, "zfs: command not found"),
         &Capabilities::resumable_send, false},
    };
    for (const auto& c : cases) {
        Capabilities caps;
        c.apply(caps, c.result);
        EXPECT_EQ(caps.*c.field, c.expect) << c.what;
    }
}

TEST(Capabilities, ProbesThatNeverReachedZfsAreReportedNotDegraded) {
    auto down = probe_failure(probe(1, rec::kZfsFuseDaemonDown));
    ASSERT_TRUE(down) << "a zfs-fuse client without daemon must not look like a ZFS without features";
    EXPECT_NE(down->find("connect: No such file or directory"), std::string::npos) << *down;
    EXPECT_TRUE(probe_failure(probe(127, "sh: zfs: not found\n")));
    EXPECT_FALSE(probe_failure(probe(2, rec::kZfsFuseSendUsage))) << "a usage text is a successful probe";
    EXPECT_FALSE(probe_failure(probe(255, rec::kZfsFuseHoldsPyzfs)))
        << "a missing helper is a missing feature";
    EXPECT_FALSE(probe_failure(probe(0, rec::kOpenzfsListProbe)));
}

TEST(Capabilities, UsageFlagsCollectsTheBracketGroupsOfOneVerb) {
    EXPECT_EQ(usage_flags(rec::kZfsFuseSendUsage, "send"), "RDp");
    EXPECT_EQ(usage_flags(rec::kZfsFuseBookmarkUnrecognized, "receive"), "vnF");
    EXPECT_EQ(usage_flags(rec::kOpenzfsReceiveUsage, "receive"), "vMnsFhuoxd");
    EXPECT_EQ(usage_flags(rec::kOpenzfsSendUsage, "list"), "");
    EXPECT_EQ(probe_argv(Probe::list),
              (std::vector<std::string>{"list", "-H", "-p", "-o", "name", "-d", "0"}));
}

}  // namespace
}  // namespace zferry::zfs
